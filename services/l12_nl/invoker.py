"""Calls any RPC of the mesh by name, with JSON arguments, through the gateway: a unary one
for its answer, a server-streaming one for each message of its stream.

The call goes through Envoy with the caller's own credential, so the gateway's policy and
rate limits apply to it exactly as if the caller had made it. Request and response classes
come from the descriptor set (dynamic stubs): a layer added later is callable without code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format

from services.kit import PlatformError
from services.l12_nl import errors
from services.l12_nl.catalog import Catalog, CatalogMethod

STATUS_DETAILS_HEADER = "grpc-status-details-bin"


@dataclass(frozen=True)
class UpstreamError(Exception):
    """The called layer's (or the gateway's) refusal, to be passed on unchanged."""

    code: grpc.StatusCode
    message: str
    details: bytes | None  # the serialized google.rpc.Status with its ErrorInfo, if any


class Invoker:
    def __init__(self, catalog: Catalog, gateway: grpc.aio.Channel) -> None:
        self._catalog = catalog
        self._gateway = gateway
        self._callables: dict[str, grpc.aio.UnaryUnaryMultiCallable] = {}
        self._streams: dict[str, grpc.aio.UnaryStreamMultiCallable] = {}

    def _callable(self, method: CatalogMethod) -> grpc.aio.UnaryUnaryMultiCallable:
        """The method's stub, made once (a new one per call costs more than the call's own
        Python work)."""
        call = self._callables.get(method.name)
        if call is None:
            response_class = self._catalog.message_class(method.response_type)
            call = self._gateway.unary_unary(
                method.grpc_path,
                request_serializer=lambda message: message.SerializeToString(),
                response_deserializer=response_class.FromString,
            )
            self._callables[method.name] = call
        return call

    def _stream_callable(self, method: CatalogMethod) -> grpc.aio.UnaryStreamMultiCallable:
        call = self._streams.get(method.name)
        if call is None:
            response_class = self._catalog.message_class(method.response_type)
            call = self._gateway.unary_stream(
                method.grpc_path,
                request_serializer=lambda message: message.SerializeToString(),
                response_deserializer=response_class.FromString,
            )
            self._streams[method.name] = call
        return call

    def prepare(
        self, method_name: str, arguments: dict[str, Any], streaming: bool = False
    ) -> tuple[CatalogMethod, Any]:
        """The method and its request message, or the error naming what does not fit;
        ``streaming``: the caller takes a stream of answers (InvokeStream), not one."""
        method = self._catalog.method(method_name)
        if method.client_streaming:
            raise PlatformError(
                errors.STREAMING_METHOD,
                f"{method.name} streams its requests; call it directly (gRPC)",
                field="method",
            )
        if method.server_streaming and not streaming:
            raise PlatformError(
                errors.STREAMING_METHOD,
                f"{method.name} streams its answers; call it with InvokeStream "
                "(POST /v1/services:invokeStream)",
                field="method",
            )
        if streaming and not method.server_streaming:
            raise PlatformError(
                errors.STREAMING_METHOD,
                f"{method.name} answers once; call it with Invoke (POST /v1/services:invoke)",
                field="method",
            )
        request = self._catalog.message_class(method.request_type)()
        try:
            json_format.ParseDict(arguments, request)
        except json_format.ParseError as error:
            raise PlatformError(
                errors.BAD_ARGUMENTS,
                f"arguments do not fit {method.request_type}: {error}",
                field="arguments",
            ) from None
        return method, request

    async def invoke(
        self,
        method_name: str,
        arguments: dict[str, Any],
        authorization: str,
        timeout: float | None = None,
    ) -> tuple[CatalogMethod, dict[str, Any]]:
        """Calls the method as the holder of ``authorization``; its JSON answer."""
        method, request = self.prepare(method_name, arguments)
        call = self._callable(method)
        try:
            response = await call(
                request, metadata=(("authorization", authorization),), timeout=timeout
            )
        except grpc.aio.AioRpcError as error:
            raise upstream_error(error) from None
        return method, as_json(response)

    async def stream(
        self,
        method_name: str,
        arguments: dict[str, Any],
        authorization: str,
        timeout: float | None = None,
        max_messages: int = 0,
    ) -> AsyncIterator[tuple[CatalogMethod, dict[str, Any]]]:
        """Calls a server-streaming method as the holder of ``authorization``; each of its
        messages as JSON, as it arrives, until the stream ends or ``max_messages`` (0: no
        limit) have come."""
        method, request = self.prepare(method_name, arguments, streaming=True)
        call = self._stream_callable(method)(
            request, metadata=(("authorization", authorization),), timeout=timeout
        )
        sent = 0
        try:
            async for response in call:
                yield method, as_json(response)
                sent += 1
                if sent == max_messages:
                    return
        except grpc.aio.AioRpcError as error:
            raise upstream_error(error) from None
        finally:
            call.cancel()  # the caller left, or had enough: the called stream ends too


def as_json(response: Any) -> dict[str, Any]:
    """As the gateway prints REST answers: proto field names, defaults included."""
    return json_format.MessageToDict(  # type: ignore[no-any-return]
        response,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )


def upstream_error(error: grpc.aio.AioRpcError) -> UpstreamError:
    """A failed call's status, message and details, to pass on unchanged."""
    details = None
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_HEADER and isinstance(value, bytes):
            details = value
    return UpstreamError(error.code(), error.details() or "", details)
