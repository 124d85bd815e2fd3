"""Publishes committed events to Redis, in log order, surviving Redis outages.

The log itself is the outbox: a checkpoint row records the last position
published. The publisher reads the events after it, sends each to the pub/sub
channel ``events:<type>`` and to the capped stream ``events`` (so a consumer
that was disconnected can replay), then advances the checkpoint. While Redis is
down nothing advances, so nothing is lost: the backlog goes out when it returns.
Only one L01 process publishes at a time (a PostgreSQL advisory lock), so each
event is published once. The checkpoint is saved at most every half second
while busy, so a crash can repeat at most that much on pub/sub; the stream's
explicit entry ids keep the stream itself duplicate-free.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from json.encoder import encode_basestring as _quoted  # C: a JSON string literal

import asyncpg
import redis.asyncio as redis
import structlog

from services.l01_data.log.event_store import event_from_row
from services.l01_data.log.events import RecordedEvent
from services.l01_data.log.head import LogHead

log = structlog.get_logger("l01.outbox")

REDIS_STREAM = "events"

# Publishes a batch in order: for each event, PUBLISH on events:<type> and XADD
# to the capped stream with the explicit id <position>-1. An id at or below the
# stream's top means the position is already there (a batch repeated after a
# crash), so the stream stays duplicate-free; any other error stops the batch.
PUBLISH_SCRIPT = """
local published = 0
for i = 2, #ARGV, 3 do
  local position, event_type, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('PUBLISH', 'events:' .. event_type, payload)
  local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], position .. '-1',
                            'position', position, 'type', event_type, 'event', payload)
  if type(added) == 'table' and added.err and not string.find(added.err, 'equal or smaller') then
    return added
  end
  published = published + 1
end
return published
"""
_LEADER_LOCK = 0x4C30314F  # "L01O"
_BATCH = 500
CHECKPOINT_SECONDS = 0.5

_READ_AFTER = """
SELECT global_position, stream_id, stream_version, event_id, type, data, metadata, recorded_at
  FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2
"""


def event_json(event: RecordedEvent) -> str:
    """The JSON envelope published for an event (data and metadata embedded as stored).

    Formatted directly rather than through json.dumps of a dict: the outbox
    formats every event ever appended, and this is several times cheaper.
    """
    return (
        f'{{"id":"{event.id}","stream_id":{_quoted(event.stream_id)},'
        f'"stream_version":{event.stream_version},"global_position":{event.global_position},'
        f'"type":{_quoted(event.type)},"recorded_at":"{event.recorded_at.isoformat()}",'
        f'"data":{event.data_json},"metadata":{event.metadata_json}}}'
    )


class OutboxPublisher:
    def __init__(
        self, database_url: str, redis_url: str, head: LogHead, stream_maxlen: int
    ) -> None:
        self._database_url = database_url
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._head = head
        self._maxlen = stream_maxlen
        self._publish_script = self._redis.register_script(PUBLISH_SCRIPT)
        self.published_position = 0
        self._saved_at = 0.0

    async def run(self) -> None:
        """Runs until cancelled, re-electing itself after database failures."""
        try:
            while True:
                try:
                    await self._lead()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("outbox.restart", error=type(exc).__name__, detail=str(exc)[:200])
                await asyncio.sleep(1)
        finally:
            await self._redis.aclose()

    async def _lead(self) -> None:
        conn = await asyncpg.connect(self._database_url, timeout=2)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LEADER_LOCK):
                await asyncio.sleep(2)
            checkpoint = await conn.fetchval(
                "SELECT last_published FROM outbox_checkpoint WHERE id = 1"
            )
            self.published_position = max(self.published_position, checkpoint)
            log.info("outbox.leading", checkpoint=self.published_position)
            while True:
                await self._publish_pending(conn)
                if not await self._head.wait_beyond(self.published_position, timeout=0.5):
                    await self._save_checkpoint(conn)  # idle: make the checkpoint exact
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)

    async def _publish_pending(self, conn: asyncpg.Connection) -> None:
        backoff = 0.1
        while True:
            rows = await conn.fetch(_READ_AFTER, self.published_position, _BATCH)
            if not rows:
                return
            events = [event_from_row(r) for r in rows]
            try:
                await self._send(events)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                log.warning(
                    "outbox.redis_unavailable",
                    error=type(exc).__name__,
                    backlog_from=self.published_position + 1,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.1
            # The in-memory position is what this process goes by, so it never
            # republishes. The stored checkpoint only matters after a crash and
            # is saved at most every CHECKPOINT_SECONDS: a commit (an fsync) per
            # published batch would double the cost of every single append.
            self.published_position = events[-1].global_position
            now = time.monotonic()
            if now - self._saved_at >= CHECKPOINT_SECONDS:
                await self._save_checkpoint(conn)
                self._saved_at = now

    async def _save_checkpoint(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            "UPDATE outbox_checkpoint SET last_published = $1 WHERE id = 1",
            self.published_position,
        )

    async def _send(self, events: list[RecordedEvent]) -> None:
        # One script call per batch: a command per event costs redis-py far more
        # CPU than Redis takes to run them, and that CPU is the appends' too.
        args: list[str | int] = [self._maxlen]
        for event in events:
            args += [event.global_position, event.type, event_json(event)]
        result = await self._publish_script(keys=[REDIS_STREAM], args=args)
        if result != len(events):
            raise redis.ResponseError(f"publishing script answered {result!r}")
