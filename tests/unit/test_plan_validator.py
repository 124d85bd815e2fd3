"""The plan validator: every kind of untrusted plan is refused with a reason naming it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from services.l05_planning.plan import (
    ASKED_TASKS,
    ASKED_TEXT_CHARS,
    MAX_TASKS,
    PlanValidator,
    final_tasks,
    find_cycle,
    plan_schema,
    repair_message,
    tasks_without_known_role,
    with_roles,
)

TOOLS = ("python_exec", "read_file")
# As L13 and L14 would list them (the validator is given what they list).
ROLES = ("code-reviewer", "debugger", "software-engineer", "test-engineer")
SKILLS = ("sql", "unit-testing")


def validator(budget: int = 1_000_000) -> PlanValidator:
    return PlanValidator(TOOLS, budget, ROLES, SKILLS)


def task(task_id: str, *dependencies: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": task_id,
        "description": f"do {task_id}",
        "role": "software-engineer",
        "dependencies": list(dependencies),
        **fields,
    }


def check(*tasks: dict[str, Any], budget: int = 1_000_000) -> list[str]:
    return validator(budget).check({"tasks": list(tasks)}).problems


def test_a_diamond_with_known_roles_and_tools_is_valid() -> None:
    verdict = validator().check(
        {
            "tasks": [
                task("a", tools=["python_exec"]),
                task("b", "a", role="test-engineer"),
                task("c", "a", skills=["sql"], acceptance_criteria=["it runs"]),
                task("d", "b", "c", role="code-reviewer"),
            ]
        }
    )
    assert verdict.valid and [t.id for t in verdict.tasks] == ["a", "b", "c", "d"]
    assert verdict.tasks[2].skills == ["sql"] and verdict.tasks[3].dependencies == ["b", "c"]
    assert [t.id for t in final_tasks(verdict.tasks)] == ["d"]


def test_a_cycle_is_refused_naming_its_path() -> None:
    problems = check(task("a", "c"), task("b", "a"), task("c", "b"))
    assert len(problems) == 1 and "cycle" in problems[0]
    assert "a -> c -> b -> a" in problems[0]


def test_a_task_depending_on_itself_is_refused() -> None:
    problems = check(task("a", "a"))
    assert problems == ["task a: depends on itself"]


def test_a_missing_dependency_is_refused() -> None:
    problems = check(task("a"), task("b", "zz"))
    assert problems == ["task b: depends on 'zz', which is no task"]


def test_duplicate_ids_are_refused() -> None:
    problems = check(task("a"), task("a"))
    assert problems == ["task a: the id is used twice"]


def test_an_unknown_role_is_refused_listing_the_known_ones() -> None:
    problems = check(task("a", role="wizard"))
    assert len(problems) == 1 and "unknown role 'wizard'" in problems[0]
    assert all(role in problems[0] for role in ROLES)


def test_a_task_without_role_is_refused_unless_it_was_given_one() -> None:
    raw = task("a")
    del raw["role"]
    assert check(raw) == [f"task a.role: unknown role ''; known: {', '.join(ROLES)}"]


def test_tasks_without_a_known_role_are_found_for_classification() -> None:
    nameless = task("b")
    del nameless["role"]
    answer = {"tasks": [task("a"), nameless, task("c", role="wizard"), task("d", description="")]}
    missing = tasks_without_known_role(answer, ROLES)
    assert missing == {1: "do b", 2: "do c"}  # d has no description to classify
    given = with_roles(answer, {1: "debugger", 2: "test-engineer"})
    assert [t.get("role") for t in given["tasks"]] == [
        "software-engineer",
        "debugger",
        "test-engineer",
        "software-engineer",
    ]
    assert "role" not in nameless  # the model's answer is left as it came
    assert tasks_without_known_role("not a plan", ROLES) == {}


def test_an_unknown_skill_is_refused() -> None:
    problems = check(task("a", skills=["sql", "telepathy"]))
    assert problems == ["task a.skills: unknown skill 'telepathy'"]


def test_an_unknown_or_forbidden_tool_is_refused() -> None:
    problems = check(task("a", tools=["rm_rf", "python_exec"]))
    assert problems == ["task a.tools: unknown or forbidden tool 'rm_rf'"]


def test_an_empty_plan_is_refused() -> None:
    assert check() == ["the plan has no tasks"]


def test_more_than_a_hundred_tasks_are_refused() -> None:
    tasks = [task(f"t{i}") for i in range(MAX_TASKS + 1)]
    problems = check(*tasks)
    assert problems == [f"the plan has {MAX_TASKS + 1} tasks; at most {MAX_TASKS}"]
    assert check(*tasks[:MAX_TASKS]) == []


def test_non_json_output_is_refused() -> None:
    verdict = validator().check_text("Sure! Here is a plan: 1. think")
    assert not verdict.valid and verdict.problems[0].startswith("the answer is not JSON")


def test_answers_of_the_wrong_shape_are_refused() -> None:
    checker = validator()
    assert checker.check([1, 2]).problems == [
        'the answer must be a JSON object with a "tasks" array'
    ]
    assert checker.check({"tasks": "all of them"}).problems == ['"tasks" must be an array']
    assert checker.check({"tasks": [7]}).problems == ["tasks[0]: must be an object"]


def test_bad_fields_are_each_named() -> None:
    problems = check(
        {"id": "no spaces allowed", "description": "", "role": "debugger"},
        task("b", skills="sql", dependencies=[1]),
    )
    assert "tasks[0].id: must be 1-64 letters, digits, '_' or '-'" in problems
    assert "tasks[0].description: required" in problems
    assert "task b.skills: must be an array of strings" in problems
    assert "task b.dependencies: must be an array of strings" in problems


def test_every_reason_is_reported_at_once() -> None:
    problems = check(
        task("a", "missing", role="wizard"),
        task("a", skills=["magic"]),
        task("c", tools=["nope"]),
    )
    assert len(problems) == 5, problems  # role, skill, tool, duplicate id, missing dependency
    message = repair_message(problems)
    assert all(problem in message for problem in problems)


def test_a_plan_over_the_token_budget_is_refused() -> None:
    problems = check(task("a"), task("b"), task("c"), budget=10_000)
    assert problems == [
        "the plan's estimated 12000 tokens (3 tasks x 4000) exceed the goal's token budget of 10000"
    ]
    assert check(task("a"), task("b"), budget=10_000) == []


def test_find_cycle_finds_none_in_a_dag() -> None:
    verdict = validator().check({"tasks": [task("a"), task("b", "a"), task("c", "a", "b")]})
    assert find_cycle(verdict.tasks) == []


def test_the_schema_constrains_roles_tools_and_size() -> None:
    schema = plan_schema(TOOLS, ROLES, SKILLS)
    defs = schema["$defs"]
    assert defs["role"]["enum"] == list(ROLES)
    assert defs["skill"]["enum"] == list(SKILLS)
    assert defs["tool"]["enum"] == list(TOOLS)
    assert len(schema["properties"]["tasks"]["anyOf"]) == ASKED_TASKS
    json.dumps(schema)  # it travels as a google.protobuf.Struct


def test_every_answer_the_schema_takes_is_a_dag_of_tasks_that_exist() -> None:
    """What a grammar-bound model can write: t1..tk in order, each depending on earlier tasks
    only; a cycle, a dangling or forward dependency, another id, a long text, too many tasks
    are outside the schema."""
    schema = plan_schema(TOOLS, ROLES, SKILLS)
    accepts = jsonschema.Draft202012Validator(schema).is_valid

    def tasks(*dependencies: list[str], **extra: Any) -> dict[str, Any]:
        return {
            "tasks": [
                {"id": f"t{k}", "description": f"step {k}", "dependencies": deps, **extra}
                for k, deps in enumerate(dependencies, start=1)
            ]
        }

    diamond = tasks([], ["t1"], ["t1"], ["t2", "t3"])
    assert (
        accepts(diamond)
        and validator().check({"tasks": [{**t, "role": ROLES[0]} for t in diamond["tasks"]]}).valid
    )
    assert not accepts(tasks(["t2"], ["t1"])), "a cycle"
    assert not accepts(tasks([], ["t3"], [])), "a forward dependency"
    assert not accepts(tasks([], ["t9"])), "a dependency on no task"
    assert not accepts({"tasks": [{"id": "a", "description": "x", "dependencies": []}]})
    assert not accepts(tasks(*[[] for _ in range(ASKED_TASKS + 1)]))
    assert not accepts(tasks([], description="x" * (ASKED_TEXT_CHARS + 1)))
    assert not accepts(tasks([], skills=["no-such-skill"]))
    assert not accepts({"tasks": []})
    without_tools = jsonschema.Draft202012Validator(plan_schema([], ROLES, SKILLS)).is_valid
    assert not without_tools(tasks([], tools=["anything"])), "no tool is known: none is asked"
    assert without_tools(tasks([], skills=[SKILLS[0]]))
