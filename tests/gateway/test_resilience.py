"""A layer that goes down: 503 naming it (REST and gRPC), /health shows it, then recovery."""

import asyncio

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l09, pytest.mark.slow]


async def test_a_killed_layer_is_503_naming_it_then_recovers(
    mesh: RunningMesh, rest: httpx.AsyncClient
) -> None:
    assert (await rest.get("/v1/events")).status_code == 200
    await asyncio.to_thread(mesh.mesh.stop_component, "l01_data")
    try:
        down = await rest.get("/v1/events")
        assert down.status_code == 503
        body = down.json()
        assert rest_reason(body) == "E9503"
        assert body["code"] == 14
        assert "l01_data" in body["message"]
        assert body["details"][0]["metadata"]["layer"] == "l01_data"

        async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
            stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.ReadAll(pb.ReadAllRequest(max_count=1))
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "l01_data" in (caught.value.details() or "")

        health = await rest.get("/health")
        assert health.status_code == 503
        assert health.json()["layers"]["l01_data"]["status"] == "UNREACHABLE"
    finally:
        await asyncio.to_thread(mesh.mesh.start_component, "l01_data")
    for _ in range(100):  # Envoy's active health check sees it back within a second or so
        if (await rest.get("/v1/events")).status_code == 200:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the layer did not come back through the gateway")
    assert (await rest.get("/health")).status_code == 200
