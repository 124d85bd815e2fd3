"""Requests checked and turned into a goal's spec; goal views turned into messages."""

from __future__ import annotations

import re
from typing import Any

from google.protobuf import json_format, unknown_fields

from agentic.planning.v1 import goals_pb2 as pb
from services.kit import PlatformError
from services.l05_planning import errors
from services.l05_planning.events import GoalView
from services.l05_planning.goal_types import GoalSpec

MAX_GOAL_CHARS = 16_000
DEFAULT_TOKEN_BUDGET = 1_000_000
DEFAULT_WALL_SECONDS = 3_600.0
MAX_WALL_SECONDS = 86_400.0
DEFAULT_PARALLELISM = 10
MAX_PARALLELISM = 100
DEFAULT_ATTEMPTS = 3
MAX_ATTEMPTS = 10
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TOOL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _invalid(field: str, message: str) -> PlatformError:
    return PlatformError(errors.INVALID_ARGUMENT, f"{field}: {message}", field=field)


def goal_id_of(name: str) -> str:
    goal_id = name.removeprefix("goals/")
    if not name.startswith("goals/") or not _ID.match(goal_id):
        raise _invalid("name", "must be goals/{goal_id}")
    return goal_id


def check_create(request: pb.CreateGoalRequest) -> None:
    if not request.goal.strip():
        raise _invalid("goal", "required: say what should be achieved")
    if len(request.goal) > MAX_GOAL_CHARS:
        raise _invalid("goal", f"at most {MAX_GOAL_CHARS} characters, got {len(request.goal)}")
    if request.goal_id and not _ID.match(request.goal_id):
        raise _invalid("goal_id", "1-64 letters, digits, '_' or '-'")
    limits = request.constraints
    extra = unknown_fields.UnknownFieldSet(limits)
    unknown = [str(extra[index].field_number) for index in range(len(extra))]
    if unknown:  # a client built on a newer contract: refuse rather than ignore a constraint
        raise _invalid("constraints", f"unknown constraint field number(s) {', '.join(unknown)}")
    if limits.token_budget < 0:
        raise _invalid("constraints.token_budget", "must not be negative")
    wall = limits.wall_time_limit.ToTimedelta().total_seconds()
    if wall < 0 or wall > MAX_WALL_SECONDS:
        raise _invalid("constraints.wall_time_limit", f"must be 0-{MAX_WALL_SECONDS:g} s")
    if not 0 <= limits.max_parallelism <= MAX_PARALLELISM:
        raise _invalid("constraints.max_parallelism", f"must be 0-{MAX_PARALLELISM}")
    if not 0 <= limits.max_task_attempts <= MAX_ATTEMPTS:
        raise _invalid("constraints.max_task_attempts", f"must be 0-{MAX_ATTEMPTS}")
    for field in ("allowed_tools", "forbidden_tools"):
        names = list(getattr(limits, field))
        if len(names) > 200:
            raise _invalid(f"constraints.{field}", "at most 200 tools")
        for name in names:
            if not _TOOL.match(name):
                raise _invalid(f"constraints.{field}", f"{name[:80]!r} is not a tool name")


def spec_from(
    request: pb.CreateGoalRequest, goal_id: str, owner: str, agent_task_queue: str
) -> GoalSpec:
    limits = request.constraints
    return GoalSpec(
        goal_id=goal_id,
        goal=request.goal,
        owner=owner,
        token_budget=limits.token_budget or DEFAULT_TOKEN_BUDGET,
        wall_seconds=limits.wall_time_limit.ToTimedelta().total_seconds() or DEFAULT_WALL_SECONDS,
        max_parallelism=limits.max_parallelism or DEFAULT_PARALLELISM,
        allowed_tools=list(limits.allowed_tools),
        forbidden_tools=list(limits.forbidden_tools),
        require_approval=limits.require_approval,
        max_task_attempts=limits.max_task_attempts or DEFAULT_ATTEMPTS,
        agent_task_queue=agent_task_queue,
        fresh_plan=limits.fresh_plan,
    )


def goal_message(view: GoalView, with_outputs: bool = True) -> pb.Goal:
    goal = pb.Goal(
        name=f"goals/{view.goal_id}",
        goal=view.goal,
        status=pb.GoalStatus.Value(f"GOAL_STATUS_{view.status}"),
        result=view.result,
        reason=view.reason,
        plan_problems=view.plan_problems,
        owner=view.owner,
        version=view.version,
        approval=view.approval,
    )
    json_format.ParseDict(view.constraints, goal.constraints, ignore_unknown_fields=True)
    goal.usage.tokens = view.tokens
    goal.usage.planning_calls = view.planning_calls
    if view.plan_origin:
        json_format.ParseDict(view.plan_origin, goal.plan_origin, ignore_unknown_fields=True)
    for task in view.tasks:
        goal.tasks.append(_task_message(task, with_outputs))
    if view.create_time:
        goal.create_time.FromJsonString(view.create_time)
    if view.update_time:
        goal.update_time.FromJsonString(view.update_time)
    return goal


def _task_message(task: dict[str, Any], with_output: bool) -> pb.Task:
    return pb.Task(
        id=task["id"],
        description=task["description"],
        role=task["role"],
        skills=task.get("skills", []),
        tools=task.get("tools", []),
        dependencies=task.get("dependencies", []),
        acceptance_criteria=task.get("acceptance_criteria", []),
        state=pb.TaskState.Value(f"TASK_STATE_{task['state']}"),
        output=task.get("output", "") if with_output else "",
        reason=task.get("reason", ""),
        attempts=int(task.get("attempts", 0)),
        agent=task.get("agent", ""),
    )
