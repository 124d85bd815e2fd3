"""The fold of a goal's events into what GetGoal shows."""

from __future__ import annotations

from services.l05_planning import events
from services.l05_planning.events import GoalView

TASKS = [
    {"id": "a", "description": "do a", "role": "architect", "dependencies": []},
    {"id": "b", "description": "do b", "role": "debugger", "dependencies": ["a"]},
]


def fold(*given: tuple[str, dict]) -> GoalView:
    view = GoalView("g1")
    for version, (event_type, data) in enumerate(given):
        events.apply(view, event_type, data, version, f"2026-01-01T00:00:0{version}Z")
    return view


def test_a_goal_goes_from_planning_to_running_to_completed() -> None:
    view = fold((events.CREATED, {"goal": "x", "owner": "dev", "constraints": {}}))
    assert view.status == events.PLANNING and view.owner == "dev" and view.version == 0
    view = fold(
        (events.CREATED, {"goal": "x", "owner": "dev"}),
        (events.PLANNED, {"tasks": TASKS, "tokens": 50, "calls": 1}),
        (events.TASK_STARTED, {"task": "a", "attempt": 1, "agent": "agents/g1-a-1"}),
        (events.TASK_FINISHED, {"task": "a", "state": "COMPLETED", "output": "A", "tokens": 7}),
        (events.FINISHED, {"status": events.FAILED, "reason": "task b failed: no"}),
    )
    assert view.status == events.FAILED and view.reason == "task b failed: no"
    assert view.tokens == 57 and view.planning_calls == 1 and view.ended
    assert view.tasks[0]["state"] == "COMPLETED" and view.tasks[0]["output"] == "A"
    assert view.tasks[0]["agent"] == "agents/g1-a-1"
    assert view.tasks[1]["state"] == "SKIPPED" and view.version == 4


def test_approval_and_cancellation() -> None:
    view = fold(
        (events.CREATED, {"goal": "x", "owner": "dev"}),
        (events.PLANNED, {"tasks": TASKS, "tokens": 0, "calls": 2}),
        (events.WAITING_APPROVAL, {}),
    )
    assert view.status == events.WAITING and not view.ended
    events.apply(view, events.CANCEL_REQUESTED, {"reason": "not now"}, 3, "t")
    events.apply(view, events.FINISHED, {"status": events.CANCELLED, "reason": "cancelled"}, 4, "t")
    assert view.status == events.CANCELLED and view.reason == "not now"
    assert [task["state"] for task in view.tasks] == ["SKIPPED", "SKIPPED"]


def test_a_refused_plan_keeps_every_reason() -> None:
    view = fold(
        (events.CREATED, {"goal": "x", "owner": "dev"}),
        (events.PLAN_REFUSED, {"problems": ["one", "two"], "tokens": 9, "calls": 2}),
        (events.FINISHED, {"status": events.FAILED, "reason": "E5001: one; two"}),
    )
    assert view.plan_problems == ["one", "two"] and view.tokens == 9 and not view.tasks
