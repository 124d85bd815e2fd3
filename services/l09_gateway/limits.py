"""Rate limits with counters in Redis: a token bucket per principal and RPC, and a daily
quota per principal, taken in one atomic script call (one round trip).

A call does not always need the round trip: the script hands out a small lease of tokens (up to
a tenth of a second's worth, a tenth of the burst, and a hundredth of the daily quota), spent
without asking again: by this process for up to ``LEASE_SECONDS``, or by the caller of
:meth:`RateLimiter.check` that takes the lease over, for up to ``HANDED_LEASE_SECONDS`` (Envoy's
workers do, for the calls the rate limit service answers). Leased tokens are taken from Redis
first, so all holders together never admit more than the limits; a lease left unused is lost,
so a caller close to the limit may be admitted slightly less. Tiers with small limits (the
trial tier) get leases of one token: every call asks Redis, and the limits are exact.

While Redis is unreachable each tier decides (``when_store_down``): ``allow`` lets calls
through, ``deny`` refuses them. After a failure Redis is not asked again for
``retry_seconds``, so an outage costs no time per request.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import redis.asyncio as redis
from redis.exceptions import RedisError

from services.kit import get_logger
from services.l09_gateway.policy import Tier

log = get_logger("l09.limits")

LEASE_SECONDS = 0.1
# Longer for a lease handed over: each time its holder runs out, a call pays a hop to this
# process, not just a Redis round trip. The size stays a tenth of a second's worth.
HANDED_LEASE_SECONDS = 0.5
MAX_LEASE = 1000

# KEYS: bucket, daily counter. ARGV: rate, burst, daily limit (0: none), daily ttl, lease.
# Returns {allowed (1/0), tokens left, seconds until a token, calls today, over daily (1/0),
# tokens granted (the call's own and the lease)}.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local daily, daily_ttl, lease = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local used = 0
if daily > 0 then used = tonumber(redis.call('GET', KEYS[2]) or '0') end
if daily > 0 and used >= daily then
  return {0, tostring(tokens), '0', used, 1, 0}
end
if tokens < 1 then
  return {0, tostring(tokens), tostring((1 - tokens) / rate), used, 0, 0}
end
local grant = math.min(lease, math.floor(tokens))
if daily > 0 then grant = math.min(grant, daily - used) end
tokens = tokens - grant
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
if daily > 0 then
  used = redis.call('INCRBY', KEYS[2], grant)
  if used == grant then redis.call('EXPIRE', KEYS[2], daily_ttl) end
end
return {1, tostring(tokens), '0', used, 0, grant}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    tier: Tier
    remaining: int  # calls left in the bucket (or today, when the quota is the limit)
    retry_after: float  # seconds until a call would be allowed (0 when allowed)
    quota_exceeded: bool = False
    store_down: bool = False
    # Tokens granted beyond this call for the caller to spend within HANDED_LEASE_SECONDS,
    # when it took the lease over (``hand_over``); otherwise this process keeps them.
    lease: int = 0

    @property
    def wait_seconds(self) -> int:
        """What ``retry-after`` tells a refused caller: whole seconds, at least one."""
        return max(1, math.ceil(self.retry_after))

    @property
    def message(self) -> str:
        if self.allowed:
            return ""
        if self.store_down:
            return f"rate limits cannot be checked right now (tier {self.tier.name}): retry later"
        if self.quota_exceeded:
            return f"daily quota of {self.tier.daily} calls used up (tier {self.tier.name})"
        return (
            f"over the rate limit of {self.tier.rate:g}/s, burst {self.tier.burst} "
            f"(tier {self.tier.name})"
        )


@dataclass(slots=True)
class _Lease:
    left: int  # tokens this process may still spend without asking Redis
    expires: float  # time.monotonic()
    bucket_left: int  # tokens left in the shared bucket when it was granted


@dataclass(frozen=True, slots=True)
class _Taken:
    allowed: bool  # at least one token granted
    remaining: int  # tokens left in the bucket (or today), after the grant
    wait: float  # seconds until a token, when none was granted
    granted: int  # tokens granted: the call's own and the lease


def lease_size(tier: Tier) -> int:
    """Tokens to take per round trip: 1 (exact) for small limits."""
    rate, burst = (tier.rate, tier.burst) if tier.rate else (1e9, 10**9)
    daily_share = tier.daily // 100 if tier.daily else MAX_LEASE
    return max(1, min(int(rate * LEASE_SECONDS), burst // 10, daily_share, MAX_LEASE))


def _seconds_to_midnight(now: datetime) -> float:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


class RateLimiter:
    def __init__(self, client: redis.Redis, retry_seconds: float = 1.0) -> None:
        self._client = client
        self._script = client.register_script(_SCRIPT)
        self._retry_seconds = retry_seconds
        self._down_until = 0.0
        self._leases: dict[tuple[str, str, str], _Lease] = {}

    @classmethod
    def from_url(cls, url: str, timeout: float = 0.1) -> RateLimiter:
        client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
        )
        return cls(client)

    async def close(self) -> None:
        await self._client.aclose()

    async def check(
        self,
        tier: Tier,
        principal: str,
        rpc: str,
        *,
        hand_over: bool = False,
        single: bool = False,
    ) -> Decision:
        """Takes a token for this call. With ``hand_over`` a lease Redis grants goes to the
        caller (``Decision.lease``) instead of being kept here; ``single`` takes the call's
        token only (the caller already waits for a lease)."""
        if tier.unlimited:
            return Decision(True, tier, remaining=0, retry_after=0)
        clock = time.monotonic()
        key = (tier.name, principal, rpc)
        lease = self._leases.get(key)
        if lease is not None and lease.left > 0 and lease.expires > clock:
            lease.left -= 1
            calls_left = min(lease.bucket_left + lease.left, tier.most_calls_left)
            return Decision(True, tier, calls_left, retry_after=0)
        taken = await self._take(tier, principal, rpc, 1 if single else lease_size(tier))
        if isinstance(taken, Decision):
            return taken
        leased = taken.granted - 1 if taken.allowed else 0
        if leased > 0 and not hand_over:
            self._remember(key, _Lease(leased, clock + LEASE_SECONDS, taken.remaining))
        # Calls left counts the lease: it is spent before Redis is asked again.
        return Decision(
            taken.allowed,
            tier,
            min(taken.remaining + leased, tier.most_calls_left),
            taken.wait,
            lease=leased if hand_over else 0,
        )

    async def renew(self, tier: Tier, principal: str, rpc: str) -> Decision:
        """The next lease for a holder whose current one paid for this call: whatever the
        bucket can give, none when it is empty. The call itself is never refused."""
        if tier.unlimited:
            return Decision(True, tier, remaining=0, retry_after=0)
        taken = await self._take(tier, principal, rpc, lease_size(tier))
        if isinstance(taken, Decision):  # over the daily quota, or Redis down: no lease
            return replace(taken, allowed=True, retry_after=0)
        calls_left = min(taken.remaining + taken.granted, tier.most_calls_left)
        return Decision(True, tier, calls_left, 0, lease=taken.granted)

    async def _take(self, tier: Tier, principal: str, rpc: str, size: int) -> _Taken | Decision:
        """Up to ``size`` tokens from Redis (one round trip); a refusal by the daily quota or
        an unreachable Redis comes back as the call's decision."""
        now = datetime.now(UTC)
        if time.monotonic() < self._down_until:
            return self._store_down(tier)
        rate, burst = (tier.rate, tier.burst) if tier.rate else (1e9, 10**9)
        try:
            allowed, tokens, wait, used, over_daily, granted = await self._script(
                keys=[f"rl:{{{principal}}}:{rpc}", f"rlq:{{{principal}}}:{now:%Y%m%d}"],
                args=[rate, burst, tier.daily, 2 * 86400, size],
            )
        except (RedisError, OSError) as error:
            self._down_until = time.monotonic() + self._retry_seconds
            log.warning("limits.store_down", error=str(error), policy=tier.when_store_down)
            return self._store_down(tier)
        if over_daily:
            return Decision(False, tier, 0, _seconds_to_midnight(now), quota_exceeded=True)
        remaining = math.floor(float(tokens))
        if tier.daily:
            remaining = min(remaining, tier.daily - int(used))
        return _Taken(bool(allowed), max(remaining, 0), float(wait), int(granted))

    def _remember(self, key: tuple[str, str, str], lease: _Lease) -> None:
        clock = time.monotonic()
        held = self._leases.get(key)
        if held is not None and held.left > 0 and held.expires > clock:
            # Leases granted to concurrent calls add up: each was taken from the bucket.
            lease.left += held.left
        elif len(self._leases) > 10_000:  # forget expired leases of callers gone quiet
            self._leases = {k: v for k, v in self._leases.items() if v.expires > clock}
        self._leases[key] = lease

    def _store_down(self, tier: Tier) -> Decision:
        allowed = tier.when_store_down == "allow"
        return Decision(allowed, tier, 0, 0 if allowed else self._retry_seconds, store_down=True)
