"""The plan: what the model is asked for, and the validator that decides whether to trust it.

The model's answer is untrusted input. ``PlanValidator`` checks it all at once and returns
every reason it refuses, so one repair request can name them all. Nothing here knows gRPC or
Temporal: it is unit-tested directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_TASKS = 100  # what the validator takes (a reused plan, a repaired one)
# What the model is asked for: at most ASKED_TASKS tasks, descriptions and criteria of at most
# ASKED_TEXT_CHARS and ASKED_CRITERION_CHARS, lists of ASKED_LIST_ITEMS. A plan is one answer
# of at most 768 tokens (_PLAN_ANSWER_TOKENS): more would not fit anyway.
ASKED_TASKS = 10
ASKED_TEXT_CHARS = 240
ASKED_CRITERION_CHARS = 100
ASKED_LIST_ITEMS = 2
# A task's agent runs up to 8 model steps; its expected spend, for the plan's estimate.
ESTIMATED_TOKENS_PER_TASK = 4_000
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DESCRIPTION_CHARS = 8_000


@dataclass(frozen=True)
class PlannedTask:
    id: str
    description: str
    role: str
    skills: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    acceptance_criteria: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "role": self.role,
            "skills": list(self.skills),
            "tools": list(self.tools),
            "dependencies": list(self.dependencies),
            "acceptance_criteria": list(self.acceptance_criteria),
        }


@dataclass(frozen=True)
class Verdict:
    tasks: list[PlannedTask]
    problems: list[str]

    @property
    def valid(self) -> bool:
        return not self.problems


def _names(known: Sequence[str]) -> dict[str, Any]:
    """A string among ``known`` (any string when nothing is known)."""
    return {"type": "string", "enum": list(known)} if known else {"type": "string"}


def task_id(position: int) -> str:
    """The id the schema gives the task at ``position`` (from 1)."""
    return f"t{position}"


def _bounded_list(items: dict[str, Any], allowed: bool = True) -> dict[str, Any]:
    # None allowed (no tool or skill is known): any name would be refused, so ask for none.
    return {"type": "array", "maxItems": ASKED_LIST_ITEMS if allowed else 0, "items": items}


def _task_schema(position: int, tools: bool, skills: bool) -> dict[str, Any]:
    earlier = [task_id(i) for i in range(1, position)]
    dependencies: dict[str, Any] = {"type": "array", "maxItems": len(earlier)}
    if earlier:
        dependencies["items"] = {"type": "string", "enum": earlier}
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string", "enum": [task_id(position)]},
            "description": {"type": "string", "minLength": 1, "maxLength": ASKED_TEXT_CHARS},
            "role": {"$ref": "#/$defs/role"},
            "skills": _bounded_list({"$ref": "#/$defs/skill"}, skills),
            "tools": _bounded_list({"$ref": "#/$defs/tool"}, tools),
            "dependencies": dependencies,
            "acceptance_criteria": _bounded_list(
                {"type": "string", "maxLength": ASKED_CRITERION_CHARS}
            ),
        },
        "required": ["id", "description", "dependencies"],
    }


def plan_schema(
    tools: Sequence[str], roles: Sequence[str], skills: Sequence[str]
) -> dict[str, Any]:
    """The JSON Schema the model's answer is constrained to.

    Task k is ``t<k>`` and depends on earlier tasks only, so every answer that meets the
    schema is a DAG of tasks that exist: a small model writing under a grammar cannot give a
    cycle or a dangling dependency. Its texts and lists are bounded, so a model that would
    write on is stopped by the schema rather than cut off by the token limit (the offline
    model wrote until the limit under a schema without bounds). One choice per plan length:
    a grammar reads ``prefixItems`` as a fixed-length tuple.
    """
    lengths = [
        {
            "type": "array",
            "prefixItems": [{"$ref": f"#/$defs/{task_id(k)}"} for k in range(1, count + 1)],
            "minItems": count,
            "maxItems": count,
        }
        for count in range(1, ASKED_TASKS + 1)
    ]
    return {
        "type": "object",
        "properties": {"tasks": {"anyOf": lengths}},
        "required": ["tasks"],
        "$defs": {
            "role": _names(roles),
            "skill": _names(skills),
            "tool": _names(tools),
            **{
                task_id(k): _task_schema(k, bool(tools), bool(skills))
                for k in range(1, ASKED_TASKS + 1)
            },
        },
    }


def planning_prompt(tools: Sequence[str], roles: Sequence[str]) -> str:
    """The system prompt of the decomposition request."""
    listed = ", ".join(tools) if tools else "(none)"
    return (
        "You split a goal into a small plan of tasks for software agents. Answer with JSON "
        'only: {"tasks": [{"id": "t1", "description": "...", "role": "...", "skills": [], '
        '"tools": [], "dependencies": [], "acceptance_criteria": ["..."]}]}. '
        "Use as few tasks as the goal needs. Task ids are t1, t2, ... in order; a task's "
        "dependencies are ids of earlier tasks whose output it needs. "
        f"Roles: {', '.join(roles)}. Tools: {listed}."
    )


def tasks_without_known_role(answer: object, roles: Iterable[str]) -> dict[int, str]:
    """The tasks of a plan whose role is missing or unknown, as {index: description}: they
    are given a role by classification before the plan is checked."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("tasks"), list):
        return {}
    known = frozenset(roles)
    found: dict[int, str] = {}
    for index, raw in enumerate(answer["tasks"]):
        if not isinstance(raw, Mapping) or raw.get("role") in known:
            continue
        description = raw.get("description")
        if isinstance(description, str) and description.strip():
            found[index] = description
    return found


