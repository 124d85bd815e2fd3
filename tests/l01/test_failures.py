"""Outages of Redis, PostgreSQL and L01 itself, on a mesh of their own."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import grpc
import httpx
import pytest
import redis.asyncio as redis

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from tests.conftest import RunningMesh, own_mesh
from tests.support import DEV_TOKEN, new_event, platform_code, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l01, pytest.mark.slow]


@pytest.fixture(scope="module")
def outage_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    with own_mesh(tmp_path_factory.mktemp("outage-mesh")) as running:
        yield running


@pytest.fixture(scope="module")
async def store(
    outage_mesh: RunningMesh,
) -> AsyncIterator[event_store_pb2_grpc.EventStoreServiceStub]:
    async with open_channel(outage_mesh.l01_target, token=DEV_TOKEN) as channel:
        yield event_store_pb2_grpc.EventStoreServiceStub(channel)


async def _stream_entries(url: str, first: int, last: int) -> list[dict]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        entries = await client.xrange("events", min=f"{first}-1", max=f"{last}-1")
    finally:
        await client.aclose()
    return [json.loads(fields["event"]) for _, fields in entries]


async def _health(mesh: RunningMesh) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"{mesh.gateway_url}/health")


async def _eventually(check, seconds: float = 20):
    for _ in range(int(seconds * 10)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {seconds}s")


async def test_redis_outage_loses_nothing_and_publishes_each_event_once(
    outage_mesh: RunningMesh, store
) -> None:
    warmup = await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream_name(), events=[new_event()])
    )

    async def warm() -> bool:
        entries = await _stream_entries(
            outage_mesh.redis_url, warmup.first_position, warmup.last_position
        )
        return len(entries) == 1

    await _eventually(warm)

    outage_mesh.mesh.stop_component("redis")
    written: list[str] = []
    first_position = 0
    outage_stream = stream_name("outage")
    for n in range(20):
        reply = await store.AppendEvents(
            pb.AppendEventsRequest(
                stream_id=outage_stream,
                events=[new_event("outage.event", n=n) for _ in range(5)],
            )
        )
        first_position = first_position or reply.first_position
        written += reply.event_ids
        last_position = reply.last_position
    outage_mesh.mesh.start_component("redis")

    async def delivered() -> list[dict] | None:
        try:
            entries = await _stream_entries(outage_mesh.redis_url, first_position, last_position)
        except redis.ConnectionError:
            return None
        ours = [e for e in entries if e["stream_id"] == outage_stream]
        return entries if len(ours) >= len(written) else None

    entries = await _eventually(delivered)
    await asyncio.sleep(1.5)  # a duplicate publish would land within this window
    entries = await _stream_entries(outage_mesh.redis_url, first_position, last_position)
    # Other layers of the mesh append too, so their events can sit between ours.
    assert [e["id"] for e in entries if e["stream_id"] == outage_stream] == written
    assert [e["global_position"] for e in entries] == list(range(first_position, last_position + 1))


async def test_postgres_outage_is_unavailable_with_a_code_and_heals_without_restart(
    outage_mesh: RunningMesh, store
) -> None:
    l01_pid = {c.name: c.pid for c in outage_mesh.mesh.status()}["l01_data"]
    outage_mesh.mesh.stop_component("postgres")
    try:
        for call in (
            store.AppendEvents(
                pb.AppendEventsRequest(stream_id=stream_name(), events=[new_event()])
            ),
            store.ReadAll(pb.ReadAllRequest()),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert platform_code(caught.value) == "E1007"

        async def health_down() -> bool:
            return (await _health(outage_mesh)).status_code == 503

        await _eventually(health_down)
        body = (await _health(outage_mesh)).json()
        assert body["layers"]["l01_data"]["status"] == "NOT_SERVING"
    finally:
        outage_mesh.mesh.start_component("postgres")

    async def append_works() -> bool:
        try:
            await store.AppendEvents(
                pb.AppendEventsRequest(stream_id=stream_name(), events=[new_event()])
            )
            return True
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            return False

    await _eventually(append_works, seconds=30)

    async def health_up() -> bool:
        return (await _health(outage_mesh)).status_code == 200

    await _eventually(health_up)
    assert {c.name: c.pid for c in outage_mesh.mesh.status()}["l01_data"] == l01_pid


async def test_a_stopped_layer_shows_in_health_and_recovers(outage_mesh: RunningMesh) -> None:
    outage_mesh.mesh.stop_component("l01_data")
    try:
        response = await _health(outage_mesh)
        assert response.status_code == 503
        assert response.json()["layers"]["l01_data"]["status"] == "UNREACHABLE"
    finally:
        outage_mesh.mesh.start_component("l01_data")
    assert (await _health(outage_mesh)).status_code == 200
