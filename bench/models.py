"""L04 figures: gateway overhead, semantic-cache lookups and accuracy, local model speed.

- Overhead: Generate through L04 processes of their own, as many as its row in
  services/kit/layers.py says (their only provider an Ollama-API stub in another process that
  answers at once), against the same HTTP call made straight to the stub with the HTTP client
  L04 itself uses, at 1, 16 and 64 concurrent clients (one client takes the two calls in turn).
  L04 is called as the mesh's layers call it: one channel over all its processes
  (kit.loopback_target); its first process alone is measured beside it. Caches are bypassed;
  rate limits, budgets and usage recording stay on, as in production.
- Saturation: requests/s of Generate with many clients in flight, one L04 process against all
  of them, in the same run (the ratio is the figure; the machine is shared).
- The floor, beside both: bench/relay_model_server.py, as many processes as L04, takes
  Generate over grpc.aio and makes the same provider call, and does nothing else. No Python
  ModelService on this machine can do better; its overhead and saturation say how much of
  L04's is its own work and how much Python gRPC's.
- Semantic cache: bench/semantic_cache.py (quality on the labelled set, lookup latency).
- Local model: SmolLM2-135M generation speed on one thread.
"""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping

from agentic.models.v1 import models_pb2 as pb
from agentic.models.v1 import models_pb2_grpc
from bench import semantic_cache
from bench.own_mesh import run_on_own_mesh
from bench.settle import settle_cpu
from bench.stats import percentile
from services.kit import open_channel
from services.kit.clients import loopback_target
from services.kit.layers import layer_by_key
from services.l04_models.config import DEFAULT_REGISTRY
from services.l04_models.conversation import (
    GenerationRequest,
    Message,
)
from services.l04_models.providers.http11 import JsonHttpClient
from services.l04_models.providers.local import LocalProvider
from services.l04_models.providers.ollama import chat_body
from services.l04_models.registry import load_registry
from services.launcher import probes
from services.launcher.config import LauncherSettings
from services.launcher.ports import free_port

TOKEN = "dev_key_local_ONLY"
# Issue 19: L04's overhead over a direct provider call, p50, by concurrent clients.
OVERHEAD_P50_TARGETS_MS = {1: 2.0, 16: 5.0, 64: 15.0}
SATURATION_CLIENTS, SATURATION_SECONDS = 128, 8.0


def _ms(samples: list[float]) -> tuple[float, float]:
    return percentile(samples, 0.5), percentile(samples, 0.99)


