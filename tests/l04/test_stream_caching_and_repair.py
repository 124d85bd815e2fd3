"""StreamGenerate: answers from the caches replayed as deltas, schemas validated and repaired.

The provider is the Ollama protocol stand-in of tests/l04/fakes; caches, limits and usage
use the session's real Redis.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid

import pytest
import redis.asyncio as redis

from services.kit import PlatformError
from services.l04_models.answer_cache import REPLAY_CHUNK_CHARS, replay
from services.l04_models.conversation import Answer, CachePolicy
from tests.l04 import fakes
from tests.l04.support import ask, make_gateway

pytestmark = [pytest.mark.integration, pytest.mark.l04]

NUMBER = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def _streamed(*parts: str) -> fakes.Reply:
    events = [{"message": {"role": "assistant", "content": p}, "done": False} for p in parts]
    return fakes.Reply(events=[*events, {**fakes.ollama_chat(""), "done": True}])


def _split(items: list) -> tuple[list[str], Answer]:
    *deltas, final = items
    assert isinstance(final, Answer) and all(isinstance(d, str) for d in deltas)
    return deltas, final


async def test_a_repeated_stream_is_replayed_from_the_exact_cache(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    script.replies.append(_streamed("The answer ", "is ", "forty-two."))
    gateway = make_gateway(redis_bytes, providers)
    request = ask(f"What is {uuid.uuid4().hex}?", cache=CachePolicy())
    first_deltas, first = _split([item async for item in gateway.stream(request)])
    again_deltas, again = _split([item async for item in gateway.stream(request)])
    assert not first.cached and first_deltas == ["The answer ", "is ", "forty-two."]
    assert again.cached and again.completion.usage.cost_usd == 0
    assert again_deltas and "".join(again_deltas) == again.completion.content
    assert again.completion.content == "The answer is forty-two."
    assert again.completion.provider == "ollama" and len(script.requests) == 1


async def test_a_client_that_hangs_up_after_the_final_message_does_not_cancel_the_write(
    redis_bytes: redis.Redis, llama
) -> None:
    """The answer is written after the final message; the server's handler is cancelled when
    its client hangs up then, and the write must finish all the same."""
    providers, script = llama
    script.replies.append(_streamed("Kept ", "anyway."))
    gateway = make_gateway(redis_bytes, providers)
    exact = gateway._cache._exact
    writing, may_finish = asyncio.Event(), asyncio.Event()
    real_put = exact.put

    async def slow_put(*args: object, **kwargs: object) -> None:
        writing.set()
        await may_finish.wait()
        await real_put(*args, **kwargs)  # type: ignore[arg-type]

    exact.put = slow_put  # type: ignore[method-assign]
    request = ask(f"What is {uuid.uuid4().hex}?", cache=CachePolicy())
    stream = gateway.stream(request)
    items = [await stream.__anext__() for _ in range(3)]
    assert isinstance(items[-1], Answer), "deltas, then the final answer"
    after_final = asyncio.ensure_future(stream.__anext__())  # the handler, writing the caches
    await writing.wait()
    after_final.cancel()  # the client hung up
    may_finish.set()
    with pytest.raises(asyncio.CancelledError):
        await after_final
    for _ in range(100):
        if await redis_bytes.exists(exact.key(request)):
            break
        await asyncio.sleep(0.01)
    assert await redis_bytes.exists(exact.key(request)), "the answer was cached all the same"


async def test_generate_and_stream_share_the_cache(redis_bytes: redis.Redis, llama) -> None:
    providers, script = llama
    script.replies.append(fakes.Reply(body=fakes.ollama_chat("Cached for both.")))
    gateway = make_gateway(redis_bytes, providers)
    request = ask(f"What is {uuid.uuid4().hex}?", cache=CachePolicy())
    await gateway.generate(request)
    deltas, final = _split([item async for item in gateway.stream(request)])
    assert final.cached and "".join(deltas) == "Cached for both."
    assert len(script.requests) == 1


async def test_a_bypassing_stream_neither_reads_nor_fills_the_cache(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    script.replies += [_streamed("one"), _streamed("two"), _streamed("three")]
    gateway = make_gateway(redis_bytes, providers)
    question = ask(f"What is {uuid.uuid4().hex}?", cache=CachePolicy())
    bypassed = dataclasses.replace(question, cache=CachePolicy(bypass=True))
    await _drain(gateway.stream(bypassed))
    _, second = _split([i async for i in gateway.stream(question)])
    _, third = _split([i async for i in gateway.stream(question)])
    assert not second.cached and second.completion.content == "two"
    assert third.cached and third.completion.content == "two"


async def test_a_stream_hit_still_takes_from_the_rate_limit(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    script.replies.append(_streamed("once"))
    gateway = make_gateway(redis_bytes, providers, agent_requests=2)
    request = ask(f"What is {uuid.uuid4().hex}?", cache=CachePolicy())
    await _drain(gateway.stream(request))
    await _drain(gateway.stream(request))  # a cache hit, admitted like any request
    with pytest.raises(PlatformError) as caught:
        await _drain(gateway.stream(request))
    assert caught.value.code == "E4008" and len(script.requests) == 1


async def test_with_a_schema_the_stream_is_validated_and_repaired_before_any_delta(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    script.replies += [
        fakes.Reply(body=fakes.ollama_chat('{"n": "four"}')),
        fakes.Reply(body=fakes.ollama_chat('{"n": 4}')),
    ]
    gateway = make_gateway(redis_bytes, providers)
    deltas, final = _split([item async for item in gateway.stream(ask(response_schema=NUMBER))])
    assert "".join(deltas) == '{"n": 4}', "the invalid first answer is never sent"
    assert final.completion.structured == {"n": 4}
    assert final.completion.usage.output_tokens == 8, "both calls are counted"
    assert [r["body"]["stream"] for r in script.requests] == [False, False], "buffered"
    repair = script.requests[1]["body"]
    assert repair["format"] == NUMBER and repair["messages"][-2]["content"] == '{"n": "four"}'
    assert "'four' is not of type 'integer'" in repair["messages"][-1]["content"]


async def test_with_a_schema_an_answer_invalid_after_the_repair_sends_nothing(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    script.replies += [fakes.Reply(body=fakes.ollama_chat("no json"))] * 2
    gateway = make_gateway(redis_bytes, providers)
    sent: list[object] = []
    with pytest.raises(PlatformError) as caught:
        async for item in gateway.stream(ask(response_schema=NUMBER)):
            sent.append(item)
    assert caught.value.code == "E4010" and "not JSON" in caught.value.message
    assert sent == [] and len(script.requests) == 2


async def test_with_a_schema_a_truncated_answer_is_an_error(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    script.replies.append(fakes.Reply(body=fakes.ollama_chat('{"n": ', done_reason="length")))
    gateway = make_gateway(redis_bytes, providers)
    with pytest.raises(PlatformError) as caught:
        await _drain(gateway.stream(ask(response_schema=NUMBER, max_tokens=3)))
    assert caught.value.code == "E4011"


async def test_a_validated_stream_answer_is_cached_with_its_document(
    redis_bytes: redis.Redis, llama
) -> None:
    providers, script = llama
    script.replies.append(fakes.Reply(body=fakes.ollama_chat('{"n": 7}')))
    gateway = make_gateway(redis_bytes, providers)
    request = ask(f"{uuid.uuid4().hex}?", response_schema=NUMBER, cache=CachePolicy())
    await _drain(gateway.stream(request))
    deltas, final = _split([item async for item in gateway.stream(request)])
    assert final.cached and final.completion.structured == {"n": 7}
    assert json.loads("".join(deltas)) == {"n": 7} and len(script.requests) == 1


async def _drain(stream) -> None:
    async for _ in stream:
        pass


def test_a_replay_gives_back_the_whole_text_in_word_bounded_chunks() -> None:
    text = "  Lorem ipsum dolor sit amet,\nconsectetur " * 20 + "x" * 100 + " end "
    chunks = list(replay(text))
    assert "".join(chunks) == text and len(chunks) > 10
    assert all(len(c) <= REPLAY_CHUNK_CHARS for c in chunks if "x" * 100 not in c)
    assert all(c[-1].isspace() for c in chunks[:-1]), "chunks end between words"
    assert list(replay("")) == [] and list(replay("one")) == ["one"]
