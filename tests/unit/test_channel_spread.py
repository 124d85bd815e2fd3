"""A channel to a layer run as several processes spreads its calls over all of them."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.kit import open_channel
from services.kit.clients import loopback_target

pytestmark = [pytest.mark.unit, pytest.mark.kit]


def test_one_process_is_a_plain_address_several_an_ipv4_list() -> None:
    assert loopback_target([8001]) == "127.0.0.1:8001"
    assert loopback_target([8004, 8204]) == "ipv4:127.0.0.1:8004,127.0.0.1:8204"


async def test_calls_reach_every_process_of_the_target() -> None:
    # Two real servers; each reports the service "who" as a status of its own, so an
    # answer tells which process gave it.
    servers, ports = [], []
    for status in (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    ):
        server = grpc.aio.server()
        servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        ports.append(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        await servicer.set("who", status)
        servers.append(server)
    try:
        async with open_channel(loopback_target(ports)) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            seen = {
                (await stub.Check(health_pb2.HealthCheckRequest(service="who"))).status
                for _ in range(20)
            }
        assert seen == {
            health_pb2.HealthCheckResponse.SERVING,
            health_pb2.HealthCheckResponse.NOT_SERVING,
        }
    finally:
        for server in servers:
            await server.stop(None)
