"""L14 settings, from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.kit.config import ServiceSettings

PACKAGE = Path(__file__).parent


class SkillSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="L14_", extra="ignore")

    port: int = Field(8014, ge=0, le=65535)
    api_key: str | None = Field(None, description="production key; unset = dev tokens")
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L14_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    # Token towards L01, L04 and L13: this, else the mesh's service token, else the dev token.
    upstream_token: str | None = Field(None, validation_alias=AliasChoices("L14_UPSTREAM_TOKEN"))
    skills_dir: Path = Field(PACKAGE / "data" / "skills", description="the shipped skills")
    weights_path: Path = Field(
        PACKAGE / "data" / "weights.json", description="search blend (bench.skill_weights)"
    )
