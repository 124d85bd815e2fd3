"""Builds the whole Envoy configuration of the L09 gateway from the descriptor set, as
Envoy's typed messages (``envoy.config.bootstrap.v3.Bootstrap``)."""

from __future__ import annotations

from datetime import timedelta

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.config.core.v3 import base_pb2, protocol_pb2, substitution_format_string_pb2
from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from envoy.config.overload.v3 import overload_pb2
from envoy.config.route.v3 import route_components_pb2, route_pb2
from envoy.extensions.access_loggers.stream.v3 import stream_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as manager_pb2,
)
from envoy.extensions.resource_monitors.downstream_connections.v3 import (
    downstream_connections_pb2,
)
from envoy.type.matcher.v3 import string_pb2
from google.protobuf import json_format, struct_pb2

from services.kit import cors
from services.kit.layers import GATEWAY
from services.kit.yaml_text import plain_yaml
from services.l09_gateway.descriptor import Surface
from services.l09_gateway.names import AUTHZ_CLUSTER, CORS_FILTER, PRINCIPAL_HEADER, RPC_HEADER
from services.l09_gateway.render import clusters, filters, rest_guard, routes
from services.l09_gateway.render.connect_errors import with_connect_errors
from services.l09_gateway.render.errors import (
    LOCAL_REPLIES,
    MAX_REQUEST_HEADERS_KIB,
    OTHER,
    local_reply_config,
)
from services.l09_gateway.render.layers import compat_upstream, http_upstreams, layer_for
from services.l09_gateway.render.typed import as_data, packed, u32
from services.l09_gateway.status_details import DOMAIN

LISTENER_PORT = GATEWAY.port
ADMIN_PORT = 8901
DESCRIPTOR = "gen/descriptor.binpb"
NODE = "l09-gateway"

# Caps open client connections: a flood is refused instead of exhausting memory.
MAX_DOWNSTREAM_CONNECTIONS = 10000
# Streams are long-lived: find dead clients instead of holding them forever.
CLIENT_KEEPALIVE = protocol_pb2.KeepaliveSettings(
    interval=timedelta(seconds=30), timeout=timedelta(seconds=10)
)

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

# Browsers may call from the allowed origins only (services/kit/cors.py): in this file the
# development default, the loopback origins; the launcher writes its mesh's setting over it.
# Callers must still send credentials explicitly.
_CORS_POLICY = cors_pb2.CorsPolicy(
    allow_origin_string_match=[
        json_format.ParseDict(matcher, string_pb2.StringMatcher())
        for matcher in cors.origin_matchers(cors.default_origins(production=False))
    ],
    allow_methods="GET, POST, PUT, PATCH, DELETE, OPTIONS",
    allow_headers=(
        "authorization, x-api-key, content-type, x-grpc-web, x-user-agent, grpc-timeout, "
        "x-request-id"
    ),
    expose_headers=(
        "grpc-status, grpc-message, grpc-status-details-bin, x-request-id, retry-after, "
        "x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset"
    ),
    max_age=str(int(timedelta(days=1).total_seconds())),
)


def _access_log() -> accesslog_pb2.AccessLog:
    fields = struct_pb2.Struct()
    fields.update(_ACCESS_LOG_FIELDS)
    stdout = stream_pb2.StdoutAccessLog(
        log_format=substitution_format_string_pb2.SubstitutionFormatString(json_format=fields)
    )
    return accesslog_pb2.AccessLog(name="envoy.access_loggers.stdout", typed_config=packed(stdout))


