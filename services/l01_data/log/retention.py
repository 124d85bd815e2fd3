"""Retention: deletes the events a stream's limits hide (max count, max age).

A stream's limits hide older events from ReadStream at once; this sweep then
removes them from the log for good, so a stream with limits stops growing.
Only events the outbox has already published are removed (Redis consumers
never miss one), and one L01 process sweeps at a time (a transaction-scoped
advisory lock), a bounded batch per transaction. The log keeps its order:
readers go by "after the last position seen", which a hole does not disturb.
An event id removed this way may be used again.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

log = structlog.get_logger("l01.retention")

_SWEEP_LOCK = 0x4C303152  # "L01R"
BATCH = 5_000

_DELETE_HIDDEN = """
WITH doomed AS (
    SELECT e.global_position
      FROM streams s
      JOIN events e ON e.stream_id = s.stream_id
     WHERE (s.max_count > 0 OR s.max_age IS NOT NULL)
       AND ((s.max_count > 0 AND e.stream_version <= s.last_version - s.max_count)
            OR (s.max_age IS NOT NULL AND e.recorded_at < now() - s.max_age))
       AND e.global_position <= (SELECT last_published FROM outbox_checkpoint WHERE id = 1)
     LIMIT $1
)
DELETE FROM events WHERE global_position IN (SELECT global_position FROM doomed)
"""


async def sweep_once(pool: asyncpg.Pool) -> int:
    """Deletes hidden, published events until none is left; returns how many."""
    removed = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _SWEEP_LOCK):
                return removed  # another L01 process is sweeping
            status = await conn.execute(_DELETE_HIDDEN, BATCH)
        count = int(status.split()[-1])
        removed += count
        if count < BATCH:
            return removed


async def sweep_forever(pool: asyncpg.Pool, every_seconds: float) -> None:
    """Runs until cancelled; a failed sweep is logged and retried at the next interval."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            removed = await sweep_once(pool)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("retention.sweep_failed", error=type(exc).__name__, detail=str(exc)[:200])
            continue
        if removed:
            log.info("retention.removed", events=removed)
