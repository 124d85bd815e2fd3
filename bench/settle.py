"""Lets the database finish the upkeep an earlier benchmark left behind before latencies are
measured: a latency section that runs while autovacuum or a checkpoint works through a
million appended rows measures them, not the path it names."""

from __future__ import annotations

import time

import asyncpg


async def settle_database(database_url: str) -> None:
    started = time.perf_counter()
    print("\nsettling the database (vacuum, analyze, checkpoint) ...", end="", flush=True)
    conn = await asyncpg.connect(database_url)
    try:
        # Done now and in the foreground, autovacuum finds nothing left to do later.
        await conn.execute("VACUUM (ANALYZE)", timeout=600)
        await conn.execute("CHECKPOINT", timeout=600)
    finally:
        await conn.close()
    print(f" {time.perf_counter() - started:.0f} s", flush=True)
