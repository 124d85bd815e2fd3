"""Event store figures: append throughput, and read latency direct vs through Envoy."""

from __future__ import annotations

import asyncio
import time

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from bench.http1 import Http1Client
from bench.stats import Latency, measure_latency
from bench.stream_writers import answers_per_second
from services.kit import open_channel

TOKEN = "dev_key_local_ONLY"


def _event(i: int) -> pb.NewEvent:
    event = pb.NewEvent(type="bench.appended")
    event.data.update({"i": i, "payload": "x" * 64})
    return event


async def appends_per_second(target: str, writers: int, batch: int, seconds: float) -> float:
    """Events/s appended by ``writers`` concurrent clients, ``batch`` events per append."""
    async with open_channel(target, token=TOKEN) as channel:
        stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
        deadline = time.perf_counter() + seconds
        counts = [0] * writers

        async def writer(w: int) -> None:
            n = 0
            while time.perf_counter() < deadline:
                await stub.AppendEvents(
                    pb.AppendEventsRequest(
                        stream_id=f"bench-{w}-{n % 50}", events=[_event(i) for i in range(batch)]
                    )
                )
                counts[w] += batch
                n += 1

        started = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(writers)))
        return sum(counts) / (time.perf_counter() - started)


async def stream_appends_per_second(target: str, writers: int, batch: int, seconds: float) -> float:
    """Events/s from ``writers`` concurrent writers sharing one AppendStream; each writer
    sends an append and waits for its answer before sending the next (one in flight)."""

    def append(w: int, n: int) -> pb.AppendStreamRequest:
        return pb.AppendStreamRequest(
            correlation_id=f"{w}.{n}",
            append=pb.AppendEventsRequest(
                stream_id=f"bench-s{w}-{n % 50}", events=[_event(i) for i in range(batch)]
            ),
        )

    def check(answer: pb.AppendStreamResponse) -> None:
        if answer.HasField("error"):
            raise RuntimeError(answer.error.message)

    async with open_channel(target, token=TOKEN) as channel:
        call = event_store_pb2_grpc.EventStoreServiceStub(channel).AppendStream()
        rate = await answers_per_second(call, writers, seconds, append, check)
        await call.done_writing()
        return rate * batch


async def read_latencies(l01: str, gateway: str, count: int) -> dict[str, Latency]:
    """ReadStream of a 10-event stream: direct gRPC, gRPC via Envoy (grpc.aio), REST via Envoy
    (bench.http1)."""
    stream = "bench-read"
    results: dict[str, Latency] = {}
    async with (
        open_channel(l01, token=TOKEN) as direct,
        open_channel(gateway, token=TOKEN) as envoy,
    ):
        direct_stub = event_store_pb2_grpc.EventStoreServiceStub(direct)
        envoy_stub = event_store_pb2_grpc.EventStoreServiceStub(envoy)
        await direct_stub.AppendEvents(
            pb.AppendEventsRequest(stream_id=stream, events=[_event(i) for i in range(10)])
        )
        request = pb.ReadStreamRequest(stream_id=stream, max_count=10)
        results["gRPC direct"] = await measure_latency(
            lambda: direct_stub.ReadStream(request), count
        )
        results["gRPC via Envoy"] = await measure_latency(
            lambda: envoy_stub.ReadStream(request), count
        )
    # The lean HTTP/1.1 client: a general one (httpx) costs more per call than grpc.aio does,
    # which would show up as Envoy's latency.
    host, _, port = gateway.rpartition(":")
    async with Http1Client(host, int(port)) as client:
        rest_read = client.request(
            f"/v1/streams/{stream}/events?max_count=10", {"authorization": f"Bearer {TOKEN}"}
        )
        results["REST via Envoy"] = await measure_latency(lambda: client.send(rest_read), count)
    return results
