"""The run workflow's control flow on a real Temporal dev server, with stand-in activities.

The activities here are registered under the real activities' names and script what the model
and the tools answer, so the workflow's own rules (steps, budgets, refusals, pause and resume,
cancellation, the deadline) are checked without the other layers. The layers' own behaviour
is covered by the integration tests in this directory.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.l02_runtime.run_types import (
    DecideInput,
    DecideResult,
    RunContext,
    RunOutcome,
    RunSpec,
    ToolInput,
    ToolResult,
)
from services.l02_runtime.workflow import DECIDE, FINISH_RUN, RUN_TOOL, AgentRun
from services.launcher import binaries

pytestmark = [pytest.mark.integration, pytest.mark.l02]


class Script:
    """What the stand-in model answers, step by step, and what the activities saw."""

    def __init__(self, answers: list[DecideResult], model_delay: float = 0.0) -> None:
        self.answers = answers
        self.model_delay = model_delay
        self.decided: list[DecideInput] = []
        self.tools: list[ToolInput] = []
        self.finished: list[RunOutcome] = []
        self.contexts: list[RunSpec] = []  # the runs whose context was fetched
        self.context = RunContext(role="# Role: Tester", skills=["## Skill: testing (1.0.0)"])
        self.gate = asyncio.Event()
        self.gate.set()

    def activities(self) -> list:
        @activity.defn(name=DECIDE)
        async def decide(given: DecideInput) -> DecideResult:
            await self.gate.wait()
            await asyncio.sleep(self.model_delay)
            self.decided.append(given)
            answer = self.answers[min(given.step, len(self.answers)) - 1]
            if given.fetch_context:
                self.contexts.append(given.spec)
                return replace(answer, context=self.context)
            return answer

        @activity.defn(name=RUN_TOOL)
        async def run_tool(given: ToolInput) -> ToolResult:
            self.tools.append(given)
            return ToolResult(f"ran {given.tool}", exit_code=0, refused=False)

        @activity.defn(name=FINISH_RUN)
        async def finish_run(outcome: RunOutcome) -> None:
            self.finished.append(outcome)

        return [decide, run_tool, finish_run]


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binaries.temporal())
    ) as environment:
        yield environment


def spec(**overrides: object) -> RunSpec:
    values: dict[str, object] = {
        "agent_id": "a1",
        "run_id": uuid.uuid4().hex[:8],
        "owner": "alice",
        "tenant": "acme",
        "task": "compute 2+2",
        "role": "",
        "skills": [],
        "instructions": "",
        "model": "",
        "strategy": "",
        "temperature": None,
        "max_answer_tokens": 64,
        "allowed_tools": ["python_exec"],
        "workspace": "w",
        "max_steps": 5,
        "tokens_left": 1000,
        "cost_left_usd": 0.0,
        "max_wall_seconds": 60.0,
    }
    values.update(overrides)
    return RunSpec(**values)  # type: ignore[arg-type]


CALL = DecideResult(
    "call_tool", raw="{}", tool="python_exec", arguments_json='{"code": "1"}', tokens=10
)
DONE = DecideResult("finish", raw="{}", answer="4", tokens=10)


async def run(
    env: WorkflowEnvironment, script: Script, given: RunSpec
) -> tuple[WorkflowHandle, Worker]:
    queue = f"q-{uuid.uuid4().hex}"
    worker = Worker(
        env.client, task_queue=queue, workflows=[AgentRun], activities=script.activities()
    )
    handle = await env.client.start_workflow(
        AgentRun.run, given, id=f"wf-{uuid.uuid4().hex}", task_queue=queue
    )
    return handle, worker


async def outcome_of(env: WorkflowEnvironment, script: Script, given: RunSpec) -> RunOutcome:
    handle, worker = await run(env, script, given)
    async with worker:
        return await handle.result()


async def test_a_tool_call_then_a_final_answer(env) -> None:
    script = Script([CALL, DONE])
    outcome = await outcome_of(env, script, spec())
    assert (outcome.status, outcome.answer, outcome.steps, outcome.tokens) == (
        "COMPLETED",
        "4",
        2,
        20,
    )
    assert [t.tool for t in script.tools] == ["python_exec"]
    assert script.tools[0].idempotency_key.endswith("/step-1")
    assert script.decided[1].turns[-1].content == "ran python_exec"  # the result fed back
    assert script.finished == [outcome]


async def test_the_role_and_skills_context_is_fetched_once_and_given_to_every_step(env) -> None:
    script = Script([CALL, CALL, DONE])
    outcome = await outcome_of(env, script, spec(role="test-engineer", skills=["testing"]))
    assert outcome.status == "COMPLETED" and len(script.decided) == 3
    assert len(script.contexts) == 1  # fetched by the first decision only
    assert script.decided[0].fetch_context and script.decided[0].context is None
    assert all(given.context == script.context for given in script.decided[1:])
    assert not any(given.fetch_context for given in script.decided[1:])


async def test_without_a_role_or_skills_no_context_is_fetched(env) -> None:
    script = Script([DONE])
    outcome = await outcome_of(env, script, spec())
    assert outcome.status == "COMPLETED"
    assert script.contexts == [] and not script.decided[0].fetch_context


async def test_an_unusable_answer_is_fed_back_and_runs_nothing(env) -> None:
    refused = DecideResult("", raw="{}", tool="shell", problem="tool 'shell' is not allowed")
    script = Script([refused, DONE])
    outcome = await outcome_of(env, script, spec())
    assert outcome.status == "COMPLETED" and script.tools == []
    assert "not allowed" in script.decided[1].turns[-1].content


async def test_steps_run_out(env) -> None:
    outcome = await outcome_of(env, Script([CALL]), spec(max_steps=3))
    assert outcome.status == "BUDGET_EXHAUSTED" and "3 steps" in outcome.reason


async def test_tokens_run_out(env) -> None:
    outcome = await outcome_of(env, Script([CALL]), spec(tokens_left=25))
    assert outcome.status == "BUDGET_EXHAUSTED" and "token budget" in outcome.reason
    assert outcome.tokens == 30


async def test_a_run_past_its_deadline_fails_the_agent(env) -> None:
    outcome = await outcome_of(env, Script([CALL], model_delay=3.0), spec(max_wall_seconds=1.0))
    assert outcome.status == "FAILED" and outcome.agent_failed
    assert "deadline of 1 s" in outcome.reason


async def test_pause_holds_the_next_step_and_resume_goes_on(env) -> None:
    script = Script([CALL, CALL, DONE])
    script.gate.clear()
    handle, worker = await run(env, script, spec())
    async with worker:
        await handle.signal(AgentRun.pause)
        script.gate.set()
        await asyncio.sleep(1.0)
        progress = await handle.query(AgentRun.progress)
        assert progress.paused is True
        assert len(script.decided) <= 1  # the step under way finished; no further one began
        await handle.signal(AgentRun.resume)
        outcome = await handle.result()
    assert outcome.status == "COMPLETED" and len(script.decided) == 3


async def test_cancelling_the_run_records_it_cancelled(env) -> None:
    script = Script([CALL], model_delay=0.5)
    handle, worker = await run(env, script, spec(max_steps=50))
    async with worker:
        await asyncio.sleep(1.0)
        await handle.cancel()
        outcome = await handle.result()
    assert outcome.status == "CANCELLED"
    assert script.finished and script.finished[-1].status == "CANCELLED"
