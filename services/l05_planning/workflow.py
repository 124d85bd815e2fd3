"""A goal as a Temporal workflow: plan (L04), wait for an approval if asked, run the DAG.

A task starts when its dependencies are done, up to the goal's parallelism, as an activity
that runs it on an L02 agent; a failed attempt is retried by the activity's retry policy
(with backoff), then the goal fails naming the task. Cancelling the workflow cancels the
running task activities, which terminate their agents. Every change is recorded on the
goal's L01 stream by the ``record`` activity under an id derived from the goal and the
change, so a replayed or retried record writes nothing twice.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from services.l05_planning import events
    from services.l05_planning.goal_types import (
        GoalEvent,
        GoalSpec,
        PlanResult,
        TaskInput,
        TaskOutcome,
        TaskSpec,
    )

PLAN = "goal_plan"
RUN_TASK = "goal_run_task"
RECORD = "goal_record"

_TRANSIENT = RetryPolicy(
    initial_interval=timedelta(seconds=0.2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=10,
)
# A model call can take minutes: planning is tried three times, not ten.
_PLAN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_attempts=3
)
_HEARTBEAT = timedelta(seconds=15)
_OUTPUT_SUMMARY_CHARS = 4_000


def task_retry_policy(attempts: int) -> RetryPolicy:
    """A failed task is tried again after 1 s, 2 s, 4 s ... up to ``attempts`` in all."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=attempts,
    )


@workflow.defn(name="GoalRun")
class GoalRun:
    def __init__(self) -> None:
        self._approved = False

    @workflow.signal
    def approve(self) -> None:
        self._approved = True

    @workflow.run
    async def run(self, spec: GoalSpec) -> str:
        deadline = workflow.now() + timedelta(seconds=spec.wall_seconds)
        try:
            plan = await workflow.execute_activity(
                PLAN,
                spec,
                result_type=PlanResult,
                start_to_close_timeout=timedelta(seconds=600),
                heartbeat_timeout=_HEARTBEAT,
                retry_policy=_PLAN_RETRY,
            )
            if plan.problems:
                await self._record(
                    spec,
                    events.PLAN_REFUSED,
                    {"problems": plan.problems, "tokens": plan.tokens, "calls": plan.calls},
                )
                reason = "E5001: the plan was refused twice: " + "; ".join(plan.problems)
                return await self._finish(spec, events.FAILED, reason=reason)
            tasks = [task.__dict__ for task in plan.tasks]
            await self._record(
                spec, events.PLANNED, {"tasks": tasks, "tokens": plan.tokens, "calls": plan.calls}
            )
            if spec.require_approval:
                await self._record(spec, events.WAITING_APPROVAL, {})
                await workflow.wait_condition(lambda: self._approved)
            return await self._run_dag(spec, plan, deadline)
        except asyncio.CancelledError:
            return await self._finish(spec, events.CANCELLED, reason="cancelled")
        except ActivityError as error:
            if isinstance(error.cause, CancelledError):  # cancelled while it was planning
                return await self._finish(spec, events.CANCELLED, reason="cancelled")
            # A layer stayed unreachable past the retries.
            return await self._finish(spec, events.FAILED, reason=_cause(error))

    async def _run_dag(self, spec: GoalSpec, plan: PlanResult, deadline: Any) -> str:
        pending = list(plan.tasks)
        outputs: dict[str, str] = {}
        running: dict[asyncio.Task[TaskOutcome], TaskSpec] = {}
        spent = plan.tokens
        pending_order = {task.id: index for index, task in enumerate(plan.tasks)}
        try:
            while pending or running:
                for task in [t for t in pending if all(d in outputs for d in t.dependencies)]:
                    if len(running) >= spec.max_parallelism:
                        break
                    pending.remove(task)
                    running[self._start(spec, task, outputs, spent)] = task
                left = (deadline - workflow.now()).total_seconds()
                if left <= 0:
                    reason = f"the goal's wall-time limit of {spec.wall_seconds:g} s ran out"
                    return await self._fail(spec, running, reason)
                done, _ = await workflow.wait(
                    list(running), timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                # In plan order, so a replay takes the same path.
                for finished in sorted(done, key=lambda f: pending_order[running[f].id]):
                    task = running.pop(finished)
                    try:
                        outcome = finished.result()
                    except ActivityError as error:
                        reason = _cause(error)
                        await self._task_finished(spec, task.id, "FAILED", reason=reason)
                        return await self._fail(spec, running, f"task {task.id} failed: {reason}")
                    outputs[task.id] = outcome.output
                    spent += outcome.tokens
                    await self._task_finished(
                        spec, task.id, "COMPLETED", output=outcome.output, tokens=outcome.tokens
                    )
                    if spent > spec.token_budget:
                        reason = (
                            f"the goal's token budget of {spec.token_budget} ran out"
                            f" ({spent} tokens used, last by task {task.id})"
                        )
                        return await self._fail(spec, running, reason)
        except asyncio.CancelledError:
            await self._stop(running)
            raise
        return await self._finish(spec, events.COMPLETED, result=_result(plan.tasks, outputs))

    def _start(
        self, spec: GoalSpec, task: TaskSpec, outputs: dict[str, str], spent: int
    ) -> asyncio.Task[TaskOutcome]:
        given = TaskInput(
            spec,
            task,
            [(d, outputs[d]) for d in task.dependencies],
            max(spec.token_budget - spent, 1),
        )
        return asyncio.ensure_future(
            workflow.execute_activity(
                RUN_TASK,
                given,
                result_type=TaskOutcome,
                start_to_close_timeout=timedelta(seconds=spec.wall_seconds),
                heartbeat_timeout=_HEARTBEAT,
                retry_policy=task_retry_policy(spec.max_task_attempts),
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        )

    async def _stop(self, running: dict[asyncio.Task[TaskOutcome], TaskSpec]) -> None:
        """Cancels the running tasks and waits until their agents are terminated."""
        for future in running:
            future.cancel()
        for future in running:
            try:
                await asyncio.shield(future)
            except (asyncio.CancelledError, ActivityError):
                pass

    async def _fail(
        self, spec: GoalSpec, running: dict[asyncio.Task[TaskOutcome], TaskSpec], reason: str
    ) -> str:
        await self._stop(running)
        return await self._finish(spec, events.FAILED, reason=reason)

    async def _task_finished(self, spec: GoalSpec, task_id: str, state: str, **fields: Any) -> None:
        await self._record(spec, events.TASK_FINISHED, {"task": task_id, "state": state, **fields})

    async def _finish(self, spec: GoalSpec, status: str, result: str = "", reason: str = "") -> str:
        data = {"status": status, "result": result, "reason": reason}
        await self._record(spec, events.FINISHED, data)
        return status

    async def _record(self, spec: GoalSpec, event_type: str, data: dict[str, Any]) -> None:
        key = f"{event_type}/{data.get('task', '')}"
        await workflow.execute_activity(
            RECORD,
            GoalEvent(spec.goal_id, event_type, json.dumps(data), key),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=5)),
        )


def _cause(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause) if cause is not None else str(error)


def _result(tasks: list[TaskSpec], outputs: dict[str, str]) -> str:
    needed = {d for task in tasks for d in task.dependencies}
    final = [task for task in tasks if task.id not in needed]
    parts = [f"{len(tasks)} tasks completed; the result of the final tasks follows."]
    for task in final:
        parts.append(
            f"## {task.id}: {task.description}\n{outputs[task.id][:_OUTPUT_SUMMARY_CHARS]}"
        )
    return "\n\n".join(parts)
