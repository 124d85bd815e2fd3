"""What L12 asks of L04: embeddings for the search index, constrained generation for Ask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import json_format

from agentic.models.v1 import models_pb2 as pb
from agentic.models.v1 import models_pb2_grpc
from services.l12_nl.arguments import Generator
from services.l12_nl.invoker import upstream_error
from services.l12_nl.search import Embedder

EMBED_TIMEOUT_SECONDS = 30.0
GENERATE_TIMEOUT_SECONDS = 100.0
MAX_ARGUMENT_TOKENS = 384
# The agent L04 counts L12's calls against (its per-agent rate limit and usage).
AGENT_ID = "l12_nl"


def l04_embedder(channel: grpc.aio.Channel) -> Embedder:
    models = models_pb2_grpc.ModelServiceStub(channel)

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        try:
            reply = await models.Embed(
                pb.EmbedRequest(texts=list(texts), agent_id=AGENT_ID), timeout=EMBED_TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError as error:
            raise upstream_error(error) from None
        return [list(embedding.values) for embedding in reply.embeddings]

    return embed


def l04_generator(channel: grpc.aio.Channel) -> Generator:
    models = models_pb2_grpc.ModelServiceStub(channel)

    async def generate(
        system: str, messages: Sequence[tuple[str, str]], schema: dict[str, Any]
    ) -> dict[str, Any]:
        request = pb.GenerateRequest(
            system=system,
            messages=[pb.Message(role=role, content=content) for role, content in messages],
            temperature=0,
            max_tokens=MAX_ARGUMENT_TOKENS,
            agent_id=AGENT_ID,
        )
        request.response_schema.update(schema)
        try:
            reply = await models.Generate(request, timeout=GENERATE_TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as error:
            raise upstream_error(error) from None
        structured = json_format.MessageToDict(reply.structured)
        return structured if isinstance(structured, dict) else {}

    return generate
