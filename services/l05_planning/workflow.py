"""A goal as a Temporal workflow: plan (L04), wait for an approval if asked, run the DAG.

A goal whose constraints require approval opens an approval in L08 once its plan is valid
(an activity; the approval is named by the goal, so a retry opens nothing twice), records
that it waits, and waits for the signal ``approval_decided`` (sent by the follower of L08's
decisions, approval_follower.py, and by ApproveGoal), reading the approval's stream in L01
after each signal, and without one after 30 s, then less and less often (10 min at most).
Approved, the plan runs; rejected or expired, the goal ends CANCELLED saying who rejected it
and why. The approval lives as long as the goal's wall time has left.

A task starts when its dependencies are done, up to the goal's parallelism: an activity
creates its L02 agent, then the task runs as a child workflow of this one on L02's agent-run
workflow (by type name and L02's task queue). A run that does not complete is an attempt
failed; the next attempt, on a new agent, starts after a backoff (1 s, 2 s, 4 s ...), and
after the last the goal fails naming the task. Cancelling the workflow cancels the running
children and terminates their agents. Every change is recorded on the goal's L01 stream by
the ``record`` local activity under an id derived from the goal and the change, so a replayed or
retried record writes nothing twice; a child's id is derived from the task attempt, so a
replay after a crash finds the child it started instead of starting another.
"""

from __future__ import annotations

import asyncio
import builtins
import json
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
)

with workflow.unsafe.imports_passed_through():
    from services.kit.workflow_calls import local_calls, short_call
    from services.l05_planning import approval, events
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
        TaskOutcome,
        TaskSpec,
        TaskStart,
        TaskStopped,
    )

KNOWN_NAMES = "goal_known_names"
PLAN = "goal_plan"
START_TASK = "goal_start_task"
STOP_TASK = "goal_stop_task"
RECORD = "goal_record"
OPEN_APPROVAL = "goal_open_approval"
APPROVAL_DECISION = "goal_approval_decision"
APPROVAL_SIGNAL = "approval_decided"
REMEMBER_PLAN = "goal_remember_plan"
# Histories of goals started before the plan library replay without its activity.
PLAN_LIBRARY_PATCH = "plan-library"

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
# Without a signal (its follower may have been down), look at the approval after 30 s, then
# twice as long each time up to 10 minutes: a wait of days stays a short history.
_APPROVAL_RECHECK_FIRST = 30.0
_APPROVAL_RECHECK_MAX = 600.0
_OUTPUT_SUMMARY_CHARS = 4_000


_MAX_TASK_BACKOFF_SECONDS = 30.0


class TaskFailed(Exception):
    """Every attempt of a task failed; the message says why the last one did."""


def task_backoff(attempt: int) -> timedelta:
    """The pause after failed attempt ``attempt``: 1 s, 2 s, 4 s ... at most 30 s."""
    return timedelta(seconds=min(2.0 ** (attempt - 1), _MAX_TASK_BACKOFF_SECONDS))


