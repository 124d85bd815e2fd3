"""SubscribeAll: catch-up from a position, then live, in order, no gaps, no duplicates."""

import asyncio
import random

import grpc
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from tests.support import new_event, platform_code, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l01]


async def _write(store, writer: int, appends: int) -> set[str]:
    ids: set[str] = set()
    rng = random.Random(writer)
    for n in range(appends):
        batch = [new_event("sub.test", writer=writer, n=n) for _ in range(rng.randint(1, 5))]
        reply = await store.AppendEvents(
            pb.AppendEventsRequest(stream_id=stream_name(f"w{writer}"), events=batch)
        )
        ids.update(reply.event_ids)
    return ids


async def test_catch_up_then_live_with_concurrent_writers_has_no_gaps(
    l01_channel: grpc.aio.Channel, gateway_channel: grpc.aio.Channel
) -> None:
    direct = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    via_envoy = event_store_pb2_grpc.EventStoreServiceStub(gateway_channel)
    # Some history to catch up on before the subscription starts. The feed starts at
    # the first event of that history: below it, the retention sweep may have removed
    # events of other tests' streams with limits (positions are gapless until then).
    start = await direct.AppendEvents(
        pb.AppendEventsRequest(stream_id=stream_name("start"), events=[new_event("sub.test")])
    )
    history = await _write(direct, 99, 10) | set(start.event_ids)
    first = start.first_position

    call = direct.SubscribeAll(pb.SubscribeAllRequest(from_position=first), timeout=60)
    positions: list[int] = []
    seen_ids: set[str] = set()
    caught_up_at: list[int] = []
    writers_started = asyncio.Event()
    expected: set[str] = set(history)

    async def consume() -> None:
        async for message in call:
            if message.HasField("caught_up"):
                caught_up_at.append(len(positions))
                assert message.caught_up.position == (positions[-1] if positions else 0)
                writers_started.set()
                continue
            positions.append(message.event.global_position)
            seen_ids.add(message.event.id)

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(writers_started.wait(), 30)
    written = await asyncio.gather(
        *(_write(direct if w % 2 else via_envoy, w, 25) for w in range(4))
    )
    for ids in written:
        expected.update(ids)
    for _ in range(300):
        if expected <= seen_ids:
            break
        await asyncio.sleep(0.1)
    call.cancel()
    consumer.cancel()

    assert positions[0] == first
    assert positions == list(range(first, first + len(positions))), "gap or duplicate"
    assert expected <= seen_ids
    assert len(caught_up_at) == 1


async def test_subscription_filters_by_type_prefix(l01_channel: grpc.aio.Channel) -> None:
    store = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    keep, drop = f"{stream_name('keep')}.x", f"{stream_name('drop')}.x"
    first = await store.AppendEvents(
        pb.AppendEventsRequest(
            stream_id=stream_name(),
            events=[new_event(keep, i=0), new_event(drop), new_event(keep, i=1)],
        )
    )
    call = store.SubscribeAll(
        pb.SubscribeAllRequest(from_position=first.first_position, type_prefix=keep),
        timeout=30,
    )
    received = []
    async for message in call:
        if message.HasField("event"):
            received.append(message.event)
        if len(received) == 3:
            break
        if message.HasField("caught_up") and len(received) == 2:
            await store.AppendEvents(
                pb.AppendEventsRequest(
                    stream_id=stream_name(), events=[new_event(drop), new_event(keep, i=2)]
                )
            )
    call.cancel()
    assert [e.data["i"] for e in received] == [0, 1, 2]
    assert all(e.type == keep for e in received)


async def test_negative_from_position_is_invalid(l01_channel: grpc.aio.Channel) -> None:
    store = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    call = store.SubscribeAll(pb.SubscribeAllRequest(from_position=-5), timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in call:
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(caught.value) == "E1002"
