"""The one interface every provider adapter implements, and the error it raises."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from services.l04_models.conversation import Completion, Embeddings, GenerationRequest
from services.l04_models.registry import ModelSpec

# Items of a provider stream: text deltas, then exactly one Completion.
StreamItem = str | Completion


class ProviderError(Exception):
    """A provider call failed. ``retryable`` errors (429, 5xx, overloaded, timeouts) are
    retried with backoff on the same provider; any error moves on to the next candidate."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class Provider(Protocol):
    name: str

    def available(self) -> bool:
        """Configured on this machine (key set, executable found, URL given, model present)."""
        ...

    async def generate(self, model: ModelSpec, request: GenerationRequest) -> Completion: ...

    def stream(self, model: ModelSpec, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        """Text deltas as they come, then the Completion."""
        ...

    async def embed(self, model: ModelSpec, texts: list[str]) -> Embeddings: ...

    async def close(self) -> None: ...


def http_retryable(status: int) -> bool:
    """429 (rate limited), 408, 5xx and Anthropic's 529 (overloaded) are worth a retry."""
    return status in (408, 409, 429) or status >= 500


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
