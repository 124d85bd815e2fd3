"""Gateway figures: what the full L09 path (transcoding + ext_authz + global rate limit)
adds over calling the layer directly, at 1, 16 and 64 concurrent clients."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from bench.stats import Latency, percentile
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from services.launcher.config import LauncherSettings
from services.launcher.mesh import Mesh

DEV_TOKEN = "dev_key_local_ONLY"
STREAM = "bench-gateway"
CONCURRENCY = (1, 16, 64)
P50_BUDGET_MS, P99_BUDGET_MS = 1.0, 3.0

Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Run:
    latency: Latency  # of the successful calls; per_second counts them only
    failed: int  # calls that failed (e.g. 504: over the route's 500 ms at saturation)


async def measure(call: Call, clients: int, seconds: float, warmup: int = 200) -> Run:
    """``clients`` concurrent callers for ``seconds``; latency of every call, and calls/s."""
    for _ in range(warmup):
        await call()
    samples: list[float] = []
    failed = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal failed
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                await call()
            except (grpc.aio.AioRpcError, httpx.HTTPError):
                failed += 1
                continue
            samples.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    latency = Latency(percentile(samples, 0.5), percentile(samples, 0.99), len(samples) / elapsed)
    return Run(latency, failed)


async def run(l01: str, gateway: str, keys_file: Path, seconds: float = 3.0) -> None:
    # A key on the bulk tier: every call is authenticated and counted in Redis, none refused.
    key, _ = ApiKeyFile(keys_file).create("bench", ("admin",), "bulk")
    await asyncio.sleep(1.2)  # the gateway re-reads the key file within a second
    request = pb.ReadStreamRequest(stream_id=STREAM, max_count=10)
    async with (
        open_channel(l01, token=DEV_TOKEN) as direct_channel,
        open_channel(gateway, token=key) as gateway_channel,
        httpx.AsyncClient(
            base_url=f"http://{gateway}",
            headers={"authorization": f"Bearer {key}"},
            limits=httpx.Limits(max_connections=max(CONCURRENCY)),
        ) as rest,
    ):
        direct = event_store_pb2_grpc.EventStoreServiceStub(direct_channel)
        via_gateway = event_store_pb2_grpc.EventStoreServiceStub(gateway_channel)
        events = [pb.NewEvent(type="bench.read") for _ in range(10)]
        await direct.AppendEvents(pb.AppendEventsRequest(stream_id=STREAM, events=events))

        async def rest_read() -> None:
            response = await rest.get(f"/v1/streams/{STREAM}/events", params={"max_count": 10})
            response.raise_for_status()

        paths: dict[str, Call] = {
            "gRPC direct": lambda: direct.ReadStream(request),
            "gRPC via gateway": lambda: via_gateway.ReadStream(request),
            "REST via gateway": rest_read,
        }
        print(f"\nGateway: ReadStream (10 events), {seconds:.0f} s per figure")
        print("  auth: API key (ext_authz), global rate limit: Redis token bucket (bulk tier)")
        for clients in CONCURRENCY:
            results = {name: await measure(call, clients, seconds) for name, call in paths.items()}
            base = results["gRPC direct"].latency
            print(f"  {clients} client(s)")
            for name, run in results.items():
                latency = run.latency
                added = ""
                if name != "gRPC direct":
                    added = (
                        f"  added p50 +{latency.p50_ms - base.p50_ms:.3f} ms"
                        f"  p99 +{latency.p99_ms - base.p99_ms:.3f} ms"
                    )
                failed = f"  ({run.failed} failed)" if run.failed else ""
                print(f"    {name:17s} {latency}{added}{failed}")
            if clients == 1:
                full = results["REST via gateway"].latency
                p50 = full.p50_ms - base.p50_ms
                p99 = full.p99_ms - base.p99_ms
                verdict = "met" if p50 <= P50_BUDGET_MS and p99 <= P99_BUDGET_MS else "MISSED"
                print(
                    f"    full path at 1 client: +{p50:.3f} ms p50, +{p99:.3f} ms p99; target "
                    f"<= {P50_BUDGET_MS} / {P99_BUDGET_MS} ms: {verdict}"
                )


def main() -> int:
    """``python -m bench.gateway``: only these figures, on a mesh of their own."""
    with tempfile.TemporaryDirectory(prefix="agentic-bench-gateway-") as home:
        settings = LauncherSettings.on_free_ports(Path(home))
        mesh = Mesh(settings, fsync=True)
        print("starting a benchmark mesh on free ports ...", flush=True)
        mesh.up(timeout=120)
        try:
            asyncio.run(
                run(
                    f"127.0.0.1:{settings.l01_port}",
                    f"127.0.0.1:{settings.gateway_port}",
                    settings.gateway_keys_file,
                )
            )
        finally:
            mesh.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
