"""AppendStream: many appends over one gRPC stream, straight to L01 and through Envoy."""

import asyncio
import uuid

import grpc
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from services.kit.errors import error_info
from tests.support import new_event, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l01]


def _request(
    correlation_id: str, stream: str, *events: pb.NewEvent, **fields
) -> pb.AppendStreamRequest:
    append = pb.AppendEventsRequest(stream_id=stream, events=list(events), **fields)
    return pb.AppendStreamRequest(correlation_id=correlation_id, append=append)


async def _exchange(store, requests: list[pb.AppendStreamRequest]) -> list[pb.AppendStreamResponse]:
    """Sends every request at once (all in flight), then reads every answer."""
    call = store.AppendStream()
    for request in requests:
        await call.write(request)
    await call.done_writing()
    return [response async for response in call]


async def test_answers_every_append_in_order_with_consecutive_versions(store) -> None:
    stream = stream_name()
    requests = [_request(f"c{i}", stream, new_event(i=i)) for i in range(50)]
    responses = await _exchange(store, requests)

    assert [r.correlation_id for r in responses] == [f"c{i}" for i in range(50)]
    assert all(r.HasField("appended") for r in responses)
    assert [r.appended.first_version for r in responses] == list(range(50))
    positions = [r.appended.first_position for r in responses]
    assert positions == sorted(positions) and len(set(positions)) == 50

    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream, max_count=100))
    assert [e.data["i"] for e in page.events] == list(range(50))
    assert [e.id for e in page.events] == [r.appended.event_ids[0] for r in responses]


async def test_a_refused_append_answers_its_error_and_the_stream_goes_on(store) -> None:
    stream = stream_name()
    responses = await _exchange(
        store,
        [
            _request("first", stream, new_event(), expected_version=-1),
            _request("conflict", stream, new_event(), expected_version=-1),
            _request("bad-type", stream, new_event("9 not a type")),
            _request("bad-stream", "", new_event()),
            pb.AppendStreamRequest(correlation_id="no-append"),
            _request("after", stream, new_event(), expected_version=0),
        ],
    )
    by_id = {r.correlation_id: r for r in responses}
    assert list(by_id) == ["first", "conflict", "bad-type", "bad-stream", "no-append", "after"]
    assert by_id["first"].appended.last_version == 0
    assert by_id["after"].appended.last_version == 1

    expected = {
        "conflict": (grpc.StatusCode.ABORTED, "E1005"),
        "bad-type": (grpc.StatusCode.INVALID_ARGUMENT, "E1002"),
        "bad-stream": (grpc.StatusCode.INVALID_ARGUMENT, "E1002"),
        "no-append": (grpc.StatusCode.INVALID_ARGUMENT, "E1002"),
    }
    for correlation_id, (code, reason) in expected.items():
        error = by_id[correlation_id].error
        assert error.code == code.value[0], correlation_id
        info = error_info(error)
        assert info is not None and info.reason == reason, correlation_id
        assert error.message
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert len(page.events) == 2  # nothing from the refused appends


async def test_a_retried_append_replays_its_first_result(store) -> None:
    stream = stream_name()
    event_id = str(uuid.uuid4())
    first, retry = await _exchange(
        store,
        [
            _request("a", stream, new_event(event_id=event_id)),
            _request("a-again", stream, new_event(event_id=event_id)),
        ],
    )
    assert retry.appended == first.appended
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert len(page.events) == 1


async def test_streams_and_unary_calls_interleave_without_lost_or_repeated_versions(store) -> None:
    stream = stream_name()

    async def streamed(tag: str) -> list[pb.AppendStreamResponse]:
        return await _exchange(
            store, [_request(f"{tag}{i}", stream, new_event()) for i in range(20)]
        )

    async def unary() -> list[pb.AppendEventsResponse]:
        return [
            await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[new_event()]))
            for _ in range(10)
        ]

    a, b, c = await asyncio.gather(streamed("a"), streamed("b"), unary())
    versions = [r.appended.first_version for r in a + b] + [r.first_version for r in c]
    assert sorted(versions) == list(range(50))


async def test_the_principal_is_recorded_on_streamed_appends(store) -> None:
    stream = stream_name()
    (response,) = await _exchange(store, [_request("p", stream, new_event())])
    assert response.HasField("appended")
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert page.events[0].metadata["$principal"]


async def test_a_client_that_cancels_mid_stream_loses_no_committed_append(store) -> None:
    stream = stream_name()
    call = store.AppendStream()
    await call.write(_request("kept", stream, new_event()))
    response = await call.read()
    assert response.HasField("appended")
    call.cancel()
    await asyncio.sleep(0.2)
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert len(page.events) == 1
