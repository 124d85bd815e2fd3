"""A task run as a Temporal workflow: decide (L04), act (L03), repeat, within the budgets.

Each model call and tool call is an activity with its own retry policy; pause and resume are
signals, terminate is the workflow's cancellation, the live progress a query. The workflow
keeps only what it needs to decide; every step is recorded in L01 by its activity, with event
ids derived from the workflow's id and the step, so a retried activity records nothing twice.
A tool call's idempotency key is derived the same way: after a crash, the retried call
returns L03's remembered result instead of running again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from services.l02_runtime.run_types import (
        DecideInput,
        DecideResult,
        Progress,
        RunOutcome,
        RunSpec,
        ToolInput,
        ToolResult,
        Turn,
    )

START_CHILD_RUN = "agent_start_child_run"  # a run another workflow started (child_runs.py)
DECIDE = "agent_decide"
RUN_TOOL = "agent_run_tool"
FINISH_RUN = "agent_finish_run"

# Transient failures (a layer restarting) are retried; the activities turn the model's and
# the tools' own refusals into results, so what reaches this policy is worth retrying.
_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=0.2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=5,
)
_HEARTBEAT = timedelta(seconds=10)  # a dead worker's activity is retried after this
_MODEL_CALL_LIMIT = 180.0
_TOOL_CALL_LIMIT = 330.0


@workflow.defn(name="AgentRun")
class AgentRun:
    def __init__(self) -> None:
        self._paused = False
        self._step = 0
        self._tokens = 0

    @workflow.signal
    def pause(self) -> None:
        self._paused = True

    @workflow.signal
    def resume(self) -> None:
        self._paused = False

    @workflow.query
    def progress(self) -> Progress:
        return Progress(self._step, self._paused, self._tokens)

    @workflow.run
    async def run(self, spec: RunSpec) -> RunOutcome:
        if workflow.info().parent is not None:
            refused = await self._start_as_child(spec)
            if refused is not None:
                return refused
        try:
            return await self._loop(spec)
        except asyncio.CancelledError:
            return await self._finish(RunOutcome(spec, "CANCELLED", reason="terminated"))

    async def _start_as_child(self, spec: RunSpec) -> RunOutcome | None:
        """Records the start RunAgent records for its runs; a refusal ends the run unrecorded."""
        try:
            await workflow.execute_activity(
                START_CHILD_RUN,
                spec,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_RETRY,
            )
        except ActivityError as error:
            cause = str(error.cause) if error.cause is not None else str(error)
            return RunOutcome(spec, "FAILED", reason=f"the run could not start: {cause}")
        return None

    async def _loop(self, spec: RunSpec) -> RunOutcome:
        turns: list[Turn] = []
        running = timedelta(0)  # time spent not paused: the deadline counts only that
        cost = 0.0
        for step in range(1, spec.max_steps + 1):
            await workflow.wait_condition(lambda: not self._paused)
            left = spec.max_wall_seconds - running.total_seconds()
            self._step = step
            started = workflow.now()
            try:
                decided = await workflow.execute_activity(
                    DECIDE,
                    DecideInput(spec, step, list(turns)),
                    result_type=DecideResult,
                    schedule_to_close_timeout=timedelta(seconds=max(left, 0.001)),
                    start_to_close_timeout=timedelta(seconds=min(left, _MODEL_CALL_LIMIT)),
                    heartbeat_timeout=_HEARTBEAT,
                    retry_policy=_RETRY,
                )
                running += workflow.now() - started
                started = workflow.now()
                self._tokens += decided.tokens
                cost += decided.cost_usd
                stop = self._budget_stop(spec, decided, cost)
                if stop is not None:
                    return await self._finish(stop)
                if decided.action == "finish":
                    outcome = RunOutcome(spec, "COMPLETED", answer=decided.answer, steps=step)
                    return await self._finish(outcome)
                turns.append(Turn("assistant", decided.raw))
                if decided.action != "call_tool":
                    turns.append(Turn("user", f"That answer could not be used: {decided.problem}"))
                    continue
                left = spec.max_wall_seconds - running.total_seconds()
                result = await workflow.execute_activity(
                    RUN_TOOL,
                    ToolInput(
                        spec,
                        step,
                        decided.tool,
                        decided.arguments_json,
                        f"{workflow.info().workflow_id}/step-{step}",
                    ),
                    result_type=ToolResult,
                    schedule_to_close_timeout=timedelta(seconds=max(left, 0.001)),
                    start_to_close_timeout=timedelta(seconds=min(left, _TOOL_CALL_LIMIT)),
                    heartbeat_timeout=_HEARTBEAT,
                    retry_policy=_RETRY,
                )
                running += workflow.now() - started
                turns.append(Turn("user", result.message))
            except ActivityError as error:
                if isinstance(error.cause, CancelledError):  # the run was cancelled meanwhile
                    raise asyncio.CancelledError from error
                if isinstance(error.cause, TimeoutError) and not self._paused:
                    reason = (
                        f"stuck past its deadline of {spec.max_wall_seconds:g} s"
                        f" (step {step} did not finish in time)"
                    )
                    return await self._finish(
                        RunOutcome(spec, "FAILED", reason=reason, steps=step, agent_failed=True)
                    )
                cause = str(error.cause) if error.cause is not None else str(error)
                return await self._finish(
                    RunOutcome(spec, "FAILED", reason=f"step {step} failed: {cause}", steps=step)
                )
        reason = f"no final answer within {spec.max_steps} steps"
        return await self._finish(RunOutcome(spec, "BUDGET_EXHAUSTED", reason=reason))

    def _budget_stop(self, spec: RunSpec, decided: DecideResult, cost: float) -> RunOutcome | None:
        if decided.action == "budget":
            return RunOutcome(spec, "BUDGET_EXHAUSTED", reason=decided.problem, steps=self._step)
        if self._tokens >= spec.tokens_left:
            reason = f"the agent's token budget ran out ({self._tokens} tokens in this run)"
            return RunOutcome(spec, "BUDGET_EXHAUSTED", reason=reason, steps=self._step)
        if spec.cost_left_usd and cost >= spec.cost_left_usd:
            reason = f"the agent's cost budget ran out (${cost:.4f} in this run)"
            return RunOutcome(spec, "BUDGET_EXHAUSTED", reason=reason, steps=self._step)
        return None

    async def _finish(self, outcome: RunOutcome) -> RunOutcome:
        outcome = RunOutcome(
            outcome.spec,
            outcome.status,
            answer=outcome.answer,
            reason=outcome.reason,
            tokens=self._tokens,
            steps=self._step,
            agent_failed=outcome.agent_failed,
        )
        await workflow.execute_activity(
            FINISH_RUN,
            outcome,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=5)),
        )
        return outcome
