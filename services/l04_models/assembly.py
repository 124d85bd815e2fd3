"""Builds the gateway and its parts from settings (the process entry point and tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc
import redis.asyncio as redis

from services.kit.secrets import SecretReader
from services.l04_models.breaker import Breakers
from services.l04_models.config import ModelSettings
from services.l04_models.exact_cache import ExactCache
from services.l04_models.gateway import ModelGateway
from services.l04_models.limits import Limits
from services.l04_models.provider_keys import ProviderKey
from services.l04_models.providers import Provider
from services.l04_models.providers.anthropic_api import AnthropicProvider
from services.l04_models.providers.claude_code import ClaudeCodeProvider
from services.l04_models.providers.local import LocalProvider
from services.l04_models.providers.ollama import OllamaProvider
from services.l04_models.registry import load_registry
from services.l04_models.retry import RetryPolicy
from services.l04_models.router import Router
from services.l04_models.semantic_cache import SemanticCache
from services.l04_models.usage import EventSink, UsageRecorder


def provider_keys(settings: ModelSettings, secrets: SecretReader | None) -> list[ProviderKey]:
    """The API keys providers read: from L00 through ``secrets`` when given, else the env.
    An empty secret name keeps the key in the environment only (L00 is not asked)."""
    reader = secrets if settings.anthropic_key_secret else None
    return [ProviderKey(settings.anthropic_key_secret, settings.anthropic_api_key, reader)]


def build_providers(
    settings: ModelSettings, keys: Sequence[ProviderKey] = ()
) -> dict[str, Provider]:
    disabled = {p.strip() for p in settings.disabled_providers.split(",") if p.strip()}
    by_name = {key.name: key for key in keys}
    anthropic_key = by_name.get(settings.anthropic_key_secret, settings.anthropic_api_key)
    providers: dict[str, Provider] = {
        "claude_code": ClaudeCodeProvider(settings.claude_cli),
        "anthropic": AnthropicProvider(
            anthropic_key, settings.anthropic_base_url, settings.provider_timeout_seconds,
        ),
        "ollama": OllamaProvider(settings.ollama_url, settings.provider_timeout_seconds),
        "local": LocalProvider(
            threads=settings.local_threads, embed_threads=settings.embed_threads,
            context=settings.local_context, seed=settings.local_seed,
        ),
    }  # fmt: skip
    return {name: p for name, p in providers.items() if name not in disabled}


def build_gateway(
    settings: ModelSettings,
    redis_client: redis.Redis,
    providers: Mapping[str, Provider],
    sink: EventSink | None,
    semantic: SemanticCache | None = None,
) -> tuple[ModelGateway, UsageRecorder]:
    breakers = Breakers(settings.breaker_failures, settings.breaker_reset_seconds)
    usage = UsageRecorder(redis_client, sink)
    gateway = ModelGateway(
        router=Router(load_registry(settings.registry_path), providers, breakers),
        providers=providers,
        breakers=breakers,
        limits=Limits(
            redis_client,
            agent_requests=settings.agent_requests_per_minute,
            agent_tokens=settings.agent_tokens_per_minute,
            provider_requests=settings.provider_requests_per_minute,
            provider_tokens=settings.provider_tokens_per_minute,
        ),
        cache=ExactCache(redis_client, settings.cache_ttl_seconds),
        usage=usage,
        retry=RetryPolicy(
            settings.max_retries, settings.retry_base_seconds, settings.retry_max_seconds
        ),
        timeout_seconds=settings.provider_timeout_seconds,
        max_request_chars=settings.max_request_chars,
        semantic=semantic,
    )
    return gateway, usage


def build_semantic_cache(
    settings: ModelSettings, l01: grpc.aio.Channel, redis_client: redis.Redis,
    providers: Mapping[str, Provider],
) -> SemanticCache | None:  # fmt: skip
    """The semantic cache needs the local embedder and L01's vector store."""
    local = providers.get("local")
    if not settings.semantic_cache or not isinstance(local, LocalProvider) or not local.can_embed():
        return None

    async def embed(text: str) -> list[float]:
        return (await local.embed_array([text]))[0].tolist()  # type: ignore[no-any-return]

    return SemanticCache(
        l01, redis_client, embed,
        threshold=settings.semantic_threshold, default_ttl=settings.cache_ttl_seconds,
    )  # fmt: skip
