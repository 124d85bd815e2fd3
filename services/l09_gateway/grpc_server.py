"""The gRPC side of the L09 process: ext_authz, the rate limit service and the discovery
service of the native auth filters, with health."""

from __future__ import annotations

import grpc
from envoy.service.auth.v3 import external_auth_pb2_grpc
from envoy.service.extension.v3 import config_discovery_pb2_grpc
from envoy.service.ratelimit.v3 import rls_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.l09_gateway.authz import AuthorizationServicer
from services.l09_gateway.native.discovery import ExtensionConfigServicer
from services.l09_gateway.ratelimit import RateLimitServicer


async def start_grpc_server(
    address: str,
    authz: AuthorizationServicer,
    ratelimit: RateLimitServicer,
    discovery: ExtensionConfigServicer,
) -> tuple[grpc.aio.Server, int]:
    """Starts and returns the server and its bound port. Envoy is the only client: no
    interceptors, so the per-request hop stays as cheap as grpc.aio allows."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    external_auth_pb2_grpc.add_AuthorizationServicer_to_server(authz, server)
    rls_pb2_grpc.add_RateLimitServiceServicer_to_server(ratelimit, server)
    config_discovery_pb2_grpc.add_ExtensionConfigDiscoveryServiceServicer_to_server(
        discovery, server
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"cannot bind {address}")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    return server, port
