"""L05 against real processes: a planning process and a runtime process pointed at a scripted
model (plans and answers on cue), the session mesh's L01, L03 and Temporal."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from agentic.models.v1 import models_pb2 as models_pb
from agentic.planning.v1 import goals_pb2 as pb
from agentic.planning.v1 import goals_pb2_grpc
from agentic.runtime.v1 import agents_pb2 as agents_pb
from agentic.runtime.v1 import agents_pb2_grpc
from services.kit import open_channel
from services.kit.auth import PRINCIPAL_HEADER
from services.l05_planning.agent_runs import agent_id_of
from tests.conftest import RunningMesh
from tests.l02.conftest import Refused, RuntimeProcess, ScriptedModel, decision, finish
from tests.l05.conftest import PlanningProcess
from tests.support import DEV_TOKEN, platform_code

pytestmark = [pytest.mark.integration, pytest.mark.l05]

FINAL = {pb.GOAL_STATUS_COMPLETED, pb.GOAL_STATUS_FAILED, pb.GOAL_STATUS_CANCELLED}


@pytest.fixture
async def agents(scripted_runtime: RuntimeProcess) -> AsyncIterator[Any]:
    async with open_channel(scripted_runtime.target, token=DEV_TOKEN) as channel:
        yield agents_pb2_grpc.AgentServiceStub(channel)


def task(task_id: str, *dependencies: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": task_id,
        "description": f"do {task_id}",
        "role": "software-engineer",
        "dependencies": list(dependencies),
        **fields,
    }


def plan(*tasks: dict[str, Any]) -> models_pb.GenerateResponse:
    return decision({"tasks": list(tasks)}, tokens=100)


def not_json(text: str) -> models_pb.GenerateResponse:
    reply = models_pb.GenerateResponse(model="scripted/model", provider="scripted", content=text)
    reply.usage.output_tokens = 10
    return reply


def bogus() -> models_pb.GenerateResponse:
    """An answer the agent loop cannot use: the run ends BUDGET_EXHAUSTED after its steps."""
    return decision({"action": "dance"})


def new_goal_id() -> str:
    return f"g{uuid.uuid4().hex[:10]}"


async def submit(
    goals: Any, model: ScriptedModel, answers: list[Any], goal: str = "build it", **constraints: Any
) -> str:
    """A goal planned by the model's ``answers`` (so never with an earlier goal's plan, unless
    ``fresh_plan=False`` is given)."""
    goal_id = new_goal_id()
    model.scripts[f"planner-{goal_id}"] = answers
    constraints.setdefault("fresh_plan", True)
    reply = await goals.CreateGoal(
        pb.CreateGoalRequest(goal=goal, goal_id=goal_id, constraints=pb.Constraints(**constraints))
    )
    assert reply.goal.status == pb.GOAL_STATUS_PLANNING and reply.goal.name == f"goals/{goal_id}"
    return goal_id


async def ended(
    goals: Any, goal_id: str, seconds: float = 90, metadata: tuple[tuple[str, str], ...] = ()
) -> pb.Goal:
    for _ in range(int(seconds * 10)):
        request = pb.GetGoalRequest(name=f"goals/{goal_id}")
        goal = (await goals.GetGoal(request, metadata=metadata)).goal
        if goal.status in FINAL:
            return goal
        await asyncio.sleep(0.1)
    raise AssertionError(f"goal {goal_id} did not end: {goal}")


async def event_log(goals: Any, goal_id: str) -> list[tuple[str, str]]:
    """(type, task) of each event of the goal, in order."""
    found = []
    async for event in goals.WatchGoal(pb.WatchGoalRequest(name=f"goals/{goal_id}")):
        found.append((event.type, event.data["task"] if "task" in event.data else ""))
    return found


def script_agents(model: ScriptedModel, goal_id: str, answers: dict[str, list[Any]]) -> None:
    for task_id, replies in answers.items():
        for attempt, reply in enumerate(replies, start=1):
            model.scripts[agent_id_of(goal_id, task_id, attempt)] = [reply]


# -- the plan ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (plan(task("a", "b"), task("b", "a")), "the dependencies have a cycle: a -> b -> a"),
        (plan(task("a", "ghost")), "task a: depends on 'ghost', which is no task"),
        (plan(task("a", skills=["telepathy"])), "task a.skills: unknown skill 'telepathy'"),
        (plan(task("a", tools=["teleport"])), "task a.tools: unknown or forbidden tool 'teleport'"),
        (plan(), "the plan has no tasks"),
        (plan(*[task(f"t{i}") for i in range(101)]), "the plan has 101 tasks; at most 100"),
        (not_json("Sure! First, we think."), "the answer is not JSON"),
    ],
    ids=[
        "cycle",
        "missing-dependency",
        "unknown-skill",
        "unknown-tool",
        "empty",
        "101",
        "non-json",
    ],
)
async def test_a_plan_refused_twice_fails_with_e5001_and_nothing_runs(
    goals: Any, scripted_model: tuple[ScriptedModel, int], answer: Any, reason: str
) -> None:
    model = scripted_model[0]
    goal_id = await submit(goals, model, [answer, answer])
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_FAILED
    assert goal.reason.startswith("E5001") and reason in goal.reason
    assert any(reason in problem for problem in goal.plan_problems)
    assert goal.usage.planning_calls == 2 and not goal.tasks
    log = await event_log(goals, goal_id)
    assert [kind for kind, _ in log] == ["goal.created", "goal.plan_refused", "goal.finished"]
    # The repair request named the reasons.
    repair = model.requests[f"planner-{goal_id}"][-1].messages[-1].content
    assert repair.startswith("That plan was refused") and reason in repair


async def test_plan_answers_l04_refused_fail_the_goal_and_their_tokens_count(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    """L04 refusing both answers (off the schema after its own repair) is a plan refused
    twice; the tokens its refusals name are the goal's usage."""
    goal_id = await submit(goals, scripted_model[0], [Refused(300, 200), Refused(300, 200)])
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_FAILED and goal.reason.startswith("E5001")
    assert "the model layer refused the answer" in goal.reason
    assert goal.usage.planning_calls == 2 and goal.usage.tokens == 1000 and not goal.tasks


