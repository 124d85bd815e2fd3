"""The L09 health sidecar: aggregation over grpc.health, and its HTTP answer."""

from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.l09_gateway.app import create_app
from services.l09_gateway.config import GatewaySettings
from services.l09_gateway.health import check_mesh
from services.launcher import free_port

pytestmark = [pytest.mark.unit, pytest.mark.l09]


@pytest.fixture
async def health_server() -> AsyncIterator[tuple[str, health.aio.HealthServicer]]:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    yield f"127.0.0.1:{port}", servicer
    await server.stop(None)


def test_layers_are_read_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("L09_LAYERS", "l01_data=127.0.0.1:8001, l02_runtime=127.0.0.1:8002")
    assert GatewaySettings().layers == {
        "l01_data": "127.0.0.1:8001",
        "l02_runtime": "127.0.0.1:8002",
    }


def test_a_malformed_layer_list_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("L09_LAYERS", "l01_data")
    with pytest.raises(ValueError, match="name=host:port"):
        GatewaySettings()


async def test_each_layer_is_reported(health_server) -> None:
    target, servicer = health_server
    gone = f"127.0.0.1:{free_port()}"
    report = await check_mesh({"up": target, "gone": gone}, timeout=0.5)
    assert report.as_dict() == {
        "status": "NOT_SERVING",
        "layers": {
            "up": {"target": target, "status": "SERVING"},
            "gone": {"target": gone, "status": "UNREACHABLE", "error": "UNAVAILABLE"},
        },
    }
    await servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    report = await check_mesh({"up": target}, timeout=0.5)
    assert report.as_dict()["layers"]["up"]["status"] == "NOT_SERVING"


async def test_http_answer_is_200_only_when_every_layer_serves(health_server) -> None:
    target, servicer = health_server
    app = create_app(GatewaySettings(layers={"l01_data": target}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sidecar") as client:
        response = await client.get("/health")
        assert response.status_code == 200
        assert response.json()["status"] == "SERVING"
        await servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        response = await client.get("/health")
        assert response.status_code == 503
        assert response.json()["layers"]["l01_data"]["status"] == "NOT_SERVING"
