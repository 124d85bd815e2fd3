"""Calls any unary RPC of the mesh by name, with JSON arguments, through the gateway.

The call goes through Envoy with the caller's own credential, so the gateway's policy and
rate limits apply to it exactly as if the caller had made it. Request and response classes
come from the descriptor set (dynamic stubs): a layer added later is callable without code.
"""

from __future__ import annotations

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

    def prepare(self, method_name: str, arguments: dict[str, Any]) -> tuple[CatalogMethod, Any]:
        """The method and its request message, or the error naming what does not fit."""
        method = self._catalog.method(method_name)
        if not method.unary:
            raise PlatformError(
                errors.STREAMING_METHOD,
                f"{method.name} streams; call it directly (gRPC, or its REST path)",
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
        # As the gateway prints REST answers: proto field names, defaults included.
        answer = json_format.MessageToDict(
            response,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )
        return method, answer


def upstream_error(error: grpc.aio.AioRpcError) -> UpstreamError:
    """A failed call's status, message and details, to pass on unchanged."""
    details = None
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_HEADER and isinstance(value, bytes):
            details = value
    return UpstreamError(error.code(), error.details() or "", details)
