"""`agentic backup` and `agentic restore`: a restored platform has exactly what was backed up."""

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import grpc
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import (
    event_store_pb2_grpc,
    snapshots_pb2,
    snapshots_pb2_grpc,
    subscriptions_pb2_grpc,
)
from agentic.data.v1 import subscriptions_pb2 as gpb
from services.kit import open_channel
from tests.conftest import RunningMesh, own_mesh
from tests.support import DEV_TOKEN, new_event, stream_name, struct

pytestmark = [pytest.mark.integration, pytest.mark.l01, pytest.mark.slow]


@pytest.fixture(scope="module")
def backup_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    with own_mesh(tmp_path_factory.mktemp("backup-mesh")) as running:
        yield running


@pytest.fixture(scope="module")
async def channel(backup_mesh: RunningMesh) -> AsyncIterator[grpc.aio.Channel]:
    async with open_channel(backup_mesh.l01_target, token=DEV_TOKEN) as channel:
        yield channel


def _agentic(mesh: RunningMesh, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI, pointed at the test mesh through its settings' environment."""
    settings = mesh.settings
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    for name, port in settings.ports().items():
        env[f"AGENTIC_{name.upper()}"] = str(port)
    env["AGENTIC_HOME"] = str(settings.home)
    command = [str(Path(sys.executable).with_name("agentic")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


# Moved by L01 itself as it publishes, whenever it likes: not part of what is compared.
_MOVING = "outbox_checkpoint"


async def _table_digests(url: str) -> dict[str, str]:
    """An md5 of every table's rows in the public schema (but the outbox's checkpoint)."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        digests = {}
        for row in tables:
            name = row["tablename"]
            if name == _MOVING:
                continue
            digests[name] = await conn.fetchval(
                f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
                f' FROM public."{name}" t'
            )
        return digests
    finally:
        await conn.close()


async def _add_vectors(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS backup_probe (id int PRIMARY KEY, embedding vector(3))"
        )
        await conn.execute(
            "INSERT INTO backup_probe VALUES (1, '[1,2,3]'), (2, '[0.5,0,-1]')"
            " ON CONFLICT DO NOTHING"
        )
    finally:
        await conn.close()


async def _wait_serving(store) -> None:
    for _ in range(200):
        try:
            await store.ReadAll(pb.ReadAllRequest(max_count=1))
            return
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.1)
    raise AssertionError("L01 did not come back")


async def _quiet_digests(url: str) -> dict[str, str]:
    """The tables once nothing writes to them for a while: the other layers of the mesh
    write their own startup state (shipped roles, skills, tools, search indexes) to L01."""
    digests = await _table_digests(url)
    for _ in range(60):
        await asyncio.sleep(1.5)
        again = await _table_digests(url)
        if again == digests:
            return digests
        digests = again
    raise AssertionError("the database never went quiet")


async def test_backup_then_restore_brings_back_exactly_the_backed_up_state(
    backup_mesh: RunningMesh, channel, tmp_path: Path
) -> None:
    store = event_store_pb2_grpc.EventStoreServiceStub(channel)
    snapshots = snapshots_pb2_grpc.SnapshotServiceStub(channel)
    groups = subscriptions_pb2_grpc.ConsumerGroupServiceStub(channel)
    stream = stream_name("kept")
    kept = await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream, events=[new_event(i=i) for i in range(50)])
    )
    await snapshots.SaveSnapshot(
        snapshots_pb2.SaveSnapshotRequest(stream_id=stream, version=49, state=struct({"n": 50}))
    )
    group = stream_name("kept-group")
    await groups.CreateConsumerGroup(gpb.CreateConsumerGroupRequest(group_id=group))
    await _add_vectors(backup_mesh.database_url)
    before = await _quiet_digests(backup_mesh.database_url)

    file = tmp_path / "platform.backup"
    result = _agentic(backup_mesh, "backup", str(file))
    assert result.returncode == 0, result.stderr
    assert file.stat().st_size > 0

    # Changes after the backup: they must be gone after the restore.
    later = await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream_name("lost"), events=[new_event()])
    )
    await groups.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id=group))

    result = _agentic(backup_mesh, "restore", str(file))
    assert result.returncode == 0, result.stderr + result.stdout
    await _wait_serving(store)

    restored = await _table_digests(backup_mesh.database_url)
    # The restarted L01 may apply a migration newer than the backup: compare what was there.
    assert {name: restored.get(name) for name in before if name != "schema_migrations"} == {
        name: digest for name, digest in before.items() if name != "schema_migrations"
    }
    page = await store.ReadStream(pb.ReadStreamRequest(stream_id=stream, max_count=1000))
    assert [e.id for e in page.events] == list(kept.event_ids)
    restored_group = await groups.GetConsumerGroup(gpb.GetConsumerGroupRequest(group_id=group))
    assert restored_group.group.group_id == group
    # The restarted L01 continues the restored log with no gap.
    after = await store.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream_name("after"), events=[new_event()])
    )
    assert after.first_position == later.first_position


async def test_restoring_a_missing_or_corrupt_file_fails_and_changes_nothing(
    backup_mesh: RunningMesh, channel, tmp_path: Path
) -> None:
    store = event_store_pb2_grpc.EventStoreServiceStub(channel)
    await store.AppendEvents(pb.AppendEventsRequest(stream_id=stream_name(), events=[new_event()]))
    before = await _table_digests(backup_mesh.database_url)
    missing = _agentic(backup_mesh, "restore", str(tmp_path / "nope.backup"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    corrupt = tmp_path / "corrupt.backup"
    corrupt.write_bytes(b"PGDMP this is not a backup" * 100)
    result = _agentic(backup_mesh, "restore", str(corrupt))
    assert result.returncode == 1 and "failed" in result.stderr
    await _wait_serving(store)
    assert await _table_digests(backup_mesh.database_url) == before


async def test_a_consumer_group_resumes_at_its_checkpoint_after_l01_restarts(
    backup_mesh: RunningMesh, channel
) -> None:
    """The checkpoint is durable: a restarted L01 redelivers exactly what was not acked."""
    store = event_store_pb2_grpc.EventStoreServiceStub(channel)
    groups = subscriptions_pb2_grpc.ConsumerGroupServiceStub(channel)
    event_type = f"{stream_name('restart')}.x"
    group = stream_name("restart-group")
    await groups.CreateConsumerGroup(
        gpb.CreateConsumerGroupRequest(group_id=group, type_prefix=event_type, start_position=-1)
    )
    written = await store.AppendEvents(
        pb.AppendEventsRequest(
            stream_id=stream_name(), events=[new_event(event_type, n=n) for n in range(6)]
        )
    )
    call = groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group))
    received: list = []
    while len(received) < 6:
        message = await asyncio.wait_for(call.read(), 10)
        received += list(message.batch.events)
    await groups.AckConsumerGroup(
        gpb.AckConsumerGroupRequest(group_id=group, position=received[2].global_position)
    )
    call.cancel()

    await asyncio.to_thread(backup_mesh.mesh.restart_component, "l01_data")
    await _wait_serving(store)
    again = groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group))
    redelivered: list = []
    while len(redelivered) < 3:
        message = await asyncio.wait_for(again.read(), 10)
        redelivered += list(message.batch.events)
    again.cancel()
    assert [e.id for e in redelivered] == list(written.event_ids[3:])
