"""Which models may answer a request, in the order they are tried.

A capability filter first (tools, JSON, streaming, hints), then the strategy orders the
rest; everything after the first model is the fallback chain. Open breakers stay in the
chain: the caller skips them at call time, when their state is current.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping

from services.kit import PlatformError
from services.l04_models import errors
from services.l04_models.breaker import Breakers
from services.l04_models.conversation import GenerationRequest, Strategy
from services.l04_models.providers import Provider
from services.l04_models.registry import ModelSpec, Registry

_ORDER: dict[Strategy, Callable[[ModelSpec], float]] = {
    Strategy.COST: lambda m: m.cost.input_per_token + m.cost.output_per_token,
    Strategy.LATENCY: lambda m: m.expected_latency_ms,
    Strategy.QUALITY: lambda m: -m.quality,
}


class Router:
    def __init__(
        self, registry: Registry, providers: Mapping[str, Provider], breakers: Breakers
    ) -> None:
        self.registry = registry
        self._providers = providers
        self._breakers = breakers
        self._turn = itertools.count()

    def configured(self, model: ModelSpec) -> bool:
        provider = self._providers.get(model.provider)
        return provider is not None and provider.available()

    def available(self, model: ModelSpec) -> bool:
        return self.configured(model) and self._breakers[model.provider].allows_call()

    def candidates(self, request: GenerationRequest, *, streaming: bool = False) -> list[ModelSpec]:
        needed = request.needed_capabilities() | ({"streaming"} if streaming else set())
        routing = request.routing
        named = self.registry.get(request.model) if request.model else None
        if routing.strategy is Strategy.PINNED and named is None:
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                "model: required with the pinned strategy",
                field="model",
            )
        if named is not None:
            self._require(named, needed)
        pool = [
            m
            for m in self.registry.chat_models()
            if all(m.capabilities.has(c) for c in needed)
            and (not routing.provider or m.provider == routing.provider)
            and self.configured(m)
        ]
        ordered = self._order(pool, routing.strategy)
        if named is not None:
            ordered = [named, *(m for m in ordered if m.id != named.id)]
        if routing.strategy is Strategy.PINNED or routing.no_fallback:
            ordered = ordered[:1]
        if not ordered:
            wanted = ", ".join(sorted(needed)) or "text generation"
            raise PlatformError(
                errors.NO_CAPABLE_MODEL,
                f"no configured model offers {wanted}"
                + (f" from provider {routing.provider!r}" if routing.provider else ""),
            )
        return ordered

    def _require(self, model: ModelSpec, needed: set[str]) -> None:
        if model.capabilities.embeddings:
            raise PlatformError(
                errors.INVALID_ARGUMENT, f"model: {model.id} is an embedding model", field="model"
            )
        missing = sorted(c for c in needed if not model.capabilities.has(c))
        if missing:
            raise PlatformError(
                errors.NO_CAPABLE_MODEL, f"model {model.id} lacks {', '.join(missing)}"
            )
        if not self.configured(model):
            raise PlatformError(
                errors.NO_CAPABLE_MODEL,
                f"model {model.id}: provider {model.provider!r} is not configured here",
            )

    def _order(self, pool: list[ModelSpec], strategy: Strategy) -> list[ModelSpec]:
        by_preference = sorted(pool, key=lambda m: self.registry.provider_rank(m.provider))
        if strategy in _ORDER:
            return sorted(by_preference, key=_ORDER[strategy])  # stable: ties by preference
        if strategy is Strategy.ROUND_ROBIN and by_preference:
            turn = next(self._turn) % len(by_preference)
            return by_preference[turn:] + by_preference[:turn]
        return by_preference

    def embedding_model(self, model_id: str) -> ModelSpec:
        model = self.registry.get(model_id or self.registry.default_embedding_model)
        if not model.capabilities.embeddings:
            raise PlatformError(
                errors.INVALID_ARGUMENT, f"model: {model.id} is not an embedding model",
                field="model",
            )  # fmt: skip
        if not self.configured(model):
            raise PlatformError(
                errors.NO_CAPABLE_MODEL,
                f"model {model.id}: provider {model.provider!r} is not configured here",
            )
        return model
