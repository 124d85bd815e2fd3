"""L00 settings, from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.kit.config import ServiceSettings


class SecretSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="L00_", extra="ignore")

    port: int = Field(8000, ge=0, le=65535)
    api_key: str | None = Field(None, description="production key; unset = dev tokens")
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L00_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    # L01 (documents, audit events): found by kit.layer_target. Token: this, else the
    # mesh's service token, else the development token.
    l01_token: str | None = Field(
        None, validation_alias=AliasChoices("L00_L01_TOKEN", "L01_API_KEY")
    )
    # Where values live: "envelope" (sealed in L01 under the master keys) or "vault".
    backend: Literal["envelope", "vault"] = "envelope"
    # The master keyring (envelope backend): inline, else a file. See keyring.py.
    master_key: str | None = Field(None, repr=False)
    master_key_file: Path | None = None
    # Vault (vault backend): KV v2 engine at this mount.
    vault_url: str = "http://127.0.0.1:8200"
    vault_token: str | None = Field(
        None, repr=False, validation_alias=AliasChoices("L00_VAULT_TOKEN", "VAULT_TOKEN")
    )
    vault_mount: str = "secret"
    vault_timeout_seconds: float = Field(5.0, gt=0)
