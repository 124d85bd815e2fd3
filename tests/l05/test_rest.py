"""L05 in the session mesh, through Envoy's REST: bad input, and a goal on the offline model."""

from __future__ import annotations

import asyncio
import json
import time

import grpc
import httpx
import pytest

from agentic.planning.v1 import goals_pb2 as pb
from agentic.planning.v1 import goals_pb2_grpc
from tests.support import platform_code, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l05]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"goal": ""}, "goal"),
        ({"goal": "   "}, "goal"),
        ({"goal": "x" * (1024 * 1024)}, "goal"),
        ({"goal": "ok", "constraints": {"token_budget": -5}}, "constraints.token_budget"),
        ({"goal": "ok", "constraints": {"max_parallelism": 500}}, "constraints.max_parallelism"),
        ({"goal": "ok", "constraints": {"wall_time_limit": "-3s"}}, "constraints.wall_time_limit"),
        (
            {"goal": "ok", "constraints": {"forbidden_tools": ["no spaces"]}},
            "constraints.forbidden_tools",
        ),
        ({"goal": "ok", "goal_id": "bad id!"}, "goal_id"),
    ],
    ids=["empty", "blank", "1MB", "negative-budget", "parallelism", "negative-wall", "tool", "id"],
)
async def test_bad_goals_are_refused_naming_the_field(
    rest: httpx.AsyncClient, body: dict, field: str
) -> None:
    reply = await rest.post("/v1/goals", json=body)
    assert reply.status_code == 400, reply.text
    error = reply.json()
    assert rest_reason(error) == "E5003" and field in error["message"]


async def test_an_unknown_constraint_is_refused_over_grpc(
    gateway_channel: grpc.aio.Channel,
) -> None:
    """A constraint this layer does not know (a client on a newer contract) is refused, not
    ignored. (Over REST the gateway refuses unknown JSON fields before L05 sees them: E9400.)"""
    raw = pb.Constraints(token_budget=5).SerializeToString() + bytes([0xF8, 0x06, 0x03])
    request = pb.CreateGoalRequest(goal="ok", constraints=pb.Constraints.FromString(raw))
    goals = goals_pb2_grpc.GoalServiceStub(gateway_channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await goals.CreateGoal(request)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(refused.value) == "E5003" and "constraints" in refused.value.details()


@pytest.mark.parametrize("value", [5, {"a": 1}, [True]], ids=["number", "object", "list"])
async def test_a_fresh_plan_of_the_wrong_type_is_refused_by_the_gateway_naming_it(
    rest: httpx.AsyncClient, value: object
) -> None:
    """(Envoy's transcoder reads the strings "true"/"yes" and "false"/"no" as booleans.)"""
    reply = await rest.post("/v1/goals", json={"goal": "ok", "constraints": {"fresh_plan": value}})
    assert reply.status_code == 400, reply.text
    assert rest_reason(reply.json()) == "E9400" and "constraints" in reply.json()["message"]


async def test_unknown_and_malformed_goal_names(rest: httpx.AsyncClient) -> None:
    missing = await rest.get("/v1/goals/nosuchgoal")
    assert missing.status_code == 404 and rest_reason(missing.json()) == "E5004"
    cancel = await rest.post("/v1/goals/nosuchgoal:cancel", json={})
    assert cancel.status_code == 404 and rest_reason(cancel.json()) == "E5004"


async def test_unauthenticated_calls_are_refused(rest: httpx.AsyncClient) -> None:
    reply = await rest.post(
        "/v1/goals", json={"goal": "ok"}, headers={"authorization": "Bearer wrong"}
    )
    assert reply.status_code == 401


@pytest.mark.slow
async def test_a_goal_on_the_offline_model_through_the_gateway(rest: httpx.AsyncClient) -> None:
    """SmolLM2-135M plans under L04's schema constraint. Whatever it plans, the goal ends on
    its own: a valid plan runs to COMPLETED or a task's failure, and a plan refused twice
    fails with E5001 naming every reason, with no task run."""
    created = await rest.post(
        "/v1/goals",
        json={"goal": "Write a Python function that adds two numbers.", "constraints": {}},
    )
    assert created.status_code == 200, created.text
    goal = created.json()["goal"]
    assert goal["status"] == "GOAL_STATUS_PLANNING"
    deadline = time.monotonic() + 600
    while True:
        goal = (await rest.get(f"/v1/{goal['name']}")).json()["goal"]
        if goal["status"] in (
            "GOAL_STATUS_COMPLETED",
            "GOAL_STATUS_FAILED",
            "GOAL_STATUS_CANCELLED",
        ):
            break
        assert time.monotonic() < deadline, goal
        await asyncio.sleep(1)
    assert goal["status"] != "GOAL_STATUS_CANCELLED"
    assert int(goal["usage"]["planning_calls"]) in (1, 2)
    if goal.get("plan_problems"):
        assert goal["status"] == "GOAL_STATUS_FAILED" and goal["reason"].startswith("E5001")
        assert not goal.get("tasks")
    else:
        assert goal["tasks"] and all(t["role"] for t in goal["tasks"])
        if goal["status"] == "GOAL_STATUS_COMPLETED":
            assert all(t["state"] == "TASK_STATE_COMPLETED" for t in goal["tasks"])
            assert goal["result"]
    # The watch replays the goal's events as NDJSON and ends with the goal.
    async with rest.stream("GET", f"/v1/{goal['name']}:watch", timeout=30) as watch:
        lines = [json.loads(line) async for line in watch.aiter_lines() if line.strip()]
    types = [line["type"] for line in lines]
    assert types[0] == "goal.created" and types[-1] == "goal.finished"
    listed = (await rest.get("/v1/goals")).json()["goals"]
    assert goal["name"] in [g["name"] for g in listed]
