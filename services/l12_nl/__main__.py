"""Starts L12: the catalog from the descriptor set, the search index (in the background,
from L04's embeddings), the invoker's channel to the gateway, the server."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc

from agentic.models.v1 import models_pb2 as models_pb
from agentic.models.v1 import models_pb2_grpc as models_grpc
from agentic.nl.v1 import catalog_pb2_grpc
from services.kit import (
    GrpcServer,
    ServiceDefinition,
    TokenAuthenticator,
    configure_logging,
    descriptors,
    layer_target,
    open_channel,
    wait_for_termination,
)
from services.kit.auth import service_token_from_env
from services.l12_nl import errors
from services.l12_nl.catalog import Catalog
from services.l12_nl.config import NLSettings
from services.l12_nl.index_builder import IndexBuilder
from services.l12_nl.invoker import Invoker
from services.l12_nl.search import Embedder
from services.l12_nl.server import SERVICE_NAME, CatalogServicer

DEV_TOKEN = "dev_key_local_ONLY"  # accepted by L04 only while it has no production key
EMBED_TIMEOUT_SECONDS = 30.0


def l04_embedder(channel: grpc.aio.Channel) -> Embedder:
    models = models_grpc.ModelServiceStub(channel)

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        reply = await models.Embed(
            models_pb.EmbedRequest(texts=list(texts)), timeout=EMBED_TIMEOUT_SECONDS
        )
        return [list(embedding.values) for embedding in reply.embeddings]

    return embed


async def main() -> None:
    settings = NLSettings()
    configure_logging("l12_nl", settings.log_level, settings.log_format)
    catalog = Catalog(descriptors.load())
    service_token = service_token_from_env()
    l04 = open_channel(layer_target("l04"), token=service_token or settings.l04_token or DEV_TOKEN)
    # No token of its own: every call through the gateway carries its caller's.
    gateway = open_channel(layer_target("l09"), token=None, timeout=None)
    index = IndexBuilder(catalog.methods, l04_embedder(l04))
    servicer = CatalogServicer(
        catalog, index, Invoker(catalog, gateway), service_token, settings.index_wait_seconds
    )
    definition = ServiceDefinition(
        layer="l12_nl",
        domain=errors.DOMAIN,
        service_names=[SERVICE_NAME],
        registrars=[lambda s: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(servicer, s)],
        internal_error=errors.INTERNAL,
        unauthenticated=errors.UNAUTHENTICATED,
        invalid_argument=errors.INVALID_ARGUMENT,
        authenticator=TokenAuthenticator(settings.api_key),
    )
    async with GrpcServer(definition, settings):
        index.start()
        try:
            await wait_for_termination()
        finally:
            await index.stop()
    await gateway.close()
    await l04.close()


if __name__ == "__main__":
    asyncio.run(main())
