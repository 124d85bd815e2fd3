"""EventStoreService servicer: maps RPCs to the event store, and back."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import grpc

from agentic.common.v1 import event_pb2
from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc as pb_grpc
from services.kit import current_principal
from services.l01_data.documents.store import content_json, parse_document_name
from services.l01_data.log import events as ev
from services.l01_data.log.append_plan import DocumentPut
from services.l01_data.log.append_stream import answer_appends, appended
from services.l01_data.log.event_store import FROM_END, EventStore
from services.l01_data.log.head import LogHead
from services.l01_data.log.streams import StreamCatalog, StreamInfo, validate_limits
from services.l01_data.log.subscriptions import CaughtUp, follow_log
from services.l01_data.proto_json import (
    struct_from_json,
    struct_to_python,
    struct_to_python_unchecked,
)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["EventStoreService"].full_name
MAX_DOCUMENTS_PER_APPEND = 16


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@functools.lru_cache(maxsize=4096)
def _metadata_bytes(text: str) -> bytes:
    """Metadata repeats (mostly just the principal): parse each distinct text once."""
    return struct_from_json(text).SerializeToString()


def fill_event(message: event_pb2.Event, event: ev.RecordedEvent) -> event_pb2.Event:
    """Writes ``event`` into ``message`` in place: a batch fills its repeated field
    directly (building events apart and copying them in costs a third more, and
    catch-up converts tens of thousands of events a second)."""
    message.id = str(event.id)
    message.stream_id = event.stream_id
    message.stream_version = event.stream_version
    message.global_position = event.global_position
    message.type = event.type
    if event.data_pb is None:
        message.data.update(json.loads(event.data_json))
    else:
        message.data.MergeFromString(event.data_pb)
    message.metadata.MergeFromString(_metadata_bytes(event.metadata_json))
    since_epoch = event.recorded_at - _EPOCH
    message.recorded_at.seconds = since_epoch.days * 86_400 + since_epoch.seconds
    message.recorded_at.nanos = since_epoch.microseconds * 1_000
    return message


def to_proto(event: ev.RecordedEvent) -> event_pb2.Event:
    return fill_event(event_pb2.Event(), event)


def _new_events(request: pb.AppendEventsRequest) -> list[ev.NewEvent]:
    ev.validate_batch_size(len(request.events))
    principal = current_principal.get()
    parsed = [
        ev.new_event(
            i,
            e.id,
            e.type,
            struct_to_python_unchecked(e.data) if e.HasField("data") else None,
            struct_to_python_unchecked(e.metadata) if e.HasField("metadata") else None,
            principal,
            e.data.SerializeToString(),
        )
        for i, e in enumerate(request.events)
    ]
    return list(ev.validate_unique_ids(parsed))


def _document_puts(writes: Sequence[pb.DocumentWrite]) -> list[DocumentPut]:
    """The documents an append puts, validated; each error names its ``documents[i]``."""
    if not 1 <= len(writes) <= MAX_DOCUMENTS_PER_APPEND:
        raise ev.invalid_field("documents", f"must hold 1 to {MAX_DOCUMENTS_PER_APPEND} documents")
    puts: list[DocumentPut] = []
    for index, write in enumerate(writes):
        where = f"documents[{index}]"
        collection, document_id = parse_document_name(write.name, f"{where}.name")
        if not write.HasField("content"):
            raise ev.invalid_field(f"{where}.content", "must be set (a JSON object)")
        content = struct_to_python(write.content, f"{where}.content")
        puts.append(DocumentPut(collection, document_id, content_json(content, f"{where}.content")))
    if len({(p.collection, p.document_id) for p in puts}) != len(puts):
        raise ev.invalid_field("documents", "each document may be named once")
    return puts


def _stream_proto(info: StreamInfo) -> pb.Stream:
    metadata = pb.StreamMetadata(max_count=info.max_count)
    if info.max_age is not None:
        metadata.max_age.FromTimedelta(info.max_age)
    return pb.Stream(
        stream_id=info.stream_id,
        last_version=info.last_version,
        metadata=metadata,
        deleted=info.deleted,
    )


def _max_age(metadata: pb.StreamMetadata) -> timedelta | None:
    if not metadata.HasField("max_age"):
        return None
    age = metadata.max_age
    if (age.seconds < 0 or age.nanos < 0) or abs(age.nanos) >= 1_000_000_000:
        raise ev.invalid_field("metadata.max_age", "must be a non-negative duration")
    return timedelta(seconds=age.seconds, microseconds=age.nanos // 1000)


_BACKWARDS = pb.READ_DIRECTION_BACKWARDS


class EventStoreServicer(pb_grpc.EventStoreServiceServicer):
    def __init__(self, store: EventStore, head: LogHead, streams: StreamCatalog) -> None:
        self._store = store
        self._head = head
        self._streams = streams

    def _submit(
        self, request: pb.AppendEventsRequest, documents: Sequence[DocumentPut] = ()
    ) -> asyncio.Future[ev.AppendResult]:
        """Validates an append and queues it for the next group commit."""
        stream_id = ev.validate_stream_id(request.stream_id)
        expected = ev.validate_expected_version(
            request.expected_version if request.HasField("expected_version") else None
        )
        return self._store.submit(stream_id, expected, _new_events(request), documents)

    async def AppendEvents(
        self, request: pb.AppendEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppendEventsResponse:
        return appended(await self._submit(request))

    async def AppendEventsWithDocuments(
        self, request: pb.AppendEventsWithDocumentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.AppendEventsWithDocumentsResponse:
        if not request.HasField("append"):
            raise ev.invalid_field("append", "must be set (the events to append)")
        documents = _document_puts(request.documents)
        result = await self._submit(request.append, documents)
        return pb.AppendEventsWithDocumentsResponse(appended=appended(result))

    async def AppendStream(
        self,
        request_iterator: AsyncIterator[pb.AppendStreamRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[pb.AppendStreamResponse]:
        async for response in answer_appends(request_iterator, self._submit):
            yield response

    async def ReadStream(
        self, request: pb.ReadStreamRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReadStreamResponse:
        stream_id = ev.validate_stream_id(request.stream_id)
        if request.direction not in pb.ReadDirection.values():
            raise ev.invalid_field("direction", "must be FORWARDS or BACKWARDS")
        backwards = request.direction == _BACKWARDS
        lowest = FROM_END if backwards else 0
        if request.from_version < lowest:
            raise ev.invalid_field(
                "from_version", "must be >= 0 (backwards: -1 reads from the last event)"
            )
        page = await self._store.read_stream(
            stream_id,
            request.from_version,
            ev.validate_count(request.max_count),
            backwards=backwards,
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

    async def GetStream(
        self, request: pb.GetStreamRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetStreamResponse:
        info = await self._streams.get(ev.validate_stream_id(request.stream_id))
        return pb.GetStreamResponse(stream=_stream_proto(info))

    async def UpdateStreamMetadata(
        self, request: pb.UpdateStreamMetadataRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateStreamMetadataResponse:
        stream_id = ev.validate_stream_id(request.stream_id)
        max_age = validate_limits(request.metadata.max_count, _max_age(request.metadata))
        info = await self._streams.update_metadata(
            stream_id, request.metadata.max_count, max_age, current_principal.get()
        )
        return pb.UpdateStreamMetadataResponse(stream=_stream_proto(info))

    async def DeleteStream(
        self, request: pb.DeleteStreamRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteStreamResponse:
        stream_id = ev.validate_stream_id(request.stream_id)
        expected = request.expected_version if request.HasField("expected_version") else None
        if expected is not None and expected < 0:
            raise ev.invalid_field("expected_version", "must be a version >= 0")
        info = await self._streams.delete(stream_id, expected, current_principal.get())
        return pb.DeleteStreamResponse(stream=_stream_proto(info))
