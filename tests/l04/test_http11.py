"""The keep-alive HTTP/1.1 client of the HTTP providers, against real loopback servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from services.l04_models.providers.http11 import HttpFailure, JsonHttpClient

pytestmark = [pytest.mark.unit, pytest.mark.l04]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A plain asyncio server; yields its URL and a list that counts accepted connections."""
    accepted: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", accepted


REQUEST_LINES: list[bytes] = []


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    REQUEST_LINES.append(head.split(b"\r\n")[0])
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )  # fmt: skip
    return await reader.readexactly(length)


def _reply(body: bytes, *extra: str) -> bytes:
    headers = [f"content-length: {len(body)}", "content-type: application/json", *extra]
    return ("HTTP/1.1 200 OK\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode() + body


async def _echo_keep_alive(reader, writer) -> None:
    while True:
        try:
            body = await _read_request(reader)
        except asyncio.IncompleteReadError:
            return
        writer.write(_reply(body))
        await writer.drain()


async def test_posts_json_and_reuses_the_connection() -> None:
    REQUEST_LINES.clear()
    async with raw_server(_echo_keep_alive) as (url, accepted):
        client = JsonHttpClient(url + "/prefix", timeout=5)
        replies = [await client.post("/api/chat", {"ask": i}) for i in range(3)]
        await client.aclose()
    assert [r.json() for r in replies] == [{"ask": 0}, {"ask": 1}, {"ask": 2}]
    assert replies[0].status == 200 and replies[0].headers["content-type"] == "application/json"
    assert len(accepted) == 1, "one connection for the three calls"
    assert REQUEST_LINES == [b"POST /prefix/api/chat HTTP/1.1"] * 3


async def test_concurrent_calls_each_get_a_connection() -> None:
    async with raw_server(_echo_keep_alive) as (url, accepted):
        client = JsonHttpClient(url, timeout=5)
        replies = await asyncio.gather(*(client.post("/x", {"i": i}) for i in range(4)))
        again = await asyncio.gather(*(client.post("/x", {"i": i}) for i in range(4)))
        await client.aclose()
    assert [r.json()["i"] for r in replies + again] == [0, 1, 2, 3] * 2
    assert len(accepted) == 4, "the second round reuses the four idle connections"


async def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    async def one_reply_per_connection(reader, writer) -> None:
        body = await _read_request(reader)
        writer.write(_reply(body))  # keep-alive by default, then closed anyway
        await writer.drain()

    async with raw_server(one_reply_per_connection) as (url, accepted):
        client = JsonHttpClient(url, timeout=5)
        first = await client.post("/x", {"a": 1})
        await asyncio.sleep(0.05)  # the server's close arrives while the connection idles
        second = await client.post("/x", {"a": 2})
        await client.aclose()
    assert (first.json(), second.json()) == ({"a": 1}, {"a": 2})
    assert len(accepted) == 2


async def test_a_reply_with_connection_close_is_not_reused() -> None:
    async def closing(reader, writer) -> None:
        while True:
            try:
                body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(_reply(body, "connection: close"))
            await writer.drain()

    async with raw_server(closing) as (url, accepted):
        client = JsonHttpClient(url, timeout=5)
        for i in range(2):
            assert (await client.post("/x", {"i": i})).json() == {"i": i}
        await client.aclose()
    assert len(accepted) == 2


async def test_a_server_that_does_not_answer_in_time_is_a_failure() -> None:
    async def silent(reader, writer) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)

    async with raw_server(silent) as (url, _):
        client = JsonHttpClient(url, timeout=0.2)
        with pytest.raises(HttpFailure, match="timed out"):
            await client.post("/x", {})
        await client.aclose()


async def test_a_reply_cut_off_mid_body_is_a_failure() -> None:
    async def cut(reader, writer) -> None:
        await _read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial"')
        await writer.drain()

    async with raw_server(cut) as (url, _):
        client = JsonHttpClient(url, timeout=5)
        with pytest.raises(HttpFailure):
            await client.post("/x", {})
        await client.aclose()


async def test_a_refused_connection_is_a_failure() -> None:
    async with raw_server(_echo_keep_alive) as (url, _):
        pass  # closed again: nothing listens there now
    client = JsonHttpClient(url, timeout=2)
    with pytest.raises(HttpFailure):
        await client.post("/x", {})


async def test_streamed_lines_arrive_as_the_server_sends_them() -> None:
    gate = asyncio.Event()

    async def chunked(reader, writer) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for line in (b'{"a": 1}\n{"b"', b": 2}\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(line), line))
            await writer.drain()
            await gate.wait()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with raw_server(chunked) as (url, _):
        client = JsonHttpClient(url, timeout=5)
        lines = []
        async with client.stream("/x", {}) as reply:
            async for line in reply.lines():
                lines.append(json.loads(line))
                gate.set()  # the first line came before the server sent the rest
        await client.aclose()
    assert reply.status == 200 and lines == [{"a": 1}, {"b": 2}]


def test_only_http_urls_are_taken() -> None:
    with pytest.raises(ValueError):
        JsonHttpClient("ftp://example.invalid", timeout=1)
