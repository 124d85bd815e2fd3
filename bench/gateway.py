"""Gateway figures: what the L09 path adds over calling the layer directly, at 1, 16 and 64
concurrent clients, with requests/s.

The full path is REST (transcoding) + auth + the global rate limit (Redis), with a JWT, which
Envoy verifies itself (jwt_authn + rbac), and with an API key, which ext_authz checks and then
vouches for a quarter of a second. Envoy applies both callers' limits from leases of the rate
limit service (a hop on the calls that ask for one). Both are on the bulk tier, so every call
takes a token from Redis (in leases of up to 1,000) and none is refused.

The direct figure uses grpc.aio; gRPC figures through the gateway use grpc.aio too, REST
figures the lean HTTP/1.1 client of bench/http1.py (one keep-alive connection per concurrent
client), whose own cost per call is below grpc.aio's. At one client the figures' calls are
taken in turn, so background work on the machine weighs on all of them alike.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import jwt

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from bench.http1 import Http1Client, HttpStatusError
from bench.own_mesh import JWT_SECRET_ENV, run_on_own_mesh
from bench.settle import settle_cpu
from bench.stats import Latency, percentile
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from services.launcher.config import LauncherSettings

DEV_TOKEN = "dev_key_local_ONLY"
STREAM = "bench-gateway"
CONCURRENCY = (1, 16, 64)
P50_BUDGET_MS, P99_BUDGET_MS = 1.0, 3.0
GRPC_CLIENT, REST_CLIENT = "grpc.aio", "bench.http1"
DIRECT = "gRPC direct to L01"
FULL_JWT = "REST, JWT (full path)"
FULL_KEY = "REST, API key (full path)"
NO_HOP = "REST, JWT, unmetered tier (no Python hop)"

Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Figure:
    name: str
    client: str  # the client library that measures it
    call: Call

    @property
    def label(self) -> str:
        return f"{self.name} [{self.client}]"


@dataclass(frozen=True)
class Run:
    latency: Latency  # of the successful calls; per_second counts them only
    failed: int  # calls that failed (e.g. 504: over the route's 500 ms at saturation)
    calls: int  # that succeeded


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
            except (grpc.aio.AioRpcError, HttpStatusError, ConnectionError):
                failed += 1
                continue
            samples.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    latency = Latency(percentile(samples, 0.5), percentile(samples, 0.99), len(samples) / elapsed)
    return Run(latency, failed, len(samples))


async def measure_in_turn(
    figures: list[Figure], seconds: float, warmup: int = 200
) -> dict[str, Run]:
    """One client calling each figure in turn for ``seconds`` per figure: a stall of the
    machine (a checkpoint, another process) weighs on every figure alike, so the differences
    between them stay the gateway's own. Calls/s counts each figure's own time in flight."""
    for _ in range(warmup):
        for figure in figures:
            await figure.call()
    samples: dict[str, list[float]] = {f.name: [] for f in figures}
    failed = dict.fromkeys(samples, 0)
    deadline = time.perf_counter() + seconds * len(figures)
    while time.perf_counter() < deadline:
        for figure in figures:
            t0 = time.perf_counter()
            try:
                await figure.call()
            except (grpc.aio.AioRpcError, HttpStatusError, ConnectionError):
                failed[figure.name] += 1
                continue
            samples[figure.name].append((time.perf_counter() - t0) * 1000)
    runs = {}
    for name, taken in samples.items():
        per_second = len(taken) / (sum(taken) / 1000)
        latency = Latency(percentile(taken, 0.5), percentile(taken, 0.99), per_second)
        runs[name] = Run(latency, failed[name], len(taken))
    return runs


async def hops(admin_port: int) -> tuple[int, int]:
    """Envoy's counts of the calls it sent to the L09 process: rate limit checks (for L01's
    routes) and ext_authz checks."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(
            f"http://127.0.0.1:{admin_port}/stats",
            params={"filter": r"^(cluster\.l01_data\.ratelimit\.|http\.gateway\.ext_authz\.)"},
        )
    counts = [line.split(": ") for line in response.text.splitlines() if ": " in line]
    limits = sum(int(n) for name, n in counts if name.startswith("cluster."))
    authz = sum(int(n) for name, n in counts if name.startswith("http.") and "disabled" not in name)
    return limits, authz


def bench_jwt(secret: str, tier: str = "bulk") -> str:
    """An HS256 token for the mesh's secret (and its issuer and audience, if set)."""
    claims: dict[str, object] = {"sub": f"bench-jwt-{tier}", "roles": ["admin"], "tier": tier}
    claims["exp"] = int(time.time()) + 3600
    if issuer := os.environ.get("L09_JWT_ISSUER"):
        claims["iss"] = issuer
    if audience := os.environ.get("L09_JWT_AUDIENCE"):
        claims["aud"] = audience
    return jwt.encode(claims, secret, "HS256")


def _report(clients: int, figures: list[Figure], results: dict[str, Run]) -> None:
    base = results[DIRECT].latency
    print(f"  {clients} client(s)")
    for figure in figures:
        run = results[figure.name]
        latency = run.latency
        added = ""
        if figure.name != DIRECT:
            added = (
                f"  added p50 {latency.p50_ms - base.p50_ms:+.3f} ms"
                f"  p99 {latency.p99_ms - base.p99_ms:+.3f} ms"
            )
        failed = f"  ({run.failed} failed)" if run.failed else ""
        print(f"    {figure.label:56s} {latency}{added}{failed}")


