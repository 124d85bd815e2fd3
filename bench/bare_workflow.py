"""A bare Temporal workflow of four no-op activities: what the agent loop is measured against.
(Workflows must live in an importable module: the SDK's sandbox refuses ``__main__``.)"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop(step: int) -> int:
    return step


@workflow.defn(name="BenchBare")
class BareWorkflow:
    @workflow.run
    async def run(self) -> int:
        for step in range(4):
            await workflow.execute_activity(
                "bench_noop", step, start_to_close_timeout=timedelta(seconds=30)
            )
        return 4
