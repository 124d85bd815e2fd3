"""Through Envoy: API keys, RBAC, forged identity headers, rate limits, open routes, CORS."""

import asyncio
import json
import struct
import subprocess
import sys

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from tests.conftest import RunningMesh
from tests.support import (
    DEV_TOKEN,
    envoy_stat,
    platform_code,
    refused_append_after_a_read,
    rest_reason,
    stream_name,
)

pytestmark = [pytest.mark.integration, pytest.mark.l09]


def create_key(mesh: RunningMesh, principal: str, roles: tuple[str, ...], tier: str) -> str:
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(principal, roles, tier)
    return key


@pytest.fixture
async def client(mesh: RunningMesh):
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as client:
        yield client


async def _until(check, seconds: float = 5.0):
    for _ in range(int(seconds * 20)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds}s")


async def test_the_keys_cli_creates_a_key_the_gateway_accepts(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.launcher.cli", "keys", "create",
         "--principal", "cli-user", "--role", "reader", "--home", str(mesh.settings.home)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = result.stdout.strip()
    assert key.startswith("agk_")

    async def accepted() -> bool:
        response = await client.get("/v1/events", headers={"x-api-key": key})
        return response.status_code == 200

    await _until(accepted)


async def test_the_principal_is_the_keys_even_when_the_client_forges_one(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    key = create_key(mesh, "alice@example.com", ("writer",), "standard")
    stream = stream_name()
    forged = {
        "authorization": f"Bearer {key}",
        "x-agentic-principal": "mallory",
        "x-agentic-roles": "admin",
        "x-agentic-tier": "internal",
    }

    async def appended() -> httpx.Response | None:
        response = await client.post(
            f"/v1/streams/{stream}:append",
            json={"events": [{"type": "a.b", "data": {}}]},
            headers=forged,
        )
        return response if response.status_code == 200 else None

    await _until(appended)
    events = (await client.get(f"/v1/streams/{stream}/events", headers=forged)).json()["events"]
    assert events[0]["metadata"]["$principal"] == "alice@example.com"
    # The forged admin role did not let the writer delete the stream.
    deleted = await client.delete(f"/v1/streams/{stream}", headers=forged)
    assert deleted.status_code == 403
    assert rest_reason(deleted.json()) == "E9403"


async def test_dev_tokens_are_forwarded_by_envoy_without_the_ext_authz_hop(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    """Development mode: the dev tokens are public constants, so Envoy forwards them itself."""
    checks = await envoy_stat(mesh.settings.envoy_admin_port, "http.gateway.ext_authz.ok")
    stream = stream_name()
    forged = {"x-agentic-principal": "mallory", "x-agentic-roles": "reader"}
    for credential in ({"authorization": f"Bearer {DEV_TOKEN}"}, {"x-api-key": "test_token_123"}):
        response = await client.post(
            f"/v1/streams/{stream}:append",
            json={"events": [{"type": "a.b", "data": {}}]},
            headers={**credential, **forged},
        )
        assert response.status_code == 200, response.text
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        store = event_store_pb2_grpc.EventStoreServiceStub(channel)
        read = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    principals = [e.metadata["$principal"] for e in read.events]
    assert principals == ["dev", "test"]
    assert await envoy_stat(mesh.settings.envoy_admin_port, "http.gateway.ext_authz.ok") == checks
    # Anything else that is not a JWT still goes to ext_authz.
    refused = await client.get("/v1/events", headers={"authorization": "Bearer dev_key_local"})
    assert refused.status_code == 401
    assert rest_reason(refused.json()) == "E9401"


async def test_header_names_grpc_metadata_cannot_carry_are_dropped(
    client: httpx.AsyncClient,
) -> None:
    headers = {"authorization": f"Bearer {DEV_TOKEN}", "x*y": "1", "a|b": "2", "it's": "3"}
    response = await client.get("/v1/events", headers=headers)
    assert response.status_code == 200, response.text


async def test_a_reader_key_reads_over_grpc_but_may_not_append(mesh: RunningMesh) -> None:
    key = create_key(mesh, "reader-bot", ("reader",), "standard")
    await asyncio.sleep(1.1)  # the gateway re-reads the key file within a second
    error = await refused_append_after_a_read(mesh.gateway_target, key)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert platform_code(error) == "E9403"
    assert "reader-bot" in (error.details() or "")


async def test_a_revoked_key_is_refused_within_a_second(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    keys = ApiKeyFile(mesh.settings.gateway_keys_file)
    key, record = keys.create("revokee", ("reader",), "standard")
    headers = {"x-api-key": key}

    async def accepted() -> bool:
        return (await client.get("/v1/events", headers=headers)).status_code == 200

    await _until(accepted)
    keys.revoke(record.key_id)
    await asyncio.sleep(1.1)
    refused = await client.get("/v1/events", headers=headers)
    assert refused.status_code == 401
    assert rest_reason(refused.json()) == "E9401"
    assert "revoked" in refused.json()["message"]
    assert refused.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization", ["", "Bearer nope", "Basic YTpi", "Bearer a.b.c", "Bearer agk_x_y"]
)
async def test_bad_credentials_are_401_json_over_rest(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.get("/v1/events", headers={"authorization": authorization})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert rest_reason(body) == "E9401" and body["code"] == 16 and body["message"]


async def test_rate_limits_refuse_with_429_then_allow_after_retry_after(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    """The trial tier: burst 5, one token a second."""
    key = create_key(mesh, "trial-user", ("reader",), "trial")
    headers = {"x-api-key": key}
    await asyncio.sleep(1.1)
    codes = [(await client.get("/v1/events", headers=headers)).status_code for _ in range(5)]
    assert codes == [200] * 5
    refused = await client.get("/v1/events", headers=headers)
    assert refused.status_code == 429
    assert rest_reason(refused.json()) == "E9001"
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-limit"].startswith("1")
    assert "grpc-status" not in refused.headers  # a REST caller gets HTTP, not gRPC, status
    async with open_channel(mesh.gateway_target, token=key) as channel:
        stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ReadAll(pb.ReadAllRequest(max_count=1))
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert platform_code(caught.value) == "E9001"
    await asyncio.sleep(int(refused.headers["retry-after"]) + 0.05)
    assert (await client.get("/v1/events", headers=headers)).status_code == 200


async def test_health_and_openapi_need_no_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    append = document["paths"]["/v1/streams/{stream_id}:append"]["post"]
    assert append["x-grpc-method"] == "agentic.data.v1.EventStoreService/AppendEvents"
    subscribe = document["paths"]["/v1/events:subscribe"]["get"]
    assert subscribe["x-streaming"] is True


async def test_cors_preflights_from_a_loopback_origin_are_answered(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options(
        "/v1/events",
        headers={
            "origin": "http://localhost:3000",
            "access-control-request-method": "GET",
            "access-control-request-headers": "authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "authorization" in response.headers["access-control-allow-headers"]
    actual = await client.get(
        "/v1/events",
        headers={"origin": "http://localhost:3000", "authorization": "Bearer test_token_123"},
    )
    assert actual.status_code == 200
    assert actual.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "retry-after" in actual.headers["access-control-expose-headers"]


async def test_grpc_web_calls_reach_the_layer(client: httpx.AsyncClient) -> None:
    message = pb.ReadAllRequest(max_count=1).SerializeToString()
    response = await client.post(
        "/agentic.data.v1.EventStoreService/ReadAll",
        content=b"\x00" + struct.pack(">I", len(message)) + message,
        headers={
            "content-type": "application/grpc-web+proto",
            "x-grpc-web": "1",
            "authorization": "Bearer dev_key_local_ONLY",
        },
    )
    assert response.status_code == 200
    frames, body = [], response.content
    while body:
        flag, length = body[0], struct.unpack(">I", body[1:5])[0]
        frames.append((flag, body[5 : 5 + length]))
        body = body[5 + length :]
    pb.ReadAllResponse.FromString(frames[0][1])
    trailers = frames[-1][1].decode().lower()
    assert frames[-1][0] & 0x80 and "grpc-status:0" in trailers.replace(" ", "")


async def test_access_log_lines_are_json_with_request_id_and_principal(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    request_id = f"trace-{stream_name()}"
    headers = {"authorization": "Bearer test_token_123", "x-request-id": request_id}
    assert (await client.get("/v1/events", headers=headers)).status_code == 200

    async def logged() -> dict | None:
        for line in mesh.mesh.log_file("envoy").read_text().splitlines():
            if request_id in line:
                return json.loads(line)
        return None

    entry = await _until(logged, seconds=5)
    assert entry["principal"] == "test"
    assert entry["rpc"] == "agentic.data.v1.EventStoreService/ReadAll"
    assert entry["path"].startswith("/v1/events") and entry["status"] == 200


async def test_envoy_stats_are_exposed_for_prometheus(mesh: RunningMesh) -> None:
    admin = f"http://127.0.0.1:{mesh.settings.envoy_admin_port}"
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{admin}/stats/prometheus")).text
    assert 'envoy_cluster_upstream_rq_total{envoy_cluster_name="l01_data"}' in text
    assert "envoy_cluster_ext_authz_ok" in text
