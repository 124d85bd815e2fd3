"""The gRPC side of the L09 process: ext_authz, the rate limit service and the discovery
service of the native auth filters, with health; and, for clients Envoy lets through, server
reflection of the whole mesh, the answer to methods no layer serves, and JSON messages for
the layers (Connect's JSON codec)."""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from envoy.service.auth.v3 import external_auth_pb2_grpc
from envoy.service.extension.v3 import config_discovery_pb2_grpc
from envoy.service.ratelimit.v3 import rls_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.l09_gateway.authz import AuthorizationServicer
from services.l09_gateway.descriptor import Surface
from services.l09_gateway.json_codec import JsonCodec, json_methods
from services.l09_gateway.native.discovery import ExtensionConfigServicer
from services.l09_gateway.ratelimit import RateLimitServicer
from services.l09_gateway.reflection import add_reflection, mesh_pool
from services.l09_gateway.unknown_method import UnknownMethodHandler


async def start_grpc_server(
    address: str,
    authz: AuthorizationServicer,
    ratelimit: RateLimitServicer,
    discovery: ExtensionConfigServicer,
    surface: Surface,
    layers: Mapping[str, str],
) -> tuple[grpc.aio.Server, int]:
    """Starts and returns the server and its bound port. Envoy is the only client: no
    interceptors, so the per-request hop stays as cheap as grpc.aio allows. Envoy routes
    client calls only to reflection, the unknown-method answer and the JSON codec (after
    its auth, which calls the ``layers``: component name -> host:port), never to the services
    it uses itself."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    external_auth_pb2_grpc.add_AuthorizationServicer_to_server(authz, server)
    rls_pb2_grpc.add_RateLimitServiceServicer_to_server(ratelimit, server)
    config_discovery_pb2_grpc.add_ExtensionConfigDiscoveryServiceServicer_to_server(
        discovery, server
    )
    pool = mesh_pool(surface.files)
    add_reflection(server, pool, surface.services)
    server.add_generic_rpc_handlers(
        [
            UnknownMethodHandler(m.path for m in surface.methods),
            JsonCodec(json_methods(surface.methods, pool), layers),
        ]
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"cannot bind {address}")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    return server, port
