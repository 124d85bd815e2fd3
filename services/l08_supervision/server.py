"""The servicers of L08: policies, decisions, approvals. They map messages to the domain and
back; the domain modules know nothing of gRPC."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import grpc
from google.protobuf import duration_pb2, json_format, struct_pb2, timestamp_pb2

from agentic.supervision.v1 import approvals_pb2 as ap_pb
from agentic.supervision.v1 import approvals_pb2_grpc as ap_grpc
from agentic.supervision.v1 import decisions_pb2 as de_pb
from agentic.supervision.v1 import decisions_pb2_grpc as de_grpc
from agentic.supervision.v1 import policies_pb2 as po_pb
from agentic.supervision.v1 import policies_pb2_grpc as po_grpc
from agentic.supervision.v1 import resources_pb2 as res_pb
from services.kit import PlatformError, current_caller, current_principal
from services.l08_supervision import errors
from services.l08_supervision.approvals import Approval, ApprovalDesk, State
from services.l08_supervision.policy_engine import (
    DecisionRequest,
    EntityRef,
    Outcome,
    policy_count,
)
from services.l08_supervision.policy_store import PolicyStore, PolicyVersion
from services.l08_supervision.supervisor import Supervisor

SERVICE_NAMES = [
    po_pb.DESCRIPTOR.services_by_name["PolicyService"].full_name,
    de_pb.DESCRIPTOR.services_by_name["DecisionService"].full_name,
    ap_pb.DESCRIPTOR.services_by_name["ApprovalService"].full_name,
]
MAX_PAGE_SIZE = 1000
MAX_COMMENT_CHARS = 4000
MAX_DESCRIPTION_CHARS = 4000
# A decision's request is kept whole in its approval's event (L01 takes up to 1 MiB).
MAX_PART_BYTES = 64 * 1024
MAX_REASONS = 10
MAX_REASON_CHARS = 1000
MAX_REQUEST_ID_CHARS = 256

_OUTCOMES = {
    Outcome.ALLOW: res_pb.DECISION_ALLOW,
    Outcome.DENY: res_pb.DECISION_DENY,
    Outcome.ESCALATE: res_pb.DECISION_ESCALATE,
}
_STATES = {
    State.PENDING: res_pb.APPROVAL_STATE_PENDING,
    State.APPROVED: res_pb.APPROVAL_STATE_APPROVED,
    State.REJECTED: res_pb.APPROVAL_STATE_REJECTED,
}


def invalid(field: str, message: str) -> PlatformError:
    return PlatformError(errors.INVALID_ARGUMENT, f"{field}: {message}", field=field)


def _integral(value: Any) -> Any:
    """Struct holds numbers as doubles; Cedar's Long wants whole numbers as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _dict(message: struct_pb2.Struct) -> dict[str, Any]:
    return _integral(json_format.MessageToDict(message))  # type: ignore[no-any-return]


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def to_entity(message: res_pb.Entity, field: str) -> EntityRef:
    if not message.type or not message.type.isidentifier():
        raise invalid(f"{field}.type", "required: an entity type of the schema, e.g. Agent")
    if not message.id or len(message.id) > 256:
        raise invalid(f"{field}.id", "required, at most 256 characters")
    return EntityRef(message.type, message.id, _dict(message.attributes), tuple(message.roles))


def from_entity(value: dict[str, Any]) -> res_pb.Entity:
    return res_pb.Entity(
        type=value["type"],
        id=value["id"],
        attributes=_struct(value.get("attributes", {})),
        roles=value.get("roles", []),
    )


def to_approval(approval: Approval) -> res_pb.Approval:
    message = res_pb.Approval(
        id=approval.id,
        state=_STATES[approval.state],
        requester=approval.requester,
        action=approval.action,
        principal=from_entity(approval.principal),
        resource=from_entity(approval.resource),
        context=_struct(approval.context),
        reasons=list(approval.reasons),
        create_time=_timestamp(approval.create_time),
        expire_time=_timestamp(approval.expire_time),
        decided_by=approval.decided_by,
        comment=approval.comment,
        request_id=approval.request_id,
    )
    if approval.decide_time:
        message.decide_time.CopyFrom(_timestamp(approval.decide_time))
    return message


def to_version(version: PolicyVersion, active: int, with_text: bool) -> po_pb.PolicyVersion:
    return po_pb.PolicyVersion(
        version=version.version,
        text=version.text if with_text else "",
        description=version.description,
        author=version.author,
        deploy_time=_timestamp(version.deploy_time),
        rolled_back_from=version.rolled_back_from,
        policy_count=version.policy_count,
        active=version.version == active,
    )


