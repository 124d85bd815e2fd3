"""Clusters: one per layer package in the descriptor, plus the L09 Python process."""

from __future__ import annotations

from datetime import timedelta

from envoy.config.cluster.v3 import circuit_breaker_pb2, cluster_pb2, outlier_detection_pb2
from envoy.config.core.v3 import address_pb2, health_check_pb2, protocol_pb2
from envoy.config.endpoint.v3 import endpoint_components_pb2, endpoint_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2

from services.kit.layers import GATEWAY_PROCESS_GRPC_PORT
from services.l09_gateway.config import HTTP_PORT
from services.l09_gateway.names import AUTHZ_CLUSTER, HTTP_CLUSTER
from services.l09_gateway.render.layers import Upstream
from services.l09_gateway.render.typed import packed, u32

# Every listener and upstream of the gateway is on this host.
LOOPBACK = "127.0.0.1"

CONNECT_TIMEOUT = timedelta(seconds=1)
# The L09 process sits in every call's path (ext_authz, rate limits): fail fast.
AUTHZ_CONNECT_TIMEOUT = timedelta(seconds=0.25)

HEALTH_CHECK_TIMEOUT = timedelta(seconds=0.5)
# Also when idle: the default (60 s) would keep a dead layer "healthy" for a minute.
HEALTH_CHECK_INTERVAL = timedelta(seconds=1)

# Beyond these a layer is overloaded: fail fast with 503 instead of queueing.
LAYER_MAX_REQUESTS = 1024
LAYER_MAX_RETRIES = 3
AUTHZ_MAX_REQUESTS = 4096

# Ejecting a layer's endpoint: after this many transport failures in a row, for this long
# (at least), checked this often.
EJECT_AFTER_FAILURES = 5
EJECTION_TIME = timedelta(seconds=5)
OUTLIER_SWEEP = timedelta(seconds=5)


def _http2() -> dict[str, object]:
    """gRPC upstreams speak HTTP/2 (otherwise: 502 "protocol error")."""
    options = http_protocol_options_pb2.HttpProtocolOptions(
        explicit_http_config=http_protocol_options_pb2.HttpProtocolOptions.ExplicitHttpConfig(
            http2_protocol_options=protocol_pb2.Http2ProtocolOptions()
        )
    )
    return {options.DESCRIPTOR.full_name: packed(options)}


def socket_address(port: int) -> address_pb2.Address:
    return address_pb2.Address(
        socket_address=address_pb2.SocketAddress(address=LOOPBACK, port_value=port)
    )


def _endpoint(name: str, *ports: int) -> endpoint_pb2.ClusterLoadAssignment:
    """One endpoint per port: a layer run as several processes lists each of them."""
    endpoints = [
        endpoint_components_pb2.LbEndpoint(
            endpoint=endpoint_components_pb2.Endpoint(address=socket_address(port))
        )
        for port in ports
    ]
    return endpoint_pb2.ClusterLoadAssignment(
        cluster_name=name,
        endpoints=[endpoint_components_pb2.LocalityLbEndpoints(lb_endpoints=endpoints)],
    )


def _grpc_health_check() -> health_check_pb2.HealthCheck:
    return health_check_pb2.HealthCheck(
        timeout=HEALTH_CHECK_TIMEOUT,
        interval=HEALTH_CHECK_INTERVAL,
        no_traffic_interval=HEALTH_CHECK_INTERVAL,
        unhealthy_threshold=u32(1),
        healthy_threshold=u32(1),
        grpc_health_check=health_check_pb2.HealthCheck.GrpcHealthCheck(),
    )


def _transport_failures_only() -> outlier_detection_pb2.OutlierDetection:
    """Eject on transport failures only (refused, reset, timeout); a layer's own
    UNAVAILABLE with an E-code must still reach the client."""
    return outlier_detection_pb2.OutlierDetection(
        split_external_local_origin_errors=True,
        consecutive_local_origin_failure=u32(EJECT_AFTER_FAILURES),
        enforcing_consecutive_local_origin_failure=u32(100),
        enforcing_consecutive_5xx=u32(0),
        enforcing_consecutive_gateway_failure=u32(0),
        enforcing_success_rate=u32(0),
        enforcing_local_origin_success_rate=u32(0),
        interval=OUTLIER_SWEEP,
        base_ejection_time=EJECTION_TIME,
        max_ejection_percent=u32(50),
    )


def _circuit_breakers(max_requests: int, **limits: int) -> circuit_breaker_pb2.CircuitBreakers:
    wrapped = {name: u32(limit) for name, limit in limits.items()}
    thresholds = circuit_breaker_pb2.CircuitBreakers.Thresholds(
        max_pending_requests=u32(max_requests), max_requests=u32(max_requests), **wrapped
    )
    return circuit_breaker_pb2.CircuitBreakers(thresholds=[thresholds])


def layer_cluster(layer: Upstream) -> cluster_pb2.Cluster:
    return cluster_pb2.Cluster(
        name=layer.name,
        type=cluster_pb2.Cluster.STATIC,
        connect_timeout=CONNECT_TIMEOUT,
        typed_extension_protocol_options=_http2(),
        health_checks=[_grpc_health_check()],
        outlier_detection=_transport_failures_only(),
        circuit_breakers=_circuit_breakers(
            LAYER_MAX_REQUESTS, max_connections=LAYER_MAX_REQUESTS, max_retries=LAYER_MAX_RETRIES
        ),
        load_assignment=_endpoint(layer.name, *layer.ports),
    )


def layer_http_cluster(name: str, port: int) -> cluster_pb2.Cluster:
    """A layer's plain HTTP port (HTTP/1.1), for the path it serves besides gRPC."""
    return cluster_pb2.Cluster(
        name=name,
        type=cluster_pb2.Cluster.STATIC,
        connect_timeout=CONNECT_TIMEOUT,
        load_assignment=_endpoint(name, port),
    )


def gateway_clusters() -> list[cluster_pb2.Cluster]:
    """The L09 Python process: HTTP (health, OpenAPI) and gRPC (ext_authz, rate limits)."""
    return [
        cluster_pb2.Cluster(
            name=HTTP_CLUSTER,
            type=cluster_pb2.Cluster.STATIC,
            connect_timeout=CONNECT_TIMEOUT,
            load_assignment=_endpoint(HTTP_CLUSTER, HTTP_PORT),
        ),
        cluster_pb2.Cluster(
            name=AUTHZ_CLUSTER,
            type=cluster_pb2.Cluster.STATIC,
            connect_timeout=AUTHZ_CONNECT_TIMEOUT,
            typed_extension_protocol_options=_http2(),
            circuit_breakers=_circuit_breakers(AUTHZ_MAX_REQUESTS),
            load_assignment=_endpoint(AUTHZ_CLUSTER, GATEWAY_PROCESS_GRPC_PORT),
        ),
    ]
