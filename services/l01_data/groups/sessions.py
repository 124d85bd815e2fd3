"""Consumer-group sessions, shared by every L01 process through the group's row.

A subscriber claims the group by writing its session id and a lease into the
row; a second subscriber, on any process, finds the claim and is refused until
the first releases it (on disconnect) or its lease runs out (its process died).
The session renews the lease while it lives and records in the row how far it
delivered *before* each batch leaves, so an ack right after a batch is checked
correctly whichever process receives it.

These writes are bookkeeping, not data: they skip the commit's fsync
(synchronous_commit off). A crash may lose the last one, which only makes the
next consumer receive again what it would receive anyway (from the checkpoint).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg

LEASE_SECONDS = 10.0
RENEW_SECONDS = LEASE_SECONDS / 4

_CLAIM = """
UPDATE consumer_groups
   SET consumer_id = $2, lease_until = now() + make_interval(secs => $3), delivered = checkpoint
 WHERE group_id = $1 AND (consumer_id IS NULL OR lease_until < now())
RETURNING checkpoint, type_prefix
"""
_ADVANCE = """
UPDATE consumer_groups
   SET delivered = GREATEST(delivered, $3), lease_until = now() + make_interval(secs => $4)
 WHERE group_id = $1 AND consumer_id = $2
RETURNING 1
"""
_RELEASE = "UPDATE consumer_groups SET consumer_id = NULL WHERE group_id = $1 AND consumer_id = $2"


class GroupSession:
    """One subscriber's claim on a group; ``lost`` is set when the claim is gone."""

    def __init__(self, pool: asyncpg.Pool, group_id: str) -> None:
        self._pool = pool
        self.group_id = group_id
        self.id = uuid.uuid4()
        self.lost = asyncio.Event()
        self._renewer: asyncio.Task[None] | None = None

    async def claim(self) -> asyncpg.Record | None:
        """The group's checkpoint and type prefix if the claim succeeded; None if another
        session holds the group (or there is no such group)."""
        row = await self._write(_CLAIM, self.group_id, self.id, LEASE_SECONDS)
        if row is not None:
            self._renewer = asyncio.create_task(self._renew_forever())
        return row

    async def delivered(self, position: int) -> None:
        """Records delivery up to ``position`` (and renews the lease); sets ``lost`` if the
        claim is gone (the group was deleted, or the lease ran out and another took it)."""
        if await self._write(_ADVANCE, self.group_id, self.id, position, LEASE_SECONDS) is None:
            self.lost.set()

    async def release(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        with contextlib.suppress(Exception):  # unreachable database: the lease runs out
            await self._write(_RELEASE, self.group_id, self.id)

    async def _renew_forever(self) -> None:
        while not self.lost.is_set():
            await asyncio.sleep(RENEW_SECONDS)
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await self.delivered(0)

    async def _write(self, sql: str, *args: object) -> asyncpg.Record | None:
        async with self._pool.acquire() as conn:
            # Session-level, undone by the pool's reset when the connection goes back.
            await conn.execute("SET synchronous_commit = off")
            row: asyncpg.Record | None = await conn.fetchrow(sql, *args)
            return row