async def _paired_latencies(
    calls: tuple[Callable[[], Awaitable[object]], ...], clients: int, total: int
) -> list[list[float]]:
    """Latencies of each call, taken in turn by every client: whatever else the machine does
    meanwhile weighs on all of them alike, so their difference stays L04's own cost."""
    samples: list[list[float]] = [[] for _ in calls]

    async def client(count: int) -> None:
        for _ in range(count):
            for call, taken in zip(calls, samples, strict=True):
                started = time.perf_counter()
                await call()
                taken.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(client(total // clients) for _ in range(clients)))
    return samples


def _wait(ready: Callable[[], str | None], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (reason := ready()) is not None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready: {reason}")
        time.sleep(0.05)


def _start_stub(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.provider_stub", str(port)])


def _start_relay(port: int, stub_url: str) -> subprocess.Popen[bytes]:
    """bench/relay_model_server.py: the least a Python ModelService does per call."""
    return subprocess.Popen([sys.executable, "-m", "bench.relay_model_server", str(port), stub_url])


def _start_l04(settings: LauncherSettings, stub_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "L04_HOST": "127.0.0.1",
        "L04_PORT": str(port),
        "REDIS_URL": settings.effective_redis_url,
        "AGENTIC_L01_TARGET": f"127.0.0.1:{settings.layer_port('l01')}",
        "OLLAMA_URL": stub_url,
        "L04_DISABLED_PROVIDERS": "claude_code,anthropic,local",
        "L04_SEMANTIC_CACHE": "false",
        # Limits stay on (their Redis round trip is part of the overhead), set out of reach.
        "L04_AGENT_REQUESTS_PER_MINUTE": str(10**9),
        "L04_AGENT_TOKENS_PER_MINUTE": str(10**12),
        "AGENTIC_LOG_LEVEL": "warning",
    }
    return subprocess.Popen([sys.executable, "-m", "services.l04_models"], env=env)


async def _saturation(call: Callable[[], Awaitable[object]], clients: int, seconds: float
                      ) -> float:  # fmt: skip
    """Calls per second with ``clients`` in flight for ``seconds``."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.perf_counter() - started)


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


async def overhead(settings: LauncherSettings) -> None:
    processes = layer_by_key("l04").processes
    stub_port, l04_ports = free_port(), [free_port() for _ in range(processes)]
    stub_url = f"http://127.0.0.1:{stub_port}"
    relay_ports = [free_port() for _ in range(processes)]
    stub = _start_stub(stub_port)
    l04 = [_start_l04(settings, stub_url, port) for port in l04_ports]
    relays = [_start_relay(port, stub_url) for port in relay_ports]
    try:
        _wait(lambda: probes.http_status(f"{stub_url}/api/chat", expect=None), "provider stub")
        for port in l04_ports + relay_ports:
            _wait(functools.partial(probes.grpc_serving, port), "L04", timeout=300)
        await settle_cpu()  # the new processes may still be importing
        spec = load_registry(DEFAULT_REGISTRY).get("ollama/llama3.2")
        question = (Message("user", "Say ok."),)
        body = chat_body(spec, GenerationRequest(messages=question), stream=False)
        request = pb.GenerateRequest(
            messages=[pb.Message(role="user", content="Say ok.")], model=spec.id,
            agent_id="bench", cache=pb.CacheControl(bypass=True),
        )  # fmt: skip
        print(f"\nL04 gateway overhead (provider stub answering at once; caches bypassed; "
              f"{processes} L04 processes)")  # fmt: skip
        # Direct calls use the HTTP client L04 itself uses, so the difference is L04's own cost.
        direct = JsonHttpClient(stub_url, timeout=30)
        async with (
            # L04's own route timeout: on a loaded machine a queued call may take seconds.
            open_channel(loopback_target(l04_ports), token=TOKEN, timeout=120) as every_channel,
            open_channel(loopback_target(l04_ports[:1]), token=TOKEN, timeout=120) as one_channel,
            open_channel(loopback_target(relay_ports), token=TOKEN, timeout=120) as relay_channel,
        ):
            every = models_pb2_grpc.ModelServiceStub(every_channel)
            one = models_pb2_grpc.ModelServiceStub(one_channel)
            relay = models_pb2_grpc.ModelServiceStub(relay_channel)

            async def call_direct() -> None:
                assert (await direct.post("/api/chat", body)).status == 200

            async def call_every() -> None:
                await every.Generate(request)

            async def call_one() -> None:
                await one.Generate(request)

            async def call_relay() -> None:
                await relay.Generate(request)

            calls = {"all processes": call_every, "1 process": call_one, "relay": call_relay}
            await _paired_latencies((call_direct, *calls.values()), 4, 400)  # warm-up
            for clients, total in ((1, 2000), (16, 3200), (64, 3200)):
                await _overhead_at(clients, total, call_direct, calls)
            print(f"  saturation: Generate calls/s, {SATURATION_CLIENTS} clients, "
                  f"{SATURATION_SECONDS:.0f} s each, in turn twice")  # fmt: skip
            rates: dict[str, list[float]] = {"one": [], "every": [], "relay": []}
            for _ in range(2):
                for name, call in (("one", call_one), ("every", call_every),
                                   ("relay", call_relay)):  # fmt: skip
                    rate = await _saturation(call, SATURATION_CLIENTS, SATURATION_SECONDS)
                    rates[name].append(rate)
            one_rate, every_rate = max(rates["one"]), max(rates["every"])
            ratio = every_rate / one_rate
            print(f"    1 L04 process {one_rate:7.0f}/s | {processes} processes "
                  f"{every_rate:7.0f}/s | ratio {ratio:.2f}x ({_load()})")  # fmt: skip
            print(f"    relay floor, {processes} processes {max(rates['relay']):7.0f}/s")
        await direct.aclose()
    finally:
        _stop(*l04, *relays, stub)


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _overhead_at(
    clients: int, total: int, call_direct: Callable[[], Awaitable[None]],
    calls: Mapping[str, Callable[[], Awaitable[None]]],
) -> None:  # fmt: skip
    """``calls``: L04 with all its processes, with one, and the relay floor (as many processes
    as L04), each against the direct call."""
    if clients == 1:  # the target's figure: the calls in turn
        direct_ms, *taken_ms = await _paired_latencies((call_direct, *calls.values()), 1, total)
    else:  # each alone, so neither takes the CPU the other's figure needs
        [direct_ms] = await _paired_latencies((call_direct,), clients, total)
        taken_ms = [
            (await _paired_latencies((call,), clients, total))[0] for call in calls.values()
        ]
    d50, d99 = _ms(direct_ms)
    for name, taken in zip(calls, taken_ms, strict=True):
        g50, g99 = _ms(taken)
        verdict = ""
        if name == "all processes":
            target = OVERHEAD_P50_TARGETS_MS[clients]
            verdict = f"; target <= {target} ms p50: {'met' if g50 - d50 <= target else 'MISSED'}"
        print(
            f"  {clients:2d} client(s), {name:13s}: direct p50 {d50:6.2f} p99 {d99:6.2f} ms | "
            f"via it p50 {g50:6.2f} p99 {g99:6.2f} ms | overhead p50 {g50 - d50:+6.2f} "
            f"p99 {g99 - d99:+6.2f} ms{verdict}"
        )
    print(f"    ({_load()})")


async def local_model() -> None:
    provider = LocalProvider(threads=1)
    spec = load_registry(DEFAULT_REGISTRY).get("local/smollm2-135m")
    request = GenerationRequest(
        messages=(Message("user", "Write a short story about a lighthouse keeper."),),
        max_tokens=128,
    )
    await provider.generate(spec, request)  # load and warm up
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        completion = await provider.generate(spec, request)
        runs.append((completion.usage.output_tokens, time.perf_counter() - started))
    tokens = sum(t for t, _ in runs)
    seconds = sum(s for _, s in runs)
    print(f"\nLocal model (SmolLM2-135M Q4_1, xllamacpp, 1 thread): {tokens / seconds:.0f} "
          f"tokens/s end to end ({tokens} tokens in {seconds:.1f} s, prompt included)")  # fmt: skip
    await provider.close()


async def report(settings: LauncherSettings) -> None:
    await overhead(settings)
    await semantic_cache.report(settings)
    await local_model()


def main() -> int:
    """``python -m bench.models``: only these figures, on a mesh of their own."""
    return run_on_own_mesh(report)


if __name__ == "__main__":
    sys.exit(main())
