"""L09 settings (health sidecar, ext_authz, rate limit service), from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.kit.layers import GATEWAY_PROCESS_GRPC_PORT
from services.l09_gateway.descriptor import PROJECT_ROOT

# Default HTTP port (health, OpenAPI); Envoy's committed configuration points there.
HTTP_PORT = 8090


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="L09_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(HTTP_PORT, ge=0, le=65535)
    # "name=host:port,..." in the environment, e.g. "l01_data=127.0.0.1:8001".
    layers: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    check_timeout_seconds: float = Field(0.5, gt=0)
    # ext_authz and the rate limit service (Envoy's gRPC APIs) on one gRPC port.
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(GATEWAY_PROCESS_GRPC_PORT, ge=0, le=65535)
    policy_file: Path = Field(PROJECT_ROOT / "gateway" / "policy.yaml")
    keys_file: Path = Field(Path(".agentic") / "gateway" / "api_keys.json")
    descriptor_file: Path = Field(PROJECT_ROOT / "gen" / "descriptor.binpb")
    # Production refuses the public dev tokens; L01_API_KEY set implies it.
    production: bool = False
    l01_api_key: str | None = Field(None, validation_alias=AliasChoices("L01_API_KEY"))
    service_token: str | None = Field(
        None, validation_alias=AliasChoices("AGENTIC_SERVICE_TOKEN", "L09_SERVICE_TOKEN")
    )
    redis_url: str = Field(
        "redis://127.0.0.1:8379/0", validation_alias=AliasChoices("REDIS_URL", "L09_REDIS_URL")
    )
    # JWTs: HS256 with a shared secret (development), RS256 with a JWKS file or URL.
    jwt_hs256_secret: str | None = None
    jwks_file: Path | None = None
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: float = Field(0.0, ge=0)
    # How often the keys at jwks_url are fetched again for Envoy's own verification.
    jwks_refresh_seconds: float = Field(300.0, gt=0)
    # How long a change to the keys or policy file may take to apply.
    reload_seconds: float = Field(1.0, gt=0)
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L09_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    log_format: Literal["json", "console"] = Field(
        "json", validation_alias=AliasChoices("L09_LOG_FORMAT", "AGENTIC_LOG_FORMAT")
    )

    @property
    def production_mode(self) -> bool:
        return self.production or bool(self.l01_api_key)

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
