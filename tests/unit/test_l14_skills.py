"""L14's domain without a mesh: skill checks, versions, loading plans."""

from __future__ import annotations

import pytest

from services.kit.tools import BUILTIN_TOOLS
from services.l14_skills.config import SkillSettings
from services.l14_skills.definitions import (
    check_skill,
    load_shipped_skills,
    unknown_roles,
    version_key,
)
from services.l14_skills.loading import Candidate, plan_loading
from services.l14_skills.search import skill_texts

pytestmark = [pytest.mark.unit, pytest.mark.l14]

SKILLS = load_shipped_skills(SkillSettings().skills_dir)
REQUIRED = {
    "python", "async_python", "fastapi", "grpc", "protobuf", "rest_api_design", "sql",
    "postgresql", "redis", "docker", "kubernetes", "terraform", "ci_cd", "git", "bash",
    "testing", "debugging", "code_review", "refactoring", "security_analysis",
    "threat_modeling", "performance_profiling", "logging_monitoring", "documentation",
    "event_sourcing", "data_modeling", "typescript", "react", "error_handling",
    "dependency_management",
}  # fmt: skip


def _valid(**changes: object) -> dict[str, object]:
    skill = SKILLS[0].content()
    skill.update(changes)
    return skill


def test_at_least_47_skills_ship_with_the_required_names_and_real_instructions() -> None:
    names = {s.name for s in SKILLS}
    assert len(SKILLS) >= 47 and REQUIRED <= names
    for skill in SKILLS:
        assert len(skill.instructions.splitlines()) >= 3, skill.name
        assert set(skill.required_tools) <= BUILTIN_TOOLS
        assert skill.parameters["type"] == "object"


def test_a_valid_skill_has_no_problems() -> None:
    skill, problems = check_skill(_valid())
    assert problems == [] and skill is not None


def test_an_invalid_skill_lists_every_reason_by_field() -> None:
    _, problems = check_skill(
        _valid(
            name="Docker!", version="1.0", category="cooking", instructions="",
            required_tools=["shell", "teleport"], parameters={"type": "object", "required": 3},
            examples=[{"input": "x"}], status="retired",
        ),
        BUILTIN_TOOLS,
    )  # fmt: skip
    fields = [field for field, _ in problems]
    assert fields == [
        "name", "version", "category", "instructions", "required_tools[1]", "parameters",
        "examples[0].output", "status",
    ]  # fmt: skip
    assert "teleport" in dict(problems)["required_tools[1]"]


def test_tools_are_checked_only_against_the_tools_given() -> None:
    raw = _valid(required_tools=["shell", "weather_api"])
    assert check_skill(raw)[1] == []  # read back from L01: checked when it was written
    assert check_skill(raw, BUILTIN_TOOLS)[1] == [
        ("required_tools[1]", "unknown tool 'weather_api'")
    ]
    assert check_skill(raw, {*BUILTIN_TOOLS, "weather_api"})[1] == []


def test_parameters_must_be_an_object_schema() -> None:
    _, problems = check_skill(_valid(parameters={"type": "string"}))
    assert problems == [("parameters", "must be an object schema (type: object)")]


def test_roles_l13_does_not_know_are_named() -> None:
    skill, _ = check_skill(_valid(roles=["debugger", "wizard"]))
    assert skill is not None
    assert unknown_roles(skill, {"debugger"}) == [("roles[1]", "no role 'wizard' in L13")]


@pytest.mark.parametrize(
    ("lower", "higher"),
    [("1.0.0", "1.0.1"), ("1.9.0", "1.10.0"), ("2.0.0-rc.1", "2.0.0"), ("0.9.9", "1.0.0")],
)
def test_versions_order_semantically(lower: str, higher: str) -> None:
    assert version_key(lower) < version_key(higher)


def test_a_loading_plan_keeps_the_most_relevant_within_budget() -> None:
    candidates = [
        Candidate("a", "1.0.0", 300, 0.2),
        Candidate("b", "1.0.0", 500, 0.9),
        Candidate("c", "1.0.0", 400, 0.5),
        Candidate("d", "1.0.0", 100, 0.1),
    ]
    plan = plan_loading(candidates, 1000)
    assert [c.name for c in plan.load] == ["b", "c", "d"]
    assert [c.name for c in plan.dropped] == ["a"]
    assert plan.total_tokens == 1000 <= plan.budget


def test_a_plan_under_budget_loads_everything_most_relevant_first() -> None:
    candidates = [Candidate("a", "1", 10, 0.1), Candidate("b", "1", 10, 0.7)]
    plan = plan_loading(candidates, 10_000)
    assert [c.name for c in plan.load] == ["b", "a"] and plan.dropped == ()


def test_each_instruction_line_and_example_is_indexed() -> None:
    skill = next(s for s in SKILLS if s.name == "docker")
    texts = skill_texts(skill)
    lines = [line for line in skill.instructions.splitlines() if line.strip()]
    assert len(texts) == 1 + len(lines) + len(skill.examples)
    assert texts[0].text.startswith("docker: ")
