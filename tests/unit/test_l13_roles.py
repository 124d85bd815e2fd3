"""L13's domain without a mesh: role checks, oversight rules, the context budget, ranking."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.kit import PlatformError
from services.kit.semantic_index import Cosines, IndexedText, Similarity
from services.kit.tokens import count_tokens
from services.kit.tools import BUILTIN_TOOLS
from services.l13_roles.classifier import (
    EXAMPLE_ID,
    ExampleVectors,
    ExampleWords,
    RoleProfile,
    Weights,
    rank,
    role_texts,
    signals,
    task_terms,
)
from services.l13_roles.config import RoleSettings
from services.l13_roles.context import build_context
from services.l13_roles.definitions import load_shipped_roles, validate_role
from services.l13_roles.oversight import (
    LEARNED_REASON,
    LEARNED_THRESHOLD,
    Oversight,
    flagged_examples,
    oversight_reasons,
)

pytestmark = [pytest.mark.unit, pytest.mark.l13]

ROLES = load_shipped_roles(RoleSettings().roles_dir)
FLAGGED = flagged_examples(RoleSettings().oversight_path)
OVERSIGHT = Oversight((e for role in ROLES for e in role.examples), FLAGGED, task_terms)
EXPECTED = {
    "architect", "backend-developer", "code-reviewer", "database-engineer", "debugger",
    "devops-engineer", "documentation-writer", "frontend-developer", "security-analyst",
    "software-engineer", "test-engineer",
}  # fmt: skip


def _valid(**changes: object) -> dict[str, object]:
    role = ROLES[0].content()
    role.update(changes)
    return role


def test_the_eleven_roles_ship_complete() -> None:
    assert {r.name for r in ROLES} == EXPECTED
    for role in ROLES:
        assert role.responsibilities and role.keywords and role.core_skills and role.prompt
        assert role.token_budget == 4000


def test_an_invalid_role_names_every_bad_field() -> None:
    with pytest.raises(PlatformError) as caught:
        validate_role(
            _valid(name="Bad Name", title="", preferred_tools=["shell", "rm_rf"],
                   layers=["l99"], token_budget=5, responsibilities="not a list"),
            BUILTIN_TOOLS,
        )  # fmt: skip
    fields = [field for field, _ in caught.value.violations]
    assert fields == [
        "name",
        "title",
        "responsibilities",
        "preferred_tools[1]",
        "layers[0]",
        "token_budget",
    ]
    assert caught.value.error.code == "E13002"
    assert "rm_rf" in caught.value.message


def test_preferred_tools_are_checked_only_against_the_tools_given() -> None:
    raw = _valid(preferred_tools=["shell", "weather_api"])
    assert validate_role(raw).preferred_tools == ("shell", "weather_api")  # read back from L01
    with pytest.raises(PlatformError) as caught:
        validate_role(raw, BUILTIN_TOOLS)
    assert list(caught.value.violations) == [("preferred_tools[1]", "unknown tool 'weather_api'")]
    assert validate_role(raw, {*BUILTIN_TOOLS, "weather_api"}).name == raw["name"]


def test_a_role_with_duplicate_keywords_or_a_huge_prompt_is_refused() -> None:
    with pytest.raises(PlatformError) as caught:
        validate_role(_valid(keywords=["api", "api"], prompt="x" * 40_000))
    assert [f for f, _ in caught.value.violations] == ["prompt", "keywords"]


@pytest.mark.parametrize(
    ("task", "reason"),
    [
        ("drop the sessions table on the reporting db", "deletes or overwrites stored data"),
        ("push the hotfix to production now", "changes production"),
        ("rotate the stripe api key", "touches credentials or secrets"),
        ("give bob admin access to the billing console", "changes permissions or access"),
        ("open port 22 to 0.0.0.0/0 for the contractor", "exposes a service or data publicly"),
        (
            "tear down the demo environment after the trade show",
            "shuts down or tears down a system",
        ),
        ("shut the old ftp server down for good", "shuts down or tears down a system"),
        ("archive last year's invoice rows into cold storage", "deletes or overwrites stored data"),
        ("remove the stale folders on the build server", "deletes or overwrites stored data"),
        ("the migration has to run against the live cluster", "changes production"),
        ("move the www record over to the new dns provider", "changes DNS"),
        ("someone committed an aws key to the repo", "touches credentials or secrets"),
        ("lots of failed logins on the vpn tonight", "possible security incident or data exposure"),
        (
            "put the internal dashboards on the public internet",
            "exposes a service or data publicly",
        ),
        ("only staff should reach the admin console", "changes permissions or access"),
        ("give the ci bot owner rights on every repo", "changes permissions or access"),
        ("grant the contractor read access to the logs bucket", "changes permissions or access"),
    ],
)
def test_destructive_or_sensitive_work_needs_oversight(task: str, reason: str) -> None:
    assert reason in oversight_reasons(task)


@pytest.mark.parametrize(
    "task",
    [
        "add a date picker to the settings page",
        "write down how to rotate the signing keys",  # describing is not doing
        "why does the test suite take ten minutes",
        "count requests per api key in the usage report",  # a key as a name, not a secret
        "make staging look like prod but with smaller machines",  # compared with, not changed
        "add docstrings to the public functions",
        "turn on live reload for the dev server",
        "add a foreign key from orders to customers",
    ],
)
def test_ordinary_work_needs_no_oversight(task: str) -> None:
    assert oversight_reasons(task) == []
    assert OVERSIGHT.reasons(task) == []  # nor by the model of the examples


def test_oversight_rules_agree_with_the_labelled_development_half() -> None:
    rows = [
        json.loads(line) for line in Path("tests/data/role_tasks.jsonl").read_text().splitlines()
    ]
    dev = [row for row in rows if row["split"] == "dev"]
    agree = sum(bool(oversight_reasons(row["text"])) == row["needs_oversight"] for row in dev)
    assert agree / len(dev) >= 0.95


def test_every_development_task_labelled_as_needing_oversight_is_flagged() -> None:
    # Recall first: an unflagged destructive or credential-touching task is the worse error.
    rows = [
        json.loads(line) for line in Path("tests/data/role_tasks.jsonl").read_text().splitlines()
    ]
    missed = [
        row["text"]
        for row in rows
        if row["split"] == "dev" and row["needs_oversight"] and not oversight_reasons(row["text"])
    ]
    assert missed == []


@pytest.mark.parametrize("budget", [4000, 600, 250, 120])
def test_the_context_fits_the_budget_and_says_what_was_cut(budget: int) -> None:
    role = next(r for r in ROLES if r.name == "debugger")
    task = "the login page is slow and throws 500s sometimes. " * 40
    built = build_context(role, task, budget)
    assert built.token_count == count_tokens(built.text) <= budget
    if count_tokens(role.prompt) + count_tokens(task) > budget:
        assert built.trimmed
    assert (budget < 4000) == bool(built.trimmed)
    assert built.text.startswith(f"# Role: {role.title}")


def test_a_context_within_budget_keeps_every_part() -> None:
    role = next(r for r in ROLES if r.name == "architect")
    built = build_context(role, "design the notification system", role.token_budget)
    assert built.trimmed == ()
    for part in ("## Responsibilities", "Skills: ", "Tools: ", "## Task\ndesign the notification"):
        assert part in built.text


def _similarities(cosines: dict[str, list[float]]) -> list[Similarity]:
    return [
        Similarity(IndexedText(f"{owner}.{i}", owner, f"text {i} of {owner}"), cosine)
        for owner, values in cosines.items()
        for i, cosine in enumerate(values)
    ]


def test_ranking_blends_meaning_with_keywords_by_the_weights() -> None:
    profiles = {r.name: RoleProfile.of(r) for r in ROLES if r.name in ("debugger", "architect")}
    # The architect is nearer in meaning; the task names two of the debugger's keywords.
    similarities = _similarities({"architect": [0.6, 0.5, 0.4], "debugger": [0.5, 0.4, 0.3]})
    task = "stack trace and a crash on startup"
    found = signals(task, Cosines.of(similarities), profiles)
    meaning_only = rank(found, Weights(closest=1, nearest3=0, mean=0, keywords=0, skills=0))
    assert [r.name for r in meaning_only] == ["architect", "debugger"]
    blended = rank(found, Weights(closest=1, nearest3=0, mean=0, keywords=1.5, skills=0))
    assert blended[0].name == "debugger"
    assert any(reason.startswith("keywords: ") for reason in blended[0].reasons)


def test_a_role_not_embedded_yet_is_left_out_not_guessed() -> None:
    profiles = {r.name: RoleProfile.of(r) for r in ROLES}
    found = signals(
        "anything", Cosines.of(_similarities({"debugger": [0.3], "architect": [0.2]})), profiles
    )
    assert {s.role for s in found} == {"debugger", "architect"}


def test_every_role_text_is_indexed_under_its_role() -> None:
    role = ROLES[0]
    texts = role_texts(role)
    assert {t.owner for t in texts} == {role.name}
    assert len({t.id for t in texts}) == len(texts)
    assert len(texts) == len(role.responsibilities) + len(role.keywords) + len(role.examples) + 2
    assert np.isclose(len(texts[0].digest), 32)


def _example_similarities(cosines: dict[str, list[float]]) -> list[Similarity]:
    return [
        Similarity(IndexedText(f"{owner}{EXAMPLE_ID}{i}", owner, f"example {i}"), cosine)
        for owner, values in cosines.items()
        for i, cosine in enumerate(values)
    ]


def test_examples_are_their_own_signals_not_part_of_the_description_ones() -> None:
    profiles = {r.name: RoleProfile.of(r) for r in ROLES if r.name in ("debugger", "architect")}
    described = _similarities({"architect": [0.6, 0.5, 0.4], "debugger": [0.5, 0.4, 0.3]})
    # An example of the debugger's is the nearest text of all: it moves only the example signals.
    examples = _example_similarities({"architect": [0.2], "debugger": [0.9, 0.8]})
    found = {s.role: s for s in signals("it crashes", Cosines.of(described + examples), profiles)}
    assert found["architect"].values["closest"] > found["debugger"].values["closest"]
    assert (
        found["debugger"].values["example_closest"] > found["architect"].values["example_closest"]
    )
    by_examples = rank(
        list(found.values()),
        Weights(closest=0, nearest3=0, mean=0, keywords=0, skills=0, example_closest=1),
    )
    assert by_examples[0].name == "debugger"


def test_a_role_without_examples_gets_the_lowest_example_signal_not_an_average() -> None:
    names = ("debugger", "architect", "test-engineer")
    profiles = {r.name: RoleProfile.of(r) for r in ROLES if r.name in names}
    described = _similarities({name: [0.4] for name in names})
    examples = _example_similarities({"architect": [0.2], "debugger": [0.9]})
    found = {s.role: s for s in signals("it crashes", Cosines.of(described + examples), profiles)}
    lowest = min(
        found["architect"].values["example_closest"], found["debugger"].values["example_closest"]
    )
    assert found["test-engineer"].values["example_closest"] == lowest


def test_a_role_takes_at_most_100_examples_of_500_characters() -> None:
    raw = {**ROLES[0].content(), "examples": ["x" * 501] + [f"task {i}" for i in range(100)]}
    with pytest.raises(PlatformError) as caught:
        validate_role(raw)
    fields = {field for field, _ in caught.value.violations}
    assert {"examples", "examples[0]"} <= fields


def test_the_words_signal_follows_the_words_of_a_roles_examples() -> None:
    profiles = {
        "tester": RoleProfile("tester", (), (), ("the suite is flaky again", "raise coverage")),
        "builder": RoleProfile("builder", (), (), ("ship the new endpoint", "add an api route")),
    }
    words_of = ExampleWords(profiles)
    found = words_of.values("which test is flaky on the checkout suite")
    assert found["tester"] > 0 > found["builder"]
    assert sum(found.values()) == pytest.approx(0)  # standardised across the roles
    assert words_of.values("raise coverage")["tester"] > 0
    # Left out, an example no longer counts: its words are then in no example, and only the
    # roles' numbers of examples are left (the builder has more).
    alone = words_of.values("raise coverage", leaving_out="raise coverage")
    assert alone["builder"] > 0 > alone["tester"]
    # Stop words say nothing: a task of them alone leans on the roles' example counts only.
    assert task_terms("what should we do with it") == []
    similarities = _similarities({"tester": [0.5], "builder": [0.5]})
    ranked = rank(
        signals("flaky suite", Cosines.of(similarities), profiles, found),
        Weights(closest=1, nearest3=0, mean=0, keywords=0, skills=0, words=1),
    )
    assert ranked[0].name == "tester"


def test_a_role_without_examples_never_loses_by_the_words_signal() -> None:
    profiles = {
        "tester": RoleProfile("tester", (), (), ("the suite is flaky again",)),
        "builder": RoleProfile("builder", (), (), ("ship the new endpoint",)),
        "keeper": RoleProfile("keeper", (), (), ()),  # created through the API with none
    }
    found = ExampleWords(profiles).values("the suite is flaky")
    assert "keeper" not in found and found["tester"] > 0 > found["builder"]
    similarities = Cosines.of(_similarities({n: [0.5] for n in profiles}))
    ranked = signals("the suite is flaky", similarities, profiles, found)
    words = {s.role: s.values["words"] for s in ranked}
    assert words["keeper"] == words["tester"] == max(found.values())


def test_the_learned_signal_points_to_the_role_whose_examples_are_near() -> None:
    """The embedding model of the examples: a task near the tester's examples scores the
    tester highest; a role with no examples gets the best of the others' values."""
    axes = {"tester": [1.0, 0.0, 0.0], "builder": [0.0, 1.0, 0.0]}
    entries, rows = [], []
    for owner, axis in axes.items():
        for i in range(3):
            entries.append(IndexedText(f"{owner}{EXAMPLE_ID}{i}", owner, f"example {i}"))
            rows.append(np.array(axis) + 0.1 * i)
        entries.append(IndexedText(f"{owner}.summary", owner, "what the role does"))
        rows.append(np.array([0.0, 0.0, 1.0]))  # not an example: not learned from
    matrix = np.array(rows, dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    profiles = {name: RoleProfile(name, (), (), ("an example",)) for name in axes}
    profiles["keeper"] = RoleProfile("keeper", (), (), ())
    model = ExampleVectors(entries, matrix, set(profiles))
    found = model.values(np.array([0.9, 0.1, 0.0], dtype=np.float32))
    assert set(found) == {"tester", "builder"} and found["tester"] > 0 > found["builder"]
    similarities = Cosines.of(_similarities({n: [0.5] for n in profiles}))
    ranked = signals("task", similarities, profiles, {}, found)
    learned = {s.role: s.values["learned"] for s in ranked}
    assert learned["keeper"] == learned["tester"] == max(found.values())
    assert ExampleVectors(entries, matrix, {"keeper"}).values(matrix[0]) == {}


def test_the_flagged_examples_are_the_labelled_development_rows_that_need_oversight() -> None:
    rows = [
        json.loads(line) for line in Path("tests/data/role_tasks.jsonl").read_text().splitlines()
    ]
    labelled = {row["text"] for row in rows if row["split"] != "heldout" and row["needs_oversight"]}
    assert FLAGGED == labelled
    assert FLAGGED <= {example for role in ROLES for example in role.examples}


def test_the_model_flags_sensitive_work_in_words_no_rule_has() -> None:
    """A task no rule flags, worded like examples that needed oversight: the model's reason.
    Each example left out of the model, as when the threshold was chosen."""
    caught = [
        text
        for text in FLAGGED
        if not oversight_reasons(text) and OVERSIGHT.probability(text, text) > LEARNED_THRESHOLD
    ]
    assert caught  # the rules miss some development rows the model catches
    task = caught[0]
    assert OVERSIGHT.reasons(task) == [LEARNED_REASON]
    # Rules come first and give their own reasons; describing the work is still not doing it.
    assert OVERSIGHT.reasons("drop the orders table in production") == oversight_reasons(
        "drop the orders table in production"
    )
    assert OVERSIGHT.reasons(f"document how to {task}") == []
