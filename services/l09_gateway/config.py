"""L09 sidecar settings, from the environment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="L09_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(8090, ge=0, le=65535)
    # "name=host:port,..." in the environment, e.g. "l01_data=127.0.0.1:8001".
    layers: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    check_timeout_seconds: float = Field(0.5, gt=0)
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L09_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    log_format: Literal["json", "console"] = Field(
        "json", validation_alias=AliasChoices("L09_LOG_FORMAT", "AGENTIC_LOG_FORMAT")
    )

    @field_validator("layers", mode="before")
    @classmethod
    def _parse_layers(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        layers: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, target = item.partition("=")
            if not sep or not name.strip() or not target.strip():
                raise ValueError(f"expected name=host:port, got {item!r}")
            layers[name.strip()] = target.strip()
        return layers
