"""Starts L02: the agent store on L01, the Temporal worker running task runs, the server."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.worker import Worker

from agentic.models.v1 import models_pb2_grpc
from agentic.roles.v1 import roles_pb2_grpc
from agentic.skills.v1 import skills_pb2_grpc
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
from services.l02_runtime import errors
from services.l02_runtime.activities import RunActivities
from services.l02_runtime.agent_context import ContextSource
from services.l02_runtime.approvals import ApprovalFollower
from services.l02_runtime.child_runs import ChildRunActivities
from services.l02_runtime.config import RuntimeSettings
from services.l02_runtime.server import SERVICE_NAME, AgentServicer, register
from services.l02_runtime.store import AgentStore
from services.l02_runtime.workflow import AgentRun

log = structlog.get_logger("l02")
DEV_TOKEN = "dev_key_local_ONLY"  # accepted by the layers only while they have no production key


async def main() -> None:
    settings = RuntimeSettings()
    configure_logging("l02_runtime", settings.log_level, settings.log_format)
    token = settings.layer_token or service_token_from_env() or DEV_TOKEN
    l01 = open_layer_channel("l01", token=token)
    l03 = open_layer_channel("l03", token=token, timeout=None)
    l04 = open_layer_channel("l04", token=token, timeout=None)
    l13 = open_layer_channel("l13", token=token)
    l14 = open_layer_channel("l14", token=token)
    store = AgentStore(l01)
    temporal = await connect_temporal(
        settings.temporal_address,
        settings.temporal_namespace,
        settings.temporal_connect_seconds,
    )
    context = ContextSource(
        roles_pb2_grpc.RoleServiceStub(l13),
        skills_pb2_grpc.SkillServiceStub(l14),
        settings.role_context_tokens,
        settings.skill_context_tokens,
    )
    activities = RunActivities(
        store,
        models_pb2_grpc.ModelServiceStub(l04),
        tools_pb2_grpc.ToolServiceStub(l03),
        context,
    )
    approvals = ApprovalFollower(l01, temporal)
    definition = ServiceDefinition(
        layer="l02_runtime",
        errors=errors.CATALOG,
        service_names=[SERVICE_NAME],
        registrars=[register(AgentServicer(store, temporal, settings.task_queue))],
        authenticator=TokenAuthenticator(settings.api_key),
    )
    worker = Worker(
        temporal,
        task_queue=settings.task_queue,
        workflows=[AgentRun],
        activities=[
            *activities.all(),
            approvals.approval_state,
            *ChildRunActivities(store).all(),
        ],
    )
    async with worker, GrpcServer(definition, settings):
        log.info(
            "worker.started", task_queue=settings.task_queue, temporal=settings.temporal_address
        )
        follower = asyncio.create_task(approvals.follow())
        await wait_for_termination()
        follower.cancel()
    for channel in (l01, l03, l04, l13, l14):
        await channel.close()


if __name__ == "__main__":
    asyncio.run(main())
