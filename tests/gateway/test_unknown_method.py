"""A gRPC method no layer serves: UNIMPLEMENTED, E9404 and the method named, at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import code_pb2
from grpc_status import rpc_status

from services.kit import open_channel
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, error_metadata, platform_code

pytestmark = [pytest.mark.integration, pytest.mark.l09]

UNKNOWN_SERVICE = "/agentic.nothing.v1.NoService/Get"
UNKNOWN_METHOD = "/agentic.data.v1.EventStoreService/NoSuchMethod"
# Far longer than an answer takes; the client's stream stays open all that time.
PATIENCE_SECONDS = 10


def _assert_unknown(error: grpc.aio.AioRpcError, path: str) -> None:
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    assert (error.details() or "").startswith("E9404")
    assert path in (error.details() or "")
    assert platform_code(error) == "E9404"
    assert error_metadata(error)["method"] == path


@pytest.mark.parametrize("path", [UNKNOWN_SERVICE, UNKNOWN_METHOD])
async def test_an_unknown_unary_method_is_unimplemented_and_named(
    mesh: RunningMesh, path: str
) -> None:
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(path)(b"")
    _assert_unknown(caught.value, path)


@pytest.mark.parametrize("path", [UNKNOWN_SERVICE, UNKNOWN_METHOD])
async def test_an_open_client_stream_hears_at_once(mesh: RunningMesh, path: str) -> None:
    """The client sends nothing and never closes its side: the answer must not wait for it."""
    never_closed = asyncio.Event()

    async def requests() -> AsyncIterator[bytes]:
        await never_closed.wait()
        yield b""

    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        call = channel.stream_stream(path)(requests())
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async with asyncio.timeout(PATIENCE_SECONDS):
                async for _ in call:
                    pass
    _assert_unknown(caught.value, path)


async def test_the_status_details_agree_with_the_status(mesh: RunningMesh) -> None:
    """grpcio-status's reader checks that the details repeat the call's code and message."""
    async with open_channel(mesh.gateway_target, token=DEV_TOKEN) as channel:
        call = channel.unary_unary(UNKNOWN_METHOD)(b"")
        with pytest.raises(grpc.aio.AioRpcError):
            await call
        status = await rpc_status.aio.from_call(call)
    assert status is not None
    assert status.code == code_pb2.UNIMPLEMENTED
    assert status.message.endswith("agentic.data.v1.EventStoreService has no method NoSuchMethod")


async def test_an_unknown_method_still_needs_credentials(mesh: RunningMesh) -> None:
    async with open_channel(mesh.gateway_target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(UNKNOWN_SERVICE)(b"")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert platform_code(caught.value) == "E9401"
