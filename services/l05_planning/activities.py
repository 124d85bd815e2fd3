"""The activities of a goal: plan it (L04, checked by the validator), run a task on an L02
agent, record an event on the goal's stream (L01).

Calls go out with the service token and the goal owner's identity, so the other layers'
limits and ownership rules apply to the owner. A task's agent id and run idempotency key are
derived from the goal, the task and the attempt, so an activity retried after a crash finds
the agent and the run it started instead of starting another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import json_format
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agentic.models.v1 import models_pb2 as models_pb
from agentic.models.v1 import models_pb2_grpc as models_grpc
from agentic.runtime.v1 import agents_pb2 as agents_pb
from agentic.runtime.v1 import agents_pb2_grpc as agents_grpc
from agentic.tools.v1 import tools_pb2 as tools_pb
from agentic.tools.v1 import tools_pb2_grpc as tools_grpc
from services.kit.auth import PRINCIPAL_HEADER
from services.l05_planning import events, plan
from services.l05_planning.goal_types import (
    GoalEvent,
    GoalSpec,
    PlanResult,
    TaskInput,
    TaskOutcome,
    TaskSpec,
)
from services.l05_planning.store import GoalStore
from services.l05_planning.workflow import PLAN, RECORD, RUN_TASK

# Room for a plan of a few tasks; more makes a local model too slow (L04 cuts it at 120 s).
_PLAN_ANSWER_TOKENS = 768
_HEARTBEAT_SECONDS = 2.0
_CONTEXT_CHARS = 8_000  # of each dependency's output given to a task
# Answers of the model layer meaning "this answer or request is unusable": fed back as a
# problem of the plan, not retried.
_REFUSALS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
_DONE = {agents_pb.RUN_STATUS_COMPLETED}
_ENDED = {
    agents_pb.RUN_STATUS_COMPLETED,
    agents_pb.RUN_STATUS_BUDGET_EXHAUSTED,
    agents_pb.RUN_STATUS_CANCELLED,
    agents_pb.RUN_STATUS_FAILED,
}


@contextlib.asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    """Heartbeats while a slow call is out (a local model may think for a minute), so the
    activity is not timed out, and a dead worker's activity is still retried quickly."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(_HEARTBEAT_SECONDS)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


def _as_owner(owner: str) -> tuple[tuple[str, str], ...]:
    return ((PRINCIPAL_HEADER, owner),)


def agent_id_of(goal_id: str, task_id: str, attempt: int) -> str:
    """The agent of one attempt of a task (at most 64 characters, as L02 allows)."""
    return f"{goal_id[:24]}-{task_id[:32]}-{attempt}"


def task_prompt(task: TaskSpec, context: list[tuple[str, str]]) -> str:
    """The task as its agent reads it: what to do, how it is judged, what it builds on."""
    parts = [task.description]
    if task.acceptance_criteria:
        parts.append("Done when:\n" + "\n".join(f"- {c}" for c in task.acceptance_criteria))
    for dependency, output in context:
        parts.append(f"Output of task {dependency}:\n{output[:_CONTEXT_CHARS]}")
    return "\n\n".join(parts)


