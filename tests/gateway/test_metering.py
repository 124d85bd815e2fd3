"""Which calls the global rate limit service sees: none from unmetered tiers, none from API
keys (ext_authz limits those in its own call); metered JWT callers are asked about when they
need a lease (tests/gateway/test_native_jwt.py).

Envoy counts the rate limit service's answers per upstream cluster
(`cluster.<layer>.ratelimit.ok`); the counter shows whether a call was sent to it.
"""

import asyncio
import uuid

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.l09]


async def _limit_checks(mesh: RunningMesh) -> int:
    url = f"http://127.0.0.1:{mesh.settings.envoy_admin_port}/stats"
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(url, params={"filter": r"^cluster\.l01_data\.ratelimit\."})
    return sum(int(line.rsplit(":", 1)[1]) for line in response.text.splitlines() if ":" in line)


async def _read_all(mesh: RunningMesh, token: str, calls: int) -> None:
    async with open_channel(mesh.gateway_target, token=token) as channel:
        store = event_store_pb2_grpc.EventStoreServiceStub(channel)
        for _ in range(calls):
            await store.ReadAll(pb.ReadAllRequest(max_count=1))


async def test_unmetered_dev_tokens_never_reach_the_rate_limit_service(mesh) -> None:
    before = await _limit_checks(mesh)
    await _read_all(mesh, DEV_TOKEN, 20)
    assert await _limit_checks(mesh) == before


async def test_metered_keys_are_counted_in_the_ext_authz_hop_alone(mesh) -> None:
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        f"metered-{uuid.uuid4().hex[:6]}", ("admin",), "standard"
    )
    for _ in range(30):  # the gateway re-reads the key file within a second
        try:
            await _read_all(mesh, key, 1)
            break
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            await asyncio.sleep(0.1)
    before = await _limit_checks(mesh)
    await _read_all(mesh, key, 10)
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as client:
        remaining = []
        for _ in range(10):
            response = await client.get("/v1/events", headers={"x-api-key": key})
            assert response.status_code == 200
            assert response.headers["x-ratelimit-limit"] == "100, 100;w=1"
            remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert await _limit_checks(mesh) == before
    # Every call took a token: ten of them outweigh the refill (100/s) between the calls.
    assert remaining[-1] < remaining[0] < 1000
