"""A small keep-alive HTTP/1.1 JSON client on asyncio streams, with h11 doing the parsing.

The gateway's own cost per provider call is the budget here: httpx spends ~1.3 ms of Python
per request on these 2-core machines, this path ~0.2 ms. It does what the HTTP providers
need and no more: POST a JSON body, read a whole reply or its lines as they come (NDJSON),
reuse idle connections, one timeout per wait. h11 comes with httpx (through httpcore).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11

MAX_IDLE_CONNECTIONS = 32
READ_BYTES = 65_536


class HttpFailure(Exception):
    """No HTTP answer: refused, reset, timed out, or not HTTP."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.http = h11.Connection(h11.CLIENT)
        self.used = False  # served a request before: the server may have closed it meanwhile

    def reusable(self) -> bool:
        return (
            self.http.our_state is h11.DONE
            and self.http.their_state is h11.DONE
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    async def next_event(self, timeout: float) -> Any:
        while (event := self.http.next_event()) is h11.NEED_DATA:
            async with asyncio.timeout(timeout):
                self.http.receive_data(await self.reader.read(READ_BYTES))
        return event

    def close(self) -> None:
        self.writer.close()


class StreamedReply:
    """Status and headers at once; the body as it arrives."""

    def __init__(self, status: int, headers: dict[str, str], connection: _Connection,
                 timeout: float) -> None:  # fmt: skip
        self.status = status
        self.headers = headers
        self._connection = connection
        self._timeout = timeout
        self.complete = False

    async def chunks(self) -> AsyncIterator[bytes]:
        while not self.complete:
            try:
                event = await self._connection.next_event(self._timeout)
            except (OSError, h11.ProtocolError, TimeoutError) as error:
                raise _failure(error) from error
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.complete = True
            elif isinstance(event, h11.ConnectionClosed):
                raise HttpFailure("the server closed the connection mid-reply")

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    async def lines(self) -> AsyncIterator[bytes]:
        pending = b""
        async for chunk in self.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line
        if pending:
            yield pending


class JsonHttpClient:
    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._prefix = parts.path.rstrip("/")
        self._authority = parts.netloc.rpartition("@")[2]
        self._timeout = timeout
        self._idle: list[_Connection] = []

    async def post(self, path: str, body: Any) -> Reply:
        async with self.stream(path, body) as reply:
            return Reply(reply.status, reply.headers, await reply.read())

    @contextlib.asynccontextmanager
    async def stream(self, path: str, body: Any) -> AsyncIterator[StreamedReply]:
        payload = json.dumps(body, separators=(",", ":")).encode()
        connection, status, headers = await self._send(path, payload)
        reply = StreamedReply(status, headers, connection, self._timeout)
        try:
            yield reply
        finally:
            self._release(connection, reply.complete)

    async def _send(self, path: str, payload: bytes) -> tuple[_Connection, int, dict[str, str]]:
        request = h11.Request(
            method="POST",
            target=self._prefix + path,
            headers=[
                ("host", self._authority),
                ("content-type", "application/json"),
                ("accept", "application/json, application/x-ndjson"),
                ("content-length", str(len(payload))),
            ],
        )
        while True:
            connection = await self._connection()
            try:
                http = connection.http
                parts = (request, h11.Data(data=payload), h11.EndOfMessage())
                connection.writer.write(b"".join(http.send(part) or b"" for part in parts))
                await connection.writer.drain()
                event = await connection.next_event(self._timeout)
                while isinstance(event, h11.InformationalResponse):
                    event = await connection.next_event(self._timeout)
            except (OSError, h11.ProtocolError, TimeoutError) as error:
                connection.close()
                # A kept-alive connection the server closed while idle: once more, afresh.
                if connection.used and not isinstance(error, TimeoutError):
                    continue
                raise _failure(error) from error
            except BaseException:  # cancelled (the caller's timeout): the socket is not leaked
                connection.close()
                raise
            if not isinstance(event, h11.Response):
                connection.close()
                raise HttpFailure(f"unexpected {type(event).__name__} instead of a response")
            connection.used = True
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            return connection, event.status_code, headers

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable():
                connection.http.start_next_cycle()
                return connection
            connection.close()
        try:
            async with asyncio.timeout(self._timeout):
                reader, writer = await asyncio.open_connection(
                    self._host, self._port, ssl=self._tls, limit=READ_BYTES
                )
        except (OSError, TimeoutError) as error:
            raise _failure(error) from error
        return _Connection(reader, writer)

    def _release(self, connection: _Connection, complete: bool) -> None:
        if complete and connection.reusable() and len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        for connection in idle:
            with contextlib.suppress(OSError):
                await connection.writer.wait_closed()


def _failure(error: BaseException) -> HttpFailure:
    if isinstance(error, TimeoutError):
        return HttpFailure("timed out")
    return HttpFailure(f"{type(error).__name__}: {error}")
