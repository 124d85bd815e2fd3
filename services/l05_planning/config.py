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
    # Reuse the plan of an earlier similar completed goal of the same owner (a goal's
    # constraint fresh_plan turns it off for that goal; this, for every goal).
    plan_reuse: bool = True
    # Cosine similarity of two goals' embeddings (L04's default embedding model) at or over
    # which the earlier goal's plan is a candidate for reuse (then checked for differences
    # and validated again). Chosen on the dev half of tests/data/goal_pairs.jsonl as the
    # lowest with no wrong reuse (python -m bench.plan_reuse): held-out, 0 of 76 wrong reuses
    # (0 of 20 destructive) and 22 of 44 reusable pairs reused (50 %).
    reuse_threshold: float = Field(0.71, ge=0.0, le=1.0)
