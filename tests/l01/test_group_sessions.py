"""Consumer groups across several L01 processes sharing one database: one consumer per
group whichever process it connects to, acks checked against what was delivered
through another process, and a dead process's claim freed when its lease runs out."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import grpc
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc, subscriptions_pb2_grpc
from agentic.data.v1 import subscriptions_pb2 as gpb
from services.kit import open_channel
from services.l01_data.groups.sessions import LEASE_SECONDS
from services.launcher.ports import free_port
from services.launcher.probes import grpc_serving
from tests.support import DEV_TOKEN, new_event, platform_code, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l01]


@contextmanager
def another_l01(mesh) -> Iterator[tuple[str, subprocess.Popen]]:
    """A second L01 process on the mesh's PostgreSQL and Redis."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": mesh.database_url,
        "REDIS_URL": mesh.redis_url,
        "L01_HOST": "127.0.0.1",
        "L01_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.l01_data"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while grpc_serving(port) is not None:
            assert process.poll() is None, "the second L01 process exited"
            assert time.monotonic() < deadline, "the second L01 process never became ready"
            time.sleep(0.2)
        yield f"127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=15)


@asynccontextmanager
async def stubs(target: str) -> AsyncIterator[subscriptions_pb2_grpc.ConsumerGroupServiceStub]:
    async with open_channel(target, token=DEV_TOKEN) as channel:
        yield subscriptions_pb2_grpc.ConsumerGroupServiceStub(channel)


async def _refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in call:
            pass
    return caught.value


async def _receive(call, count: int) -> list:
    events: list = []
    while len(events) < count:
        message = await asyncio.wait_for(call.read(), 20)
        if message.HasField("batch"):
            events.extend(message.batch.events)
    return events


async def test_one_consumer_per_group_and_acks_across_processes(mesh, l01_channel) -> None:
    store = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    event_type = f"{stream_name('shared')}.x"
    with another_l01(mesh) as (second, _):
        async with stubs(mesh.l01_target) as here, stubs(second) as there:
            group_id = stream_name("group")
            await here.CreateConsumerGroup(
                gpb.CreateConsumerGroupRequest(
                    group_id=group_id, type_prefix=event_type, start_position=-1
                )
            )
            written = await store.AppendEvents(
                pb.AppendEventsRequest(
                    stream_id=stream_name(), events=[new_event(event_type) for _ in range(3)]
                )
            )
            consumer = here.SubscribeConsumerGroup(
                gpb.SubscribeConsumerGroupRequest(group_id=group_id)
            )
            events = await _receive(consumer, 3)
            assert events[-1].global_position == written.last_position

            # The other process sees the session and refuses a second consumer.
            state = await there.GetConsumerGroup(gpb.GetConsumerGroupRequest(group_id=group_id))
            assert state.group.consumer_connected
            assert state.group.delivered_position == written.last_position
            error = await _refused(
                there.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
            )
            assert platform_code(error) == "E1404"

            # An ack through the other process is checked against what was delivered here.
            beyond = there.AckConsumerGroup(
                gpb.AckConsumerGroupRequest(group_id=group_id, position=written.last_position + 1)
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await beyond
            assert platform_code(caught.value) == "E1402"
            acked = await there.AckConsumerGroup(
                gpb.AckConsumerGroupRequest(group_id=group_id, position=written.last_position)
            )
            assert acked.group.checkpoint == written.last_position

            # Disconnecting frees the group at once for a consumer on the other process.
            consumer.cancel()
            for _ in range(100):
                state = await there.GetConsumerGroup(gpb.GetConsumerGroupRequest(group_id=group_id))
                if not state.group.consumer_connected:
                    break
                await asyncio.sleep(0.05)
            resumed = there.SubscribeConsumerGroup(
                gpb.SubscribeConsumerGroupRequest(group_id=group_id)
            )
            marker = await asyncio.wait_for(resumed.read(), 10)
            assert marker.caught_up.position >= written.last_position  # nothing redelivered

            # Deleting the group through the first process ends the stream on the second.
            await here.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id=group_id))
            error = await asyncio.wait_for(_refused(resumed), LEASE_SECONDS)
            assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_a_dead_processes_claim_is_freed_when_its_lease_runs_out(mesh) -> None:
    async with stubs(mesh.l01_target) as here:
        group_id = stream_name("group")
        await here.CreateConsumerGroup(
            gpb.CreateConsumerGroupRequest(group_id=group_id, start_position=-1)
        )
        with another_l01(mesh) as (second, process):
            async with stubs(second) as there:
                consumer = there.SubscribeConsumerGroup(
                    gpb.SubscribeConsumerGroupRequest(group_id=group_id)
                )
                await asyncio.wait_for(consumer.read(), 10)
                process.send_signal(signal.SIGKILL)  # no chance to release the claim
                process.wait(timeout=10)
                consumer.cancel()
        killed_at = time.monotonic()
        error = await _refused(
            here.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
        )
        assert platform_code(error) == "E1404"  # the claim outlives its process for a while
        while True:
            call = here.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
            try:
                message = await asyncio.wait_for(call.read(), 10)
                break
            except grpc.aio.AioRpcError as error:
                assert platform_code(error) == "E1404"
                assert time.monotonic() - killed_at < LEASE_SECONDS + 10
                await asyncio.sleep(0.5)
        assert message.HasField("caught_up")
        call.cancel()
        await here.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id=group_id))
