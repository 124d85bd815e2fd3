"""Asking L08 before a sensitive tool runs.

The question is Cedar's ``call_tool``: the caller as a ``User`` (in its roles), the tool as a
``Tool`` resource (``sensitive``, ``category`` = its kind), and the context L08 cannot see at
the edge: the arguments as JSON text, the caller's tenant, and for ``http_fetch`` the host as
``target``. ``ruling`` turns L08's answer into the executor's: ALLOW runs, DENY refuses with
the deciding reasons, ESCALATE runs only once the approval L08 opened is approved.

The approval is named by the call (``request_id``: the idempotency key, else a fingerprint of
tool, arguments and workspace), so the same call asked again finds the same approval: that is
how a call resumes after its approval, and why asking again runs nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import grpc

from agentic.supervision.v1 import decisions_pb2 as de_pb
from agentic.supervision.v1 import decisions_pb2_grpc as de_grpc
from agentic.supervision.v1 import resources_pb2 as res_pb
from services.kit import PlatformError
from services.kit.auth import PRINCIPAL_HEADER, ROLES_HEADER, TENANT_HEADER
from services.l03_tools import errors
from services.l03_tools.tools import ToolDefinition, ToolKind

# L08 keeps a decision's parts up to 64 KiB; the arguments go whole or the call is refused,
# so a policy never judges a cut-off command.
MAX_ARGUMENTS_BYTES = 48 * 1024
EVALUATE_TIMEOUT_SECONDS = 5.0
EXPIRED_COMMENT = "expired"  # L08's comment on an approval nobody decided in time


@dataclass(frozen=True)
class Question:
    """What L08 is asked about one call."""

    principal: str
    roles: tuple[str, ...]
    tenant: str
    tool: ToolDefinition
    arguments: dict[str, Any]
    request_id: str


@dataclass(frozen=True)
class Ruling:
    """L08's answer, reduced to what the executor acts on."""

    decision: str  # "allow", "deny", "escalate"
    reasons: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    approval_id: str = ""
    approval_state: str = ""  # "pending", "approved", "rejected"
    expire_time: str = ""
    decided_by: str = ""
    comment: str = ""


def arguments_text(arguments: dict[str, Any]) -> str:
    text = json.dumps(arguments, sort_keys=True, separators=(",", ":"))
    if len(text.encode()) > MAX_ARGUMENTS_BYTES:
        raise PlatformError(
            errors.INVALID_ARGUMENT,
            f"arguments of a sensitive tool are at most {MAX_ARGUMENTS_BYTES} bytes as JSON, "
            "so that L08 judges them whole",
            field="arguments",
        )
    return text


def context_of(question: Question) -> dict[str, Any]:
    context: dict[str, Any] = {"arguments": arguments_text(question.arguments)}
    if question.tenant:
        context["tenant"] = question.tenant
    if question.tool.kind is ToolKind.HTTP_FETCH:
        context["target"] = (
            urlsplit(str(question.arguments.get("url", ""))).hostname or ""
        ).lower()
    return context


def admitted(question: Question, ruling: Ruling) -> str:
    """The approval id the call runs under ("" when policy allows it outright), or the
    refusal: denied, rejected or expired, or still waiting."""
    name = question.tool.name
    reasons = "; ".join(ruling.reasons) or "no reason given"
    if ruling.decision == "allow":
        return ""
    if ruling.decision == "deny":
        raise PlatformError(
            errors.POLICY_DENIED,
            f"L08 denies {name}: {reasons}",
            metadata={"policies": ",".join(ruling.policies), "reasons": reasons},
        )
    approval = ruling.approval_id
    if ruling.approval_state == "approved":
        return approval
    if ruling.approval_state == "rejected":
        expired = ruling.comment == EXPIRED_COMMENT and ruling.decided_by == "l08_supervision"
        why = (
            f"approval {approval} expired before anyone decided"
            if expired
            else f"approval {approval} was rejected by {ruling.decided_by}: "
            f"{ruling.comment or 'no comment'}"
        )
        raise PlatformError(
            errors.APPROVAL_REJECTED,
            f"{name} did not run: {why}",
            metadata={
                "approval_id": approval,
                "decided_by": ruling.decided_by,
                "comment": ruling.comment,
                "expired": str(expired).lower(),
            },
        )
    raise PlatformError(
        errors.APPROVAL_PENDING,
        f"{name} waits for approval {approval} ({reasons}); nothing ran. Once it is approved "
        f"(POST /v1/approvals/{approval}:approve), send the same call again "
        "(same idempotency_key) and it runs once",
        metadata={"approval_id": approval, "expire_time": ruling.expire_time, "reasons": reasons},
    )


_DECISIONS = {
    res_pb.DECISION_ALLOW: "allow",
    res_pb.DECISION_DENY: "deny",
    res_pb.DECISION_ESCALATE: "escalate",
}
_STATES = {
    res_pb.APPROVAL_STATE_PENDING: "pending",
    res_pb.APPROVAL_STATE_APPROVED: "approved",
    res_pb.APPROVAL_STATE_REJECTED: "rejected",
}


class Supervision:
    """L08's DecisionService, asked with the caller's identity (the service token and the
    caller's principal, roles and tenant), so the approval names who asked."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._decisions = de_grpc.DecisionServiceStub(channel)

    async def admit(self, question: Question) -> str:
        """The approval id the call runs under ("" when allowed outright); raises otherwise."""
        return admitted(question, await self._ask(question))

    async def _ask(self, question: Question) -> Ruling:
        tool = question.tool
        request = de_pb.EvaluateRequest(
            principal=res_pb.Entity(type="User", id=question.principal, roles=question.roles),
            action="call_tool",
            resource=res_pb.Entity(type="Tool", id=tool.name),
            request_id=question.request_id,
        )
        request.resource.attributes.update({"sensitive": True, "category": tool.kind.value})
        request.context.update(context_of(question))
        metadata = (
            (PRINCIPAL_HEADER, question.principal),
            (ROLES_HEADER, ",".join(question.roles)),
            (TENANT_HEADER, question.tenant),
        )
        try:
            reply = await self._decisions.Evaluate(
                request, metadata=metadata, timeout=EVALUATE_TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise PlatformError(
                    errors.SUPERVISION_UNAVAILABLE,
                    f"{tool.name} did not run: L08 did not answer ({error.code().name})",
                ) from None
            # Any other refusal of the question is a refusal of the call: fail closed.
            return Ruling("deny", (f"L08 refused the question: {error.details()}",))
        approval = reply.approval
        return Ruling(
            decision=_DECISIONS.get(reply.decision, "deny"),
            reasons=tuple(reply.reasons),
            policies=tuple(p.id for p in reply.policies),
            approval_id=approval.id,
            approval_state=_STATES.get(approval.state, ""),
            expire_time=approval.expire_time.ToJsonString() if approval.id else "",
            decided_by=approval.decided_by,
            comment=approval.comment,
        )
