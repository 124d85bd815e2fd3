"""The goal's event types, and the fold of its stream into what GetGoal shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CREATED = "goal.created"
PLAN_REUSED = "goal.plan_reused"
PLANNED = "goal.planned"
PLAN_REFUSED = "goal.plan_refused"
WAITING_APPROVAL = "goal.waiting_approval"
APPROVED = "goal.approved"
TASK_STARTED = "goal.task_started"
TASK_FINISHED = "goal.task_finished"
CANCEL_REQUESTED = "goal.cancel_requested"
FINISHED = "goal.finished"

PLANNING = "PLANNING"
RUNNING = "RUNNING"
WAITING = "WAITING_APPROVAL"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
FINAL = frozenset({COMPLETED, FAILED, CANCELLED})


@dataclass
class GoalView:
    goal_id: str
    goal: str = ""
    constraints: dict[str, Any] = field(default_factory=dict)
    owner: str = ""
    status: str = PLANNING
    tasks: list[dict[str, Any]] = field(default_factory=list)
    result: str = ""
    reason: str = ""
    plan_problems: list[str] = field(default_factory=list)
    tokens: int = 0
    planning_calls: int = 0
    plan_origin: dict[str, Any] = field(default_factory=dict)  # reused_from, similarity, reason
    cancel_reason: str = ""
    approval: str = ""  # "approvals/{id}" in L08, once the plan waits for one
    create_time: str = ""
    update_time: str = ""
    version: int = -1

    @property
    def ended(self) -> bool:
        return self.status in FINAL

    def task(self, task_id: str) -> dict[str, Any] | None:
        return next((task for task in self.tasks if task["id"] == task_id), None)


def apply(view: GoalView, event_type: str, data: dict[str, Any], version: int, time: str) -> None:
    """Folds one event into the view (in place)."""
    view.version = version
    view.update_time = time
    if event_type == CREATED:
        view.goal = data.get("goal", "")
        view.constraints = data.get("constraints", {})
        view.owner = data.get("owner", "")
        view.create_time = time
    elif event_type == PLAN_REUSED:
        view.plan_origin = dict(data)
    elif event_type == PLANNED:
        view.plan_origin = dict(data.get("origin", view.plan_origin))
        view.tasks = [{**task, "state": "PENDING", "attempts": 0} for task in data["tasks"]]
        view.tokens += int(data.get("tokens", 0))
        view.planning_calls = int(data.get("calls", 0))
        view.status = RUNNING
    elif event_type == PLAN_REFUSED:
        view.plan_origin = dict(data.get("origin", view.plan_origin))
        view.plan_problems = list(data.get("problems", []))
        view.tokens += int(data.get("tokens", 0))
        view.planning_calls = int(data.get("calls", 0))
    elif event_type == WAITING_APPROVAL:
        view.status = WAITING
        view.approval = data.get("approval", "")
    elif event_type == APPROVED:
        view.status = RUNNING
    elif event_type == TASK_STARTED:
        task = view.task(data["task"])
        if task is not None:
            task.update(state="RUNNING", attempts=int(data["attempt"]), agent=data["agent"])
    elif event_type == TASK_FINISHED:
        task = view.task(data["task"])
        if task is not None:
            task.update(
                state=data["state"], output=data.get("output", ""), reason=data.get("reason", "")
            )
        view.tokens += int(data.get("tokens", 0))
    elif event_type == CANCEL_REQUESTED:
        view.cancel_reason = data.get("reason", "")
    elif event_type == FINISHED:
        view.status = data["status"]
        view.result = data.get("result", "")
        view.reason = data.get("reason", "")
        if view.status == CANCELLED and view.cancel_reason:
            view.reason = view.cancel_reason
        for task in view.tasks:
            if task["state"] in ("PENDING", "RUNNING"):
                task.update(state="SKIPPED", reason=f"the goal {data['status'].lower()}")
