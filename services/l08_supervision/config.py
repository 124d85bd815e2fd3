"""L08 settings, from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.kit.config import ServiceSettings


class SupervisionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="L08_", extra="ignore")

    port: int = Field(8008, ge=0, le=65535)
    api_key: str | None = Field(None, description="production key; unset = dev tokens")
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L08_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    # L01 (policies, approvals, the decision log): found by kit.layer_target. Token: this,
    # else the mesh's service token, else the development token.
    l01_token: str | None = Field(
        None, validation_alias=AliasChoices("L08_L01_TOKEN", "L01_API_KEY")
    )
    # The call counters (calls_last_minute, calls_today); the launcher sets REDIS_URL.
    redis_url: str = Field(
        "redis://127.0.0.1:8379/0", validation_alias=AliasChoices("REDIS_URL", "L08_REDIS_URL")
    )
    # How long an approval stays open, at most and by default (a request may ask for less).
    approval_ttl_seconds: float = Field(3600.0, gt=0, le=7 * 86400)
    # How often pending approvals past their expiry are rejected.
    expiry_sweep_seconds: float = Field(0.5, gt=0)
