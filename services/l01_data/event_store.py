"""The event store: atomic, optimistic, idempotent appends and ordered reads.

How positions stay gapless and in commit order: every append first locks the
single ``log_head`` row (``SELECT ... FOR UPDATE``) and holds that lock until it
commits. Positions are therefore handed out one transaction at a time, and a
transaction can only take the lock after the previous holder's commit is
visible. A reader that sees position N has necessarily been able to see every
position below N, so a subscriber that reads "everything after my checkpoint"
can never skip a slow transaction that commits later with a lower position —
the gap problem of sequence-ordered logs does not arise. The price is that
appends are serialised; batching events per append is how throughput scales.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from services.kit.errors import PlatformError
from services.l01_data import errors
from services.l01_data.database import translate_outages
from services.l01_data.events import (
    MAX_PAGE_BYTES,
    NO_STREAM,
    AppendResult,
    LogPage,
    NewEvent,
    RecordedEvent,
    StreamPage,
)
from services.l01_data.log_head import LogHead

NOTIFY_CHANNEL = "agentic_events"
# A filtered ReadAll scans at most this many positions per call, so a rare
# type prefix cannot turn one request into a scan of the whole log.
FILTER_SCAN_WINDOW = 50_000

_COLUMNS = "global_position, stream_id, stream_version, event_id, type, data, metadata, recorded_at"

_LOCK_HEAD = "SELECT last_position FROM log_head WHERE id = 1 FOR UPDATE"

_STREAM_STATE = """
SELECT (SELECT last_version FROM streams WHERE stream_id = $1) AS last_version,
       array(SELECT row(event_id, stream_id, stream_version, global_position)
               FROM events WHERE event_id = ANY($2::uuid[])) AS reused
"""

_WRITE = """
WITH new AS (
    SELECT t.id, t.type, t.data, t.metadata, t.n
      FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[])
           WITH ORDINALITY AS t(id, type, data, metadata, n)
), inserted AS (
    INSERT INTO events (global_position, stream_id, stream_version, event_id, type, data, metadata)
    SELECT $7 + new.n - 1, $1, $6 + new.n - 1, new.id, new.type,
           new.data::jsonb, new.metadata::jsonb
      FROM new
    RETURNING recorded_at
), head AS (
    UPDATE log_head SET last_position = $7 + $8 - 1 WHERE id = 1
), stream AS (
    INSERT INTO streams (stream_id, last_version) VALUES ($1, $6 + $8 - 1)
    ON CONFLICT (stream_id) DO UPDATE SET last_version = EXCLUDED.last_version
)
SELECT pg_notify($9, ($7 + $8 - 1)::text)
"""

_READ_STREAM = f"""
SELECT s.last_version AS stream_last_version, e.*
  FROM (SELECT $1::text AS stream_id) q
  LEFT JOIN streams s ON s.stream_id = q.stream_id
  LEFT JOIN LATERAL (
      SELECT {_COLUMNS} FROM events
       WHERE stream_id = q.stream_id AND stream_version >= $2
       ORDER BY stream_version LIMIT $3
  ) e ON true
"""

_READ_ALL = f"""
SELECT h.last_position AS head, e.*
  FROM log_head h
  LEFT JOIN LATERAL (
      SELECT {_COLUMNS} FROM events
       WHERE global_position >= $1 AND global_position <= $4
         AND ($3 = '' OR starts_with(type, $3))
       ORDER BY global_position LIMIT $2
  ) e ON true
 WHERE h.id = 1
