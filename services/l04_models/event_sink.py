"""Usage events to L01, through its generated gRPC client (layers never import each other)."""

from __future__ import annotations

from typing import Any

import grpc

from agentic.data.v1 import event_store_pb2 as data_pb
from agentic.data.v1 import event_store_pb2_grpc as data_grpc
from services.l04_models.usage import EVENT_TYPE, EventSink


def l01_event_sink(channel: grpc.aio.Channel) -> EventSink:
    store = data_grpc.EventStoreServiceStub(channel)

    async def append(stream_id: str, events: list[dict[str, Any]]) -> None:
        request = data_pb.AppendEventsRequest(stream_id=stream_id)
        for body in events:
            event = request.events.add(type=EVENT_TYPE)
            event.data.update(body)
        await store.AppendEvents(request)

    return append
