"""Which calls the global rate limit service sees: none from unmetered tiers; API keys on the
calls ext_authz vouched for (the call it checks, it limits itself); metered JWT callers when
they need a lease (tests/gateway/test_native_jwt.py).

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
from services.l09_gateway.authz import VOUCH_SECONDS
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, envoy_stat, refused_append_after_a_read

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


async def _accepted_key(mesh: RunningMesh, name: str, roles: tuple[str, ...], calls: int) -> str:
    """A new standard-tier key, once the gateway has re-read the key file (within a second)
    and served ``calls`` ReadAll calls with it."""
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        f"{name}-{uuid.uuid4().hex[:6]}", roles, "standard"
    )
    for _ in range(30):
        try:
            await _read_all(mesh, key, calls)
            return key
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            await asyncio.sleep(0.1)
    raise AssertionError(f"the key for {name} was never accepted")


async def test_unmetered_dev_tokens_never_reach_the_rate_limit_service(mesh) -> None:
    before = await _limit_checks(mesh)
    await _read_all(mesh, DEV_TOKEN, 20)
    assert await _limit_checks(mesh) == before


async def test_api_keys_are_vouched_for_then_metered_in_envoy(mesh) -> None:
    """ext_authz allows a key and vouches for it: the key's next calls to the same RPC skip
    the hop, and their limits go through the rate limit filter, from leases."""
    key = await _accepted_key(mesh, "metered", ("admin",), calls=1)
    await asyncio.sleep(VOUCH_SECONDS)  # the calls above vouched for the key: let that run out
    authorized = await envoy_stat(mesh.settings.envoy_admin_port, "http.gateway.ext_authz.ok")
    checks = await _limit_checks(mesh)
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=10) as client:
        for _ in range(20):
            response = await client.get("/v1/events", headers={"x-api-key": key})
            assert response.status_code == 200
            assert response.headers["x-ratelimit-limit"] == "100, 100;w=1"
            assert int(response.headers["x-ratelimit-remaining"]) <= 1000
    hops = await envoy_stat(mesh.settings.envoy_admin_port, "http.gateway.ext_authz.ok")
    assert 1 <= hops - authorized < 20
    assert await _limit_checks(mesh) > checks


async def test_a_voucher_covers_one_rpc_only(mesh) -> None:
    """A reader's key vouched for on ReadAll is still refused AppendEvents."""
    key = await _accepted_key(mesh, "reader", ("reader",), calls=3)
    error = await refused_append_after_a_read(mesh.gateway_target, key)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
