"""Agents and runs kept in L01: the agent's event stream, and projections for fast reads.

Every change is an event appended to ``agent-{id}`` with the version it was decided on
(optimistic concurrency). The agent's projection document (``collections/agents``) is
written by the same L01 call, in the append's transaction (``AppendEventsWithDocuments``): a
reader of the projection sees the change once the call answers, and one L01 call and commit
serve both. Steps of a run are appended without their projection; a projection behind its
stream is caught up from the stream when loaded. Within this process, changes to one agent
are serialised by a lock, so the API and the run activities never race each other.
Runs (task, status, steps, answer) are projection documents in ``collections/agent_runs``,
written with the event that starts or ends the run, in the same call.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import replace
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
from services.l02_runtime import agents, errors
from services.l02_runtime.agents import AgentView

AGENTS = "agents"
RUNS = "agent_runs"
# Run documents to write with an append, given the agent it makes: run id -> body.
RunDocuments = Callable[[AgentView], dict[str, dict[str, Any]]]
_EVENT_IDS = uuid.UUID("5b0f8a0e-3f7e-4f55-9a56-0d2f6f4b7a11")  # namespace of derived ids
_STEP_TEXT_CHARS = 4000


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stream_of(agent_id: str) -> str:
    return f"agent-{agent_id}"


def derived_event_id(*parts: str) -> str:
    """A stable event id: a retried write of the same thing is the same event."""
    return str(uuid.uuid5(_EVENT_IDS, "/".join(parts)))


class AgentStore:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._events = events_grpc.EventStoreServiceStub(channel)
        self._documents = docs_grpc.DocumentServiceStub(channel)
        self._views: dict[str, AgentView] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, agent_id: str) -> asyncio.Lock:
        return self._locks.setdefault(agent_id, asyncio.Lock())

    # -- agents ------------------------------------------------------------------------------

    async def create(self, view: AgentView) -> AgentView:
        created = replace(view, version=0)
        document = created.to_document()
        data = {"spec": document["spec"], "owner": view.owner, "tenant": view.tenant}
        try:
            created_event = [(agents.CREATED, data, "")]
            await self._append(
                view.agent_id, -1, created_event, {_agent_name(view.agent_id): document}
            )
        except grpc.aio.AioRpcError as error:
            if platform_code_of(error) == "E1005":
                raise PlatformError(
                    errors.AGENT_EXISTS, f"agent {view.agent_id} exists", field="agent_id"
                ) from None
            raise
        return created

    async def load(self, agent_id: str) -> AgentView:
        """The agent, caught up with its stream (404 E2003 if there is none)."""
        cached = self._views.get(agent_id)
        if cached is not None:
            return cached
        view = await self._load_document(agent_id)
        view = await self._catch_up(view)
        self._views[agent_id] = view
        return view

    async def change(
        self,
        agent_id: str,
        decide: Callable[[AgentView], list[tuple[str, dict[str, Any], str]]],
        project: bool = True,
        runs: RunDocuments | None = None,
    ) -> AgentView:
        """Appends the events ``decide`` returns for the current agent, folds them in and
        (unless ``project`` is false) projects the result. ``decide`` raises to refuse; each
        event is (type, data, id). ``runs`` gives, for the changed agent, run documents
        (run id -> body) to write with the events."""
        async with self.lock(agent_id):
            view = await self.load(agent_id)
            try:
                return await self._change_once(view, decide, project, runs)
            except grpc.aio.AioRpcError as error:
                if platform_code_of(error) != "E1005":
                    raise
                self._views.pop(agent_id, None)  # another process wrote: start again once
                return await self._change_once(await self.load(agent_id), decide, project, runs)

    async def _change_once(
        self,
        view: AgentView,
        decide: Callable[[AgentView], list[tuple[str, dict[str, Any], str]]],
        project: bool,
        runs: RunDocuments | None,
    ) -> AgentView:
        """One attempt of ``change`` on ``view``: the events follow its version, so the
        agent they make is known before the append that writes it with its projection."""
        events = decide(view)
        if not events:
            return view
        changed, time = view, now()
        for offset, (event_type, data, _) in enumerate(events):
            changed = agents.apply(changed, event_type, data, view.version + 1 + offset, time)
        documents = {_agent_name(view.agent_id): changed.to_document()} if project else {}
        for run_id, body in (runs(changed) if runs else {}).items():
            documents[self._run_name(view.agent_id, run_id)] = body
        first = await self._append(view.agent_id, view.version, events, documents)
        if first != view.version + 1:  # a replay of an earlier append: read what it made
            self._views.pop(view.agent_id, None)
            replayed = await self.load(view.agent_id)
            # A replay writes no documents, and the attempt it replays may have been one
            # that wrote its run documents apart (before they went with the events).
            for run_id, body in (runs(replayed) if runs else {}).items():
                await self.put_run(view.agent_id, run_id, body)
            return replayed
        self._views[view.agent_id] = changed
        return changed

    async def record_step(self, agent_id: str, data: dict[str, Any], event_id: str) -> AgentView:
        """Appends a step of a run (idempotent by ``event_id``). The projection is left for
        the run's end: this process reads the agent from memory meanwhile, and a loader
        catches up from the stream, so a step costs one write."""
        event = (agents.STEP_RECORDED, data, event_id)
        return await self.change(agent_id, lambda _: [event], project=False)

    async def list_agents(
        self, page_size: int, page_token: str, state: str, role: str
    ) -> tuple[list[AgentView], str]:
        request = docs_pb.QueryDocumentsRequest(
            parent=f"collections/{AGENTS}", page_size=page_size, page_token=page_token
        )
        for field, value in (("state", state), ("spec.role", role)):
            if value:
                condition = request.filters.add(field=field, op=query_pb2.Filter.OPERATOR_EQUAL)
                condition.value.string_value = value
        request.order_by.add(field="create_time", descending=True)
        reply = await self._documents.QueryDocuments(request)
        views = [
            AgentView.from_document(json_format.MessageToDict(d.content)) for d in reply.documents
        ]
        return views, reply.next_page_token

    # -- runs --------------------------------------------------------------------------------

    async def put_run(self, agent_id: str, run_id: str, body: dict[str, Any]) -> None:
        """A run's summary (task, status, answer, where its events start); written when it
        starts and when it ends: its steps are read from the agent's stream."""
        request = docs_pb.PutDocumentRequest(name=self._run_name(agent_id, run_id))
        request.content.update(body)
        await self._documents.PutDocument(request)

    async def get_run(self, agent_id: str, run_id: str) -> dict[str, Any] | None:
        try:
            reply = await self._documents.GetDocument(
                docs_pb.GetDocumentRequest(name=self._run_name(agent_id, run_id))
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return json_format.MessageToDict(reply.document.content)

    async def run_steps(
        self, agent_id: str, run_id: str, from_version: int
    ) -> list[dict[str, Any]]:
        """The steps of a run, from its events (which start at ``from_version``)."""
        steps: list[dict[str, Any]] = []
        next_version = from_version
        while True:
            events, next_version, last = await self.read_events(agent_id, next_version)
            for event in events:
                data = json_format.MessageToDict(event.data)
                if data.get("run") != run_id:
                    continue
                if event.type == agents.RUN_FINISHED:
                    return steps
                if event.type == agents.STEP_RECORDED:
                    steps.append(step_entry(data))
            if not events or next_version > last:
                return steps

    # -- the stream --------------------------------------------------------------------------

    async def read_events(
        self, agent_id: str, from_version: int, max_count: int = 500
    ) -> tuple[list[Any], int, int]:
        """Events from ``from_version``: (events, next version, last version)."""
        try:
            reply = await self._events.ReadStream(
                events_pb.ReadStreamRequest(
                    stream_id=stream_of(agent_id), from_version=from_version, max_count=max_count
                )
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                raise PlatformError(errors.AGENT_NOT_FOUND, f"no agent {agent_id}") from None
            raise
        return list(reply.events), reply.next_version, reply.last_version

    async def _append(
        self,
        agent_id: str,
        expected: int,
        events: list[tuple[str, dict[str, Any], str]],
        documents: dict[str, dict[str, Any]] | None = None,
    ) -> int:
        """Appends ``events`` and puts ``documents`` (name -> content: the agent's projection,
        run documents) in the same transaction; returns the version of the first event."""
        request = events_pb.AppendEventsRequest(
            stream_id=stream_of(agent_id), expected_version=expected
        )
        for event_type, data, event_id in events:
            event = request.events.add(type=event_type, id=event_id)
            event.data.update(data)
        if not documents:
            reply = await self._events.AppendEvents(request)
            return int(reply.first_version)
        both = events_pb.AppendEventsWithDocumentsRequest(append=request)
        for name, content in documents.items():
            both.documents.add(name=name).content.update(content)
        answer = await self._events.AppendEventsWithDocuments(both)
        return int(answer.appended.first_version)

    async def _load_document(self, agent_id: str) -> AgentView:
        try:
            reply = await self._documents.GetDocument(
                docs_pb.GetDocumentRequest(name=_agent_name(agent_id))
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is not grpc.StatusCode.NOT_FOUND:
                raise
            return await self._fold_stream(agent_id)
        return AgentView.from_document(json_format.MessageToDict(reply.document.content))

    async def _fold_stream(self, agent_id: str) -> AgentView:
        """The agent from its stream alone (its projection was never written)."""
        events, _, _ = await self.read_events(agent_id, 0, max_count=1)
        if not events or events[0].type != agents.CREATED:
            raise PlatformError(errors.AGENT_NOT_FOUND, f"no agent {agent_id}")
        data = json_format.MessageToDict(events[0].data)
        time = events[0].recorded_at.ToJsonString()
        view = AgentView.from_document(
            {
                "agent_id": agent_id,
                "spec": data["spec"],
                "owner": data["owner"],
                "tenant": data.get("tenant", data["owner"]),
                "state": agents.State.CREATED.value,
                "create_time": time,
                "update_time": time,
                "version": 0,
                "tool_calls": 0,
                "tokens_used": 0,
            }
        )
        return await self._catch_up(view)

    async def _catch_up(self, view: AgentView) -> AgentView:
        next_version = view.version + 1
        while True:
            events, next_version, last = await self.read_events(view.agent_id, next_version)
            for event in events:
                data = json_format.MessageToDict(event.data)
                time = event.recorded_at.ToJsonString()
                view = agents.apply(view, event.type, data, event.stream_version, time)
            if not events or next_version > last:
                return view

    @staticmethod
    def _run_name(agent_id: str, run_id: str) -> str:
        return f"collections/{RUNS}/documents/{agent_id}.{run_id}"


def started_run(task: str, start_version: int) -> dict[str, Any]:
    """A run's document as it starts; ``start_version``: its ``run.started`` event, which its
    steps follow."""
    return {"task": task, "status": "RUNNING", "start_time": now(), "start_version": start_version}


def _agent_name(agent_id: str) -> str:
    return f"collections/{AGENTS}/documents/{agent_id}"


def step_entry(data: dict[str, Any]) -> dict[str, Any]:
    """A step as kept in its run's projection (long outputs cut)."""
    entry = dict(data)
    entry["text"] = str(entry.get("text", ""))[:_STEP_TEXT_CHARS]
    return entry
