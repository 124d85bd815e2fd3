"""Runs that wait for an L08 approval, and the follower that wakes them.

When L03 answers a sensitive tool call with "waiting for approval" (E3014), the run's
workflow waits for the signal ``approval_decided``. This module sends it: it follows the
``approval.`` events in L01 (where L08 records every decision, whichever L08 process made
it, including the expiry sweep's rejections) and, for a decision on an approval that an agent
run's tool call opened, signals that run's workflow. The approval's ``request_id`` is the tool
call's idempotency key, ``<workflow id>/step-<n>``, so the workflow is found without a table.

Following L01 rather than L08's ``WatchApproval`` needs one subscription for every waiting
run instead of a stream per run, and keeps working while L08 is down or restarting: a
decision is in L01 once made. A decision made while this process was down is found by the
workflow itself, which checks the approval's stream (``approval_state``) when no signal came
for a while.
"""

from __future__ import annotations

import re

import grpc
import structlog
from google.protobuf import json_format
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from agentic.data.v1 import event_store_pb2 as ev_pb
from agentic.data.v1 import event_store_pb2_grpc as ev_grpc
from services.kit import error_info_of
from services.kit.approval_events import follow_decisions

log = structlog.get_logger("l02.approvals")

APPROVAL_SIGNAL = "approval_decided"
APPROVAL_STATE = "agent_approval_state"
WAITING_CODE = "E3014"  # L03: the call waits for an approval; its id in "approval_id"
_DECIDED = {"approval.approved": "approved", "approval.rejected": "rejected"}
# The idempotency key L02 gives a tool call: "<workflow id>/step-<n>".
_RUN_CALL = re.compile(r"^(agent-[A-Za-z0-9_-]+-run-[A-Za-z0-9_-]+)/step-\d+$")


def waiting_approval(error: grpc.aio.AioRpcError) -> str:
    """The approval a refused tool call waits for ("" when it is another refusal)."""
    if error.code() is not grpc.StatusCode.FAILED_PRECONDITION:
        return ""
    info = error_info_of(error)
    if info is not None and info.reason == WAITING_CODE:
        return str(info.metadata.get("approval_id", ""))
    return ""


def workflow_of(request_id: str) -> str:
    """The run whose tool call opened an approval ("" for another requester's)."""
    match = _RUN_CALL.match(request_id)
    return match.group(1) if match else ""


class ApprovalFollower:
    def __init__(self, l01: grpc.aio.Channel, temporal: Client) -> None:
        self._events = ev_grpc.EventStoreServiceStub(l01)
        self._temporal = temporal

    @activity.defn(name=APPROVAL_STATE)
    async def approval_state(self, approval_id: str) -> str:
        """ "pending", "approved" or "rejected", read from the approval's own stream."""
        page = await self._events.ReadStream(
            ev_pb.ReadStreamRequest(stream_id=f"approval-{approval_id}")
        )
        for event in page.events:
            if event.type in _DECIDED:
                return _DECIDED[event.type]
        return "pending"

    async def _request_id(self, approval_id: str) -> str:
        page = await self._events.ReadStream(
            ev_pb.ReadStreamRequest(stream_id=f"approval-{approval_id}", max_count=1)
        )
        if not page.events:
            return ""
        return str(json_format.MessageToDict(page.events[0].data).get("request_id", ""))

    async def _wake(self, approval_id: str) -> None:
        workflow_id = workflow_of(await self._request_id(approval_id))
        if not workflow_id:
            return
        try:
            await self._temporal.get_workflow_handle(workflow_id).signal(
                APPROVAL_SIGNAL, approval_id
            )
            log.info("approval.signalled", approval=approval_id, workflow=workflow_id)
        except RPCError as error:  # the run ended meanwhile: nothing waits
            log.info("approval.nobody_waits", approval=approval_id, error=str(error))

    async def follow(self) -> None:
        """Signals the runs whose approvals are decided from now on."""
        await follow_decisions(self._events, self._wake)
