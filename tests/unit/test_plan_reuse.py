"""Plan reuse, the decision alone: the threshold, the structural check, today's validator."""

from __future__ import annotations

from typing import Any

import pytest

from agentic.planning.v1 import goals_pb2 as pb
from services.l05_planning import convert, events, reuse
from services.l05_planning.events import GoalView
from services.l05_planning.plan import PlanValidator
from services.l05_planning.plan_library import collection_of

ROLES = ("software-engineer", "test-engineer")
TOOLS = ("python_exec", "read_file")
DIFFERENCE = reuse.GoalDifference()


def tasks(*roles: str, tools: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [
        {"id": f"t{i}", "description": f"step {i}", "role": role, "tools": list(tools)}
        for i, role in enumerate(roles, start=1)
    ]


def candidate(goal: str, similarity: float = 0.95, **fields: Any) -> reuse.Candidate:
    return reuse.Candidate("earlier1", goal, similarity, fields.get("plan", tasks(*ROLES)))


def decide(goal: str, found: reuse.Candidate | None, budget: int = 1_000_000) -> reuse.Decision:
    return reuse.decide(goal, found, 0.71, DIFFERENCE, PlanValidator(TOOLS, budget, ROLES, []))


def test_a_paraphrase_over_the_threshold_reuses_the_plan() -> None:
    found = candidate("Set up a nightly backup of the orders table in Postgres")
    decision = decide("Schedule a backup of the Postgres orders table every night", found)
    assert decision.reused and decision.reused_from == "goals/earlier1"
    assert [t["id"] for t in decision.tasks or []] == ["t1", "t2"]
    assert decision.similarity == 0.95 and "goals/earlier1 (0.95)" in decision.reason


def test_no_candidate_and_a_distant_one_plan_fresh_saying_why() -> None:
    assert not decide("Write a haiku", None).reused
    assert "no earlier completed goal" in decide("Write a haiku", None).reason
    far = decide("Write a haiku", candidate("Rotate the API keys", similarity=0.4))
    assert not far.reused and far.reused_from == ""
    assert far.reason == "nearest goal goals/earlier1 (0.40) is below the reuse threshold of 0.71"


@pytest.mark.parametrize(
    ("earlier", "new", "says"),
    [
        ("Back up the staging database", "Delete the staging database", "different action"),
        ("Enable debug logging on the api", "Disable debug logging on the api", "action"),
        ("Back up the orders table", "Back up the customers table", "different table"),
        ("Write tests for compute_tax", "Write tests for parse_invoice", "identifiers"),
        ("Keep the last 7 backups", "Keep the last 30 backups", "different numbers"),
        ("Merge the branch after the tests pass", "Run the tests but don't merge", "not to do"),
        ("Export the user list to CSV", "Export the user list to JSON", "output format"),
        ("Translate the README into German", "Translate the README into Spanish", "language"),
        ("Deploy the frontend to Heroku", "Deploy the frontend to Netlify", "different things"),
        ("Write the script", "Write the script and run it on the server", "action"),
        # A neutral verb only one goal names is no difference, but what else differs still is.
        ("Build a chart of the fastest endpoints", "Chart the slowest endpoints", "opposite"),
    ],
)
def test_a_close_goal_that_differs_in_what_matters_plans_fresh(
    earlier: str, new: str, says: str
) -> None:
    decision = decide(new, candidate(earlier, similarity=0.99))
    assert not decision.reused
    assert decision.reason.startswith("nearest goal goals/earlier1 (0.99)")
    assert says in decision.reason


def test_a_neutral_verb_either_side_leaves_out_does_not_refuse() -> None:
    # "Build" is a create action; "a chart of" names none: the plan makes the chart anyway.
    found = candidate("Build a chart of monthly revenue from the invoices table")
    assert decide("Make a monthly revenue chart using the invoices table", found).reused


def test_a_plan_todays_validator_refuses_is_not_reused() -> None:
    goal = "Schedule a backup of the Postgres orders table every night"
    earlier = "Set up a nightly backup of the orders table in Postgres"
    retired = decide(goal, candidate(earlier, plan=tasks("data-wizard")))
    assert not retired.reused and "fails today's validator" in retired.reason
    assert "unknown role 'data-wizard'" in retired.reason
    forbidden = decide(goal, candidate(earlier, plan=tasks("software-engineer", tools=("ssh",))))
    assert not forbidden.reused and "unknown or forbidden tool 'ssh'" in forbidden.reason
    poorer = decide(goal, candidate(earlier), budget=5_000)
    assert not poorer.reused and "exceed the goal's token budget of 5000" in poorer.reason


def test_the_origin_is_folded_from_the_goals_events_and_shown_in_the_goal() -> None:
    view = GoalView("g1")
    origin = {"reused_from": "goals/a1", "similarity": 0.93, "reason": "reused the plan of ..."}
    events.apply(view, events.PLAN_REUSED, origin, 1, "2026-01-01T00:00:00Z")
    planned = {"tasks": tasks("software-engineer"), "tokens": 0, "calls": 0, "origin": origin}
    events.apply(view, events.PLANNED, planned, 2, "2026-01-01T00:00:01Z")
    goal = convert.goal_message(view)
    assert goal.plan_origin.reused_from == "goals/a1"
    assert goal.plan_origin.similarity == pytest.approx(0.93)
    assert goal.usage.planning_calls == 0


def test_fresh_plan_is_carried_into_the_spec() -> None:
    request = pb.CreateGoalRequest(goal="x", constraints=pb.Constraints(fresh_plan=True))
    convert.check_create(request)
    assert convert.spec_from(request, "g1", "alice", "q").fresh_plan
    assert not convert.spec_from(pb.CreateGoalRequest(goal="x"), "g1", "alice", "q").fresh_plan


def test_each_embedding_model_has_a_collection_of_its_own() -> None:
    assert collection_of("local/all-minilm-l6-v2") == "l05-plans-local.all-minilm-l6-v2"
    assert collection_of("ollama/nomic-embed-text") != collection_of("local/all-minilm-l6-v2")


def test_the_shipped_threshold_is_the_one_the_dev_half_chooses() -> None:
    """The labelled pairs through the default embedding model (in this process): the
    configured threshold is the lowest with no wrong reuse on dev, and on the held-out half
    no pair of a destructive kind is reused."""
    from bench.plan_reuse import DESTRUCTIVE, SHIPPED, choose_threshold, judge, pairs, wrong
    from services.l04_models.providers.local_embedder import LocalEmbedder, model_files

    files = model_files()
    assert files is not None, "the embedding model's wheels are part of the install"
    embedder = LocalEmbedder(*files)
    everything = pairs()
    dev = judge([p for p in everything if p["split"] == "dev"], embedder)
    heldout = judge([p for p in everything if p["split"] == "heldout"], embedder)
    assert choose_threshold(dev) == SHIPPED
    assert not [j for j in wrong(heldout, SHIPPED) if j.pair["kind"] in DESTRUCTIVE]