def with_roles(answer: Mapping[str, Any], roles: Mapping[int, str]) -> dict[str, Any]:
    """The plan with the tasks at the given indexes given those roles."""
    tasks = list(answer["tasks"])
    for index, role in roles.items():
        tasks[index] = {**tasks[index], "role": role}
    return {**answer, "tasks": tasks}


def repair_message(problems: Iterable[str]) -> str:
    """The user turn asking for a corrected plan, naming every refusal."""
    reasons = "\n".join(f"- {problem}" for problem in problems)
    return f"That plan was refused:\n{reasons}\nAnswer again with a corrected plan, JSON only."


class PlanValidator:
    """Checks a model's plan: schema, ids, dependencies, cycles, roles, skills, tools, size,
    budget. The known roles, skills and tools are those their layers list (L13, L14, L03)."""

    def __init__(
        self,
        known_tools: Iterable[str],
        token_budget: int,
        roles: Iterable[str],
        skills: Iterable[str],
        tokens_per_task: int = ESTIMATED_TOKENS_PER_TASK,
    ) -> None:
        self._tools = frozenset(known_tools)
        self._roles = frozenset(roles)
        self._skills = frozenset(skills)
        self._budget = token_budget
        self._per_task = tokens_per_task

    def check_text(self, text: str) -> Verdict:
        """A plan given as the model's raw text."""
        try:
            answer = json.loads(text)
        except (ValueError, TypeError) as error:
            return Verdict([], [f"the answer is not JSON ({error})"])
        return self.check(answer)

    def check(self, answer: object) -> Verdict:
        if not isinstance(answer, Mapping):
            return Verdict([], ['the answer must be a JSON object with a "tasks" array'])
        raw_tasks = answer.get("tasks")
        if not isinstance(raw_tasks, list):
            return Verdict([], ['"tasks" must be an array'])
        if not raw_tasks:
            return Verdict([], ["the plan has no tasks"])
        problems: list[str] = []
        if len(raw_tasks) > MAX_TASKS:
            problems.append(f"the plan has {len(raw_tasks)} tasks; at most {MAX_TASKS}")
        tasks: list[PlannedTask] = []
        for index, raw in enumerate(raw_tasks):
            task = self._task(index, raw, problems)
            if task is not None:
                tasks.append(task)
        problems.extend(self._graph_problems(tasks))
        estimate = len(raw_tasks) * self._per_task
        if estimate > self._budget:
            problems.append(
                f"the plan's estimated {estimate} tokens ({len(raw_tasks)} tasks x "
                f"{self._per_task}) exceed the goal's token budget of {self._budget}"
            )
        return Verdict(tasks if not problems else [], problems)

    def _task(self, index: int, raw: object, problems: list[str]) -> PlannedTask | None:
        where = f"tasks[{index}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{where}: must be an object")
            return None
        task_id = raw.get("id")
        if not isinstance(task_id, str) or not _ID.match(task_id):
            problems.append(f"{where}.id: must be 1-64 letters, digits, '_' or '-'")
        else:
            where = f"task {task_id}"
        description = raw.get("description")
        if not isinstance(description, str) or not description.strip():
            problems.append(f"{where}.description: required")
        elif len(description) > _DESCRIPTION_CHARS:
            problems.append(f"{where}.description: at most {_DESCRIPTION_CHARS} characters")
        role = raw.get("role", "")
        if not isinstance(role, str) or role not in self._roles:
            known = ", ".join(sorted(self._roles))
            problems.append(f"{where}.role: unknown role {role!r}; known: {known}")
        lists: dict[str, list[str]] = {}
        for name in ("skills", "tools", "dependencies", "acceptance_criteria"):
            value = raw.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{where}.{name}: must be an array of strings")
                value = []
            lists[name] = value
        for skill in lists["skills"]:
            if skill not in self._skills:
                problems.append(f"{where}.skills: unknown skill {skill!r}")
        for tool in lists["tools"]:
            if tool not in self._tools:
                problems.append(f"{where}.tools: unknown or forbidden tool {tool!r}")
        if not isinstance(task_id, str) or not _ID.match(task_id):
            return None
        # Kept for the graph checks even with bad fields, so every reason is reported at once;
        # the verdict hands out no tasks while there is any problem.
        return PlannedTask(task_id, str(description or ""), str(role), **lists)

    @staticmethod
    def _graph_problems(tasks: Sequence[PlannedTask]) -> list[str]:
        problems: list[str] = []
        ids: set[str] = set()
        for task in tasks:
            if task.id in ids:
                problems.append(f"task {task.id}: the id is used twice")
            ids.add(task.id)
        for task in tasks:
            for dependency in task.dependencies:
                if dependency not in ids:
                    problems.append(f"task {task.id}: depends on {dependency!r}, which is no task")
                elif dependency == task.id:
                    problems.append(f"task {task.id}: depends on itself")
        cycle = find_cycle(tasks)
        if cycle:
            problems.append(f"the dependencies have a cycle: {' -> '.join(cycle)}")
        return problems


def find_cycle(tasks: Sequence[PlannedTask]) -> list[str]:
    """One cycle of the dependency graph as ids (first id repeated at the end), or []."""
    edges = {task.id: [d for d in task.dependencies if d != task.id] for task in tasks}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in edges.get(node, []):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for task in tasks:
        if state.get(task.id) is None:
            found = visit(task.id)
            if found:
                return found
    return []


def final_tasks(tasks: Sequence[PlannedTask]) -> list[PlannedTask]:
    """The tasks no other task depends on: their outputs make the goal's result."""
    needed = {dependency for task in tasks for dependency in task.dependencies}
    return [task for task in tasks if task.id not in needed]
