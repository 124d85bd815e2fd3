"""Stream management: a stream's version, limits (max count, max age), soft deletion.

Limits are enforced when the stream is read (ReadStream hides what they
exclude); there is no scavenger, so the global log and every subscription keep
all events. A deleted stream answers NOT_FOUND (E1301) to reads and refuses
appends (E1302): its id is never reused, so an aggregate cannot come back to
life by accident. The events stay in the global log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from services.kit.errors import PlatformError
from services.l01_data import errors
from services.l01_data.audit import STREAMS_AUDIT, audit_append
from services.l01_data.audited_change import run_after_audit
from services.l01_data.database import translate_outages
from services.l01_data.log.events import invalid_field
from services.l01_data.log.head import LogHead

# Longest max_age accepted (PostgreSQL intervals go further; nobody needs it).
MAX_AGE_LIMIT = timedelta(days=365 * 1000)

_SELECT = "SELECT stream_id, last_version, max_count, max_age, deleted_at FROM streams"


@dataclass(frozen=True)
class StreamInfo:
    stream_id: str
    last_version: int
    max_count: int  # 0: no limit
    max_age: timedelta | None  # None: no limit
    deleted: bool


def _info(row: asyncpg.Record) -> StreamInfo:
    return StreamInfo(
        stream_id=row["stream_id"],
        last_version=row["last_version"],
        max_count=row["max_count"],
        max_age=row["max_age"],
        deleted=row["deleted_at"] is not None,
    )


def validate_limits(max_count: int, max_age: timedelta | None) -> timedelta | None:
    """Checks the limits; a zero max_age means no limit (None)."""
    if max_count < 0:
        raise invalid_field("metadata.max_count", "must be >= 0 (0 means no limit)")
    if max_age is not None:
        if max_age < timedelta(0):
            raise invalid_field("metadata.max_age", "must not be negative")
        if max_age > MAX_AGE_LIMIT:
            raise invalid_field("metadata.max_age", "must be at most 1,000 years")
        if max_age == timedelta(0):
            return None
    return max_age


def _not_found(stream_id: str) -> PlatformError:
    return PlatformError(
        errors.STREAM_NOT_FOUND,
        f"stream {stream_id!r} has no events",
        field="stream_id",
        metadata={"stream_id": stream_id},
    )


def _deleted(stream_id: str) -> PlatformError:
    return PlatformError(
        errors.STREAM_DELETED,
        f"stream {stream_id!r} was deleted",
        field="stream_id",
        metadata={"stream_id": stream_id},
    )


async def _locked_stream(conn: asyncpg.Connection, stream_id: str) -> StreamInfo:
    row = await conn.fetchrow(f"{_SELECT} WHERE stream_id = $1 FOR UPDATE", stream_id)
    if row is None:
        raise _not_found(stream_id)
    info = _info(row)
    if info.deleted:
        raise _deleted(stream_id)
    return info


class StreamCatalog:
    """Reads and changes the ``streams`` rows; changes are audited in ``$streams``."""

    def __init__(self, pool: asyncpg.Pool, head: LogHead) -> None:
        self._pool = pool
        self._head = head

    async def get(self, stream_id: str) -> StreamInfo:
        async with translate_outages():
            row = await self._pool.fetchrow(f"{_SELECT} WHERE stream_id = $1", stream_id)
        if row is None:
            raise _not_found(stream_id)
        return _info(row)

    async def update_metadata(
        self, stream_id: str, max_count: int, max_age: timedelta | None, principal: str
    ) -> StreamInfo:
        audit = audit_append(
            STREAMS_AUDIT,
            "$stream.metadata_updated",
            {
                "stream_id": stream_id,
                "max_count": max_count,
                "max_age_seconds": max_age.total_seconds() if max_age else 0,
            },
            principal,
        )

        async def update(conn: asyncpg.Connection) -> StreamInfo:
            await _locked_stream(conn, stream_id)
            row = await conn.fetchrow(
                "UPDATE streams SET max_count = $2, max_age = $3 WHERE stream_id = $1"
                " RETURNING stream_id, last_version, max_count, max_age, deleted_at",
                stream_id,
                max_count,
                max_age,
            )
            return _info(row)

        return await run_after_audit(self._pool, self._head, audit, update)

    async def delete(
        self, stream_id: str, expected_version: int | None, principal: str
    ) -> StreamInfo:
        audit = audit_append(STREAMS_AUDIT, "$stream.deleted", {"stream_id": stream_id}, principal)

        async def delete(conn: asyncpg.Connection) -> StreamInfo:
            current = await _locked_stream(conn, stream_id)
            if expected_version is not None and expected_version != current.last_version:
                raise PlatformError(
                    errors.WRONG_EXPECTED_VERSION,
                    f"stream {stream_id!r} is at version {current.last_version}, "
                    f"expected version {expected_version}",
                    field="expected_version",
                    metadata={
                        "stream_id": stream_id,
                        "actual_version": str(current.last_version),
                        "expected_version": str(expected_version),
                    },
                )
            row = await conn.fetchrow(
                "UPDATE streams SET deleted_at = now() WHERE stream_id = $1"
                " RETURNING stream_id, last_version, max_count, max_age, deleted_at",
                stream_id,
            )
            return _info(row)

        return await run_after_audit(self._pool, self._head, audit, delete)
