"""Deciding, for a group of appends committed together, what each one gets.

Pure logic with no I/O: given the log head, the streams' current versions and
the already-stored events that reuse any of the group's ids, each append either
gets its versions and positions, replays an earlier identical append
(idempotent retry), or fails with its own error without affecting the others.
Appends to soft-deleted streams are refused (a retry of an append that was
stored before the deletion still replays its result). The documents an append
carries are put only when its events are written: a refused append or a replay
puts none.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from services.kit.errors import PlatformError
from services.l01_data import errors
from services.l01_data.log.events import NO_STREAM, AppendResult, NewEvent


@dataclass(frozen=True)
class DocumentPut:
    """A document an append creates or replaces whole, in its transaction."""

    collection: str
    document_id: str
    content_json: str


@dataclass(frozen=True)
class AppendRequest:
    stream_id: str
    expected_version: int | None
    events: Sequence[NewEvent]
    documents: Sequence[DocumentPut] = ()


@dataclass(frozen=True)
class PlannedPut:
    """A document's last content in a group and how many puts the group made of it: one
    statement cannot write a row twice, and each put still counts as a revision."""

    content_json: str
    puts: int


@dataclass(frozen=True)
class StoredId:
    """Where an event id already lives: stream, version and position."""

    stream_id: str
    stream_version: int
    global_position: int


@dataclass
class GroupPlan:
    outcomes: list[AppendResult | PlatformError] = field(default_factory=list)
    # Rows to insert, in position order: (position, stream, version, event).
    rows: list[tuple[int, str, int, NewEvent]] = field(default_factory=list)
    stream_versions: dict[str, int] = field(default_factory=dict)  # streams written, new last
    last_position: int = 0
    # Documents to put, by (collection, document id), from the appends that were written.
    documents: dict[tuple[str, str], PlannedPut] = field(default_factory=dict)


def plan_group(
    requests: Sequence[AppendRequest],
    head: int,
    current_versions: Mapping[str, int],
    stored_ids: Mapping[uuid.UUID, StoredId],
    deleted_streams: AbstractSet[str] = frozenset(),
) -> GroupPlan:
    """Plans the group in arrival order, as if the appends had run one by one."""
    plan = GroupPlan(last_position=head)
    versions = dict(current_versions)
    known = dict(stored_ids)
    for request in requests:
        outcome: AppendResult | PlatformError
        try:
            outcome = _plan_one(request, plan, versions, known, deleted_streams)
        except PlatformError as error:
            outcome = error
        plan.outcomes.append(outcome)
    return plan


def _plan_one(
    request: AppendRequest,
    plan: GroupPlan,
    versions: dict[str, int],
    known: dict[uuid.UUID, StoredId],
    deleted: AbstractSet[str],
) -> AppendResult:
    ids = [e.id for e in request.events]
    reused = [known[i] for i in ids if i in known]
    if reused:
        return _replay(request.stream_id, ids, known)
    if request.stream_id in deleted:
        raise PlatformError(
            errors.APPEND_TO_DELETED_STREAM,
            f"stream {request.stream_id!r} was deleted; append to a new stream id",
            field="stream_id",
            metadata={"stream_id": request.stream_id},
        )
    current = versions.get(request.stream_id, NO_STREAM)
    _check_expected(request.stream_id, request.expected_version, current)
    first_version, first_position = current + 1, plan.last_position + 1
    for offset, event in enumerate(request.events):
        stored = StoredId(request.stream_id, first_version + offset, first_position + offset)
        known[event.id] = stored
        plan.rows.append((stored.global_position, request.stream_id, stored.stream_version, event))
    plan.last_position += len(ids)
    versions[request.stream_id] = first_version + len(ids) - 1
    plan.stream_versions[request.stream_id] = versions[request.stream_id]
    for document in request.documents:
        key = (document.collection, document.document_id)
        earlier = plan.documents.get(key)
        plan.documents[key] = PlannedPut(document.content_json, earlier.puts + 1 if earlier else 1)
    return AppendResult(
        stream_id=request.stream_id,
        first_version=first_version,
        last_version=first_version + len(ids) - 1,
        first_position=first_position,
        last_position=plan.last_position,
        event_ids=tuple(ids),
    )


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


def _replay(
    stream_id: str, ids: Sequence[uuid.UUID], known: Mapping[uuid.UUID, StoredId]
) -> AppendResult:
    """The original result when every id was written, in order, by one earlier append."""
    stored = [known.get(i) for i in ids]
    first = next(s for s in stored if s is not None)
    if all(s is not None for s in stored):
        rows = [s for s in stored if s is not None]
        consecutive = [s.stream_version for s in rows] == list(
            range(rows[0].stream_version, rows[0].stream_version + len(rows))
        )
        if consecutive and all(s.stream_id == stream_id for s in rows):
            return AppendResult(
                stream_id=stream_id,
                first_version=rows[0].stream_version,
                last_version=rows[-1].stream_version,
                first_position=rows[0].global_position,
                last_position=rows[-1].global_position,
                event_ids=tuple(ids),
            )
    reused_id = next(i for i, s in zip(ids, stored, strict=True) if s is not None)
    raise PlatformError(
        errors.EVENT_ID_REUSED,
        f"event id {reused_id} was already written to stream {first.stream_id!r} at version "
        f"{first.stream_version} by a different append",
        field="events.id",
        metadata={"event_id": str(reused_id), "stream_id": first.stream_id},
    )
