"""What Python gRPC itself allows on this machine: a do-nothing echo server in a process
of its own, called the way the append benchmark calls L01 (8 writers, one call or one
stream message in flight each). No append can be faster than this; it puts the append
figures in proportion."""

from __future__ import annotations

import asyncio
import sys
import time

import grpc

from bench.stream_writers import answers_per_second
from services.launcher.ports import free_port

_SERVICE = "bench.Echo"
_PAYLOAD = b"x" * 120  # about the size of a single-event append


async def _serve(port: int) -> None:
    async def unary(request: bytes, _context: object) -> bytes:
        return request

    async def bidi(requests, _context):  # type: ignore[no-untyped-def]
        async for request in requests:
            yield request

    handler = grpc.method_handlers_generic_handler(
        _SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(unary),
            "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        },
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


async def _unary_rate(target: str, writers: int, seconds: float) -> float:
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(f"/{_SERVICE}/Unary")
        await call(_PAYLOAD)
        count = 0
        deadline = time.perf_counter() + seconds

        async def writer() -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                await call(_PAYLOAD)
                count += 1

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        return count / (time.perf_counter() - started)


async def _stream_rate(target: str, writers: int, seconds: float) -> float:
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.stream_stream(f"/{_SERVICE}/Bidi")()
        rate = await answers_per_second(call, writers, seconds, lambda _w, _n: _PAYLOAD)
        await call.done_writing()
        return rate


async def report(writers: int = 8, seconds: float = 4) -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.grpc_ceiling", str(port)
    )
    try:
        target = f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(target) as channel:
            await asyncio.wait_for(channel.channel_ready(), 20)
        unary = await _unary_rate(target, writers, seconds)
        streamed = await _stream_rate(target, writers, seconds)
    finally:
        server.terminate()
        await server.wait()
    print(
        f"\nPython gRPC ceiling here: a do-nothing grpc.aio echo server,"
        f" {writers} writers, 1 in flight each"
    )
    print(f"  unary calls {unary:7.0f}/s   stream messages {streamed:7.0f}/s")


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1])))
