"""Clusters: one per layer package in the descriptor, plus the L09 Python process."""

from __future__ import annotations

from typing import Any

from services.l09_gateway.names import AUTHZ_CLUSTER, HTTP_CLUSTER
from services.l09_gateway.render.layers import Upstream

# Default ports of the L09 Python process; the launcher renders the mesh's own.
HTTP_PORT = 8090
GRPC_PORT = 8091

_HTTP2 = {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {}},
    }
}


def _endpoint(name: str, port: int) -> dict[str, Any]:
    address = {"socket_address": {"address": "127.0.0.1", "port_value": port}}
    return {
        "cluster_name": name,
        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address}}]}],
    }


def _grpc_health_check() -> list[dict[str, Any]]:
    return [
        {
            "timeout": "0.5s",
            "interval": "1s",
            # The default (60 s) would keep a dead layer "healthy" for a minute when idle.
            "no_traffic_interval": "1s",
            "unhealthy_threshold": 1,
            "healthy_threshold": 1,
            "grpc_health_check": {},
        }
    ]


def layer_cluster(layer: Upstream) -> dict[str, Any]:
    return {
        "name": layer.name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "typed_extension_protocol_options": _HTTP2,
        "health_checks": _grpc_health_check(),
        # Eject on transport failures only (refused, reset, timeout); a layer's own
        # UNAVAILABLE with an E-code must still reach the client.
        "outlier_detection": {
            "split_external_local_origin_errors": True,
            "consecutive_local_origin_failure": 5,
            "enforcing_consecutive_local_origin_failure": 100,
            "enforcing_consecutive_5xx": 0,
            "enforcing_consecutive_gateway_failure": 0,
            "enforcing_success_rate": 0,
            "enforcing_local_origin_success_rate": 0,
            "interval": "5s",
            "base_ejection_time": "5s",
            "max_ejection_percent": 50,
        },
        # Beyond these the layer is overloaded: fail fast with 503 instead of queueing.
        "circuit_breakers": {
            "thresholds": [
                {
                    "max_connections": 1024,
                    "max_pending_requests": 1024,
                    "max_requests": 1024,
                    "max_retries": 3,
                }
            ]
        },
        "load_assignment": _endpoint(layer.name, layer.port),
    }


def layer_http_cluster(name: str, port: int) -> dict[str, Any]:
    """A layer's plain HTTP port (HTTP/1.1), for the path it serves besides gRPC."""
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": _endpoint(name, port),
    }


def gateway_clusters() -> list[dict[str, Any]]:
    """The L09 Python process: HTTP (health, OpenAPI) and gRPC (ext_authz, rate limits)."""
    return [
        {
            "name": HTTP_CLUSTER,
            "type": "STATIC",
            "connect_timeout": "1s",
            "load_assignment": _endpoint(HTTP_CLUSTER, HTTP_PORT),
        },
        {
            "name": AUTHZ_CLUSTER,
            "type": "STATIC",
            "connect_timeout": "0.25s",
            "typed_extension_protocol_options": _HTTP2,
            "circuit_breakers": {
                "thresholds": [{"max_pending_requests": 4096, "max_requests": 4096}]
            },
            "load_assignment": _endpoint(AUTHZ_CLUSTER, GRPC_PORT),
        },
    ]
