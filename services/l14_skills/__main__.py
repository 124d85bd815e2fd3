"""Starts L14: serves at once, reports SERVING once its catalog and index are ready (L01 and
L04 start beside it; L04 loads its embedder in the background)."""

from __future__ import annotations

import asyncio

from agentic.skills.v1 import skills_pb2_grpc
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
from services.kit.semantic_index import SemanticIndex
from services.kit.server import serve_when_ready
from services.l14_skills import errors
from services.l14_skills.catalog import SkillCatalog
from services.l14_skills.config import SkillSettings
from services.l14_skills.definitions import load_shipped_skills
from services.l14_skills.role_directory import RoleDirectory
from services.l14_skills.search import SearchWeights
from services.l14_skills.server import SERVICE_NAME, SkillServicer
from services.l14_skills.skill_sets import SkillSets
from services.l14_skills.skills import INDEX_COLLECTION, Skills
from services.l14_skills.tool_directory import ToolDirectory


async def main() -> None:
    settings = SkillSettings()
    configure_logging("l14_skills", settings.log_level, settings.log_format)
    token = settings.upstream_token or service_token_from_env() or next(iter(DEV_TOKENS))
    l01 = open_layer_channel("l01", token=token)
    l04 = open_layer_channel("l04", token=token, timeout=30)
    l13 = open_layer_channel("l13", token=token)
    l03 = open_layer_channel("l03", token=token)
    skills = Skills(
        SkillCatalog(l01),
        SemanticIndex(l01, l04, INDEX_COLLECTION),
        SkillSets(l01),
        RoleDirectory(l13),
        ToolDirectory(l03),
        SearchWeights.load(settings.weights_path),
    )
    definition = ServiceDefinition(
        layer="l14_skills",
        errors=errors.CATALOG,
        service_names=[SERVICE_NAME],
        registrars=[
            lambda s: skills_pb2_grpc.add_SkillServiceServicer_to_server(SkillServicer(skills), s)
        ],
        authenticator=TokenAuthenticator(settings.api_key),
    )
    shipped = load_shipped_skills(settings.skills_dir)
    async with GrpcServer(definition, settings) as server:
        preparing = asyncio.create_task(
            serve_when_ready(server, lambda: skills.prepare(shipped), (PlatformError,))
        )
        try:
            await wait_for_termination()
        finally:
            preparing.cancel()
    await l01.close()
    await l04.close()
    await l13.close()
    await l03.close()


if __name__ == "__main__":
    asyncio.run(main())
