"""The event store: atomic, optimistic, idempotent appends and ordered reads.

How positions stay gapless and in commit order: every append first locks the
single ``log_head`` row (``SELECT ... FOR UPDATE``) and holds that lock until it
commits. Positions are therefore handed out one transaction at a time, and a
transaction can only take the lock after the previous holder's commit is
visible. A reader that sees position N has necessarily been able to see every
position below N, so a subscriber that reads "everything after my checkpoint"
can never skip a slow transaction that commits later with a lower position —
the gap problem of sequence-ordered logs does not arise. The price is that
appends are serialised, so each process commits concurrent appends together
(group commit): one committer task takes every append that arrived while the
previous transaction ran and writes them in one transaction, with one fsync.
Each append still succeeds or fails on its own (see append_plan.py). An append
may carry documents (projections of its events), written in the same statement
while the log lock is held. A document change elsewhere locks its row before it
takes the log lock, so both take a transaction-scoped advisory lock on each
document first (``lock_documents``, in one sorted order): whoever holds a
document's row also holds its advisory lock, and the log lock's holder never
waits for a row another writer holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Sequence

import asyncpg
import structlog

from services.kit.errors import PlatformError
from services.l01_data import errors
from services.l01_data.database import translate_outages
from services.l01_data.log.append_plan import (
    AppendRequest,
    DocumentPut,
    GroupPlan,
    StoredId,
    plan_group,
)
from services.l01_data.log.events import (
    MAX_PAGE_BYTES,
    NO_STREAM,
    AppendResult,
    LogPage,
    NewEvent,
    RecordedEvent,
    StreamPage,
)
from services.l01_data.log.head import LogHead

log = structlog.get_logger("l01.event_store")

NOTIFY_CHANNEL = "agentic_events"
# A group stops taking appends past this many events (a single append may exceed it).
MAX_GROUP_EVENTS = 2_000
# A filtered ReadAll scans at most this many positions per call, so a rare
# type prefix cannot turn one request into a scan of the whole log.
FILTER_SCAN_WINDOW = 50_000

_COLUMNS = (
    "global_position, stream_id, stream_version, event_id, type, data, metadata, recorded_at,"
    " data_pb"
)

_LOCK_HEAD = "SELECT last_position FROM log_head WHERE id = 1 FOR UPDATE"

# BEGIN and the lock in one round trip (the simple query protocol runs both).
_BEGIN_AND_LOCK_HEAD = f"BEGIN; {_LOCK_HEAD}"

# Advisory locks of documents: (this class, hashtext of "collection/document"), a key space
# apart from the single-key advisory locks L01 takes elsewhere. Taken in the array's order.
_DOCUMENT_LOCK_CLASS = 1100
_LOCK_DOCUMENTS = (
    "SELECT count(pg_advisory_xact_lock($1, hashtext(k))) FROM unnest($2::text[]) AS k"
)

# Read in a statement after the one that took the lock: under READ COMMITTED each
# statement sees what committed before it started, so this sees the previous lock
# holder's writes (one statement that waited for the lock would not). The row
# with a NULL stream_id is the head.
_GROUP_STATE = """
SELECT NULL AS stream_id, last_position AS version, NULL::uuid AS event_id,
       NULL::bigint AS position, false AS deleted
  FROM log_head WHERE id = 1
UNION ALL
SELECT stream_id, last_version, NULL, NULL, deleted_at IS NOT NULL
  FROM streams WHERE stream_id = ANY($1::text[])
UNION ALL
SELECT stream_id, stream_version, event_id, global_position, false
  FROM events WHERE event_id = ANY($2::uuid[])
