"""A goal's task runs on L02's run workflow, named and fed by L05 without importing L02: these
check L05's side of that agreement against L02's own types and names."""

from __future__ import annotations

import dataclasses

from temporalio.converter import DataConverter

from agentic.runtime.v1 import agents_pb2 as agents_pb
from services.l02_runtime.run_types import RunSpec
from services.l02_runtime.server import workflow_id
from services.l02_runtime.workflow import AgentRun
from services.l05_planning.agent_runs import (
    AGENT_RUN_WORKFLOW,
    agent_id_of,
    run_id_of,
    run_input,
    workflow_id_of,
)


def created_agent() -> agents_pb.Agent:
    agent = agents_pb.Agent(
        name="agents/g1-a-1",
        role="debugger",
        skills=["sql"],
        allowed_tools=["python_exec"],
        owner="alice",
        tokens_used=100,
    )
    agent.model_policy.model = "local/smollm2-135m"
    agent.model_policy.max_tokens = 512
    agent.budgets.max_steps = 8
    agent.budgets.max_tokens = 5_000
    agent.budgets.max_wall_time.FromSeconds(300)
    return agent


async def test_the_run_input_decodes_as_l02s_run_spec() -> None:
    converter = DataConverter.default
    payloads = await converter.encode([run_input(created_agent(), "0123456789abcdef", "do a")])
    [spec] = await converter.decode(payloads, [RunSpec])
    assert isinstance(spec, RunSpec)
    assert spec.agent_id == "g1-a-1" and spec.run_id == "0123456789abcdef"
    assert spec.owner == spec.tenant == "alice" and spec.task == "do a"
    assert spec.tokens_left == 4_900 and spec.max_wall_seconds == 300.0
    assert spec.temperature is None and spec.cost_left_usd == 0.0
    fields = {f.name for f in dataclasses.fields(RunSpec)}
    assert set(run_input(created_agent(), "r", "t")) == fields


def test_names_match_l02s() -> None:
    assert AGENT_RUN_WORKFLOW == AgentRun.__temporal_workflow_definition.name  # type: ignore[attr-defined]
    agent_id = agent_id_of("g" * 40, "t" * 40, 3)
    assert len(agent_id) <= 64
    run_id = run_id_of(agent_id)
    assert len(run_id) == 16 and run_id == run_id_of(agent_id)
    assert workflow_id_of(agent_id, run_id) == workflow_id(agent_id, run_id)
