"""Starts L08: follows the policy and approval events in L01 until caught up, then serves."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta

from agentic.supervision.v1 import approvals_pb2_grpc, decisions_pb2_grpc, policies_pb2_grpc
from services.kit import (
    GrpcServer,
    ServiceDefinition,
    TokenAuthenticator,
    configure_logging,
    get_logger,
    open_layer_channel,
    wait_for_termination,
)
from services.kit.auth import service_token_from_env
from services.kit.redis_client import redis_client as kit_redis_client
from services.l08_supervision import errors
from services.l08_supervision.approvals import ApprovalBook, ApprovalDesk
from services.l08_supervision.config import SupervisionSettings
from services.l08_supervision.counters import CallCounters
from services.l08_supervision.decision_log import DecisionLog
from services.l08_supervision.events import EventLog
from services.l08_supervision.policy_engine import Schema
from services.l08_supervision.policy_store import PolicyStore
from services.l08_supervision.server import (
    SERVICE_NAMES,
    ApprovalServicer,
    DecisionServicer,
    PolicyServicer,
)
from services.l08_supervision.supervisor import Supervisor

log = get_logger("l08")
DEV_L01_TOKEN = "dev_key_local_ONLY"  # accepted by L01 only while it has no production key
FLUSH_GRACE_SECONDS = 10.0


async def main() -> None:
    settings = SupervisionSettings()
    configure_logging("l08_supervision", settings.log_level, settings.log_format)
    l01_token = settings.l01_token or service_token_from_env() or DEV_L01_TOKEN
    l01 = open_layer_channel("l01", token=l01_token)
    events = EventLog(l01)
    policies = PolicyStore(events, Schema.platform())
    desk = ApprovalDesk(events, ApprovalBook())
    decisions = DecisionLog(events)
    redis_client = kit_redis_client(settings.redis_url)
    supervisor = Supervisor(
        policies,
        desk,
        decisions,
        CallCounters(redis_client, time.time),
        timedelta(seconds=settings.approval_ttl_seconds),
    )
    # Serve only once every deployed version and every approval is known again.
    policies_known, approvals_known = asyncio.Event(), asyncio.Event()
    background = [
        asyncio.create_task(events.follow("policy.", policies.apply, policies_known)),
        asyncio.create_task(events.follow("approval.", desk.book.apply, approvals_known)),
    ]
    await policies_known.wait()
    await approvals_known.wait()
    log.info(
        "supervision.state_loaded",
        policy_version=policies.latest,
        approvals=len(desk.book.approvals),
    )
    background.append(asyncio.create_task(desk.sweep(settings.expiry_sweep_seconds)))
    recorder = asyncio.create_task(decisions.run())
    definition = ServiceDefinition(
        layer="l08_supervision",
        errors=errors.CATALOG,
        service_names=SERVICE_NAMES,
        registrars=[
            lambda s: policies_pb2_grpc.add_PolicyServiceServicer_to_server(
                PolicyServicer(policies), s
            ),
            lambda s: decisions_pb2_grpc.add_DecisionServiceServicer_to_server(
                DecisionServicer(supervisor), s
            ),
            lambda s: approvals_pb2_grpc.add_ApprovalServiceServicer_to_server(
                ApprovalServicer(desk, supervisor), s
            ),
        ],
        authenticator=TokenAuthenticator(settings.api_key),
    )
    async with GrpcServer(definition, settings):
        try:
            await wait_for_termination()
        finally:
            decisions.stop()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(recorder, FLUSH_GRACE_SECONDS)
            for task in background:
                task.cancel()
    await redis_client.aclose()
    await l01.close()


if __name__ == "__main__":
    asyncio.run(main())
