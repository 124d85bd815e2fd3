"""Settings shared by every layer process, read from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development tokens accepted when no production key is configured. They are
# public (they appear in the README): never use them outside a laptop.
DEV_TOKENS: dict[str, str] = {"dev_key_local_ONLY": "dev", "test_token_123": "test"}

# The largest gRPC message a layer takes or sends by default; the gateway passes native gRPC
# messages of this size and buffers REST answers up to it.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class ServiceSettings(BaseSettings):
    """Common knobs; a layer subclasses this with its own prefix and port."""

    model_config = SettingsConfigDict(env_prefix="AGENTIC_", extra="ignore")

    host: str = Field("127.0.0.1", description="address the gRPC server binds")
    port: int = Field(0, ge=0, le=65535, description="gRPC port; 0 picks a free one")
    log_level: str = "info"
    log_format: Literal["json", "console"] = "json"
    grace_seconds: float = Field(5.0, description="graceful shutdown window on SIGTERM")
    max_message_bytes: int = Field(MAX_MESSAGE_BYTES, description="largest request accepted")
