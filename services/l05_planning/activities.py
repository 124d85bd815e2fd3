"""The activities of a goal: plan it (the plan of an earlier similar goal from the plan
library, else L04, roles from L13, skills from L14, checked by the validator), open its
approval (L08) when its constraints require one, create a task attempt's L02 agent,
terminate it on cancel, record an event on the goal's stream (L01), put a completed goal's
plan in the plan library.

Calls go out with the service token and the goal owner's identity, so the other layers'
limits and ownership rules apply to the owner. A task attempt's agent id is derived from the
goal, the task and the attempt, so an activity retried after a crash finds the agent it
created instead of creating another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
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
from services.kit.errors import spent_on
from services.l05_planning import agent_runs, events, plan, reuse
from services.l05_planning.goal_types import (
    ApprovalAsk,
    ApprovalRef,
    CompletedPlan,
    GoalEvent,
    GoalSpec,
    KnownNames,
    PlanInput,
    PlanOrigin,
    PlanResult,
    TaskInput,
    TaskSpec,
    TaskStart,
    TaskStopped,
)
from services.l05_planning.plan_library import PlanLibrary, PlanTooLarge
from services.l05_planning.roles_and_skills import RolesAndSkills
from services.l05_planning.store import GoalStore
from services.l05_planning.supervision import Supervision
from services.l05_planning.workflow import (
    KNOWN_NAMES,
    OPEN_APPROVAL,
    PLAN,
    RECORD,
    REMEMBER_PLAN,
    START_TASK,
    STOP_TASK,
)

log = structlog.get_logger("l05.activities")

# Room for a plan of a few tasks; more makes a local model too slow (L04 cuts it at 120 s).
_PLAN_ANSWER_TOKENS = 768
_HEARTBEAT_SECONDS = 2.0
_CONTEXT_CHARS = 8_000  # of each dependency's output given to a task
# Answers of the model layer meaning "this answer or request is unusable": fed back as a
# problem of the plan, not retried.
_REFUSALS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
# Answers of L08 to a request for an approval that asking again would not change.
_FINAL_REFUSALS = (*_REFUSALS, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)
# Answers worth asking again (the plan library's writes are retried on these only).
_TRANSIENT = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
)


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


def task_prompt(task: TaskSpec, context: list[tuple[str, str]]) -> str:
    """The task as its agent reads it: what to do, how it is judged, what it builds on."""
    parts = [task.description]
    if task.acceptance_criteria:
        parts.append("Done when:\n" + "\n".join(f"- {c}" for c in task.acceptance_criteria))
    for dependency, output in context:
        parts.append(f"Output of task {dependency}:\n{output[:_CONTEXT_CHARS]}")
    return "\n\n".join(parts)


@dataclass(frozen=True)
class ReusePolicy:
    """Whether plans are reused at all, and the similarity a candidate needs."""

    enabled: bool
    threshold: float


class GoalActivities:
    def __init__(
        self,
        store: GoalStore,
        models: models_grpc.ModelServiceStub,
        tools: tools_grpc.ToolServiceStub,
        agents: agents_grpc.AgentServiceStub,
        team: RolesAndSkills,
        supervision: Supervision,
        library: PlanLibrary,
        policy: ReusePolicy,
    ) -> None:
        self._store = store
        self._models = models
        self._tools = tools
        self._agents = agents
        self._team = team
        self._supervision = supervision
        self._library = library
        self._policy = policy
        self._difference = reuse.GoalDifference()

    def all(self) -> list[Any]:
        return [
            self.known_names,
            self.plan_goal,
            self.open_approval,
            self.start_task,
            self.stop_task,
            self.record,
            self.remember_plan,
        ]

    @activity.defn(name=RECORD)
    async def record(self, event: GoalEvent) -> None:
        await self._store.append(event.goal_id, event.type, json.loads(event.data_json), event.key)

    @activity.defn(name=KNOWN_NAMES)
    async def known_names(self, spec: GoalSpec) -> KnownNames:
        metadata = _as_owner(spec.owner)
        return KnownNames(
            await self.usable_tools(spec),
            await self._team.role_names(metadata),
            await self._team.skill_names(metadata),
        )

    @activity.defn(name=PLAN)
    async def plan_goal(self, given: PlanInput) -> PlanResult:
        spec = given.goal
        tools, roles, skills = given.names.tools, given.names.roles, given.names.skills
        validator = plan.PlanValidator(tools, spec.token_budget, roles, skills)
        async with _heartbeating():
            decision = await self._reuse(spec, validator)
        origin = PlanOrigin(decision.reused_from, decision.similarity, decision.reason)
        if decision.tasks is not None:  # reused: no planning call
            return PlanResult([TaskSpec(**task) for task in decision.tasks], [], 0, 0, origin)
        request = models_pb.GenerateRequest(
            system=plan.planning_prompt(tools, roles),
            max_tokens=_PLAN_ANSWER_TOKENS,
            agent_id=f"planner-{spec.goal_id}",
        )
        request.response_schema.update(plan.plan_schema(tools, roles, skills))
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
                tokens += spent_on(error)[0]  # a refused answer was paid for all the same
                verdict = plan.Verdict(
                    [], [f"the model layer refused the answer: {error.details()}"]
                )
                answer = ""
            else:
                tokens += reply.usage.input_tokens + reply.usage.output_tokens
                answer = reply.content
                parsed = answer_of(reply)
                verdict = (
                    validator.check_text(reply.content)  # names why it is not JSON
                    if parsed is None
                    else validator.check(await self._with_roles(parsed, roles, spec))
                )
            if verdict.valid:
                tasks = [TaskSpec(**task.to_dict()) for task in verdict.tasks]
                return PlanResult(tasks, [], tokens, call, origin)
            request.messages.add(role="assistant", content=answer or "(no usable answer)")
            request.messages.add(role="user", content=plan.repair_message(verdict.problems))
        return PlanResult([], verdict.problems, tokens, 2, origin)

    async def _reuse(self, spec: GoalSpec, validator: plan.PlanValidator) -> reuse.Decision:
        """The decision on the nearest earlier goal's plan; a library that cannot be searched
        means planning afresh, not a failed goal."""
        if spec.fresh_plan:
            return reuse.Decision(None, None, "the goal asked for a fresh plan (fresh_plan)")
        if not self._policy.enabled:
            return reuse.Decision(None, None, "plan reuse is turned off (L05_PLAN_REUSE)")
        try:
            vector, model = await self._library.embed(spec.goal, spec.owner)
            candidate = await self._library.nearest(spec.owner, vector, model)
        except grpc.aio.AioRpcError as error:
            why = f"{error.code().name}: {error.details()}"
            log.warning("plan_library.unavailable", goal=spec.goal_id, error=why)
            return reuse.Decision(None, None, f"the plan library could not be searched ({why})")
        except ValueError as error:  # a stored plan that is not JSON: ignored, not fatal
            why = f"a stored plan is unreadable: {error}"
            log.warning("plan_library.unreadable", goal=spec.goal_id, error=why)
            return reuse.Decision(None, None, f"the plan library could not be searched ({why})")
        return reuse.decide(
            spec.goal, candidate, self._policy.threshold, self._difference, validator
        )

    @activity.defn(name=REMEMBER_PLAN)
    async def remember_plan(self, completed: CompletedPlan) -> None:
        """Puts a completed goal's plan in the library (not with reuse turned off). Refusals
        are not retried: only an unreachable layer is."""
        if not self._policy.enabled:
            return
        spec = completed.goal
        tasks = [dict(task.__dict__) for task in completed.tasks]
        try:
            await self._library.remember(spec.goal_id, spec.owner, spec.goal, tasks)
        except PlanTooLarge as error:
            log.info("plan_library.not_remembered", goal=spec.goal_id, reason=str(error))
        except grpc.aio.AioRpcError as error:
            if error.code() in _TRANSIENT:
                raise
            why = f"{error.code().name}: {error.details()}"
            log.warning("plan_library.not_remembered", goal=spec.goal_id, reason=why)

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

    async def _with_roles(self, answer: object, roles: list[str], spec: GoalSpec) -> object:
        """The plan with a role from L13 for each task the model gave none or an unknown one."""
        missing = plan.tasks_without_known_role(answer, roles)
        if not missing or not isinstance(answer, dict):
            return answer
        metadata = _as_owner(spec.owner)
        found = {
            index: await self._team.classify(description, metadata)
            for index, description in missing.items()
        }
        return plan.with_roles(answer, {index: role for index, role in found.items() if role})

    @activity.defn(name=OPEN_APPROVAL)
    async def open_approval(self, ask: ApprovalAsk) -> ApprovalRef:
        """Opens the goal's approval in L08 (or finds the one a previous attempt opened)."""
        try:
            return await self._supervision.open(ask)
        except grpc.aio.AioRpcError as error:
            if error.code() in _FINAL_REFUSALS:
                message = f"L08 refused to open the goal's approval: {error.details()}"
                raise ApplicationError(message, non_retryable=True) from None
            raise

    @activity.defn(name=START_TASK)
    async def start_task(self, given: TaskInput) -> TaskStart:
        """Creates the attempt's agent and records the attempt; the run is the workflow's
        child, started next."""
        spec, task = given.goal, given.task
        agent_id = agent_runs.agent_id_of(spec.goal_id, task.id, given.attempt)
        agent = await self._create_agent(agent_id, given, _as_owner(spec.owner))
        await self._store.append(
            spec.goal_id,
            events.TASK_STARTED,
            {"task": task.id, "attempt": given.attempt, "agent": agent.name},
            f"{events.TASK_STARTED}/{task.id}/{given.attempt}",
        )
        run_id = agent_runs.run_id_of(agent_id)
        return TaskStart(
            agent.name,
            agent_runs.workflow_id_of(agent_id, run_id),
            agent_runs.run_input(agent, run_id, task_prompt(task, given.context)),
        )

    @activity.defn(name=STOP_TASK)
    async def stop_task(self, given: TaskStopped) -> None:
        """Terminates a cancelled task's agent (its run was cancelled with the goal)."""
        try:
            await self._agents.TerminateAgent(
                agents_pb.TerminateAgentRequest(name=given.agent, reason=given.reason),
                metadata=_as_owner(given.owner),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is not grpc.StatusCode.FAILED_PRECONDITION:  # already final
                raise

    async def _create_agent(
        self, agent_id: str, given: TaskInput, metadata: tuple[tuple[str, str], ...]
    ) -> agents_pb.Agent:
        task = given.task
        agent = agents_pb.Agent(
            display_name=f"{given.goal.goal_id[:40]} / {task.id}"[:128],
            role=task.role,
            skills=task.skills,
            allowed_tools=task.tools,
        )
        agent.budgets.max_tokens = given.tokens_left
        try:
            reply = await self._agents.CreateAgent(
                agents_pb.CreateAgentRequest(agent=agent, agent_id=agent_id), metadata=metadata
            )
        except grpc.aio.AioRpcError as error:
            # ALREADY_EXISTS: this attempt created it before a crash; carry on with it.
            if error.code() is not grpc.StatusCode.ALREADY_EXISTS:
                raise
            found = await self._agents.GetAgent(
                agents_pb.GetAgentRequest(name=f"agents/{agent_id}"), metadata=metadata
            )
            return found.agent
        return reply.agent


def answer_of(reply: models_pb.GenerateResponse) -> object | None:
    """The model's plan: its structured answer, else its text parsed as JSON; None when the
    text is not JSON."""
    if reply.HasField("structured"):
        return json_format.MessageToDict(reply.structured)
    try:
        parsed: object = json.loads(reply.content)
    except ValueError:
        return None
    return parsed
