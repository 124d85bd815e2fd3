"""What a role is, and the checks a role must pass before it is stored.

Every problem of a role is reported at once, each naming its field, so a client fixes them in
one round.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from services.kit import PlatformError
from services.kit.tools import BUILTIN_TOOLS
from services.l13_roles import errors

DEFAULT_TOKEN_BUDGET = 4000
ACTIVE = "active"
DEPRECATED = "deprecated"

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_SKILL = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_LAYER = re.compile(r"^l(0[0-9]|1[0-4])$")
# (field, longest text, most items) of the list fields.
_LISTS = {
    "responsibilities": (500, 50),
    "core_skills": (64, 50),
    "preferred_tools": (64, 20),
    "keywords": (100, 200),
    "layers": (3, 15),
    "examples": (500, 100),
}
_TEXTS = {"title": 120, "description": 4000, "prompt": 32_000}


@dataclass(frozen=True)
class RoleDefinition:
    """A role as stored (its revision lives beside it, in the document)."""

    name: str
    title: str
    description: str
    responsibilities: tuple[str, ...]
    core_skills: tuple[str, ...] = ()
    preferred_tools: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    token_budget: int = DEFAULT_TOKEN_BUDGET
    layers: tuple[str, ...] = ()
    prompt: str = ""
    examples: tuple[str, ...] = ()
    state: str = ACTIVE
    deprecation_reason: str = ""

    def content(self) -> dict[str, Any]:
        """The role's fields as a JSON object."""
        return asdict(self)

    def deprecated(self, reason: str) -> RoleDefinition:
        return replace(self, state=DEPRECATED, deprecation_reason=reason)


def _strings(raw: Mapping[str, Any], name: str, problems: list[tuple[str, str]]) -> tuple[str, ...]:
    value = raw.get(name) or []
    longest, most = _LISTS[name]
    if not isinstance(value, list | tuple):
        problems.append((name, "must be a list of strings"))
        return ()
    if len(value) > most:
        problems.append((name, f"at most {most} items, got {len(value)}"))
    items: list[str] = []
    for index, item in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(item, str) or not item.strip():
            problems.append((where, "must be a non-empty string"))
        elif len(item) > longest:
            problems.append((where, f"at most {longest} characters, got {len(item)}"))
        else:
            items.append(item.strip())
    if len(set(items)) != len(items):
        problems.append((name, "has duplicates"))
    return tuple(items)


def _text(raw: Mapping[str, Any], name: str, problems: list[tuple[str, str]]) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append((name, "is required (a non-empty string)"))
        return ""
    if len(value) > _TEXTS[name]:
        problems.append((name, f"at most {_TEXTS[name]} characters, got {len(value)}"))
    return value.strip()


def validate_role(
    raw: Mapping[str, Any], known_tools: Collection[str] | None = None
) -> RoleDefinition:
    """A role from its fields, or INVALID_ARGUMENT (E13002) listing every bad field; its
    preferred tools are checked against ``known_tools`` (L03's; None: not checked, as for a
    role read back from L01, checked when it was written)."""
    problems: list[tuple[str, str]] = []
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(("name", "1-64 lowercase letters, digits and '-', starting with a letter"))
        name = ""
    title, description, prompt = (
        _text(raw, f, problems) for f in ("title", "description", "prompt")
    )
    responsibilities = _strings(raw, "responsibilities", problems)
    if not responsibilities and not any(f == "responsibilities" for f, _ in problems):
        problems.append(("responsibilities", "at least one responsibility"))
    skills = _strings(raw, "core_skills", problems)
    for index, skill in enumerate(skills):
        if not _SKILL.match(skill):
            problems.append((f"core_skills[{index}]", f"{skill!r} is not a skill name"))
    tools = _strings(raw, "preferred_tools", problems)
    for index, tool in enumerate(tools):
        if known_tools is not None and tool not in known_tools:
            problems.append((f"preferred_tools[{index}]", f"unknown tool {tool!r}"))
    keywords = tuple(k.lower() for k in _strings(raw, "keywords", problems))
    examples = _strings(raw, "examples", problems)
    layers = _strings(raw, "layers", problems)
    for index, layer in enumerate(layers):
        if not _LAYER.match(layer):
            problems.append((f"layers[{index}]", f"{layer!r} is not a layer (l00-l14)"))
    budget = raw.get("token_budget") or DEFAULT_TOKEN_BUDGET
    if isinstance(budget, bool) or not isinstance(budget, int) or not 100 <= budget <= 200_000:
        problems.append(("token_budget", "an integer from 100 to 200,000"))
        budget = DEFAULT_TOKEN_BUDGET
    if problems:
        raise invalid_role(problems)
    return RoleDefinition(
        name=str(name), title=title, description=description, responsibilities=responsibilities,
        core_skills=skills, preferred_tools=tools, keywords=keywords, token_budget=budget,
        layers=layers, prompt=prompt, examples=examples,
        state=DEPRECATED if raw.get("state") == DEPRECATED else ACTIVE,
        deprecation_reason=str(raw.get("deprecation_reason") or ""),
    )  # fmt: skip


def check_name(name: str, field: str = "name") -> str:
    """A role name as a request names it: INVALID_ARGUMENT (E13002) when it cannot be one."""
    if not _NAME.match(name):
        raise invalid_role(
            [(field, "1-64 lowercase letters, digits and '-', starting with a letter")]
        )
    return name


def invalid_role(problems: Sequence[tuple[str, str]]) -> PlatformError:
    summary = "; ".join(f"{field}: {reason}" for field, reason in problems)
    return PlatformError(
        errors.INVALID_ROLE, f"invalid role: {summary}", field=problems[0][0], violations=problems
    )


def load_shipped_roles(directory: Path) -> list[RoleDefinition]:
    """The roles shipped as YAML, one file each; a bad file stops the start (it is our data)."""
    roles = []
    for path in sorted(directory.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        try:
            roles.append(validate_role(raw, BUILTIN_TOOLS))  # they load before L03 answers
        except PlatformError as error:
            raise ValueError(f"{path}: {error.message}") from None
    return roles
