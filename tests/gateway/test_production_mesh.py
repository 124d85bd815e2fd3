"""A mesh in production mode with JWTs configured: JWTs through Envoy, dev tokens refused,
and what the rate limits do while Redis is down (per tier: open or closed)."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import grpc
import httpx
import jwt
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from services.launcher.config import LauncherSettings
from services.launcher.mesh import Mesh
from tests.support import platform_code, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l09, pytest.mark.slow]

SECRET = "production-mesh-test-secret-0123456789"
ISSUER, AUDIENCE = "https://login.example.com", "agentic-api"


def token(**overrides: object) -> str:
    now = int(time.time())
    claims = {"sub": "carol", "roles": ["reader"], "iss": ISSUER, "aud": AUDIENCE}
    claims |= {"exp": now + 300, **overrides}
    return jwt.encode(claims, SECRET, "HS256")


@pytest.fixture(scope="module")
def production_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    settings = LauncherSettings.on_free_ports(
        tmp_path_factory.mktemp("production-mesh"), production=True
    )
    mesh = Mesh(settings, fsync=False)
    # The components inherit the environment supervisord starts with.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("L09_JWT_HS256_SECRET", SECRET)
        patch.setenv("L09_JWT_ISSUER", ISSUER)
        patch.setenv("L09_JWT_AUDIENCE", AUDIENCE)
        try:
            mesh.up(timeout=120)
        except BaseException:
            mesh.down()
            raise
    yield mesh
    mesh.down()


@pytest.fixture
async def client(production_mesh: Mesh) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=production_mesh.gateway_url, timeout=10) as client:
        yield client


async def test_a_valid_jwt_reads_over_rest_and_grpc(
    production_mesh: Mesh, client: httpx.AsyncClient
) -> None:
    response = await client.get("/v1/events", headers={"authorization": f"Bearer {token()}"})
    assert response.status_code == 200, response.text
    async with open_channel(production_mesh.gateway_target, token=token()) as channel:
        await event_store_pb2_grpc.EventStoreServiceStub(channel).ReadAll(pb.ReadAllRequest())


@pytest.mark.parametrize(
    "bad",
    [
        token(exp=int(time.time()) - 5),
        token(aud="another-api"),
        token(iss="https://elsewhere.example.com"),
        jwt.encode(
            {"sub": "carol", "exp": int(time.time()) + 300},
            "not-the-secret-xxxxxxxxxxxxxxxxxxxxxxxx",
        ),
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "wrongly-signed"],
)
async def test_bad_jwts_are_401(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/v1/events", headers={"authorization": f"Bearer {bad}"})
    assert response.status_code == 401
    assert rest_reason(response.json()) == "E9401"


async def test_the_jwt_roles_are_enforced(production_mesh: Mesh) -> None:
    async with open_channel(production_mesh.gateway_target, token=token()) as channel:
        stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.AppendEvents(pb.AppendEventsRequest(stream_id="s"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert platform_code(caught.value) == "E9403"


async def test_dev_tokens_are_refused_in_production(client: httpx.AsyncClient) -> None:
    for dev in ("dev_key_local_ONLY", "test_token_123"):
        response = await client.get("/v1/events", headers={"authorization": f"Bearer {dev}"})
        assert response.status_code == 401
        assert rest_reason(response.json()) == "E9401"


async def test_redis_down_fails_closed_for_trial_and_open_for_standard(
    production_mesh: Mesh, client: httpx.AsyncClient
) -> None:
    keys = ApiKeyFile(production_mesh.settings.gateway_keys_file)
    trial, _ = keys.create("trial-user", ("reader",), "trial")
    standard, _ = keys.create("standard-user", ("reader",), "standard")
    await asyncio.sleep(1.1)
    for key in (trial, standard):
        assert (await client.get("/v1/events", headers={"x-api-key": key})).status_code == 200
    await asyncio.to_thread(production_mesh.stop_component, "redis")
    try:
        closed = await client.get("/v1/events", headers={"x-api-key": trial})
        assert closed.status_code == 429
        assert rest_reason(closed.json()) == "E9001"
        assert "cannot be checked" in closed.json()["message"]
        assert int(closed.headers["retry-after"]) >= 1
        opened = await client.get("/v1/events", headers={"x-api-key": standard})
        assert opened.status_code == 200
    finally:
        await asyncio.to_thread(production_mesh.start_component, "redis")
    for _ in range(50):  # the limiter asks Redis again a second after the failure
        if (await client.get("/v1/events", headers={"x-api-key": trial})).status_code == 200:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("trial calls were not allowed again once Redis was back")


async def test_no_browser_origin_is_allowed_by_default_in_production(
    client: httpx.AsyncClient,
) -> None:
    """Not even a loopback one, which a development mesh allows."""
    for origin in ("http://localhost:3000", "https://app.example.com"):
        response = await client.options(
            "/v1/events", headers={"origin": origin, "access-control-request-method": "GET"}
        )
        assert "access-control-allow-origin" not in response.headers
        actual = await client.get(
            "/v1/events", headers={"origin": origin, "authorization": f"Bearer {token()}"}
        )
        assert actual.status_code == 200
        assert "access-control-allow-origin" not in actual.headers
