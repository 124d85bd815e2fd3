"""The goal workflow's approval wait on a real Temporal dev server, with stand-in activities.

The activities (and L02's agent run, a child workflow) are registered under the real names
and script what L08's approval says, so the workflow's own rules are checked without the
other layers: it opens one approval, wakes only for its own, takes the approval's stream
(not the signal) as the truth, and runs the plan once. The layers themselves are covered by
test_approval.py.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.l05_planning.agent_runs import AGENT_RUN_WORKFLOW
from services.l05_planning.goal_types import (
    ApprovalAsk,
    ApprovalDecision,
    ApprovalRef,
    CompletedPlan,
    GoalEvent,
    GoalSpec,
    KnownNames,
    PlanInput,
    PlanResult,
    TaskInput,
    TaskSpec,
    TaskStart,
)
from services.l05_planning.workflow import (
    APPROVAL_DECISION,
    APPROVAL_SIGNAL,
    KNOWN_NAMES,
    OPEN_APPROVAL,
    PLAN,
    RECORD,
    REMEMBER_PLAN,
    START_TASK,
    GoalRun,
)
from services.launcher import binaries

pytestmark = [pytest.mark.integration, pytest.mark.l05]


@workflow.defn(name=AGENT_RUN_WORKFLOW, sandboxed=False)
class StandInRun:
    """L02's agent run, answering at once (outside the sandbox: it lives in a test module)."""

    @workflow.run
    async def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        return {"status": "COMPLETED", "answer": f"did {spec['task']}", "tokens": 1}


class Approval:
    """What L08 says about the goal's approval, and what the workflow asked."""

    def __init__(self) -> None:
        self.state = ApprovalDecision("pending")
        self.opened: list[ApprovalAsk] = []
        self.reads = 0
        self.started: list[str] = []
        self.events: list[tuple[str, dict[str, Any]]] = []

    def activities(self) -> list[Any]:
        @activity.defn(name=KNOWN_NAMES)
        async def known_names(spec: GoalSpec) -> KnownNames:
            return KnownNames([], ["architect"], [])

        @activity.defn(name=PLAN)
        async def plan_goal(given: PlanInput) -> PlanResult:
            return PlanResult([TaskSpec("a", "do a", "architect")], [], 10, 1)

        @activity.defn(name=OPEN_APPROVAL)
        async def open_approval(ask: ApprovalAsk) -> ApprovalRef:
            self.opened.append(ask)
            return ApprovalRef("ap1", "2026-01-01T01:00:00Z")

        @activity.defn(name=APPROVAL_DECISION)
        async def approval_decision(approval_id: str) -> ApprovalDecision:
            assert approval_id == "ap1"
            self.reads += 1
            return self.state

        @activity.defn(name=START_TASK)
        async def start_task(given: TaskInput) -> TaskStart:
            self.started.append(given.task.id)
            run_id = uuid.uuid4().hex[:8]
            return TaskStart("agents/x", f"run-{run_id}", {"task": given.task.description})

        @activity.defn(name=RECORD)
        async def record(event: GoalEvent) -> None:
            self.events.append((event.type, json.loads(event.data_json)))

        # Short calls run as local activities, which must be registered on the worker.
        @activity.defn(name=REMEMBER_PLAN)
        async def remember_plan(completed: CompletedPlan) -> None:
            pass

        return [
            known_names,
            plan_goal,
            open_approval,
            approval_decision,
            start_task,
            record,
            remember_plan,
        ]

    def types(self) -> list[str]:
        return [event_type for event_type, _ in self.events]


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binaries.temporal())
    ) as environment:
        yield environment


def spec(queue: str) -> GoalSpec:
    return GoalSpec(
        goal_id=uuid.uuid4().hex[:10],
        goal="build it",
        owner="alice",
        token_budget=10_000,
        wall_seconds=600.0,
        max_parallelism=2,
        allowed_tools=[],
        forbidden_tools=[],
        require_approval=True,
        max_task_attempts=1,
        agent_task_queue=queue,
    )


