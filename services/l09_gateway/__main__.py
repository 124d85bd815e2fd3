"""Runs the L09 gateway process: ``python -m services.l09_gateway``.

One process, one event loop: the HTTP side behind Envoy's open routes (``/health``,
``/openapi.json``), and the gRPC side Envoy asks on calls (ext_authz, rate limits) and for the
configuration of its native JWT filters (ECDS), which also serves the mesh's reflection.
"""

from __future__ import annotations

import asyncio
import gc

import uvicorn

from services.kit import DEV_TOKENS, configure_logging, get_logger
from services.l09_gateway import descriptor
from services.l09_gateway.app import create_app
from services.l09_gateway.authz import AuthorizationServicer
from services.l09_gateway.config import GatewaySettings
from services.l09_gateway.credentials import ApiKeys, Authenticator
from services.l09_gateway.grpc_server import start_grpc_server
from services.l09_gateway.jwt_verify import JwtVerifier
from services.l09_gateway.limits import RateLimiter
from services.l09_gateway.native.configs import NativeAuth
from services.l09_gateway.native.discovery import ExtensionConfigs, ExtensionConfigServicer
from services.l09_gateway.native.keys import SigningKeys
from services.l09_gateway.openapi import openapi_document
from services.l09_gateway.policy import PolicySource
from services.l09_gateway.ratelimit import RateLimitServicer

log = get_logger("l09")


def _service_token(settings: GatewaySettings) -> str:
    """The token the layers accept from the gateway. Without one, development falls back to
    a dev token (the layers' own dev mode accepts it, but records no caller)."""
    if settings.service_token:
        return settings.service_token
    if settings.production_mode:
        raise SystemExit("AGENTIC_SERVICE_TOKEN is required in production mode")
    return next(iter(DEV_TOKENS))


async def serve(settings: GatewaySettings) -> None:
    policy = PolicySource(settings.policy_file, settings.reload_seconds)
    development = None if settings.production_mode else policy
    authenticator = Authenticator(
        ApiKeys(settings.keys_file, settings.reload_seconds),
        JwtVerifier.configured(
            hs256_secret=settings.jwt_hs256_secret,
            jwks_file=settings.jwks_file,
            jwks_url=settings.jwks_url,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway_seconds=settings.jwt_leeway_seconds,
        ),
        development,
    )
    limiter = RateLimiter.from_url(settings.redis_url)
    service_token = _service_token(settings)
    filter_configs = ExtensionConfigs()
    native = NativeAuth(
        filter_configs,
        SigningKeys(
            hs256_secret=settings.jwt_hs256_secret,
            jwks_file=settings.jwks_file,
            jwks_url=settings.jwks_url,
            refresh_seconds=settings.jwks_refresh_seconds,
        ),
        policy,
        service_token,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway_seconds=settings.jwt_leeway_seconds,
        development=not settings.production_mode,
    )
    await native.refresh()  # Envoy's first request gets the real configuration
    surface = descriptor.load(settings.descriptor_file)
    server, port = await start_grpc_server(
        f"{settings.grpc_host}:{settings.grpc_port}",
        AuthorizationServicer(authenticator, policy, service_token, limiter),
        RateLimitServicer(limiter, policy),
        ExtensionConfigServicer(filter_configs),
        surface,
        settings.layers,
    )
    refresher = asyncio.create_task(native.run(settings.reload_seconds))
    log.info(
        "gateway.starting",
        http=f"{settings.http_host}:{settings.http_port}",
        grpc=f"{settings.grpc_host}:{port}",
        mode="production" if settings.production_mode else "development",
        layers=settings.layers,
    )
    openapi = openapi_document(surface)
    # Envoy writes the access log; uvicorn's own logging would duplicate it as plain text.
    http = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, openapi),
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            # Only Envoy connects, and nothing here reads the client's address.
            proxy_headers=False,
        )
    )
    # What exists now (descriptors, the OpenAPI document, policy) lives as long as the process:
    # keep it out of the collector's full passes, which would otherwise stall a request now
    # and then (p99).
    gc.collect()
    gc.freeze()
    try:
        await http.serve()  # returns on SIGTERM / SIGINT
    finally:
        refresher.cancel()
        await server.stop(2)
        await limiter.close()


def main() -> None:
    settings = GatewaySettings()
    configure_logging("l09_gateway", settings.log_level, settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