def _connection_manager(surface: Surface) -> manager_pb2.HttpConnectionManager:
    virtual_host = route_components_pb2.VirtualHost(
        name="mesh",
        domains=["*"],
        routes=routes.routes(surface.methods),
        typed_per_filter_config={CORS_FILTER: packed(_CORS_POLICY)},
    )
    return manager_pb2.HttpConnectionManager(
        stat_prefix="gateway",
        codec_type=manager_pb2.HttpConnectionManager.AUTO,
        # Without trailers an HTTP/1.1 REST stream loses a mid-stream gRPC error.
        http_protocol_options=protocol_pb2.Http1ProtocolOptions(enable_trailers=True),
        http2_protocol_options=protocol_pb2.Http2ProtocolOptions(
            connection_keepalive=CLIENT_KEEPALIVE
        ),
        # Envoy's default, stated: the E9431 message names it.
        max_request_headers_kb=u32(MAX_REQUEST_HEADERS_KIB),
        preserve_external_request_id=True,
        always_set_request_id_in_response=True,
        access_log=[_access_log()],
        local_reply_config=with_connect_errors(local_reply_config()),
        route_config=route_pb2.RouteConfiguration(name="gateway", virtual_hosts=[virtual_host]),
        http_filters=filters.chain(surface.services, DESCRIPTOR, rest_guard.config(surface)),
    )


def _overload_manager() -> overload_pb2.OverloadManager:
    limit = downstream_connections_pb2.DownstreamConnectionsConfig(
        max_active_downstream_connections=MAX_DOWNSTREAM_CONNECTIONS
    )
    return overload_pb2.OverloadManager(
        resource_monitors=[
            overload_pb2.ResourceMonitor(
                name="envoy.resource_monitors.global_downstream_max_connections",
                typed_config=packed(limit),
            )
        ]
    )


def _listener(surface: Surface) -> listener_pb2.Listener:
    manager = listener_components_pb2.Filter(
        name="envoy.filters.network.http_connection_manager",
        typed_config=packed(_connection_manager(surface)),
    )
    return listener_pb2.Listener(
        name="gateway",
        address=clusters.socket_address(LISTENER_PORT),
        filter_chains=[listener_components_pb2.FilterChain(filters=[manager])],
    )


def build(surface: Surface) -> bootstrap_pb2.Bootstrap:
    """The configuration with the default ports; the launcher renders a mesh's own."""
    layer_clusters = []
    for package in surface.packages:
        layer = layer_for(package)
        if layer.name != AUTHZ_CLUSTER:  # the gateway's own API is served by its process
            layer_clusters.append(clusters.layer_cluster(layer))
    compat = compat_upstream(surface.packages)
    for upstream in [*http_upstreams(surface.packages), *([compat] if compat else [])]:
        layer_clusters.append(clusters.layer_http_cluster(upstream.cluster, upstream.port))
    return bootstrap_pb2.Bootstrap(
        # Names this Envoy to the L09 process's discovery service (the native auth filters).
        node=base_pb2.Node(id=NODE, cluster=NODE),
        admin=bootstrap_pb2.Admin(address=clusters.socket_address(ADMIN_PORT)),
        overload_manager=_overload_manager(),
        static_resources=bootstrap_pb2.Bootstrap.StaticResources(
            listeners=[_listener(surface)],
            clusters=layer_clusters + clusters.gateway_clusters(),
        ),
    )


def _header(surface: Surface) -> str:
    lines = [
        "L09 gateway: one port for native gRPC (h2c), gRPC-Web and REST/JSON, routed by RPC to",
        "the layers. GENERATED from gen/descriptor.binpb by `make gateway`",
        "(python -m services.l09_gateway.render): do not edit; CI checks it is fresh.",
        "It is built from Envoy's typed messages (services/l09_gateway/render); keys are sorted.",
        "`agentic up` renders a copy into $AGENTIC_HOME with the mesh's ports.",
        "",
        f"Layer packages: {', '.join(surface.packages)}",
        "",
        "Errors Envoy produces itself, as google.rpc.Status JSON for REST clients",
        f'(ErrorInfo domain "{DOMAIN}"); gRPC clients get gRPC statuses (for 401, 403 and',
        "429 with the same ErrorInfo in grpc-status-details-bin):",
    ]
    lines += [
        f"  {reply.reason}  HTTP {reply.status.value}  {reply.meaning}" for reply in LOCAL_REPLIES
    ]
    lines.append(f"  {OTHER.reason}  other     {OTHER.meaning}")
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


def render(surface: Surface) -> str:
    return _header(surface) + plain_yaml(as_data(build(surface)))
