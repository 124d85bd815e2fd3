"""A circuit breaker per provider: closed -> open -> half-open probe -> closed.

Hand-written rather than purgatory/aiobreaker: routing must read a breaker's state without
making a call (to skip open providers and report availability), half-open must admit a
single probe, and tests need an injectable clock.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allows_call(self) -> bool:
        """Closed: yes. Open: no. Half-open: yes for one probe at a time."""
        state = self.state
        return state is BreakerState.CLOSED or (
            state is BreakerState.HALF_OPEN and not self._probing
        )

    def before_call(self) -> bool:
        """Claims the call; False when the breaker refuses it."""
        if not self.allows_call():
            return False
        if self.state is BreakerState.HALF_OPEN:
            self._probing = True
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        if self.state is BreakerState.HALF_OPEN:
            self._open()  # the probe failed: another full wait
            return
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._open()

    def release(self) -> None:
        """The claimed call ended without a verdict on the provider (e.g. bad request)."""
        self._probing = False

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._probing = False


class Breakers:
    """One breaker per provider name, created on first use."""

    def __init__(
        self, failure_threshold: int, reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._make = lambda: CircuitBreaker(failure_threshold, reset_seconds, clock)
        self._breakers: dict[str, CircuitBreaker] = {}

    def __getitem__(self, provider: str) -> CircuitBreaker:
        if provider not in self._breakers:
            self._breakers[provider] = self._make()
        return self._breakers[provider]
