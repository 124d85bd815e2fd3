"""Starts L04: providers (local models load in the background), the gateway, the server."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from agentic.models.v1 import models_pb2_grpc
from services.kit import (
    GrpcServer,
    ServiceDefinition,
    TokenAuthenticator,
    configure_logging,
    open_layer_channel,
    wait_for_termination,
)
from services.kit.auth import service_token_from_env
from services.kit.http_server import http_server, shared_socket
from services.kit.redis_client import redis_client as kit_redis_client
from services.kit.secrets import SecretReader
from services.l04_models import errors
from services.l04_models.assembly import (
    build_gateway,
    build_providers,
    build_semantic_cache,
    provider_keys,
)
from services.l04_models.compat.app import compat_app
from services.l04_models.compat.models_client import ModelsClient
from services.l04_models.config import ModelSettings
from services.l04_models.event_sink import l01_event_sink
from services.l04_models.providers.local import LocalProvider
from services.l04_models.registry import ModelSpec
from services.l04_models.server import SERVICE_NAME, ModelServicer

log = structlog.get_logger("l04")
DEV_L01_TOKEN = "dev_key_local_ONLY"  # accepted by L01 only while it has no production key
USAGE_FLUSH_GRACE_SECONDS = 10.0
LAYER = "l04_models"
# How often provider keys are read again (through the reader's 30 s cache), so that a
# provider whose key is added to L00 after start becomes available.
KEY_REFRESH_SECONDS = 15.0


async def main() -> None:
    settings = ModelSettings()
    configure_logging(LAYER, settings.log_level, settings.log_format)
    secrets = SecretReader.from_environment(LAYER)  # None: no L00 in this mesh
    keys = provider_keys(settings, secrets)
    key_refreshers = [asyncio.create_task(key.keep_fresh(KEY_REFRESH_SECONDS)) for key in keys]
    providers = build_providers(settings, keys)
    local = providers.get("local")
    if isinstance(local, LocalProvider):
        # In the background: the server answers (and the mesh starts) while models load.
        local.start_loading()

    def ready(model: ModelSpec) -> bool:
        if model.provider != "local" or not isinstance(local, LocalProvider):
            return True
        return local.embedder_ready if model.capabilities.embeddings else local.ready

    redis_client = kit_redis_client(settings.redis_url)
    l01_token = settings.l01_token or service_token_from_env() or DEV_L01_TOKEN
    # With the service token, L01 records L04's own writes (usage events, the semantic cache's
    # vectors) as this layer's, not the gateway's.
    l01 = open_layer_channel("l01", token=l01_token, principal=LAYER)
    semantic = build_semantic_cache(settings, l01, redis_client, providers)
    gateway, usage = build_gateway(settings, redis_client, providers, l01_event_sink(l01), semantic)
    log.info(
        "providers.configured",
        available=[name for name, p in providers.items() if p.available()],
    )
    servicer = ModelServicer(gateway, redis_client, ready)
    authenticator = TokenAuthenticator(settings.api_key)
    definition = ServiceDefinition(
        layer=LAYER,
        errors=errors.CATALOG,
        service_names=[SERVICE_NAME],
        registrars=[lambda s: models_pb2_grpc.add_ModelServiceServicer_to_server(servicer, s)],
        authenticator=authenticator,
    )
    # Bound before the gRPC server serves: once the launcher sees L04 serving, so is this.
    compat_socket = shared_socket(settings.host, settings.http_port)
    compat = http_server(
        compat_app(ModelsClient(servicer, authenticator, errors.CATALOG)),
        settings.host,
        settings.http_port,
    )
    log.info("compat.listening", http=f"{settings.host}:{settings.http_port}")
    async with GrpcServer(definition, settings):
        recorder = asyncio.create_task(usage.run())
        compat_serving = asyncio.create_task(compat.serve(sockets=[compat_socket]))
        try:
            await wait_for_termination()
        finally:
            compat.should_exit = True
            await compat_serving
            usage.stop()  # its last flush runs to the end, within a bound
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(recorder, USAGE_FLUSH_GRACE_SECONDS)
            await usage.close()
    for refresher in key_refreshers:
        refresher.cancel()
    for provider in providers.values():
        await provider.close()
    if secrets is not None:
        await secrets.close()
    await l01.close()
    await redis_client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
