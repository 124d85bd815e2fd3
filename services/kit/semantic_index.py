"""Texts embedded by L04 and kept in an L01 vector collection, with a copy in memory.

For catalogues of a few hundred texts (roles, skills): scoring a query against all of them in
memory is one matrix product, exact, and cheaper than a search round trip, so searches cost one
``Embed`` call. L01 holds the vectors so they survive restarts; each carries the digest of the
text it was made from, and only new or changed texts are embedded again.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import grpc
import numpy as np
from google.protobuf import struct_pb2

from agentic.data.v1 import query_pb2
from agentic.data.v1 import vectors_pb2 as vec_pb
from agentic.data.v1 import vectors_pb2_grpc as vec_grpc
from agentic.models.v1 import models_pb2 as model_pb
from agentic.models.v1 import models_pb2_grpc as model_grpc
from services.kit.auth import current_principal
from services.kit.documents import caller_metadata

DIMENSION = 384  # the default embedding model's (all-MiniLM-L6-v2)
EMBED_BATCH = 256  # most texts of one Embed call
EMBED_CHARS = 32_768  # longest text Embed takes; the model reads 256 tokens anyway
UPSERT_BATCH = 1000  # most vectors of one UpsertVectors call
CAPACITY = 1000  # most vectors one search reads back (SearchVectors' k)
OWNERS_PER_READ = 20  # owners read back per search (fewer when their texts fill CAPACITY)
META_TEXT_CHARS = 1000  # of each text kept beside its vector, for reasons shown to people


@dataclass(frozen=True)
class IndexedText:
    """One text of a record, e.g. a role's description or one of its responsibilities."""

    id: str  # vector id, unique in the collection
    owner: str  # the record it belongs to
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:32]


class Similarity(NamedTuple):
    """How close one indexed text is to a query (cosine). A tuple: a search makes one per
    indexed text, and a frozen dataclass costs twice as much to make."""

    entry: IndexedText
    cosine: float


