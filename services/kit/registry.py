"""Service discovery: where each layer's instances are, told by the instances themselves.

Every ``GrpcServer`` registers its layer (name, address, a gRPC health check) when it starts
and deregisters when it stops; ``layer_target`` resolves a layer through the same registry.
Which registry is chosen from the environment (``registry_from_env``):

- ``CONSUL_HTTP_ADDR`` set: Consul's HTTP agent API (``services.kit.consul_registry``), which
  runs the gRPC health check itself; instances that pass it come first;
- else ``AGENTIC_HOME`` set (the launcher sets it): a local registry, one JSON file per
  instance under ``$AGENTIC_HOME/registry/<layer>/``, where an instance whose process has
  gone is skipped (the health check is recorded for tools such as ``agentic services``);
- else none: ``layer_target`` falls back to the layer's port in this mesh (the launcher's
  ``AGENTIC_L01_PORT``) or its default.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

# How often Consul runs an instance's gRPC health check, and how long an instance may fail
# it before Consul drops it (a process killed without deregistering).
HEALTH_CHECK_INTERVAL = "10s"
DEREGISTER_CRITICAL_AFTER = "1m"

# Host names a server binds to that no client can dial: the advertised address is then the
# machine's host name (or AGENTIC_ADVERTISE_HOST).
_ANY_HOST = ("", "0.0.0.0", "::", "[::]")


@dataclass(frozen=True)
class ServiceInstance:
    """One running process of a layer, as the registry knows it."""

    name: str  # the layer's component name, e.g. "l01_data"
    host: str
    port: int
    pid: int = 0
    registered_at: float = 0.0
    # Whether it passes its health check as the registry last saw it: Consul's checks; a
    # local entry is listed only while its process lives. Not stored: a state, not a fact.
    passing: bool = field(default=True, compare=False)

    @property
    def instance_id(self) -> str:
        """Unique per process: ``l01_data-127.0.0.1-8001``."""
        return f"{self.name}-{self.host}-{self.port}"

    @property
    def address(self) -> str:
        """``host:port`` for a gRPC channel."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def health_check(self) -> dict[str, str]:
        """The gRPC health check that says whether it serves (``grpc.health.v1``)."""
        return {"grpc": self.address, "interval": HEALTH_CHECK_INTERVAL}


class Registry(Protocol):
    """Where instances register and are looked up. Implementations block (file or HTTP I/O):
    call them from a thread in async code."""

    def register(self, instance: ServiceInstance) -> None: ...

    def deregister(self, instance: ServiceInstance) -> None: ...

    def instances(self, name: str) -> list[ServiceInstance]:
        """Live instances of a layer, the healthiest and then the most recently registered
        first."""
        ...


def advertised_host(bound_host: str) -> str:
    """The host other processes dial to reach a server bound to ``bound_host``."""
    explicit = os.environ.get("AGENTIC_ADVERTISE_HOST")
    if explicit:
        return explicit
    return socket.gethostname() if bound_host in _ANY_HOST else bound_host


def this_process(name: str, bound_host: str, port: int) -> ServiceInstance:
    """The instance a server of this process, bound to ``bound_host:port``, registers."""
    return ServiceInstance(
        name=name,
        host=advertised_host(bound_host),
        port=port,
        pid=os.getpid(),
        registered_at=time.time(),
    )


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


class LocalRegistry:
    """The embedded default: files in the launcher's state directory, one per instance."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, instance: ServiceInstance) -> Path:
        return self.directory / instance.name / f"{instance.instance_id}.json"

    def register(self, instance: ServiceInstance) -> None:
        path = self._path(instance)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {**asdict(instance), "check": instance.health_check}
        del entry["passing"]
        # Written aside and renamed: a reader never sees half an entry.
        staging = path.with_suffix(f".{os.getpid()}.tmp")
        staging.write_text(json.dumps(entry))
        os.replace(staging, path)

    def deregister(self, instance: ServiceInstance) -> None:
        self._path(instance).unlink(missing_ok=True)

    def instances(self, name: str) -> list[ServiceInstance]:
        found = []
        for path in (self.directory / name).glob("*.json"):
            with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
                entry = json.loads(path.read_text())
                instance = ServiceInstance(
                    name=str(entry["name"]),
                    host=str(entry["host"]),
                    port=int(entry["port"]),
                    pid=int(entry["pid"]),
                    registered_at=float(entry["registered_at"]),
                )
                # A process killed without deregistering leaves its file behind.
                if _process_alive(instance.pid):
                    found.append(instance)
        return sorted(found, key=lambda i: i.registered_at, reverse=True)


def local_registry_dir(home: Path) -> Path:
    """Where the local registry of the mesh living in ``home`` keeps its entries."""
    return home / "registry"


@functools.lru_cache(maxsize=8)  # one Consul client (and its connection pool) per agent
def registry_for(consul_http_addr: str | None, home: Path | None) -> Registry | None:
    """The Consul agent at ``consul_http_addr`` if given, else the local registry of the mesh
    living in ``home``, else none."""
    if consul_http_addr:
        # Imported here: processes without Consul never load its client.
        from services.kit.consul_registry import ConsulRegistry

        return ConsulRegistry.at(consul_http_addr)
    if home is not None:
        return LocalRegistry(local_registry_dir(home))
    return None


def registry_from_env() -> Registry | None:
    """Consul when ``CONSUL_HTTP_ADDR`` is set, else the local registry of ``AGENTIC_HOME``."""
    home = os.environ.get("AGENTIC_HOME")
    return registry_for(os.environ.get("CONSUL_HTTP_ADDR"), Path(home) if home else None)
