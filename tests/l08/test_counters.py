"""L08's call counters live in Redis: they slide over a minute, reset each UTC day, and
survive a `kill -9` of L08 (rates and quotas are not reset by a crash)."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from importlib import resources

import grpc
import pytest
import redis.asyncio as redis

from agentic.supervision.v1 import decisions_pb2_grpc as de_grpc
from services.l08_supervision import counters
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


async def test_counters_script_trims_the_minute_counts_the_day_and_sets_lives(
    redis_client: redis.Redis,
) -> None:
    """counters.lua on its own, run by Redis as L08 runs it."""
    script = redis_client.register_script(
        resources.files(counters.__package__).joinpath("counters.lua").read_text()
    )
    minute, today = f"test:minute:{uuid.uuid4().hex}", f"test:day:{uuid.uuid4().hex}"

    async def count(now: str, cutoff: str, member: str) -> list[int]:
        return await script(keys=[minute, today], args=[now, cutoff, member, 172800])

    assert await count("1000.5", "940.5", "a") == [1, 1]
    assert await count("1000.75", "940.75", "b") == [2, 2]
    # "a" is exactly a minute old at 1060.5: no longer counted; the day goes on counting.
    assert await count("1060.5", "1000.5", "c") == [2, 3]
    assert await redis_client.zrange(minute, 0, -1) == ["b", "c"]
    assert 59 < await redis_client.ttl(minute) <= 61
    assert 172700 < await redis_client.ttl(today) <= 172800
    # A member already there (the same request sent twice) is one request in the minute.
    assert await count("1060.6", "1000.6", "c") == [2, 4]


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