def _page(page_size: int, page_token: str) -> tuple[int, int]:
    if not 0 <= page_size <= MAX_PAGE_SIZE:
        raise invalid("page_size", f"0-{MAX_PAGE_SIZE}")
    if page_token and not (page_token.isascii() and page_token.isdigit() and len(page_token) < 10):
        raise invalid("page_token", "not a token this server gave")
    return page_size or 100, int(page_token or 0)


class PolicyServicer(po_grpc.PolicyServiceServicer):
    def __init__(self, store: PolicyStore) -> None:
        self._store = store

    async def ValidatePolicies(
        self, request: po_pb.ValidatePoliciesRequest, context: grpc.aio.ServicerContext
    ) -> po_pb.ValidatePoliciesResponse:
        problems = self._store.validate(request.text)
        count = 0 if problems else policy_count(request.text)
        return po_pb.ValidatePoliciesResponse(
            valid=not problems, problems=problems, policy_count=count
        )

    async def DeployPolicies(
        self, request: po_pb.DeployPoliciesRequest, context: grpc.aio.ServicerContext
    ) -> po_pb.DeployPoliciesResponse:
        if len(request.description) > MAX_DESCRIPTION_CHARS:
            raise invalid("description", f"at most {MAX_DESCRIPTION_CHARS} characters")
        version = await self._store.deploy(
            request.text, request.description, current_principal.get(), request.expected_version
        )
        return po_pb.DeployPoliciesResponse(
            version=to_version(version, self._store.latest, with_text=True)
        )

    async def RollbackPolicies(
        self, request: po_pb.RollbackPoliciesRequest, context: grpc.aio.ServicerContext
    ) -> po_pb.RollbackPoliciesResponse:
        if request.version < 1:
            raise invalid("version", "a deployed version number")
        version = await self._store.rollback(
            request.version, request.description[:MAX_DESCRIPTION_CHARS], current_principal.get()
        )
        return po_pb.RollbackPoliciesResponse(
            version=to_version(version, self._store.latest, with_text=True)
        )

    async def ListPolicyVersions(
        self, request: po_pb.ListPolicyVersionsRequest, context: grpc.aio.ServicerContext
    ) -> po_pb.ListPolicyVersionsResponse:
        size, start = _page(request.page_size, request.page_token)
        newest_first = list(reversed(self._store.versions))
        page = newest_first[start : start + size]
        more = start + size < len(newest_first)
        return po_pb.ListPolicyVersionsResponse(
            versions=[to_version(v, self._store.latest, with_text=False) for v in page],
            next_page_token=str(start + size) if more else "",
        )

    async def GetPolicyVersion(
        self, request: po_pb.GetPolicyVersionRequest, context: grpc.aio.ServicerContext
    ) -> po_pb.GetPolicyVersionResponse:
        if request.version == "active":
            number = self._store.latest
        elif request.version.isascii() and request.version.isdigit() and len(request.version) < 10:
            number = int(request.version)
        else:
            raise invalid("version", "a version number, or active")
        version = self._store.get(number)
        return po_pb.GetPolicyVersionResponse(
            version=to_version(version, self._store.latest, with_text=True)
        )

    async def GetPolicySchema(
        self, request: po_pb.GetPolicySchemaRequest, context: grpc.aio.ServicerContext
    ) -> po_pb.GetPolicySchemaResponse:
        return po_pb.GetPolicySchemaResponse(schema=self._store.schema.text)


def _check_sizes(**parts: int) -> None:
    for field, size in parts.items():
        if size > MAX_PART_BYTES:
            raise invalid(field, f"{size} bytes, over {MAX_PART_BYTES}")


def _positive_ttl(field: str, duration: duration_pb2.Duration) -> timedelta:
    ttl = duration.ToTimedelta()
    if ttl <= timedelta(0):
        raise invalid(field, "must be positive")
    return ttl


class DecisionServicer(de_grpc.DecisionServiceServicer):
    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor

    async def Evaluate(
        self, request: de_pb.EvaluateRequest, context: grpc.aio.ServicerContext
    ) -> de_pb.EvaluateResponse:
        if not request.action:
            raise invalid("action", "required, e.g. call_tool")
        if len(request.request_id) > 256:
            raise invalid("request_id", "at most 256 characters")
        _check_sizes(
            context=request.context.ByteSize(),
            principal=request.principal.ByteSize(),
            resource=request.resource.ByteSize(),
        )
        ttl = None
        if request.HasField("approval_ttl"):
            ttl = _positive_ttl("approval_ttl", request.approval_ttl)
        decided = await self._supervisor.evaluate(
            current_principal.get(),
            DecisionRequest(
                to_entity(request.principal, "principal"),
                request.action,
                to_entity(request.resource, "resource"),
                _dict(request.context),
            ),
            request.request_id,
            ttl,
        )
        reply = de_pb.EvaluateResponse(
            decision=_OUTCOMES[decided.verdict.outcome],
            policies=[
                de_pb.DecidingPolicy(id=p.name, effect=p.effect, reason=p.reason)
                for p in decided.verdict.policies
            ],
            reasons=list(decided.verdict.reasons),
            policy_version=decided.policy_version,
            context=_struct(decided.context),
        )
        if decided.approval is not None:
            reply.approval.CopyFrom(to_approval(decided.approval))
        return reply


