"""Provider adapters, one interface (``Provider``): anthropic, claude_code, ollama, local."""

from services.l04_models.providers.base import Provider, ProviderError, StreamItem

__all__ = ["Provider", "ProviderError", "StreamItem"]
