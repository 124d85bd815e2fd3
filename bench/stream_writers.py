"""Writers sharing one bidirectional gRPC stream, one message in flight each."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any


async def answers_per_second(
    call: Any,
    writers: int,
    seconds: float,
    message: Callable[[int, int], Any],
    check: Callable[[Any], None] = lambda _answer: None,
) -> float:
    """Answers/s while each writer sends ``message(writer, n)`` and waits for its answer
    before the next. The server answers in the order sent, so answers are matched in
    order; ``check`` may raise on an answer that is a failure."""
    outbox: asyncio.Queue[Any] = asyncio.Queue()  # one sender: grpc.aio allows one write at a time
    waiting: deque[asyncio.Future[Any]] = deque()
    count = 0
    deadline = time.perf_counter() + seconds

    async def send() -> None:
        while True:
            await call.write(await outbox.get())

    async def receive() -> None:
        async for answer in call:
            waiting.popleft().set_result(answer)

    async def writer(w: int) -> None:
        nonlocal count
        loop = asyncio.get_running_loop()
        n = 0
        while time.perf_counter() < deadline:
            answer = loop.create_future()
            waiting.append(answer)
            outbox.put_nowait(message(w, n))
            check(await answer)
            count += 1
            n += 1

    sender, receiver = asyncio.create_task(send()), asyncio.create_task(receive())
    started = time.perf_counter()
    try:
        await asyncio.gather(*(writer(w) for w in range(writers)))
        return count / (time.perf_counter() - started)
    finally:
        sender.cancel()
        receiver.cancel()
