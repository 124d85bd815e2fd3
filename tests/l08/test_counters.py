"""L08's call counters live in Redis: they slide over a minute, reset each UTC day, and
survive a `kill -9` of L08 (rates and quotas are not reset by a crash)."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import grpc
import pytest
import redis.asyncio as redis

from agentic.supervision.v1 import decisions_pb2_grpc as de_grpc
from services.l08_supervision.counters import CallCounters
from tests.conftest import RunningMesh
from tests.l08.support import TOOL_POLICIES, agent, call_tool, deploy, tool

pytestmark = [pytest.mark.integration, pytest.mark.l08]


async def test_counters_slide_over_a_minute_and_reset_each_day(
    redis_client: redis.Redis,
) -> None:
    now = [86400.0 * 10 + 30]
    counters = CallCounters(redis_client, lambda: now[0])
    principal = f"p-{uuid.uuid4().hex[:8]}"
    assert await counters.count(principal, "call_tool") == (1, 1)
    now[0] += 59
    assert await counters.count(principal, "call_tool") == (2, 2)
    now[0] += 2
    assert await counters.count(principal, "call_tool") == (2, 3)
    assert await counters.count(f"{principal}-b", "call_tool") == (1, 1)
    assert await counters.count(principal, "call_model") == (1, 1)
    now[0] = 86400.0 * 11 + 1
    assert await counters.count(principal, "call_tool") == (1, 1)


async def test_counts_survive_a_kill_9_of_l08(
    mesh: RunningMesh, gateway_channel: grpc.aio.Channel
) -> None:
    await deploy(gateway_channel, TOOL_POLICIES)
    decisions = de_grpc.DecisionServiceStub(gateway_channel)
    who = agent()
    request = call_tool(who, tool("read.file"))
    for _ in range(3):
        reply = await decisions.Evaluate(request)
    assert reply.context["calls_today"] == 3

    (status,) = [s for s in mesh.mesh.status() if s.name == "l08_supervision"]
    assert status.pid
    os.kill(status.pid, signal.SIGKILL)
    await asyncio.sleep(1.5)
    await asyncio.to_thread(mesh.mesh.start_component, "l08_supervision", 60)
    for _ in range(100):  # Envoy sees the new process within its health-check interval
        try:
            reply = await decisions.Evaluate(request)
            break
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error
            await asyncio.sleep(0.1)
    assert reply.context["calls_today"] == 4
    assert reply.context["calls_last_minute"] == 4
