"""Starts L13: serves at once, reports SERVING once its catalog and index are ready (L01 and
L04 start beside it; L04 loads its embedder in the background)."""

from __future__ import annotations

import asyncio

from agentic.roles.v1 import roles_pb2_grpc
from services.kit import (
    DEV_TOKENS,
    GrpcServer,
    PlatformError,
    ServiceDefinition,
    TokenAuthenticator,
    configure_logging,
    open_layer_channel,
    wait_for_termination,
)
from services.kit.auth import service_token_from_env
from services.kit.documents import caller_metadata
from services.kit.semantic_index import SemanticIndex
from services.kit.server import serve_when_ready
from services.kit.tool_names import tool_names
from services.l13_roles import errors
from services.l13_roles.assignments import AssignmentLog
from services.l13_roles.catalog import RoleCatalog
from services.l13_roles.classifier import Weights, task_terms
from services.l13_roles.config import RoleSettings
from services.l13_roles.definitions import load_shipped_roles
from services.l13_roles.oversight import Oversight, flagged_examples
from services.l13_roles.roles import INDEX_COLLECTION, Roles
from services.l13_roles.server import SERVICE_NAME, RoleServicer
from services.l13_roles.upstream import calling


async def main() -> None:
    settings = RoleSettings()
    configure_logging("l13_roles", settings.log_level, settings.log_format)
    token = settings.upstream_token or service_token_from_env() or next(iter(DEV_TOKENS))
    l01 = open_layer_channel("l01", token=token)
    l04 = open_layer_channel("l04", token=token, timeout=30)
    l03 = open_layer_channel("l03", token=token)

    async def l03_tools() -> set[str]:
        with calling("l03"):
            return await tool_names(l03, caller_metadata())

    shipped = load_shipped_roles(settings.roles_dir)
    oversight = Oversight(
        (example for role in shipped for example in role.examples),
        flagged_examples(settings.oversight_path),
        task_terms,
    )
    roles = Roles(
        RoleCatalog(l01),
        SemanticIndex(l01, l04, INDEX_COLLECTION),
        AssignmentLog(l01),
        Weights.load(settings.weights_path),
        oversight,
    )
    definition = ServiceDefinition(
        layer="l13_roles",
        errors=errors.CATALOG,
        service_names=[SERVICE_NAME],
        registrars=[
            lambda s: roles_pb2_grpc.add_RoleServiceServicer_to_server(
                RoleServicer(roles, l03_tools), s
            )
        ],
        authenticator=TokenAuthenticator(settings.api_key),
    )
    async with GrpcServer(definition, settings) as server:
        preparing = asyncio.create_task(
            serve_when_ready(server, lambda: roles.prepare(shipped), (PlatformError,))
        )
        try:
            await wait_for_termination()
        finally:
            preparing.cancel()
    await l01.close()
    await l04.close()
    await l03.close()


if __name__ == "__main__":
    asyncio.run(main())
