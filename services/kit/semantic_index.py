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
    """How close one indexed text is to a query (cosine)."""

    entry: IndexedText
    cosine: float


class IndexedTexts:
    """An index's texts as arrays, made again when the index changes: each text's owner as a
    code in the owners' sorted order, and which ids hold a marker, looked up once."""

    def __init__(self, entries: Sequence[IndexedText]) -> None:
        self.entries = np.empty(len(entries), dtype=object)
        self.entries[:] = list(entries)
        self.owners = sorted({entry.owner for entry in entries})
        code = {owner: i for i, owner in enumerate(self.owners)}
        self.codes = np.fromiter(
            (code[entry.owner] for entry in entries), dtype=np.int64, count=len(entries)
        )
        self._marked: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def marked(self, marker: str) -> np.ndarray:
        """Which texts' ids hold ``marker`` (a boolean per text)."""
        if marker not in self._marked:
            self._marked[marker] = np.fromiter(
                (marker in entry.id for entry in self.entries), dtype=bool, count=len(self)
            )
        return self._marked[marker]


@dataclass(frozen=True)
class Cosines:
    """A query's cosine to each of some indexed texts (``rows`` of ``texts``), as arrays: a
    search compares a query with every text, and an object per text cost more than the
    matrix product and the signals together."""

    texts: IndexedTexts
    rows: np.ndarray  # int positions in ``texts``
    values: np.ndarray  # float64 cosines, one per row

    @classmethod
    def of(cls, similarities: Sequence[Similarity]) -> Cosines:
        """From (text, cosine) pairs: for tools and tests that make their own."""
        values = np.array([s.cosine for s in similarities], dtype=np.float64)
        texts = IndexedTexts([s.entry for s in similarities])
        return cls(texts, np.arange(len(similarities)), values)

    def __len__(self) -> int:
        return len(self.rows)

    def where(self, keep: np.ndarray) -> Cosines:
        """Only the texts ``keep`` (a boolean per row) marks."""
        return Cosines(self.texts, self.rows[keep], self.values[keep])

    def marked(self, marker: str) -> np.ndarray:
        """Which rows' ids hold ``marker``."""
        return self.texts.marked(marker)[self.rows]

    def entries(self) -> list[IndexedText]:
        return list(self.texts.entries[self.rows])


class SemanticIndex:
    """One L01 vector collection of texts, embedded by L04."""

    def __init__(self, l01: grpc.aio.Channel, l04: grpc.aio.Channel, collection: str) -> None:
        self._vectors = vec_grpc.VectorServiceStub(l01)
        self._models = model_grpc.ModelServiceStub(l04)
        self.collection = collection
        self._parent = f"vectorCollections/{collection}"
        self._stored: dict[str, tuple[IndexedText, str, np.ndarray]] = {}
        self._entries: list[IndexedText] = []
        self._texts = IndexedTexts([])
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
        self._texts = IndexedTexts(self._entries)
        vectors = [vector for _, _, vector in self._stored.values()]
        self._matrix = np.vstack(vectors) if vectors else np.zeros((0, DIMENSION), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._entries)

    def indexed(self) -> tuple[list[IndexedText], np.ndarray]:
        """Every indexed text and its unit vector (row i of the matrix is text i)."""
        return list(self._entries), self._matrix

    def similarities(self, query: np.ndarray) -> Cosines:
        """Every indexed text's cosine to a unit ``query`` vector."""
        values = (self._matrix @ query).astype(np.float64)
        return Cosines(self._texts, np.arange(len(values)), values)


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
    # In plain Python: a few dozen values, where numpy's calls cost more than the sums.
    centre = sum(values) / len(values)
    spread = math.sqrt(sum((v - centre) ** 2 for v in values) / len(values))
    return [(v - centre) / spread if spread > 1e-9 else 0.0 for v in values]


def meaning_by_owner(cosines: Cosines, owners: Collection[str]) -> list[Meaning]:
    """The meaning signals of each of ``owners`` that has indexed texts, by owner name."""
    texts = cosines.texts
    wanted = np.array([owner in owners for owner in texts.owners], dtype=bool)
    codes = texts.codes[cosines.rows]
    keep = wanted[codes]
    if not keep.any():
        return []
    rows, codes, values = cosines.rows[keep], codes[keep], cosines.values[keep]
    # By owner, and within an owner nearest first (stable: of equal cosines, the first text).
    order = np.lexsort((-values, codes))
    rows, codes, values = rows[order], codes[order], values[order]
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    ends = np.append(starts[1:], len(codes))
    running = np.concatenate(([0.0], np.cumsum(values)))
    ends3 = np.minimum(starts + 3, ends)
    closest = values[starts].tolist()
    raw = {
        "closest": closest,
        "nearest3": ((running[ends3] - running[starts]) / (ends3 - starts)).tolist(),
        "mean": ((running[ends] - running[starts]) / (ends - starts)).tolist(),
    }
    standard = {signal: _standardised(raw[signal]) for signal in MEANING_SIGNALS}
    return [
        Meaning(
            texts.owners[code],
            {signal: standard[signal][i] for signal in MEANING_SIGNALS},
            Similarity(texts.entries[rows[start]], closest[i]),
        )
        for i, (code, start) in enumerate(zip(codes[starts].tolist(), starts.tolist(), strict=True))
    ]
