"""Platform errors: one exception type, mapped to a gRPC status by the kit.

Convention for every layer: a failure is a gRPC status whose details hold a
``google.rpc.ErrorInfo`` (reason = the platform code such as ``E1005``, domain =
the layer, e.g. ``data.agentic``) and, for bad input, a ``google.rpc.BadRequest``
naming the field. Envoy turns the same status into a JSON body for REST clients.
Domain code raises :class:`PlatformError`; it never touches gRPC. A layer's codes are made
by its :class:`ErrorCatalog`, which keeps them inside the layer's range.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.kit.layers import Layer


class Kind(enum.Enum):
    """What went wrong, in terms a client acts on; each maps to one gRPC status."""

    INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
    NOT_FOUND = grpc.StatusCode.NOT_FOUND
    ALREADY_EXISTS = grpc.StatusCode.ALREADY_EXISTS
    CONFLICT = grpc.StatusCode.ABORTED
    FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
    UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
    PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED
    RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
    UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
    DEADLINE_EXCEEDED = grpc.StatusCode.DEADLINE_EXCEEDED
    INTERNAL = grpc.StatusCode.INTERNAL


@dataclass(frozen=True)
class ErrorCode:
    """An entry of a layer's error catalog, e.g. ``ErrorCode("E1005", Kind.CONFLICT)``."""

    code: str
    kind: Kind
    title: str


class ErrorCatalog:
    """A layer's error codes: its ErrorInfo domain, the three codes every layer has, and its
    own, each checked to lie in the layer's range and to be used once.

    ``CATALOG = ErrorCatalog(layer_by_key("l01"))`` gives ``E1000`` (internal), ``E1001``
    (unauthenticated) and ``E1002`` (invalid argument); ``CATALOG.code("E1005", ...)`` adds one.
    Clients match on the codes, so they never change once released.
    """

    def __init__(
        self, layer: Layer, *, unauthenticated: str = "", invalid_argument: str = ""
    ) -> None:
        """The standard codes are EN000-EN002 unless the layer's contract fixed others
        (L03's E3001 is "no such tool", so its standard codes are given explicitly)."""
        self.layer = layer
        self.domain = layer.domain
        self._codes: dict[str, ErrorCode] = {}
        first = layer.error_range.start
        self.internal = self.code(_format(first), Kind.INTERNAL, "internal error")
        self.unauthenticated = self.code(
            unauthenticated or _format(first + 1),
            Kind.UNAUTHENTICATED,
            "missing or invalid bearer token",
        )
        self.invalid_argument = self.code(
            invalid_argument or _format(first + 2), Kind.INVALID_ARGUMENT, "invalid request field"
        )

    def code(self, code: str, kind: Kind, title: str) -> ErrorCode:
        """A new code of this layer, e.g. ``code("E1005", Kind.CONFLICT, "...")``."""
        number = int(code[1:]) if code[1:].isdigit() else -1
        if code != _format(number) or number not in self.layer.error_range:
            first, last = self.layer.error_range.start, self.layer.error_range.stop - 1
            raise ValueError(
                f"{code!r} is not a code of {self.layer.name} ({_format(first)}-{_format(last)})"
            )
        if code in self._codes:
            raise ValueError(f"{code} is already {self._codes[code].title!r}")
        error = ErrorCode(code, kind, title)
        self._codes[code] = error
        return error

    @property
    def codes(self) -> tuple[ErrorCode, ...]:
        """Every code made so far, in the order made."""
        return tuple(self._codes.values())


def _format(number: int) -> str:
    return f"E{number:04d}"


class PlatformError(Exception):
    """A failure a client should see: a code from the catalog and a clear message."""

    def __init__(
        self,
        error: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        metadata: Mapping[str, str] | None = None,
        violations: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.field = field
        self.metadata = dict(metadata or {})
        # Every bad field with its reason, when there are several (field, description).
        self.violations = tuple(violations)

    @property
    def code(self) -> str:
        return self.error.code

    def __str__(self) -> str:
        return f"{self.error.code}: {self.message}"


def to_rpc_status(error: PlatformError, domain: str) -> status_pb2.Status:
    """The ``google.rpc.Status`` carried in ``grpc-status-details-bin``."""
    status_code = error.error.kind.value
    info = error_details_pb2.ErrorInfo(reason=error.code, domain=domain)
    info.metadata.update(error.metadata)
    if error.field:
        info.metadata["field"] = error.field
    status = status_pb2.Status(code=_RPC_CODES[status_code], message=str(error))
    status.details.add().Pack(info)
    if error.error.kind is Kind.INVALID_ARGUMENT and (error.field or error.violations):
        bad_request = error_details_pb2.BadRequest()
        for field, description in error.violations or ((error.field, error.message),):
            bad_request.field_violations.add(field=field, description=description)
        status.details.add().Pack(bad_request)
    return status


def error_info(status: status_pb2.Status) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo packed in a ``google.rpc.Status``, if any (for clients and tests)."""
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def error_info_of(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo another layer sent with a failed call (in ``grpc-status-details-bin``)."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return error_info(status_pb2.Status.FromString(value))
    return None


def spent_on(error: grpc.aio.AioRpcError) -> tuple[int, float]:
    """(tokens, cost in USD) that a model answer L04 refused had spent: L04 names them in the
    ErrorInfo of those refusals (E4010, E4011). (0, 0.0) for any other failure."""
    info = error_info_of(error)
    if info is None:
        return 0, 0.0
    tokens = int(info.metadata.get("input_tokens", 0)) + int(info.metadata.get("output_tokens", 0))
    return tokens, float(info.metadata.get("cost_usd", 0.0))


def platform_code_of(error: grpc.aio.AioRpcError) -> str:
    """The E-code another layer answered a failed call with ("" when it sent none)."""
    info = error_info_of(error)
    return info.reason if info is not None else ""


_RPC_CODES = {code: getattr(code_pb2, code.name) for code in grpc.StatusCode}
