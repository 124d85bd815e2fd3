"""GoalService: maps the RPCs to the goal store and the goal workflows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import structlog
from google.protobuf import json_format
from temporalio.client import Client
from temporalio.service import RPCError

from agentic.planning.v1 import goals_pb2 as pb
from agentic.planning.v1 import goals_pb2_grpc
from services.kit import PlatformError, current_caller, current_principal
from services.kit.upstream import page_token_passed_on
from services.l05_planning import convert, errors, events
from services.l05_planning.events import GoalView
from services.l05_planning.goal_types import workflow_id_of as workflow_id
from services.l05_planning.store import GoalStore
from services.l05_planning.supervision import Supervision
from services.l05_planning.workflow import APPROVAL_SIGNAL, GoalRun

log = structlog.get_logger("l05")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["GoalService"].full_name
_PAGE_MAX = 500


class GoalServicer(goals_pb2_grpc.GoalServiceServicer):
    def __init__(
        self,
        store: GoalStore,
        temporal: Client,
        supervision: Supervision,
        task_queue: str,
        agent_task_queue: str,
        poll_seconds: float,
    ) -> None:
        self._store = store
        self._temporal = temporal
        self._supervision = supervision
        self._queue = task_queue
        self._agent_queue = agent_task_queue
        self._poll = poll_seconds

    async def CreateGoal(
        self, request: pb.CreateGoalRequest, context: Any
    ) -> pb.CreateGoalResponse:
        convert.check_create(request)
        goal_id = request.goal_id or uuid.uuid4().hex[:16]
        owner = current_principal.get()
        spec = convert.spec_from(request, goal_id, owner, self._agent_queue)
        data = {
            "goal": request.goal,
            "constraints": json_format.MessageToDict(request.constraints),
            "owner": owner,
        }
        view = await self._store.create(goal_id, data)
        try:
            await self._temporal.start_workflow(
                GoalRun.run, spec, id=workflow_id(goal_id), task_queue=self._queue
            )
        except RPCError as error:
            await self._store.append(
                goal_id,
                events.FINISHED,
                {"status": events.FAILED, "reason": f"the workflow could not start: {error}"},
                events.FINISHED + "/",
            )
            raise PlatformError(errors.ENGINE_UNAVAILABLE, f"Temporal: {error}") from error
        return pb.CreateGoalResponse(goal=convert.goal_message(view))

    async def GetGoal(self, request: pb.GetGoalRequest, context: Any) -> pb.GetGoalResponse:
        view = await self._owned(convert.goal_id_of(request.name))
        return pb.GetGoalResponse(goal=convert.goal_message(view))

    async def ListGoals(self, request: pb.ListGoalsRequest, context: Any) -> pb.ListGoalsResponse:
        if not 0 <= request.page_size <= _PAGE_MAX:
            raise PlatformError(
                errors.INVALID_ARGUMENT, f"page_size: must be 0-{_PAGE_MAX}", field="page_size"
            )
        status = ""
        if request.status:
            status = pb.GoalStatus.Name(request.status).removeprefix("GOAL_STATUS_")
        with page_token_passed_on(request.page_token, errors.INVALID_ARGUMENT):
            views, token = await self._store.page(
                current_principal.get(), request.page_size or 50, status, request.page_token
            )
        return pb.ListGoalsResponse(
            goals=[convert.goal_message(view, with_outputs=False) for view in views],
            next_page_token=token,
        )

    async def CancelGoal(
        self, request: pb.CancelGoalRequest, context: Any
    ) -> pb.CancelGoalResponse:
        if len(request.reason) > 1000:
            raise PlatformError(
                errors.INVALID_ARGUMENT, "reason: at most 1,000 characters", field="reason"
            )
        goal_id = convert.goal_id_of(request.name)
        view = await self._ended_is_refused(goal_id)
        await self._store.append(
            goal_id,
            events.CANCEL_REQUESTED,
            {"reason": request.reason or "cancelled"},
            events.CANCEL_REQUESTED,
        )
        try:
            await self._temporal.get_workflow_handle(workflow_id(goal_id)).cancel()
        except RPCError as error:
            raise PlatformError(errors.ENGINE_UNAVAILABLE, f"Temporal: {error}") from error
        return pb.CancelGoalResponse(goal=convert.goal_message(view))

    async def ApproveGoal(
        self, request: pb.ApproveGoalRequest, context: Any
    ) -> pb.ApproveGoalResponse:
        if len(request.comment) > 1000:
            raise PlatformError(
                errors.INVALID_ARGUMENT, "comment: at most 1,000 characters", field="comment"
            )
        goal_id = convert.goal_id_of(request.name)
        view = await self._ended_is_refused(goal_id)
        if view.status != events.WAITING or not view.approval:
            raise PlatformError(
                errors.NOT_WAITING, f"goal {goal_id} is {view.status}, not WAITING_APPROVAL"
            )
        # One record, one decision: the goal's approval in L08, decided in the caller's name
        # by L08's rules. The workflow sees the decision in the approval's stream.
        approval_id = view.approval.removeprefix("approvals/")
        await self._supervision.approve(approval_id, request.comment, current_caller())
        try:
            handle = self._temporal.get_workflow_handle(workflow_id(goal_id))
            await handle.signal(APPROVAL_SIGNAL, approval_id)
        except RPCError as error:  # the follower of L08's decisions, or the recheck, wakes it
            log.warning("approval.signal_failed", goal=goal_id, error=str(error))
        return pb.ApproveGoalResponse(goal=convert.goal_message(view))

    async def WatchGoal(
        self, request: pb.WatchGoalRequest, context: Any
    ) -> AsyncIterator[pb.WatchGoalResponse]:
        if request.from_version < 0:
            raise PlatformError(
                errors.INVALID_ARGUMENT, "from_version: must not be negative", field="from_version"
            )
        goal_id = convert.goal_id_of(request.name)
        view = await self._owned(goal_id)
        if view.ended and request.from_version > view.version:
            return
        next_version = request.from_version
        while True:
            batch = await self._store.read(goal_id, next_version)
            for event in batch:
                yield pb.WatchGoalResponse(
                    version=event.stream_version,
                    type=event.type,
                    data=event.data,
                    time=event.recorded_at,
                )
                next_version = event.stream_version + 1
                if event.type == events.FINISHED:
                    return
            if not batch:
                await asyncio.sleep(self._poll)

    async def _owned(self, goal_id: str) -> GoalView:
        view = await self._store.load(goal_id)
        if view.owner != current_principal.get():
            raise PlatformError(errors.NOT_OWNER, f"goal {goal_id} belongs to another principal")
        return view

    async def _ended_is_refused(self, goal_id: str) -> GoalView:
        view = await self._owned(goal_id)
        if view.ended:
            raise PlatformError(errors.GOAL_ENDED, f"goal {goal_id} has already {view.status}")
        return view


def register(servicer: GoalServicer) -> Any:
    return lambda server: goals_pb2_grpc.add_GoalServiceServicer_to_server(servicer, server)
