"""Builds the whole Envoy configuration of the L09 gateway from the descriptor set."""

from __future__ import annotations

from typing import Any

import yaml

from services.l09_gateway.descriptor import Surface
from services.l09_gateway.names import AUTHZ_CLUSTER, PRINCIPAL_HEADER, RPC_HEADER
from services.l09_gateway.render import clusters, filters, routes
from services.l09_gateway.render.errors import LOCAL_REPLIES, OTHER, local_reply_config
from services.l09_gateway.render.layers import http_upstreams, layer_for

LISTENER_PORT = 8009
ADMIN_PORT = 8901
DESCRIPTOR = "gen/descriptor.binpb"

_ACCESS_LOG_FIELDS = {
    "time": "%START_TIME%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "upstream_path": "%REQ(:PATH)%",
    "principal": f"%REQ({PRINCIPAL_HEADER.upper()})%",
    "rpc": f"%REQ({RPC_HEADER.upper()})%",
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "grpc_status": "%GRPC_STATUS(NUMBER)%",
    "flags": "%RESPONSE_FLAGS%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "bytes_in": "%BYTES_RECEIVED%",
    "bytes_out": "%BYTES_SENT%",
    "duration_ms": "%DURATION%",
    "upstream": "%UPSTREAM_CLUSTER%",
    "upstream_host": "%UPSTREAM_HOST%",
}

# Browsers may call from any origin; they must still send credentials explicitly.
_CORS_POLICY = {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
    "allow_origin_string_match": [{"safe_regex": {"regex": ".*"}}],
    "allow_methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "allow_headers": (
        "authorization, x-api-key, content-type, x-grpc-web, x-user-agent, grpc-timeout, "
        "x-request-id"
    ),
    "expose_headers": (
        "grpc-status, grpc-message, grpc-status-details-bin, x-request-id, retry-after, "
        "x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset"
    ),
    "max_age": "86400",
}


def _connection_manager(surface: Surface) -> dict[str, Any]:
    return {
        "@type": (
            "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager"
            ".v3.HttpConnectionManager"
        ),
        "stat_prefix": "gateway",
        "codec_type": "AUTO",
        # Without trailers an HTTP/1.1 REST stream loses a mid-stream gRPC error.
        "http_protocol_options": {"enable_trailers": True},
        # Streams are long-lived: find dead clients instead of holding them forever.
        "http2_protocol_options": {"connection_keepalive": {"interval": "30s", "timeout": "10s"}},
        "preserve_external_request_id": True,
        "always_set_request_id_in_response": True,
        "access_log": [
            {
                "name": "envoy.access_loggers.stdout",
                "typed_config": {
                    "@type": (
                        "type.googleapis.com/envoy.extensions.access_loggers.stream.v3"
                        ".StdoutAccessLog"
                    ),
                    "log_format": {"json_format": _ACCESS_LOG_FIELDS},
                },
            }
        ],
        "local_reply_config": local_reply_config(),
        "route_config": {
            "name": "gateway",
            "virtual_hosts": [
                {
                    "name": "mesh",
                    "domains": ["*"],
                    "routes": routes.routes(surface.methods),
                    "typed_per_filter_config": {"envoy.filters.http.cors": _CORS_POLICY},
                }
            ],
        },
        "http_filters": filters.chain(surface.services, DESCRIPTOR),
    }


def build(surface: Surface) -> dict[str, Any]:
    """The configuration with the default ports; the launcher renders a mesh's own."""
    layer_clusters = []
    for package in surface.packages:
        layer = layer_for(package)
        if layer.name != AUTHZ_CLUSTER:  # the gateway's own API is served by its process
            layer_clusters.append(clusters.layer_cluster(layer))
    for upstream in http_upstreams(surface.packages):
        layer_clusters.append(clusters.layer_http_cluster(upstream.cluster, upstream.port))
    return {
        # Names this Envoy to the L09 process's discovery service (the native auth filters).
        "node": {"id": "l09-gateway", "cluster": "l09-gateway"},
        "admin": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": ADMIN_PORT}}
        },
        # Caps open client connections: a flood is refused instead of exhausting memory.
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": (
                            "type.googleapis.com/envoy.extensions.resource_monitors"
                            ".downstream_connections.v3.DownstreamConnectionsConfig"
                        ),
                        "max_active_downstream_connections": 10000,
                    },
                }
            ]
        },
        "static_resources": {
            "listeners": [
                {
                    "name": "gateway",
                    "address": {
                        "socket_address": {"address": "127.0.0.1", "port_value": LISTENER_PORT}
                    },
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": _connection_manager(surface),
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": layer_clusters + clusters.gateway_clusters(),
        },
    }


def _header(surface: Surface) -> str:
    lines = [
        "L09 gateway: one port for native gRPC (h2c), gRPC-Web and REST/JSON, routed by RPC to",
        "the layers. GENERATED from gen/descriptor.binpb by `make gateway`",
        "(python -m services.l09_gateway.render): do not edit; CI checks it is fresh.",
        "`agentic up` renders a copy into $AGENTIC_HOME with the mesh's ports.",
        "",
        f"Layer packages: {', '.join(surface.packages)}",
        "",
        "Errors Envoy produces itself, as google.rpc.Status JSON for REST clients",
        '(ErrorInfo domain "gateway.agentic"); gRPC clients get gRPC statuses (for 401, 403 and',
        "429 with the same ErrorInfo in grpc-status-details-bin):",
    ]
    lines += [f"  {reason}  HTTP {status}  {what}" for status, _, reason, what in LOCAL_REPLIES]
    lines.append(f"  {OTHER[1]}  other     {OTHER[2]}")
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


class _PlainDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(surface: Surface) -> str:
    body = yaml.dump(build(surface), Dumper=_PlainDumper, sort_keys=False, width=100)
    return _header(surface) + body
