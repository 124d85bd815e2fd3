"""A bare Temporal workflow of a three-task goal's shape: what L05's goal run is measured
against. One planning activity, then task a, then b and c in parallel, each a no-op activity.
(Workflows must live in an importable module: the SDK's sandbox refuses ``__main__``.)"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

_TIMEOUT = timedelta(seconds=30)


@activity.defn(name="bench_goal_noop")
async def goal_noop(step: str) -> str:
    return step


@workflow.defn(name="BenchBareGoal")
class BareGoalWorkflow:
    @workflow.run
    async def run(self) -> int:
        await workflow.execute_activity("bench_goal_noop", "plan", start_to_close_timeout=_TIMEOUT)
        await workflow.execute_activity("bench_goal_noop", "a", start_to_close_timeout=_TIMEOUT)
        await asyncio.gather(
            workflow.execute_activity("bench_goal_noop", "b", start_to_close_timeout=_TIMEOUT),
            workflow.execute_activity("bench_goal_noop", "c", start_to_close_timeout=_TIMEOUT),
        )
        return 3


@workflow.defn(name="BenchBareTask")
class BareTaskWorkflow:
    """One task as a child workflow of its goal: one no-op activity."""

    @workflow.run
    async def run(self, step: str) -> str:
        return await workflow.execute_activity(  # type: ignore[no-any-return]
            "bench_goal_noop", step, start_to_close_timeout=_TIMEOUT
        )


@workflow.defn(name="BenchBareChildGoal")
class BareChildGoalWorkflow:
    """The same shape with each task a child workflow, as L05 runs its tasks (a child run on
    an L02 agent): the least any goal run of that design does, with no agent, no events and
    no layer calls."""

    @workflow.run
    async def run(self) -> int:
        await workflow.execute_activity("bench_goal_noop", "plan", start_to_close_timeout=_TIMEOUT)
        parent = workflow.info().workflow_id
        await workflow.execute_child_workflow(BareTaskWorkflow.run, "a", id=f"{parent}-a")
        await asyncio.gather(
            workflow.execute_child_workflow(BareTaskWorkflow.run, "b", id=f"{parent}-b"),
            workflow.execute_child_workflow(BareTaskWorkflow.run, "c", id=f"{parent}-c"),
        )
        return 3
