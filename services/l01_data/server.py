"""EventStoreService servicer: maps RPCs to the event store, and back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import grpc
from google.protobuf import json_format, struct_pb2

from agentic.common.v1 import event_pb2
from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc as pb_grpc
from services.kit import current_principal
from services.l01_data import events as ev
from services.l01_data.event_store import EventStore
from services.l01_data.log_head import LogHead
from services.l01_data.subscriptions import CaughtUp, follow_log

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["EventStoreService"].full_name


def _struct(text: str) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(json.loads(text))
    return message


def to_proto(event: ev.RecordedEvent) -> event_pb2.Event:
    message = event_pb2.Event(
        id=str(event.id),
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        global_position=event.global_position,
        type=event.type,
        data=_struct(event.data_json),
        metadata=_struct(event.metadata_json),
    )
    message.recorded_at.FromDatetime(event.recorded_at)
    return message


def _new_events(request: pb.AppendEventsRequest) -> list[ev.NewEvent]:
    ev.validate_batch_size(len(request.events))
    principal = current_principal.get()
    parsed = [
        ev.new_event(
            i,
            e.id,
            e.type,
            json_format.MessageToDict(e.data) if e.HasField("data") else None,
            json_format.MessageToDict(e.metadata) if e.HasField("metadata") else None,
            principal,
        )
        for i, e in enumerate(request.events)
    ]
    return list(ev.validate_unique_ids(parsed))


class EventStoreServicer(pb_grpc.EventStoreServiceServicer):
    def __init__(self, store: EventStore, head: LogHead) -> None:
        self._store = store
        self._head = head

    async def AppendEvents(
        self, request: pb.AppendEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppendEventsResponse:
        stream_id = ev.validate_stream_id(request.stream_id)
        expected = ev.validate_expected_version(
            request.expected_version if request.HasField("expected_version") else None
        )
        result = await self._store.append(stream_id, expected, _new_events(request))
        return pb.AppendEventsResponse(
            stream_id=result.stream_id,
            first_version=result.first_version,
            last_version=result.last_version,
            first_position=result.first_position,
            last_position=result.last_position,
            event_ids=[str(i) for i in result.event_ids],
        )

    async def ReadStream(
        self, request: pb.ReadStreamRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReadStreamResponse:
        stream_id = ev.validate_stream_id(request.stream_id)
        if request.from_version < 0:
            raise ev.invalid_field("from_version", "must be >= 0")
        page = await self._store.read_stream(
            stream_id, request.from_version, ev.validate_count(request.max_count)
        )
        return pb.ReadStreamResponse(
            events=[to_proto(e) for e in page.events],
            next_version=page.next_version,
            last_version=page.last_version,
            end_of_stream=page.end_of_stream,
        )

    async def ReadAll(
        self, request: pb.ReadAllRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReadAllResponse:
        if request.from_position < 0:
            raise ev.invalid_field("from_position", "must be >= 0")
        page = await self._store.read_all(
            request.from_position,
            ev.validate_count(request.max_count),
            ev.validate_type_prefix(request.type_prefix),
        )
        return pb.ReadAllResponse(
            events=[to_proto(e) for e in page.events],
            next_position=page.next_position,
            end_of_log=page.end_of_log,
        )

    async def SubscribeAll(
        self, request: pb.SubscribeAllRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SubscribeAllResponse]:
        if request.from_position < 0:
            raise ev.invalid_field("from_position", "must be >= 0")
        prefix = ev.validate_type_prefix(request.type_prefix)
        async for item in follow_log(self._store, self._head, request.from_position, prefix):
            if isinstance(item, CaughtUp):
                yield pb.SubscribeAllResponse(caught_up=pb.CaughtUp(position=item.position))
            else:
                yield pb.SubscribeAllResponse(event=to_proto(item))
