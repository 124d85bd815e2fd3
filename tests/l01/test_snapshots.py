"""Snapshots: save the folded state at a version, load the latest, keep the newest few."""

import asyncio

import asyncpg
import grpc
import httpx
import pytest
from google.protobuf import json_format

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import snapshots_pb2 as spb
from agentic.data.v1 import snapshots_pb2_grpc
from services.kit import open_channel
from services.l01_data.snapshots.store import KEEP_PER_STREAM, MAX_STATE_BYTES
from tests.support import new_event, platform_code, rest_reason, stream_name, struct

pytestmark = [pytest.mark.integration, pytest.mark.l01]


@pytest.fixture(params=["direct", "envoy"])
def snapshots(request, l01_channel, gateway_channel) -> snapshots_pb2_grpc.SnapshotServiceStub:
    channel = l01_channel if request.param == "direct" else gateway_channel
    return snapshots_pb2_grpc.SnapshotServiceStub(channel)


async def _refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def _counter_stream(store, count: int) -> str:
    stream = stream_name("counter")
    await store.AppendEvents(
        pb.AppendEventsRequest(
            stream_id=stream, events=[new_event("counter.added", n=1) for _ in range(count)]
        )
    )
    return stream


async def test_rehydrating_from_the_latest_snapshot_folds_only_later_events(
    store, snapshots
) -> None:
    stream = await _counter_stream(store, 10)
    saved = await snapshots.SaveSnapshot(
        spb.SaveSnapshotRequest(
            stream_id=stream, version=7, state=struct({"total": 8}), schema="counter/v1"
        )
    )
    assert saved.snapshot.version == 7 and saved.snapshot.saved_by == "dev"

    latest = (await snapshots.GetSnapshot(spb.GetSnapshotRequest(stream_id=stream))).snapshot
    assert latest.schema == "counter/v1" and latest.save_time.seconds > 0
    rest = await store.ReadStream(
        pb.ReadStreamRequest(stream_id=stream, from_version=latest.version + 1)
    )
    total = latest.state["total"] + sum(e.data["n"] for e in rest.events)
    assert len(rest.events) == 2 and total == 10


async def test_only_the_newest_snapshots_are_kept(store, snapshots, mesh) -> None:
    stream = await _counter_stream(store, 6)
    for version in (0, 4, 2, 5, 1):
        await snapshots.SaveSnapshot(
            spb.SaveSnapshotRequest(stream_id=stream, version=version, state=struct({"v": version}))
        )
    latest = (await snapshots.GetSnapshot(spb.GetSnapshotRequest(stream_id=stream))).snapshot
    assert latest.version == 5 and latest.state["v"] == 5
    conn = await asyncpg.connect(mesh.database_url)
    try:
        kept = await conn.fetch(
            "SELECT version FROM snapshots WHERE stream_id = $1 ORDER BY version", stream
        )
    finally:
        await conn.close()
    assert [r["version"] for r in kept] == [2, 4, 5][-KEEP_PER_STREAM:]


async def test_saving_the_same_version_again_replaces_it(store, snapshots) -> None:
    stream = await _counter_stream(store, 2)
    for state in ({"a": 1}, {"b": 2}):
        await snapshots.SaveSnapshot(
            spb.SaveSnapshotRequest(stream_id=stream, version=1, state=struct(state))
        )
    latest = (await snapshots.GetSnapshot(spb.GetSnapshotRequest(stream_id=stream))).snapshot
    assert json_format.MessageToDict(latest.state) == {"b": 2}


async def test_concurrent_saves_keep_a_consistent_latest(store, snapshots) -> None:
    stream = await _counter_stream(store, 20)
    await asyncio.gather(
        *(
            snapshots.SaveSnapshot(
                spb.SaveSnapshotRequest(stream_id=stream, version=v, state=struct({"v": v}))
            )
            for v in range(20)
        )
    )
    latest = (await snapshots.GetSnapshot(spb.GetSnapshotRequest(stream_id=stream))).snapshot
    assert latest.version == 19 and latest.state["v"] == 19


