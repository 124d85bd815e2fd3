"""Consumer-group figures: catch-up rate from a checkpoint, and live delivery lag."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc, subscriptions_pb2_grpc
from agentic.data.v1 import subscriptions_pb2 as gpb
from bench.stats import percentile
from services.kit import open_channel

TOKEN = "dev_key_local_ONLY"
_WRITE_BATCH = 1_000


@dataclass(frozen=True)
class CatchUp:
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class LiveLag:
    events: int
    p50_ms: float
    p99_ms: float


def _event(i: int, **extra: float) -> pb.NewEvent:
    event = pb.NewEvent(type="bench.caught")
    event.data.update({"i": i, "payload": "x" * 64, **extra})
    return event


async def catch_up(target: str, events: int, batch_size: int = 1_000) -> CatchUp:
    """Writes ``events`` events, then times a new group delivering all of them."""
    async with open_channel(target, token=TOKEN, timeout=60) as channel:
        store = event_store_pb2_grpc.EventStoreServiceStub(channel)
        groups = subscriptions_pb2_grpc.ConsumerGroupServiceStub(channel)
        first = last = 0
        for offset in range(0, events, _WRITE_BATCH):
            count = min(_WRITE_BATCH, events - offset)
            reply = await store.AppendEvents(
                pb.AppendEventsRequest(
                    stream_id=f"bench-catch-up-{uuid.uuid4().hex}",
                    events=[_event(offset + i) for i in range(count)],
                )
            )
            first, last = first or reply.first_position, reply.last_position
        group_id = f"bench-{uuid.uuid4().hex}"
        await groups.CreateConsumerGroup(
            gpb.CreateConsumerGroupRequest(group_id=group_id, start_position=first)
        )
        started = time.perf_counter()
        received = 0
        call = groups.SubscribeConsumerGroup(
            gpb.SubscribeConsumerGroupRequest(group_id=group_id, max_batch_size=batch_size)
        )
        async for message in call:
            if message.HasField("batch"):
                received += len(message.batch.events)
                if message.batch.events[-1].global_position >= last:
                    break
        elapsed = time.perf_counter() - started
        call.cancel()
        await groups.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id=group_id))
        return CatchUp(received, elapsed)


async def live_lag(target: str, seconds: float, rate: float = 200.0) -> LiveLag:
    """Delivery lag of single-event appends at ``rate``/s, from before the append call
    until the group's consumer holds the event (so it includes the commit itself)."""
    async with open_channel(target, token=TOKEN, timeout=30) as channel:
        store = event_store_pb2_grpc.EventStoreServiceStub(channel)
        groups = subscriptions_pb2_grpc.ConsumerGroupServiceStub(channel)
        group_id = f"bench-live-{uuid.uuid4().hex}"
        prefix = f"bench.live.{uuid.uuid4().hex}"
        await groups.CreateConsumerGroup(
            gpb.CreateConsumerGroupRequest(group_id=group_id, type_prefix=prefix, start_position=-1)
        )
        call = groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
        await call.read()  # caught up
        sent: dict[int, float] = {}
        lags: list[float] = []
        total = int(seconds * rate)

        async def consume() -> None:
            while len(lags) < total:
                message = await call.read()
                now = time.perf_counter()
                for event in message.batch.events:
                    lags.append((now - sent[int(event.data["i"])]) * 1000)

        async def produce() -> None:
            for i in range(total):
                event = _event(i)
                event.type = prefix
                sent[i] = time.perf_counter()
                await store.AppendEvents(
                    pb.AppendEventsRequest(stream_id=f"bench-live-{i % 20}", events=[event])
                )
                await asyncio.sleep(1 / rate)

        await asyncio.wait_for(asyncio.gather(consume(), produce()), seconds * 4 + 30)
        call.cancel()
        await groups.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id=group_id))
        ordered = sorted(lags)
        return LiveLag(len(lags), ordered[len(ordered) // 2], percentile(lags, 0.99))


CATCH_UP_TARGET = 50_000  # events/s
LAG_P99_TARGET_MS = 100.0


async def report(l01_target: str, events: int = 100_000, live_seconds: float = 5) -> None:
    """Prints the consumer-group catch-up rate and the live delivery lag."""
    print("\nConsumer groups (direct gRPC)")
    result = await catch_up(l01_target, events)
    verdict = "met" if result.per_second >= CATCH_UP_TARGET else "MISSED"
    print(
        f"  catch-up: {result.events} events in {result.seconds:.2f} s ="
        f" {result.per_second:8.0f}/s (target >= {CATCH_UP_TARGET}/s: {verdict})"
    )
    lag = await live_lag(l01_target, live_seconds)
    verdict = "met" if lag.p99_ms <= LAG_P99_TARGET_MS else "MISSED"
    print(
        f"  live lag, {lag.events} appends at 200/s: p50 {lag.p50_ms:.1f} ms"
        f"  p99 {lag.p99_ms:.1f} ms (target p99 <= {LAG_P99_TARGET_MS:.0f} ms: {verdict})"
    )
