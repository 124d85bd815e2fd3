"""Plan reuse through real processes: the planning process (its model scripted, its embeddings
from the session mesh's real L04), the plan library in the session mesh's L01.

Each test backs up a table of its own (every test's completed goals are remembered under the
same owner), so that a goal's nearest earlier goal is the one the test means.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest

from agentic.planning.v1 import goals_pb2 as pb
from agentic.planning.v1 import goals_pb2_grpc
from services.kit import open_channel
from services.kit.auth import PRINCIPAL_HEADER
from tests.l02.conftest import ScriptedModel, finish
from tests.l05.conftest import PlanningProcess
from tests.l05.test_goals import (
    ended,
    event_log,
    new_goal_id,
    plan,
    script_agents,
    submit,
    task,
)
from tests.support import platform_code

pytestmark = [pytest.mark.integration, pytest.mark.l05]


def backup(table: str) -> str:
    return f"Set up a nightly backup of the {table} table in Postgres and check that it restores"


def paraphrase(table: str) -> str:
    return f"Every night, back up the Postgres {table} table and check that it restores"


def backup_plan(table: str) -> Any:
    return plan(
        task("dump", description=f"Schedule a nightly pg_dump of the {table} table"),
        task("restore", "dump", description="Restore last night's dump into a scratch database"),
    )


async def completed_backup(goals: Any, model: ScriptedModel, table: str) -> str:
    """Goal A: planned by the model, completed, so remembered."""
    goal_id = await submit(goals, model, [backup_plan(table)], goal=backup(table), fresh_plan=False)
    script_agents(model, goal_id, {"dump": [finish("scheduled")], "restore": [finish("ok")]})
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason
    return goal_id


async def test_a_paraphrase_of_a_completed_goal_reuses_its_plan_without_a_planning_call(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    first = await completed_backup(goals, model, "invoices")
    again = new_goal_id()  # no planner script: a planning call would get no plan
    script_agents(model, again, {"dump": [finish("scheduled")], "restore": [finish("ok")]})
    await goals.CreateGoal(pb.CreateGoalRequest(goal=paraphrase("invoices"), goal_id=again))
    goal = await ended(goals, again)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason
    assert goal.plan_origin.reused_from == f"goals/{first}"
    assert goal.plan_origin.similarity >= 0.71 and "reused the plan" in goal.plan_origin.reason
    assert goal.usage.planning_calls == 0 and f"planner-{again}" not in model.requests
    assert [(t.id, list(t.dependencies)) for t in goal.tasks] == [
        ("dump", []),
        ("restore", ["dump"]),
    ]
    log = [kind for kind, _ in await event_log(goals, again)]
    assert log[:3] == ["goal.created", "goal.plan_reused", "goal.planned"]


@pytest.mark.parametrize(
    ("table", "text", "says"),
    [
        ("sales", backup("purchases"), "names a different table ({sales} vs {purchases})"),
        (
            "shipments",
            "Set up a nightly job that drops the shipments table in Postgres and check that it"
            " is gone",
            "asks for a different action",
        ),
    ],
    ids=["other-table", "destructive"],
)
async def test_a_close_goal_that_differs_plans_fresh_naming_the_nearest_goal(
    goals: Any, scripted_model: tuple[ScriptedModel, int], table: str, text: str, says: str
) -> None:
    model = scripted_model[0]
    first = await completed_backup(goals, model, table)
    goal_id = await submit(goals, model, [plan(task("a"))], goal=text, fresh_plan=False)
    script_agents(model, goal_id, {"a": [finish("done")]})
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason
    assert goal.plan_origin.reused_from == "" and goal.usage.planning_calls == 1
    assert f"nearest goal goals/{first} (" in goal.plan_origin.reason
    assert says in goal.plan_origin.reason
    assert [t.id for t in goal.tasks] == ["a"]


async def test_fresh_plan_never_reuses(
    goals: Any, scripted_model: tuple[ScriptedModel, int]
) -> None:
    model = scripted_model[0]
    await completed_backup(goals, model, "refunds")
    goal_id = await submit(
        goals, model, [plan(task("a"))], goal=paraphrase("refunds"), fresh_plan=True
    )
    script_agents(model, goal_id, {"a": [finish("done")]})
    goal = await ended(goals, goal_id)
    assert goal.status == pb.GOAL_STATUS_COMPLETED, goal.reason
    assert goal.plan_origin.reused_from == "" and goal.usage.planning_calls == 1
    assert "fresh_plan" in goal.plan_origin.reason
    assert goal.constraints.fresh_plan


async def test_another_owner_never_gets_the_plan(
    scripted_planning: PlanningProcess,
    goals: Any,
    scripted_model: tuple[ScriptedModel, int],
) -> None:
    model = scripted_model[0]
    first = await completed_backup(goals, model, "coupons")
    stranger = ((PRINCIPAL_HEADER, f"stranger-{uuid.uuid4().hex[:8]}"),)
    token = scripted_planning.env["AGENTIC_SERVICE_TOKEN"]
    async with open_channel(scripted_planning.target, token=token) as channel:
        theirs = goals_pb2_grpc.GoalServiceStub(channel)
        goal_id = new_goal_id()
        model.scripts[f"planner-{goal_id}"] = [plan(task("a"))]
        script_agents(model, goal_id, {"a": [finish("done")]})
        await theirs.CreateGoal(
            pb.CreateGoalRequest(goal=paraphrase("coupons"), goal_id=goal_id), metadata=stranger
        )
        for _ in range(900):
            goal = (
                await theirs.GetGoal(pb.GetGoalRequest(name=f"goals/{goal_id}"), metadata=stranger)
            ).goal
            if goal.status == pb.GOAL_STATUS_COMPLETED:
                break
            assert goal.status not in (pb.GOAL_STATUS_FAILED, pb.GOAL_STATUS_CANCELLED), goal
            await asyncio.sleep(0.1)
    assert goal.status == pb.GOAL_STATUS_COMPLETED
    assert goal.plan_origin.reused_from == "" and goal.usage.planning_calls == 1
    assert first not in goal.plan_origin.reason
    assert "no earlier completed goal" in goal.plan_origin.reason


async def test_an_empty_goal_asking_for_a_fresh_plan_is_refused_naming_the_field(
    goals: Any,
) -> None:
    """Refused before anything is looked up or stored (a fresh_plan of another type is
    refused by the gateway over REST: tests/l05/test_rest.py)."""
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await goals.CreateGoal(
            pb.CreateGoalRequest(goal="  ", constraints=pb.Constraints(fresh_plan=True))
        )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(refused.value) == "E5003" and "goal" in refused.value.details()
