"""L04 circuit breaker states and retry delays, on a controlled clock."""

from __future__ import annotations

import random

import pytest

from services.l04_models.breaker import BreakerState, CircuitBreaker
from services.l04_models.retry import RetryPolicy

pytestmark = [pytest.mark.unit, pytest.mark.l04]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_n_consecutive_failures() -> None:
    breaker = CircuitBreaker(3, 10, Clock())
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allows_call()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.before_call()


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(2, 10, Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_half_open_admits_one_probe_and_closes_on_success() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 10, clock)
    breaker.record_failure()
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.before_call() and not breaker.before_call(), "one probe at a time"
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.before_call()


def test_a_failed_probe_opens_it_for_another_full_wait() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 10, clock)
    breaker.record_failure()
    clock.now += 10
    assert breaker.before_call()
    breaker.record_failure()
    clock.now += 9
    assert breaker.state is BreakerState.OPEN
    clock.now += 1
    assert breaker.state is BreakerState.HALF_OPEN


def test_a_released_probe_lets_the_next_one_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 1, clock)
    breaker.record_failure()
    clock.now += 1
    assert breaker.before_call()
    breaker.release()
    assert breaker.before_call()


def test_backoff_grows_exponentially_with_full_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=6, base_seconds=0.5, max_seconds=4)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 0.5), (2, 1), (3, 2), (4, 4), (5, 4)]:
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8, "jitter spreads over the whole window"


def test_retry_after_is_honoured_with_a_little_jitter() -> None:
    policy = RetryPolicy(max_retries=2, base_seconds=0.4, max_seconds=8)
    delay = policy.delay(1, 3.0, random.Random(2))
    assert delay is not None and 3.0 <= delay <= 3.1


def test_no_retry_past_the_limit_or_for_a_long_retry_after() -> None:
    policy = RetryPolicy(max_retries=2, base_seconds=0.1, max_seconds=5)
    assert policy.delay(3, None, random.Random()) is None
    assert policy.delay(1, 60.0, random.Random()) is None, "the next provider is the better bet"
