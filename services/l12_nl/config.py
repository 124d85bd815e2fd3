"""L12 settings, from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.kit.config import ServiceSettings


class NLSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="L12_", extra="ignore")

    port: int = Field(8012, ge=0, le=65535)
    http_port: int = Field(8112, ge=0, le=65535, description="the MCP endpoint /mcp (HTTP)")
    api_key: str | None = Field(None, description="production key; unset = dev tokens")
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L12_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    # For L12's own calls to L01 (its documents) and L04 (embeddings, arguments): the mesh's
    # service token, else this, else the development token.
    mesh_token: str | None = None
    index_wait_seconds: float = Field(
        60.0, description="how long a search waits for the index before E12003"
    )
