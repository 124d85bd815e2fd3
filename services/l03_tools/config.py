"""L03 settings, from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.kit.config import ServiceSettings


class ToolSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="L03_", extra="ignore")

    port: int = Field(8003, ge=0, le=65535)
    api_key: str | None = Field(None, description="production key; unset = dev tokens")
    log_level: str = Field(
        "info", validation_alias=AliasChoices("L03_LOG_LEVEL", "AGENTIC_LOG_LEVEL")
    )
    # L01 (registry, idempotency, events): found by kit.layer_target. Token: this, else
    # the mesh's service token (AGENTIC_SERVICE_TOKEN), else the development token.
    l01_token: str | None = Field(
        None, validation_alias=AliasChoices("L03_L01_TOKEN", "L01_API_KEY")
    )
    # Where workspaces live: $L03_WORKSPACE_ROOT, else $AGENTIC_HOME/workspaces.
    workspace_root: Path | None = None
    agentic_home: Path = Field(
        Path(".agentic"), validation_alias=AliasChoices("AGENTIC_HOME", "L03_AGENTIC_HOME")
    )
    # "bwrap": every execution in a fresh bubblewrap sandbox, refused where bwrap cannot
    # run. "unsafe-local": plain subprocesses with rlimits only, for machines without
    # user namespaces; logged loudly at start and on every execution.
    sandbox: Literal["bwrap", "unsafe-local"] = "bwrap"
    # The interpreter python tools run; it must be readable by uid 65534 (not under a
    # private home). Empty: /usr/bin/python3, else this process's base interpreter.
    python: str = ""
    max_concurrent_executions: int = Field(16, ge=1, le=1024)
    # Sandbox entries started ahead of their executions, each already in its pids cgroup
    # (0: each execution starts its own, paying the cgroup join on its way).
    warm_sandboxes: int = Field(4, ge=0, le=64)
    # Hosts the built-in http_fetch may reach (comma-separated "host" or "host:port").
    http_allowed_hosts: str = ""

    @property
    def workspaces(self) -> Path:
        root = self.workspace_root or self.agentic_home / "workspaces"
        return root.expanduser().absolute()
