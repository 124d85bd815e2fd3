"""The model registry: models, their providers, capabilities, prices and latency (YAML)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.kit import PlatformError
from services.l04_models import errors

PROVIDERS = ("claude_code", "anthropic", "ollama", "local")
CAPABILITIES = ("tools", "json", "vision", "streaming", "embeddings")


class Capabilities(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tools: bool = False
    json_output: bool = Field(False, alias="json")
    vision: bool = False
    streaming: bool = False
    embeddings: bool = False
    context_length: int = Field(4096, gt=0)

    def has(self, capability: str) -> bool:
        name = "json_output" if capability == "json" else capability
        return bool(getattr(self, name, False))


class Cost(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_token: float = Field(0.0, ge=0)
    output_per_token: float = Field(0.0, ge=0)


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    provider: str
    provider_model: str
    capabilities: Capabilities
    cost: Cost = Cost()
    expected_latency_ms: float = Field(1000.0, ge=0)
    quality: int = Field(50, ge=1, le=100)
    dimension: int = Field(0, ge=0, description="embedding models: vector size")

    @model_validator(mode="after")
    def _known_provider(self) -> ModelSpec:
        if self.provider not in PROVIDERS:
            raise ValueError(f"{self.id}: unknown provider {self.provider!r}")
        if self.capabilities.embeddings and self.dimension <= 0:
            raise ValueError(f"{self.id}: an embedding model needs its dimension")
        return self

    def price(self, input_tokens: int, output_tokens: int) -> float:
        return input_tokens * self.cost.input_per_token + output_tokens * self.cost.output_per_token


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider_order: tuple[str, ...] = PROVIDERS
    default_embedding_model: str
    models: tuple[ModelSpec, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Registry:
        ids = [m.id for m in self.models]
        if len(ids) != len(set(ids)):
            raise ValueError("model ids must be unique")
        if self.default_embedding_model not in ids:
            raise ValueError(f"default_embedding_model {self.default_embedding_model!r} unknown")
        unknown = set(self.provider_order) - set(PROVIDERS)
        if unknown:
            raise ValueError(f"provider_order names unknown providers: {sorted(unknown)}")
        return self

    def __iter__(self) -> Iterator[ModelSpec]:  # type: ignore[override]
        return iter(self.models)

    def get(self, model_id: str) -> ModelSpec:
        for model in self.models:
            if model.id == model_id:
                return model
        raise PlatformError(
            errors.UNKNOWN_MODEL, f"model: {model_id!r} is not in the registry", field="model"
        )

    def chat_models(self) -> list[ModelSpec]:
        return [m for m in self.models if not m.capabilities.embeddings]

    def provider_rank(self, provider: str) -> int:
        order = list(self.provider_order)
        return order.index(provider) if provider in order else len(order)


def load_registry(path: Path) -> Registry:
    return Registry.model_validate(yaml.safe_load(path.read_text()))
