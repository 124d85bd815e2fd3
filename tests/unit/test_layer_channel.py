"""A layer's long-lived channel follows it through the registry: real grpc.aio servers of the
layer registering in a local registry, and real calls over the channel before and after the
layer moves."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.kit import GrpcServer, ServiceDefinition, ServiceSettings
from services.kit.clients import open_channel
from services.kit.errors import ErrorCatalog
from services.kit.layer_channel import LayerChannel
from services.kit.layers import layer_by_key

pytestmark = [pytest.mark.unit, pytest.mark.kit]

ROLES = layer_by_key("l13")


def _server() -> GrpcServer:
    definition = ServiceDefinition(
        layer=ROLES.name, errors=ErrorCatalog(ROLES), service_names=[], registrars=[]
    )
    return GrpcServer(definition, ServiceSettings(host="127.0.0.1", port=0))


@pytest.fixture
def local_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CONSUL_HTTP_ADDR", "AGENTIC_ADVERTISE_HOST", "AGENTIC_L13_TARGET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTIC_HOME", str(tmp_path))
    monkeypatch.setenv("AGENTIC_L13_PORT", "1")  # where nothing listens: only the registry


async def _serving(channel: grpc.aio.Channel) -> bool:
    answer = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(), timeout=5
    )
    return answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_calls_follow_the_layer_to_where_it_moved(local_registry: None) -> None:
    first = _server()
    await first.__aenter__()
    async with LayerChannel("l13", open_channel, refresh_seconds=3600) as channel:
        assert channel.target == f"127.0.0.1:{first.port}"
        assert await _serving(channel)
        # A second process registers, then the first one stops: the layer moved.
        async with _server() as second:
            await channel.refresh()
            assert channel.target == f"ipv4:127.0.0.1:{second.port},127.0.0.1:{first.port}"
            assert await _serving(channel)
            await first.__aexit__(None, None, None)
            await channel.refresh()
            assert channel.target == f"127.0.0.1:{second.port}"
            # The same stub as before the move: its calls reach the second process.
            for _ in range(5):
                assert await _serving(channel)


async def test_a_call_looks_the_layer_up_again_once_the_last_lookup_is_old(
    local_registry: None,
) -> None:
    async with _server() as first:
        async with LayerChannel("l13", open_channel, refresh_seconds=0.05) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            assert channel.target == f"127.0.0.1:{first.port}"
            async with _server() as second:
                await asyncio.sleep(0.06)
                await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
                for _ in range(100):  # the lookup runs beside the call, in a thread
                    if "," in channel.target:
                        break
                    await asyncio.sleep(0.02)
                assert channel.target == f"ipv4:127.0.0.1:{second.port},127.0.0.1:{first.port}"
                assert (await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)).status


async def test_an_explicit_target_is_never_replaced(
    local_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _server() as server:
        monkeypatch.setenv("AGENTIC_L13_TARGET", f"127.0.0.1:{server.port}")
        async with LayerChannel("l13", open_channel, refresh_seconds=0) as channel:
            async with _server():  # registered, but the override wins
                await channel.refresh()
                assert channel.target == f"127.0.0.1:{server.port}"
                assert await _serving(channel)


async def test_a_registry_that_fails_keeps_the_channel(
    local_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _server() as server:
        async with LayerChannel("l13", open_channel, refresh_seconds=0) as channel:
            monkeypatch.setenv("AGENTIC_HOME", "")  # no registry now, and a port setting
            monkeypatch.setenv("AGENTIC_L13_PORT", "not-a-port")  # that is no port
            await channel.refresh()
            assert channel.target == f"127.0.0.1:{server.port}"
            assert await _serving(channel)


async def test_the_same_instances_in_another_order_keep_the_channel(
    local_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _server() as first, _server() as second:
        listed = f"127.0.0.1:{first.port},127.0.0.1:{second.port}"
        monkeypatch.setenv("AGENTIC_L13_TARGET", f"ipv4:{listed}")
        async with LayerChannel("l13", open_channel, refresh_seconds=0) as channel:
            before = channel.current()
            monkeypatch.delenv("AGENTIC_L13_TARGET")  # the registry lists them newest first
            await channel.refresh()
            assert channel.current() is before
            assert channel.target == f"ipv4:{listed}"


async def test_a_channel_that_lost_its_layer_looks_it_up_without_waiting(
    local_registry: None,
) -> None:
    first = _server()
    await first.__aenter__()
    no_periodic_lookup = 3600
    async with LayerChannel("l13", open_channel, refresh_seconds=no_periodic_lookup) as channel:
        assert await _serving(channel)
        async with _server() as second:
            await first.__aexit__(None, None, None)  # gone: deregistered, connection closed
            answers = []
            for _ in range(40):
                try:
                    answers.append(await _serving(channel))
                except grpc.aio.AioRpcError as error:
                    assert error.code() == grpc.StatusCode.UNAVAILABLE
                    answers.append(False)
                if answers[-3:] == [True] * 3:
                    break
                await asyncio.sleep(0.2)
            assert channel.target == f"127.0.0.1:{second.port}"
            assert answers[-3:] == [True] * 3, answers
