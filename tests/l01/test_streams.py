"""Stream management: version and metadata, limits on reads, soft deletion, backwards reads."""

import asyncio
import uuid

import grpc
import httpx
import pytest
from google.protobuf import duration_pb2, json_format

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from tests.support import new_event, platform_code, rest_reason, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l01]


async def _refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def _stream_with(store, count: int) -> str:
    stream = stream_name()
    await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream, events=[new_event(i=i) for i in range(count)])
    )
    return stream


async def _audit_events(store, event_type: str, stream_id: str, since: int = 1) -> list:
    """Audit events of ``event_type`` about ``stream_id`` from position ``since`` on."""
    found, position = [], since
    while True:
        page = await store.ReadAll(pb.ReadAllRequest(from_position=position, max_count=1000))
        found += [
            e
            for e in page.events
            if e.type == event_type and e.data.fields["stream_id"].string_value == stream_id
        ]
        position = page.next_position
        if page.end_of_log:
            return found


async def test_get_stream_reports_the_last_version_and_empty_metadata(store) -> None:
    stream = await _stream_with(store, 3)
    reply = await store.GetStream(pb.GetStreamRequest(stream_id=stream))
    assert reply.stream.stream_id == stream
    assert reply.stream.last_version == 2
    assert not reply.stream.deleted
    assert reply.stream.metadata.max_count == 0
    assert not reply.stream.metadata.HasField("max_age")


async def test_get_stream_of_a_missing_stream_is_not_found(store) -> None:
    error = await _refused(store.GetStream(pb.GetStreamRequest(stream_id=stream_name("none"))))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert platform_code(error) == "E1300"


async def test_read_stream_backwards_from_the_end_pages_down_to_version_zero(store) -> None:
    stream = await _stream_with(store, 5)
    seen, version = [], -1
    while True:
        page = await store.ReadStream(
            pb.ReadStreamRequest(
                stream_id=stream,
                from_version=version,
                max_count=2,
                direction=pb.READ_DIRECTION_BACKWARDS,
            )
        )
        seen += [e.stream_version for e in page.events]
        version = page.next_version
        assert page.last_version == 4
        if page.end_of_stream:
            break
    assert seen == [4, 3, 2, 1, 0]


async def test_read_stream_backwards_from_a_version(store) -> None:
    stream = await _stream_with(store, 5)
    page = await store.ReadStream(
        pb.ReadStreamRequest(
            stream_id=stream, from_version=2, direction=pb.READ_DIRECTION_BACKWARDS
        )
    )
    assert [e.stream_version for e in page.events] == [2, 1, 0]
    assert page.end_of_stream


async def test_forwards_is_the_default_direction(store) -> None:
    stream = await _stream_with(store, 3)
    explicit = await store.ReadStream(
        pb.ReadStreamRequest(stream_id=stream, direction=pb.READ_DIRECTION_FORWARDS)
    )
    default = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert [e.stream_version for e in explicit.events] == [0, 1, 2]
    assert list(default.events) == list(explicit.events)


async def test_max_count_hides_older_events_at_once_and_the_sweep_deletes_them(store) -> None:
    stream = await _stream_with(store, 5)
    reply = await store.UpdateStreamMetadata(
        pb.UpdateStreamMetadataRequest(stream_id=stream, metadata=pb.StreamMetadata(max_count=2))
    )
    assert reply.stream.metadata.max_count == 2
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert [e.data["i"] for e in page.events] == [3, 4]
    backwards = await store.ReadStream(
        pb.ReadStreamRequest(
            stream_id=stream, from_version=-1, direction=pb.READ_DIRECTION_BACKWARDS
        )
    )
    assert [e.data["i"] for e in backwards.events] == [4, 3]

    # The retention sweep (every second in the test mesh) then removes the hidden
    # events from the global log as well; the visible ones stay.
    first = page.events[0].global_position - 3
    for _ in range(100):
        everything = await store.ReadAll(pb.ReadAllRequest(from_position=first, max_count=5))
        in_log = [e.data["i"] for e in everything.events if e.stream_id == stream]
        if in_log == [3, 4]:
            break
        await asyncio.sleep(0.2)
    assert in_log == [3, 4]
    described = await store.GetStream(pb.GetStreamRequest(stream_id=stream))
    assert described.stream.last_version == 4
    await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[new_event(i=5)]))
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert [e.stream_version for e in page.events] == [4, 5]


