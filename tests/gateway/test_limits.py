"""Rate limits on the real Redis: exact token buckets, daily quotas, and Redis outages."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from services.l09_gateway.limits import Decision, RateLimiter, lease_size
from services.l09_gateway.policy import Tier
from services.l09_gateway.ratelimit import Response, response_for
from services.launcher.mesh import free_port
from tests.conftest import RunningMesh

pytestmark = [pytest.mark.integration, pytest.mark.l09]

RPC = "agentic.data.v1.EventStoreService/ReadAll"


def tier(rate: float = 1, burst: int = 3, daily: int = 0, down: str = "allow") -> Tier:
    return Tier(f"t-{down}", rate, burst, daily, down)  # type: ignore[arg-type]


def principal() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def limiter(mesh: RunningMesh) -> AsyncIterator[RateLimiter]:
    limiter = RateLimiter.from_url(mesh.redis_url)
    yield limiter
    await limiter.close()


async def test_burst_calls_pass_then_the_next_waits_for_a_token(limiter: RateLimiter) -> None:
    who, limits = principal(), tier(rate=2, burst=3)
    decisions = [await limiter.check(limits, who, RPC) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    refused = decisions[3]
    assert 0.4 < refused.retry_after <= 0.5  # one token at 2/s
    await asyncio.sleep(refused.retry_after + 0.02)
    assert (await limiter.check(limits, who, RPC)).allowed
    assert not (await limiter.check(limits, who, RPC)).allowed


async def test_buckets_are_per_principal_and_rpc(limiter: RateLimiter) -> None:
    who, limits = principal(), tier(rate=1, burst=1)
    assert (await limiter.check(limits, who, RPC)).allowed
    assert not (await limiter.check(limits, who, RPC)).allowed
    assert (await limiter.check(limits, who, RPC + "Other")).allowed
    assert (await limiter.check(limits, principal(), RPC)).allowed


async def test_the_daily_quota_counts_every_rpc_of_a_principal(limiter: RateLimiter) -> None:
    who, limits = principal(), tier(rate=100, burst=100, daily=3)
    allowed = [(await limiter.check(limits, who, f"{RPC}{i}")).allowed for i in range(4)]
    assert allowed == [True, True, True, False]
    refused = await limiter.check(limits, who, "x")
    assert refused.quota_exceeded and "daily quota of 3" in refused.message
    assert 0 < refused.retry_after <= 86400


async def test_an_unlimited_tier_never_asks_redis() -> None:
    limiter = RateLimiter.from_url(f"redis://127.0.0.1:{free_port()}/0")
    decision = await limiter.check(Tier("internal", 0, 0, 0, "deny"), "p", RPC)
    assert decision.allowed and not decision.store_down
    await limiter.close()


async def test_redis_down_fails_open_or_closed_per_tier() -> None:
    limiter = RateLimiter.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        open_tier = await limiter.check(tier(down="allow"), principal(), RPC)
        assert open_tier.allowed and open_tier.store_down
        started = time.perf_counter()
        closed_tier = await limiter.check(tier(down="deny"), principal(), RPC)
        assert not closed_tier.allowed and closed_tier.store_down
        assert "cannot be checked" in closed_tier.message
        # Redis is not asked again for a while: the outage costs no time per call.
        assert time.perf_counter() - started < 0.01
    finally:
        await limiter.close()


def test_an_over_limit_answer_carries_retry_after_and_the_code() -> None:
    refused = response_for(Decision(False, tier(rate=1, burst=5), remaining=0, retry_after=0.3))
    assert refused.overall_code == Response.OVER_LIMIT
    headers = {h.key: h.value for h in refused.response_headers_to_add}
    assert headers["retry-after"] == "1"
    assert "grpc-status-details-bin" in headers
    assert refused.statuses[0].current_limit.requests_per_unit == 1
    assert b"over the rate limit" in refused.raw_body


async def test_leases_never_let_two_instances_exceed_the_bucket(mesh: RunningMesh) -> None:
    first, second = RateLimiter.from_url(mesh.redis_url), RateLimiter.from_url(mesh.redis_url)
    who, limits = principal(), tier(rate=100, burst=100)
    assert lease_size(limits) == 10
    try:
        started = time.monotonic()
        allowed = 0
        for i in range(300):
            decision = await (first if i % 2 else second).check(limits, who, RPC)
            allowed += decision.allowed
        elapsed = time.monotonic() - started
    finally:
        await first.close()
        await second.close()
    assert 80 <= allowed <= 100 + 100 * elapsed + 1


def test_small_limits_lease_one_token_so_they_are_exact() -> None:
    assert lease_size(Tier("trial", 1, 5, 1000, "deny")) == 1
    assert lease_size(Tier("standard", 100, 1000, 1_000_000, "allow")) == 10
    assert lease_size(Tier("quota-only", 0, 0, 50, "allow")) == 1
