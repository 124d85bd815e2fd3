"""The benchmark's lean HTTP/1.1 client reads what Envoy sends: fixed-length and chunked
bodies (with trailers), over one keep-alive connection."""

import asyncio

import pytest

from bench.http1 import Http1Client, HttpStatusError

pytestmark = [pytest.mark.unit, pytest.mark.l09]

RESPONSES = [
    b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n4\r\ndefg\r\n0\r\ngrpc-status: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno",
]


async def test_fixed_length_chunked_and_error_responses_on_one_connection() -> None:
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for response in RESPONSES:
            requests.append(await reader.readuntil(b"\r\n\r\n"))
            # Split the answer in two writes: the client must wait for the rest.
            writer.write(response[:7])
            await writer.drain()
            await asyncio.sleep(0.01)
            writer.write(response[7:])
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with Http1Client("127.0.0.1", port) as client:
        request = client.request("/v1/x?y=1", {"authorization": "Bearer t"})
        assert await client.send(request) == b"hello"
        assert await client.send(request) == b"abcdefg"
        assert await client.send(request) == b""
        with pytest.raises(HttpStatusError) as refused:
            await client.send(request)
    assert refused.value.status == 404
    assert requests[0].startswith(b"GET /v1/x?y=1 HTTP/1.1\r\n")
    assert b"authorization: Bearer t\r\n" in requests[0]
    server.close()
    await server.wait_closed()
