"""Runs started before a workflow change replay with the code of today.

The histories were recorded by the goal and agent-run workflows as they were before their
short calls became local activities (kit.workflow_calls): a goal waiting for its approval,
approved, running one task; an agent run calling a tool, then answering. A change that is not
behind ``workflow.patched`` makes their replay fail with a nondeterminism error, which is what
a worker would do to every run in flight when it is upgraded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from services.l02_runtime.workflow import AgentRun
from services.l05_planning.workflow import GoalRun

HISTORIES = Path(__file__).parent.parent / "data" / "histories"


def history(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text())


@pytest.mark.parametrize(
    ("workflow", "name"),
    [(GoalRun, "goal_run_before_local_calls"), (AgentRun, "agent_run_before_local_calls")],
    ids=["goal", "agent-run"],
)
async def test_a_run_started_before_local_calls_replays(workflow: type, name: str) -> None:
    replayed = await Replayer(workflows=[workflow]).replay_workflow(
        history(name), raise_on_replay_failure=False
    )
    assert replayed.replay_failure is None, replayed.replay_failure
