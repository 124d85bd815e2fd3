"""Token buckets, budgets, usage records and the exact cache, on the session's real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as redis

from services.kit import PlatformError
from services.kit.redis_client import redis_client
from services.l04_models.conversation import CachePolicy
from services.l04_models.limits import budget_key
from services.l04_models.tenancy import agent_owner
from services.l04_models.usage import UsageRecorder, read_usage
from tests.conftest import RunningMesh
from tests.l04 import fakes
from tests.l04.support import ask, make_gateway

pytestmark = [pytest.mark.integration, pytest.mark.l04]


def _replies(script: fakes.Script, n: int) -> None:
    script.replies += [fakes.Reply(body=fakes.ollama_chat(f"answer {i}")) for i in range(n)]


async def test_an_agent_over_its_requests_per_minute_is_refused(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    _replies(script, 3)
    gateway = make_gateway(redis_bytes, providers, agent_requests=2)
    request = ask()
    await gateway.generate(request)
    await gateway.generate(request)
    with pytest.raises(PlatformError) as caught:
        await gateway.generate(request)
    assert caught.value.code == "E4008"
    assert 0 < float(caught.value.metadata["retry_after_seconds"]) <= 30.1
    assert len(script.requests) == 2, "the refused request never reached the provider"
    other_agent = await gateway.generate(ask())
    assert other_agent.completion.content == "answer 2"


async def test_an_agents_rate_limit_is_its_tenants_not_another_tenants_namesake(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    _replies(script, 4)
    gateway = make_gateway(redis_bytes, providers, agent_requests=1)
    mine = ask()
    namesake = ask(agent_id=mine.agent_id)  # the same agent id, in another tenant
    await gateway.generate(mine)
    with pytest.raises(PlatformError) as caught:
        await gateway.generate(mine)
    assert caught.value.code == "E4008" and repr(mine.tenant_id) in caught.value.message
    assert (await gateway.generate(namesake)).completion.content == "answer 1"
    # Calls that name no agent share their tenant's bucket, not everyone's.
    await gateway.generate(ask(agent_id="", tenant_id=mine.tenant_id))
    with pytest.raises(PlatformError):
        await gateway.generate(ask(agent_id="", tenant_id=mine.tenant_id))
    assert (await gateway.generate(ask(agent_id=""))).completion.content == "answer 3"


async def test_tokens_per_minute_count_the_prompt_and_max_tokens(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    _replies(script, 1)
    gateway = make_gateway(redis_bytes, providers, agent_tokens=1000)
    request = ask("x" * 2000, max_tokens=400)  # ~500 prompt + 400 answer tokens
    await gateway.generate(request)
    with pytest.raises(PlatformError) as caught:
        await gateway.generate(request)
    assert caught.value.code == "E4008" and "tokens/min" in caught.value.message


async def test_a_request_bigger_than_the_whole_bucket_says_so(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, _ = llama
    gateway = make_gateway(redis_bytes, providers, agent_tokens=100)
    with pytest.raises(PlatformError, match="more than the limit"):
        await gateway.generate(ask("y" * 4000))


async def test_an_exhausted_budget_is_refused_before_any_provider_call(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    request = ask()
    await redis_bytes.hset(
        budget_key("agent", agent_owner(request.tenant_id, request.agent_id)),
        mapping={"limit_tokens": 10, "spent_tokens": 10},
    )
    with pytest.raises(PlatformError) as caught:
        await make_gateway(redis_bytes, providers).generate(request)
    assert caught.value.code == "E4009" and caught.value.error.kind.name == "RESOURCE_EXHAUSTED"
    assert "10 of 10 tokens" in caught.value.message and not script.requests


async def test_usage_is_counted_and_spends_the_budget(redis_bytes: redis.Redis, llama) -> None:
    providers, script = llama
    _replies(script, 2)
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    request = ask(tenant_id=tenant)
    await redis_bytes.hset(budget_key("tenant", tenant), mapping={"limit_tokens": 20})
    events: list[tuple[str, list[dict]]] = []

    async def sink(stream: str, batch: list[dict]) -> None:
        events.append((stream, batch))

    gateway = make_gateway(redis_bytes, providers)
    gateway._usage = recorder = UsageRecorder(redis_bytes, sink)
    await gateway.generate(request)  # 9 + 4 tokens
    await recorder.flush()
    report = await read_usage(redis_bytes, "tenant", tenant)
    assert (report.requests, report.total.input_tokens, report.total.output_tokens) == (1, 9, 4)
    assert report.models["ollama/llama3.2"][0] == 1
    assert events[0][0] == "models.usage"
    assert events[0][1][0]["provider"] == "ollama" and events[0][1][0]["tenant_id"] == tenant
    await gateway.generate(request)  # 26 tokens spent now
    await recorder.flush()
    with pytest.raises(PlatformError, match="E4009"):
        await gateway.generate(request)


async def test_an_answer_refused_for_its_schema_is_counted_and_names_what_it_spent(
    redis_bytes: redis.Redis, llama
) -> None:
    """A model that keeps answering off the schema (or past max_tokens) is paid all the
    same: the refusal (E4010, E4011) spends the budget and tells the caller its tokens."""
    providers, script = llama
    script.replies += [fakes.Reply(body=fakes.ollama_chat("no json"))] * 2  # and the repair
    script.replies.append(fakes.Reply(body=fakes.ollama_chat('{"n": ', done_reason="length")))
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    await redis_bytes.hset(budget_key("tenant", tenant), mapping={"limit_tokens": 30})
    gateway = make_gateway(redis_bytes, providers)
    gateway._usage = recorder = UsageRecorder(redis_bytes, None)
    schema = {"type": "object", "required": ["n"]}
    with pytest.raises(PlatformError) as off_schema:
        await gateway.generate(ask(tenant_id=tenant, response_schema=schema))
    assert off_schema.value.code == "E4010"
    # Both calls: the answer and its repair, 9 + 4 tokens each.
    assert off_schema.value.metadata["input_tokens"] == "18"
    assert off_schema.value.metadata["output_tokens"] == "8"
    await recorder.flush()
    report = await read_usage(redis_bytes, "tenant", tenant)
    assert (report.requests, report.total.input_tokens, report.total.output_tokens) == (1, 18, 8)
    with pytest.raises(PlatformError) as cut_off:
        await gateway.generate(ask(tenant_id=tenant, response_schema=schema, max_tokens=3))
    assert cut_off.value.code == "E4011"
    assert (cut_off.value.metadata["input_tokens"], cut_off.value.metadata["output_tokens"]) == (
        "9",
        "4",
    )
    await recorder.flush()
    with pytest.raises(PlatformError, match="E4009"):  # 39 tokens spent of 30
        await gateway.generate(ask(tenant_id=tenant))
    assert len(script.requests) == 3, "the budget refused the last call before any provider"


async def test_unreachable_l01_keeps_usage_events_for_the_next_flush(
    redis_bytes: redis.Redis,
) -> None:
    from services.l04_models.conversation import Usage
    from services.l04_models.usage import UsageRecord

    attempts: list[int] = []

    async def failing_then_ok(stream: str, batch: list[dict]) -> None:
        attempts.append(len(batch))
        if len(attempts) == 1:
            raise ConnectionError("L01 down")

    recorder = UsageRecorder(redis_bytes, failing_then_ok)
    recorder.record(UsageRecord("m", "p", Usage(1, 1), "", "", False, 1.0))
    await recorder.flush()
    recorder.record(UsageRecord("m", "p", Usage(1, 1), "", "", False, 1.0))
    await recorder.flush()
    assert attempts == [1, 2]


async def test_the_exact_cache_answers_a_repeat_without_the_provider(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    _replies(script, 1)
    gateway = make_gateway(redis_bytes, providers)
    request = ask(f"What is {uuid.uuid4().hex}?", cache=CachePolicy())
    first = await gateway.generate(request)
    second = await gateway.generate(request)
    assert not first.cached and second.cached
    assert second.completion.content == first.completion.content
    assert second.completion.provider == "ollama" and second.completion.usage.cost_usd == 0
    assert len(script.requests) == 1


async def test_the_cache_is_isolated_per_tenant_and_can_be_bypassed(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    _replies(script, 3)
    gateway = make_gateway(redis_bytes, providers)
    question = f"What is {uuid.uuid4().hex}?"
    await gateway.generate(ask(question, tenant_id="a", cache=CachePolicy()))
    other = await gateway.generate(ask(question, tenant_id="b", cache=CachePolicy()))
    bypassed = await gateway.generate(ask(question, tenant_id="a", cache=CachePolicy(bypass=True)))
    assert not other.cached and not bypassed.cached
    assert len(script.requests) == 3


async def test_an_exhausted_budget_is_refused_even_when_the_answer_is_cached(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    _replies(script, 1)
    gateway = make_gateway(redis_bytes, providers)
    request = ask(f"What is {uuid.uuid4().hex}?", cache=CachePolicy())
    await gateway.generate(request)
    assert (await gateway.generate(request)).cached
    await redis_bytes.hset(
        budget_key("agent", agent_owner(request.tenant_id, request.agent_id)),
        mapping={"limit_tokens": 1, "spent_tokens": 1},
    )
    with pytest.raises(PlatformError) as caught:
        await gateway.generate(request)
    assert caught.value.code == "E4009"


async def test_a_batch_l01_refused_halfway_is_resent_from_where_it_stopped(
    redis_bytes: redis.Redis,
) -> None:
    from services.l04_models.conversation import Usage
    from services.l04_models.usage import EVENTS_PER_APPEND, UsageRecord

    delivered: list[float] = []
    calls = 0

    async def fails_on_the_second_append(stream: str, batch: list[dict]) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("L01 down")
        delivered.extend(event["latency_ms"] for event in batch)

    recorder = UsageRecorder(redis_bytes, fails_on_the_second_append)
    total = EVENTS_PER_APPEND * 2 + 5
    for i in range(total):
        recorder.record(UsageRecord("m", "p", Usage(1, 1), "", "", False, float(i)))
    await recorder.flush()
    await recorder.flush()
    assert delivered == [float(i) for i in range(total)], "each event exactly once, in order"


async def test_usage_events_still_unsent_at_shutdown_are_reported_as_lost(
    redis_bytes: redis.Redis,
) -> None:
    from structlog.testing import capture_logs

    from services.l04_models.conversation import Usage
    from services.l04_models.usage import UsageRecord

    async def unreachable(stream: str, batch: list[dict]) -> None:
        raise ConnectionError("L01 down")

    recorder = UsageRecorder(redis_bytes, unreachable)
    for _ in range(3):
        recorder.record(UsageRecord("m", "p", Usage(1, 1), "", "", False, 1.0))
    with capture_logs() as logs:
        await recorder.close()
    lost = [entry for entry in logs if entry["event"] == "usage.events_lost"]
    assert lost and lost[0]["events"] == 3 and lost[0]["log_level"] == "error"


async def test_the_recorder_sends_events_less_often_than_it_counts(
    redis_bytes: redis.Redis,
) -> None:
    import asyncio

    from services.l04_models.conversation import Usage
    from services.l04_models.usage import UsageRecord

    batches: list[int] = []

    async def sink(stream: str, batch: list[dict]) -> None:
        batches.append(len(batch))

    agent = f"agent-{uuid.uuid4().hex[:8]}"
    recorder = UsageRecorder(redis_bytes, sink, flush_seconds=0.01, event_seconds=3600)
    task = asyncio.create_task(recorder.run())
    recorder.record(UsageRecord("m", "p", Usage(2, 3), agent, "t", False, 1.0))
    while (await read_usage(redis_bytes, "agent", agent_owner("t", agent))).requests == 0:
        await asyncio.sleep(0.01)
    assert batches == [], "counted in Redis at once, the event waits for its batch"
    recorder.stop()
    await task
    assert batches == [1], "the last flush on stopping sends what is pending"


async def test_more_concurrent_calls_than_redis_connections_wait_instead_of_failing(
    mesh: RunningMesh, llama
) -> None:
    # The kit's pool holds 4 connections here; 40 calls at once each need one for admission
    # and usage. redis-py's default pool would raise MaxConnectionsError (an internal error).
    providers, script = llama
    _replies(script, 40)
    client = redis_client(mesh.redis_url, max_connections=4)
    try:
        gateway = make_gateway(client, providers)
        answers = await asyncio.gather(*(gateway.generate(ask()) for _ in range(40)))
    finally:
        await client.aclose()
    assert len(answers) == 40 and len(script.requests) == 40
