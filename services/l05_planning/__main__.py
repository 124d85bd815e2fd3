"""Starts L05: the goal store on L01, the Temporal worker running goals, the server."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.worker import Worker

from agentic.data.v1 import vectors_pb2_grpc
from agentic.models.v1 import models_pb2_grpc
from agentic.runtime.v1 import agents_pb2_grpc
from agentic.tools.v1 import tools_pb2_grpc
from services.kit import (
    GrpcServer,
    ServiceDefinition,
    TokenAuthenticator,
    configure_logging,
    open_layer_channel,
    wait_for_termination,
)
from services.kit.auth import service_token_from_env
from services.kit.temporal import connect_temporal
from services.l05_planning import errors
from services.l05_planning.activities import GoalActivities, ReusePolicy
from services.l05_planning.approval_follower import ApprovalFollower
from services.l05_planning.config import PlanningSettings
from services.l05_planning.plan_library import PlanLibrary
from services.l05_planning.roles_and_skills import RolesAndSkills
from services.l05_planning.server import SERVICE_NAME, GoalServicer, register
from services.l05_planning.store import GoalStore
from services.l05_planning.supervision import Supervision
from services.l05_planning.workflow import GoalRun

log = structlog.get_logger("l05")
DEV_TOKEN = "dev_key_local_ONLY"  # accepted by the layers only while they have no production key


async def main() -> None:
    settings = PlanningSettings()
    configure_logging("l05_planning", settings.log_level, settings.log_format)
    token = settings.layer_token or service_token_from_env() or DEV_TOKEN
    l01 = open_layer_channel("l01", token=token)
    l02 = open_layer_channel("l02", token=token)
    l03 = open_layer_channel("l03", token=token)
    l04 = open_layer_channel("l04", token=token, timeout=None)
    l08 = open_layer_channel("l08", token=token)
    l13 = open_layer_channel("l13", token=token)
    l14 = open_layer_channel("l14", token=token)
    store = GoalStore(l01)
    supervision = Supervision(l08)
    temporal = await connect_temporal(
        settings.temporal_address,
        settings.temporal_namespace,
        settings.temporal_connect_seconds,
    )
    models = models_pb2_grpc.ModelServiceStub(l04)
    activities = GoalActivities(
        store,
        models,
        tools_pb2_grpc.ToolServiceStub(l03),
        agents_pb2_grpc.AgentServiceStub(l02),
        RolesAndSkills(l13, l14),
        supervision,
        PlanLibrary(vectors_pb2_grpc.VectorServiceStub(l01), models),
        ReusePolicy(settings.plan_reuse, settings.reuse_threshold),
    )
    approvals = ApprovalFollower(l01, temporal)
    servicer = GoalServicer(
        store,
        temporal,
        supervision,
        settings.task_queue,
        settings.agent_task_queue,
        settings.poll_seconds,
    )
    definition = ServiceDefinition(
        layer="l05_planning",
        errors=errors.CATALOG,
        service_names=[SERVICE_NAME],
        registrars=[register(servicer)],
        authenticator=TokenAuthenticator(settings.api_key),
    )
    worker = Worker(
        temporal,
        task_queue=settings.task_queue,
        workflows=[GoalRun],
        activities=[*activities.all(), approvals.approval_decision],
    )
    async with worker, GrpcServer(definition, settings):
        log.info("worker.started", task_queue=settings.task_queue)
        follower = asyncio.create_task(approvals.follow())
        await wait_for_termination()
        follower.cancel()
    for channel in (l01, l02, l03, l04, l08, l13, l14):
        await channel.close()


if __name__ == "__main__":
    asyncio.run(main())