"""

_WRITE_GROUP = """
WITH inserted AS (
    INSERT INTO events (global_position, stream_id, stream_version, event_id, type, data, metadata,
                        data_pb)
    SELECT t.position, t.stream_id, t.version, t.id, t.type, t.data::jsonb, t.metadata::jsonb,
           t.data_pb
      FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::text[],
                  $7::text[], $12::bytea[])
           AS t(position, stream_id, version, id, type, data, metadata, data_pb)
    RETURNING 1
), head AS (
    UPDATE log_head SET last_position = $8 WHERE id = 1
), stream AS (
    INSERT INTO streams (stream_id, last_version)
    SELECT * FROM unnest($9::text[], $10::bigint[])
    ON CONFLICT (stream_id) DO UPDATE SET last_version = EXCLUDED.last_version
), document AS (
    INSERT INTO documents AS d (collection, document_id, revision, content)
    SELECT t.collection, t.document_id, t.puts, t.content::jsonb
      FROM unnest($13::text[], $14::text[], $15::text[], $16::bigint[])
           AS t(collection, document_id, content, puts)
    ON CONFLICT (collection, document_id) DO UPDATE
       SET revision = d.revision + EXCLUDED.revision, content = EXCLUDED.content,
           update_time = now()
)
SELECT pg_notify($11, $8::text)
"""

# A stream's limits hide events from stream reads (the global log keeps them):
# max_count keeps the newest N versions visible, max_age the recent ones.
_VISIBLE = """
    (s.max_count = 0 OR stream_version > s.last_version - s.max_count)
    AND (s.max_age IS NULL OR recorded_at >= now() - s.max_age)
"""


def _read_stream_sql(backwards: bool) -> str:
    bound, order = ("<=", "DESC") if backwards else (">=", "")
    return f"""
SELECT s.last_version AS stream_last_version, s.deleted_at IS NOT NULL AS stream_deleted, e.*
  FROM (SELECT $1::text AS stream_id) q
  LEFT JOIN streams s ON s.stream_id = q.stream_id
  LEFT JOIN LATERAL (
      SELECT {_COLUMNS} FROM events
       WHERE stream_id = q.stream_id AND stream_version {bound} $2 AND {_VISIBLE}
       ORDER BY stream_version {order} LIMIT $3
  ) e ON true
"""


_READ_STREAM_FORWARDS = _read_stream_sql(backwards=False)
_READ_STREAM_BACKWARDS = _read_stream_sql(backwards=True)
# ReadStream backwards from this version starts at the stream's last event.
FROM_END = -1

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
        data_pb=row.get("data_pb"),  # absent from the outbox's query
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
        self._pending: deque[tuple[AppendRequest, Waiter]] = deque()
        self._wakeup = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None

    async def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> AppendResult:
        """Appends atomically; a retry with the same event ids returns the first result."""
        return await self.submit(stream_id, expected_version, events)

    def submit(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[NewEvent],
        documents: Sequence[DocumentPut] = (),
    ) -> Waiter:
        """Queues an append (and the documents it puts if it is written) for the next group
        commit; the future settles with its outcome.

        For callers with many appends in flight: no task per append.
        """
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_forever())
        waiter: Waiter = asyncio.get_running_loop().create_future()
        request = AppendRequest(stream_id, expected_version, events, documents)
        self._pending.append((request, waiter))
        self._wakeup.set()
        return waiter

    async def close(self) -> None:
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer

    async def _commit_forever(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                group: list[tuple[AppendRequest, Waiter]] = []
                count = 0
                while self._pending and (not group or count < MAX_GROUP_EVENTS):
                    request, waiter = self._pending.popleft()
                    group.append((request, waiter))
                    count += len(request.events)
                await self._commit_group(group)

    async def _commit_group(self, group: list[tuple[AppendRequest, Waiter]]) -> None:
        try:
            plan = await self._write([request for request, _ in group])
        except PlatformError as error:  # an outage: nothing was written
            for _, waiter in group:
                _settle(waiter, error)
            return
        except Exception as error:
            if len(group) == 1:
                log.error("append.failed", exc_info=error)
                _settle(group[0][1], error)
                return
            for item in group:
                await self._commit_group([item])
            return
        self._head.advance(plan.last_position)
        for (_, waiter), outcome in zip(group, plan.outcomes, strict=True):
            _settle(waiter, outcome)

    async def _write(self, requests: list[AppendRequest]) -> GroupPlan:
        # One round trip fewer than conn.transaction() + write_group: the group
        # holds the log lock from BEGIN to COMMIT, so every round trip counts.
        documents = [(d.collection, d.document_id) for r in requests for d in r.documents]
        async with translate_outages(), self._pool.acquire() as conn:
            if documents:
                await conn.execute("BEGIN")
                await lock_documents(conn, documents)
                await conn.execute(_LOCK_HEAD)
            else:
                await conn.execute(_BEGIN_AND_LOCK_HEAD)
            try:
                plan = await _write_locked(conn, requests)
                await conn.execute("COMMIT")
            except BaseException:
                if conn.is_in_transaction() and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.execute("ROLLBACK")
                raise
            return plan

    async def read_stream(
        self, stream_id: str, from_version: int, count: int, *, backwards: bool = False
    ) -> StreamPage:
        """A page of the stream; backwards from ``from_version`` (FROM_END: the last event)."""
        if backwards:
            start = 2**62 if from_version == FROM_END else from_version
            sql = _READ_STREAM_BACKWARDS
        else:
            start, sql = max(from_version, 0), _READ_STREAM_FORWARDS
        async with translate_outages():
            rows = await self._pool.fetch(sql, stream_id, start, count + 1)
        if rows[0]["stream_deleted"]:
            raise PlatformError(
                errors.STREAM_DELETED,
                f"stream {stream_id!r} was deleted",
                field="stream_id",
                metadata={"stream_id": stream_id},
            )
        last_version = rows[0]["stream_last_version"]
        last_version = NO_STREAM if last_version is None else last_version
        events, cut = _bounded(rows[:count])
        more = cut or len(rows) > count
        step = -1 if backwards else 1
        if events:
            next_version = events[-1].stream_version + step
        else:
            next_version = min(start, last_version) if backwards else start
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


async def write_group(conn: asyncpg.Connection, requests: Sequence[AppendRequest]) -> GroupPlan:
    """Appends ``requests`` inside the caller's open transaction.

    For state changes that must commit together with their events (a document
    and its audit event, say): call it in your transaction, then pass
    ``plan.last_position`` to ``LogHead.advance`` after the commit. It takes the
    log lock, so keep the rest of that transaction short.
    """
    await conn.execute(_LOCK_HEAD)
    return await _write_locked(conn, requests)


async def lock_documents(conn: asyncpg.Connection, documents: Sequence[tuple[str, str]]) -> None:
    """Takes the advisory locks of (collection, document id) pairs inside the caller's open
    transaction, until it ends: before the log lock, before a document's row."""
    keys = sorted({f"{collection}/{document_id}" for collection, document_id in documents})
    await conn.execute(_LOCK_DOCUMENTS, _DOCUMENT_LOCK_CLASS, keys)


