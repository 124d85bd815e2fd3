"""How often a principal asked for an action: the last minute, and today (UTC). Policies
read them from the context (``calls_last_minute``, ``calls_today``) to express rates and
quotas.

Counted in Redis, so every L08 process sees the same counts and a restart forgets none: the
minute is a sorted set of request times (trimmed to 60 s on each request), the day a counter
per UTC day. Each request is one command: the script ``counters.lua`` (atomic, as Redis runs a
script alone).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources

import redis.asyncio as redis
from redis.exceptions import RedisError

from services.kit import PlatformError
from services.l08_supervision import errors

_PREFIX = "l08:calls"
_DAY_SECONDS = 86400
_SCRIPT = resources.files(__package__).joinpath("counters.lua").read_text()


def _subject(principal: str, action: str) -> str:
    # Actions are identifiers: the first "#" ends the action, whatever the principal holds.
    return f"{action}#{principal}"


class CallCounters:
    def __init__(self, client: redis.Redis, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._count = client.register_script(_SCRIPT)  # EVALSHA, loaded again after a restart

    async def count(self, principal: str, action: str) -> tuple[int, int]:
        """Records one request; returns (requests in the last 60 s, requests today)."""
        now = self._clock()
        subject = _subject(principal, action)
        minute = f"{_PREFIX}:minute:{subject}"
        today = f"{_PREFIX}:day:{int(now // _DAY_SECONDS)}:{subject}"
        try:
            in_minute, in_day = await self._count(
                keys=[minute, today],
                args=[
                    repr(now),
                    repr(now - 60),
                    f"{now!r}:{uuid.uuid4().hex[:8]}",
                    2 * _DAY_SECONDS,
                ],
            )
        except (RedisError, OSError) as error:
            # Fail closed: a rate or quota policy cannot be judged without its counts.
            raise PlatformError(
                errors.COUNTERS_UNAVAILABLE, f"the call counters (Redis) are unreachable: {error}"
            ) from None
        return int(in_minute), int(in_day)


def clock_context(now: float) -> dict[str, int]:
    moment = datetime.fromtimestamp(now, UTC)
    return {"hour": moment.hour, "weekday": moment.isoweekday()}
