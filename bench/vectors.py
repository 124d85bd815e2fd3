"""k-NN figures: bulk load, HNSW build, search latency and recall@10 against exact search.

The data are clustered, as real embeddings are (recall on uniform random vectors means
nothing): 300 gaussian clusters in 384 dimensions, each spread along a 16-dimensional
subspace of its own plus isotropic noise, normalised, with a fixed seed. Queries are fresh
draws from the same clusters. Exact neighbours come from numpy (brute force).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
import numpy as np

from agentic.data.v1 import vectors_pb2 as pb
from agentic.data.v1 import vectors_pb2_grpc
from agentic.data.v1.query_pb2 import Filter
from bench.stats import percentile
from services.kit import open_channel

TOKEN = "dev_key_local_ONLY"
DIMENSION = 384
CLUSTERS = 300
SUBSPACE = 16
BATCH = 1_000
WRITERS = 2
K = 10
SHARDS = 100  # metadata "shard" = i % 100: a filter on one shard keeps 1 % of the vectors


@dataclass(frozen=True)
class KnnReport:
    vectors: int
    load_seconds: float
    build_seconds: float
    p50_ms: float
    p99_ms: float
    recall_at_10: float
    filtered_p50_ms: float
    filtered_p99_ms: float
    filtered_recall_at_10: float
    plan: str
    filtered_plan: str


def clustered(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` unit vectors from the fixed clusters, and the cluster of each."""
    shape = np.random.default_rng(20_261_125)  # the clusters are the same for every draw
    centers = shape.normal(size=(CLUSTERS, DIMENSION)).astype(np.float32)
    bases = shape.normal(size=(CLUSTERS, SUBSPACE, DIMENSION)).astype(np.float32) * 0.25
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLUSTERS, size=count)
    points = rng.normal(size=(count, DIMENSION)).astype(np.float32) * 0.03
    for cluster in range(CLUSTERS):
        rows = np.flatnonzero(labels == cluster)
        spread = rng.normal(size=(len(rows), SUBSPACE)).astype(np.float32) @ bases[cluster]
        points[rows] += centers[cluster] + spread
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points, labels


def _batch(points: np.ndarray, start: int) -> list[pb.Vector]:
    batch = []
    for i in range(start, min(start + BATCH, len(points))):
        vector = pb.Vector(id=f"v{i}", values=points[i].tolist())
        vector.metadata.update({"shard": i % SHARDS})
        batch.append(vector)
    return batch


async def _load(stub: vectors_pb2_grpc.VectorServiceStub, parent: str, points: np.ndarray) -> None:
    starts = iter(range(0, len(points), BATCH))

    async def writer() -> None:
        for start in starts:
            await stub.UpsertVectors(
                pb.UpsertVectorsRequest(parent=parent, vectors=_batch(points, start)), timeout=120
            )

    await asyncio.gather(*(writer() for _ in range(WRITERS)))


async def _search_all(
    stub: vectors_pb2_grpc.VectorServiceStub,
    parent: str,
    queries: np.ndarray,
    filters: list[Filter],
) -> tuple[list[list[int]], list[float]]:
    found, samples = [], []
    for query in queries:
        request = pb.SearchVectorsRequest(
            parent=parent, vector=query.tolist(), k=K, filters=filters
        )
        started = time.perf_counter()
        reply = await stub.SearchVectors(request)
        samples.append((time.perf_counter() - started) * 1000)
        found.append([int(m.id[1:]) for m in reply.matches])
    return found, samples


def _recall(found: list[list[int]], exact: np.ndarray) -> float:
    hits = sum(len(set(f) & set(e.tolist())) for f, e in zip(found, exact, strict=True))
    return hits / (len(found) * K)


