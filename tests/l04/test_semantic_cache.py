"""The semantic cache, for real: MiniLM embeddings in L01's pgvector store, SmolLM2 answers."""

from __future__ import annotations

import uuid

import pytest

from agentic.models.v1 import models_pb2 as pb
from agentic.models.v1 import models_pb2_grpc
from services.l04_models.semantic_cache import cache_text, normalise
from tests.l04.conftest import LOCAL_MODEL
from tests.l04.support import ask

pytestmark = [pytest.mark.integration, pytest.mark.l04]


def _ask(text: str, tenant: str, *, bypass: bool = False) -> pb.GenerateRequest:
    return pb.GenerateRequest(
        messages=[pb.Message(role="user", content=text)],
        model=LOCAL_MODEL,
        max_tokens=8,
        tenant_id=tenant,
        cache=pb.CacheControl(bypass=bypass),
    )


async def test_a_paraphrase_hits_a_different_question_misses_and_tenants_are_isolated(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    tenant, other = f"t-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    first = await models.Generate(_ask("What is the capital of France?", tenant))
    assert not first.cached and first.provider == "local"

    paraphrase = await models.Generate(_ask("Which city is the capital of France?", tenant))
    assert paraphrase.cached and paraphrase.content == first.content
    assert paraphrase.provider == "local" and paraphrase.model == LOCAL_MODEL
    assert paraphrase.usage.cost_usd == 0

    different = await models.Generate(_ask("What is the capital of Germany?", tenant))
    assert not different.cached

    elsewhere = await models.Generate(_ask("Which city is the capital of France?", other))
    assert not elsewhere.cached, "another tenant never sees this tenant's answers"

    bypassed = await models.Generate(
        _ask("Which city is the capital of France?", tenant, bypass=True)
    )
    assert not bypassed.cached


async def test_a_stricter_threshold_per_request_turns_a_paraphrase_into_a_miss(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    await models.Generate(_ask("How do I reset my password?", tenant))
    strict = _ask("I forgot my password, how can I reset it?", tenant)
    strict.cache.similarity_threshold = 0.99
    assert not (await models.Generate(strict)).cached


def test_the_cache_key_ignores_case_punctuation_and_spacing() -> None:
    assert normalise("  What's   the CAPITAL of France?? ") == "what s the capital of france"
    assert cache_text(ask("Hi there!")) == "hi there"


def test_tool_conversations_are_not_served_by_the_semantic_cache() -> None:
    from services.l04_models.conversation import ToolSpec

    assert cache_text(ask(tools=(ToolSpec("t", "", {"type": "object"}),))) is None


async def _streamed(
    models: models_pb2_grpc.ModelServiceStub, request: pb.GenerateRequest
) -> tuple[list[str], pb.GenerateResponse]:
    deltas: list[str] = []
    async for message in models.StreamGenerate(pb.StreamGenerateRequest(request=request)):
        if message.HasField("final"):
            return deltas, message.final
        deltas.append(message.text_delta)
    raise AssertionError("the stream ended without a final message")


async def test_stream_generate_hits_on_a_paraphrase_and_replays_it_as_deltas(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    _, first = await _streamed(models, _ask("How many legs does a spider have?", tenant))
    assert not first.cached and first.provider == "local"

    deltas, paraphrase = await _streamed(models, _ask("How many legs do spiders have?", tenant))
    assert paraphrase.cached and paraphrase.usage.cost_usd == 0
    assert deltas and "".join(deltas) == paraphrase.content == first.content

    _, different = await _streamed(models, _ask("How many legs does a cat have?", tenant))
    assert not different.cached


async def test_a_generated_answer_serves_a_later_stream_of_a_paraphrase(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    first = await models.Generate(_ask("Who wrote Romeo and Juliet?", tenant))
    deltas, streamed = await _streamed(
        models, _ask("Who is the author of Romeo and Juliet?", tenant)
    )
    assert streamed.cached and "".join(deltas) == first.content
