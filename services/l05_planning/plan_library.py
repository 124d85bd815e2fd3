"""The plan library: completed goals' texts embedded by L04, with their plans, in L01.

One L01 vector collection per embedding model (vectors of two models are not comparable),
owned by L05. Each vector is a completed goal (its id the goal's); its metadata holds the
owner, the goal id and text, the validated plan as JSON and the embedding model. A search
reads only the asking owner's vectors: another owner's plan is never a candidate.
"""

from __future__ import annotations

import json
import re
from typing import Any

import grpc
from google.protobuf import struct_pb2

from agentic.data.v1 import query_pb2
from agentic.data.v1 import vectors_pb2 as vec_pb
from agentic.data.v1 import vectors_pb2_grpc as vec_grpc
from agentic.models.v1 import models_pb2 as models_pb
from agentic.models.v1 import models_pb2_grpc as models_grpc
from services.kit.auth import PRINCIPAL_HEADER
from services.l05_planning.reuse import Candidate

COLLECTION_PREFIX = "l05-plans-"
# L01 keeps at most 64 KiB of metadata per vector: a goal whose text and plan need more is
# not remembered (the text is kept whole: the structural check reads all of it).
MAX_METADATA_CHARS = 60_000


class PlanTooLarge(Exception):
    """The goal and its plan exceed what a vector's metadata may hold."""


def collection_of(model: str) -> str:
    """The collection id of an embedding model's vectors ("local/all-minilm-l6-v2" ->
    "l05-plans-local.all-minilm-l6-v2")."""
    return COLLECTION_PREFIX + re.sub(r"[^A-Za-z0-9_.-]", ".", model)[:100]


def _as(owner: str) -> tuple[tuple[str, str], ...]:
    return ((PRINCIPAL_HEADER, owner),)


class PlanLibrary:
    def __init__(
        self, vectors: vec_grpc.VectorServiceStub, models: models_grpc.ModelServiceStub
    ) -> None:
        self._vectors = vectors
        self._models = models
        self._created: set[str] = set()

    async def embed(self, goal: str, owner: str) -> tuple[list[float], str]:
        """The goal's embedding by L04's default embedding model, and that model's id."""
        reply = await self._models.Embed(
            models_pb.EmbedRequest(texts=[goal], agent_id="planner"), metadata=_as(owner)
        )
        return list(reply.embeddings[0].values), reply.model

    async def nearest(self, owner: str, vector: list[float], model: str) -> Candidate | None:
        """The owner's earlier completed goal nearest to ``vector``, or None."""
        request = vec_pb.SearchVectorsRequest(
            parent=f"vectorCollections/{collection_of(model)}", vector=vector, k=1, exact=True
        )
        condition = request.filters.add(field="owner", op=query_pb2.Filter.OPERATOR_EQUAL)
        condition.value.string_value = owner
        try:
            reply = await self._vectors.SearchVectors(request, metadata=_as(owner))
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:  # nothing remembered yet
                return None
            raise
        if not reply.matches:
            return None
        match = reply.matches[0]
        meta = match.metadata.fields
        return Candidate(
            goal_id=meta["goal_id"].string_value,
            goal=meta["goal"].string_value,
            similarity=1.0 - match.distance,
            tasks=json.loads(meta["plan"].string_value),
        )

    async def remember(
        self, goal_id: str, owner: str, goal: str, tasks: list[dict[str, Any]]
    ) -> None:
        """Stores a completed goal's plan under its goal id (a retry writes the same vector)."""
        plan = json.dumps(tasks, separators=(",", ":"))
        if len(plan) + len(goal.encode()) > MAX_METADATA_CHARS:
            raise PlanTooLarge(f"the goal and its plan take {len(plan) + len(goal)} characters")
        vector, model = await self.embed(goal, owner)
        collection = collection_of(model)
        await self._ensure(collection, len(vector), owner)
        metadata = struct_pb2.Struct()
        metadata.update(
            {
                "owner": owner,
                "goal_id": goal_id,
                "goal": goal,
                "plan": plan,
                "model": model,
            }
        )
        request = vec_pb.UpsertVectorsRequest(parent=f"vectorCollections/{collection}")
        request.vectors.add(id=goal_id, values=vector, metadata=metadata)
        await self._vectors.UpsertVectors(request, metadata=_as(owner))

    async def _ensure(self, collection: str, dimension: int, owner: str) -> None:
        if collection in self._created:
            return
        try:
            await self._vectors.CreateCollection(
                vec_pb.CreateCollectionRequest(
                    collection_id=collection,
                    collection=vec_pb.VectorCollection(
                        dimension=dimension, distance=vec_pb.DISTANCE_COSINE
                    ),
                ),
                metadata=_as(owner),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is not grpc.StatusCode.ALREADY_EXISTS:
                raise
        self._created.add(collection)
