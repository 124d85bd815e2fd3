"""Quiet before a latency section: the database finishes the upkeep an earlier benchmark
left behind, and the machine's cores go idle. A latency section that runs while autovacuum
works through a million appended rows, or while a process just started is still importing,
measures them, not the path it names."""

from __future__ import annotations

import asyncio
import time

import asyncpg

IDLE_SHARE = 0.85  # of all cores' time, over one sampling window
WINDOW_SECONDS = 0.5
MAX_WAIT_SECONDS = 30.0


def _cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all cores since boot (Linux /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields)  # idle + iowait


async def settle_cpu() -> None:
    """Waits (at most MAX_WAIT_SECONDS) until the cores are mostly idle."""
    started = time.perf_counter()
    while time.perf_counter() - started < MAX_WAIT_SECONDS:
        idle, total = _cpu_times()
        await asyncio.sleep(WINDOW_SECONDS)
        idle2, total2 = _cpu_times()
        if total2 > total and (idle2 - idle) / (total2 - total) >= IDLE_SHARE:
            return
    print(f"  (the cores stayed busy for {MAX_WAIT_SECONDS:.0f} s: figures may be noisy)")


async def settle_database(database_url: str) -> None:
    started = time.perf_counter()
    print("\nsettling (vacuum, analyze, checkpoint, idle cores) ...", end="", flush=True)
    conn = await asyncpg.connect(database_url)
    try:
        # Done now and in the foreground, autovacuum finds nothing left to do later.
        await conn.execute("VACUUM (ANALYZE)", timeout=600)
        await conn.execute("CHECKPOINT", timeout=600)
    finally:
        await conn.close()
    await settle_cpu()
    print(f" {time.perf_counter() - started:.0f} s", flush=True)
