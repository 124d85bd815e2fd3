"""L04 figures: gateway overhead, semantic-cache lookups and accuracy, local model speed.

- Overhead: Generate through an L04 process of its own (its only provider an Ollama-API
  stub in another process that answers at once) against the same HTTP call made straight to
  the stub with the HTTP client L04 itself uses, at 1, 16 and 64 concurrent clients (one
  client takes the two calls in turn). Caches are bypassed; rate limits, budgets and usage recording
  stay on, as in production.
- Semantic cache: bench/semantic_cache.py (quality on the labelled set, lookup latency).
- Local model: SmolLM2-135M generation speed on one thread.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from agentic.models.v1 import models_pb2 as pb
from agentic.models.v1 import models_pb2_grpc
from bench import semantic_cache
from bench.own_mesh import run_on_own_mesh
from bench.settle import settle_cpu
from bench.stats import percentile
from services.kit import open_channel
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
OVERHEAD_P50_MS, OVERHEAD_P99_MS = 2.0, 10.0


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


async def overhead(settings: LauncherSettings) -> None:
    stub_port, l04_port = free_port(), free_port()
    stub_url = f"http://127.0.0.1:{stub_port}"
    stub = _start_stub(stub_port)
    l04 = _start_l04(settings, stub_url, l04_port)
    try:
        _wait(lambda: probes.http_status(f"{stub_url}/api/chat", expect=None), "provider stub")
        _wait(lambda: probes.grpc_serving(l04_port), "L04")
        await settle_cpu()  # the new processes may still be importing
        spec = load_registry(DEFAULT_REGISTRY).get("ollama/llama3.2")
        question = (Message("user", "Say ok."),)
        body = chat_body(spec, GenerationRequest(messages=question), stream=False)
        request = pb.GenerateRequest(
            messages=[pb.Message(role="user", content="Say ok.")], model=spec.id,
            agent_id="bench", cache=pb.CacheControl(bypass=True),
        )  # fmt: skip
        print("\nL04 gateway overhead (provider stub answering at once; caches bypassed)")
        # Direct calls use the HTTP client L04 itself uses, so the difference is L04's own cost.
        direct = JsonHttpClient(stub_url, timeout=30)
        async with open_channel(f"127.0.0.1:{l04_port}", token=TOKEN) as channel:
            stub_models = models_pb2_grpc.ModelServiceStub(channel)

            async def call_direct() -> None:
                assert (await direct.post("/api/chat", body)).status == 200

            async def call_gateway() -> None:
                await stub_models.Generate(request)

            pair = (call_direct, call_gateway)
            await _paired_latencies(pair, 4, 400)  # warm-up
            for clients, total in ((1, 2000), (16, 3200), (64, 3200)):
                if clients == 1:  # the target's figure: the two calls in turn
                    direct_ms, gateway_ms = await _paired_latencies(pair, clients, total)
                else:  # each alone, so neither takes the CPU the other's figure needs
                    [direct_ms] = await _paired_latencies((call_direct,), clients, total)
                    [gateway_ms] = await _paired_latencies((call_gateway,), clients, total)
                (d50, d99), (g50, g99) = _ms(direct_ms), _ms(gateway_ms)
                verdict = ""
                if clients == 1:
                    met = g50 - d50 <= OVERHEAD_P50_MS and g99 - d99 <= OVERHEAD_P99_MS
                    verdict = (f"; target <= {OVERHEAD_P50_MS} ms p50 and <= {OVERHEAD_P99_MS}"
                               f" ms p99: {'met' if met else 'MISSED'}")  # fmt: skip
                print(
                    f"  {clients:2d} client(s): direct p50 {d50:6.2f} p99 {d99:6.2f} ms | via L04 "
                    f"p50 {g50:6.2f} p99 {g99:6.2f} ms | overhead p50 {g50 - d50:+6.2f} "
                    f"p99 {g99 - d99:+6.2f} ms{verdict}"
                )
        await direct.aclose()
    finally:
        for process in (l04, stub):
            process.terminate()
            process.wait(10)


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
