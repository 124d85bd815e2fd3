"""Envoy's own errors: the E9xxx JSON shape for REST clients, plain statuses for gRPC."""

import asyncio
import json

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, rest_reason, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l09]

TOO_BIG = b'{"events": [{"data": "' + b"z" * (9 << 20)


@pytest.mark.parametrize(
    ("method", "path", "content", "status", "reason"),
    [
        ("GET", "/v1/nothing-here", None, 404, "E9404"),
        ("POST", "/health", None, 404, "E9404"),
        ("POST", "/v1/streams/s:append", b"{not json", 400, "E9400"),
        ("POST", "/v1/streams/s:append", TOO_BIG, 413, "E9413"),
    ],
)
async def test_local_replies_are_status_json_with_a_gateway_code(
    rest: httpx.AsyncClient, method: str, path: str, content: bytes | None, status: int, reason: str
) -> None:
    headers = {"content-type": "application/json"} if content else {}
    response = await rest.request(method, path, content=content, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert rest_reason(body) == reason
    assert body["details"][0]["domain"] == "gateway.agentic"
    # ErrorInfo.metadata is a map of strings: a call no route took names no layer, not null.
    metadata = body["details"][0].get("metadata", {})
    assert all(isinstance(value, str) for value in metadata.values()), metadata
    assert body["message"]


async def test_grpc_clients_get_grpc_statuses_not_json(mesh: RunningMesh) -> None:
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        call = channel.unary_unary("/agentic.nothing.v1.Nope/Get")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(b"")
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_the_layers_own_errors_pass_through_for_grpc(mesh: RunningMesh) -> None:
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.AppendEvents(pb.AppendEventsRequest(stream_id=stream_name()))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    keys = [key for key, _ in caught.value.trailing_metadata() or ()]
    assert "grpc-status-details-bin" in keys


async def test_a_transfer_coding_envoy_does_not_know_is_a_client_error(
    mesh: RunningMesh,
) -> None:
    """HTTP would say 501 (Envoy's codec does); the request is at fault, so it is 400 E9400."""
    host, port = mesh.gateway_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"GET /v1/events HTTP/1.1\r\nhost: x\r\n"
        + f"authorization: Bearer {DEV_TOKEN}\r\n".encode()
        + b"transfer-encoding: foo\r\n\r\n"
    )
    await writer.drain()
    answer = await reader.read(4096)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    parsed = json.loads(body)
    assert rest_reason(parsed) == "E9400"
    assert "invalid_transfer_encoding" in parsed["message"]