async def test_max_age_hides_events_older_than_it(store) -> None:
    stream = await _stream_with(store, 2)
    await asyncio.sleep(1.2)
    await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[new_event(i=2)]))
    await store.UpdateStreamMetadata(
        pb.UpdateStreamMetadataRequest(
            stream_id=stream,
            metadata=pb.StreamMetadata(max_age=duration_pb2.Duration(seconds=1)),
        )
    )
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert [e.data["i"] for e in page.events] == [2]
    described = await store.GetStream(pb.GetStreamRequest(stream_id=stream))
    assert described.stream.metadata.max_age.seconds == 1
    # Replacing the metadata with none lifts the limits for what the sweep has not removed.
    await store.UpdateStreamMetadata(pb.UpdateStreamMetadataRequest(stream_id=stream))
    described = await store.GetStream(pb.GetStreamRequest(stream_id=stream))
    assert not described.stream.metadata.HasField("max_age")
    await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[new_event(i=3)]))
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    assert [e.data["i"] for e in page.events][-2:] == [2, 3]


async def test_deleted_stream_is_not_found_refuses_appends_and_stays_in_the_log(store) -> None:
    stream = await _stream_with(store, 2)
    first = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))
    deleted = await store.DeleteStream(pb.DeleteStreamRequest(stream_id=stream))
    assert deleted.stream.deleted and deleted.stream.last_version == 1

    error = await _refused(store.ReadStream(pb.ReadStreamRequest(stream_id=stream)))
    assert error.code() == grpc.StatusCode.NOT_FOUND and platform_code(error) == "E1301"
    error = await _refused(
        store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[new_event()]))
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert platform_code(error) == "E1302"
    error = await _refused(store.DeleteStream(pb.DeleteStreamRequest(stream_id=stream)))
    assert platform_code(error) == "E1301"
    described = await store.GetStream(pb.GetStreamRequest(stream_id=stream))
    assert described.stream.deleted

    log = await store.ReadAll(
        pb.ReadAllRequest(from_position=first.events[0].global_position, max_count=2)
    )
    assert [e.id for e in log.events] == [e.id for e in first.events]


async def test_a_retry_of_an_append_stored_before_the_deletion_still_replays(store) -> None:
    stream = stream_name()
    event = new_event(event_id=str(uuid.uuid4()))
    first = await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[event]))
    await store.DeleteStream(pb.DeleteStreamRequest(stream_id=stream))
    again = await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[event]))
    assert again.last_position == first.last_position


async def test_delete_with_a_stale_expected_version_conflicts(store) -> None:
    stream = await _stream_with(store, 2)
    error = await _refused(
        store.DeleteStream(pb.DeleteStreamRequest(stream_id=stream, expected_version=0))
    )
    assert error.code() == grpc.StatusCode.ABORTED and platform_code(error) == "E1005"
    await store.DeleteStream(pb.DeleteStreamRequest(stream_id=stream, expected_version=1))


async def test_appends_racing_a_delete_either_land_before_it_or_are_refused(store) -> None:
    stream = await _stream_with(store, 1)

    async def append() -> str:
        try:
            await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream, events=[new_event()]))
            return "ok"
        except grpc.aio.AioRpcError as error:
            return platform_code(error)

    calls = [append() for _ in range(20)]
    results = await asyncio.gather(
        *calls[:10], store.DeleteStream(pb.DeleteStreamRequest(stream_id=stream)), *calls[10:]
    )
    deleted = results[10]
    outcomes = results[:10] + results[11:]
    assert set(outcomes) <= {"ok", "E1302"}
    assert deleted.stream.last_version == outcomes.count("ok")  # version 0 plus every "ok"


async def test_management_calls_are_audited_with_the_principal(store) -> None:
    stream = await _stream_with(store, 1)
    since = (await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))).events[0]
    await store.UpdateStreamMetadata(
        pb.UpdateStreamMetadataRequest(stream_id=stream, metadata=pb.StreamMetadata(max_count=9))
    )
    await store.DeleteStream(pb.DeleteStreamRequest(stream_id=stream))
    for event_type in ("$stream.metadata_updated", "$stream.deleted"):
        (audit,) = await _audit_events(store, event_type, stream, since.global_position)
        assert audit.stream_id == "$streams"
        assert json_format.MessageToDict(audit.metadata) == {"$principal": "dev"}


