"""L05 settings, from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.kit.config import ServiceSettings


class PlanningSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="L05_", extra="ignore")

    port: int = Field(8005, ge=0, le=65535)
    api_key: str | None = Field(None, description="production key; unset = dev tokens")
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L05_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    temporal_address: str = Field(
        "127.0.0.1:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS", "L05_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        "default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "L05_TEMPORAL_NAMESPACE"),
    )
    # A second planning process on the same Temporal (a test's) takes a queue of its own.
    task_queue: str = "agentic-goals"
    # L02's task queue: a goal's tasks run there as child workflows of L02's AgentRun.
    agent_task_queue: str = "agentic-agent-runs"
    # The token L05 presents to L01-L04: the mesh's service token unless given.
    layer_token: str | None = Field(None, validation_alias=AliasChoices("L05_LAYER_TOKEN"))
    temporal_connect_seconds: float = Field(60.0, gt=0)
    # Pause between polls of a watched goal's stream.
    poll_seconds: float = Field(0.2, gt=0)
