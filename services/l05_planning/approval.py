"""A goal's approval in L08 (constraint ``require_approval``): what the approver is shown, the
key that names the approval, and what its decision means for the goal.

The approval's ``request_id`` is the goal's workflow id, so asking again (a retried activity)
finds the same approval, and whoever sees a decision knows which workflow to wake without a
table. A rejection ends the goal CANCELLED naming who rejected it and why; an expiry (L08
rejects an approval nobody decided in time, by ``l08_supervision`` with the comment
``expired``) ends it the same way, saying it expired.
"""

from __future__ import annotations

import json
import re
from typing import Any

from services.l05_planning.goal_types import ApprovalDecision, TaskSpec, workflow_id_of

ACTION = "execute_plan"  # the policy schema's action for running a plan
REASON = "the goal's constraints require a person's approval before its plan runs"
PENDING, APPROVED, REJECTED, EXPIRED = "pending", "approved", "rejected", "expired"
_REQUESTED = "approval.requested"
_DECISIONS = {"approval.approved": APPROVED, "approval.rejected": REJECTED}
EXPIRED_COMMENT = "expired"  # L08's comment on an approval nobody decided in time
SUPERVISOR = "l08_supervision"  # who L08 names as deciding an expiry
# L08 takes a context of up to 64 KiB; past this the tasks' descriptions are left out.
MAX_SUMMARY_BYTES = 48 * 1024
_GOAL_CHARS = 2_000
_DESCRIPTION_CHARS = 300
_WORKFLOW = re.compile(r"^goal-[A-Za-z0-9_-]{1,64}$")


def request_id_of(goal_id: str) -> str:
    """The approval's idempotency key: the goal's workflow id."""
    return workflow_id_of(goal_id)


def workflow_of(request_id: str, action: str) -> str:
    """The goal workflow waiting on an approval ("" for an approval no goal opened)."""
    return request_id if action == ACTION and _WORKFLOW.match(request_id) else ""


def plan_summary(goal: str, owner: str, tasks: list[TaskSpec]) -> dict[str, Any]:
    """What the approver sees: the goal, its owner, the tasks with their roles and tools,
    and every role and tool the plan uses. Descriptions are cut, then left out, to stay
    within what L08 keeps."""
    summary: dict[str, Any] = {
        "goal": goal[:_GOAL_CHARS],
        "owner": owner,
        "task_count": len(tasks),
        "roles": sorted({task.role for task in tasks}),
        "tools": sorted({tool for task in tasks for tool in task.tools}),
        "tasks": [_task_summary(task, with_description=True) for task in tasks],
    }
    if len(json.dumps(summary).encode()) > MAX_SUMMARY_BYTES:
        summary["tasks"] = [_task_summary(task, with_description=False) for task in tasks]
    return summary


def _task_summary(task: TaskSpec, with_description: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": task.id,
        "role": task.role,
        "tools": list(task.tools),
        "dependencies": list(task.dependencies),
    }
    if with_description:
        found["description"] = task.description[:_DESCRIPTION_CHARS]
    return found


def decision_of(stream: list[tuple[str, dict[str, Any]]]) -> ApprovalDecision:
    """The decision on an approval, from its L01 stream (event type, data), oldest first."""
    for event_type, data in stream:
        state = _DECISIONS.get(event_type)
        if state is None:
            continue
        by, comment = str(data.get("by", "")), str(data.get("comment", ""))
        if state == REJECTED and by == SUPERVISOR and comment == EXPIRED_COMMENT:
            state = EXPIRED
        return ApprovalDecision(state, by, comment)
    return ApprovalDecision(PENDING)


def request_of(stream: list[tuple[str, dict[str, Any]]]) -> tuple[str, str]:
    """The (request_id, action) an approval was opened with ("", "" when unknown)."""
    for event_type, data in stream:
        if event_type == _REQUESTED:
            return str(data.get("request_id", "")), str(data.get("action", ""))
    return "", ""


def outcome_reason(approval_id: str, decision: ApprovalDecision) -> str:
    """Why a goal whose approval was not given ended, for its ``reason``."""
    if decision.state == EXPIRED:
        return f"approval {approval_id} expired before anyone decided"
    comment = decision.comment or "(no comment)"
    return f"approval {approval_id} was rejected by {decision.by}: {comment}"