class SemanticIndex:
    """One L01 vector collection of texts, embedded by L04."""

    def __init__(self, l01: grpc.aio.Channel, l04: grpc.aio.Channel, collection: str) -> None:
        self._vectors = vec_grpc.VectorServiceStub(l01)
        self._models = model_grpc.ModelServiceStub(l04)
        self.collection = collection
        self._parent = f"vectorCollections/{collection}"
        self._stored: dict[str, tuple[IndexedText, str, np.ndarray]] = {}
        self._entries: list[IndexedText] = []
        self._matrix = np.zeros((0, DIMENSION), dtype=np.float32)
        self.embedded_texts = 0  # texts embedded since start (re-embedding is measurable)

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts`` (one Embed call per 256)."""
        rows: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            chunk = [t[:EMBED_CHARS] for t in texts[start : start + EMBED_BATCH]]
            reply = await self._models.Embed(
                # L04 limits and records embeddings per caller, as it does an agent's calls.
                model_pb.EmbedRequest(texts=chunk, agent_id=current_principal.get()),
                metadata=caller_metadata(),
            )
            rows.extend(list(e.values) for e in reply.embeddings)
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    async def load(self, owners: Sequence[str]) -> int:
        """Reads the stored vectors of ``owners`` back from L01 (creating the collection on
        first use); returns how many there were."""
        try:
            await self._vectors.CreateCollection(
                vec_pb.CreateCollectionRequest(
                    collection_id=self.collection,
                    collection=vec_pb.VectorCollection(
                        dimension=DIMENSION, distance=vec_pb.DISTANCE_COSINE
                    ),
                ),
                metadata=caller_metadata(),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        self._stored = {}
        for start in range(0, len(owners), OWNERS_PER_READ):
            await self._read_back(owners[start : start + OWNERS_PER_READ])
        self._rebuild()
        return len(self._stored)

    async def _read_back(self, owners: Sequence[str]) -> None:
        request = vec_pb.SearchVectorsRequest(
            parent=self._parent,
            vector=[1.0] + [0.0] * (DIMENSION - 1),  # any direction: the search is exact
            k=CAPACITY,
            exact=True,
            include_values=True,
        )
        condition = request.filters.add(field="owner", op=query_pb2.Filter.OPERATOR_IN)
        condition.value.list_value.extend(list(owners))
        reply = await self._vectors.SearchVectors(request, metadata=caller_metadata())
        if len(reply.matches) >= CAPACITY and len(owners) > 1:
            # A full reply may have left texts out: read the owners back in halves.
            half = len(owners) // 2
            await self._read_back(owners[:half])
            await self._read_back(owners[half:])
            return
        for match in reply.matches:
            meta = match.metadata.fields
            entry = IndexedText(match.id, meta["owner"].string_value, meta["text"].string_value)
            vector = np.asarray(match.values, dtype=np.float32)
            self._stored[match.id] = (entry, meta["digest"].string_value, vector)

    async def sync(self, texts_by_owner: Mapping[str, Sequence[IndexedText]]) -> int:
        """Makes the index hold exactly these texts for these owners: new or changed texts are
        embedded and stored, texts no longer there removed. Returns how many were embedded."""
        wanted = {t.id: t for texts in texts_by_owner.values() for t in texts}
        stale = [
            vector_id
            for vector_id, (entry, _, _) in self._stored.items()
            if entry.owner in texts_by_owner and vector_id not in wanted
        ]
        changed = [
            t
            for t in wanted.values()
            if t.id not in self._stored or self._stored[t.id][1] != t.digest
        ]
        if stale:
            await self._vectors.DeleteVectors(
                vec_pb.DeleteVectorsRequest(parent=self._parent, ids=stale),
                metadata=caller_metadata(),
            )
            for vector_id in stale:
                del self._stored[vector_id]
        if changed:
            vectors = await self.embed([t.text for t in changed])
            await self._upsert(changed, vectors)
            for entry, vector in zip(changed, vectors, strict=True):
                self._stored[entry.id] = (entry, entry.digest, vector)
            self.embedded_texts += len(changed)
        self._rebuild()
        return len(changed)

    async def _upsert(self, entries: Sequence[IndexedText], vectors: np.ndarray) -> None:
        for start in range(0, len(entries), UPSERT_BATCH):
            request = vec_pb.UpsertVectorsRequest(parent=self._parent)
            for entry, vector in zip(
                entries[start : start + UPSERT_BATCH],
                vectors[start : start + UPSERT_BATCH],
                strict=True,
            ):
                metadata = struct_pb2.Struct()
                metadata.update(
                    {
                        "owner": entry.owner,
                        "digest": entry.digest,
                        "text": entry.text[:META_TEXT_CHARS],
                    }
                )
                request.vectors.add(id=entry.id, values=vector.tolist(), metadata=metadata)
            await self._vectors.UpsertVectors(request, metadata=caller_metadata())

    def _rebuild(self) -> None:
        self._entries = [entry for entry, _, _ in self._stored.values()]
        vectors = [vector for _, _, vector in self._stored.values()]
        self._matrix = np.vstack(vectors) if vectors else np.zeros((0, DIMENSION), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._entries)

    def indexed(self) -> tuple[list[IndexedText], np.ndarray]:
        """Every indexed text and its unit vector (row i of the matrix is text i)."""
        return list(self._entries), self._matrix

    def similarities(self, query: np.ndarray) -> list[Similarity]:
        """Every indexed text with its cosine to a unit ``query`` vector."""
        cosines = (self._matrix @ query).tolist()
        return [Similarity(e, c) for e, c in zip(self._entries, cosines, strict=True)]


MEANING_SIGNALS = ("closest", "nearest3", "mean")


@dataclass(frozen=True)
class Meaning:
    """How near a query is to one owner's texts, compared with the other owners'.

    ``closest`` (the nearest text), ``nearest3`` (the mean of the three nearest) and ``mean``
    (all of them), each standardised across the owners of the same query (z-score): how much
    nearer this owner is than the others, on one scale for short and long queries alike.
    """

    owner: str
    values: dict[str, float]
    closest: Similarity


def _standardised(values: list[float]) -> list[float]:
    # In plain Python: a dozen values, where numpy's call costs more than the sums.
    centre = sum(values) / len(values)
    spread = math.sqrt(sum((v - centre) ** 2 for v in values) / len(values))
    return [(v - centre) / spread if spread > 1e-9 else 0.0 for v in values]


def meaning_by_owner(similarities: Sequence[Similarity], owners: Collection[str]) -> list[Meaning]:
    """The meaning signals of each of ``owners`` that has indexed texts, by owner name."""
    by_owner: dict[str, list[Similarity]] = {}
    for similarity in similarities:
        if similarity.entry.owner in owners:
            by_owner.setdefault(similarity.entry.owner, []).append(similarity)
    names = sorted(by_owner)
    raw: dict[str, list[float]] = {signal: [] for signal in MEANING_SIGNALS}
    for name in names:
        cosines = sorted((s.cosine for s in by_owner[name]), reverse=True)
        raw["closest"].append(cosines[0])
        raw["nearest3"].append(sum(cosines[:3]) / len(cosines[:3]))
        raw["mean"].append(sum(cosines) / len(cosines))
    standard = {signal: _standardised(values) for signal, values in raw.items()}
    return [
        Meaning(
            name,
            {signal: standard[signal][row] for signal in MEANING_SIGNALS},
            max(by_owner[name], key=lambda s: s.cosine),
        )
        for row, name in enumerate(names)
    ]
