"""Retries, fallback and circuit breakers, end to end through the gateway's domain code.

Providers are the protocol stand-ins of tests/l04/fakes (no keys or servers exist here);
rate limits, caches and usage use the session's real Redis.
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis

from services.kit import PlatformError
from services.l04_models.breaker import BreakerState
from services.l04_models.providers.anthropic_api import AnthropicProvider
from services.l04_models.providers.ollama import OllamaProvider
from tests.l04 import fakes
from tests.l04.support import Sleeps, ask, make_gateway

pytestmark = [pytest.mark.integration, pytest.mark.l04]


@pytest.fixture
async def two_providers():
    """Anthropic first, Ollama as its fallback, each with a script of replies."""
    claude, llama = fakes.Script(), fakes.Script()
    async with (
        fakes.serve(fakes.anthropic_app(claude)) as claude_url,
        fakes.serve(fakes.ollama_app(llama)) as llama_url,
    ):
        providers = {
            "anthropic": AnthropicProvider("sk-test", claude_url, timeout=5),
            "ollama": OllamaProvider(llama_url, timeout=5),
        }
        yield providers, claude, llama
        for provider in providers.values():
            await provider.close()


async def test_429_with_retry_after_is_retried_after_that_wait(
    redis_bytes: redis.Redis, two_providers
) -> None:
    providers, claude, _ = two_providers
    claude.replies += [
        fakes.anthropic_error(429, "rate_limit_error", "slow down", **{"retry-after": "2"}),
        fakes.Reply(body=fakes.anthropic_message("Fine.")),
    ]
    sleeps = Sleeps()
    answer = await make_gateway(redis_bytes, providers, sleeps=sleeps).generate(ask())
    assert answer.completion.provider == "anthropic" and answer.completion.content == "Fine."
    assert answer.failed_providers == ()
    assert len(claude.requests) == 2
    assert len(sleeps.delays) == 1 and 2.0 <= sleeps.delays[0] <= 2.01


async def test_529_overloaded_falls_back_to_the_next_provider(
    redis_bytes: redis.Redis, two_providers
) -> None:
    providers, claude, llama = two_providers
    claude.replies += [fakes.anthropic_error(529, "overloaded_error", "Overloaded")] * 3
    llama.replies.append(fakes.Reply(body=fakes.ollama_chat("From llama.")))
    sleeps = Sleeps()
    answer = await make_gateway(redis_bytes, providers, sleeps=sleeps).generate(ask())
    assert answer.completion.provider == "ollama"
    assert answer.completion.model == "ollama/llama3.2"
    assert answer.failed_providers == ("anthropic",)
    assert len(claude.requests) == 3, "two retries with backoff before falling back"
    assert len(sleeps.delays) == 2 and all(0 <= d <= 0.02 for d in sleeps.delays)


async def test_a_bad_request_is_not_retried_but_falls_back(
    redis_bytes: redis.Redis, two_providers
) -> None:
    providers, claude, llama = two_providers
    claude.replies.append(fakes.anthropic_error(400, "invalid_request_error", "bad"))
    llama.replies.append(fakes.Reply(body=fakes.ollama_chat("ok")))
    answer = await make_gateway(redis_bytes, providers).generate(ask())
    assert len(claude.requests) == 1 and answer.completion.provider == "ollama"


async def test_when_every_provider_fails_the_error_lists_each_reason(
    redis_bytes: redis.Redis, two_providers
) -> None:
    providers, claude, llama = two_providers
    claude.replies.append(fakes.anthropic_error(500, "api_error", "boom"))
    llama.replies.append(fakes.Reply(500, {"error": "broken"}))
    with pytest.raises(PlatformError) as caught:
        await make_gateway(redis_bytes, providers, max_retries=0).generate(ask())
    assert caught.value.code == "E4007"
    assert "anthropic/claude-sonnet-5-5: HTTP 500" in caught.value.message
    assert "ollama/llama3.2: HTTP 500" in caught.value.message
    assert caught.value.metadata["failed_providers"] == "anthropic,ollama"


async def test_when_every_provider_refuses_the_request_itself_it_is_the_callers_error(
    redis_bytes: redis.Redis, two_providers
) -> None:
    providers, claude, llama = two_providers
    claude.replies.append(fakes.anthropic_error(400, "invalid_request_error", "prompt is too long"))
    llama.replies.append(fakes.Reply(400, {"error": "input exceeds the context window"}))
    with pytest.raises(PlatformError) as caught:
        await make_gateway(redis_bytes, providers).generate(ask())
    assert caught.value.code == "E4014"
    assert "prompt is too long" in caught.value.message
    assert "context window" in caught.value.message


async def test_a_refusal_and_an_outage_together_stay_unavailable(
    redis_bytes: redis.Redis, two_providers
) -> None:
    providers, claude, llama = two_providers
    claude.replies.append(fakes.anthropic_error(400, "invalid_request_error", "prompt is too long"))
    llama.replies.append(fakes.Reply(500, {"error": "broken"}))
    with pytest.raises(PlatformError) as caught:
        await make_gateway(redis_bytes, providers, max_retries=0).generate(ask())
    assert caught.value.code == "E4007"


async def test_a_provider_that_does_not_answer_in_time_is_left_for_the_next(
    redis_bytes: redis.Redis,
) -> None:
    llama, claude = fakes.Script(), fakes.Script()
    llama.replies.append(fakes.Reply(body=fakes.ollama_chat("late"), delay=1))
    claude.replies.append(fakes.Reply(body=fakes.anthropic_message("on time")))
    async with (
        fakes.serve(fakes.ollama_app(llama)) as llama_url,
        fakes.serve(fakes.anthropic_app(claude)) as claude_url,
    ):
        providers = {
            "ollama": OllamaProvider(llama_url, timeout=30),
            "anthropic": AnthropicProvider("sk-test", claude_url, timeout=30),
        }
        request = ask(model="ollama/llama3.2")
        gateway = make_gateway(redis_bytes, providers, max_retries=0, timeout=0.2)
        answer = await gateway.generate(request)
        for provider in providers.values():
            await provider.close()
    assert answer.completion.provider == "anthropic" and answer.failed_providers == ("ollama",)


async def test_a_pinned_model_does_not_fall_back(redis_bytes: redis.Redis, two_providers) -> None:
    from services.l04_models.conversation import Routing, Strategy

    providers, claude, llama = two_providers
    claude.replies.append(fakes.anthropic_error(529, "overloaded_error", "Overloaded"))
    request = ask(model="anthropic/claude-haiku-5-5", routing=Routing(Strategy.PINNED))
    with pytest.raises(PlatformError):
        await make_gateway(redis_bytes, providers, max_retries=0).generate(request)
    assert claude.requests[0]["body"]["model"] == "claude-haiku-5-5" and not llama.requests


async def test_the_breaker_opens_after_n_failures_then_half_opens_for_one_probe(
    redis_bytes: redis.Redis, two_providers
) -> None:
    providers, claude, llama = two_providers
    gateway = make_gateway(
        redis_bytes, providers, max_retries=0, breaker_failures=2, breaker_reset=0.3
    )
    claude.replies += [fakes.anthropic_error(503, "api_error", "down")] * 2
    llama.replies += [fakes.Reply(body=fakes.ollama_chat("llama"))] * 3
    for _ in range(2):
        assert (await gateway.generate(ask())).completion.provider == "ollama"
    breaker = gateway._breakers["anthropic"]
    assert breaker.state is BreakerState.OPEN

    skipped = await gateway.generate(ask())  # open: anthropic is not even called
    assert len(claude.requests) == 2 and skipped.completion.provider == "ollama"
    assert skipped.failed_providers == ("anthropic",)

    await asyncio.sleep(0.35)
    assert breaker.state is BreakerState.HALF_OPEN
    claude.replies.append(fakes.Reply(body=fakes.anthropic_message("back")))
    probe = await gateway.generate(ask())
    assert probe.completion.provider == "anthropic" and breaker.state is BreakerState.CLOSED


async def test_output_is_repaired_once_with_the_schema_errors(
    redis_bytes: redis.Redis, two_providers
) -> None:
    providers, claude, _ = two_providers
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    claude.replies += [
        fakes.Reply(body=fakes.anthropic_message('{"n": "four"}')),
        fakes.Reply(body=fakes.anthropic_message('{"n": 4}')),
    ]
    # With tools present the schema cannot be a forced tool: plain text answers are checked.
    request = ask("2+2?", response_schema=schema, tools=(_echo_tool(),))
    answer = await make_gateway(redis_bytes, providers).generate(request)
    assert answer.completion.structured == {"n": 4}
    repair = claude.requests[1]["body"]["messages"]
    assert repair[-2]["content"][0]["text"] == '{"n": "four"}'
    assert "n: 'four' is not of type 'integer'" in repair[-1]["content"][0]["text"]
    assert answer.completion.usage.output_tokens == 14, "both calls are counted"


async def test_output_still_invalid_after_the_repair_is_an_error_with_reasons(
    redis_bytes: redis.Redis, two_providers
) -> None:
    providers, claude, _ = two_providers
    schema = {"type": "object", "required": ["n"]}
    claude.replies += [fakes.Reply(body=fakes.anthropic_message("no json"))] * 2
    with pytest.raises(PlatformError) as caught:
        await make_gateway(redis_bytes, providers).generate(
            ask(response_schema=schema, tools=(_echo_tool(),))
        )
    assert caught.value.code == "E4010" and "not JSON" in caught.value.message
    assert len(claude.requests) == 2


async def test_streaming_falls_back_before_the_first_delta(
    redis_bytes: redis.Redis, two_providers
) -> None:
    providers, claude, llama = two_providers
    claude.replies.append(fakes.anthropic_error(529, "overloaded_error", "Overloaded"))
    llama.replies.append(fakes.Reply(events=[
        {"message": {"role": "assistant", "content": "llama "}, "done": False},
        {**fakes.ollama_chat("streams"), "done": True},
    ]))  # fmt: skip
    gateway = make_gateway(redis_bytes, providers, max_retries=0)
    items = [item async for item in gateway.stream(ask())]
    assert items[:-1] == ["llama ", "streams"]
    final = items[-1]
    assert final.completion.provider == "ollama" and final.failed_providers == ("anthropic",)
    assert final.completion.content == "llama streams"


def _echo_tool():
    from services.l04_models.conversation import ToolSpec

    return ToolSpec("echo", "Echoes", {"type": "object", "properties": {}})
