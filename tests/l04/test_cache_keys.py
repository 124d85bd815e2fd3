"""What the answer caches key on (everything that shapes an answer, nothing that does not),
and what they report of a lookup."""

from __future__ import annotations

import dataclasses

import pytest

from services.kit.near_miss import Refusal
from services.l04_models.answer_cache import AnswerCache
from services.l04_models.conversation import (
    CachePolicy,
    CacheReport,
    Completion,
    GenerationRequest,
    Message,
    Routing,
    Strategy,
    ToolSpec,
    Usage,
)
from services.l04_models.exact_cache import ExactCache, request_fingerprint
from services.l04_models.semantic_cache import Probe, partition_key, question_text

BASE = GenerationRequest(
    messages=(Message("user", "What is the capital of France?"),),
    system="Answer in one word.",
    model="local/smollm2-135m",
    temperature=0.0,
    max_tokens=16,
    tenant_id="acme",
)
TOOL = ToolSpec("lookup", "Looks a city up.", {"type": "object", "properties": {}})


@pytest.mark.parametrize(
    "change",
    [
        {"messages": (Message("user", "What is the capital of Spain?"),)},
        {"system": "Answer in one sentence."},
        {"system": ""},
        {"tools": (TOOL,)},
        {"tools": (dataclasses.replace(TOOL, input_schema={"type": "object", "required": ["x"]}),)},
        {"response_schema": {"type": "string"}},
        {"response_schema": {"type": "string", "maxLength": 5}},
        {"model": "ollama/llama3.2"},
        {"temperature": 0.7},
        {"temperature": None},
        {"max_tokens": 17},
        {"routing": Routing(strategy=Strategy.COST)},
        {"tenant_id": "globex"},
    ],
    ids=lambda change: next(iter(change)),
)  # fmt: skip
def test_the_exact_key_changes_with_everything_that_shapes_the_answer(
    change: dict[str, object],
) -> None:
    other = dataclasses.replace(BASE, **change)  # type: ignore[arg-type]
    assert ExactCache.key(other) != ExactCache.key(BASE)


@pytest.mark.parametrize(
    "change",
    [{"agent_id": "someone-else"}, {"cache": CachePolicy(ttl_seconds=5, explain=True)}],
    ids=lambda change: next(iter(change)),
)
def test_the_exact_key_ignores_who_asks_within_a_tenant_and_cache_settings(
    change: dict[str, object],
) -> None:
    assert ExactCache.key(dataclasses.replace(BASE, **change)) == ExactCache.key(BASE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [{"system": "Answer in French."}, {"temperature": 1.0}, {"model": "ollama/llama3.2"},
     {"response_schema": {"type": "string"}}, {"tenant_id": "globex"}],
    ids=lambda change: next(iter(change)),
)  # fmt: skip
def test_the_semantic_partition_changes_with_the_request_shape_and_tenant(
    change: dict[str, object],
) -> None:
    def partition(request: GenerationRequest) -> str:
        return partition_key(
            request.tenant_id, request_fingerprint(request, include_messages=False)
        )

    assert partition(dataclasses.replace(BASE, **change)) != partition(BASE)  # type: ignore[arg-type]


def test_the_second_stage_reads_the_conversation_as_written() -> None:
    assert question_text(BASE) == "What is the capital of France?"
    turns = dataclasses.replace(
        BASE,
        messages=(Message("user", "Hi"), Message("assistant", "Hello!"), Message("user", "2+2?")),
    )
    assert question_text(turns) == "user: Hi\nassistant: Hello!\nuser: 2+2?"


def _probe(**found: object) -> Probe:
    return Probe(text="q", question="q", vector=[], partition="p", **found)  # type: ignore[arg-type]


def test_the_cache_report_says_which_stage_decided() -> None:
    answer = Completion("4", "local/smollm2-135m", "local", Usage())
    refusal = Refusal("number", "numbers differ (3 vs 7)")
    assert _probe().report() == CacheReport("miss")
    assert _probe(similarity=0.7).report() == CacheReport("below_threshold", 0.7)
    assert _probe(similarity=0.9, candidates=1).report() == CacheReport("miss", 0.9)  # expired
    assert _probe(similarity=0.9, candidates=2, refusal=refusal).report() == CacheReport(
        "near_miss_refused", 0.9, "number", "numbers differ (3 vs 7)"
    )
    # A farther candidate served after the nearest was refused: a hit, no refusal reported.
    assert _probe(similarity=0.9, candidates=2, refusal=refusal, hit=answer).report() == (
        CacheReport("semantic_hit", 0.9)
    )


def test_the_answer_cache_reports_bypass_exact_hits_and_requests_it_does_not_serve() -> None:
    assert AnswerCache.report(dataclasses.replace(BASE, cache=CachePolicy(bypass=True)), False,
                              None) == CacheReport("bypassed")  # fmt: skip
    assert AnswerCache.report(BASE, True, None) == CacheReport("exact_hit", 1.0)
    assert AnswerCache.report(BASE, False, None) == CacheReport("not_cached")
