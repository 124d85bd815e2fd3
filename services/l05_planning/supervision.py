"""L05's client of L08's approvals: opens a goal's approval, and decides it for ApproveGoal.

Calls carry the service token and name whom they are for (the kit's principal, roles and
tenant headers): the goal's owner asks for the approval, and ApproveGoal's caller decides it,
so L08 applies its own rule on who may decide (the approver or admin role) to that caller.
"""

from __future__ import annotations

import grpc
from google.protobuf import duration_pb2

from agentic.supervision.v1 import approvals_pb2 as ap_pb
from agentic.supervision.v1 import approvals_pb2_grpc as ap_grpc
from agentic.supervision.v1 import resources_pb2 as res_pb
from services.kit import Caller, PlatformError, platform_code_of
from services.kit.auth import PRINCIPAL_HEADER, ROLES_HEADER, TENANT_HEADER
from services.l05_planning import approval, errors
from services.l05_planning.goal_types import ApprovalAsk, ApprovalRef

_TIMEOUT_SECONDS = 10.0
# L08's refusals of a decision that mean the approval no longer waits.
_DECIDED = ("E8005", "E8006", "E8007")


def _as(caller: Caller) -> tuple[tuple[str, str], ...]:
    return (
        (PRINCIPAL_HEADER, caller.principal),
        (ROLES_HEADER, ",".join(caller.roles)),
        (TENANT_HEADER, caller.tenant),
    )


class Supervision:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._approvals = ap_grpc.ApprovalServiceStub(channel)

    async def open(self, ask: ApprovalAsk) -> ApprovalRef:
        """Opens the goal's approval, or finds the one opened before."""
        spec = ask.goal
        request = ap_pb.RequestApprovalRequest(
            action=approval.ACTION,
            principal=res_pb.Entity(type="User", id=spec.owner),
            resource=res_pb.Entity(type="Goal", id=spec.goal_id),
            reasons=[approval.REASON],
            request_id=approval.request_id_of(spec.goal_id),
            ttl=duration_pb2.Duration(seconds=max(int(ask.ttl_seconds), 1)),
        )
        request.resource.attributes.update({"require_approval": True})
        request.context.update(approval.plan_summary(spec.goal, spec.owner, ask.tasks))
        owner = Caller(spec.owner, spec.owner, ())
        reply = await self._approvals.RequestApproval(
            request, metadata=_as(owner), timeout=_TIMEOUT_SECONDS
        )
        return ApprovalRef(reply.approval.id, reply.approval.expire_time.ToJsonString())

    async def approve(self, approval_id: str, comment: str, caller: Caller) -> None:
        """Approves in ``caller``'s name; L08's refusals become this layer's errors."""
        try:
            await self._approvals.Approve(
                ap_pb.ApproveRequest(id=approval_id, comment=comment),
                metadata=_as(caller),
                timeout=_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            code = platform_code_of(error)
            raise refusal(approval_id, code, error.code(), error.details() or "") from None


def refusal(approval_id: str, code: str, status: grpc.StatusCode, details: str) -> PlatformError:
    """This layer's error for L08's refusal (platform ``code``, gRPC ``status``) of a
    decision on the goal's approval."""
    if code == "E8011":
        return PlatformError(errors.NOT_AN_APPROVER, f"L08 refused the approval: {details}")
    if code in _DECIDED:
        return PlatformError(
            errors.NOT_WAITING, f"approval {approval_id} no longer waits: {details}"
        )
    return PlatformError(errors.SUPERVISION_UNAVAILABLE, f"L08: {status.name}: {details}")
