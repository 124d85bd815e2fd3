"""Latency and throughput arithmetic for the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    per_second: float

    def __str__(self) -> str:
        return f"p50 {self.p50_ms:6.3f} ms  p99 {self.p99_ms:6.3f} ms  {self.per_second:8.0f}/s"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure_latency(
    call: Callable[[], Awaitable[object]], count: int, warmup: int = 200
) -> Latency:
    """Runs ``call`` sequentially (one in flight) and reports its latency."""
    for _ in range(warmup):
        await call()
    samples = []
    started = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    return Latency(statistics.median(samples), percentile(samples, 0.99), count / elapsed)
