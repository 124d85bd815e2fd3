"""Launcher settings: where the mesh lives and which ports it uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, create_model, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.kit import cors
from services.kit.layers import Layer, launched_layers, layer_by_key
from services.kit.registry import local_registry_dir
from services.launcher.ports import free_ports

# One port setting per process of each layer the launcher starts (l01_port <-
# AGENTIC_L01_PORT, l04_process1_port <- AGENTIC_L04_PROCESS1_PORT, ...), so a new row in
# services/kit/layers.py needs no edit here.
_LayerPorts = create_model(
    "_LayerPorts",
    __base__=BaseSettings,
    **{
        layer.process_port_setting(n): (int, Field(port, ge=1, le=65535))
        for layer in launched_layers()
        for n, port in enumerate(layer.process_ports)
    },  # type: ignore[call-overload]
    **{
        layer.http_port_setting: (int, Field(layer.http_port, ge=1, le=65535))
        for layer in launched_layers()
        if layer.serves_http
    },
)


class LauncherSettings(_LayerPorts):  # type: ignore[misc,valid-type]
    """Read from ``AGENTIC_*`` (plus ``DATABASE_URL``, ``REDIS_URL``, ``L01_API_KEY``)."""

    model_config = SettingsConfigDict(env_prefix="AGENTIC_", extra="ignore", populate_by_name=True)

    home: Path = Field(Path(".agentic"), description="supervisord files, logs, pgdata, configs")
    gateway_port: int = Field(8009, ge=1, le=65535, description="Envoy: gRPC and REST")
    envoy_admin_port: int = Field(8901, ge=1, le=65535)
    gateway_http_port: int = Field(8090, ge=1, le=65535, description="L09 health sidecar")
    gateway_grpc_port: int = Field(8091, ge=1, le=65535, description="L09 ext_authz, rate limits")
    postgres_port: int = Field(8432, ge=1, le=65535)
    redis_port: int = Field(8379, ge=1, le=65535)
    temporal_port: int = Field(7233, ge=1, le=65535, description="embedded Temporal dev server")
    # External servers: when set, the embedded one is not started.
    database_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=AliasChoices("REDIS_URL"))
    temporal_address: str | None = Field(None, validation_alias=AliasChoices("TEMPORAL_ADDRESS"))
    l01_api_key: str | None = Field(None, validation_alias=AliasChoices("L01_API_KEY"))
    # Discovery: the layers register with this Consul agent, else in the home's registry.
    consul_http_addr: str | None = Field(None, validation_alias=AliasChoices("CONSUL_HTTP_ADDR"))
    # The gateway's credential towards the layers; generated into the home when unset.
    service_token: str | None = None
    # Production: the gateway refuses the public dev tokens (also implied by L01_API_KEY).
    production: bool = False
    # Browser origins the gateway allows (CORS), comma-separated: exact origins, "localhost"
    # (any loopback origin) or "*"; unset: loopback in development, none in production.
    cors_origins: Annotated[tuple[str, ...] | None, NoDecode] = None
    log_level: str = "info"

    @classmethod
    def on_free_ports(cls, home: Path, **overrides: object) -> LauncherSettings:
        """A mesh of its own (tests, benchmarks): every port free right now, and no external
        server or key taken from the caller's environment."""
        names = [name for name in cls.model_fields if name.endswith("_port")]
        values: dict[str, object] = {
            **dict(zip(names, free_ports(len(names)), strict=True)),
            "database_url": None,
            "redis_url": None,
            "temporal_address": None,
            "l01_api_key": None,
            "consul_http_addr": None,
            **overrides,
        }
        return cls(home=home, **values)  # type: ignore[arg-type]

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, home: Path) -> Path:
        return home.expanduser().absolute()

    @field_validator(
        "database_url",
        "redis_url",
        "temporal_address",
        "l01_api_key",
        "service_token",
        "consul_http_addr",
    )
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return cors.parse_origins(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _distinct_ports(self) -> LauncherSettings:
        ports = self.ports()
        taken: dict[int, str] = {}
        for name, port in ports.items():
            if port in taken:
                raise ValueError(f"{name} and {taken[port]} both use port {port}")
            taken[port] = name
        return self

    def ports(self) -> dict[str, int]:
        """Every port the mesh may listen on, by setting name."""
        return {
            name: getattr(self, name) for name in type(self).model_fields if name.endswith("_port")
        }

    def layer_port(self, layer: Layer | str) -> int:
        """The gRPC port of a layer (of its first process) in this mesh, e.g.
        ``layer_port("l01")``."""
        row = layer if isinstance(layer, Layer) else layer_by_key(layer)
        return int(getattr(self, row.port_setting))

    def layer_ports(self, layer: Layer) -> tuple[int, ...]:
        """The gRPC port of each process of a layer in this mesh."""
        return tuple(
            int(getattr(self, layer.process_port_setting(n))) for n in range(layer.processes)
        )

    def layer_http_port(self, layer: Layer) -> int:
        """The HTTP port of a layer that ``serves_http``, in this mesh."""
        return int(getattr(self, layer.http_port_setting))

    @property
    def production_mode(self) -> bool:
        """Production: set, or implied by a production key for L01."""
        return self.production or bool(self.l01_api_key)

    @property
    def effective_cors_origins(self) -> tuple[str, ...]:
        if self.cors_origins is not None:
            return self.cors_origins
        return cors.default_origins(self.production_mode)

    @property
    def gateway_keys_file(self) -> Path:
        """The API keys `agentic keys` writes and the L09 gateway reads (hashed)."""
        return self.home / "gateway" / "api_keys.json"

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"postgresql://agentic@127.0.0.1:{self.postgres_port}/agentic"

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def effective_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def registry_dir(self) -> Path:
        """The local registry the layers register in when no Consul agent is configured."""
        return local_registry_dir(self.home)

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.redis_port}/0"
