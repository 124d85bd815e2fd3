"""Platform errors: one exception type, mapped to a gRPC status by the kit.

Convention for every layer: a failure is a gRPC status whose details hold a
``google.rpc.ErrorInfo`` (reason = the platform code such as ``E1005``, domain =
the layer, e.g. ``data.agentic``) and, for bad input, a ``google.rpc.BadRequest``
naming the field. Envoy turns the same status into a JSON body for REST clients.
Domain code raises :class:`PlatformError`; it never touches gRPC.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2


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


_RPC_CODES = {code: getattr(code_pb2, code.name) for code in grpc.StatusCode}