async def test_a_plan_repaired_on_the_second_answer_runs(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal_id = await submit(
        goals, model, [plan(task("a", "b"), task("b", "a")), plan(task("a"), task("b", "a"))]
    )
    script_agents(model, goal_id, {"a": [finish("A done")], "b": [finish("B done")]})
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason
    assert goal.usage.planning_calls == 2 and [t.id for t in goal.tasks] == ["a", "b"]
    assert "cycle" in model.requests[f"planner-{goal_id}"][1].messages[-1].content
    assert "B done" in goal.result and goal.tasks[1].output == "B done"


async def test_a_task_with_no_role_or_an_unknown_one_gets_its_role_from_l13(
    goals: Any, agents: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    nameless = task("a", description="Find why the login page crashes with a stack trace")
    del nameless["role"]
    review = task("b", "a", role="wizard", description="Review the pull request's code changes")
    goal_id = await submit(goals, model, [plan(nameless, review)])
    script_agents(model, goal_id, {"a": [finish("found it")], "b": [finish("looks good")]})
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason
    roles = {t.id: t.role for t in goal.tasks}
    # L13's shipped roles, as its ClassifyTask ranks them for these two descriptions.
    assert roles == {"a": "debugger", "b": "code-reviewer"}
    agent = await agents.GetAgent(
        agents_pb.GetAgentRequest(name=f"agents/{agent_id_of(goal_id, 'a', 1)}")
    )
    assert agent.agent.role == "debugger"


async def test_the_plan_request_names_l13s_roles_and_l14s_skills(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal_id = await submit(goals, model, [plan(task("a", skills=["python", "code_review"]))])
    script_agents(model, goal_id, {"a": [finish("done")]})
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason  # both are L14 skills
    assert list(goal.tasks[0].skills) == ["python", "code_review"]
    request = model.requests[f"planner-{goal_id}"][0]
    names = request.response_schema["$defs"]
    assert {"debugger", "architect"} <= set(names["role"]["enum"])
    assert {"python", "code_review"} <= set(names["skill"]["enum"])


# -- the DAG ---------------------------------------------------------------------------------------


async def test_a_diamond_runs_in_dependency_order_with_the_middle_in_parallel(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal_id = new_goal_id()
    model.scripts[f"planner-{goal_id}"] = [
        plan(task("a"), task("b", "a"), task("c", "a"), task("d", "b", "c"))
    ]
    script_agents(
        model, goal_id, {name: [finish(f"output of {name}")] for name in ("a", "b", "c", "d")}
    )
    # b's agent answers only once c has finished: both must be running at the same time.
    gate = asyncio.Event()
    model.gates[agent_id_of(goal_id, "b", 1)] = {1: gate}
    await goals.CreateGoal(pb.CreateGoalRequest(goal="diamond", goal_id=goal_id))
    for _ in range(600):
        goal = (await goals.GetGoal(pb.GetGoalRequest(name=f"goals/{goal_id}"))).goal
        states = {t.id: t.state for t in goal.tasks}
        if states.get("c") == pb.TASK_STATE_COMPLETED:
            break
        await asyncio.sleep(0.1)
    assert states["b"] == pb.TASK_STATE_RUNNING and states["d"] == pb.TASK_STATE_PENDING
    gate.set()
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason
    log = [entry for entry in await event_log(goals, goal_id) if entry[1]]
    position = {entry: index for index, entry in enumerate(log)}
    assert position[("goal.task_finished", "a")] < position[("goal.task_started", "b")]
    assert position[("goal.task_finished", "a")] < position[("goal.task_started", "c")]
    assert position[("goal.task_started", "b")] < position[("goal.task_finished", "c")]
    assert position[("goal.task_finished", "b")] < position[("goal.task_started", "d")]
    assert position[("goal.task_finished", "c")] < position[("goal.task_started", "d")]
    # d's agent was given b's and c's outputs; the result is d's.
    task_d = model.requests[agent_id_of(goal_id, "d", 1)][0].messages[0].content
    assert "output of b" in task_d and "output of c" in task_d
    assert "output of d" in goal.result and "output of b" not in goal.result


async def test_parallelism_is_limited_by_the_constraint(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal_id = new_goal_id()
    model.scripts[f"planner-{goal_id}"] = [plan(task("a"), task("b"), task("c"))]
    gate = asyncio.Event()
    model.gates[agent_id_of(goal_id, "a", 1)] = {1: gate}
    await goals.CreateGoal(
        pb.CreateGoalRequest(
            goal="three", goal_id=goal_id, constraints=pb.Constraints(max_parallelism=1)
        )
    )
    for _ in range(100):
        goal = (await goals.GetGoal(pb.GetGoalRequest(name=f"goals/{goal_id}"))).goal
        if goal.tasks and goal.tasks[0].state == pb.TASK_STATE_RUNNING:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # room for a wrongly started second task to show
    goal = (await goals.GetGoal(pb.GetGoalRequest(name=f"goals/{goal_id}"))).goal
    assert [t.state for t in goal.tasks] == [
        pb.TASK_STATE_RUNNING,
        pb.TASK_STATE_PENDING,
        pb.TASK_STATE_PENDING,
    ]
    gate.set()
    assert (await ended(goals, goal_id)).status == pb.GOAL_STATUS_COMPLETED


async def test_a_failed_attempt_is_retried_on_a_new_agent(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal_id = await submit(goals, model, [plan(task("a"))])
    script_agents(model, goal_id, {"a": [bogus(), finish("second time lucky")]})
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason
    assert goal.tasks[0].attempts == 2 and goal.tasks[0].output == "second time lucky"
    assert goal.tasks[0].agent == f"agents/{agent_id_of(goal_id, 'a', 2)}"


async def test_a_task_failing_all_its_attempts_fails_the_goal_naming_it(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal_id = await submit(
        goals, model, [plan(task("a"), task("b", "a"), task("c", "b"))], max_task_attempts=2
    )
    script_agents(model, goal_id, {"b": [bogus(), bogus(), finish("too late")]})
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_FAILED
    assert goal.reason.startswith("task b failed: attempt 2:") and "BUDGET_EXHAUSTED" in goal.reason
    states = {t.id: t.state for t in goal.tasks}
    assert states == {
        "a": pb.TASK_STATE_COMPLETED,
        "b": pb.TASK_STATE_FAILED,
        "c": pb.TASK_STATE_SKIPPED,
    }
    assert goal.tasks[1].attempts == 2
    assert agent_id_of(goal_id, "b", 3) not in model.requests  # no third attempt
    assert agent_id_of(goal_id, "c", 1) not in model.requests  # nothing after the failure


# -- control -------------------------------------------------------------------------------------


async def test_cancel_terminates_the_running_agents(
    goals: Any, agents: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal_id = await submit(goals, model, [plan(task("a"), task("b", "a"))])
    agent_id = agent_id_of(goal_id, "a", 1)
    gate = asyncio.Event()
    model.gates[agent_id] = {1: gate}
    for _ in range(300):
        if agent_id in model.requests:
            break
        await asyncio.sleep(0.1)
    await goals.CancelGoal(pb.CancelGoalRequest(name=f"goals/{goal_id}", reason="changed my mind"))
    goal = await ended(goals, goal_id)
    gate.set()
    assert goal.status == pb.GOAL_STATUS_CANCELLED and goal.reason == "changed my mind"
    assert [t.state for t in goal.tasks] == [pb.TASK_STATE_SKIPPED, pb.TASK_STATE_SKIPPED]
    agent = (await agents.GetAgent(agents_pb.GetAgentRequest(name=f"agents/{agent_id}"))).agent
    assert agent.state == agents_pb.AGENT_STATE_TERMINATED
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await goals.CancelGoal(pb.CancelGoalRequest(name=f"goals/{goal_id}"))
    assert platform_code(again.value) == "E5006"


async def test_approve_is_refused_when_nothing_waits(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal_id = await submit(goals, model, [plan(task("a"))])
    model.gates[agent_id_of(goal_id, "a", 1)] = {1: asyncio.Event()}
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await goals.ApproveGoal(pb.ApproveGoalRequest(name=f"goals/{goal_id}"))
    assert platform_code(refused.value) == "E5007"
    await goals.CancelGoal(pb.CancelGoalRequest(name=f"goals/{goal_id}"))
    model.gates[agent_id_of(goal_id, "a", 1)][1].set()
    assert (await ended(goals, goal_id)).status == pb.GOAL_STATUS_CANCELLED


async def test_a_plan_over_the_token_budget_is_refused_before_anything_runs(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal_id = await submit(
        goals, model, [plan(task("a"), task("b", "a"))], token_budget=130, max_task_attempts=1
    )
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_FAILED
    assert "plan's estimated 8000 tokens" in goal.reason  # refused before anything ran
    assert not goal.tasks


# -- listing -------------------------------------------------------------------------------------


async def test_goals_are_listed_newest_first_in_pages_and_filtered_by_status_across_them(
    mesh: RunningMesh, scripted_planning: PlanningProcess, scripted_model: tuple[ScriptedModel, int]
) -> None:
    """Seven goals of a caller of their own (four failed, three completed): pages of three
    hold each goal once, newest first; the failed ones are all found through pages of two,
    though the newest three are not failed; a token is good for its own listing only."""
    model = scripted_model[0]
    # The scripted planning process is not behind Envoy: send what Envoy would, the service
    # token naming the caller.
    service_token = (mesh.settings.home / "service_token").read_text().strip()
    owner = f"lister-{uuid.uuid4().hex[:8]}"
    as_owner = ((PRINCIPAL_HEADER, owner),)
    async with open_channel(scripted_planning.target, token=service_token) as channel:
        goals = goals_pb2_grpc.GoalServiceStub(channel)
        created = []
        for i in range(7):
            goal_id = new_goal_id()
            if i < 4:  # refused twice: FAILED at once
                model.scripts[f"planner-{goal_id}"] = [not_json("no"), not_json("no")]
            else:
                model.scripts[f"planner-{goal_id}"] = [plan(task("a"))]
                script_agents(model, goal_id, {"a": [finish(f"done {i}")]})
            await goals.CreateGoal(
                pb.CreateGoalRequest(
                    goal=f"goal {i}", goal_id=goal_id, constraints=pb.Constraints(fresh_plan=True)
                ),
                metadata=as_owner,
            )
            await ended(goals, goal_id, metadata=as_owner)
            created.append(goal_id)

        async def listing(page_size: int, status: int = 0, token: str = "") -> list[list[str]]:
            pages = []
            while True:
                reply = await goals.ListGoals(
                    pb.ListGoalsRequest(page_size=page_size, status=status, page_token=token),
                    metadata=as_owner,
                )
                assert len(reply.goals) <= page_size
                assert all(g.owner == owner for g in reply.goals)
                pages.append([g.name.removeprefix("goals/") for g in reply.goals])
                token = reply.next_page_token
                if not token:
                    return pages

        pages = await listing(3)
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [goal for page in pages for goal in page] == created[::-1]
        failed = await listing(2, pb.GOAL_STATUS_FAILED)
        assert [goal for page in failed for goal in page] == created[3::-1]
        assert len(failed) >= 2

        first = await goals.ListGoals(pb.ListGoalsRequest(page_size=3), metadata=as_owner)
        for token in ("not-a-token", first.next_page_token):
            metadata = as_owner if token == "not-a-token" else ((PRINCIPAL_HEADER, "someone"),)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await goals.ListGoals(
                    pb.ListGoalsRequest(page_size=3, page_token=token), metadata=metadata
                )
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert platform_code(refused.value) == "E5003"
            assert "page_token" in (refused.value.details() or "")
