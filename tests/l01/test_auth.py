"""Every EventStore RPC refuses calls without a valid bearer token."""

import asyncio
import os
import sys

import grpc
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from services.launcher.mesh import free_port
from tests.support import new_event, platform_code, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l01]


def _calls(stub: event_store_pb2_grpc.EventStoreServiceStub):
    yield stub.AppendEvents(pb.AppendEventsRequest(stream_id="s", events=[new_event()]))
    yield stub.ReadStream(pb.ReadStreamRequest(stream_id="s"))
    yield stub.ReadAll(pb.ReadAllRequest())


async def _assert_refused(target: str, token: str | None, code: str = "E1001") -> None:
    async with open_channel(target, token=token) as channel:
        stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
        for call in _calls(stub):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert platform_code(caught.value) == code
        stream = stub.SubscribeAll(pb.SubscribeAllRequest())
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in stream:
                pass
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        appends = stub.AppendStream()  # refused on opening, before any message
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await appends.read()
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
@pytest.mark.parametrize("path", ["direct", "envoy"])
async def test_every_rpc_refuses_missing_or_wrong_tokens(mesh, token, path) -> None:
    target = mesh.l01_target if path == "direct" else mesh.gateway_target
    # Through Envoy the gateway refuses them before L01 sees them.
    await _assert_refused(target, token, "E1001" if path == "direct" else "E9401")


async def test_both_dev_tokens_are_accepted_in_development(mesh) -> None:
    for token in ("dev_key_local_ONLY", "test_token_123"):
        async with open_channel(mesh.l01_target, token=token) as channel:
            stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
            await stub.ReadAll(pb.ReadAllRequest(max_count=1))


async def test_health_answers_without_a_token(mesh) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async with open_channel(mesh.l01_target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.slow
async def test_production_key_refuses_dev_tokens(mesh) -> None:
    """A second L01 process on the same database, started with L01_API_KEY set."""
    port = free_port()
    env = {
        **os.environ,
        "L01_PORT": str(port),
        "L01_API_KEY": "prod-key-for-test",
        "DATABASE_URL": mesh.database_url,
        "REDIS_URL": mesh.redis_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.l01_data",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        target = f"127.0.0.1:{port}"
        async with open_channel(target, token="prod-key-for-test") as channel:
            stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
            reply = None
            for _ in range(600):  # L01 starting: up to a minute on a busy machine
                try:
                    reply = await stub.AppendEvents(
                        pb.AppendEventsRequest(stream_id=stream_name(), events=[new_event()])
                    )
                    break
                except grpc.aio.AioRpcError as error:
                    if error.code() != grpc.StatusCode.UNAVAILABLE:
                        raise
                    await asyncio.sleep(0.1)
            assert reply is not None, "L01 never started"
            assert reply.last_version == 0
        await _assert_refused(target, "dev_key_local_ONLY")
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