class GoalActivities:
    def __init__(
        self,
        store: GoalStore,
        models: models_grpc.ModelServiceStub,
        tools: tools_grpc.ToolServiceStub,
        agents: agents_grpc.AgentServiceStub,
        poll_seconds: float,
    ) -> None:
        self._store = store
        self._models = models
        self._tools = tools
        self._agents = agents
        self._poll = poll_seconds

    def all(self) -> list[Any]:
        return [self.plan_goal, self.run_task, self.record]

    @activity.defn(name=RECORD)
    async def record(self, event: GoalEvent) -> None:
        await self._store.append(event.goal_id, event.type, json.loads(event.data_json), event.key)

    @activity.defn(name=PLAN)
    async def plan_goal(self, spec: GoalSpec) -> PlanResult:
        tools = await self.usable_tools(spec)
        validator = plan.PlanValidator(tools, spec.token_budget)
        request = models_pb.GenerateRequest(
            system=plan.planning_prompt(tools),
            max_tokens=_PLAN_ANSWER_TOKENS,
            agent_id=f"planner-{spec.goal_id}",
        )
        request.response_schema.update(plan.plan_schema(tools))
        request.messages.add(role="user", content=spec.goal)
        tokens = 0
        verdict = plan.Verdict([], [])
        for call in (1, 2):
            try:
                async with _heartbeating():
                    reply = await self._models.Generate(request, metadata=_as_owner(spec.owner))
            except grpc.aio.AioRpcError as error:
                if error.code() not in _REFUSALS:
                    raise
                verdict = plan.Verdict(
                    [], [f"the model layer refused the answer: {error.details()}"]
                )
                answer = ""
            else:
                tokens += reply.usage.input_tokens + reply.usage.output_tokens
                answer = reply.content
                if reply.HasField("structured"):
                    verdict = validator.check(json_format.MessageToDict(reply.structured))
                else:
                    verdict = validator.check_text(reply.content)
            if verdict.valid:
                tasks = [TaskSpec(**task.to_dict()) for task in verdict.tasks]
                return PlanResult(tasks, [], tokens, call)
            request.messages.add(role="assistant", content=answer or "(no usable answer)")
            request.messages.add(role="user", content=plan.repair_message(verdict.problems))
        return PlanResult([], verdict.problems, tokens, 2)

    async def usable_tools(self, spec: GoalSpec) -> list[str]:
        """L03's registered tools, narrowed by the goal's allowed and forbidden lists."""
        names: list[str] = []
        token = ""
        while True:
            reply = await self._tools.ListTools(
                tools_pb.ListToolsRequest(page_size=200, page_token=token),
                metadata=_as_owner(spec.owner),
            )
            names.extend(tool.name.removeprefix("tools/") for tool in reply.tools)
            token = reply.next_page_token
            if not token:
                break
        allowed = set(spec.allowed_tools) if spec.allowed_tools else set(names)
        return sorted(set(names) & allowed - set(spec.forbidden_tools))

    @activity.defn(name=RUN_TASK)
    async def run_task(self, given: TaskInput) -> TaskOutcome:
        spec, task = given.goal, given.task
        attempt = activity.info().attempt
        agent_id = agent_id_of(spec.goal_id, task.id, attempt)
        metadata = _as_owner(spec.owner)
        await self._create_agent(agent_id, given, metadata)
        await self._store.append(
            spec.goal_id,
            events.TASK_STARTED,
            {"task": task.id, "attempt": attempt, "agent": f"agents/{agent_id}"},
            f"{events.TASK_STARTED}/{task.id}/{attempt}",
        )
        started = await self._agents.RunAgent(
            agents_pb.RunAgentRequest(
                name=f"agents/{agent_id}",
                task=task_prompt(task, given.context),
                idempotency_key=f"goal-{spec.goal_id}-{task.id}-{attempt}",
            ),
            metadata=metadata,
        )
        try:
            run = await self._follow(started.run.name, metadata)
        except asyncio.CancelledError:
            await self._agents.TerminateAgent(
                agents_pb.TerminateAgentRequest(
                    name=f"agents/{agent_id}", reason="the goal was cancelled"
                ),
                metadata=metadata,
            )
            raise
        if run.status not in _DONE:
            status = agents_pb.RunStatus.Name(run.status).removeprefix("RUN_STATUS_")
            raise ApplicationError(
                f"attempt {attempt}: the agent's run ended {status}: {run.reason}",
                type="TaskFailed",
            )
        return TaskOutcome(task.id, run.answer, run.tokens_used, attempt, f"agents/{agent_id}")

    async def _create_agent(
        self, agent_id: str, given: TaskInput, metadata: tuple[tuple[str, str], ...]
    ) -> None:
        task = given.task
        agent = agents_pb.Agent(
            display_name=f"{given.goal.goal_id[:40]} / {task.id}"[:128],
            role=task.role,
            skills=task.skills,
            allowed_tools=task.tools,
        )
        agent.budgets.max_tokens = given.tokens_left
        try:
            await self._agents.CreateAgent(
                agents_pb.CreateAgentRequest(agent=agent, agent_id=agent_id), metadata=metadata
            )
        except grpc.aio.AioRpcError as error:
            # ALREADY_EXISTS: this attempt created it before a crash; carry on with it.
            if error.code() is not grpc.StatusCode.ALREADY_EXISTS:
                raise

    async def _follow(self, run_name: str, metadata: tuple[tuple[str, str], ...]) -> Any:
        """Polls the run until it ends, heartbeating so a cancel reaches this activity."""
        while True:
            activity.heartbeat()
            reply = await self._agents.GetRun(
                agents_pb.GetRunRequest(name=run_name), metadata=metadata
            )
            if reply.run.status in _ENDED:
                return reply.run
            await asyncio.sleep(self._poll)
