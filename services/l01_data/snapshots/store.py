"""Aggregate snapshots: the state folded from a stream up to a version.

A reader loads the latest snapshot, then reads the stream from version + 1, so
a long stream rehydrates without folding every event. Only the newest
KEEP_PER_STREAM snapshots of a stream are kept: older ones are deleted in the
transaction that saves a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.kit.errors import ErrorCode, PlatformError
from services.l01_data import errors
from services.l01_data.audit import SNAPSHOTS_AUDIT, audit_append
from services.l01_data.audited_change import run_after_audit
from services.l01_data.database import translate_outages
from services.l01_data.log.events import invalid_field
from services.l01_data.log.head import LogHead

KEEP_PER_STREAM = 3
MAX_STATE_BYTES = 4 * 1024 * 1024  # the state as JSON
MAX_SCHEMA_LENGTH = 256

_COLUMNS = "stream_id, version, state, schema, saved_at, saved_by"

_SAVE = f"""
INSERT INTO snapshots (stream_id, version, state, schema, saved_by)
VALUES ($1, $2, $3::jsonb, $4, $5)
ON CONFLICT (stream_id, version) DO UPDATE
   SET state = EXCLUDED.state, schema = EXCLUDED.schema,
       saved_at = now(), saved_by = EXCLUDED.saved_by
RETURNING {_COLUMNS}
"""

_PRUNE = """
DELETE FROM snapshots WHERE stream_id = $1 AND version < (
    SELECT min(version) FROM (
        SELECT version FROM snapshots WHERE stream_id = $1 ORDER BY version DESC LIMIT $2
    ) newest)
"""

_LATEST = f"""
SELECT s.deleted_at IS NOT NULL AS stream_deleted, n.*
  FROM (SELECT $1::text AS stream_id) q
  LEFT JOIN streams s ON s.stream_id = q.stream_id
  LEFT JOIN LATERAL (
      SELECT {_COLUMNS} FROM snapshots WHERE stream_id = q.stream_id
       ORDER BY version DESC LIMIT 1
  ) n ON true
"""


@dataclass(frozen=True)
class SnapshotRecord:
    stream_id: str
    version: int
    state_json: str
    schema: str
    saved_at: datetime
    saved_by: str


def _record(row: asyncpg.Record) -> SnapshotRecord:
    return SnapshotRecord(
        stream_id=row["stream_id"],
        version=row["version"],
        state_json=row["state"],
        schema=row["schema"],
        saved_at=row["saved_at"],
        saved_by=row["saved_by"],
    )


def validate_snapshot(version: int, state_json: str, schema: str) -> None:
    if version < 0:
        raise invalid_field("version", "must be >= 0")
    if len(schema) > MAX_SCHEMA_LENGTH:
        raise invalid_field("schema", f"is longer than {MAX_SCHEMA_LENGTH} characters")
    if "\x00" in schema:
        raise invalid_field("schema", "must not contain the NUL character")
    size = len(state_json.encode())
    if size > MAX_STATE_BYTES:
        raise PlatformError(
            errors.SNAPSHOT_TOO_LARGE,
            f"state: {size} bytes as JSON; the limit is {MAX_STATE_BYTES}",
            field="state",
            metadata={"limit_bytes": str(MAX_STATE_BYTES), "size_bytes": str(size)},
        )


def _stream_error(code: ErrorCode, message: str, stream_id: str) -> PlatformError:
    return PlatformError(code, message, field="stream_id", metadata={"stream_id": stream_id})


class SnapshotStore:
    def __init__(self, pool: asyncpg.Pool, head: LogHead) -> None:
        self._pool = pool
        self._head = head

    async def save(
        self, stream_id: str, version: int, state_json: str, schema: str, principal: str
    ) -> SnapshotRecord:
        validate_snapshot(version, state_json, schema)
        audit = audit_append(
            SNAPSHOTS_AUDIT,
            "$snapshot.saved",
            {"stream_id": stream_id, "version": version, "schema": schema},
            principal,
        )

        async def save(conn: asyncpg.Connection) -> SnapshotRecord:
            stream = await conn.fetchrow(
                "SELECT last_version, deleted_at FROM streams WHERE stream_id = $1", stream_id
            )
            if stream is None:
                raise _stream_error(
                    errors.STREAM_NOT_FOUND, f"stream {stream_id!r} has no events", stream_id
                )
            if stream["deleted_at"] is not None:
                raise _stream_error(
                    errors.STREAM_DELETED, f"stream {stream_id!r} was deleted", stream_id
                )
            if version > stream["last_version"]:
                raise PlatformError(
                    errors.SNAPSHOT_AHEAD_OF_STREAM,
                    f"version {version} is beyond stream {stream_id!r}'s last version "
                    f"{stream['last_version']}",
                    field="version",
                    metadata={"last_version": str(stream["last_version"])},
                )
            row = await conn.fetchrow(_SAVE, stream_id, version, state_json, schema, principal)
            await conn.execute(_PRUNE, stream_id, KEEP_PER_STREAM)
            return _record(row)

        return await run_after_audit(self._pool, self._head, audit, save)

    async def latest(self, stream_id: str) -> SnapshotRecord:
        async with translate_outages():
            row = await self._pool.fetchrow(_LATEST, stream_id)
        if row["stream_deleted"]:
            raise _stream_error(
                errors.STREAM_DELETED, f"stream {stream_id!r} was deleted", stream_id
            )
        if row["version"] is None:
            raise _stream_error(
                errors.SNAPSHOT_NOT_FOUND, f"stream {stream_id!r} has no snapshot", stream_id
            )
        return _record(row)