def _exact(points: np.ndarray, queries: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Ids of the K nearest by cosine (dot product of unit vectors), brute force."""
    scores = queries @ points.T
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    return np.argsort(-scores, axis=1)[:, :K]


def _access_path(plan: list[str], table: str) -> str:
    text = "\n".join(plan)
    if f"{table}_hnsw" in text:
        return "HNSW index scan"
    if f"{table}_metadata" in text:
        return "metadata GIN index, then exact sort"
    return "sequential scan"


async def _plans(database_url: str, collection_id: str, query: np.ndarray) -> list[str]:
    """How PostgreSQL runs the search SQL: unfiltered, and filtered on one shard (1 %)."""
    conn = await asyncpg.connect(database_url)
    try:
        number = await conn.fetchval(
            "SELECT id FROM vector_collections WHERE name = $1", collection_id
        )
        table = f"vectors_{number:d}"
        literal = "[" + ",".join(f"{v:.6f}" for v in query) + "]"
        found = []
        for where in ("", """ WHERE metadata @> '{"shard": 7}'"""):
            async with conn.transaction():
                await conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
                plan = await conn.fetch(
                    f"EXPLAIN SELECT id FROM {table}{where}"
                    f" ORDER BY embedding <=> '{literal}'::vector LIMIT {K}"
                )
            found.append(_access_path([row[0] for row in plan], table))
        return found
    finally:
        await conn.close()


async def knn(target: str, database_url: str, count: int, queries: int) -> KnnReport:
    points, _ = clustered(count, seed=1)
    probes, _ = clustered(queries, seed=2)
    collection_id = f"bench-knn-{count}"
    parent = f"vectorCollections/{collection_id}"
    async with open_channel(target, token=TOKEN, timeout=30) as channel:
        stub = vectors_pb2_grpc.VectorServiceStub(channel)
        await stub.CreateCollection(
            pb.CreateCollectionRequest(
                collection_id=collection_id,
                collection=pb.VectorCollection(
                    dimension=DIMENSION, distance=pb.DISTANCE_COSINE, defer_index=True
                ),
            )
        )
        started = time.perf_counter()
        await _load(stub, parent, points)
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        await stub.BuildIndex(pb.BuildIndexRequest(name=parent), timeout=3600)
        build_seconds = time.perf_counter() - started

        await _search_all(stub, parent, probes[:100], [])  # warm the caches
        found, samples = await _search_all(stub, parent, probes, [])
        shard = Filter(field="shard", op=Filter.OPERATOR_EQUAL)
        shard.value.number_value = 7
        filtered, filtered_samples = await _search_all(stub, parent, probes[:200], [shard])
    in_shard = np.arange(count) % SHARDS == 7
    plans = await _plans(database_url, collection_id, probes[0])
    return KnnReport(
        vectors=count,
        load_seconds=load_seconds,
        build_seconds=build_seconds,
        p50_ms=percentile(samples, 0.5),
        p99_ms=percentile(samples, 0.99),
        recall_at_10=_recall(found, _exact(points, probes, None)),
        filtered_p50_ms=percentile(filtered_samples, 0.5),
        filtered_p99_ms=percentile(filtered_samples, 0.99),
        filtered_recall_at_10=_recall(filtered, _exact(points, probes[:200], in_shard)),
        plan=plans[0],
        filtered_plan=plans[1],
    )


KNN_VECTORS = 100_000
KNN_QUERIES = 1_000
P99_TARGET_MS = 10.0
RECALL_TARGET = 0.95


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


async def report(target: str, database_url: str) -> None:
    """Prints the k-NN section of ``make bench``."""
    print(
        f"\nk-NN search: {KNN_VECTORS:,} clustered vectors of dimension {DIMENSION}, cosine,"
        f" k = {K}, direct gRPC, 1 in flight"
    )
    result = await knn(target, database_url, KNN_VECTORS, KNN_QUERIES)
    rate = result.vectors / result.load_seconds
    print(
        f"  load (UpsertVectors, {BATCH:,} per call, {WRITERS} writers, index deferred):"
        f" {result.load_seconds:6.1f} s ({rate:,.0f} vectors/s)"
    )
    print(f"  HNSW build (BuildIndex, m 16, ef_construction 64): {result.build_seconds:6.1f} s")
    print(
        f"  search, ef_search 100 ({KNN_QUERIES:,} queries): p50 {result.p50_ms:.2f} ms"
        f"  p99 {result.p99_ms:.2f} ms; target p99 <= {P99_TARGET_MS:.0f} ms:"
        f" {_verdict(result.p99_ms <= P99_TARGET_MS)}"
    )
    print(
        f"  recall@10 against exact search: {result.recall_at_10:.4f};"
        f" target >= {RECALL_TARGET}: {_verdict(result.recall_at_10 >= RECALL_TARGET)}"
    )
    print(
        f"  filtered to 1 % of the vectors (metadata equality): p50 {result.filtered_p50_ms:.2f} ms"
        f"  p99 {result.filtered_p99_ms:.2f} ms  recall@10 {result.filtered_recall_at_10:.4f}"
    )
    print(f"  plans: unfiltered {result.plan}; filtered {result.filtered_plan}")