def _hop_share(results: dict[str, Run], limit_checks: int, authz_checks: int) -> None:
    """How many metered calls through Envoy went to the L09 process: the others were paid
    from leases Envoy held, and API keys vouched for by an earlier ext_authz answer."""
    keyed = sum(results[n].calls for n in (FULL_KEY, "gRPC, API key"))
    metered = keyed + sum(results[n].calls for n in (FULL_JWT, "gRPC, JWT") if n in results)
    print(
        f"    hops to L09 on the metered calls: rate limit service {limit_checks} of {metered} "
        f"({limit_checks / metered:.1%}), ext_authz {authz_checks} of {keyed} API-key calls "
        f"({authz_checks / keyed:.1%})"
    )


def _verdict(name: str, results: dict[str, Run]) -> None:
    base, full = results[DIRECT].latency, results[name].latency
    p50, p99 = full.p50_ms - base.p50_ms, full.p99_ms - base.p99_ms
    verdict = "met" if p50 <= P50_BUDGET_MS and p99 <= P99_BUDGET_MS else "MISSED"
    print(
        f"    {name} at 1 client: {p50:+.3f} ms p50, {p99:+.3f} ms p99; target "
        f"<= {P50_BUDGET_MS} / {P99_BUDGET_MS} ms: {verdict}"
    )


async def run(
    l01: str,
    gateway: str,
    keys_file: Path,
    admin_port: int,
    seconds: float = 3.0,
) -> None:
    """The figures. JWT figures need the mesh's HS256 secret: ``L09_JWT_HS256_SECRET`` from
    the environment the mesh was started with."""
    secret = os.environ.get(JWT_SECRET_ENV)
    # A key on the bulk tier: every call is authenticated and counted in Redis, none refused.
    key, _ = ApiKeyFile(keys_file).create("bench", ("admin",), "bulk")
    await asyncio.sleep(1.2)  # the gateway re-reads the key file within a second
    request = pb.ReadStreamRequest(stream_id=STREAM, max_count=10)
    host, port = gateway.rsplit(":", 1)
    rest = Http1Client(host, int(port), connections=max(CONCURRENCY))
    rest_path = f"/v1/streams/{STREAM}/events?max_count=10"
    credentials: dict[str, str] = {}
    if secret:
        credentials["JWT"] = bench_jwt(secret)
        credentials["JWT, unmetered"] = bench_jwt(secret, "internal")
    async with (
        open_channel(l01, token=DEV_TOKEN) as direct_channel,
        open_channel(gateway, token=key) as key_channel,
        open_channel(gateway, token=credentials.get("JWT", key)) as jwt_channel,
        rest,
    ):
        direct = event_store_pb2_grpc.EventStoreServiceStub(direct_channel)
        events = [pb.NewEvent(type="bench.read") for _ in range(10)]
        await direct.AppendEvents(pb.AppendEventsRequest(stream_id=STREAM, events=events))

        def rest_call(credential: str) -> Call:
            encoded = rest.request(rest_path, {"authorization": f"Bearer {credential}"})
            return lambda: rest.send(encoded)

        def grpc_call(channel: grpc.aio.Channel) -> Call:
            stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
            return lambda: stub.ReadStream(request)

        figures = [Figure(DIRECT, GRPC_CLIENT, lambda: direct.ReadStream(request))]
        if secret:
            figures += [
                Figure(FULL_JWT, REST_CLIENT, rest_call(credentials["JWT"])),
                Figure("gRPC, JWT", GRPC_CLIENT, grpc_call(jwt_channel)),
                Figure(NO_HOP, REST_CLIENT, rest_call(credentials["JWT, unmetered"])),
            ]
        figures += [
            Figure(FULL_KEY, REST_CLIENT, rest_call(key)),
            Figure("gRPC, API key", GRPC_CLIENT, grpc_call(key_channel)),
        ]
        print(f"\nGateway: ReadStream (10 events), {seconds:.0f} s per figure (1 client: the")
        print("  figures' calls taken in turn)")
        print(f"  clients: gRPC figures {GRPC_CLIENT}; REST figures {REST_CLIENT} (HTTP/1.1")
        print("  keep-alive, one connection per concurrent client); 'added' is over the direct")
        print("  grpc.aio figure. Callers on the bulk tier: every call takes a token from")
        print("  Redis, in leases Envoy holds (a hop to the rate limit service on the calls")
        print("  that ask for one). JWT: HS256, verified in Envoy (jwt_authn + rbac); API")
        print("  key: an ext_authz hop when ext_authz's last voucher for it has run out;")
        print("  JWT, unmetered: Envoy alone (transcoding, native auth), no hop to L09.")
        if not secret:
            print("  (no JWT figures: start the mesh with L09_JWT_HS256_SECRET set)")
        busiest: dict[str, float] = {}
        await settle_cpu()
        for clients in CONCURRENCY:
            if clients == 1:
                before = await hops(admin_port)
                results = await measure_in_turn(figures, seconds)
                after = await hops(admin_port)
            else:
                results = {f.name: await measure(f.call, clients, seconds) for f in figures}
            _report(clients, figures, results)
            if clients == 1:
                for name in (FULL_JWT, FULL_KEY):
                    if name in results:
                        _verdict(name, results)
                _hop_share(results, after[0] - before[0], after[1] - before[1])
            for name, run in results.items():
                busiest[name] = max(busiest.get(name, 0.0), run.latency.per_second)
        print("  saturation: requests/s, the best of the concurrency levels")
        for figure in figures:
            print(f"    {figure.label:56s} {busiest[figure.name]:8.0f}/s")


def main() -> int:
    """``python -m bench.gateway``: only these figures, on a mesh of their own."""

    async def figures(settings: LauncherSettings) -> None:
        await run(
            f"127.0.0.1:{settings.layer_port('l01')}",
            f"127.0.0.1:{settings.gateway_port}",
            settings.gateway_keys_file,
            settings.envoy_admin_port,
        )

    return run_on_own_mesh(figures)


if __name__ == "__main__":
    sys.exit(main())
