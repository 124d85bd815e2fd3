"""L13 settings, from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.kit.config import ServiceSettings

PACKAGE = Path(__file__).parent


class RoleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="L13_", extra="ignore")

    port: int = Field(8013, ge=0, le=65535)
    api_key: str | None = Field(None, description="production key; unset = dev tokens")
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L13_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    # Token towards L01 and L04: this, else the mesh's service token, else the dev token.
    upstream_token: str | None = Field(None, validation_alias=AliasChoices("L13_UPSTREAM_TOKEN"))
    roles_dir: Path = Field(PACKAGE / "data" / "roles", description="the shipped roles")
    weights_path: Path = Field(
        PACKAGE / "data" / "weights.json", description="classification blend (bench.role_weights)"
    )
    oversight_path: Path = Field(
        PACKAGE / "data" / "oversight.yaml", description="the example tasks needing oversight"
    )
