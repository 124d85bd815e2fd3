"""Decides a request: fills in the context L08 owns, evaluates the active policies, opens an
approval for an ESCALATE, and hands the decision to the log. Also opens an approval a layer
asks for outright (its own rules want a person), with no policy consulted."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.kit import PlatformError
from services.l08_supervision import errors
from services.l08_supervision.approvals import Approval, ApprovalDesk
from services.l08_supervision.counters import CallCounters, clock_context
from services.l08_supervision.decision_log import DecisionLog
from services.l08_supervision.policy_engine import (
    BadDecisionRequest,
    DecisionRequest,
    EntityRef,
    Outcome,
    Verdict,
    empty_verdict,
)
from services.l08_supervision.policy_store import PolicyStore

# Attributes of the schema's RequestContext that L08 fills in; a caller cannot set them.
OWN_CONTEXT = ("hour", "weekday", "calls_last_minute", "calls_today")


@dataclass(frozen=True)
class Decided:
    verdict: Verdict
    approval: Approval | None
    policy_version: int
    context: dict[str, Any]


def entity_dict(ref: EntityRef) -> dict[str, Any]:
    return {"type": ref.type, "id": ref.id, "attributes": ref.attributes, "roles": list(ref.roles)}


def _policy_ttls(verdict: Verdict) -> list[timedelta]:
    """The lives the escalating policies give their approval (``@approval_ttl``)."""
    return [
        timedelta(seconds=p.approval_ttl_seconds)
        for p in verdict.policies
        if p.approval_ttl_seconds is not None
    ]


class Supervisor:
    def __init__(
        self,
        policies: PolicyStore,
        desk: ApprovalDesk,
        decisions: DecisionLog,
        counters: CallCounters,
        approval_ttl: timedelta,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._policies = policies
        self._desk = desk
        self._log = decisions
        self._ttl = approval_ttl
        self._clock = clock
        self._counters = counters

    async def _context(self, request: DecisionRequest) -> dict[str, Any]:
        for name in OWN_CONTEXT:
            if name in request.context:
                raise PlatformError(
                    errors.INVALID_ARGUMENT,
                    f"context.{name}: filled in by L08, not by the caller",
                    field=f"context.{name}",
                )
        now = self._clock()
        minute, today = await self._counters.count(request.principal.id, request.action)
        return {
            **request.context,
            **clock_context(now),
            "calls_last_minute": minute,
            "calls_today": today,
        }

    async def evaluate(
        self,
        requester: str,
        request: DecisionRequest,
        request_id: str = "",
        approval_ttl: timedelta | None = None,
    ) -> Decided:
        if request.action not in self._policies.schema.actions:
            actions = ", ".join(sorted(self._policies.schema.actions))
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                f"action: {request.action!r} is not one of {actions}",
                field="action",
            )
        context = await self._context(request)
        active = self._policies.active
        full = DecisionRequest(request.principal, request.action, request.resource, context)
        try:
            verdict = active.evaluate(full) if active is not None else empty_verdict()
        except BadDecisionRequest as error:
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                f"principal, resource or context do not match the policy schema: {error}",
                field="context",
            ) from None
        approval = None
        if verdict.outcome is Outcome.ESCALATE:
            ttl = min(approval_ttl or self._ttl, self._ttl, *_policy_ttls(verdict))
            approval = await self._desk.open(
                requester,
                request.action,
                entity_dict(request.principal),
                entity_dict(request.resource),
                context,
                verdict.reasons,
                ttl,
                request_id,
            )
        self._log.record(
            {
                "requester": requester,
                "principal": entity_dict(request.principal),
                "action": request.action,
                "resource": entity_dict(request.resource),
                "decision": verdict.outcome.value,
                "policies": [p.name for p in verdict.policies],
                "reasons": list(verdict.reasons),
                "policy_version": self._policies.latest,
                "approval_id": approval.id if approval else "",
                "decided_at": datetime.fromtimestamp(self._clock(), UTC).isoformat(),
            }
        )
        return Decided(verdict, approval, self._policies.latest, context)

    async def request_approval(
        self,
        requester: str,
        request: DecisionRequest,
        reasons: tuple[str, ...],
        request_id: str,
        ttl: timedelta | None = None,
    ) -> Approval:
        """Opens the approval (or finds the one ``requester`` opened under ``request_id``).
        Its action and entity types must be the schema's, so policies and people read it
        like an escalated decision; it lives ``ttl`` at most the configured maximum."""
        schema = self._policies.schema
        if request.action not in schema.actions:
            actions = ", ".join(sorted(schema.actions))
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                f"action: {request.action!r} is not one of {actions}",
                field="action",
            )
        for field, entity in (("principal", request.principal), ("resource", request.resource)):
            if entity.type not in schema.entity_types:
                raise PlatformError(
                    errors.INVALID_ARGUMENT,
                    f"{field}.type: {entity.type!r} is not an entity type of the schema",
                    field=f"{field}.type",
                )
        return await self._desk.open(
            requester,
            request.action,
            entity_dict(request.principal),
            entity_dict(request.resource),
            request.context,
            reasons,
            min(ttl or self._ttl, self._ttl),
            request_id,
        )
