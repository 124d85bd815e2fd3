"""Bad input gets INVALID_ARGUMENT naming the field, an E-code, and stores nothing."""

import grpc
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from services.l01_data.log.events import MAX_EVENT_BYTES, MAX_EVENTS_PER_APPEND
from tests.support import new_event, platform_code, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l01]


async def _refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


@pytest.mark.parametrize(
    ("stream_id", "fragment"),
    [("", "must not be empty"), ("s" * 10_240, "the limit is 256"), ("a b", "only letters")],
)
async def test_bad_stream_ids_are_refused_on_every_rpc(
    store, stream_id: str, fragment: str
) -> None:
    for call in (
        store.AppendEvents(pb.AppendEventsRequest(stream_id=stream_id, events=[new_event()])),
        store.ReadStream(pb.ReadStreamRequest(stream_id=stream_id)),
    ):
        error = await _refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert platform_code(error) == "E1002"
        assert "stream_id" in error.details() and fragment in error.details()


async def test_append_without_events_is_refused(store) -> None:
    error = await _refused(store.AppendEvents(pb.AppendEventsRequest(stream_id=stream_name())))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "events: must hold at least one event" in error.details()


async def test_an_event_of_about_one_megabyte_round_trips(store) -> None:
    stream = stream_name()
    blob = "x" * (1_000_000)
    await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream, events=[new_event(blob=blob)])
    )
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert page.events[0].data["blob"] == blob


async def test_an_event_over_the_limit_is_refused_and_not_stored(store) -> None:
    stream = stream_name()
    error = await _refused(
        store.AppendEvents(
            pb.AppendEventsRequest(
                stream_id=stream, events=[new_event(blob="y" * (MAX_EVENT_BYTES + 1))]
            )
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(error) == "E1003"
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert page.last_version == -1


async def test_ten_thousand_events_in_one_append_are_refused(store) -> None:
    stream = stream_name()
    error = await _refused(
        store.AppendEvents(
            pb.AppendEventsRequest(stream_id=stream, events=[new_event() for _ in range(10_000)])
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(error) == "E1004"
    assert f"the limit is {MAX_EVENTS_PER_APPEND}" in error.details()


async def test_the_largest_allowed_batch_is_stored_atomically(store) -> None:
    stream = stream_name()
    reply = await store.AppendEvents(
        pb.AppendEventsRequest(
            stream_id=stream, events=[new_event(i=i) for i in range(MAX_EVENTS_PER_APPEND)]
        )
    )
    assert reply.last_version == MAX_EVENTS_PER_APPEND - 1
    assert reply.last_position - reply.first_position == MAX_EVENTS_PER_APPEND - 1


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (pb.NewEvent(type=""), "events[0].type"),
        (pb.NewEvent(type="9lives"), "events[0].type"),
        (pb.NewEvent(type="ok", id="not-a-uuid"), "events[0].id"),
    ],
)
async def test_bad_events_name_the_field(store, event: pb.NewEvent, field: str) -> None:
    error = await _refused(
        store.AppendEvents(pb.AppendEventsRequest(stream_id=stream_name(), events=[event]))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"E1002: {field}:")


async def test_expected_version_below_minus_one_is_refused(store) -> None:
    error = await _refused(
        store.AppendEvents(
            pb.AppendEventsRequest(
                stream_id=stream_name(), expected_version=-7, events=[new_event()]
            )
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "expected_version" in error.details()


@pytest.mark.parametrize("count", [-1, 1001])
async def test_read_counts_out_of_range_are_refused(store, count: int) -> None:
    for call in (
        store.ReadStream(pb.ReadStreamRequest(stream_id=stream_name(), max_count=count)),
        store.ReadAll(pb.ReadAllRequest(max_count=count)),
    ):
        error = await _refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "max_count" in error.details()


async def test_negative_positions_are_refused(store) -> None:
    for call in (
        store.ReadStream(pb.ReadStreamRequest(stream_id=stream_name(), from_version=-1)),
        store.ReadAll(pb.ReadAllRequest(from_position=-1)),
    ):
        error = await _refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
