"""Server interceptors every layer installs: call context, errors, auth."""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, NoReturn

import grpc
import structlog
from google.protobuf.message import DecodeError
from grpc_interceptor.server import AsyncServerInterceptor
from grpc_status import rpc_status

from services.kit.auth import TokenAuthenticator, act_as, caller_of
from services.kit.errors import ErrorCode, PlatformError, to_rpc_status
from services.kit.json_depth import MAX_JSON_DEPTH, too_deep_field

log = structlog.get_logger("kit.rpc")

# Health checks and reflection answer without a token: launchers, Envoy and
# grpcurl use them before any credentials exist.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


class UndecodableRequest:
    """Stands in for a request the server refuses to decode (not protobuf of the method's
    type, or JSON nested past the mesh's limit), so that the interceptor answers
    INVALID_ARGUMENT with the layer's code instead of grpc's bare UNKNOWN."""

    def __init__(self, message: str, field: str = "request") -> None:
        self.message = message
        self.field = field


_TOO_DEEP = f"JSON nested deeper than the mesh allows ({MAX_JSON_DEPTH} levels)"


def _guarded(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def decode(raw: bytes) -> Any:
        try:
            request = deserialize(raw)
        except DecodeError as error:
            if "MaxDepth" in str(error):
                return UndecodableRequest(_TOO_DEEP)
            return UndecodableRequest("not a valid protobuf message of this method's type")
        field = too_deep_field(request, raw)
        if field is not None:
            return UndecodableRequest(f"{field}: {_TOO_DEEP}", field)
        return request

    return decode


# The call's metadata as read by the outermost interceptor: grpc builds a new tuple of
# namedtuples on every invocation_metadata(), a visible part of a small call's cost.
_read_metadata: contextvars.ContextVar[tuple[grpc.aio.ServicerContext, dict[str, str]]] = (
    contextvars.ContextVar("kit_call_metadata")
)


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    """The call's text metadata, read from grpc once per call."""
    read = _read_metadata.get(None)
    if read is not None and read[0] is context:
        return read[1]
    metadata = {
        key: value for key, value in (context.invocation_metadata() or ()) if isinstance(value, str)
    }
    _read_metadata.set((context, metadata))
    return metadata


class CallContextInterceptor(AsyncServerInterceptor):
    """Outermost interceptor: request id, access log, and error mapping.

    A :class:`PlatformError` becomes its gRPC status with ErrorInfo; anything
    unexpected is logged with its traceback and becomes INTERNAL with the
    layer's internal error code, never a traceback sent to the client.
    """

    def __init__(
        self, domain: str, internal_error: ErrorCode, invalid_argument: ErrorCode | None = None
    ) -> None:
        self._domain = domain
        self._internal = internal_error
        self._invalid = invalid_argument

    async def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        handler = await super().intercept_service(continuation, handler_call_details)
        if handler is None or self._invalid is None:
            return handler
        return handler._replace(request_deserializer=_guarded(handler.request_deserializer))

    def _checked(self, request_or_iterator: Any) -> Any:
        """The request, or its stream, refusing any message that could not be decoded."""
        if isinstance(request_or_iterator, UndecodableRequest):
            self._refuse(request_or_iterator)
        if hasattr(request_or_iterator, "__aiter__"):
            return self._checked_stream(request_or_iterator)
        return request_or_iterator

    async def _checked_stream(self, requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for request in requests:
            if isinstance(request, UndecodableRequest):
                self._refuse(request)
            yield request

    def _refuse(self, request: UndecodableRequest) -> NoReturn:
        assert self._invalid is not None
        raise PlatformError(self._invalid, request.message, field=request.field)

    async def intercept(
        self,
        method: Callable[..., Any],
        request_or_iterator: Any,
        context: grpc.aio.ServicerContext,
        method_name: str,
    ) -> Any:
        request_id = _metadata(context).get("x-request-id") or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id, rpc=method_name)
        started = time.perf_counter()
        try:
            result = method(self._checked(request_or_iterator), context)
            if hasattr(result, "__aiter__"):
                return self._guard_stream(result, context, started)
            response = await result
        except Exception as exc:
            await self._fail(exc, context, started)
        self._log_done(started, "OK")
        return response

    async def _guard_stream(
        self, stream: AsyncIterator[Any], context: grpc.aio.ServicerContext, started: float
    ) -> AsyncIterator[Any]:
        try:
            async for item in stream:
                yield item
        except Exception as exc:
            await self._fail(exc, context, started)
        self._log_done(started, "OK")

    async def _fail(
        self, exc: Exception, context: grpc.aio.ServicerContext, started: float
    ) -> NoReturn:
        if isinstance(exc, grpc.aio.AbortError):
            raise exc
        if not isinstance(exc, PlatformError):
            log.error("rpc.unexpected_error", exc_info=exc)
            exc = PlatformError(self._internal, "internal error; see the server log")
        self._log_done(started, exc.error.kind.name, code=exc.code, message=exc.message)
        # The status code and message, with the google.rpc.Status (ErrorInfo, BadRequest) in
        # grpc-status-details-bin, where grpc_status.rpc_status.from_call finds it.
        await context.abort_with_status(rpc_status.to_status(to_rpc_status(exc, self._domain)))
        raise AssertionError("context.abort_with_status returned")  # it always raises

    @staticmethod
    def _log_done(started: float, outcome: str, **fields: str) -> None:
        elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        if outcome == "OK":
            log.debug("rpc.done", outcome=outcome, ms=elapsed_ms)
        else:
            log.info("rpc.done", outcome=outcome, ms=elapsed_ms, **fields)


class BearerAuthInterceptor(AsyncServerInterceptor):
    """Refuses calls without a valid ``authorization: Bearer <token>``."""

    def __init__(
        self,
        authenticator: TokenAuthenticator,
        unauthenticated: ErrorCode,
        open_prefixes: Iterable[str] = OPEN_METHOD_PREFIXES,
    ) -> None:
        self._auth = authenticator
        self._error = unauthenticated
        self._open = tuple(open_prefixes)

    async def intercept(
        self,
        method: Callable[..., Any],
        request_or_iterator: Any,
        context: grpc.aio.ServicerContext,
        method_name: str,
    ) -> Any:
        if not method_name.startswith(self._open):
            metadata = _metadata(context)
            caller = caller_of(self._auth, metadata)
            if caller is None:
                reason = "missing" if not metadata.get("authorization") else "invalid"
                raise PlatformError(
                    self._error,
                    f"{reason} credentials: send 'authorization: Bearer <token>'",
                )
            act_as(caller)
            structlog.contextvars.bind_contextvars(principal=caller.principal)
        result = method(request_or_iterator, context)
        if hasattr(result, "__aiter__"):
            return result
        return await result
