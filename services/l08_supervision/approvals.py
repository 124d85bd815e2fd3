"""Approvals: opened by an ESCALATE or on a layer's request, decided once by a human in the
approver or admin role (or by expiry, a rejection with the reason "expired").

Each approval is an L01 stream ``approval-<id>``: ``approval.requested`` at version 0, then
one ``approval.approved`` or ``approval.rejected`` appended with expected version 0, so
exactly one decision wins, whichever L08 process or sweeper writes it. Every L08 process
folds the ``approval.`` events into an ``ApprovalBook`` from the start of the log, so one
that restarts (or was killed) knows every pending approval again before it serves.
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.kit import PlatformError, get_logger
from services.l08_supervision import errors
from services.l08_supervision.events import EventLog, StoredEvent, StreamConflict

log = get_logger("l08.approvals")

REQUESTED = "approval.requested"
APPROVED = "approval.approved"
REJECTED = "approval.rejected"
EXPIRED_COMMENT = "expired"
SUPERVISOR = "l08_supervision"  # who decides an expiry
# The roles whose holders may decide: the gateway lets the approver role reach Approve and
# Reject, and L08 asks the same of callers that reach it directly on someone's behalf (L05's
# ApproveGoal), so both paths agree.
DECIDING_ROLES = frozenset({"approver", "admin"})
_REQUEST_IDS = uuid.UUID("5b1f3a9e-2c4d-4e8f-9a1b-0c2d3e4f5a6b")  # namespace of request-id ids


class State(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Approval:
    id: str
    state: State
    requester: str
    action: str
    principal: dict[str, Any]
    resource: dict[str, Any]
    context: dict[str, Any]
    reasons: tuple[str, ...]
    create_time: datetime
    expire_time: datetime
    request_id: str = ""
    decided_by: str = ""
    comment: str = ""
    decide_time: datetime | None = None

    @property
    def stream(self) -> str:
        return stream_of(self.id)


def stream_of(approval_id: str) -> str:
    return f"approval-{approval_id}"


@dataclass
class ApprovalBook:
    """Every approval, folded from its events; waiters are woken on each change."""

    approvals: dict[str, Approval] = field(default_factory=dict)
    by_request: dict[str, str] = field(default_factory=dict)
    _decided: dict[str, asyncio.Event] = field(default_factory=dict)

    def _signal(self, approval_id: str) -> asyncio.Event:
        return self._decided.setdefault(approval_id, asyncio.Event())

    def apply(self, event: StoredEvent) -> None:
        data = event.data
        if event.type == REQUESTED:
            if data["id"] in self.approvals:
                return
            approval = Approval(
                id=data["id"],
                state=State.PENDING,
                requester=data["requester"],
                action=data["action"],
                principal=data["principal"],
                resource=data["resource"],
                context=data.get("context", {}),
                reasons=tuple(data.get("reasons", ())),
                create_time=datetime.fromisoformat(data["create_time"]),
                expire_time=datetime.fromisoformat(data["expire_time"]),
                request_id=data.get("request_id", ""),
            )
            self.approvals[approval.id] = approval
            if data.get("request_key"):
                self.by_request[data["request_key"]] = approval.id
        elif event.type in (APPROVED, REJECTED):
            current = self.approvals.get(data["id"])
            if current is None or current.state is not State.PENDING:
                return
            self.approvals[current.id] = replace(
                current,
                state=State.APPROVED if event.type == APPROVED else State.REJECTED,
                decided_by=data["by"],
                comment=data.get("comment", ""),
                decide_time=datetime.fromisoformat(data["decide_time"]),
            )
            self._signal(current.id).set()

    async def changes(self, approval_id: str) -> AsyncIterator[Approval]:
        """The approval now, then again once it is decided."""
        current = self.approvals[approval_id]
        yield current
        if current.state is not State.PENDING:
            return
        await self._signal(approval_id).wait()
        yield self.approvals[approval_id]


class ApprovalDesk:
    def __init__(
        self,
        log_: EventLog,
        book: ApprovalBook,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._log = log_
        self.book = book
        self._clock = clock
        self._opening: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def get(self, approval_id: str) -> Approval:
        approval = self.book.approvals.get(approval_id)
        if approval is None:
            raise PlatformError(
                errors.APPROVAL_NOT_FOUND, f"no approval {approval_id!r}", field="id"
            )
        return approval

    async def open(
        self,
        requester: str,
        action: str,
        principal: dict[str, Any],
        resource: dict[str, Any],
        context: dict[str, Any],
        reasons: tuple[str, ...],
        ttl: timedelta,
        request_id: str = "",
    ) -> Approval:
        key = f"{requester}\n{request_id}" if request_id else ""
        if key in self.book.by_request:
            return self.book.approvals[self.book.by_request[key]]
        # A request id names its approval: two L08 processes opening it at once write the
        # same stream, and the second append (expected version -1) fails.
        approval_id = uuid.uuid5(_REQUEST_IDS, key).hex if key else uuid.uuid4().hex
        async with self._opening[approval_id]:
            if approval_id in self.book.approvals:
                return self.book.approvals[approval_id]
            return await self._open_new(
                approval_id, requester, action, principal, resource, context, reasons, ttl, key
            )

    async def _open_new(
        self,
        approval_id: str,
        requester: str,
        action: str,
        principal: dict[str, Any],
        resource: dict[str, Any],
        context: dict[str, Any],
        reasons: tuple[str, ...],
        ttl: timedelta,
        key: str,
    ) -> Approval:
        now = self._clock()
        data: dict[str, Any] = {
            "id": approval_id,
            "requester": requester,
            "action": action,
            "principal": principal,
            "resource": resource,
            "context": context,
            "reasons": list(reasons),
            "create_time": now.isoformat(),
            "expire_time": (now + ttl).isoformat(),
            "request_id": key.partition("\n")[2],
            "request_key": key,
        }
        stream = stream_of(approval_id)
        try:
            await self._log.append(stream, [(REQUESTED, data)], expected_version=-1)
        except StreamConflict:
            return await self._opened_elsewhere(approval_id)
        self.book.apply(StoredEvent(stream, 0, REQUESTED, data, 0))
        return self.book.approvals[approval_id]

    async def _opened_elsewhere(self, approval_id: str) -> Approval:
        """Another L08 process opened it: its event reaches this one's book shortly."""
        for _ in range(100):
            if approval_id in self.book.approvals:
                return self.book.approvals[approval_id]
            await asyncio.sleep(0.05)
        raise PlatformError(
            errors.STORE_UNAVAILABLE, f"approval {approval_id} exists but was not read back"
        )

    async def decide(
        self, approval_id: str, approve: bool, by: str, comment: str, roles: tuple[str, ...]
    ) -> Approval:
        """Records ``by``'s decision; refused (before the approval is looked up, so nothing is
        told about it) unless ``roles`` holds a deciding role."""
        if not DECIDING_ROLES.intersection(roles):
            held = ", ".join(roles) or "none"
            raise PlatformError(
                errors.NOT_AN_APPROVER,
                f"{by} may not decide approvals: needs the approver or admin role (has {held})",
            )
        approval = self.get(approval_id)
        if approval.state is State.PENDING and self._clock() >= approval.expire_time:
            await self._expire(approval)
            approval = self.get(approval_id)
        if approval.state is not State.PENDING:
            code = (
                errors.APPROVAL_EXPIRED
                if approval.comment == EXPIRED_COMMENT and approval.decided_by == SUPERVISOR
                else errors.ALREADY_DECIDED
            )
            raise PlatformError(
                code, f"approval {approval_id} is already {approval.state.value}", field="id"
            )
        if not await self._record(approval, APPROVED if approve else REJECTED, by, comment):
            raise PlatformError(
                errors.ALREADY_DECIDED, f"approval {approval_id} was decided meanwhile"
            )
        return self.get(approval_id)

    async def _record(self, approval: Approval, event_type: str, by: str, comment: str) -> bool:
        data = {
            "id": approval.id,
            "by": by,
            "comment": comment,
            "decide_time": self._clock().isoformat(),
        }
        try:
            await self._log.append(approval.stream, [(event_type, data)], expected_version=0)
        except StreamConflict:
            return False  # another decision won; the subscription brings it
        self.book.apply(StoredEvent(approval.stream, 1, event_type, data, 0))
        return True

    async def _expire(self, approval: Approval) -> None:
        if await self._record(approval, REJECTED, SUPERVISOR, EXPIRED_COMMENT):
            log.info("approval.expired", approval=approval.id)

    async def expire_due(self) -> int:
        """Rejects every pending approval past its expiry; returns how many this call did."""
        now = self._clock()
        due = [
            a
            for a in self.book.approvals.values()
            if a.state is State.PENDING and a.expire_time <= now
        ]
        for approval in due:
            await self._expire(approval)
        return len(due)

    async def sweep(self, every_seconds: float = 0.5) -> None:
        while True:
            try:
                await self.expire_due()
            except PlatformError as error:
                log.warning("approval.sweep_failed", error=error.message)
            await asyncio.sleep(every_seconds)
