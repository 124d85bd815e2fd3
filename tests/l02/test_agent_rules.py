"""The agent's lifecycle rules and the fold of its events: pure, no database."""

import pytest

from services.kit import PlatformError
from services.l02_runtime import agents
from services.l02_runtime.agents import AgentSpec, State

pytestmark = [pytest.mark.unit, pytest.mark.l02]


def _agent(state: State = State.CREATED) -> agents.AgentView:
    view = agents.created("a1", AgentSpec("helper"), "alice", "acme", "2026-01-01T00:00:00Z")
    return agents.AgentView(**{**view.__dict__, "state": state})


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (State.CREATED, State.PAUSED),
        (State.PAUSED, State.PAUSED),
        (State.TERMINATED, State.RUNNING),
        (State.FAILED, State.RUNNING),
        (State.TERMINATED, State.TERMINATED),
        (State.RUNNING, State.CREATED),
    ],
)
def test_illegal_transitions_name_both_states(start: State, target: State) -> None:
    with pytest.raises(PlatformError) as refused:
        agents.transition(_agent(start), target)
    assert refused.value.code == "E2004"
    assert start.value in refused.value.message and target.value in refused.value.message
    assert refused.value.metadata == {"state": start.value, "target": target.value}


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (State.CREATED, State.RUNNING),
        (State.RUNNING, State.PAUSED),
        (State.PAUSED, State.RUNNING),
        (State.PAUSED, State.TERMINATED),
        (State.RUNNING, State.FAILED),
    ],
)
def test_allowed_transitions(start: State, target: State) -> None:
    agents.transition(_agent(start), target)


def test_events_fold_into_state_and_counters() -> None:
    view = _agent()
    view = agents.apply(view, agents.RUN_STARTED, {"run": "r1"}, 1, "t1")
    assert (view.state, view.current_run, view.run_active) == (State.RUNNING, "r1", True)
    view = agents.apply(
        view, agents.STEP_RECORDED, {"kind": "model", "tokens": 40, "cost_usd": 0.5}, 2, "t2"
    )
    view = agents.apply(view, agents.STEP_RECORDED, {"kind": "tool"}, 3, "t3")
    view = agents.apply(view, agents.RUN_FINISHED, {"run": "r1"}, 4, "t4")
    assert (view.tokens_used, view.cost_usd, view.tool_calls, view.run_active) == (
        40,
        0.5,
        1,
        False,
    )
    assert (view.version, view.update_time) == (4, "t4")


def test_an_event_folded_twice_counts_once() -> None:
    view = agents.apply(_agent(), agents.STEP_RECORDED, {"kind": "tool", "tokens": 5}, 1, "t")
    again = agents.apply(view, agents.STEP_RECORDED, {"kind": "tool", "tokens": 5}, 1, "t")
    assert again == view


def test_the_projection_round_trips() -> None:
    view = agents.apply(_agent(), agents.RUN_STARTED, {"run": "r1"}, 1, "t1")
    assert agents.AgentView.from_document(view.to_document()) == view


def test_spent_budgets_stop_new_runs() -> None:
    spec = AgentSpec("x", budgets=agents.Budgets(max_tokens=100, max_cost_usd=1.0))
    view = agents.created("a", spec, "o", "acme", "t")
    assert view.budget_left() is None
    spent = agents.apply(view, agents.STEP_RECORDED, {"tokens": 100}, 1, "t")
    assert "token budget" in (spent.budget_left() or "")
    costly = agents.apply(view, agents.STEP_RECORDED, {"cost_usd": 1.5}, 1, "t")
    assert "cost budget" in (costly.budget_left() or "")
