"""A goal's L08 approval without a mesh: what the approver is shown, which workflow a decision
wakes, what a decision means for the goal, and how L08's refusals reach ApproveGoal's caller."""

from __future__ import annotations

import json

import grpc
import pytest

from services.l05_planning import approval, events
from services.l05_planning.events import GoalView
from services.l05_planning.goal_types import ApprovalDecision, TaskSpec
from services.l05_planning.supervision import refusal

pytestmark = [pytest.mark.unit, pytest.mark.l05]

PLAN = [
    TaskSpec("a", "write the parser", "software-engineer", tools=["shell"]),
    TaskSpec("b", "test it", "test-engineer", tools=["shell", "read_file"], dependencies=["a"]),
]


def test_the_approver_sees_the_goal_its_owner_and_the_plan() -> None:
    summary = approval.plan_summary("build a parser", "alice", PLAN)
    assert (summary["goal"], summary["owner"], summary["task_count"]) == (
        "build a parser",
        "alice",
        2,
    )
    assert summary["roles"] == ["software-engineer", "test-engineer"]
    assert summary["tools"] == ["read_file", "shell"]
    assert summary["tasks"][1] == {
        "id": "b",
        "role": "test-engineer",
        "tools": ["shell", "read_file"],
        "dependencies": ["a"],
        "description": "test it",
    }


def test_a_large_plan_is_summarised_within_what_l08_keeps() -> None:
    tools = [f"tool_{n}_{'y' * 56}" for n in range(3)]
    tasks = [TaskSpec(f"t{i}", "x" * 5_000, "architect", tools=tools) for i in range(100)]
    summary = approval.plan_summary("g" * 20_000, "alice", tasks)
    assert len(json.dumps(summary).encode()) <= approval.MAX_SUMMARY_BYTES
    assert len(summary["goal"]) == 2_000 and len(summary["tasks"]) == 100
    assert "description" not in summary["tasks"][0]  # left out, ids and roles kept
    few = approval.plan_summary("g", "alice", tasks[:3])
    assert len(few["tasks"][0]["description"]) == 300  # cut, not left out


def test_a_decision_wakes_the_goal_that_asked_and_no_other() -> None:
    request_id = approval.request_id_of("g1")
    assert approval.workflow_of(request_id, "execute_plan") == "goal-g1"
    assert approval.workflow_of(request_id, "call_tool") == ""  # a tool call's approval
    assert approval.workflow_of("agent-x-run-y/step-1", "execute_plan") == ""
    assert approval.workflow_of("goal-a/b", "execute_plan") == ""
    opened = [("approval.requested", {"request_id": request_id, "action": "execute_plan"})]
    assert approval.request_of(opened) == (request_id, "execute_plan")
    assert approval.request_of([]) == ("", "")


def test_a_decision_is_read_from_the_approval_stream() -> None:
    requested = ("approval.requested", {"id": "ap1"})
    assert approval.decision_of([requested]).state == approval.PENDING
    approved = ("approval.approved", {"id": "ap1", "by": "bob", "comment": "fine"})
    assert approval.decision_of([requested, approved]) == ApprovalDecision(
        approval.APPROVED, "bob", "fine"
    )
    rejected = ("approval.rejected", {"id": "ap1", "by": "carol", "comment": "too costly"})
    decision = approval.decision_of([requested, rejected])
    assert decision == ApprovalDecision(approval.REJECTED, "carol", "too costly")
    assert approval.outcome_reason("ap1", decision) == (
        "approval ap1 was rejected by carol: too costly"
    )
    expired = ("approval.rejected", {"by": "l08_supervision", "comment": "expired"})
    decision = approval.decision_of([requested, expired])
    assert decision.state == approval.EXPIRED
    assert "expired" in approval.outcome_reason("ap1", decision)
    # A person who writes "expired" as their comment still rejected it.
    person = ("approval.rejected", {"by": "dave", "comment": "expired"})
    assert approval.decision_of([requested, person]).state == approval.REJECTED


def test_the_goal_shows_its_approval_while_it_waits_and_after() -> None:
    view = GoalView("g1")
    tasks = [{"id": "a", "description": "do a", "role": "architect", "dependencies": []}]
    given = [
        (events.CREATED, {"goal": "x", "owner": "dev"}),
        (events.PLANNED, {"tasks": tasks, "tokens": 0, "calls": 1}),
        (events.WAITING_APPROVAL, {"approval": "approvals/ap1", "expire_time": "t"}),
    ]
    for version, (event_type, data) in enumerate(given):
        events.apply(view, event_type, data, version, "2026-01-01T00:00:00Z")
    assert (view.status, view.approval) == (events.WAITING, "approvals/ap1")
    reason = "approval ap1 was rejected by carol: no"
    events.apply(view, events.FINISHED, {"status": events.CANCELLED, "reason": reason}, 3, "t")
    assert (view.status, view.reason, view.approval) == (events.CANCELLED, reason, "approvals/ap1")
    assert view.tasks[0]["state"] == "SKIPPED"


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("E8011", grpc.StatusCode.PERMISSION_DENIED, ("E5010", grpc.StatusCode.PERMISSION_DENIED)),
        (
            "E8006",
            grpc.StatusCode.FAILED_PRECONDITION,
            ("E5007", grpc.StatusCode.FAILED_PRECONDITION),
        ),
        (
            "E8007",
            grpc.StatusCode.FAILED_PRECONDITION,
            ("E5007", grpc.StatusCode.FAILED_PRECONDITION),
        ),
        ("", grpc.StatusCode.UNAVAILABLE, ("E5011", grpc.StatusCode.UNAVAILABLE)),
    ],
)
def test_l08s_refusals_of_a_decision_are_this_layers_errors(
    code: str, status: grpc.StatusCode, expected: tuple[str, grpc.StatusCode]
) -> None:
    error = refusal("ap1", code, status, "because")
    assert (error.code, error.error.kind.value) == expected
    assert "because" in error.message
