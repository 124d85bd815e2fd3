"""A task run as a Temporal workflow: decide (L04), act (L03), repeat, within the budgets.

Each model call and tool call is an activity with its own retry policy; pause and resume are
signals, terminate is the workflow's cancellation, the live progress a query. The workflow
keeps only what it needs to decide; every step is recorded in L01 by its activity, with event
ids derived from the workflow's id and the step, so a retried activity records nothing twice.
A tool call's idempotency key is derived the same way: after a crash, the retried call
returns L03's remembered result instead of running again. A sensitive tool call that L08
sends to a person waits here for the signal ``approval_decided`` (see approvals.py), then is
sent again with the same key: it runs once, or its refusal is the model's next input.
"""

from __future__ import annotations

import asyncio
import builtins
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from services.kit.workflow_calls import local_calls, short_call
    from services.l02_runtime.approvals import APPROVAL_SIGNAL, APPROVAL_STATE
    from services.l02_runtime.run_types import (
        DecideInput,
        DecideResult,
        Progress,
        RunContext,
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
_APPROVAL_RECHECK = timedelta(seconds=60)  # without a signal, look at the approval this often
_APPROVAL_LAG = timedelta(seconds=1)
_MODEL_CALL_LIMIT = 180.0
_TOOL_CALL_LIMIT = 330.0


@workflow.defn(name="AgentRun")
class AgentRun:
    def __init__(self) -> None:
        self._paused = False
        self._step = 0
        self._tokens = 0
        self._waiting = ""  # the approval the current tool call waits for
        self._decided: set[str] = set()  # approvals decided, as signalled
        self._local = False  # short calls are local activities (kit.workflow_calls)

    @workflow.signal
    def pause(self) -> None:
        self._paused = True

    @workflow.signal
    def resume(self) -> None:
        self._paused = False

    @workflow.signal(name=APPROVAL_SIGNAL)
    def approval_decided(self, approval_id: str) -> None:
        self._decided.add(approval_id)

    @workflow.query
    def progress(self) -> Progress:
        return Progress(self._step, self._paused, self._tokens, self._waiting)

    @workflow.run
    async def run(self, spec: RunSpec) -> RunOutcome:
        self._local = local_calls()
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
            await short_call(
                self._local,
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
        # The role's and skills' texts: fetched by the first decision (no activity of their
        # own: one more would cost a task a scheduling round trip), then given to every step.
        context: RunContext | None = None
        wants_context = bool(spec.role or spec.skills)
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
                    DecideInput(
                        spec,
                        step,
                        list(turns),
                        context,
                        fetch_context=wants_context and context is None,
                    ),
                    result_type=DecideResult,
                    schedule_to_close_timeout=timedelta(seconds=max(left, 0.001)),
                    start_to_close_timeout=timedelta(seconds=min(left, _MODEL_CALL_LIMIT)),
                    heartbeat_timeout=_HEARTBEAT,
                    retry_policy=_RETRY,
                )
                running += workflow.now() - started
                started = workflow.now()
                context = decided.context or context
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
                call = ToolInput(
                    spec,
                    step,
                    decided.tool,
                    decided.arguments_json,
                    f"{workflow.info().workflow_id}/step-{step}",
                )
                result, waited = await self._call_tool(
                    call, spec.max_wall_seconds - running.total_seconds()
                )
                running += workflow.now() - started - waited
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

    async def _run_tool(self, call: ToolInput, left: float) -> ToolResult:
        return await workflow.execute_activity(
            RUN_TOOL,
            call,
            result_type=ToolResult,
            schedule_to_close_timeout=timedelta(seconds=max(left, 0.001)),
            start_to_close_timeout=timedelta(seconds=min(left, _TOOL_CALL_LIMIT)),
            heartbeat_timeout=_HEARTBEAT,
            retry_policy=_RETRY,
        )

    async def _call_tool(self, call: ToolInput, left: float) -> tuple[ToolResult, timedelta]:
        """Runs the tool call; one that waits for an L08 approval is sent again, with the
        same idempotency key, once the approval is decided: L03 then runs it (approved) or
        refuses it with the reason (rejected, expired), which the model reads as the result.
        Returns the result and the time spent waiting (not counted against the run's
        wall time: a person decides)."""
        waited = timedelta(0)
        result = await self._run_tool(call, left)
        while result.approval_id:
            started = workflow.now()
            await self._await_decision(result.approval_id)
            waited += workflow.now() - started
            result = await self._run_tool(call, left)
        return result, waited

    async def _await_decision(self, approval_id: str) -> None:
        self._waiting = approval_id
        try:
            if approval_id in self._decided:
                # Signalled, yet L03 still saw it pending: L08's view lags the log (or the
                # signal was not the follower's). From here only the approval's stream counts.
                self._decided.discard(approval_id)
                await asyncio.sleep(_APPROVAL_LAG.total_seconds())
                if await self._approval_state(approval_id) != "pending":
                    return
            while approval_id not in self._decided:
                try:
                    await workflow.wait_condition(
                        lambda: approval_id in self._decided, timeout=_APPROVAL_RECHECK
                    )
                except builtins.TimeoutError:
                    # No signal (the follower may have been down): look at the approval.
                    if await self._approval_state(approval_id) != "pending":
                        return
        finally:
            self._waiting = ""

    async def _approval_state(self, approval_id: str) -> str:
        return await short_call(
            self._local,
            APPROVAL_STATE,
            approval_id,
            result_type=str,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_RETRY,
        )

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
        await short_call(
            self._local,
            FINISH_RUN,
            outcome,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=5)),
        )
        return outcome
