"""Where Envoy sends each proto package: a view of the kit's layer table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.kit import layers as mesh_layers
from services.l09_gateway.names import AUTHZ_CLUSTER


@dataclass(frozen=True)
class Upstream:
    name: str  # Envoy cluster name: the layer's component name, e.g. "l01_data"
    ports: tuple[int, ...]  # the default gRPC port of each of its processes (the launcher
    # renders the mesh's own)
    timeout: timedelta  # per-call route timeout for its unary RPCs


DEFAULT_TIMEOUT = timedelta(seconds=mesh_layers.DEFAULT_TIMEOUT_SECONDS)


def _upstream(layer: mesh_layers.Layer) -> Upstream:
    timeout = timedelta(seconds=layer.timeout_seconds)
    if layer is mesh_layers.GATEWAY:  # the gateway's own API is served by the L09 process
        return Upstream(AUTHZ_CLUSTER, (mesh_layers.GATEWAY_PROCESS_GRPC_PORT,), timeout)
    return Upstream(layer.name, layer.process_ports, timeout)


UPSTREAMS: dict[str, Upstream] = {layer.package: _upstream(layer) for layer in mesh_layers.LAYERS}


def layer_for(package: str) -> Upstream:
    try:
        return UPSTREAMS[package]
    except KeyError:
        raise ValueError(
            f"no layer serves package {package!r}: add its row to services/kit/layers.py"
        ) from None


@dataclass(frozen=True)
class HttpUpstream:
    path: str  # the prefix Envoy routes to it as is, e.g. "/mcp"
    cluster: str  # e.g. "l12_nl_http"
    port: int  # its default HTTP port


def http_upstreams(packages: list[str]) -> list[HttpUpstream]:
    """The plain HTTP paths the layers of ``packages`` serve besides gRPC."""
    return [
        HttpUpstream(layer.http_path, layer.http_cluster, layer.http_port)
        for layer in mesh_layers.LAYERS
        if layer.http_path and layer.package in packages
    ]


def compat_upstream(packages: list[str]) -> HttpUpstream | None:
    """The HTTP port serving the compatible APIs (L04's), when its layer is in ``packages``."""
    for layer in mesh_layers.LAYERS:
        if layer.compat_apis and layer.package in packages:
            return HttpUpstream("", layer.http_cluster, layer.http_port)
    return None
