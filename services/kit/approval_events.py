"""Following L08's approval decisions in L01, for layers whose work waits on them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import structlog
from google.protobuf import json_format

from agentic.data.v1 import event_store_pb2 as ev_pb
from agentic.data.v1 import event_store_pb2_grpc as ev_grpc

log = structlog.get_logger("kit.approval_events")

DECIDED = ("approval.approved", "approval.rejected")


async def follow_decisions(
    events: ev_grpc.EventStoreServiceStub, on_decided: Callable[[str], Awaitable[None]]
) -> None:
    """Calls ``on_decided(approval_id)`` for every approval decided from now on (the past is
    the waiting work's own check to find); reconnects after a failure from the position after
    the last event seen."""
    position, live = 1, False
    while True:
        try:
            call = events.SubscribeAll(
                ev_pb.SubscribeAllRequest(from_position=position, type_prefix="approval.")
            )
            async for message in call:
                if message.HasField("caught_up"):
                    live = True
                    continue
                event = message.event
                position = event.global_position + 1
                if live and event.type in DECIDED:
                    await on_decided(str(json_format.MessageToDict(event.data).get("id", "")))
        except grpc.aio.AioRpcError as error:
            log.warning("approval.subscription_lost", error=error.code().name)
        await asyncio.sleep(0.5)
