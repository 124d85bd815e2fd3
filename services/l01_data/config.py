"""L01 settings, from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.kit.config import ServiceSettings


class DataSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="L01_", extra="ignore")

    port: int = Field(8001, ge=0, le=65535)
    database_url: str = Field(
        "postgresql://agentic@127.0.0.1:8432/agentic",
        validation_alias=AliasChoices("DATABASE_URL", "L01_DATABASE_URL"),
    )
    redis_url: str = Field(
        "redis://127.0.0.1:8379/0", validation_alias=AliasChoices("REDIS_URL", "L01_REDIS_URL")
    )
    api_key: str | None = Field(None, description="production key; unset = dev tokens")
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L01_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    pool_min_size: int = 2
    pool_max_size: int = 16
    connect_timeout_seconds: float = 2.0
    statement_timeout_seconds: float = 10.0
    startup_wait_seconds: float = Field(30.0, description="how long to wait for PostgreSQL")
    # Redis mirror of the log that a consumer reconnecting after an outage can replay.
    redis_stream_maxlen: int = 100_000
    # How often events hidden by stream limits (max count / max age) are deleted.
    retention_sweep_seconds: float = Field(30.0, gt=0)
