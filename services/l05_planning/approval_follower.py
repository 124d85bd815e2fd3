"""Wakes the goals waiting for their L08 approval.

A goal's workflow waits for the signal ``approval_decided`` (see workflow.py). This module
sends it: it follows the ``approval.`` events in L01, where L08 records every decision
(whichever L08 process made it, the expiry sweep's rejections included), and for a decision
on an approval a goal opened, signals that goal's workflow, named by the approval's
``request_id``. Following L01 rather than L08 keeps working while L08 restarts, and needs one
subscription for every waiting goal. A decision made while this process was down is found
by the workflow itself, which reads the approval's stream (``approval_decision``) when no
signal came for a while, and after every signal: the stream, not the signal, is the truth.
"""

from __future__ import annotations

from typing import Any

import grpc
import structlog
from google.protobuf import json_format
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from agentic.data.v1 import event_store_pb2 as ev_pb
from agentic.data.v1 import event_store_pb2_grpc as ev_grpc
from services.kit.approval_events import follow_decisions
from services.l05_planning import approval
from services.l05_planning.goal_types import ApprovalDecision
from services.l05_planning.workflow import APPROVAL_DECISION, APPROVAL_SIGNAL

log = structlog.get_logger("l05.approvals")


class ApprovalFollower:
    def __init__(self, l01: grpc.aio.Channel, temporal: Client) -> None:
        self._events = ev_grpc.EventStoreServiceStub(l01)
        self._temporal = temporal

    async def _stream(self, approval_id: str) -> list[tuple[str, dict[str, Any]]]:
        page = await self._events.ReadStream(
            ev_pb.ReadStreamRequest(stream_id=f"approval-{approval_id}", max_count=10)
        )
        return [(e.type, json_format.MessageToDict(e.data)) for e in page.events]

    @activity.defn(name=APPROVAL_DECISION)
    async def approval_decision(self, approval_id: str) -> ApprovalDecision:
        """Where the approval stands, read from its own stream."""
        return approval.decision_of(await self._stream(approval_id))

    async def _wake(self, approval_id: str) -> None:
        workflow_id = approval.workflow_of(*approval.request_of(await self._stream(approval_id)))
        if not workflow_id:
            return
        try:
            await self._temporal.get_workflow_handle(workflow_id).signal(
                APPROVAL_SIGNAL, approval_id
            )
            log.info("approval.signalled", approval=approval_id, workflow=workflow_id)
        except RPCError as error:  # the goal ended meanwhile (cancelled): nothing waits
            log.info("approval.nobody_waits", approval=approval_id, error=str(error))

    async def follow(self) -> None:
        """Signals the goals whose approvals are decided from now on."""
        await follow_decisions(self._events, self._wake)
