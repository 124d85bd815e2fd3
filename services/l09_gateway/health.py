"""Asks every layer's grpc.health.v1 service how it is, in parallel."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = "SERVING"
NOT_SERVING = "NOT_SERVING"
UNREACHABLE = "UNREACHABLE"


@dataclass(frozen=True)
class LayerHealth:
    name: str
    target: str
    status: str  # a grpc.health ServingStatus name, or UNREACHABLE
    error: str | None = None

    def as_dict(self) -> dict[str, str]:
        body = {"target": self.target, "status": self.status}
        if self.error:
            body["error"] = self.error
        return body


@dataclass(frozen=True)
class MeshHealth:
    layers: tuple[LayerHealth, ...]

    @property
    def serving(self) -> bool:
        return all(layer.status == SERVING for layer in self.layers)

    def as_dict(self) -> dict[str, object]:
        return {
            "status": SERVING if self.serving else NOT_SERVING,
            "layers": {layer.name: layer.as_dict() for layer in self.layers},
        }


async def check_layer(name: str, target: str, timeout: float) -> LayerHealth:
    """One layer's overall health (service ""). A fresh channel per check: a cached one
    would sit in reconnect backoff after a restart and report a healthy layer as down."""
    try:
        async with grpc.aio.insecure_channel(target) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
    except grpc.aio.AioRpcError as error:
        if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return LayerHealth(name, target, UNREACHABLE, error.code().name)
        return LayerHealth(name, target, NOT_SERVING, error.code().name)
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return LayerHealth(name, target, status)


async def check_mesh(layers: Mapping[str, str], timeout: float) -> MeshHealth:
    results = await asyncio.gather(
        *(check_layer(name, target, timeout) for name, target in layers.items())
    )
    return MeshHealth(tuple(results))
