"""Rate limits and budgets, in Redis so every L04 process shares them.

Token buckets (requests/min and tokens/min) per agent of a tenant and per provider are taken
all-or-nothing by one Lua script on Redis's clock. Budgets are hashes an operator sets,
``l04:budget:tenant:<tenant>`` or ``l04:budget:agent:<tenant>#<agent>`` (tenancy.py) with
``limit_tokens`` and/or ``limit_usd``; the usage recorder adds to their ``spent_tokens`` /
``spent_usd``. The same round trip can read one more key once the request is admitted (the
exact cache's answer): every Redis round trip is a visible part of the gateway's latency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as redis

from services.kit import PlatformError
from services.l04_models import errors
from services.l04_models.tenancy import AGENT_SEPARATOR, agent_owner

# One round trip decides a request. KEYS: ARGV[1] budget hashes, then bucket hashes, then
# (when ARGV[2] is 1) a key to read once admitted. ARGV[3..]: a (capacity, refill per
# second, cost) triple per bucket. Budgets are checked first; buckets are taken
# all-or-nothing. Returns {"ok"} or {"ok", value}, {"budget", i, spent, limit, unit} or
# {"rate", j, seconds until bucket j has enough}.
ADMIT = """
local budgets = tonumber(ARGV[1])
local fetch = tonumber(ARGV[2])
local buckets = #KEYS - budgets - fetch
for i = 1, budgets do
  local b = redis.call('HMGET', KEYS[i], 'limit_tokens', 'limit_usd', 'spent_tokens', 'spent_usd')
  local limit_tokens, limit_usd = tonumber(b[1]), tonumber(b[2])
  local spent_tokens, spent_usd = tonumber(b[3]) or 0, tonumber(b[4]) or 0
  if limit_tokens and spent_tokens >= limit_tokens then
    return {'budget', i, tostring(spent_tokens), tostring(limit_tokens), 'tokens'}
  end
  if limit_usd and spent_usd >= limit_usd then
    return {'budget', i, tostring(spent_usd), tostring(limit_usd), 'usd'}
  end
end
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local levels = {}
for j = 1, buckets do
  local key = KEYS[budgets + j]
  local cap = tonumber(ARGV[j * 3])
  local rate = tonumber(ARGV[j * 3 + 1])
  local cost = tonumber(ARGV[j * 3 + 2])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1]) or cap
  local ts = tonumber(state[2]) or now
  tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
  if tokens < cost then
    return {'rate', j, tostring((cost - tokens) / rate)}
  end
  levels[j] = tokens - cost
end
for j = 1, buckets do
  local cap = tonumber(ARGV[j * 3])
  local rate = tonumber(ARGV[j * 3 + 1])
  redis.call('HSET', KEYS[budgets + j], 'tokens', tostring(levels[j]), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[budgets + j], math.ceil(cap / rate * 1000) + 1000)
end
if fetch == 1 then
  local value = redis.call('GET', KEYS[#KEYS])
  if value then
    return {'ok', value}
  end
end
return {'ok'}
"""


@dataclass(frozen=True)
class Bucket:
    key: str
    per_minute: int
    cost: float
    what: str  # for the error message, e.g. "agent a1 requests/min"


def budget_key(scope: str, owner: str) -> str:
    return f"l04:budget:{scope}:{owner}"


class Limits:
    def __init__(
        self, client: redis.Redis, *,
        agent_requests: int, agent_tokens: int, provider_requests: int, provider_tokens: int,
    ) -> None:  # fmt: skip
        self._redis = client
        self._admit = client.register_script(ADMIT)
        self._agent = (agent_requests, agent_tokens)
        self._provider = (provider_requests, provider_tokens)

    async def admit(
        self, buckets: list[Bucket], owners: Sequence[tuple[str, str]] = (), *,
        fetch: str | None = None,
    ) -> bytes | None:  # fmt: skip
        """E4009 if a budget of ``owners`` ((scope, id) pairs) is spent, else takes from
        every bucket or from none (E4008 with retry_after). Once admitted, returns the value
        of the key ``fetch`` (None when absent or not asked for)."""
        owners = [(scope, owner) for scope, owner in owners if owner]  # type: ignore[assignment]
        live = [b for b in buckets if b.per_minute > 0]
        if not live and not owners and fetch is None:
            return None
        args: list[float] = [len(owners), 0 if fetch is None else 1]
        for bucket in live:
            args += [bucket.per_minute, bucket.per_minute / 60.0, bucket.cost]
        keys = [budget_key(scope, owner) for scope, owner in owners] + [b.key for b in live]
        if fetch is not None:
            keys.append(fetch)
        reply = await self._admit(keys=keys, args=args)
        if reply[0] in (b"ok", "ok"):
            return reply[1] if len(reply) > 1 else None
        verdict = [v.decode() if isinstance(v, bytes) else v for v in reply]
        if verdict[0] == "budget":
            scope, owner = owners[int(verdict[1]) - 1]
            spent, limit = float(verdict[2]), float(verdict[3])
            amount = (
                f"{spent:.0f} of {limit:.0f} tokens" if verdict[4] == "tokens"
                else f"${spent:.4f} of ${limit:.4f}"
            )  # fmt: skip
            raise _budget_error(scope, owner, amount)
        raise _rate_error(live[int(verdict[1]) - 1], float(verdict[2]))

    def agent_buckets(self, tenant: str, agent: str, tokens: int) -> list[Bucket]:
        """The agent's buckets; calls that name no agent share their tenant's."""
        owner = agent_owner(tenant, agent) or f"{tenant}{AGENT_SEPARATOR}"
        who = f"agent {agent!r} of tenant {tenant!r}" if agent else f"tenant {tenant!r}"
        requests, per_minute_tokens = self._agent
        return [
            Bucket(f"l04:rate:agent:{owner}:requests", requests, 1, f"{who} requests/min"),
            Bucket(f"l04:rate:agent:{owner}:tokens", per_minute_tokens, tokens,
                   f"{who} tokens/min"),
        ]  # fmt: skip

    def provider_buckets(self, provider: str, tokens: int) -> list[Bucket]:
        requests, per_minute_tokens = self._provider
        return [
            Bucket(f"l04:rate:provider:{provider}:requests", requests, 1,
                   f"provider {provider} requests/min"),
            Bucket(f"l04:rate:provider:{provider}:tokens", per_minute_tokens, tokens,
                   f"provider {provider} tokens/min"),
        ]  # fmt: skip


def _budget_error(scope: str, owner: str, spent: str) -> PlatformError:
    return PlatformError(
        errors.BUDGET_EXCEEDED,
        f"the budget of {scope} {owner!r} is exhausted ({spent})",
        metadata={"scope": scope, "owner": owner},
    )


def _rate_error(bucket: Bucket, seconds: float) -> PlatformError:
    if bucket.cost > bucket.per_minute:
        return PlatformError(
            errors.RATE_LIMITED,
            f"{bucket.what}: this request alone needs {bucket.cost:.0f}, more than the "
            f"limit of {bucket.per_minute} per minute",
        )
    return PlatformError(
        errors.RATE_LIMITED,
        f"{bucket.what} limit ({bucket.per_minute}/min) reached; retry in {seconds:.1f}s",
        metadata={"retry_after_seconds": f"{math.ceil(seconds * 10) / 10}"},
    )
