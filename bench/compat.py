"""The OpenAI-compatible API's cost: an ``openai`` SDK chat call through the gateway against
the same generation through L04's own REST (``POST /v1/models:generate``), 1 client.

Its own mesh whose L04 routes to a provider stub answering at once (bench/provider_stub.py),
so the difference is the compatible path's own: Envoy -> L04's HTTP port (map, the
servicer's own method in the process, map back) against Envoy's transcoder -> L04's gRPC
port. Both calls use one API key on the bulk tier
(ext_authz on every call of the compatible path; on the REST path the identity filter reuses
the key's allow for a while, see services/l09_gateway/authz.py) and a prompt never sent
before, so both miss the exact cache. The same body is also sent with httpx to the compatible
path, to show the SDK's own client cost apart, and both clients are first timed against a
canned answer from a server in this process (no mesh): the SDK's cost with no server work.

``python -m bench.compat``
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

import httpx
import openai
from openai.types.chat import ChatCompletionUserMessageParam

from bench.own_mesh import run_on_own_mesh
from bench.settle import settle_cpu
from bench.stats import percentile
from services.kit.auth import ApiKeyFile
from services.launcher import probes
from services.launcher.config import LauncherSettings
from services.launcher.ports import free_port

MODEL = "ollama/llama3.2"
CALLS = 1500
TARGET_P50_MS = 1.0


_CANNED = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "ok"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
).encode()


async def _answer_canned(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 keep-alive, every request answered with one chat completion."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + b"content-length: %d\r\n\r\n" % len(_CANNED)
                + _CANNED
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def client_cost() -> None:
    """The openai SDK against httpx on a canned answer: what the SDK adds on the client alone."""
    connections: set[asyncio.Task[None]] = set()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        await _answer_canned(reader, writer)

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    messages: list[ChatCompletionUserMessageParam] = [{"role": "user", "content": "Say ok."}]
    body = {"model": MODEL, "messages": messages}
    async with (
        server,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="bench", max_retries=0) as sdk,
    ):

        async def plain() -> None:
            (await http.post("/v1/chat/completions", json=body)).json()

        async def with_sdk() -> None:
            await sdk.chat.completions.create(model=MODEL, messages=messages)

        calls = {"httpx": plain, "openai SDK": with_sdk}
        await _in_turn(calls, 200)
        samples = await _in_turn(calls, CALLS)
    await asyncio.gather(*connections)  # each ends when its client has closed the connection
    print(f"\nClients alone, a canned chat completion from this process, {CALLS} calls each")
    for name, taken in samples.items():
        print(f"  {name:24s} p50 {percentile(taken, 0.5):6.2f} ms")
    added = percentile(samples["openai SDK"], 0.5) - percentile(samples["httpx"], 0.5)
    print(f"  the SDK's own client work: +{added:.2f} ms p50")


def _prompt() -> str:
    return f"Say ok. {uuid.uuid4().hex}"


async def _in_turn(
    calls: Mapping[str, Callable[[], Awaitable[object]]], count: int
) -> dict[str, list[float]]:
    """Each call taken in turn, one in flight: the machine's noise weighs on all alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(count):
        for name, call in calls.items():
            started = time.perf_counter()
            await call()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


async def figures(settings: LauncherSettings) -> None:
    key, _ = ApiKeyFile(settings.gateway_keys_file).create("bench", ("model_user",), "bulk")
    base = f"http://127.0.0.1:{settings.gateway_port}"
    auth = {"authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as http,
        openai.AsyncOpenAI(base_url=f"{base}/openai/v1", api_key=key, max_retries=0) as sdk,
    ):

        async def own_rest() -> None:
            body = {"model": MODEL, "messages": [{"role": "user", "content": _prompt()}]}
            reply = await http.post("/v1/models:generate", json=body)
            assert reply.status_code == 200, reply.text

        async def compat_httpx() -> None:
            body = {"model": MODEL, "messages": [{"role": "user", "content": _prompt()}]}
            reply = await http.post("/openai/v1/chat/completions", json=body)
            assert reply.status_code == 200, reply.text

        async def compat_sdk() -> None:
            await sdk.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": _prompt()}]
            )

        calls = {
            "L04 REST via Envoy": own_rest,
            "OpenAI API, httpx": compat_httpx,
            "OpenAI API, openai SDK": compat_sdk,
        }
        await _in_turn(calls, 200)  # warm-up
        samples = await _in_turn(calls, CALLS)
    print(f"\nOpenAI-compatible chat vs L04's own REST, 1 client, {CALLS} calls each")
    rest50 = percentile(samples["L04 REST via Envoy"], 0.5)
    for name, taken in samples.items():
        p50, p99 = percentile(taken, 0.5), percentile(taken, 0.99)
        print(f"  {name:24s} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  ({p50 - rest50:+.2f} ms p50)")
    added = percentile(samples["OpenAI API, openai SDK"], 0.5) - rest50
    verdict = "met" if added <= TARGET_P50_MS else "MISSED"
    print(f"  openai SDK call: {added:+.2f} ms p50; target <= +{TARGET_P50_MS} ms: {verdict}")


def main() -> int:
    stub_port = free_port()
    stub = subprocess.Popen([sys.executable, "-m", "bench.provider_stub", str(stub_port)])
    # The mesh's processes inherit these: L04 answers from the stub (the calls name its
    # model; the local models stay, since L13 and L14 need their embeddings to start),
    # caches but the exact one off, limits on and out of reach (their Redis round trip is
    # part of the cost).
    os.environ.update(
        {
            "OLLAMA_URL": f"http://127.0.0.1:{stub_port}",
            "L04_DISABLED_PROVIDERS": "claude_code,anthropic",
            "L04_SEMANTIC_CACHE": "false",
            "L04_AGENT_REQUESTS_PER_MINUTE": str(10**9),
            "L04_AGENT_TOKENS_PER_MINUTE": str(10**12),
            "AGENTIC_LOG_LEVEL": "warning",
        }
    )
    try:
        url = f"http://127.0.0.1:{stub_port}/api/chat"
        while probes.http_status(url, expect=None) is not None:
            time.sleep(0.05)
        asyncio.run(settle_cpu())
        asyncio.run(client_cost())
        return run_on_own_mesh(figures)
    finally:
        stub.terminate()
        stub.wait(10)


if __name__ == "__main__":
    sys.exit(main())
