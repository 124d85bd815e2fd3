"""kill -9 mid-goal: of the planning process, of the runtime process, of the Temporal dev
server. The goal goes on from
Temporal's history: the task that completed before the kill is not run again, and the tool
call made before it is not repeated (the tool appends to a file of its run's workspace; a
later step of the same run counts the lines). And of the planning process while a goal waits
for its approval, decided while it is down."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from agentic.planning.v1 import goals_pb2 as pb
from agentic.planning.v1 import goals_pb2_grpc
from agentic.runtime.v1 import agents_pb2 as agents_pb
from agentic.runtime.v1 import agents_pb2_grpc
from agentic.supervision.v1 import approvals_pb2 as ap_pb
from agentic.supervision.v1 import approvals_pb2_grpc as ap_grpc
from services.kit import open_channel
from services.l05_planning.agent_runs import agent_id_of
from tests.conftest import RunningMesh
from tests.l02.conftest import RuntimeProcess, ScriptedModel, call_tool, finish
from tests.l05.conftest import PlanningProcess
from tests.l05.test_goals import ended, new_goal_id, plan, task
from tests.support import DEV_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.l05, pytest.mark.slow]

COUNT = "print(open('count.txt').read().count('x'))"


async def tool_steps(runtime: RuntimeProcess, agent_id: str) -> list[Any]:
    async with open_channel(runtime.target, token=DEV_TOKEN) as channel:
        agents = agents_pb2_grpc.AgentServiceStub(channel)
        reply = await agents.GetAgent(agents_pb.GetAgentRequest(name=f"agents/{agent_id}"))
    return [step for step in reply.run.steps if step.kind == "tool"]


async def goal_survives(
    planning: PlanningProcess,
    runtime: RuntimeProcess,
    model: ScriptedModel,
    crash: Callable[[], None],
) -> None:
    """a (append, then count, then finish) then b; the crash comes after a's append, while
    its model thinks about the count; a second crash point is b's run, a having completed."""
    goal_id = new_goal_id()
    model.scripts[f"planner-{goal_id}"] = [plan(task("a", tools=["python_exec"]), task("b", "a"))]
    first, second = agent_id_of(goal_id, "a", 1), agent_id_of(goal_id, "b", 1)
    model.scripts[first] = [
        call_tool("python_exec", code="open('count.txt', 'a').write('x')"),
        call_tool("python_exec", code=COUNT),
        finish("a done"),
    ]
    model.scripts[second] = [finish("b done")]
    gate_a, gate_b = asyncio.Event(), asyncio.Event()
    model.gates[first] = {2: gate_a}
    model.gates[second] = {1: gate_b}
    async with open_channel(planning.target, token=DEV_TOKEN) as channel:
        goals = goals_pb2_grpc.GoalServiceStub(channel)
        await goals.CreateGoal(
            pb.CreateGoalRequest(
                goal="count once", goal_id=goal_id, constraints=pb.Constraints(fresh_plan=True)
            )
        )
    deadline = time.monotonic() + 120
    while len(model.requests.get(first, [])) < 2:  # a's append ran; its model is asked again
        assert time.monotonic() < deadline, "task a did not reach its second step"
        await asyncio.sleep(0.2)
    crash()
    gate_a.set()
    while second not in model.requests:  # a completed, b is running
        assert time.monotonic() < deadline, "task b did not start"
        await asyncio.sleep(0.2)
    crash()
    gate_b.set()
    async with open_channel(planning.target, token=DEV_TOKEN) as channel:
        goal = await ended(goals_pb2_grpc.GoalServiceStub(channel), goal_id, seconds=180)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason
    assert [(t.id, t.attempts) for t in goal.tasks] == [("a", 1), ("b", 1)]
    assert agent_id_of(goal_id, "a", 2) not in model.requests  # a was not run again
    steps = await tool_steps(runtime, first)
    assert [s.text for s in steps] == ["", "1\n"], steps  # the append ran once
    assert "b done" in goal.result


async def test_kill_9_of_the_planning_layer_mid_goal(
    scripted_planning: PlanningProcess,
    scripted_runtime: RuntimeProcess,
    scripted_model: tuple[ScriptedModel, int],
) -> None:
    def crash() -> None:
        scripted_planning.kill()
        scripted_planning.start()

    await goal_survives(scripted_planning, scripted_runtime, scripted_model[0], crash)


async def test_kill_9_of_the_runtime_mid_goal(
    scripted_planning: PlanningProcess,
    scripted_runtime: RuntimeProcess,
    scripted_model: tuple[ScriptedModel, int],
) -> None:
    def crash() -> None:
        scripted_runtime.kill()
        scripted_runtime.start()

    await goal_survives(scripted_planning, scripted_runtime, scripted_model[0], crash)


async def test_kill_9_of_the_temporal_server_mid_goal(
    mesh: RunningMesh,
    scripted_planning: PlanningProcess,
    scripted_runtime: RuntimeProcess,
    scripted_model: tuple[ScriptedModel, int],
) -> None:
    """The session mesh's Temporal dev server keeps its state in a SQLite file: supervisord
    starts it again after the kill, and the workers reconnect."""

    def crash() -> None:
        [temporal] = [c for c in mesh.mesh.status() if c.name == "temporal"]
        assert temporal.pid is not None
        os.kill(temporal.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while any(c.name == "temporal" and c.pid == temporal.pid for c in mesh.mesh.status()):
            assert time.monotonic() < deadline, "supervisord did not notice the kill"
            time.sleep(0.2)
        mesh.mesh.start_component("temporal", timeout=120)

    await goal_survives(scripted_planning, scripted_runtime, scripted_model[0], crash)


async def test_a_goal_approved_while_the_planning_layer_is_down_goes_on(
    gateway_channel: Any,
    scripted_planning: PlanningProcess,
    scripted_model: tuple[ScriptedModel, int],
) -> None:
    """kill -9 of L05 while a goal waits for its L08 approval; the approval is decided while
    L05 is down (so no follower sees it), then L05 starts again: the workflow finds the
    decision in the approval's stream on its next look, and the plan runs once."""
    model = scripted_model[0]
    goal_id = new_goal_id()
    model.scripts[f"planner-{goal_id}"] = [plan(task("a"))]
    model.scripts[agent_id_of(goal_id, "a", 1)] = [finish("a done")]
    async with open_channel(scripted_planning.target, token=DEV_TOKEN) as channel:
        goals = goals_pb2_grpc.GoalServiceStub(channel)
        await goals.CreateGoal(
            pb.CreateGoalRequest(
                goal="wait for me",
                goal_id=goal_id,
                constraints=pb.Constraints(require_approval=True, fresh_plan=True),
            )
        )
        approval = ""
        deadline = time.monotonic() + 120
        while not approval:
            assert time.monotonic() < deadline, "the goal did not wait for its approval"
            found = (await goals.GetGoal(pb.GetGoalRequest(name=f"goals/{goal_id}"))).goal
            approval = found.approval.removeprefix("approvals/")
            await asyncio.sleep(0.2)
    scripted_planning.kill()
    await ap_grpc.ApprovalServiceStub(gateway_channel).Approve(
        ap_pb.ApproveRequest(id=approval, comment="while L05 was down")
    )
    scripted_planning.start()
    async with open_channel(scripted_planning.target, token=DEV_TOKEN) as channel:
        goal = await ended(goals_pb2_grpc.GoalServiceStub(channel), goal_id, seconds=180)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason
    assert [(t.id, t.attempts) for t in goal.tasks] == [("a", 1)]
    assert len(model.requests[agent_id_of(goal_id, "a", 1)]) == 1
