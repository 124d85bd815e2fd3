"""Rate limits on the real Redis: exact token buckets, daily quotas, and Redis outages."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from google.protobuf.json_format import MessageToDict

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


class _CountedScript:
    """The limiter's Redis script, counting its calls (they still reach Redis)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.calls = 0
        self._script = limiter._script
        limiter._script = self  # type: ignore[assignment]

    async def __call__(self, **kwargs: object) -> object:
        self.calls += 1
        return await self._script(**kwargs)


async def test_a_lease_counts_in_the_calls_left(limiter: RateLimiter) -> None:
    who, limits = principal(), tier(rate=100, burst=100)
    decisions = [await limiter.check(limits, who, RPC) for _ in range(3)]
    # 10 tokens taken from the bucket of 100 with the first call: 90 there, 9 held here.
    assert [d.remaining for d in decisions] == [99, 98, 97]
    assert all(d.lease == 0 for d in decisions)


async def test_a_handed_over_lease_is_not_kept(limiter: RateLimiter) -> None:
    """The rate limit service hands its leases to Envoy: each of its calls asks Redis, and
    each grant leaves the bucket."""
    who, limits = principal(), tier(rate=100, burst=100)
    script = _CountedScript(limiter)
    first = await limiter.check(limits, who, RPC, hand_over=True)
    second = await limiter.check(limits, who, RPC, hand_over=True)
    assert script.calls == 2
    assert (first.lease, second.lease) == (9, 9)
    assert first.remaining == 99
    assert 89 <= second.remaining < 91  # 80 in the bucket (plus a refill) and 9 leased


async def test_leases_granted_to_concurrent_calls_add_up(limiter: RateLimiter) -> None:
    """Calls that miss together each take a lease from Redis; none of it is thrown away."""
    who, limits = principal(), tier(rate=100, burst=100)
    script = _CountedScript(limiter)
    await asyncio.gather(limiter.check(limits, who, RPC), limiter.check(limits, who, RPC))
    assert script.calls == 2
    for _ in range(18):  # the two leases: 9 tokens each
        assert (await limiter.check(limits, who, RPC)).allowed
    assert script.calls == 2
    await limiter.check(limits, who, RPC)
    assert script.calls == 3


def test_an_answer_with_a_lease_carries_it_to_envoy() -> None:
    limits = Tier("standard", 100, 1000, 0, "allow")
    answer = response_for(Decision(True, limits, remaining=999, retry_after=0, lease=9))
    lease = MessageToDict(answer.dynamic_metadata)
    assert lease == {
        "lease": 9,
        "ttl_ms": 500,
        "remaining": 999,
        "limit": "100, 100;w=1",
        "most": 1000,
    }
    plain = response_for(Decision(True, limits, remaining=999, retry_after=0))
    assert not plain.HasField("dynamic_metadata")


async def test_a_single_call_takes_its_own_token_only(limiter: RateLimiter) -> None:
    """Envoy's calls while it waits for a lease say so: they take a token each, or calls
    arriving together would each take a lease and empty the bucket."""
    who, limits = principal(), tier(rate=100, burst=100)
    decisions = [
        await limiter.check(limits, who, RPC, hand_over=True, single=True) for _ in range(5)
    ]
    assert all(d.allowed and d.lease == 0 for d in decisions)
    assert 95 <= decisions[-1].remaining < 97  # 100 - 5, plus a refill


async def test_a_renewal_is_never_refused_and_takes_what_the_bucket_has(
    limiter: RateLimiter,
) -> None:
    """Envoy asks for the next lease on a call the current one paid for: that call passes
    even when the bucket is empty, and the lease is whatever is left in it."""
    who, limits = principal(), tier(rate=100, burst=20)
    assert lease_size(limits) == 2
    renewed = await limiter.renew(limits, who, RPC)
    assert renewed.allowed and renewed.lease == 2  # all of it: the call itself is paid
    assert renewed.remaining == 20  # 18 in the bucket and the 2 leased
    while True:
        emptied = time.monotonic()
        if not (await limiter.check(limits, who, RPC)).allowed:
            break
    empty = await limiter.renew(limits, who, RPC)
    # Nothing is left but what refilled since the bucket was found empty (on a busy machine
    # that may be a token or two), and the part of a token that did not pay for a call: a
    # refused call found less than one token, not none.
    refilled = (time.monotonic() - emptied) * limits.rate
    assert empty.allowed and empty.lease <= int(refilled + 1)


def test_calls_left_never_show_more_than_the_bucket_or_the_quota() -> None:
    assert Tier("standard", 100, 1000, 1_000_000, "allow").most_calls_left == 1000
    assert Tier("small-quota", 100, 1000, 50, "allow").most_calls_left == 50
    assert Tier("quota-only", 0, 0, 50, "allow").most_calls_left == 50
