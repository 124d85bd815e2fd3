"""Builds in-process gateways over the session's real Redis, with chosen providers."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import redis.asyncio as redis

from services.l04_models.breaker import Breakers
from services.l04_models.config import DEFAULT_REGISTRY
from services.l04_models.conversation import CachePolicy, GenerationRequest, Message
from services.l04_models.exact_cache import ExactCache
from services.l04_models.gateway import ModelGateway
from services.l04_models.limits import Limits
from services.l04_models.providers import Provider
from services.l04_models.registry import Registry, load_registry
from services.l04_models.retry import RetryPolicy
from services.l04_models.router import Router
from services.l04_models.usage import UsageRecorder


@dataclass
class Sleeps:
    """Records backoff waits instead of sleeping them."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def registry() -> Registry:
    return load_registry(DEFAULT_REGISTRY)


def make_gateway(
    client: redis.Redis, providers: Mapping[str, Provider], *, sleeps: Sleeps | None = None,
    breaker_failures: int = 5, breaker_reset: float = 30.0, max_retries: int = 2,
    agent_requests: int = 0, agent_tokens: int = 0, provider_requests: int = 0,
    timeout: float = 10.0, max_chars: int = 1_000_000,
) -> ModelGateway:  # fmt: skip
    breakers = Breakers(breaker_failures, breaker_reset)
    return ModelGateway(
        router=Router(registry(), providers, breakers),
        providers=providers,
        breakers=breakers,
        limits=Limits(
            client, agent_requests=agent_requests, agent_tokens=agent_tokens,
            provider_requests=provider_requests, provider_tokens=0,
        ),
        cache=ExactCache(client, 60),
        usage=UsageRecorder(client, None),
        retry=RetryPolicy(max_retries, 0.01, 8.0),
        timeout_seconds=timeout,
        max_request_chars=max_chars,
        rng=random.Random(7),
        sleep=sleeps or Sleeps(),
    )  # fmt: skip


def ask(text: str = "Hello?", **fields: object) -> GenerationRequest:
    """A request with a unique agent (fresh rate-limit buckets) of a unique tenant, and no
    caching."""
    base = GenerationRequest(
        messages=(Message("user", text),),
        agent_id=f"agent-{uuid.uuid4().hex[:8]}",
        tenant_id=f"tenant-{uuid.uuid4().hex[:8]}",
        cache=CachePolicy(bypass=True),
    )
    return GenerationRequest(**{**base.__dict__, **fields})
