"""Durable consumer groups: a filter over the global log and a checkpoint in L01.

A group delivers from ``checkpoint + 1``: first what is stored (in pages), a
CaughtUp marker, then new events as they commit (subscriptions.follow_pages,
whose docstring explains why no event is skipped). The consumer acknowledges
cumulatively; the checkpoint only moves on an ack, so a consumer that crashes
or disconnects gets everything after its last ack again (at-least-once,
in order). Acks may not pass what this process delivered to the group, nor
go below the checkpoint.

One consumer per group at a time, across every L01 process: while one is
connected, a second subscriber is refused with E1404. The session lives in the
group's row (sessions.py): a consumer that disconnects frees the group at
once, one whose L01 process died frees it when its lease runs out.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.kit.errors import PlatformError
from services.l01_data import errors
from services.l01_data.audit import GROUPS_AUDIT, audit_append
from services.l01_data.audited_change import run_after_audit
from services.l01_data.database import translate_outages
from services.l01_data.groups.sessions import GroupSession
from services.l01_data.log.event_store import EventStore
from services.l01_data.log.events import RecordedEvent, invalid_field, validate_type_prefix
from services.l01_data.log.head import LogHead
from services.l01_data.log.subscriptions import CaughtUp, follow_pages

MAX_GROUP_ID_LENGTH = 128
MAX_BATCH = 1_000
DEFAULT_BATCH = 100
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1_000
FROM_END = -1  # start_position: only events committed after the group is created

_GROUP_ID = re.compile(r"[A-Za-z0-9_.:@-]+")
_COLUMNS = (
    "group_id, type_prefix, start_position, checkpoint, created_at, acked_by, acked_at,"
    " delivered, consumer_id IS NOT NULL AND lease_until > now() AS connected"
)


@dataclass(frozen=True)
class GroupState:
    group_id: str
    type_prefix: str
    start_position: int
    checkpoint: int
    created_at: datetime
    acked_by: str
    acked_at: datetime | None
    consumer_connected: bool = False
    delivered_position: int = 0


def validate_group_id(group_id: str) -> str:
    if not group_id:
        raise invalid_field("group_id", "must not be empty")
    if len(group_id) > MAX_GROUP_ID_LENGTH:
        raise invalid_field(
            "group_id", f"is {len(group_id)} characters; the limit is {MAX_GROUP_ID_LENGTH}"
        )
    if not _GROUP_ID.fullmatch(group_id):
        raise invalid_field("group_id", "may hold only letters, digits and '_', '-', '.', ':', '@'")
    return group_id


def validate_batch_size(size: int) -> int:
    if size == 0:
        return DEFAULT_BATCH
    if size < 0 or size > MAX_BATCH:
        raise invalid_field(
            "max_batch_size", f"must be between 1 and {MAX_BATCH} (0 means {DEFAULT_BATCH})"
        )
    return size


def encode_page_token(last_group_id: str) -> str:
    return base64.urlsafe_b64encode(last_group_id.encode()).decode()


def decode_page_token(token: str) -> str:
    if not token:
        return ""
    try:
        return validate_group_id(base64.urlsafe_b64decode(token.encode()).decode())
    except (binascii.Error, UnicodeError, ValueError, PlatformError):
        raise invalid_field("page_token", "is not a token from a previous page") from None


def _busy(group_id: str, reason: str) -> PlatformError:
    return PlatformError(
        errors.GROUP_BUSY,
        f"{reason} {group_id!r}",
        field="group_id",
        metadata={"group_id": group_id},
    )


def _not_found(group_id: str) -> PlatformError:
    return PlatformError(
        errors.GROUP_NOT_FOUND,
        f"no consumer group {group_id!r}",
        field="group_id",
        metadata={"group_id": group_id},
    )


class ConsumerGroups:
    def __init__(self, pool: asyncpg.Pool, head: LogHead, log: EventStore) -> None:
        self._pool = pool
        self._head = head
        self._log = log  # what a subscriber is sent is read through the event store
        # This process's connected sessions, stopped at once when the group is deleted here.
        self._sessions: dict[str, GroupSession] = {}

    def _state(self, row: asyncpg.Record) -> GroupState:
        return GroupState(
            group_id=row["group_id"],
            type_prefix=row["type_prefix"],
            start_position=row["start_position"],
            checkpoint=row["checkpoint"],
            created_at=row["created_at"],
            acked_by=row["acked_by"],
            acked_at=row["acked_at"],
            consumer_connected=row["connected"],
            delivered_position=row["delivered"],
        )

    async def create(
        self, group_id: str, type_prefix: str, start_position: int, principal: str
    ) -> GroupState:
        validate_group_id(group_id)
        validate_type_prefix(type_prefix)
        if start_position < FROM_END:
            raise invalid_field(
                "start_position", "must be -1 (new events only), 0 or 1 (start) or a position"
            )
        audit = audit_append(
            GROUPS_AUDIT,
            "$group.created",
            {"group_id": group_id, "type_prefix": type_prefix, "start_position": start_position},
            principal,
        )

        async def create(conn: asyncpg.Connection) -> GroupState:
            # The audit append holds the log lock: the head read here is exact.
            head = await conn.fetchval("SELECT last_position FROM log_head WHERE id = 1")
            start = head + 1 if start_position == FROM_END else max(start_position, 1)
            row = await conn.fetchrow(
                "INSERT INTO consumer_groups (group_id, type_prefix, start_position, checkpoint)"
                " VALUES ($1, $2, $3::bigint, $3::bigint - 1)"
                f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
                group_id,
                type_prefix,
                start,
            )
            if row is None:
                raise PlatformError(
                    errors.GROUP_EXISTS,
                    f"consumer group {group_id!r} already exists",
                    field="group_id",
                    metadata={"group_id": group_id},
                )
            return self._state(row)

        return await run_after_audit(self._pool, self._head, audit, create)

    async def get(self, group_id: str) -> GroupState:
        validate_group_id(group_id)
        async with translate_outages():
            row = await self._pool.fetchrow(
                f"SELECT {_COLUMNS} FROM consumer_groups WHERE group_id = $1", group_id
            )
        if row is None:
            raise _not_found(group_id)
        return self._state(row)

    async def list_page(self, page_size: int, after: str) -> tuple[list[GroupState], str]:
        """A page of groups ordered by id, and the token of the next page ("" at the end)."""
        if page_size < 0 or page_size > MAX_PAGE_SIZE:
            raise invalid_field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
        size = page_size or DEFAULT_PAGE_SIZE
        async with translate_outages():
            rows = await self._pool.fetch(
                f"SELECT {_COLUMNS} FROM consumer_groups WHERE group_id > $1"
                " ORDER BY group_id LIMIT $2",
                after,
                size + 1,
            )
        groups = [self._state(r) for r in rows[:size]]
        token = encode_page_token(groups[-1].group_id) if len(rows) > size else ""
        return groups, token

    async def delete(self, group_id: str, principal: str) -> GroupState:
        validate_group_id(group_id)
        audit = audit_append(GROUPS_AUDIT, "$group.deleted", {"group_id": group_id}, principal)

        async def delete(conn: asyncpg.Connection) -> GroupState:
            row = await conn.fetchrow(
                f"DELETE FROM consumer_groups WHERE group_id = $1 RETURNING {_COLUMNS}", group_id
            )
            if row is None:
                raise _not_found(group_id)
            return self._state(row)

        state = await run_after_audit(self._pool, self._head, audit, delete)
        session = self._sessions.get(group_id)
        if session is not None:
            session.lost.set()  # a consumer connected here ends at once, with NOT_FOUND
        return state

    async def subscribe(
        self, group_id: str, max_batch: int
    ) -> AsyncIterator[list[RecordedEvent] | CaughtUp]:
        """The group's events after its checkpoint: pages, a CaughtUp marker, then live."""
        session = GroupSession(self._pool, group_id)
        async with translate_outages():
            claimed = await session.claim()
        if claimed is None:
            await self.get(group_id)  # NOT_FOUND when there is no such group
            raise _busy(group_id, "a consumer is already connected to group")
        self._sessions[group_id] = session
        try:
            pages = follow_pages(
                self._log,
                self._head,
                claimed["checkpoint"] + 1,
                claimed["type_prefix"],
                page_size=max_batch,
                stop=session.lost,
            )
            async for item in pages:
                # Recorded before the item leaves, so an ack right after it is valid.
                reached = item.position if isinstance(item, CaughtUp) else item[-1].global_position
                async with translate_outages():
                    await session.delivered(reached)
                if session.lost.is_set():
                    break
                yield item
            await self.get(group_id)  # deleted: NOT_FOUND
            raise _busy(group_id, "this consumer's lease ran out and another took group")
        finally:
            if self._sessions.get(group_id) is session:
                del self._sessions[group_id]
            await session.release()

    async def ack(self, group_id: str, position: int, principal: str) -> GroupState:
        """Moves the checkpoint; the principal is kept in the group's row.

        Not as an audit event in the log: a group over the whole log would be
        delivered the events its own acks wrote, and ack them, for ever.
        """
        validate_group_id(group_id)
        if position < 0:
            raise invalid_field("position", "must be >= 0")
        async with translate_outages():
            row = await self._pool.fetchrow(
                f"UPDATE consumer_groups SET checkpoint = $2, acked_by = $3, acked_at = now()"
                f" WHERE group_id = $1 AND checkpoint <= $2"
                f" AND $2 <= GREATEST(checkpoint, delivered)"
                f" RETURNING {_COLUMNS}",
                group_id,
                position,
                principal,
            )
            if row is not None:
                return self._state(row)
            current = await self.get(group_id)
        delivered = current.delivered_position
        metadata = {
            "group_id": group_id,
            "checkpoint": str(current.checkpoint),
            "delivered_position": str(delivered),
        }
        if position < current.checkpoint:
            raise PlatformError(
                errors.ACK_BEHIND_CHECKPOINT,
                f"position {position} is below group {group_id!r}'s checkpoint "
                f"{current.checkpoint}",
                field="position",
                metadata=metadata,
            )
        raise PlatformError(
            errors.ACK_BEYOND_DELIVERED,
            f"position {position} is beyond what was delivered to group {group_id!r} "
            f"({delivered}); acknowledge only positions you received",
            field="position",
            metadata=metadata,
        )