@workflow.defn(name="GoalRun")
class GoalRun:
    def __init__(self) -> None:
        self._decided: set[str] = set()  # approvals signalled as decided
        self._stopping = False  # the goal is ending: a finished child is not tried again
        self._agents: dict[str, str] = {}  # task id -> the agent of its running attempt
        self._local = False  # short calls are local activities (kit.workflow_calls)

    @workflow.signal(name=APPROVAL_SIGNAL)
    def approval_decided(self, approval_id: str) -> None:
        self._decided.add(approval_id)

    @workflow.run
    async def run(self, spec: GoalSpec) -> str:
        self._local = local_calls()
        deadline = workflow.now() + timedelta(seconds=spec.wall_seconds)
        try:
            # Apart from the model call: a slow layer's lists are retried like any transient
            # failure, without asking the model again.
            names = await short_call(
                self._local,
                KNOWN_NAMES,
                spec,
                result_type=KnownNames,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=_TRANSIENT,
            )
            plan = await workflow.execute_activity(
                PLAN,
                PlanInput(spec, names),
                result_type=PlanResult,
                start_to_close_timeout=timedelta(seconds=600),
                heartbeat_timeout=_HEARTBEAT,
                retry_policy=_PLAN_RETRY,
            )
            origin = plan.origin.__dict__
            if plan.origin.reused_from:
                await self._record(spec, events.PLAN_REUSED, origin)
            if plan.problems:
                await self._record(
                    spec,
                    events.PLAN_REFUSED,
                    {
                        "problems": plan.problems,
                        "tokens": plan.tokens,
                        "calls": plan.calls,
                        "origin": origin,
                    },
                )
                reason = "E5001: the plan was refused twice: " + "; ".join(plan.problems)
                return await self._finish(spec, events.FAILED, reason=reason)
            tasks = [task.__dict__ for task in plan.tasks]
            await self._record(
                spec,
                events.PLANNED,
                {"tasks": tasks, "tokens": plan.tokens, "calls": plan.calls, "origin": origin},
            )
            if spec.require_approval:
                opened, decision = await self._approval(spec, plan, deadline)
                if decision.state != approval.APPROVED:
                    reason = approval.outcome_reason(opened.id, decision)
                    return await self._finish(spec, events.CANCELLED, reason=reason)
                decided = {"approval": f"approvals/{opened.id}", "by": decision.by}
                await self._record(spec, events.APPROVED, {**decided, "comment": decision.comment})
            return await self._run_dag(spec, plan, deadline)
        except asyncio.CancelledError:
            return await self._finish(spec, events.CANCELLED, reason="cancelled")
        except ActivityError as error:
            if isinstance(error.cause, CancelledError):  # cancelled while it was planning
                return await self._finish(spec, events.CANCELLED, reason="cancelled")
            # A layer stayed unreachable past the retries.
            return await self._finish(spec, events.FAILED, reason=_cause(error))

    async def _approval(
        self, spec: GoalSpec, plan: PlanResult, deadline: Any
    ) -> tuple[ApprovalRef, ApprovalDecision]:
        """Opens the plan's approval in L08 and waits until it is decided."""
        left = (deadline - workflow.now()).total_seconds()
        opened = await short_call(
            self._local,
            OPEN_APPROVAL,
            ApprovalAsk(spec, plan.tasks, max(left, 1.0)),
            result_type=ApprovalRef,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_TRANSIENT,
        )
        waiting = {"approval": f"approvals/{opened.id}", "expire_time": opened.expire_time}
        await self._record(spec, events.WAITING_APPROVAL, waiting)
        recheck = _APPROVAL_RECHECK_FIRST
        while True:
            try:
                await workflow.wait_condition(
                    lambda: opened.id in self._decided, timeout=timedelta(seconds=recheck)
                )
            except builtins.TimeoutError:
                recheck = min(recheck * 2, _APPROVAL_RECHECK_MAX)
            self._decided.discard(opened.id)
            try:
                decision = await short_call(
                    self._local,
                    APPROVAL_DECISION,
                    opened.id,
                    result_type=ApprovalDecision,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=_TRANSIENT,
                )
            except ActivityError as error:
                if isinstance(error.cause, CancelledError):
                    raise
                # L01 did not answer: the goal keeps waiting and looks again later.
                workflow.logger.warning("approval %s not read: %s", opened.id, _cause(error))
                continue
            if decision.state != approval.PENDING:
                return opened, decision

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
                    except (ActivityError, TaskFailed) as error:
                        reason = _cause(error) if isinstance(error, ActivityError) else str(error)
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
            await self._stop(spec, running)
            raise
        if workflow.patched(PLAN_LIBRARY_PATCH):
            await self._remember(spec, plan.tasks)
        return await self._finish(spec, events.COMPLETED, result=_result(plan.tasks, outputs))

    async def _remember(self, spec: GoalSpec, tasks: list[TaskSpec]) -> None:
        """Puts the completed goal's plan in the plan library, before the goal is shown
        COMPLETED (so a goal submitted after that can reuse it). A library that stays
        unreachable costs the reuse, not the goal."""
        try:
            await short_call(
                self._local,
                REMEMBER_PLAN,
                CompletedPlan(spec, tasks),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=0.5), maximum_attempts=3
                ),
            )
        except ActivityError as error:
            workflow.logger.warning("the plan could not be remembered: %s", _cause(error))

    def _start(
        self, spec: GoalSpec, task: TaskSpec, outputs: dict[str, str], spent: int
    ) -> asyncio.Task[TaskOutcome]:
        context = [(d, outputs[d]) for d in task.dependencies]
        return asyncio.ensure_future(
            self._run_task(spec, task, context, max(spec.token_budget - spent, 1))
        )

    async def _run_task(
        self, spec: GoalSpec, task: TaskSpec, context: list[tuple[str, str]], tokens_left: int
    ) -> TaskOutcome:
        """Runs the task's attempts, each on a new agent, until one completes."""
        tokens = 0
        reason = ""
        for attempt in range(1, spec.max_task_attempts + 1):
            if attempt > 1:
                await workflow.sleep(task_backoff(attempt - 1))
            started = await short_call(
                self._local,
                START_TASK,
                TaskInput(spec, task, context, max(tokens_left - tokens, 1), attempt),
                result_type=TaskStart,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=_TRANSIENT,
            )
            self._agents[task.id] = started.agent
            run = await self._run_child(spec, started)
            del self._agents[task.id]
            if self._stopping:  # its run was cancelled with the goal
                raise asyncio.CancelledError
            tokens += int(run.get("tokens", 0))
            if run.get("status") == "COMPLETED":
                return TaskOutcome(task.id, run.get("answer", ""), tokens, attempt, started.agent)
            status, why = run.get("status", "FAILED"), run.get("reason", "")
            reason = f"attempt {attempt}: the agent's run ended {status}: {why}"
        raise TaskFailed(reason)

    async def _run_child(self, spec: GoalSpec, started: TaskStart) -> dict[str, Any]:
        """The run's outcome (L02's RunOutcome as JSON). A cancelled run ends CANCELLED."""
        try:
            outcome: dict[str, Any] = await workflow.execute_child_workflow(
                AGENT_RUN_WORKFLOW,
                started.run_input,
                id=started.workflow_id,
                task_queue=spec.agent_task_queue,
                result_type=dict,
                cancellation_type=workflow.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except ChildWorkflowError as error:  # L02's run itself failed (not its task)
            cause = error.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            return {"status": "FAILED", "reason": message}
        return outcome

    async def _stop(
        self, spec: GoalSpec, running: dict[asyncio.Task[TaskOutcome], TaskSpec]
    ) -> None:
        """Cancels the running tasks, waits until their runs have ended, terminates their
        agents."""
        self._stopping = True
        agents = sorted(self._agents.values())
        for future in running:
            future.cancel()
        for future in running:
            try:
                await asyncio.shield(future)
            except (asyncio.CancelledError, ActivityError, TaskFailed):
                pass
        for agent in agents:
            await short_call(
                self._local,
                STOP_TASK,
                TaskStopped(agent, spec.owner, "the goal stopped"),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_TRANSIENT,
            )

    async def _fail(
        self, spec: GoalSpec, running: dict[asyncio.Task[TaskOutcome], TaskSpec], reason: str
    ) -> str:
        await self._stop(spec, running)
        return await self._finish(spec, events.FAILED, reason=reason)

    async def _task_finished(self, spec: GoalSpec, task_id: str, state: str, **fields: Any) -> None:
        await self._record(spec, events.TASK_FINISHED, {"task": task_id, "state": state, **fields})

    async def _finish(self, spec: GoalSpec, status: str, result: str = "", reason: str = "") -> str:
        data = {"status": status, "result": result, "reason": reason}
        await self._record(spec, events.FINISHED, data)
        return status

    async def _record(self, spec: GoalSpec, event_type: str, data: dict[str, Any]) -> None:
        key = f"{event_type}/{data.get('task', '')}"
        await short_call(
            self._local,
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