async def test_a_version_beyond_the_stream_is_refused(store, snapshots) -> None:
    stream = await _counter_stream(store, 3)
    error = await _refused(
        snapshots.SaveSnapshot(
            spb.SaveSnapshotRequest(stream_id=stream, version=3, state=struct({}))
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert platform_code(error) == "E1304"


async def test_missing_streams_and_snapshots_are_not_found(store, snapshots) -> None:
    missing = stream_name("none")
    error = await _refused(
        snapshots.SaveSnapshot(spb.SaveSnapshotRequest(stream_id=missing, state=struct({})))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND and platform_code(error) == "E1300"
    stream = await _counter_stream(store, 1)
    error = await _refused(snapshots.GetSnapshot(spb.GetSnapshotRequest(stream_id=stream)))
    assert error.code() == grpc.StatusCode.NOT_FOUND and platform_code(error) == "E1303"


async def test_a_deleted_stream_has_no_snapshots(store, snapshots) -> None:
    stream = await _counter_stream(store, 1)
    await snapshots.SaveSnapshot(spb.SaveSnapshotRequest(stream_id=stream, state=struct({})))
    await store.DeleteStream(pb.DeleteStreamRequest(stream_id=stream))
    for call in (
        snapshots.GetSnapshot(spb.GetSnapshotRequest(stream_id=stream)),
        snapshots.SaveSnapshot(spb.SaveSnapshotRequest(stream_id=stream, state=struct({}))),
    ):
        error = await _refused(call)
        assert platform_code(error) == "E1301"


async def test_saving_is_audited_with_the_principal(store, snapshots) -> None:
    stream = await _counter_stream(store, 1)
    await snapshots.SaveSnapshot(
        spb.SaveSnapshotRequest(stream_id=stream, version=0, state=struct({"x": 1}))
    )
    since = (await store.ReadStream(pb.ReadStreamRequest(stream_id=stream))).events[0]
    page = await store.ReadAll(
        pb.ReadAllRequest(from_position=since.global_position, max_count=1000)
    )
    audits = [
        e for e in page.events if e.type == "$snapshot.saved" and e.data["stream_id"] == stream
    ]
    assert len(audits) == 1
    assert audits[0].stream_id == "$snapshots" and audits[0].metadata["$principal"] == "dev"
    assert audits[0].data["version"] == 0


async def test_a_state_over_the_limit_is_refused(store, snapshots) -> None:
    stream = await _counter_stream(store, 1)
    error = await _refused(
        snapshots.SaveSnapshot(
            spb.SaveSnapshotRequest(
                stream_id=stream, state=struct({"blob": "x" * (MAX_STATE_BYTES + 1)})
            )
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and platform_code(error) == "E1305"


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"stream_id": "", "state": {}}, "stream_id"),
        ({"stream_id": "a b", "state": {}}, "stream_id"),
        ({"stream_id": "s" * 5000, "state": {}}, "stream_id"),
        ({"stream_id": "ok", "version": -1, "state": {}}, "version"),
        ({"stream_id": "ok"}, "state"),
        ({"stream_id": "ok", "state": {}, "schema": "s" * 300}, "schema"),
    ],
)
async def test_bad_saves_are_refused_naming_the_field(snapshots, request_fields, field) -> None:
    fields = dict(request_fields)
    state = fields.pop("state", None)
    request = spb.SaveSnapshotRequest(**fields)
    if state is not None:
        request.state.CopyFrom(struct(state))
    error = await _refused(snapshots.SaveSnapshot(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(error) == "E1002" and field in error.details()


async def test_bad_stream_id_on_get_is_refused(snapshots) -> None:
    error = await _refused(snapshots.GetSnapshot(spb.GetSnapshotRequest(stream_id="")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "stream_id" in error.details()


async def test_snapshots_over_rest(rest: httpx.AsyncClient) -> None:
    stream = stream_name()
    events = [{"type": "rest.made", "data": {"i": i}} for i in range(3)]
    await rest.post(f"/v1/streams/{stream}:append", json={"events": events})
    saved = await rest.post(
        f"/v1/streams/{stream}/snapshots",
        json={"version": 2, "state": {"items": [0, 1, 2]}, "schema": "list/v1"},
    )
    assert saved.status_code == 200, saved.text
    latest = await rest.get(f"/v1/streams/{stream}/snapshots:latest")
    assert latest.status_code == 200
    body = latest.json()["snapshot"]
    assert body["state"] == {"items": [0, 1, 2]} and int(body["version"]) == 2
    none = await rest.get(f"/v1/streams/{stream_name('none')}/snapshots:latest")
    assert none.status_code == 404 and rest_reason(none.json()) == "E1303"
    wrong_type = await rest.post(f"/v1/streams/{stream}/snapshots", json={"state": "text"})
    assert wrong_type.status_code == 400


@pytest.mark.parametrize("token", [None, "wrong-token"])
@pytest.mark.parametrize("path", ["direct", "envoy"])
async def test_snapshot_rpcs_refuse_missing_or_wrong_tokens(mesh, token, path) -> None:
    target = mesh.l01_target if path == "direct" else mesh.gateway_target
    async with open_channel(target, token=token) as channel:
        stub = snapshots_pb2_grpc.SnapshotServiceStub(channel)
        for call in (
            stub.SaveSnapshot(spb.SaveSnapshotRequest(stream_id="s", state=struct({}))),
            stub.GetSnapshot(spb.GetSnapshotRequest(stream_id="s")),
        ):
            error = await _refused(call)
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert platform_code(error) == ("E1001" if path == "direct" else "E9401")
