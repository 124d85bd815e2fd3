"""A role's prompt context for a task, within a token budget.

The parts, in the order they appear: the role's prompt, its responsibilities, its skills and
tools, the task. When they do not fit, the skills and tools line goes first, then the
responsibilities, then the task is cut, and the prompt last: an agent can work without its
list of duties, not without its task or its instructions.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.kit.tokens import count_tokens, truncate_to_tokens
from services.l13_roles.definitions import RoleDefinition

_CUT_MARK = " [...]"  # ends a part that was cut


@dataclass(frozen=True)
class BuiltContext:
    text: str
    token_count: int
    token_budget: int
    trimmed: tuple[str, ...]


def _sections(role: RoleDefinition, task: str) -> dict[str, str]:
    duties = "\n".join(f"- {d}" for d in role.responsibilities)
    equipment = []
    if role.core_skills:
        equipment.append("Skills: " + ", ".join(role.core_skills))
    if role.preferred_tools:
        equipment.append("Tools: " + ", ".join(role.preferred_tools))
    return {
        "prompt": f"# Role: {role.title}\n\n{role.prompt.strip()}",
        "responsibilities": f"## Responsibilities\n{duties}",
        "skills_and_tools": "\n".join(equipment),
        "task": f"## Task\n{task.strip()}",
    }


def _join(sections: dict[str, str]) -> str:
    return "\n\n".join(s for s in sections.values() if s)


def build_context(role: RoleDefinition, task: str, budget: int) -> BuiltContext:
    sections = _sections(role, task)
    trimmed: list[str] = []
    for optional in ("skills_and_tools", "responsibilities"):
        if count_tokens(_join(sections)) <= budget:
            break
        if sections[optional]:
            sections[optional] = ""
            trimmed.append(optional)
    for part in ("task", "prompt"):
        over = count_tokens(_join(sections)) - budget
        if over <= 0:
            break
        kept = count_tokens(sections[part]) - over - count_tokens(_CUT_MARK)
        sections[part] = truncate_to_tokens(sections[part], kept) + _CUT_MARK if kept > 0 else ""
        trimmed.append(part)
    text = _join(sections)
    # Token boundaries can shift by one where cut text meets the mark: cut until it fits.
    while count_tokens(text) > budget:
        text = truncate_to_tokens(text, budget)
    return BuiltContext(text, count_tokens(text), budget, tuple(trimmed))
