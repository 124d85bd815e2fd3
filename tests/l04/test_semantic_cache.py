"""The semantic cache, for real: MiniLM embeddings in L01's pgvector store, SmolLM2 answers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
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
    """Read to the stream's end: the answer is cached after the final message is sent."""
    deltas: list[str] = []
    final: pb.GenerateResponse | None = None
    async for message in models.StreamGenerate(pb.StreamGenerateRequest(request=request)):
        if message.HasField("final"):
            final = message.final
        else:
            assert final is None, "a delta after the final message"
            deltas.append(message.text_delta)
    assert final is not None, "the stream ended without a final message"
    return deltas, final


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


# -- near misses through the gateway (Envoy, REST) -------------------------------------------


async def _rest_ask(
    rest: httpx.AsyncClient, text: str, *, system: str, tenant: str, **cache: Any
) -> dict[str, Any]:
    response = await rest.post(
        "/v1/models:generate",
        json={
            "messages": [{"role": "user", "content": text}],
            "system": system,
            "model": LOCAL_MODEL,
            "max_tokens": 4,
            "tenant_id": tenant,
            "cache": {"explain": True, **cache},
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _fresh() -> tuple[str, str]:
    """A tenant and a system prompt of this test's own: no other test's entries can answer."""
    tag = uuid.uuid4().hex[:8]
    return f"t-{tag}", f"You are a terse assistant ({tag})."


NEAR_MISSES = [
    ("order", "Convert 100 Fahrenheit to Celsius.", "Convert 100 Celsius to Fahrenheit."),
    ("order", "Did the tenant sue the landlord?", "Did the landlord sue the tenant?"),
    ("antonym", "Summarize the benefits of event sourcing.",
     "Summarize the drawbacks of event sourcing."),
    ("negation", "Which houseplants are toxic to cats?",
     "Which houseplants are not toxic to cats?"),
    ("number", "Give me 3 tips for writing clean code.", "Give me 7 tips for writing clean code."),
    ("unit", "How many grams of sugar are in a can of cola?",
     "How many ounces of sugar are in a can of cola?"),
    ("entity", "What are the opening hours of the Louvre Museum in Paris?",
     "What are the opening hours of the Orsay Museum in Paris?"),
    ("language", "Translate the sentence 'the meeting moved to Monday' into German.",
     "Translate the sentence 'the meeting moved to Monday' into Dutch."),
    ("format", "Return the list of our office locations as JSON.",
     "Return the list of our office locations as YAML."),
    ("action", "List every table in the staging database.",
     "Drop every table in the staging database."),
    ("action", "Grant the analytics team read access to the billing database.",
     "Revoke the analytics team's read access to the billing database."),
    ("action", "Enable the firewall rules on the staging server.",
     "Disable the firewall rules on the staging server."),
    ("substitution", "Is this adjacency matrix sparse?", "Is this adjacency matrix dense?"),
    ("question", "Where was Ada Lovelace born?", "When was Ada Lovelace born?"),
    ("quantity", "How do I export all users from Okta?", "How do I export one user from Okta?"),
    ("time", "Which public holidays fall on a Monday this year?",
     "Which public holidays fall on a Monday next year?"),
    ("condition", "How can I learn Italian online?", "How can I learn Italian online for free?"),
    ("qualifier", "What does a data engineer earn in Lisbon?",
     "What does a senior data engineer earn in Lisbon?"),
    ("qualifier", "How do I remove all Docker images?", "How do I remove unused Docker images?"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "cached", "asked"), NEAR_MISSES)
async def test_the_second_stage_refuses_a_near_miss_the_first_stage_accepted(
    rest: httpx.AsyncClient, kind: str, cached: str, asked: str
) -> None:
    tenant, system = _fresh()
    first = await _rest_ask(rest, cached, system=system, tenant=tenant)
    assert first["cached"] is False
    # A low threshold lets every near miss through the first stage: the second must stop it.
    near = await _rest_ask(rest, asked, system=system, tenant=tenant, similarity_threshold=0.6)
    assert near["cached"] is False
    report = near["cache_report"]
    assert report["similarity"] >= 0.6, "the first stage accepted the candidate"
    assert report["outcome"] == "near_miss_refused" and report["refused_kind"] == kind
    assert report["reason"]


async def test_the_reported_near_misses_miss_at_the_default_threshold(
    rest: httpx.AsyncClient,
) -> None:
    """The two false hits first reported, each a fresh conversation with one system prompt."""
    tenant, system = _fresh()
    for cached, asked in [
        ("Convert 100 Fahrenheit to Celsius.", "Convert 100 Celsius to Fahrenheit."),
        ("Summarize the benefits of event sourcing.", "Summarize the drawbacks of event sourcing."),
    ]:
        await _rest_ask(rest, cached, system=system, tenant=tenant)
        near = await _rest_ask(rest, asked, system=system, tenant=tenant)
        assert near["cached"] is False
        assert near["cache_report"]["outcome"] == "near_miss_refused", near["cache_report"]


@pytest.mark.parametrize(
    ("cached", "asked"),
    [
        ("What is the capital of France?", "Which city is the capital of France?"),
        ("Convert 100 Fahrenheit to Celsius.", "Please convert 100 Fahrenheit to Celsius."),
        ("How do I delete a branch in git?", "How can I remove a git branch?"),
        ("How do I reset my password?", "I forgot my password, how can I reset it?"),
        ("Which planet is closest to the sun?", "What planet is nearest to the Sun?"),
        # Said in other words around a word no list names ("population" / "people live").
        ("What is the population of Canada?", "How many people live in Canada?"),
    ],
)
async def test_a_paraphrase_is_served_from_the_cache(
    rest: httpx.AsyncClient, cached: str, asked: str
) -> None:
    tenant, system = _fresh()
    first = await _rest_ask(rest, cached, system=system, tenant=tenant)
    assert first["cache_report"]["outcome"] == "miss"
    again = await _rest_ask(rest, asked, system=system, tenant=tenant)
    assert again["cached"] is True and again["content"] == first["content"]
    assert again["cache_report"]["outcome"] == "semantic_hit"
    exact = await _rest_ask(rest, cached, system=system, tenant=tenant)
    assert exact["cached"] is True and exact["cache_report"]["outcome"] == "exact_hit"


async def test_another_system_prompt_or_tenant_never_sees_a_cached_answer(
    rest: httpx.AsyncClient,
) -> None:
    tenant, system = _fresh()
    question = "What is the capital of France?"
    await _rest_ask(rest, question, system=system, tenant=tenant)
    assert (await _rest_ask(rest, question, system=system, tenant=tenant))["cached"] is True
    other_system = await _rest_ask(rest, question, system=system + " Be formal.", tenant=tenant)
    assert other_system["cached"] is False
    assert other_system["cache_report"]["outcome"] == "miss", "nothing in its partition"
    other_tenant = await _rest_ask(rest, question, system=system, tenant=tenant + "-other")
    assert other_tenant["cached"] is False


async def test_the_report_is_only_sent_when_asked(rest: httpx.AsyncClient) -> None:
    tenant, system = _fresh()
    response = await rest.post(
        "/v1/models:generate",
        json={"messages": [{"role": "user", "content": "Say ok."}], "system": system,
              "model": LOCAL_MODEL, "max_tokens": 2, "tenant_id": tenant},
        timeout=120,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert "cache_report" not in response.json()
    bypassed = await _rest_ask(rest, "Say ok.", system=system, tenant=tenant, bypass=True)
    assert bypassed["cache_report"]["outcome"] == "bypassed"


async def test_stream_generate_refuses_a_near_miss_too(
    models_via_envoy: models_pb2_grpc.ModelServiceStub,
) -> None:
    tenant, system = _fresh()
    first = _ask("Enable the firewall rules on the staging server.", tenant)
    first.system = system
    await models_via_envoy.Generate(first)
    near = _ask("Disable the firewall rules on the staging server.", tenant)
    near.system = system
    near.cache.explain = True
    near.cache.similarity_threshold = 0.6
    deltas, final = await _streamed(models_via_envoy, near)
    assert not final.cached and "".join(deltas) == final.content
    assert final.cache_report.outcome == "near_miss_refused"
    assert final.cache_report.refused_kind == "action"
