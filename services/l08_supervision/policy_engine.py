"""Cedar policies compiled for decisions: validation against the platform's schema, and
evaluation into ALLOW, DENY or ESCALATE.

Meaning beyond Cedar's permit/forbid comes from annotations: ``@id`` names a policy,
``@reason`` explains it, and a permit annotated ``@escalate("why")`` turns an ALLOW it takes
part in into ESCALATE, and ``@approval_ttl("seconds")`` beside it bounds how long the
approval it opens waits. Deny wins: any applicable forbid decides. No applicable permit, or any
evaluation error (a policy that could not be evaluated might have been a forbid), is a DENY:
the engine fails closed.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cedarpy

SCHEMA_FILE = Path(__file__).with_name("schema.cedarschema")
NAMESPACE = "Agentic"
ROLE_TYPE = f"{NAMESPACE}::Role"


class Outcome(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class PolicyInfo:
    cedar_id: str  # "policy0", ...
    name: str  # its @id, else the Cedar id
    effect: str  # "permit" | "forbid"
    reason: str  # its @reason (or @escalate) text
    escalate: bool
    approval_ttl_seconds: float | None = None  # its @approval_ttl("600"): an escalation's life


@dataclass(frozen=True)
class EntityRef:
    type: str  # without the namespace: "Agent"
    id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecisionRequest:
    principal: EntityRef
    action: str
    resource: EntityRef
    context: dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    policies: tuple[PolicyInfo, ...]
    reasons: tuple[str, ...]


# How Cedar starts its errors about the request itself (entities or context not matching the
# schema): the caller's mistake, not a policy's.
_BAD_REQUEST = ("failed to parse entities", "failed to build request", "entity does not conform")


class BadDecisionRequest(ValueError):
    """The request's entities or context do not match the schema; the message says how."""


class Schema:
    """The platform's schema, parsed once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.handle = cedarpy.Schema.from_str(text)
        self.actions = _declared_actions(text)
        self.entity_types = _declared_entity_types(text)

    @classmethod
    def platform(cls) -> Schema:
        return cls(SCHEMA_FILE.read_text())


def _declared_actions(text: str) -> frozenset[str]:
    names = set()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("action "):
            names.add(stripped.split('"')[1])
    return frozenset(names)


def _declared_entity_types(text: str) -> frozenset[str]:
    names = set()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("entity "):
            names.add(stripped.removeprefix("entity ").split()[0].rstrip(";"))
    return frozenset(names)


def problems(text: str, schema: Schema) -> list[str]:
    """The validator's reasons the policies cannot be deployed (empty: they can)."""
    if not text.strip():
        return ["the policy set is empty"]
    try:
        result = cedarpy.validate_policies(text, schema.text)
        if result.validation_passed and json.loads(cedarpy.policies_to_json_str(text))["templates"]:
            return ["templates (?principal, ?resource) are not supported: write static policies"]
    except (ValueError, RuntimeError) as error:
        return [f"the policies do not parse: {error}"]
    found = [str(error) for error in result.errors]
    return found or _annotation_problems(text)


def policy_count(text: str) -> int:
    """How many policies a text holds (it must parse)."""
    return len(json.loads(cedarpy.policies_to_json_str(text))["staticPolicies"])


def _policies(text: str) -> dict[str, PolicyInfo]:
    parsed = json.loads(cedarpy.policies_to_json_str(text))["staticPolicies"]
    infos = {}
    for cedar_id, policy in parsed.items():
        notes = policy.get("annotations", {})
        escalate = "escalate" in notes
        infos[cedar_id] = PolicyInfo(
            cedar_id=cedar_id,
            name=notes.get("id") or cedar_id,
            effect=policy["effect"],
            reason=notes.get("escalate") or notes.get("reason") or "",
            escalate=escalate and policy["effect"] == "permit",
            approval_ttl_seconds=_seconds(notes["approval_ttl"])
            if "approval_ttl" in notes
            else None,
        )
    return infos


def _seconds(text: str) -> float:
    value = float(text)  # ValueError for anything else: refused when deployed
    if not 0 < value <= 7 * 86400:
        raise ValueError(f"@approval_ttl({text!r}) must be 0-604800 seconds")
    return value


def _annotation_problems(text: str) -> list[str]:
    try:
        _policies(text)
    except ValueError as error:
        return [f"@approval_ttl must be a number of seconds (0-604800]: {error}"]
    return []


def _uid(type_name: str, entity_id: str) -> dict[str, str]:
    return {"type": f"{NAMESPACE}::{type_name}", "id": entity_id}


def _entity(ref: EntityRef) -> dict[str, Any]:
    return {
        "uid": _uid(ref.type, ref.id),
        "attrs": ref.attributes,
        "parents": [{"type": ROLE_TYPE, "id": role} for role in ref.roles],
    }


class CompiledPolicies:
    """One version of the policy set, parsed once and evaluated many times."""

    def __init__(self, text: str, schema: Schema) -> None:
        self.text = text
        self._schema = schema
        self._set = cedarpy.PolicySet.from_str(text)
        self.policies = _policies(text)

    def evaluate(self, request: DecisionRequest) -> Verdict:
        entities = [_entity(request.principal)]
        if (request.resource.type, request.resource.id) != (
            request.principal.type,
            request.principal.id,
        ):
            entities.append(_entity(request.resource))
        cedar_request = {
            "principal": _uid(request.principal.type, request.principal.id),
            "action": {"type": f"{NAMESPACE}::Action", "id": request.action},
            "resource": _uid(request.resource.type, request.resource.id),
            "context": request.context,
        }
        result = cedarpy.is_authorized(cedar_request, self._set, entities, self._schema.handle)
        errors = tuple(str(e) for e in result.diagnostics.errors)
        deciding = tuple(self.policies[p] for p in result.diagnostics.reasons if p in self.policies)
        if errors and errors[0].startswith(_BAD_REQUEST):
            raise BadDecisionRequest(errors[0])
        if errors:
            return Verdict(Outcome.DENY, deciding, ("evaluation failed, so denied:", *errors))
        if result.decision is not cedarpy.Decision.Allow:
            if not deciding:
                return Verdict(Outcome.DENY, (), ("no policy permits this request",))
            return Verdict(Outcome.DENY, deciding, _reasons(deciding))
        escalating = tuple(p for p in deciding if p.escalate)
        if escalating:
            return Verdict(Outcome.ESCALATE, escalating, _reasons(escalating))
        return Verdict(Outcome.ALLOW, deciding, _reasons(deciding))


def _reasons(policies: tuple[PolicyInfo, ...]) -> tuple[str, ...]:
    return tuple(p.reason or f"policy {p.name} ({p.effect})" for p in policies)


def empty_verdict() -> Verdict:
    return Verdict(Outcome.DENY, (), ("no policies are deployed",))
