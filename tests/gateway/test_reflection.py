"""Server reflection of the whole mesh at the gateway (v1 and v1alpha), behind its auth."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from services.kit import open_channel
from services.l09_gateway import descriptor
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, buf_curl, jwt_for, platform_code

pytestmark = [pytest.mark.integration, pytest.mark.l09]

V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
REFLECTION = {"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
AUTH = f"authorization: Bearer {DEV_TOKEN}"


def mesh_services() -> set[str]:
    return set(descriptor.load().services)


async def _ask(channel: grpc.aio.Channel, *requests: Any) -> list[Any]:
    """One v1 reflection stream (raw: grpcio-reflection ships v1alpha only; the messages are
    the same on the wire)."""
    call = channel.stream_stream(
        V1,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )

    async def sent() -> AsyncIterator[Any]:
        for request in requests:
            yield request

    return [response async for response in call(sent())]


async def test_v1_reflection_lists_every_service_of_the_mesh(mesh: RunningMesh) -> None:
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        [answer] = await _ask(channel, reflection_pb2.ServerReflectionRequest(list_services=""))
    listed = {service.name for service in answer.list_services_response.service}
    assert listed == mesh_services() | REFLECTION


async def test_v1_reflection_describes_itself(mesh: RunningMesh) -> None:
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        [answer] = await _ask(
            channel,
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="grpc.reflection.v1.ServerReflection"
            ),
        )
    assert answer.WhichOneof("message_response") == "file_descriptor_response"
    assert answer.file_descriptor_response.file_descriptor_proto


class _Credential(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the bearer token to every call of a synchronous channel (the reflection
    descriptor database takes a channel, not call metadata)."""

    def __init__(self, token: str) -> None:
        self._metadata = [("authorization", f"Bearer {token}")]

    def _with_token(self, details: Any) -> Any:
        return details._replace(metadata=[*(details.metadata or ()), *self._metadata])

    def intercept_unary_unary(self, proceed: Callable[..., Any], details: Any, request: Any) -> Any:
        return proceed(self._with_token(details), request)

    def intercept_stream_stream(
        self, proceed: Callable[..., Any], details: Any, requests: Iterator[Any]
    ) -> Any:
        return proceed(self._with_token(details), requests)


def test_a_grpcio_reflection_client_resolves_methods_and_messages(mesh: RunningMesh) -> None:
    """grpcio-reflection's own client (v1alpha), as grpcurl-like tools use it."""
    with grpc.insecure_channel(mesh.gateway_target) as plain:
        channel = grpc.intercept_channel(plain, _Credential(jwt_for("ada", ["reader"])))
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        service = pool.FindServiceByName("agentic.data.v1.EventStoreService")
        request = service.methods_by_name["AppendEvents"].input_type
        assert request.full_name == "agentic.data.v1.AppendEventsRequest"
        assert {"stream_id", "events", "expected_version"} <= set(request.fields_by_name)
        # Imports resolve too: an event's data is a google.protobuf.Struct.
        event = request.fields_by_name["events"].message_type
        assert event is not None
        data = event.fields_by_name["data"].message_type
        assert data is not None and data.full_name == "google.protobuf.Struct"


async def test_reflection_without_credentials_is_refused(mesh: RunningMesh) -> None:
    async with open_channel(mesh.gateway_target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _ask(channel, reflection_pb2.ServerReflectionRequest(list_services=""))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert platform_code(caught.value) == "E9401"


async def test_buf_curl_lists_the_mesh_from_the_gateway(mesh: RunningMesh) -> None:
    result = await buf_curl(
        "--protocol", "grpc", "--http2-prior-knowledge",
        "--list-services", "-H", AUTH, "--reflect-header", "*", mesh.gateway_url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == mesh_services() | REFLECTION


async def test_buf_curl_calls_a_method_it_learnt_by_reflection(mesh: RunningMesh) -> None:
    """No local protos: the request schema comes from the gateway."""
    result = await buf_curl(
        "--protocol", "grpc", "--http2-prior-knowledge", "-H", AUTH, "--reflect-header", "*",
        "-d", '{"max_count": 1}', f"{mesh.gateway_url}/agentic.data.v1.EventStoreService/ReadAll",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert '"nextPosition"' in result.stdout
