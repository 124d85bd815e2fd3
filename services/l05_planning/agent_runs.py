"""A task's run on L02's agent-run workflow, started as a child of the goal's workflow.

L02's workflow is named by its type and task queue, never imported: its input is the JSON
of L02's run spec, built here from the agent L02 created (its resolved budgets and model
policy), the way L02's own RunAgent builds it. The run's id follows L02's naming, so
L02's TerminateAgent finds and cancels it like any other run.
"""

from __future__ import annotations

import hashlib
from typing import Any

from agentic.runtime.v1 import agents_pb2 as agents_pb

AGENT_RUN_WORKFLOW = "AgentRun"  # L02's workflow type


def agent_id_of(goal_id: str, task_id: str, attempt: int) -> str:
    """The agent of one attempt of a task (at most 64 characters, as L02 allows)."""
    return f"{goal_id[:24]}-{task_id[:32]}-{attempt}"


def run_id_of(agent_id: str) -> str:
    """The one run of a task attempt's agent: 16 hex characters, like L02's own run ids."""
    return hashlib.sha256(f"{agent_id}/task".encode()).hexdigest()[:16]


def workflow_id_of(agent_id: str, run_id: str) -> str:
    """The id L02 gives a run's workflow (and cancels it by)."""
    return f"agent-{agent_id}-run-{run_id}"


def run_input(agent: agents_pb.Agent, run_id: str, task: str) -> dict[str, Any]:
    """L02's run spec for ``task`` on ``agent``, as the JSON its workflow takes."""
    agent_id = agent.name.removeprefix("agents/")
    budgets = agent.budgets
    policy = agent.model_policy
    return {
        "agent_id": agent_id,
        "run_id": run_id,
        "owner": agent.owner,
        "tenant": agent.owner,  # L05 calls L02 in the owner's own tenant
        "task": task,
        "role": agent.role,
        "skills": list(agent.skills),
        "instructions": agent.instructions,
        "model": policy.model,
        "strategy": policy.strategy,
        "temperature": policy.temperature if policy.HasField("temperature") else None,
        "max_answer_tokens": policy.max_tokens,
        "allowed_tools": list(agent.allowed_tools),
        "workspace": f"{agent_id}-{run_id}",
        "max_steps": budgets.max_steps,
        "tokens_left": budgets.max_tokens - agent.tokens_used,
        "cost_left_usd": (budgets.max_cost_usd - agent.cost_usd) if budgets.max_cost_usd else 0.0,
        "max_wall_seconds": budgets.max_wall_time.ToNanoseconds() / 1e9,
    }
