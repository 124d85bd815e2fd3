"""Calling providers: retries with backoff, breakers, provider rate limits, fallback, repair.

One model is tried with retries on retryable errors (its breaker decides whether to try at
all); a failed provider hands over to the next candidate; an answer that fails the response
schema gets one repair attempt with the problems listed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import TypeVar

import structlog

from services.kit import ErrorCode, PlatformError
from services.l04_models import errors
from services.l04_models.breaker import Breakers
from services.l04_models.conversation import (
    Completion,
    FinishReason,
    GenerationRequest,
    Message,
    Usage,
)
from services.l04_models.limits import Limits
from services.l04_models.providers import Provider, ProviderError, StreamItem
from services.l04_models.registry import ModelSpec, Registry
from services.l04_models.retry import RetryPolicy
from services.l04_models.validation import schema_problems

log = structlog.get_logger("l04.providers")
T = TypeVar("T")
DEFAULT_ANSWER_TOKENS = 256  # token estimate for rate limits when max_tokens is unset


class RefusedAnswer(PlatformError):
    """An answer the model gave and L04 refused (cut off at max_tokens, or off the schema
    after its repair): the tokens were spent all the same, so the refusal carries them."""

    def __init__(self, error: ErrorCode, message: str, completion: Completion,
                 metadata: Mapping[str, str]) -> None:  # fmt: skip
        super().__init__(error, message, metadata=metadata)
        self.completion = completion


def estimated_tokens(request: GenerationRequest) -> int:
    return request.estimated_input_tokens() + (request.max_tokens or DEFAULT_ANSWER_TOKENS)


@dataclasses.dataclass
class Attempts:
    """Providers tried for one request and why they failed."""

    failed: list[str] = dataclasses.field(default_factory=list)
    reasons: list[str] = dataclasses.field(default_factory=list)
    # Whether each failure was the provider refusing the request itself (a 4xx that is not
    # about our key or its limits): when all were, the caller must change the request.
    refused: list[bool] = dataclasses.field(default_factory=list)

    def untried(self, candidates: list[ModelSpec]) -> Iterator[ModelSpec]:
        """The chain goes across providers: once a provider failed (after its retries),
        its other models are not tried for this request."""
        for model in candidates:
            if model.provider not in self.failed:
                yield model

    def fail(self, model: ModelSpec, reason: str, *, status: int | None = None) -> None:
        self.failed.append(model.provider)
        self.reasons.append(f"{model.id}: {reason}")
        self.refused.append(status is not None and refuses_request(status))

    def error(self) -> PlatformError:
        if self.refused and all(self.refused):
            return PlatformError(
                errors.REQUEST_REFUSED,
                "every candidate refused the request: " + "; ".join(self.reasons),
                metadata={"failed_providers": ",".join(self.failed)},
            )
        return PlatformError(
            errors.PROVIDERS_FAILED,
            "every candidate failed: " + "; ".join(self.reasons),
            metadata={"failed_providers": ",".join(self.failed)},
        )


def refuses_request(status: int) -> bool:
    """A 4xx about the request's own content; 401/403 concern our key, 404 our registry,
    408/409/429 the provider's state."""
    return 400 <= status < 500 and status not in (401, 403, 404, 408, 409, 429)


class ProviderCalls:
    def __init__(
        self, *, registry: Registry, providers: Mapping[str, Provider], breakers: Breakers,
        limits: Limits, retry: RetryPolicy, timeout_seconds: float, rng: random.Random,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:  # fmt: skip
        self._registry = registry
        self._providers = providers
        self._breakers = breakers
        self._limits = limits
        self._retry = retry
        self._timeout = timeout_seconds
        self._rng = rng
        self._sleep = sleep

    async def first_answer(
        self, candidates: list[ModelSpec], request: GenerationRequest, attempts: Attempts
    ) -> Completion:
        for model in attempts.untried(candidates):
            try:
                return await self.call(model, request, attempts, self._generate)
            except ProviderError:
                continue
        raise attempts.error()

    async def _generate(self, model: ModelSpec, request: GenerationRequest) -> Completion:
        return await self._providers[model.provider].generate(model, request)

    async def call(
        self,
        model: ModelSpec,
        request: GenerationRequest,
        attempts: Attempts,
        call: Callable[[ModelSpec, GenerationRequest], Awaitable[T]],
    ) -> T:
        """One model, with retries on retryable errors; its breaker decides whether to try."""
        breaker = self._breakers[model.provider]
        buckets = self._limits.provider_buckets(model.provider, estimated_tokens(request))
        try:
            await self._limits.admit(buckets)
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
                attempts.fail(
                    model, str(error).removeprefix(f"{model.provider}: "), status=error.status
                )
                raise error
            await self._sleep(delay)

    async def validated(
        self, completion: Completion, request: GenerationRequest, attempts: Attempts
    ) -> Completion:
        """Checks the answer against the schema; one repair attempt with the problems."""
        schema = request.response_schema
        assert schema is not None
        for attempt in (1, 2):
            if completion.finish_reason is FinishReason.LENGTH:
                raise RefusedAnswer(
                    errors.OUTPUT_TRUNCATED,
                    f"{completion.model} stopped at max_tokens before finishing the JSON "
                    "answer; raise max_tokens or simplify the schema",
                    completion,
                    metadata={"model": completion.model},
                )
            document, problems = schema_problems(completion.content, schema)
            if not problems:
                return dataclasses.replace(completion, structured=document)
            if attempt == 2:
                raise RefusedAnswer(
                    errors.OUTPUT_INVALID,
                    f"{completion.model}'s answer failed the response schema after a repair "
                    f"attempt: {'; '.join(problems)}",
                    completion,
                    metadata={"model": completion.model, "problems": " | ".join(problems)},
                )
            model = self._registry.get(completion.model)
            repair = _repair_request(request, completion, problems)
            fixed = await self.call(model, repair, attempts, self._generate)
            completion = dataclasses.replace(fixed, usage=_sum(completion, fixed))
        raise AssertionError("unreachable")

    async def stream(
        self, candidates: list[ModelSpec], request: GenerationRequest, attempts: Attempts
    ) -> AsyncIterator[StreamItem]:
        """Deltas, then the Completion. Falls back only while nothing has been sent."""
        for model in attempts.untried(candidates):
            sent = False
            try:
                async for item in self._stream_one(model, request, attempts):
                    sent = sent or isinstance(item, str)
                    yield item
                return
            except ProviderError as error:
                if sent:  # part of the answer is out: no other model can continue it
                    raise attempts.error() from error
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
            yield await self.call(model, request, attempts, first)
        except StopAsyncIteration:
            attempts.fail(model, "empty stream")
            raise ProviderError(model.provider, "empty stream") from None
        try:
            async for item in streams[-1]:
                yield item
        except ProviderError as error:
            attempts.fail(model, f"failed mid-stream: {error}")
            raise


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