async def append_audit(conn: asyncpg.Connection, audit: AppendRequest) -> int:
    """Appends one audit event inside the caller's open transaction; returns its position
    (for ``LogHead.advance`` after the commit). Its failure, if any, is raised."""
    plan = await write_group(conn, [audit])
    outcome = plan.outcomes[0]
    if isinstance(outcome, PlatformError):
        raise outcome
    return plan.last_position


async def _write_locked(conn: asyncpg.Connection, requests: Sequence[AppendRequest]) -> GroupPlan:
    """write_group once the log lock is held."""
    streams = sorted({r.stream_id for r in requests})
    ids = [e.id for r in requests for e in r.events if e.id_from_client]
    head = 0
    versions: dict[str, int] = {}
    stored: dict[uuid.UUID, StoredId] = {}
    deleted: set[str] = set()
    for row in await conn.fetch(_GROUP_STATE, streams, ids):
        if row["stream_id"] is None:
            head = row["version"]
        elif row["event_id"] is None:
            versions[row["stream_id"]] = row["version"]
            if row["deleted"]:
                deleted.add(row["stream_id"])
        else:
            stored[row["event_id"]] = StoredId(row["stream_id"], row["version"], row["position"])
    plan = plan_group(requests, head, versions, stored, deleted)
    if plan.rows:
        await conn.execute(
            _WRITE_GROUP,
            [r[0] for r in plan.rows],
            [r[1] for r in plan.rows],
            [r[2] for r in plan.rows],
            [r[3].id for r in plan.rows],
            [r[3].type for r in plan.rows],
            [r[3].data_json for r in plan.rows],
            [r[3].metadata_json for r in plan.rows],
            plan.last_position,
            list(plan.stream_versions),
            list(plan.stream_versions.values()),
            NOTIFY_CHANNEL,
            [r[3].data_pb for r in plan.rows],
            [collection for collection, _ in plan.documents],
            [document_id for _, document_id in plan.documents],
            [put.content_json for put in plan.documents.values()],
            [put.puts for put in plan.documents.values()],
        )
    return plan


Waiter = asyncio.Future[AppendResult]


def _settle(waiter: Waiter, outcome: AppendResult | BaseException) -> None:
    if waiter.done():  # the caller went away (cancelled RPC)
        return
    if isinstance(outcome, BaseException):
        waiter.set_exception(outcome)
    else:
        waiter.set_result(outcome)
