"""Starts L12: the catalog from the descriptor set, the search index (in the background,
from L04's embeddings), the invoker's channel to the gateway, the assistant (L04 for
arguments, L01 for tokens and conversations), the gRPC server and the MCP endpoint."""

from __future__ import annotations

import asyncio

from agentic.nl.v1 import assistant_pb2_grpc, catalog_pb2_grpc
from services.kit import (
    GrpcServer,
    ServiceDefinition,
    TokenAuthenticator,
    configure_logging,
    descriptors,
    open_layer_channel,
    wait_for_termination,
)
from services.kit.auth import service_token_from_env
from services.l12_nl import errors
from services.l12_nl.arguments import ArgumentFiller
from services.l12_nl.assistant import Assistant
from services.l12_nl.assistant_server import SERVICE_NAME as ASSISTANT_SERVICE
from services.l12_nl.assistant_server import AssistantServicer
from services.l12_nl.catalog import Catalog
from services.l12_nl.config import NLSettings
from services.l12_nl.confirmations import Confirmations
from services.l12_nl.conversations import Conversations
from services.l12_nl.documents import DocumentStore
from services.l12_nl.index_builder import IndexBuilder
from services.l12_nl.invoker import Invoker
from services.l12_nl.mcp_http import http_server
from services.l12_nl.models_client import l04_embedder, l04_generator
from services.l12_nl.server import SERVICE_NAME as CATALOG_SERVICE
from services.l12_nl.server import CatalogServicer

DEV_TOKEN = "dev_key_local_ONLY"  # accepted by L01 and L04 only while they have no production key


async def main() -> None:
    settings = NLSettings()
    configure_logging("l12_nl", settings.log_level, settings.log_format)
    catalog = Catalog(descriptors.load())
    service_token = service_token_from_env()
    own_token = service_token or settings.mesh_token or DEV_TOKEN
    l04 = open_layer_channel("l04", token=own_token, timeout=None)
    l01 = open_layer_channel("l01", token=own_token)
    # No token of its own: every call through the gateway carries its caller's.
    gateway = open_layer_channel("l09", token=None, timeout=None)
    index = IndexBuilder(catalog.methods, l04_embedder(l04))
    invoker = Invoker(catalog, gateway)
    documents = DocumentStore(l01)
    catalog_servicer = CatalogServicer(
        catalog, index, invoker, service_token, settings.index_wait_seconds
    )
    assistant = Assistant(
        index,
        settings.index_wait_seconds,
        ArgumentFiller(l04_generator(l04)),
        invoker,
        Confirmations(documents),
        Conversations(documents),
    )
    definition = ServiceDefinition(
        layer="l12_nl",
        errors=errors.CATALOG,
        service_names=[CATALOG_SERVICE, ASSISTANT_SERVICE],
        registrars=[
            lambda s: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(catalog_servicer, s),
            lambda s: assistant_pb2_grpc.add_AssistantServiceServicer_to_server(
                AssistantServicer(assistant, service_token), s
            ),
        ],
        authenticator=TokenAuthenticator(settings.api_key),
    )
    mcp = http_server(gateway, settings.host, settings.http_port)
    async with GrpcServer(definition, settings):
        index.start()
        mcp_serving = asyncio.create_task(mcp.serve())
        try:
            await wait_for_termination()
        finally:
            mcp.should_exit = True
            await mcp_serving
            await index.stop()
    await gateway.close()
    await l04.close()
    await l01.close()


if __name__ == "__main__":
    asyncio.run(main())
