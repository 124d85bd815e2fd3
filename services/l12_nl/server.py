"""CatalogService servicer: maps RPCs to the catalog, the search index and the invoker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc
from google.protobuf import json_format, struct_pb2

from agentic.nl.v1 import catalog_pb2 as pb
from agentic.nl.v1 import catalog_pb2_grpc as pb_grpc
from services.kit import PlatformError
from services.l12_nl import errors
from services.l12_nl.catalog import Catalog, CatalogMethod, CatalogService
from services.l12_nl.credentials import caller_credential
from services.l12_nl.index_builder import IndexBuilder
from services.l12_nl.invoker import Invoker, UpstreamError

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CatalogService"].full_name

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 200
DEFAULT_LIMIT, MAX_LIMIT = 5, 50
MAX_QUERY_CHARS = 2000

_STREAMING = {
    (False, False): pb.STREAMING_KIND_UNARY,
    (False, True): pb.STREAMING_KIND_SERVER,
    (True, False): pb.STREAMING_KIND_CLIENT,
    (True, True): pb.STREAMING_KIND_BIDI,
}


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def to_method(method: CatalogMethod, schemas: bool) -> pb.Method:
    message = pb.Method(
        name=method.name,
        service=method.service,
        layer=method.layer,
        description=method.description,
        http=[pb.HttpRule(method=h.method, path=h.path, body=h.body) for h in method.http],
        streaming=_STREAMING[(method.client_streaming, method.server_streaming)],
        mutating=method.mutating,
        error_codes=list(method.error_codes),
        request_type=method.request_type,
        response_type=method.response_type,
    )
    if schemas:
        message.request_schema.CopyFrom(_struct(method.request_schema))
        message.response_schema.CopyFrom(_struct(method.response_schema))
    return message


def to_service(service: CatalogService, schemas: bool) -> pb.Service:
    return pb.Service(
        name=service.name,
        layer=service.layer,
        description=service.description,
        methods=[to_method(m, schemas) for m in service.methods],
    )


def clamped(value: int, default: int, most: int, field: str) -> int:
    """``value`` (0: the default) at most ``most``; negative is refused, naming the field."""
    if value < 0:
        raise PlatformError(errors.INVALID_ARGUMENT, f"{field} must not be negative", field=field)
    return min(value or default, most)


def call_metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    return {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


async def pass_on(context: grpc.aio.ServicerContext, error: UpstreamError) -> NoReturn:
    """Ends the call with the called layer's own status, message and details."""
    trailers = (("grpc-status-details-bin", error.details),) if error.details else ()
    await context.abort(error.code, error.message, trailing_metadata=trailers)
    raise AssertionError("context.abort returned")  # abort always raises


class CatalogServicer(pb_grpc.CatalogServiceServicer):
    def __init__(
        self,
        catalog: Catalog,
        index: IndexBuilder,
        invoker: Invoker,
        service_token: str | None,
        index_wait_seconds: float,
    ) -> None:
        self._catalog = catalog
        self._index = index
        self._invoker = invoker
        self._service_token = service_token
        self._index_wait = index_wait_seconds

    async def ListServices(
        self, request: pb.ListServicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListServicesResponse:
        size = clamped(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size")
        page = self._catalog.page(size, request.page_token)
        return pb.ListServicesResponse(
            services=[to_service(s, schemas=False) for s in page.services],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetService(
        self, request: pb.GetServiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetServiceResponse:
        if not request.service.strip():
            raise PlatformError(errors.INVALID_ARGUMENT, "service is required", field="service")
        service = self._catalog.service(request.service)
        return pb.GetServiceResponse(service=to_service(service, schemas=True))

    async def SearchServices(
        self, request: pb.SearchServicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchServicesResponse:
        query = request.query.strip()
        if not query:
            raise PlatformError(errors.INVALID_ARGUMENT, "query is required", field="query")
        if len(query) > MAX_QUERY_CHARS:
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                f"query is {len(query)} characters; at most {MAX_QUERY_CHARS}",
                field="query",
            )
        limit = clamped(request.limit, DEFAULT_LIMIT, MAX_LIMIT, "limit")
        index = await self._index.index(self._index_wait)
        try:
            found = await index.search(query, limit)
        except UpstreamError as error:  # L04 could not embed the query: its own error
            await pass_on(context, error)
        return pb.SearchServicesResponse(
            matches=[
                pb.Match(
                    method=s.method.name,
                    score=round(s.score, 4),
                    description=s.method.description,
                    mutating=s.method.mutating,
                )
                for s in found
            ]
        )

    async def Invoke(
        self, request: pb.InvokeRequest, context: grpc.aio.ServicerContext
    ) -> pb.InvokeResponse:
        if not request.method.strip():
            raise PlatformError(errors.INVALID_ARGUMENT, "method is required", field="method")
        credential = caller_credential(call_metadata(context), self._service_token)
        arguments = json_format.MessageToDict(request.arguments)
        try:
            method, answer = await self._invoker.invoke(
                request.method, arguments, credential, context.time_remaining()
            )
        except UpstreamError as error:
            await pass_on(context, error)
        return pb.InvokeResponse(method=method.name, result=_struct(answer))

    async def InvokeStream(
        self, request: pb.InvokeStreamRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.InvokeStreamResponse]:
        if not request.method.strip():
            raise PlatformError(errors.INVALID_ARGUMENT, "method is required", field="method")
        if request.max_messages < 0:
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                f"max_messages must be 0 (no limit) or more, not {request.max_messages}",
                field="max_messages",
            )
        credential = caller_credential(call_metadata(context), self._service_token)
        arguments = json_format.MessageToDict(request.arguments)
        messages = self._invoker.stream(
            request.method,
            arguments,
            credential,
            context.time_remaining(),
            request.max_messages,
        )
        try:
            async for method, answer in messages:
                yield pb.InvokeStreamResponse(method=method.name, result=_struct(answer))
        except UpstreamError as error:
            await pass_on(context, error)
