"""Appending and reading events, straight to L01 and through Envoy."""

import asyncio
import uuid

import grpc
import pytest
from google.protobuf import json_format

from agentic.data.v1 import event_store_pb2 as pb
from tests.support import error_metadata, new_event, platform_code, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l01]


async def test_append_then_read_stream_returns_events_in_order(store) -> None:
    stream = stream_name()
    payload = {"n": 1.5, "ok": True, "none": None, "list": [1, "two"], "nested": {"é": "ü"}}
    reply = await store.AppendEvents(
        pb.AppendEventsRequest(
            stream_id=stream,
            events=[new_event("order.placed", **payload), new_event("order.paid", amount=3)],
        )
    )
    assert (reply.first_version, reply.last_version) == (0, 1)
    assert reply.last_position == reply.first_position + 1
    assert len(reply.event_ids) == 2

    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert [e.type for e in page.events] == ["order.placed", "order.paid"]
    assert [e.stream_version for e in page.events] == [0, 1]
    assert [e.global_position for e in page.events] == [reply.first_position, reply.last_position]
    assert [e.id for e in page.events] == list(reply.event_ids)
    assert json_format.MessageToDict(page.events[0].data) == payload
    assert page.events[0].recorded_at.seconds > 0
    assert page.last_version == 1 and page.end_of_stream and page.next_version == 2


async def test_read_stream_pages_with_next_version(store) -> None:
    stream = stream_name()
    await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream, events=[new_event(i=i) for i in range(5)])
    )
    seen, version = [], 0
    while True:
        page = await store.ReadStream(
            pb.ReadStreamRequest(stream_id=stream, from_version=version, max_count=2)
        )
        seen += [e.data["i"] for e in page.events]
        version = page.next_version
        if page.end_of_stream:
            break
    assert seen == [0, 1, 2, 3, 4]
    assert version == 5


async def test_reading_a_missing_stream_is_empty_with_version_minus_one(store) -> None:
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream_name("missing")))
    assert list(page.events) == []
    assert page.last_version == -1 and page.end_of_stream


async def test_read_all_returns_consecutive_positions_and_filters_by_type(store) -> None:
    stream = stream_name()
    kind = f"t{uuid.uuid4().hex[:12]}"
    reply = await store.AppendEvents(
        pb.AppendEventsRequest(
            stream_id=stream,
            events=[new_event(f"{kind}.a"), new_event("other.b"), new_event(f"{kind}.c")],
        )
    )
    page = await store.ReadAll(pb.ReadAllRequest(from_position=reply.first_position, max_count=3))
    assert [e.global_position for e in page.events] == list(
        range(reply.first_position, reply.first_position + 3)
    )
    assert page.next_position == reply.first_position + 3

    filtered = await store.ReadAll(pb.ReadAllRequest(from_position=1, type_prefix=f"{kind}."))
    collected = list(filtered.events)
    while not filtered.end_of_log:
        filtered = await store.ReadAll(
            pb.ReadAllRequest(from_position=filtered.next_position, type_prefix=f"{kind}.")
        )
        collected += filtered.events
    assert [e.type for e in collected] == [f"{kind}.a", f"{kind}.c"]


async def test_expected_version_minus_one_means_the_stream_must_not_exist(store) -> None:
    stream = stream_name()
    request = pb.AppendEventsRequest(stream_id=stream, expected_version=-1, events=[new_event()])
    await store.AppendEvents(request)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await store.AppendEvents(
            pb.AppendEventsRequest(stream_id=stream, expected_version=-1, events=[new_event()])
        )
    assert caught.value.code() == grpc.StatusCode.ABORTED
    assert platform_code(caught.value) == "E1005"
    assert error_metadata(caught.value)["actual_version"] == "0"


async def test_stale_expected_version_conflicts_and_writes_nothing(store) -> None:
    stream = stream_name()
    await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream, events=[new_event(), new_event()])
    )
    ok = await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream, expected_version=1, events=[new_event()])
    )
    assert ok.first_version == 2
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await store.AppendEvents(
            pb.AppendEventsRequest(stream_id=stream, expected_version=1, events=[new_event()])
        )
    assert caught.value.code() == grpc.StatusCode.ABORTED
    assert "is at version 2, expected version 1" in caught.value.details()
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert page.last_version == 2 and len(page.events) == 3


async def test_retry_with_the_same_event_ids_does_not_duplicate(store) -> None:
    stream = stream_name()
    ids = [str(uuid.uuid4()) for _ in range(3)]
    request = pb.AppendEventsRequest(
        stream_id=stream, expected_version=-1, events=[new_event(event_id=i) for i in ids]
    )
    first = await store.AppendEvents(request)
    retried = await store.AppendEvents(request)
    assert retried == first
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert [e.id for e in page.events] == ids


async def test_reusing_an_event_id_in_another_append_is_refused(store) -> None:
    event_id = str(uuid.uuid4())
    await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream_name(), events=[new_event(event_id=event_id)])
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await store.AppendEvents(
            pb.AppendEventsRequest(stream_id=stream_name(), events=[new_event(event_id=event_id)])
        )
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert platform_code(caught.value) == "E1006"


async def test_concurrent_appends_with_one_expected_version_let_exactly_one_win(store) -> None:
    stream = stream_name()
    await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[new_event()]))

    async def attempt() -> bool:
        try:
            await store.AppendEvents(
                pb.AppendEventsRequest(stream_id=stream, expected_version=0, events=[new_event()])
            )
            return True
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.ABORTED
            return False

    outcomes = await asyncio.gather(*(attempt() for _ in range(8)))
    assert outcomes.count(True) == 1
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert page.last_version == 1


async def test_a_batch_append_is_atomic(store) -> None:
    stream = stream_name()
    bad_batch = [new_event(), pb.NewEvent(type="not valid!")]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=bad_batch))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert list(page.events) == []


async def test_the_appending_principal_is_recorded_and_cannot_be_forged(store) -> None:
    stream = stream_name()
    event = new_event()
    event.metadata.update({"$principal": "someone-else", "trace": "t-1"})
    await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[event]))
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    metadata = json_format.MessageToDict(page.events[0].metadata)
    assert metadata == {"$principal": "dev", "trace": "t-1"}
