"""A lean HTTP/1.1 keep-alive client for REST figures: one asyncio Protocol per connection,
requests encoded once, responses parsed with bytes.find. A general client (httpx) spends
more of its own time per call than grpc.aio does, which would show up as gateway latency.

GET only; responses with content-length or chunked bodies (trailers are read and dropped).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping


class HttpStatusError(Exception):
    """The response status was not 2xx."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._closed: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = exc or ConnectionResetError("connection closed")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self._closed)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None or self._waiter.done():
            return
        try:
            parsed = _parse(self._buffer)
        except ValueError as error:  # not HTTP as expected: this connection is done for
            self._waiter.set_exception(error)
            self.close()
            return
        if parsed is not None:
            status, body, used = parsed
            del self._buffer[:used]
            self._waiter.set_result((status, body))

    @property
    def closed(self) -> bool:
        return self._closed is not None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        if self._closed is not None or self._transport is None:
            raise ConnectionResetError("connection closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _parse(buffer: bytearray) -> tuple[int, bytes, int] | None:
    """(status, body, bytes used) once a whole response is in ``buffer``, else None."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    start = head_end + 4
    if "content-length" in headers:
        end = start + int(headers["content-length"])
        return (status, bytes(buffer[start:end]), end) if len(buffer) >= end else None
    if headers.get("transfer-encoding", "").lower() != "chunked":
        raise ValueError("response without content-length or chunked body")
    body, position = bytearray(), start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        position = line_end + 2
        if size == 0:
            trailers_end = buffer.find(b"\r\n\r\n", position - 2)
            if trailers_end < 0:
                return None
            return status, bytes(body), trailers_end + 4
        if len(buffer) < position + size + 2:
            return None
        body += buffer[position : position + size]
        position += size + 2


class Http1Client:
    """Up to ``connections`` keep-alive connections to one host; each request takes a free
    one (so N concurrent callers need N connections, as with HTTP/1.1 anywhere)."""

    def __init__(self, host: str, port: int, connections: int = 1) -> None:
        self._host, self._port = host, port
        self._size = connections
        self._idle: asyncio.Queue[_Connection] = asyncio.Queue()
        self._all: list[_Connection] = []

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, self._host, self._port)
        self._all.append(connection)
        return connection

    async def __aenter__(self) -> Http1Client:
        for _ in range(self._size):
            self._idle.put_nowait(await self._connect())
        return self

    async def __aexit__(self, *exc: object) -> None:
        for connection in self._all:
            connection.close()

    def request(self, path: str, headers: Mapping[str, str]) -> bytes:
        """A GET request, encoded once, to send as often as needed."""
        lines = [f"GET {path} HTTP/1.1", f"host: {self._host}:{self._port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send(self, request: bytes) -> bytes:
        """Sends a request from :meth:`request`; the body of a 2xx answer."""
        connection = await self._idle.get()
        if connection.closed:  # the server closed it (e.g. after an error): open another
            try:
                connection = await self._connect()
            except BaseException:
                self._idle.put_nowait(connection)
                raise
        try:
            status, body = await connection.send(request)
        finally:
            self._idle.put_nowait(connection)
        if not 200 <= status < 300:
            raise HttpStatusError(status, body)
        return body
