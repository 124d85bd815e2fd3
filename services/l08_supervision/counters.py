"""How often a principal asked for an action: the last minute, and today (UTC). Policies
read them from the context (``calls_last_minute``, ``calls_today``) to express rates and
quotas. Counted in this L08 process's memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class _Window:
    minute: deque[float] = field(default_factory=deque)
    day: int = -1
    today: int = 0


class CallCounters:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}

    def count(self, principal: str, action: str) -> tuple[int, int]:
        """Records one request; returns (requests in the last 60 s, requests today)."""
        now = self._clock()
        window = self._windows.setdefault((principal, action), _Window())
        while window.minute and window.minute[0] <= now - 60:
            window.minute.popleft()
        window.minute.append(now)
        day = int(now // 86400)
        if day != window.day:
            window.day, window.today = day, 0
        window.today += 1
        return len(window.minute), window.today


def clock_context(now: float) -> dict[str, int]:
    moment = datetime.fromtimestamp(now, UTC)
    return {"hour": moment.hour, "weekday": moment.isoweekday()}
