"""What a skill is, and the checks a skill must pass: every problem reported, by field.

Which tools exist is L03's to say and which roles exist L13's (``Skills.problems`` asks both);
the shipped skills name only the sandbox's built-in tools (``services.kit.tools``), so they load
before L03 answers.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from services.kit import PlatformError
from services.kit.tools import BUILTIN_TOOLS
from services.l14_skills import errors

CATEGORIES = frozenset(
    {
        "language", "framework", "api", "data", "infrastructure", "practice", "security",
        "observability", "frontend", "architecture",
    }
)  # fmt: skip
DRAFT, ACTIVE, DEPRECATED = "draft", "active", "deprecated"
STATUSES = (DRAFT, ACTIVE, DEPRECATED)
MAX_EXAMPLES = 20

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ROLE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_TEXTS = {"description": 2000, "instructions": 32_000}

Violations = list[tuple[str, str]]


def version_key(version: str) -> tuple[int, int, int, int, tuple[str, ...]]:
    """Orders semantic versions: 1.2.0-rc.1 < 1.2.0 < 1.10.0."""
    match = _SEMVER.match(version)
    if match is None:
        raise ValueError(f"{version!r} is not a semantic version")
    major, minor, patch, pre = match.groups()
    pre_parts = tuple(pre.split(".")) if pre else ()
    return int(major), int(minor), int(patch), 0 if pre else 1, pre_parts


@dataclass(frozen=True)
class SkillDefinition:
    name: str
    version: str
    category: str
    description: str
    instructions: str
    required_tools: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    examples: tuple[Mapping[str, str], ...] = ()
    status: str = ACTIVE

    def content(self) -> dict[str, Any]:
        body = asdict(self)
        body["parameters"] = dict(self.parameters)
        body["examples"] = [dict(e) for e in self.examples]
        return body

    def rendered(self) -> str:
        """The text an agent is given when the skill is loaded."""
        parts = [f"## Skill: {self.name} ({self.version})", self.description, self.instructions]
        parts += [
            f"Example input: {e['input']}\nExample output: {e['output']}" for e in self.examples
        ]
        return "\n\n".join(p.strip() for p in parts)


def _names(
    raw: Mapping[str, Any], key: str, pattern: re.Pattern[str], problems: Violations
) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list | tuple):
        problems.append((key, "must be a list of names"))
        return ()
    names = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not pattern.match(item):
            problems.append((f"{key}[{index}]", f"{item!r} is not a valid name"))
        else:
            names.append(item)
    if len(set(names)) != len(names):
        problems.append((key, "has duplicates"))
    return tuple(names)


def _examples(raw: Mapping[str, Any], problems: Violations) -> tuple[dict[str, str], ...]:
    value = raw.get("examples") or []
    if not isinstance(value, list | tuple):
        problems.append(("examples", "must be a list of {input, output}"))
        return ()
    if len(value) > MAX_EXAMPLES:
        problems.append(("examples", f"at most {MAX_EXAMPLES}, got {len(value)}"))
    examples = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            problems.append((f"examples[{index}]", "must be an object with input and output"))
            continue
        for part, limit in (("input", 4000), ("output", 8000)):
            text = item.get(part)
            if not isinstance(text, str) or not text.strip():
                problems.append((f"examples[{index}].{part}", "is required (a non-empty string)"))
            elif len(text) > limit:
                problems.append((f"examples[{index}].{part}", f"at most {limit} characters"))
        examples.append(
            {"input": str(item.get("input", "")), "output": str(item.get("output", ""))}
        )
    return tuple(examples)


def _parameters(raw: Mapping[str, Any], problems: Violations) -> dict[str, Any]:
    schema = raw.get("parameters")
    if schema in (None, {}):
        return {"type": "object", "properties": {}}
    if not isinstance(schema, Mapping):
        problems.append(("parameters", "must be a JSON Schema object"))
        return {}
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        where = "/".join(str(p) for p in error.absolute_path)
        problems.append(("parameters", f"not a valid JSON Schema at '{where}': {error.message}"))
    if schema.get("type") != "object":
        problems.append(("parameters", "must be an object schema (type: object)"))
    return dict(schema)


def check_skill(
    raw: Mapping[str, Any], known_tools: Collection[str] | None = None
) -> tuple[SkillDefinition | None, Violations]:
    """The skill and the problems of its own fields, its tools checked against ``known_tools``
    (None: not checked; roles never: see L13)."""
    problems: Violations = []
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(("name", "1-64 lowercase letters, digits and '_', starting with a letter"))
    version = raw.get("version")
    if not isinstance(version, str) or not _SEMVER.match(version):
        problems.append(("version", "a semantic version such as 1.0.0"))
    category = raw.get("category")
    if category not in CATEGORIES:
        problems.append(("category", f"one of {', '.join(sorted(CATEGORIES))}"))
    texts = {}
    for key, limit in _TEXTS.items():
        text = raw.get(key)
        if not isinstance(text, str) or not text.strip():
            problems.append((key, "is required (a non-empty string)"))
        elif len(text) > limit:
            problems.append((key, f"at most {limit:,} characters, got {len(text):,}"))
        texts[key] = text.strip() if isinstance(text, str) else ""
    tools = _names(raw, "required_tools", _NAME, problems)
    for index, tool in enumerate(tools):
        if known_tools is not None and tool not in known_tools:
            problems.append((f"required_tools[{index}]", f"unknown tool {tool!r}"))
    roles = _names(raw, "roles", _ROLE, problems)
    parameters = _parameters(raw, problems)
    examples = _examples(raw, problems)
    status = raw.get("status") or ACTIVE
    if status not in STATUSES:
        problems.append(("status", f"one of {', '.join(STATUSES)}"))
    if problems:
        return None, problems
    skill = SkillDefinition(
        name=str(name), version=str(version), category=str(category),
        description=texts["description"], instructions=texts["instructions"],
        required_tools=tools, roles=roles, parameters=parameters, examples=examples,
        status=str(status),
    )  # fmt: skip
    return skill, []


def unknown_roles(skill: SkillDefinition, known: set[str]) -> Violations:
    return [
        (f"roles[{index}]", f"no role {role!r} in L13")
        for index, role in enumerate(skill.roles)
        if role not in known
    ]


def check_reference(name: str, version: str = "") -> None:
    """A skill name (and version) as a request names them: E14001 when they cannot be one."""
    problems = []
    if not _NAME.match(name):
        problems.append(("name", "1-64 lowercase letters, digits and '_', starting with a letter"))
    if version and not _SEMVER.match(version):
        problems.append(("version", "a semantic version such as 1.0.0"))
    if problems:
        raise invalid_skill(problems)


def invalid_skill(problems: Sequence[tuple[str, str]]) -> PlatformError:
    summary = "; ".join(f"{where}: {reason}" for where, reason in problems)
    return PlatformError(
        errors.INVALID_SKILL, f"invalid skill: {summary}", field=problems[0][0], violations=problems
    )


def validate_skill(
    raw: Mapping[str, Any], known_tools: Collection[str] | None = None
) -> SkillDefinition:
    """The skill, or INVALID_ARGUMENT (E14001) naming every problem of its own fields."""
    skill, problems = check_skill(raw, known_tools)
    if skill is None:
        raise invalid_skill(problems)
    return skill


def load_shipped_skills(directory: Path) -> list[SkillDefinition]:
    skills = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            skills.append(validate_skill(yaml.safe_load(path.read_text()), BUILTIN_TOOLS))
        except PlatformError as error:
            raise ValueError(f"{path}: {error.message}") from None
    return skills
