"""The model gateway: one request from validation to a recorded, honest answer.

validate -> route -> budgets and rate limits (before any provider call) -> cache ->
providers in fallback order (retries with backoff on retryable errors, breakers skip
failing providers) -> schema validation with one repair attempt -> usage record -> cache.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import TypeVar

import structlog

from services.kit import PlatformError
from services.l04_models import errors
from services.l04_models.breaker import Breakers
from services.l04_models.conversation import (
    Answer,
    Completion,
    Embeddings,
    FinishReason,
    GenerationRequest,
    Message,
    Usage,
)
from services.l04_models.exact_cache import ExactCache
from services.l04_models.limits import Limits
from services.l04_models.providers import Provider, ProviderError, StreamItem
from services.l04_models.registry import ModelSpec
from services.l04_models.retry import RetryPolicy
from services.l04_models.router import Router
from services.l04_models.semantic_cache import Probe, SemanticCache
from services.l04_models.usage import UsageRecord, UsageRecorder
from services.l04_models.validation import schema_problems, validate_request, validate_texts

log = structlog.get_logger("l04.gateway")
T = TypeVar("T")
DEFAULT_ANSWER_TOKENS = 256  # token estimate for rate limits when max_tokens is unset


@dataclasses.dataclass
class Attempts:
    """Providers tried for one request and why they failed."""

    failed: list[str] = dataclasses.field(default_factory=list)
    reasons: list[str] = dataclasses.field(default_factory=list)

    def untried(self, candidates: list[ModelSpec]) -> Iterator[ModelSpec]:
        """The chain goes across providers: once a provider failed (after its retries),
        its other models are not tried for this request."""
        for model in candidates:
            if model.provider not in self.failed:
                yield model

    def fail(self, model: ModelSpec, reason: str) -> None:
        self.failed.append(model.provider)
        self.reasons.append(f"{model.id}: {reason}")

    def error(self) -> PlatformError:
        return PlatformError(
            errors.PROVIDERS_FAILED,
            "every candidate failed: " + "; ".join(self.reasons),
            metadata={"failed_providers": ",".join(self.failed)},
        )


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
        self._cache = cache
        self._usage = usage
        self._retry = retry
        self._timeout = timeout_seconds
        self._max_chars = max_request_chars
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._semantic = semantic

    # -- Generate ---------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest) -> Answer:
        started = time.perf_counter()
        validate_request(request, self._max_chars)
        candidates = self.router.candidates(request)
        await self._admit(request)
        probe = None
        if not request.cache.bypass:
            hit = await self._cache.get(request)
            if hit is not None:
                return self._answer(request, hit, started, cached=True)
            probe = await self._semantic_lookup(request)
            if probe is not None and probe.hit is not None:
                return self._answer(request, probe.hit, started, cached=True)
        attempts = Attempts()
        completion = await self._first_answer(candidates, request, attempts)
        if request.response_schema is not None:
            completion = await self._validated(completion, request, attempts)
        answer = self._answer(request, completion, started, failed=attempts.failed)
        if not request.cache.bypass:
            await self._cache.put(request, completion)
            if probe is not None:
                await self._semantic_store(request, probe, completion)
        return answer

    async def _semantic_lookup(self, request: GenerationRequest) -> Probe | None:
        # The semantic cache is an optimisation: when L01 or the embedder fails, answer anyway.
        if self._semantic is None:
            return None
        try:
            return await self._semantic.lookup(request)
        except Exception as error:
            log.warning("semantic_cache.lookup_failed", error=str(error))
            return None

    async def _semantic_store(
        self, request: GenerationRequest, probe: Probe, completion: Completion
    ) -> None:
        assert self._semantic is not None
        try:
            await self._semantic.store(request, probe, completion)
        except Exception as error:
            log.warning("semantic_cache.store_failed", error=str(error))

    async def _admit(self, request: GenerationRequest) -> None:
        tokens = request.estimated_input_tokens() + (request.max_tokens or DEFAULT_ANSWER_TOKENS)
        await self._limits.admit(
            self._limits.agent_buckets(request.agent_id, tokens),
            [("agent", request.agent_id), ("tenant", request.tenant_id)],
        )

    async def _first_answer(
        self, candidates: list[ModelSpec], request: GenerationRequest, attempts: Attempts
    ) -> Completion:
        for model in attempts.untried(candidates):
            try:
                return await self._call(model, request, attempts, self._provider_generate)
            except ProviderError:
                continue
        raise attempts.error()

    async def _provider_generate(self, model: ModelSpec, request: GenerationRequest) -> Completion:
        return await self._providers[model.provider].generate(model, request)

    async def _call(
        self,
        model: ModelSpec,
        request: GenerationRequest,
        attempts: Attempts,
        call: Callable[[ModelSpec, GenerationRequest], Awaitable[T]],
    ) -> T:
        """One model, with retries on retryable errors; its breaker decides whether to try."""
        breaker = self._breakers[model.provider]
        tokens = request.estimated_input_tokens() + (request.max_tokens or DEFAULT_ANSWER_TOKENS)
        try:
            await self._limits.admit(self._limits.provider_buckets(model.provider, tokens))
        except PlatformError as limited:
            attempts.fail(model, limited.message)
            raise ProviderError(model.provider, limited.message) from limited
        attempt = 0
        while True:
            if not breaker.before_call():
                attempts.fail(model, "circuit breaker open")
                raise ProviderError(model.provider, "circuit breaker open")
            try:
                async with asyncio.timeout(self._timeout):
                    result = await call(model, request)
            except TimeoutError:
                error = ProviderError(model.provider, f"no answer within {self._timeout}s",
                                      retryable=True)  # fmt: skip
            except ProviderError as failure:
                error = failure
            else:
                breaker.record_success()
                return result
            if error.retryable:
                breaker.record_failure()
            else:
                breaker.release()
            attempt += 1
            delay = (
                self._retry.delay(attempt, error.retry_after, self._rng)
                if error.retryable
                else None
            )
            log.info("provider.failed", model=model.id, error=str(error), retry_in=delay)
            if delay is None:
                attempts.fail(model, str(error).removeprefix(f"{model.provider}: "))
                raise error
            await self._sleep(delay)

    async def _validated(
        self, completion: Completion, request: GenerationRequest, attempts: Attempts
    ) -> Completion:
        """Checks the answer against the schema; one repair attempt with the problems."""
        schema = request.response_schema
        assert schema is not None
        for attempt in (1, 2):
            if completion.finish_reason is FinishReason.LENGTH:
                raise PlatformError(
                    errors.OUTPUT_TRUNCATED,
                    f"{completion.model} stopped at max_tokens before finishing the JSON "
                    "answer; raise max_tokens or simplify the schema",
                    metadata={"model": completion.model},
                )
            document, problems = schema_problems(completion.content, schema)
            if not problems:
                return dataclasses.replace(completion, structured=document)
            if attempt == 2:
                raise PlatformError(
                    errors.OUTPUT_INVALID,
                    f"{completion.model}'s answer failed the response schema after a repair "
                    f"attempt: {'; '.join(problems)}",
                    metadata={"model": completion.model, "problems": " | ".join(problems)},
                )
            model = self.router.registry.get(completion.model)
            repair = _repair_request(request, completion, problems)
            fixed = await self._call(model, repair, attempts, self._provider_generate)
            completion = dataclasses.replace(fixed, usage=_sum(completion, fixed))
        raise AssertionError("unreachable")

    def _answer(
        self, request: GenerationRequest, completion: Completion, started: float, *,
        cached: bool = False, failed: list[str] | None = None,
    ) -> Answer:  # fmt: skip
        model = self.router.registry.get(completion.model)
        if cached:
            usage = dataclasses.replace(completion.usage, cost_usd=0.0)
        else:
            price = model.price(completion.usage.input_tokens, completion.usage.output_tokens)
            usage = dataclasses.replace(
                completion.usage, cost_usd=completion.usage.cost_usd or price
            )
        completion = dataclasses.replace(completion, usage=usage)
        latency = time.perf_counter() - started
        self._usage.record(
            UsageRecord(
                model=completion.model, provider=completion.provider, usage=usage,
                agent_id=request.agent_id, tenant_id=request.tenant_id, cached=cached,
                latency_ms=latency * 1000,
            )
        )  # fmt: skip
        return Answer(completion, latency, cached=cached, failed_providers=tuple(failed or ()))

    # -- StreamGenerate ---------------------------------------------------------------------

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str | Answer]:
        """Text deltas, then the Answer. Falls back only while nothing has been sent."""
        started = time.perf_counter()
        validate_request(request, self._max_chars)
        candidates = self.router.candidates(request, streaming=True)
        await self._admit(request)
        if not request.cache.bypass:
            hit = await self._cache.get(request)
            if hit is not None:
                yield hit.content
                yield self._answer(request, hit, started, cached=True)
                return
        attempts = Attempts()
        for model in attempts.untried(candidates):
            sent = False
            try:
                async for item in self._stream_one(model, request, attempts):
                    if isinstance(item, Completion):
                        completion = item
                        if request.response_schema is not None:
                            completion = _check_streamed(completion, request)
                        if not request.cache.bypass:
                            await self._cache.put(request, completion)
                        yield self._answer(request, completion, started, failed=attempts.failed)
                        return
                    sent = True
                    yield item
            except ProviderError as error:
                if sent:  # part of the answer is out: no other model can continue it
                    raise attempts.error() from error
                continue
        raise attempts.error()

    async def _stream_one(
        self, model: ModelSpec, request: GenerationRequest, attempts: Attempts
    ) -> AsyncIterator[StreamItem]:
        # The first item is awaited under the retry loop (a fresh stream per attempt);
        # the rest flow as they come.
        streams: list[AsyncIterator[StreamItem]] = []

        async def first(spec: ModelSpec, req: GenerationRequest) -> StreamItem:
            streams.append(self._providers[spec.provider].stream(spec, req))
            return await anext(streams[-1])

        try:
            yield await self._call(model, request, attempts, first)
        except StopAsyncIteration:
            attempts.fail(model, "empty stream")
            raise ProviderError(model.provider, "empty stream") from None
        try:
            async for item in streams[-1]:
                yield item
        except ProviderError as error:
            attempts.fail(model, f"failed mid-stream: {error}")
            raise

    # -- Embed ------------------------------------------------------------------------------

    async def embed(self, texts: list[str], model_id: str, agent_id: str, tenant_id: str
                    ) -> Embeddings:  # fmt: skip
        started = time.perf_counter()
        validate_texts(texts)
        model = self.router.embedding_model(model_id)
        tokens = sum(len(t) for t in texts) // 4 + 1
        await self._limits.admit(
            self._limits.agent_buckets(agent_id, tokens),
            [("agent", agent_id), ("tenant", tenant_id)],
        )
        attempts = Attempts()

        async def call(spec: ModelSpec, _: GenerationRequest) -> Embeddings:
            return await self._providers[spec.provider].embed(spec, texts)

        probe = GenerationRequest(messages=(Message("user", texts[0][:1]),))
        try:
            result = await self._call(model, probe, attempts, call)
        except ProviderError:
            raise attempts.error() from None
        self._usage.record(
            UsageRecord(model.id, model.provider, result.usage, agent_id, tenant_id, False,
                        (time.perf_counter() - started) * 1000)
        )  # fmt: skip
        return result


def _repair_request(
    request: GenerationRequest, completion: Completion, problems: list[str]
) -> GenerationRequest:
    feedback = (
        "Your answer did not satisfy the required JSON Schema:\n- "
        + "\n- ".join(problems)
        + "\nReply again with only the corrected JSON document."
    )
    messages = (
        *request.messages,
        Message("assistant", completion.content or "(empty)"),
        Message("user", feedback),
    )
    return dataclasses.replace(request, messages=messages)


def _sum(first: Completion, second: Completion) -> Usage:
    return dataclasses.replace(
        second.usage,
        input_tokens=first.usage.input_tokens + second.usage.input_tokens,
        output_tokens=first.usage.output_tokens + second.usage.output_tokens,
        cost_usd=first.usage.cost_usd + second.usage.cost_usd,
    )


def _check_streamed(completion: Completion, request: GenerationRequest) -> Completion:
    """A streamed answer is already sent: no repair, only an honest verdict."""
    assert request.response_schema is not None
    if completion.finish_reason is FinishReason.LENGTH:
        raise PlatformError(
            errors.OUTPUT_TRUNCATED,
            f"{completion.model} stopped at max_tokens before finishing the JSON answer",
        )
    document, problems = schema_problems(completion.content, request.response_schema)
    if problems:
        raise PlatformError(
            errors.OUTPUT_INVALID,
            f"{completion.model}'s answer failed the response schema: {'; '.join(problems)}",
        )
    return dataclasses.replace(completion, structured=document)
