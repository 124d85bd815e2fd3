"""A goal with require_approval waits for an approval in L08, through real processes: the
scripted planning and runtime processes (see conftest.py) with the session mesh's L01, L08
(its approvals decided through Envoy, REST and gRPC, as a person would), L03 and Temporal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import duration_pb2

from agentic.planning.v1 import goals_pb2 as pb
from agentic.planning.v1 import goals_pb2_grpc
from agentic.supervision.v1 import approvals_pb2 as ap_pb
from agentic.supervision.v1 import approvals_pb2_grpc as ap_grpc
from agentic.supervision.v1 import resources_pb2 as res_pb
from services.kit import open_channel
from services.kit.auth import PRINCIPAL_HEADER, ROLES_HEADER
from services.l05_planning.agent_runs import agent_id_of
from tests.conftest import RunningMesh
from tests.l02.conftest import ScriptedModel, finish
from tests.l05.conftest import PlanningProcess
from tests.l05.test_goals import ended, event_log, plan, submit, task
from tests.support import platform_code

pytestmark = [pytest.mark.integration, pytest.mark.l05, pytest.mark.l08]


@pytest.fixture
def approvals(gateway_channel: grpc.aio.Channel) -> ap_grpc.ApprovalServiceStub:
    """L08 through Envoy with the development token (an admin, principal "dev")."""
    return ap_grpc.ApprovalServiceStub(gateway_channel)


@pytest.fixture
async def goals(scripted_planning: PlanningProcess) -> AsyncIterator[Any]:
    async with open_channel(scripted_planning.target, token="dev_key_local_ONLY") as channel:
        yield goals_pb2_grpc.GoalServiceStub(channel)


async def waiting(goals: Any, goal_id: str, seconds: float = 90) -> pb.Goal:
    """The goal once it waits for its approval."""
    for _ in range(int(seconds * 10)):
        goal = (await goals.GetGoal(pb.GetGoalRequest(name=f"goals/{goal_id}"))).goal
        if goal.status == pb.GOAL_STATUS_WAITING_APPROVAL:
            return goal
        assert goal.status in (pb.GOAL_STATUS_PLANNING, pb.GOAL_STATUS_RUNNING), goal
        await asyncio.sleep(0.1)
    raise AssertionError(f"goal {goal_id} did not wait for an approval")


def approval_id(goal: pb.Goal) -> str:
    assert goal.approval.startswith("approvals/"), goal.approval
    return goal.approval.removeprefix("approvals/")


async def two_tasks_waiting(goals: Any, model: ScriptedModel, **constraints: Any) -> pb.Goal:
    plan_ = plan(task("a", tools=["python_exec"]), task("b", "a"))
    goal_id = await submit(goals, model, [plan_], require_approval=True, **constraints)
    model.scripts[agent_id_of(goal_id, "a", 1)] = [finish("a done")]
    model.scripts[agent_id_of(goal_id, "b", 1)] = [finish("b done")]
    goal = await waiting(goals, goal_id)
    assert [t.state for t in goal.tasks] == [pb.TASK_STATE_PENDING] * 2
    return goal


def goal_id_of(goal: pb.Goal) -> str:
    return goal.name.removeprefix("goals/")


def nothing_ran(model: ScriptedModel, goal_id: str) -> bool:
    return all(agent_id_of(goal_id, t, 1) not in model.requests for t in ("a", "b"))


async def test_approved_in_l08_the_goal_runs_its_plan_once(
    goals: Any,
    approvals: ap_grpc.ApprovalServiceStub,
    rest: httpx.AsyncClient,
    scripted_model: tuple[ScriptedModel, int],
) -> None:
    model = scripted_model[0]
    goal = await two_tasks_waiting(goals, model)
    goal_id, opened = goal_id_of(goal), approval_id(goal)
    await asyncio.sleep(1.0)  # waiting, nothing runs
    assert nothing_ran(model, goal_id)
    shown = (await approvals.GetApproval(ap_pb.GetApprovalRequest(id=opened))).approval
    assert shown.state == res_pb.APPROVAL_STATE_PENDING
    assert (shown.action, shown.requester, shown.request_id) == (
        "execute_plan",
        "dev",
        f"goal-{goal_id}",
    )
    assert (shown.principal.type, shown.principal.id) == ("User", "dev")
    assert (shown.resource.type, shown.resource.id) == ("Goal", goal_id)
    summary = dict(shown.context)
    assert summary["goal"] == "build it" and summary["owner"] == "dev"
    assert [t["id"] for t in summary["tasks"]] == ["a", "b"]
    assert list(summary["roles"]) == ["software-engineer"]
    assert list(summary["tools"]) == ["python_exec"]
    decided = await rest.post(f"/v1/approvals/{opened}:approve", json={"comment": "looks right"})
    assert decided.status_code == 200, decided.text
    done = await ended(goals, goal_id)
    assert done.status == pb.GOAL_STATUS_COMPLETED, done.reason
    assert done.approval == f"approvals/{opened}"
    assert [(t.id, t.attempts) for t in done.tasks] == [("a", 1), ("b", 1)]
    assert len(model.requests[agent_id_of(goal_id, "a", 1)]) == 1  # a ran once
    log = await event_log(goals, goal_id)
    assert [kind for kind, _ in log].count("goal.approved") == 1
    assert log.index(("goal.approved", "")) < log.index(("goal.task_started", "a"))
    async for event in goals.WatchGoal(pb.WatchGoalRequest(name=f"goals/{goal_id}")):
        if event.type == "goal.approved":
            assert (event.data["by"], event.data["comment"]) == ("dev", "looks right")
    # The same request finds the same approval: the goal's key names one.
    again = await approvals.RequestApproval(
        ap_pb.RequestApprovalRequest(
            action="execute_plan",
            principal=res_pb.Entity(type="User", id="dev"),
            resource=res_pb.Entity(type="Goal", id=goal_id),
            reasons=["again"],
            request_id=f"goal-{goal_id}",
        )
    )
    assert (again.approval.id, again.approval.state) == (opened, res_pb.APPROVAL_STATE_APPROVED)


async def test_rejected_in_l08_the_goal_is_cancelled_naming_who_and_why(
    goals: Any, approvals: ap_grpc.ApprovalServiceStub, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal = await two_tasks_waiting(goals, model)
    goal_id, opened = goal_id_of(goal), approval_id(goal)
    await approvals.Reject(ap_pb.RejectRequest(id=opened, comment="too costly this week"))
    done = await ended(goals, goal_id)
    assert done.status == pb.GOAL_STATUS_CANCELLED
    assert done.reason == f"approval {opened} was rejected by dev: too costly this week"
    assert [t.state for t in done.tasks] == [pb.TASK_STATE_SKIPPED] * 2
    assert nothing_ran(model, goal_id)
    assert "goal.approved" not in [kind for kind, _ in await event_log(goals, goal_id)]
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await goals.ApproveGoal(pb.ApproveGoalRequest(name=goal.name))
    assert platform_code(late.value) == "E5006"


async def test_an_approval_nobody_decides_expires_with_the_goals_wall_time(
    goals: Any, approvals: ap_grpc.ApprovalServiceStub, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    wall = duration_pb2.Duration(seconds=6)
    goal_id = await submit(
        goals, model, [plan(task("a"))], require_approval=True, wall_time_limit=wall
    )
    done = await ended(goals, goal_id, seconds=60)
    opened = approval_id(done)
    assert done.status == pb.GOAL_STATUS_CANCELLED
    assert done.reason == f"approval {opened} expired before anyone decided"
    assert nothing_ran(model, goal_id)
    expired = (await approvals.GetApproval(ap_pb.GetApprovalRequest(id=opened))).approval
    assert (expired.state, expired.decided_by, expired.comment) == (
        res_pb.APPROVAL_STATE_REJECTED,
        "l08_supervision",
        "expired",
    )
    lived = expired.expire_time.ToDatetime() - expired.create_time.ToDatetime()
    assert timedelta(0) < lived <= timedelta(seconds=6)


async def test_approve_goal_decides_the_l08_approval_in_the_callers_name(
    goals: Any, approvals: ap_grpc.ApprovalServiceStub, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    goal = await two_tasks_waiting(goals, model)
    goal_id, opened = goal_id_of(goal), approval_id(goal)
    reply = await goals.ApproveGoal(pb.ApproveGoalRequest(name=goal.name, comment="via L05"))
    assert reply.goal.approval == f"approvals/{opened}"
    decided = (await approvals.GetApproval(ap_pb.GetApprovalRequest(id=opened))).approval
    assert (decided.state, decided.decided_by, decided.comment) == (
        res_pb.APPROVAL_STATE_APPROVED,
        "dev",
        "via L05",
    )
    done = await ended(goals, goal_id)
    assert done.status == pb.GOAL_STATUS_COMPLETED, done.reason
    # One record, one decision: L08 refuses a second one.
    with pytest.raises(grpc.aio.AioRpcError) as twice:
        await approvals.Approve(ap_pb.ApproveRequest(id=opened))
    assert platform_code(twice.value) == "E8006"


async def test_approve_goal_refuses_bad_input_and_callers_l08_does_not_let_decide(
    goals: Any,
    approvals: ap_grpc.ApprovalServiceStub,
    mesh: RunningMesh,
    scripted_planning: PlanningProcess,
    scripted_model: tuple[ScriptedModel, int],
) -> None:
    model = scripted_model[0]
    goal = await two_tasks_waiting(goals, model)
    opened = approval_id(goal)
    cases = [
        (pb.ApproveGoalRequest(name="goals/nope-404"), "E5004", grpc.StatusCode.NOT_FOUND),
        (pb.ApproveGoalRequest(name="nope"), "E5003", grpc.StatusCode.INVALID_ARGUMENT),
        (
            pb.ApproveGoalRequest(name=goal.name, comment="x" * 1001),
            "E5003",
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ]
    for request, code, status in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await goals.ApproveGoal(request)
        assert (platform_code(refused.value), refused.value.code()) == (code, status)
    async with open_channel(scripted_planning.target, token=None) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await goals_pb2_grpc.GoalServiceStub(channel).ApproveGoal(
                pb.ApproveGoalRequest(name=goal.name)
            )
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert platform_code(anonymous.value) == "E5002"
    # The goal's owner as the gateway forwards a caller who may submit goals but not approve
    # (the goal_operator role): L05 has no say, L08's rule refuses, nothing is decided. The
    # scripted planning process is not behind the session's Envoy, so this test sends what
    # Envoy would: the service token naming the caller and its roles.
    service_token = (mesh.settings.home / "service_token").read_text().strip()
    async with open_channel(scripted_planning.target, token=service_token) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as operator:
            await goals_pb2_grpc.GoalServiceStub(channel).ApproveGoal(
                pb.ApproveGoalRequest(name=goal.name, comment="mine"),
                metadata=((PRINCIPAL_HEADER, "dev"), (ROLES_HEADER, "goal_operator")),
            )
    assert operator.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert platform_code(operator.value) == "E5010"
    still = (await approvals.GetApproval(ap_pb.GetApprovalRequest(id=opened))).approval
    assert still.state == res_pb.APPROVAL_STATE_PENDING
    await goals.CancelGoal(pb.CancelGoalRequest(name=goal.name, reason="done testing"))
    assert (await ended(goals, goal_id_of(goal))).status == pb.GOAL_STATUS_CANCELLED


async def test_request_approval_refuses_bad_input(
    approvals: ap_grpc.ApprovalServiceStub, rest: httpx.AsyncClient
) -> None:
    good = {
        "action": "execute_plan",
        "principal": {"type": "User", "id": "dev"},
        "resource": {"type": "Goal", "id": "g-bad-input"},
        "reasons": ["a person decides"],
        "request_id": "bad-input-check",
    }
    cases = [
        ({**good, "action": ""}, "action"),
        ({**good, "action": "launch"}, "action"),
        ({**good, "request_id": ""}, "request_id"),
        ({**good, "request_id": "k" * 257}, "request_id"),
        ({**good, "reasons": []}, "reasons"),
        ({**good, "reasons": ["x" * 1001]}, "reasons"),
        ({**good, "resource": {"type": "Rocket", "id": "r1"}}, "resource.type"),
        ({**good, "principal": {"type": "User", "id": ""}}, "principal.id"),
        ({**good, "ttl": "-5s"}, "ttl"),
    ]
    for body, field in cases:
        answer = await rest.post("/v1/approvals:request", json=body)
        assert answer.status_code == 400, (field, answer.text)
        assert field in answer.text, (field, answer.text)
    anonymous = await rest.post("/v1/approvals:request", json=good, headers={"authorization": ""})
    assert anonymous.status_code == 401
