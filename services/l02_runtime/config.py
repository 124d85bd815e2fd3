"""L02 settings, from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.kit.config import ServiceSettings


class RuntimeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="L02_", extra="ignore")

    port: int = Field(8002, ge=0, le=65535)
    api_key: str | None = Field(None, description="production key; unset = dev tokens")
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L02_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    # The Temporal frontend: the launcher's embedded dev server, or a real cluster.
    temporal_address: str = Field(
        "127.0.0.1:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS", "L02_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        "default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "L02_TEMPORAL_NAMESPACE"),
    )
    # Workers of one mesh share a queue; a second runtime on the same Temporal (a test's)
    # takes a queue of its own.
    task_queue: str = "agentic-agent-runs"
    # The token L02 presents to L01, L03 and L04: the mesh's service token unless given.
    layer_token: str | None = Field(None, validation_alias=AliasChoices("L02_LAYER_TOKEN"))
    temporal_connect_seconds: float = Field(60.0, gt=0)
    # What an agent is told of its role (L13's BuildContext, capped at the role's own budget)
    # and of its skills (L14's texts, the least relevant left out), in MiniLM tokens: small
    # enough to leave room for the task and the tools in a 4,096-token model.
    role_context_tokens: int = Field(600, ge=1, le=100_000)
    skill_context_tokens: int = Field(700, ge=1, le=1_000_000)