class ApprovalServicer(ap_grpc.ApprovalServiceServicer):
    def __init__(self, desk: ApprovalDesk, supervisor: Supervisor) -> None:
        self._desk = desk
        self._supervisor = supervisor

    async def RequestApproval(
        self, request: ap_pb.RequestApprovalRequest, context: grpc.aio.ServicerContext
    ) -> ap_pb.RequestApprovalResponse:
        if not request.action:
            raise invalid("action", "required, e.g. execute_plan")
        if not request.request_id or len(request.request_id) > MAX_REQUEST_ID_CHARS:
            raise invalid(
                "request_id", f"required (the idempotency key), 1-{MAX_REQUEST_ID_CHARS} chars"
            )
        if not 1 <= len(request.reasons) <= MAX_REASONS:
            raise invalid("reasons", f"1-{MAX_REASONS} reasons why a person must decide")
        if any(not r.strip() or len(r) > MAX_REASON_CHARS for r in request.reasons):
            raise invalid("reasons", f"each reason: 1-{MAX_REASON_CHARS} characters, not blank")
        _check_sizes(
            context=request.context.ByteSize(),
            principal=request.principal.ByteSize(),
            resource=request.resource.ByteSize(),
        )
        ttl = request.ttl.ToTimedelta() or None  # zero: the server's maximum
        if ttl is not None and ttl < timedelta(0):
            raise invalid("ttl", "must not be negative")
        approval = await self._supervisor.request_approval(
            current_principal.get(),
            DecisionRequest(
                to_entity(request.principal, "principal"),
                request.action,
                to_entity(request.resource, "resource"),
                _dict(request.context),
            ),
            tuple(request.reasons),
            request.request_id,
            ttl,
        )
        return ap_pb.RequestApprovalResponse(approval=to_approval(approval))

    async def ListApprovals(
        self, request: ap_pb.ListApprovalsRequest, context: grpc.aio.ServicerContext
    ) -> ap_pb.ListApprovalsResponse:
        size, start = _page(request.page_size, request.page_token)
        wanted = {v: k for k, v in _STATES.items()}.get(request.state)
        if request.state and wanted is None:
            raise invalid("state", f"unknown state {request.state}")
        approvals = sorted(
            (a for a in self._desk.book.approvals.values() if wanted in (None, a.state)),
            key=lambda a: (a.create_time, a.id),
            reverse=True,
        )
        page = approvals[start : start + size]
        more = start + size < len(approvals)
        return ap_pb.ListApprovalsResponse(
            approvals=[to_approval(a) for a in page],
            next_page_token=str(start + size) if more else "",
        )

    async def GetApproval(
        self, request: ap_pb.GetApprovalRequest, context: grpc.aio.ServicerContext
    ) -> ap_pb.GetApprovalResponse:
        return ap_pb.GetApprovalResponse(approval=to_approval(self._desk.get(request.id)))

    async def _decide(self, approval_id: str, approve: bool, comment: str) -> res_pb.Approval:
        if not approval_id:
            raise invalid("id", "required")
        if len(comment) > MAX_COMMENT_CHARS:
            raise invalid("comment", f"at most {MAX_COMMENT_CHARS} characters")
        caller = current_caller()
        approval = await self._desk.decide(
            approval_id, approve, caller.principal, comment, caller.roles
        )
        return to_approval(approval)

    async def Approve(
        self, request: ap_pb.ApproveRequest, context: grpc.aio.ServicerContext
    ) -> ap_pb.ApproveResponse:
        return ap_pb.ApproveResponse(approval=await self._decide(request.id, True, request.comment))

    async def Reject(
        self, request: ap_pb.RejectRequest, context: grpc.aio.ServicerContext
    ) -> ap_pb.RejectResponse:
        return ap_pb.RejectResponse(approval=await self._decide(request.id, False, request.comment))

    async def WatchApproval(
        self, request: ap_pb.WatchApprovalRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ap_pb.WatchApprovalResponse]:
        self._desk.get(request.id)  # NOT_FOUND before the stream starts
        async for approval in self._desk.book.changes(request.id):
            yield ap_pb.WatchApprovalResponse(approval=to_approval(approval))
