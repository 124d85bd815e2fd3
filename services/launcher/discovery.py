"""What the registry says about a mesh: each launched layer's registered instances, and
whether each answers its gRPC health check now (``agentic services``)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.kit.registry import Registry, registry_for
from services.launcher.components import installed_layers
from services.launcher.config import LauncherSettings


@dataclass(frozen=True)
class RegisteredInstance:
    layer: str
    address: str  # "" when the layer has no instance registered
    pid: int
    health: str  # SERVING, NOT_SERVING, an RPC error's code, or "not registered"


def registry_of(settings: LauncherSettings) -> Registry:
    """The registry the layers of this mesh register in (Consul, else the home's)."""
    registry = registry_for(settings.consul_http_addr, settings.home)
    assert registry is not None  # a home is always given
    return registry


def clear_local_registry(settings: LauncherSettings) -> None:
    """Forgets every entry of a mesh none of whose layers runs (before a fresh start), so a
    recycled process id cannot make a dead entry look alive."""
    shutil.rmtree(settings.registry_dir, ignore_errors=True)


def health_of(address: str, timeout: float = 0.5) -> str:
    """The overall ``grpc.health.v1`` status of the server at ``address``."""
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError as error:
            return str(error.code().name)  # type: ignore[attr-defined]
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def registered_instances(settings: LauncherSettings) -> list[RegisteredInstance]:
    """Every launched layer's registered instances, in the layer table's order."""
    registry = registry_of(settings)
    rows = []
    for layer in installed_layers():
        instances = registry.instances(layer.name)
        if not instances:
            rows.append(RegisteredInstance(layer.name, "", 0, "not registered"))
        for instance in instances:
            rows.append(
                RegisteredInstance(
                    layer.name, instance.address, instance.pid, health_of(instance.address)
                )
            )
    return rows