"""


def event_from_row(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(
        id=row["event_id"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        global_position=row["global_position"],
        type=row["type"],
        data_json=row["data"],
        metadata_json=row["metadata"],
        recorded_at=row["recorded_at"],
    )


def _bounded(rows: Sequence[asyncpg.Record]) -> tuple[list[RecordedEvent], bool]:
    """Events of ``rows`` up to MAX_PAGE_BYTES (at least one); True if cut short."""
    events: list[RecordedEvent] = []
    size = 0
    for row in rows:
        if row["global_position"] is None:  # the LEFT JOIN's empty side
            break
        size += len(row["data"]) + len(row["metadata"])
        if events and size > MAX_PAGE_BYTES:
            return events, True
        events.append(event_from_row(row))
    return events, False


class EventStore:
    """Appends to and reads from the ``events`` table through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, head: LogHead) -> None:
        self._pool = pool
        self._head = head

    async def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> AppendResult:
        """Appends atomically; a retry with the same event ids returns the first result."""
        ids = [e.id for e in events]
        async with translate_outages(), self._pool.acquire() as conn, conn.transaction():
            head = await conn.fetchval(_LOCK_HEAD)
            state = await conn.fetchrow(_STREAM_STATE, stream_id, ids)
            if state["reused"]:
                return _replayed(stream_id, ids, state["reused"])
            current = NO_STREAM if state["last_version"] is None else state["last_version"]
            _check_expected(stream_id, expected_version, current)
            first_version, first_position = current + 1, head + 1
            await conn.execute(
                _WRITE,
                stream_id,
                ids,
                [e.type for e in events],
                [e.data_json for e in events],
                [e.metadata_json for e in events],
                first_version,
                first_position,
                len(events),
                NOTIFY_CHANNEL,
            )
        last_position = first_position + len(events) - 1
        self._head.advance(last_position)
        return AppendResult(
            stream_id=stream_id,
            first_version=first_version,
            last_version=first_version + len(events) - 1,
            first_position=first_position,
            last_position=last_position,
            event_ids=tuple(ids),
        )

    async def read_stream(self, stream_id: str, from_version: int, count: int) -> StreamPage:
        async with translate_outages():
            rows = await self._pool.fetch(_READ_STREAM, stream_id, max(from_version, 0), count + 1)
        last_version = rows[0]["stream_last_version"]
        last_version = NO_STREAM if last_version is None else last_version
        events, cut = _bounded(rows[:count])
        more = cut or len(rows) > count
        next_version = events[-1].stream_version + 1 if events else max(from_version, 0)
        return StreamPage(events, next_version, last_version, end_of_stream=not more)

    async def read_all(self, from_position: int, count: int, type_prefix: str = "") -> LogPage:
        start = max(from_position, 1)
        scan_end = start + FILTER_SCAN_WINDOW - 1 if type_prefix else 2**62
        async with translate_outages():
            rows = await self._pool.fetch(_READ_ALL, start, count + 1, type_prefix, scan_end)
        head = rows[0]["head"]
        events, cut = _bounded(rows[:count])
        if cut or len(rows) > count:
            return LogPage(events, events[-1].global_position + 1, end_of_log=False)
        scanned_to = min(head, scan_end)
        return LogPage(events, max(scanned_to + 1, start), end_of_log=scanned_to >= head)

    async def head_position(self) -> int:
        async with translate_outages():
            position: int = await self._pool.fetchval("SELECT last_position FROM log_head")
        return position


def _check_expected(stream_id: str, expected: int | None, current: int) -> None:
    if expected is None or expected == current:
        return
    wanted = "no stream" if expected == NO_STREAM else f"version {expected}"
    actual = "no stream" if current == NO_STREAM else f"version {current}"
    raise PlatformError(
        errors.WRONG_EXPECTED_VERSION,
        f"stream {stream_id!r} is at {actual}, expected {wanted}",
        field="expected_version",
        metadata={
            "stream_id": stream_id,
            "actual_version": str(current),
            "expected_version": str(expected),
        },
    )


def _replayed(
    stream_id: str, ids: Sequence[uuid.UUID], reused: Sequence[asyncpg.Record]
) -> AppendResult:
    """The original result when every id was written by one earlier identical append."""
    found = {r[0]: r for r in reused}
    rows = [found.get(i) for i in ids]
    same_append = (
        all(r is not None for r in rows)
        and all(r[1] == stream_id for r in rows)  # type: ignore[index]
        and [r[2] for r in rows] == list(range(rows[0][2], rows[0][2] + len(ids)))  # type: ignore[index]
    )
    if not same_append:
        first = next(r for r in reused)
        raise PlatformError(
            errors.EVENT_ID_REUSED,
            f"event id {first[0]} was already written to stream {first[1]!r} at version "
            f"{first[2]} by a different append",
            field="events.id",
            metadata={"event_id": str(first[0]), "stream_id": first[1]},
        )
    first_row, last_row = rows[0], rows[-1]
    return AppendResult(
        stream_id=stream_id,
        first_version=first_row[2],  # type: ignore[index]
        last_version=last_row[2],  # type: ignore[index]
        first_position=first_row[3],  # type: ignore[index]
        last_position=last_row[3],  # type: ignore[index]
        event_ids=tuple(ids),
    )
