"""L08's events in L01, through its generated gRPC client: appends (with an expected version
where one decision must win), and subscriptions that rebuild state on start and follow it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format

from agentic.data.v1 import event_store_pb2 as ev_pb
from agentic.data.v1 import event_store_pb2_grpc as ev_grpc
from services.kit import PlatformError, current_principal, get_logger
from services.kit.auth import PRINCIPAL_HEADER
from services.l08_supervision import errors

log = get_logger("l08.events")


class StreamConflict(Exception):
    """The stream was not at the expected version: another writer got there first."""


@dataclass(frozen=True)
class StoredEvent:
    stream_id: str
    stream_version: int
    type: str
    data: dict[str, Any]
    position: int


Handler = Callable[[StoredEvent], None]


def _stored(event: Any) -> StoredEvent:
    return StoredEvent(
        event.stream_id,
        event.stream_version,
        event.type,
        json_format.MessageToDict(event.data),
        event.global_position,
    )


class EventLog:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = ev_grpc.EventStoreServiceStub(channel)

    async def append(
        self,
        stream_id: str,
        events: list[tuple[str, dict[str, Any]]],
        expected_version: int | None = None,
    ) -> None:
        request = ev_pb.AppendEventsRequest(stream_id=stream_id)
        if expected_version is not None:
            request.expected_version = expected_version
        for event_type, data in events:
            request.events.add(type=event_type).data.update(data)
        await self._send(request)

    async def append_new(self, stream_id: str, events: list[ev_pb.NewEvent]) -> None:
        """Appends events already built, in order."""
        await self._send(ev_pb.AppendEventsRequest(stream_id=stream_id, events=events))

    async def _send(self, request: ev_pb.AppendEventsRequest) -> None:
        try:
            await self._stub.AppendEvents(
                request, metadata=((PRINCIPAL_HEADER, current_principal.get()),)
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.ABORTED:
                raise StreamConflict(request.stream_id) from None
            raise PlatformError(
                errors.STORE_UNAVAILABLE, f"L01: {error.code().name}: {error.details()}"
            ) from None

    async def follow(self, type_prefix: str, handle: Handler, caught_up: asyncio.Event) -> None:
        """Feeds every event of the type prefix to ``handle``, from the start of the log, then
        live; sets ``caught_up`` once the past is read. Reconnects after a failure, from the
        position after the last event handled."""
        position = 1
        while True:
            try:
                call = self._stub.SubscribeAll(
                    ev_pb.SubscribeAllRequest(from_position=position, type_prefix=type_prefix)
                )
                async for message in call:
                    if message.HasField("caught_up"):
                        caught_up.set()
                        continue
                    stored = _stored(message.event)
                    handle(stored)
                    position = stored.position + 1
            except grpc.aio.AioRpcError as error:
                log.warning("events.subscription_lost", prefix=type_prefix, error=error.code().name)
            await asyncio.sleep(0.5)


DecisionSink = Callable[[list[dict[str, Any]]], Awaitable[None]]
