"""Runs benchmark figures on a mesh of their own: free ports, durable (fsync on), and an
HS256 secret so the gateway verifies JWTs natively (its components inherit it)."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from services.kit.layers import Layer
from services.launcher.config import LauncherSettings
from services.launcher.mesh import Mesh

JWT_SECRET_ENV = "L09_JWT_HS256_SECRET"


def run_on_own_mesh(
    figures: Callable[[LauncherSettings], Coroutine[Any, Any, None]],
    layers: Sequence[Layer] | None = None,
) -> int:
    """``layers``: only these (and what they need), for figures that use no other."""
    os.environ.setdefault(JWT_SECRET_ENV, secrets.token_urlsafe(32))
    with tempfile.TemporaryDirectory(prefix="agentic-bench-") as home:
        settings = LauncherSettings.on_free_ports(Path(home))
        mesh = Mesh(settings, fsync=True, layers=layers)
        print("starting a benchmark mesh on free ports ...", flush=True)
        mesh.up(timeout=300)  # minutes on a shared machine whose cores are busy
        try:
            asyncio.run(figures(settings))
        finally:
            mesh.down()
    return 0
