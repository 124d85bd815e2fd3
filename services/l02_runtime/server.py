"""AgentService: maps the RPCs to the agent store and the run workflows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from agentic.runtime.v1 import agents_pb2 as pb
from agentic.runtime.v1 import agents_pb2_grpc
from services.kit import PlatformError, current_caller
from services.kit.upstream import page_token_passed_on
from services.l02_runtime import agents, convert, errors
from services.l02_runtime.agents import AgentView, State
from services.l02_runtime.run_types import RunSpec
from services.l02_runtime.store import AgentStore, derived_event_id, now, started_run
from services.l02_runtime.workflow import AgentRun

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AgentService"].full_name
_WATCH_POLL_SECONDS = 0.25
_PAGE_MAX = 500


def workflow_id(agent_id: str, run_id: str) -> str:
    return f"agent-{agent_id}-run-{run_id}"


class AgentServicer(agents_pb2_grpc.AgentServiceServicer):
    def __init__(self, store: AgentStore, temporal: Client, task_queue: str) -> None:
        self._store = store
        self._temporal = temporal
        self._queue = task_queue

    # -- resources ---------------------------------------------------------------------------

    async def CreateAgent(
        self, request: pb.CreateAgentRequest, context: Any
    ) -> pb.CreateAgentResponse:
        if not request.HasField("agent"):
            raise PlatformError(errors.INVALID_ARGUMENT, "agent: required", field="agent")
        spec = convert.spec_from(request.agent)
        convert.check_new_id(request.agent_id)
        agent_id = request.agent_id or uuid.uuid4().hex[:16]
        time = now()
        caller = current_caller()
        view = await self._store.create(
            agents.created(agent_id, spec, caller.principal, caller.tenant, time)
        )
        return pb.CreateAgentResponse(agent=convert.agent_message(view))

    async def GetAgent(self, request: pb.GetAgentRequest, context: Any) -> pb.GetAgentResponse:
        view = await self._owned(convert.agent_id_of(request.name))
        reply = pb.GetAgentResponse(agent=convert.agent_message(view))
        if view.current_run:
            run = await self._run(view.agent_id, view.current_run)
            if run is not None:
                reply.run.CopyFrom(run)
        return reply

    async def _run(self, agent_id: str, run_id: str) -> pb.Run | None:
        body = await self._store.get_run(agent_id, run_id)
        if body is None:
            return None
        steps = await self._store.run_steps(agent_id, run_id, int(body.get("start_version", 0)))
        return convert.run_message(agent_id, run_id, body, steps)

    async def ListAgents(
        self, request: pb.ListAgentsRequest, context: Any
    ) -> pb.ListAgentsResponse:
        if not 0 <= request.page_size <= _PAGE_MAX:
            raise PlatformError(
                errors.INVALID_ARGUMENT, f"page_size: must be 0-{_PAGE_MAX}", field="page_size"
            )
        if len(request.role) > 64:
            raise PlatformError(
                errors.INVALID_ARGUMENT, "role: at most 64 characters", field="role"
            )
        state = ""
        if request.state:
            state = pb.AgentState.Name(request.state).removeprefix("AGENT_STATE_")
        convert.check_text("role", request.role)
        with page_token_passed_on(request.page_token, errors.INVALID_ARGUMENT):
            views, token = await self._store.list_agents(
                request.page_size or 50, request.page_token, state, request.role
            )
        return pb.ListAgentsResponse(
            agents=[convert.agent_message(view) for view in views], next_page_token=token
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def PauseAgent(
        self, request: pb.PauseAgentRequest, context: Any
    ) -> pb.PauseAgentResponse:
        view = await self._move(convert.agent_id_of(request.name), State.PAUSED, "paused", "pause")
        return pb.PauseAgentResponse(agent=convert.agent_message(view))

    async def ResumeAgent(
        self, request: pb.ResumeAgentRequest, context: Any
    ) -> pb.ResumeAgentResponse:
        view = await self._move(
            convert.agent_id_of(request.name), State.RUNNING, "resumed", "resume"
        )
        return pb.ResumeAgentResponse(agent=convert.agent_message(view))

    async def TerminateAgent(
        self, request: pb.TerminateAgentRequest, context: Any
    ) -> pb.TerminateAgentResponse:
        if len(request.reason) > 1000:
            raise PlatformError(
                errors.INVALID_ARGUMENT, "reason: at most 1,000 characters", field="reason"
            )
        agent_id = convert.agent_id_of(request.name)
        view = await self._move(agent_id, State.TERMINATED, request.reason or "terminated", None)
        if view.run_active:
            await self._cancel_run(agent_id, view.current_run)
        return pb.TerminateAgentResponse(agent=convert.agent_message(view))

    async def _move(
        self, agent_id: str, target: State, reason: str, signal: str | None
    ) -> AgentView:
        await self._owned(agent_id)

        def decide(view: AgentView) -> list[tuple[str, dict[str, Any], str]]:
            agents.transition(view, target)
            return [(agents.STATE_CHANGED, {"state": target.value, "reason": reason}, "")]

        view = await self._store.change(agent_id, decide)
        if signal is not None and view.run_active:
            await self._signal(agent_id, view.current_run, signal)
        return view

    # -- runs --------------------------------------------------------------------------------

    async def RunAgent(self, request: pb.RunAgentRequest, context: Any) -> pb.RunAgentResponse:
        agent_id = convert.agent_id_of(request.name)
        convert.check_task(request.task)
        convert.check_idempotency_key(request.idempotency_key)
        if len(request.workspace) > 64:
            raise PlatformError(
                errors.INVALID_ARGUMENT, "workspace: at most 64 characters", field="workspace"
            )
        view = await self._owned(agent_id)
        run_id = (
            derived_event_id(agent_id, request.idempotency_key)[:16].replace("-", "")
            if request.idempotency_key
            else uuid.uuid4().hex[:16]
        )
        if view.current_run == run_id:  # a retry of the call that started it
            run = await self._run(agent_id, run_id) or pb.Run(name=f"{request.name}/runs/{run_id}")
            return pb.RunAgentResponse(run=run, agent=convert.agent_message(view))
        self.check_can_run(view)
        spec = self._run_spec(view, run_id, request)

        def decide(current: AgentView) -> list[tuple[str, dict[str, Any], str]]:
            self.check_can_run(current)
            return [
                (
                    agents.RUN_STARTED,
                    {"run": run_id, "task": request.task[:2000]},
                    derived_event_id(agent_id, run_id, "start"),
                )
            ]

        written: dict[str, dict[str, Any]] = {}  # the run's document, written with its start

        def document(started: AgentView) -> dict[str, dict[str, Any]]:
            written[run_id] = started_run(request.task, started.version)
            return written

        view = await self._store.change(agent_id, decide, runs=document)
        body = written[run_id]
        try:
            await self._temporal.start_workflow(
                AgentRun.run,
                spec,
                id=workflow_id(agent_id, run_id),
                task_queue=self._queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        except RPCError as error:
            raise PlatformError(
                errors.ENGINE_UNAVAILABLE, f"cannot start the run: {error}"
            ) from error
        return pb.RunAgentResponse(
            run=convert.run_message(agent_id, run_id, body, []), agent=convert.agent_message(view)
        )

    @staticmethod
    def check_can_run(view: AgentView) -> None:
        if view.state in agents.FINAL or view.state is State.PAUSED:
            raise PlatformError(
                errors.ILLEGAL_TRANSITION,
                f"agent {view.agent_id} is {view.state.value}: it cannot run a task",
                metadata={"state": view.state.value, "target": State.RUNNING.value},
            )
        if view.run_active:
            raise PlatformError(
                errors.RUN_IN_PROGRESS,
                f"agent {view.agent_id} is running agents/{view.agent_id}/runs/{view.current_run}",
            )
        spent = view.budget_left()
        if spent is not None:
            raise PlatformError(errors.BUDGET_SPENT, f"agent {view.agent_id}: {spent}")

    @staticmethod
    def _run_spec(view: AgentView, run_id: str, request: pb.RunAgentRequest) -> RunSpec:
        spec = view.spec
        budgets = spec.budgets
        return RunSpec(
            agent_id=view.agent_id,
            run_id=run_id,
            owner=view.owner,
            tenant=view.tenant or view.owner,
            task=request.task,
            role=spec.role,
            skills=list(spec.skills),
            instructions=spec.instructions,
            model=spec.model,
            strategy=spec.strategy,
            temperature=spec.temperature,
            max_answer_tokens=spec.max_answer_tokens,
            allowed_tools=list(spec.allowed_tools),
            workspace=request.workspace or f"{view.agent_id}-{run_id}",
            max_steps=budgets.max_steps,
            tokens_left=budgets.max_tokens - view.tokens_used,
            cost_left_usd=(budgets.max_cost_usd - view.cost_usd) if budgets.max_cost_usd else 0.0,
            max_wall_seconds=budgets.max_wall_seconds,
        )

    async def GetRun(self, request: pb.GetRunRequest, context: Any) -> pb.GetRunResponse:
        agent_id, run_id = convert.run_of(request.name)
        await self._owned(agent_id)
        run = await self._run(agent_id, run_id)
        if run is None:
            raise PlatformError(errors.RUN_NOT_FOUND, f"no run {request.name}")
        return pb.GetRunResponse(run=run)

    async def WatchAgent(
        self, request: pb.WatchAgentRequest, context: Any
    ) -> AsyncIterator[pb.WatchAgentResponse]:
        agent_id = convert.agent_id_of(request.name)
        if request.from_version < 0:
            raise PlatformError(
                errors.INVALID_ARGUMENT, "from_version: must be >= 0", field="from_version"
            )
        view = await self._owned(agent_id)
        next_version = request.from_version - 1 if request.from_version else view.version + 1
        while True:
            events, next_version, last = await self._store.read_events(agent_id, next_version)
            for event in events:
                yield convert.event_message(event)
            if events and next_version <= last:
                continue  # more already recorded
            current = await self._store.load(agent_id)
            if current.state in agents.FINAL and not current.run_active and next_version > last:
                return
            await asyncio.sleep(_WATCH_POLL_SECONDS)

    # -- helpers -----------------------------------------------------------------------------

    async def _owned(self, agent_id: str) -> AgentView:
        """The agent, if the caller owns it or acts as an admin."""
        view = await self._store.load(agent_id)
        caller = current_caller()
        if view.owner != caller.principal and not caller.admin:
            raise PlatformError(errors.AGENT_NOT_FOUND, f"no agent {agent_id}")
        return view

    def _handle(self, agent_id: str, run_id: str) -> WorkflowHandle[Any, Any]:
        return self._temporal.get_workflow_handle(workflow_id(agent_id, run_id))

    async def _signal(self, agent_id: str, run_id: str, signal: str) -> None:
        try:
            await self._handle(agent_id, run_id).signal(signal)
        except RPCError as error:
            if "already completed" not in str(error).lower():
                raise PlatformError(
                    errors.ENGINE_UNAVAILABLE, f"cannot {signal} the run: {error}"
                ) from error

    async def _cancel_run(self, agent_id: str, run_id: str) -> None:
        try:
            await self._handle(agent_id, run_id).cancel()
        except RPCError as error:
            if "already completed" not in str(error).lower():
                raise PlatformError(
                    errors.ENGINE_UNAVAILABLE, f"cannot cancel the run: {error}"
                ) from error


def register(servicer: AgentServicer) -> Any:
    return lambda server: agents_pb2_grpc.add_AgentServiceServicer_to_server(servicer, server)