async def waiting_goal(
    env: WorkflowEnvironment, approval: Approval, worker_queue: str
) -> WorkflowHandle[Any, str]:
    handle = await env.client.start_workflow(
        GoalRun.run, spec(worker_queue), id=f"goal-{uuid.uuid4().hex}", task_queue=worker_queue
    )
    for _ in range(200):
        if "goal.waiting_approval" in approval.types():
            return handle
        await asyncio.sleep(0.05)
    raise AssertionError(f"the goal did not wait: {approval.events}")


def worker(env: WorkflowEnvironment, approval: Approval, queue: str) -> Worker:
    return Worker(
        env.client,
        task_queue=queue,
        workflows=[GoalRun, StandInRun],
        activities=approval.activities(),
    )


async def test_only_its_own_decided_approval_wakes_the_goal_and_the_plan_runs_once(
    env: WorkflowEnvironment,
) -> None:
    approval, queue = Approval(), f"q-{uuid.uuid4().hex}"
    async with worker(env, approval, queue):
        handle = await waiting_goal(env, approval, queue)
        waiting = dict(approval.events)["goal.waiting_approval"]
        assert waiting == {"approval": "approvals/ap1", "expire_time": "2026-01-01T01:00:00Z"}
        assert [t.id for t in approval.opened[0].tasks] == ["a"]
        assert 0 < approval.opened[0].ttl_seconds <= 600
        await handle.signal(APPROVAL_SIGNAL, "another-approval")  # not this goal's
        await asyncio.sleep(0.5)
        assert approval.reads == 0 and approval.started == []
        await handle.signal(APPROVAL_SIGNAL, "ap1")  # signalled, yet still pending in L01
        for _ in range(100):
            if approval.reads:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert approval.reads == 1 and approval.started == []  # the stream says: wait on
        approval.state = ApprovalDecision("approved", "bob", "fine")
        await handle.signal(APPROVAL_SIGNAL, "ap1")
        await handle.signal(APPROVAL_SIGNAL, "ap1")  # the follower and ApproveGoal both
        assert await handle.result() == "COMPLETED"
    assert len(approval.opened) == 1 and approval.started == ["a"]
    assert approval.types().count("goal.approved") == 1
    assert dict(approval.events)["goal.approved"] == {
        "approval": "approvals/ap1",
        "by": "bob",
        "comment": "fine",
    }


@pytest.mark.parametrize(
    ("decision", "reason"),
    [
        (ApprovalDecision("rejected", "carol", "no"), "approval ap1 was rejected by carol: no"),
        (
            ApprovalDecision("expired", "l08_supervision", "expired"),
            "approval ap1 expired before anyone decided",
        ),
    ],
    ids=["rejected", "expired"],
)
async def test_a_refused_approval_cancels_the_goal_with_the_reason(
    env: WorkflowEnvironment, decision: ApprovalDecision, reason: str
) -> None:
    approval, queue = Approval(), f"q-{uuid.uuid4().hex}"
    async with worker(env, approval, queue):
        handle = await waiting_goal(env, approval, queue)
        approval.state = decision
        await handle.signal(APPROVAL_SIGNAL, "ap1")
        assert await handle.result() == "CANCELLED"
    assert approval.started == [] and "goal.approved" not in approval.types()
    assert approval.events[-1] == (
        "goal.finished",
        {"status": "CANCELLED", "result": "", "reason": reason},
    )


async def test_a_goal_cancelled_while_it_waits_ends_cancelled(env: WorkflowEnvironment) -> None:
    approval, queue = Approval(), f"q-{uuid.uuid4().hex}"
    async with worker(env, approval, queue):
        handle = await waiting_goal(env, approval, queue)
        await handle.cancel()
        assert await handle.result() == "CANCELLED"
    assert approval.started == []
    assert approval.events[-1][1]["reason"] == "cancelled"
