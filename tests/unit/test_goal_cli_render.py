"""What `agentic goal` prints for a goal waiting for its L08 approval."""

from __future__ import annotations

import pytest
from rich.console import Console

from services.launcher.goal_cli import render

pytestmark = [pytest.mark.unit, pytest.mark.l05]


def _printed(goal: dict[str, object]) -> str:
    console = Console(width=200, record=True)
    console.print(render(goal))
    return console.export_text()


def test_a_waiting_goal_says_which_approval_to_decide() -> None:
    goal = {
        "goal": "build it",
        "name": "goals/g1",
        "status": "GOAL_STATUS_WAITING_APPROVAL",
        "approval": "approvals/ab12",
        "tasks": [],
    }
    assert "agentic approvals approve ab12" in _printed(goal)
    running = {**goal, "status": "GOAL_STATUS_RUNNING"}
    assert "approvals approve" not in _printed(running)