async def test_refused_management_calls_write_no_audit_event(store) -> None:
    missing = stream_name("missing")
    head = await _stream_with(store, 1)  # a known position right before the refused call
    since = (await store.ReadStream(pb.ReadStreamRequest(stream_id=head))).events[0]
    await _refused(store.DeleteStream(pb.DeleteStreamRequest(stream_id=missing)))
    assert await _audit_events(store, "$stream.deleted", missing, since.global_position) == []


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        (pb.StreamMetadata(max_count=-1), "metadata.max_count"),
        (pb.StreamMetadata(max_age=duration_pb2.Duration(seconds=-5)), "metadata.max_age"),
        (pb.StreamMetadata(max_age=duration_pb2.Duration(seconds=10**12)), "metadata.max_age"),
    ],
)
async def test_bad_metadata_is_refused_naming_the_field(store, metadata, field) -> None:
    stream = await _stream_with(store, 1)
    error = await _refused(
        store.UpdateStreamMetadata(
            pb.UpdateStreamMetadataRequest(stream_id=stream, metadata=metadata)
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(error) == "E1002" and field in error.details()


@pytest.mark.parametrize("stream_id", ["", "s" * 10_000, "a b", "$streams"])
async def test_bad_stream_ids_are_refused_on_every_management_rpc(store, stream_id) -> None:
    for call in (
        store.GetStream(pb.GetStreamRequest(stream_id=stream_id)),
        store.UpdateStreamMetadata(pb.UpdateStreamMetadataRequest(stream_id=stream_id)),
        store.DeleteStream(pb.DeleteStreamRequest(stream_id=stream_id)),
    ):
        error = await _refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert platform_code(error) == "E1002" and "stream_id" in error.details()


async def test_bad_direction_and_from_version_are_refused(store) -> None:
    stream = await _stream_with(store, 1)
    for request, field in (
        (pb.ReadStreamRequest(stream_id=stream, direction=7), "direction"),
        (pb.ReadStreamRequest(stream_id=stream, from_version=-1), "from_version"),
        (
            pb.ReadStreamRequest(
                stream_id=stream, from_version=-2, direction=pb.READ_DIRECTION_BACKWARDS
            ),
            "from_version",
        ),
    ):
        error = await _refused(store.ReadStream(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and field in error.details()


async def test_delete_with_a_negative_expected_version_is_refused(store) -> None:
    error = await _refused(
        store.DeleteStream(pb.DeleteStreamRequest(stream_id=stream_name(), expected_version=-1))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "expected_version" in error.details()


async def test_stream_management_over_rest(rest: httpx.AsyncClient) -> None:
    stream = stream_name()
    events = [{"type": "rest.made", "data": {"i": i}} for i in range(4)]
    appended = await rest.post(f"/v1/streams/{stream}:append", json={"events": events})
    assert appended.status_code == 200, appended.text

    described = await rest.get(f"/v1/streams/{stream}")
    assert described.status_code == 200
    assert int(described.json()["stream"]["last_version"]) == 3

    updated = await rest.patch(
        f"/v1/streams/{stream}/metadata", json={"max_count": 3, "max_age": "3600s"}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["stream"]["metadata"] == {"max_count": "3", "max_age": "3600s"}

    backwards = await rest.get(
        f"/v1/streams/{stream}/events",
        params={"direction": "READ_DIRECTION_BACKWARDS", "from_version": -1, "max_count": 2},
    )
    assert [e["data"]["i"] for e in backwards.json()["events"]] == [3, 2]

    deleted = await rest.delete(f"/v1/streams/{stream}")
    assert deleted.status_code == 200 and deleted.json()["stream"]["deleted"] is True
    gone = await rest.get(f"/v1/streams/{stream}/events")
    assert gone.status_code == 404 and rest_reason(gone.json()) == "E1301"
    refused = await rest.post(f"/v1/streams/{stream}:append", json={"events": events})
    assert refused.status_code == 400 and rest_reason(refused.json()) == "E1302"
    missing = await rest.get(f"/v1/streams/{stream_name('none')}")
    assert missing.status_code == 404 and rest_reason(missing.json()) == "E1300"
    bad = await rest.patch(f"/v1/streams/{stream}/metadata", json={"max_count": "many"})
    assert bad.status_code == 400


@pytest.mark.parametrize("token", [None, "wrong-token"])
@pytest.mark.parametrize("path", ["direct", "envoy"])
async def test_management_rpcs_refuse_missing_or_wrong_tokens(mesh, token, path) -> None:
    target = mesh.l01_target if path == "direct" else mesh.gateway_target
    async with open_channel(target, token=token) as channel:
        stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
        for call in (
            stub.GetStream(pb.GetStreamRequest(stream_id="s")),
            stub.UpdateStreamMetadata(pb.UpdateStreamMetadataRequest(stream_id="s")),
            stub.DeleteStream(pb.DeleteStreamRequest(stream_id="s")),
            stub.ReadStream(
                pb.ReadStreamRequest(stream_id="s", direction=pb.READ_DIRECTION_BACKWARDS)
            ),
        ):
            error = await _refused(call)
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            # L01 itself answers E1001; through Envoy the gateway refuses first (E9401).
            assert platform_code(error) == ("E1001" if path == "direct" else "E9401")
