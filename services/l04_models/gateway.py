"""The model gateway: one request from validation to a recorded, honest answer.

validate -> route -> budgets and rate limits, with the exact cache read in the same Redis
round trip (before any provider call) -> semantic cache -> providers in fallback order
(provider_calls.py: retries, breakers, fallback) -> schema validation with one repair
attempt -> usage record (in the background) -> caches.

StreamGenerate does the same. A cached answer is replayed as deltas. With a response schema
the answer is buffered: it is validated, and repaired once if needed, before any of it is
sent, since a streamed delta cannot be taken back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from services.l04_models.answer_cache import AnswerCache, replay
from services.l04_models.breaker import Breakers
from services.l04_models.conversation import (
    Answer,
    CacheReport,
    Completion,
    Embeddings,
    GenerationRequest,
    Message,
    Usage,
)
from services.l04_models.exact_cache import ExactCache
from services.l04_models.limits import Limits
from services.l04_models.provider_calls import (
    Attempts,
    ProviderCalls,
    RefusedAnswer,
    estimated_tokens,
)
from services.l04_models.providers import Provider, ProviderError
from services.l04_models.registry import ModelSpec
from services.l04_models.retry import RetryPolicy
from services.l04_models.router import Router
from services.l04_models.semantic_cache import Probe, SemanticCache
from services.l04_models.tenancy import agent_owner
from services.l04_models.usage import UsageRecord, UsageRecorder
from services.l04_models.validation import validate_request, validate_texts


class ModelGateway:
    def __init__(
        self, *, router: Router, providers: Mapping[str, Provider], breakers: Breakers,
        limits: Limits, cache: ExactCache, usage: UsageRecorder, retry: RetryPolicy,
        timeout_seconds: float, max_request_chars: int, rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        semantic: SemanticCache | None = None,
    ) -> None:  # fmt: skip
        self.router = router
        self._providers = providers
        self._breakers = breakers
        self._limits = limits
        self._cache = AnswerCache(cache, semantic)
        self._usage = usage
        self._max_chars = max_request_chars
        self._calls = ProviderCalls(
            registry=router.registry, providers=providers, breakers=breakers, limits=limits,
            retry=retry, timeout_seconds=timeout_seconds, rng=rng or random.Random(),
            sleep=sleep,
        )  # fmt: skip

    # -- Generate ---------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest) -> Answer:
        started = time.perf_counter()
        validate_request(request, self._max_chars)
        candidates = self.router.candidates(request)
        key = self._cache.exact_key(request)
        hit, probe, report = await self._admit_and_look_up(request, key)
        if hit is not None:
            return self._answer(request, hit, started, cached=True, report=report)
        attempts = Attempts()
        completion = await self._validated_answer(candidates, request, attempts, started)
        answer = self._answer(request, completion, started, failed=attempts.failed, report=report)
        await self._cache.store(request, key, probe, completion)
        return answer

    async def _admit_and_look_up(
        self, request: GenerationRequest, key: str | None
    ) -> tuple[Completion | None, Probe | None, CacheReport | None]:
        """Budgets and the agent's rate limits first (E4009 / E4008, before any provider
        call), then the caches (exact under ``key``, None when bypassed): (a cached answer,
        the semantic probe to store under, how the caches judged it when the caller asked)."""
        stored = await self._limits.admit(
            self._limits.agent_buckets(
                request.tenant_id, request.agent_id, estimated_tokens(request)
            ),
            _owners(request.tenant_id, request.agent_id),
            fetch=key,
        )
        explain = request.cache.explain
        if stored is not None:
            return (
                self._cache.decode(stored),
                None,
                (self._cache.report(request, True, None) if explain else None),
            )
        probe = await self._cache.semantic_lookup(request)
        report = self._cache.report(request, False, probe) if explain else None
        return (probe.hit if probe is not None else None), probe, report

    async def _validated_answer(
        self, candidates: list[ModelSpec], request: GenerationRequest, attempts: Attempts,
        started: float,
    ) -> Completion:  # fmt: skip
        completion = await self._calls.first_answer(candidates, request, attempts)
        if request.response_schema is not None:
            try:
                completion = await self._calls.validated(completion, request, attempts)
            except RefusedAnswer as refused:
                # Spent all the same: budgets and usage count it, and the caller reads it.
                usage = self._spent(request, refused.completion, started, cached=False)
                refused.metadata.update(input_tokens=str(usage.input_tokens),
                                        output_tokens=str(usage.output_tokens),
                                        cost_usd=f"{usage.cost_usd:.6f}")  # fmt: skip
                raise
        return completion

    def _answer(
        self, request: GenerationRequest, completion: Completion, started: float, *,
        cached: bool = False, failed: list[str] | None = None, report: CacheReport | None = None,
    ) -> Answer:  # fmt: skip
        usage = self._spent(request, completion, started, cached=cached)
        completion = dataclasses.replace(completion, usage=usage)
        return Answer(completion, time.perf_counter() - started, cached=cached,
                      failed_providers=tuple(failed or ()), cache_report=report)  # fmt: skip

    def _spent(self, request: GenerationRequest, completion: Completion, started: float, *,
               cached: bool) -> Usage:  # fmt: skip
        """The answer's usage, priced (nothing for a cached one), and recorded."""
        model = self.router.registry.get(completion.model)
        if cached:
            usage = dataclasses.replace(completion.usage, cost_usd=0.0)
        else:
            price = model.price(completion.usage.input_tokens, completion.usage.output_tokens)
            usage = dataclasses.replace(
                completion.usage, cost_usd=completion.usage.cost_usd or price
            )
        self._usage.record(
            UsageRecord(
                model=completion.model, provider=completion.provider, usage=usage,
                agent_id=request.agent_id, tenant_id=request.tenant_id, cached=cached,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        )  # fmt: skip
        return usage

    # -- StreamGenerate ---------------------------------------------------------------------

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str | Answer]:
        """Text deltas, then the Answer."""
        started = time.perf_counter()
        validate_request(request, self._max_chars)
        buffered = request.response_schema is not None
        # A buffered answer is not streamed from the provider: any capable model will do.
        candidates = self.router.candidates(request, streaming=not buffered)
        key = self._cache.exact_key(request)
        hit, probe, report = await self._admit_and_look_up(request, key)
        if hit is not None:
            for delta in replay(hit.content):
                yield delta
            yield self._answer(request, hit, started, cached=True, report=report)
            return
        attempts = Attempts()
        if buffered:
            completion = await self._validated_answer(candidates, request, attempts, started)
            for delta in replay(completion.content):
                yield delta
        else:
            streamed: Completion | None = None
            async for item in self._calls.stream(candidates, request, attempts):
                if isinstance(item, Completion):
                    streamed = item
                else:
                    yield item
            if streamed is None:
                raise attempts.error()
            completion = streamed
        yield self._answer(request, completion, started, failed=attempts.failed, report=report)
        # After the final message: the client has the answer while the caches are written.
        # Shielded: a client that hangs up once it has the final message must not cancel it.
        await asyncio.shield(self._cache.store(request, key, probe, completion))

    # -- Embed ------------------------------------------------------------------------------

    async def embed(self, texts: list[str], model_id: str, agent_id: str, tenant_id: str
                    ) -> Embeddings:  # fmt: skip
        started = time.perf_counter()
        validate_texts(texts)
        model = self.router.embedding_model(model_id)
        tokens = sum(len(t) for t in texts) // 4 + 1
        await self._limits.admit(
            self._limits.agent_buckets(tenant_id, agent_id, tokens),
            _owners(tenant_id, agent_id),
        )
        attempts = Attempts()

        async def call(spec: ModelSpec, _: GenerationRequest) -> Embeddings:
            return await self._providers[spec.provider].embed(spec, texts)

        probe = GenerationRequest(messages=(Message("user", texts[0][:1]),))
        try:
            result = await self._calls.call(model, probe, attempts, call)
        except ProviderError:
            raise attempts.error() from None
        self._usage.record(
            UsageRecord(model.id, model.provider, result.usage, agent_id, tenant_id, False,
                        (time.perf_counter() - started) * 1000)
        )  # fmt: skip
        return result


def _owners(tenant: str, agent: str) -> list[tuple[str, str]]:
    """Whose budgets a request spends: its agent's (within the tenant) and its tenant's."""
    return [("agent", agent_owner(tenant, agent)), ("tenant", tenant)]
