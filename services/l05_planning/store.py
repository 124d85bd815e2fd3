"""Goals kept in L01: each goal's event stream ``goal-{id}``, and an index document per goal.

The stream is the truth: GetGoal folds it, WatchGoal follows it. The index document
(``collections/goals``) holds what ListGoals needs to find a caller's goals; their status
is read from their streams.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import json_format

from agentic.data.v1 import documents_pb2 as docs_pb
from agentic.data.v1 import documents_pb2_grpc as docs_grpc
from agentic.data.v1 import event_store_pb2 as events_pb
from agentic.data.v1 import event_store_pb2_grpc as events_grpc
from agentic.data.v1 import query_pb2
from services.kit import PlatformError, platform_code_of
from services.l05_planning import errors, events
from services.l05_planning.events import GoalView

GOALS = "goals"
# A filtered ListGoals page reads at most this many goals, in at most this many L01 queries.
SCAN_LIMIT, SCAN_QUERIES = 1000, 20
_EVENT_IDS = uuid.UUID("0c8e5f55-58a1-4b8e-9a55-6f3b0d1f2c77")  # namespace of derived ids


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stream_of(goal_id: str) -> str:
    return f"goal-{goal_id}"


def derived_event_id(goal_id: str, key: str) -> str:
    """A stable event id: a retried write of the same change is the same event."""
    return str(uuid.uuid5(_EVENT_IDS, f"{goal_id}/{key}"))


class GoalStore:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._events = events_grpc.EventStoreServiceStub(channel)
        self._documents = docs_grpc.DocumentServiceStub(channel)

    async def create(self, goal_id: str, data: dict[str, Any]) -> GoalView:
        """The goal's first event (refused if the stream exists) and its index document."""
        request = events_pb.AppendEventsRequest(stream_id=stream_of(goal_id), expected_version=-1)
        event = request.events.add(type=events.CREATED, id=derived_event_id(goal_id, "created"))
        event.data.update(data)
        try:
            await self._events.AppendEvents(request)
        except grpc.aio.AioRpcError as error:
            if platform_code_of(error) == "E1005":
                raise PlatformError(
                    errors.GOAL_EXISTS, f"goal {goal_id} exists", field="goal_id"
                ) from None
            raise
        time = now()
        index = docs_pb.PutDocumentRequest(name=f"collections/{GOALS}/documents/{goal_id}")
        index.content.update(
            {"goal_id": goal_id, "owner": data["owner"], "goal": data["goal"][:200]}
        )
        index.content["create_time"] = time
        await self._documents.PutDocument(index)
        view = GoalView(goal_id)
        events.apply(view, events.CREATED, data, 0, time)
        return view

    async def append(self, goal_id: str, event_type: str, data: dict[str, Any], key: str) -> None:
        """Appends one event; a retry with the same ``key`` is not recorded twice."""
        request = events_pb.AppendEventsRequest(stream_id=stream_of(goal_id))
        event = request.events.add(type=event_type, id=derived_event_id(goal_id, key))
        event.data.update(data)
        await self._events.AppendEvents(request)

    async def read(self, goal_id: str, from_version: int, max_count: int = 500) -> list[Any]:
        """Events of the goal's stream from ``from_version`` (404 E5004 if it has none)."""
        try:
            reply = await self._events.ReadStream(
                events_pb.ReadStreamRequest(
                    stream_id=stream_of(goal_id), from_version=from_version, max_count=max_count
                )
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                raise PlatformError(errors.GOAL_NOT_FOUND, f"no goal {goal_id}") from None
            raise
        return list(reply.events)

    async def load(self, goal_id: str) -> GoalView:
        """The goal, folded from its whole stream."""
        view = GoalView(goal_id)
        next_version = 0
        while True:
            batch = await self.read(goal_id, next_version)
            for event in batch:
                data = json_format.MessageToDict(event.data)
                events.apply(
                    view, event.type, data, event.stream_version, event.recorded_at.ToJsonString()
                )
            if len(batch) < 500:
                break
            next_version = view.version + 1
        if view.version < 0:
            raise PlatformError(errors.GOAL_NOT_FOUND, f"no goal {goal_id}")
        return view

    async def list_ids(self, owner: str, page_size: int, page_token: str) -> tuple[list[str], str]:
        """A page of the owner's goals, newest first, and the next page's token (L01's)."""
        request = docs_pb.QueryDocumentsRequest(
            parent=f"collections/{GOALS}", page_size=page_size, page_token=page_token
        )
        condition = request.filters.add(field="owner", op=query_pb2.Filter.OPERATOR_EQUAL)
        condition.value.string_value = owner
        request.order_by.add(field="create_time", descending=True)
        reply = await self._documents.QueryDocuments(request)
        ids = [json_format.MessageToDict(d.content)["goal_id"] for d in reply.documents]
        return ids, reply.next_page_token

    async def page(
        self, owner: str, page_size: int, status: str, page_token: str
    ) -> tuple[list[GoalView], str]:
        """A page of the owner's goals, newest first, in ``status`` if one is given.

        A goal's status is in its stream only, so a filtered page reads the owner's goals in
        turn and keeps those in it. Each read asks L01 for as many as the page still lacks, so
        no goal read is left between two pages. A page stops after ``SCAN_LIMIT`` goals or
        ``SCAN_QUERIES`` queries, and may then hold fewer than ``page_size``, with the token to
        go on from.
        """
        found: list[GoalView] = []
        token, read, queries = page_token, 0, 0
        while len(found) < page_size:
            ids, token = await self.list_ids(owner, page_size - len(found), token)
            views = await asyncio.gather(*(self.load(goal_id) for goal_id in ids))
            found += [view for view in views if not status or view.status == status]
            read, queries = read + len(ids), queries + 1
            if not status or not token or read >= SCAN_LIMIT or queries >= SCAN_QUERIES:
                break
        return found, token
