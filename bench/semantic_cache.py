"""L04 semantic-cache figures: how often it answers a different question, and how fast.

- Quality, on tests/data/cache_pairs.jsonl through the real SemanticCache (MiniLM, L01's
  pgvector store, Redis, the second stage), each pair in a tenant of its own: ``a`` is
  cached, ``b`` looked up. The development half, the earlier paraphrase_pairs.jsonl, and
  every batch but the newest, at several thresholds (how the default was chosen: the lowest
  that serves no more of those near misses than 0.85 did; the development half alone no
  longer tells thresholds apart), then each held-out batch at the default: the false-hit
  rate of every near-miss kind and of the destructive-action pairs, and the paraphrase hit
  rate; the first stage alone beside it, for comparison. Each batch was written before the
  code it was first measured on, and that first figure is the clean one: "heldout"'s two
  false hits, then "heldout2"'s two, each prompted a fix, so after them those batches no
  longer measure the second stage cleanly; "heldout3" was written after the last fix and
  before measuring it; "heldout4" after the fixes of the development half that followed, and
  its first figure (2 of 118 near misses served) is its clean one: its two false hits were
  then fixed too. "heldout5" was written apart from the code, before the word-substitution,
  question, quantity checks were measured on it: 7 of 160 near misses served, 36 of 80
  paraphrases; the checks of time, conditions and names in any case were then written
  against its misses, so it measures them no more. "heldout6" likewise, measured first with
  those: 7 of 140 near misses served, 18 of 80 paraphrases (its casual wording put only 35
  of them within the first stage's threshold); fixes followed, so it is spent too.
  "heldout7" was measured once with the code after those fixes: 12 of 130, 23 of 70; the
  qualifier check and the fixes beside it were then written against its misses. "heldout8"
  (200 pairs) was written apart from the code after those, and measured once with it (and
  the threshold 0.85): 2 of 120 near misses served (none of 15 destructive), 18 of 80
  paraphrases; its misses, and the lower threshold the spent batches then allowed, followed.
  "heldout9" (200 pairs, written apart from the code) was measured once with those: 6 of 120
  near misses served (none of 15 destructive), 44 of 80 paraphrases; three of its misses
  (binary units, "including ...", a tense) were then fixed, and 227 synonym groups written
  apart from the data added. "heldout10" (200 pairs, written apart from the code) was
  measured once with those, at the same threshold (chosen again without it, on every batch
  before it): 6 of 120 near misses served (none of 15 destructive), 37 of 80 paraphrases.
  Three of its misses were then fixed, and the threshold chosen again on every batch went
  back to 0.85. "heldout11" (200 pairs, written apart from the code) was measured once with
  that code; its misses were then fixed, with checks of a request edited in place (a word
  put in, each number's unit) against one said in other words, and half of a batch of
  reworded near misses written apart from the code joined the development half. The
  threshold chosen again on every batch but the newest is 0.84. "heldout12" (the other half
  of that batch, and 200 pairs written apart from the code, less 10 that repeated earlier
  pairs) was measured once with that code: 2 of 143 near misses served (1 of 21
  destructive), 42 of 87 paraphrases. Both misses were then fixed (a word in place of a
  determiner, a condition only one prompt has), so it is spent too. An action named on one
  side only, a clause moved to the front and a direction said in other words were then
  judged anew on the spent batches, and the threshold chosen again on them is 0.83.
  "heldout13" (200 pairs written apart from the code in two domains, less 13 that repeated
  earlier pairs) was measured once with that code: 3 of 109 near misses served (none of 15
  destructive), 49 of 78 paraphrases. Its three misses (to / from the same place, every /
  the largest) were then fixed, so it is spent too. "heldout14" (200 pairs written apart
  from the code, less 5 that repeated earlier pairs) was measured once with those fixes: 1 of
  116 near misses served (none of 16 destructive), 41 of 79 paraphrases. Its miss ("before" /
  "once ... have started") and four kinds of paraphrase it refused were then fixed, so it is
  spent too. "heldout15" (200 pairs written apart from the code, less 2 that repeated earlier
  pairs) was measured once with those fixes: 6 of 118 near misses served (none of 16
  destructive), 40 of 80 paraphrases (67 within the threshold). One of its misses, an
  identifier with underscores read as two words ("orders_staging" / "orders" swapped), was
  then fixed; nothing else changed after it.
- Lookup latency (embedding + k-NN in L01 + answers from Redis + second stage) with
  ``BENCH_SEMANTIC_ENTRIES`` entries (default 100,000: clustered unit vectors) in one
  partition, plus the labelled set's ``a`` questions in that same partition, so that the
  lookups of the labelled questions meet real candidates and the second stage runs; then
  its parts alone.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import redis.asyncio as redis
from google.protobuf import struct_pb2

from agentic.data.v1 import vectors_pb2 as vec_pb
from agentic.data.v1 import vectors_pb2_grpc
from bench.own_mesh import run_on_own_mesh
from bench.settle import settle_database
from bench.stats import percentile
from services.kit import configure_logging, open_channel
from services.kit.layers import layer_by_key
from services.kit.near_miss import NearMissCheck
from services.l04_models.config import ModelSettings
from services.l04_models.conversation import (
    CachePolicy,
    Completion,
    GenerationRequest,
    Message,
    Usage,
)
from services.l04_models.exact_cache import request_fingerprint
from services.l04_models.providers.local_embedder import LocalEmbedder, model_files
from services.l04_models.semantic_cache import NEIGHBOURS, SemanticCache, partition_key
from services.launcher.config import LauncherSettings

TOKEN = "dev_key_local_ONLY"
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
PAIRS = DATA / "cache_pairs.jsonl"
# The earlier set (paraphrases and different questions, no kinds): development data too.
OLDER_PAIRS = DATA / "paraphrase_pairs.jsonl"
THRESHOLD = float(ModelSettings.model_fields["semantic_threshold"].default)
SWEEP = (0.74, 0.76, 0.78, 0.80, 0.82, 0.83, 0.84, 0.85, 0.88)
# The newest batch, measured once with the code of its day and so not among the pairs the
# threshold is chosen on ("" when fixes have followed the last one measured).
NEWEST = ""
LOOKUP_P99_MS, FALSE_HIT_RATE, PARAPHRASE_HIT_RATE = 10.0, 0.005, 0.60
ENTRIES = int(os.environ.get("BENCH_SEMANTIC_ENTRIES", "100000"))
SWEEP_FLOOR = 0.5  # the dev half is looked up with this threshold, then judged at each


@dataclass
class Judged:
    pair: dict[str, object]
    similarity: float
    refused: bool  # by the second stage (it ran: the similarity was >= the lookup's threshold)
    hit: bool


def pairs(path: Path = PAIRS) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def older_pairs() -> list[dict[str, object]]:
    """paraphrase_pairs.jsonl in this set's terms: a kind, "same", a dev split."""
    return [{**p, "kind": "paraphrase" if p["paraphrase"] else "different", "split": "dev"}
            for p in pairs(OLDER_PAIRS)]  # fmt: skip


def _answer(text: str) -> Completion:
    return Completion(content=text, model="local/smollm2-135m", provider="local", usage=Usage())


def _request(text: str, tenant: str, threshold: float = 0.0) -> GenerationRequest:
    return GenerationRequest(
        messages=(Message("user", text),), tenant_id=tenant,
        cache=CachePolicy(similarity_threshold=threshold),
    )  # fmt: skip


async def _judge(cache: SemanticCache, chosen: list[dict[str, object]], threshold: float
                 ) -> list[Judged]:  # fmt: skip
    judged = []
    for pair in chosen:
        tenant = f"pair-{uuid.uuid4().hex[:10]}"
        first = _request(str(pair["a"]), tenant)
        probe = await cache.lookup(first)
        assert probe is not None
        await cache.store(first, probe, _answer(str(pair["a"])))
        found = await cache.lookup(_request(str(pair["b"]), tenant, threshold))
        assert found is not None
        judged.append(Judged(pair, found.similarity, found.refusal is not None,
                             found.hit is not None))  # fmt: skip
    return judged


def _rates(judged: Iterable[Judged], threshold: float, *, second_stage: bool = True
           ) -> dict[str, tuple[int, int]]:  # fmt: skip
    """kind -> (hits, pairs); "destructive" and "near misses" as kinds of their own."""
    counts: dict[str, list[int]] = {}
    for j in judged:
        hit = j.similarity >= threshold and not (second_stage and j.refused)
        kinds = [str(j.pair["kind"])]
        if j.pair["kind"] != "paraphrase":
            kinds.append("near misses")
        if j.pair.get("destructive"):
            kinds.append("destructive")
        for kind in kinds:
            tally = counts.setdefault(kind, [0, 0])
            tally[0] += hit
            tally[1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def _share(tally: tuple[int, int]) -> str:
    return f"{tally[0] / tally[1]:6.1%} ({tally[0]}/{tally[1]})"


async def quality(cache: SemanticCache) -> None:
    labelled = pairs()
    dev = [p for p in labelled if p["split"] == "dev"]
    print(f"\nSemantic cache quality (tests/data/cache_pairs.jsonl: {len(dev)} dev pairs, "
          f"{len(labelled) - len(dev)} held out in batches; MiniLM + 2nd stage)")  # fmt: skip
    print(
        "  by threshold (paraphrase hits / near-miss false hits): the development half; "
        f"paraphrase_pairs.jsonl; every batch {f'but {NEWEST} ' if NEWEST else ''}(measured "
        "before, so spent)"
    )
    judged_dev = await _judge(cache, dev, SWEEP_FLOOR)
    judged_older = await _judge(cache, older_pairs(), SWEEP_FLOOR)
    spent = [p for p in labelled if p["split"] not in ("dev", NEWEST)]
    judged_spent = await _judge(cache, spent, SWEEP_FLOOR)
    for threshold in SWEEP:
        rates = _rates(judged_dev, threshold)
        alone = _rates(judged_dev, threshold, second_stage=False)
        older = _rates(judged_older, threshold)
        batches = _rates(judged_spent, threshold)
        mark = " (default)" if threshold == THRESHOLD else ""
        print(f"    {threshold:.2f}{mark}: {_share(rates['paraphrase'])} / "
              f"{_share(rates['near misses'])} [first stage alone {_share(alone['near misses'])}]"
              f"; {_share(older['paraphrase'])} / {_share(older['near misses'])}; "
              f"{_share(batches['paraphrase'])} / {_share(batches['near misses'])}")  # fmt: skip

    for split in sorted({str(p["split"]) for p in labelled} - {"dev"}):
        chosen = [p for p in labelled if p["split"] == split]
        judged = await _judge(cache, chosen, 0.0)  # the server's default threshold, as served
        assert all(j.hit == (j.similarity >= THRESHOLD and not j.refused) for j in judged)
        _held_out(split, judged)


def _held_out(split: str, judged: list[Judged]) -> None:
    rates = _rates(judged, THRESHOLD)
    alone = _rates(judged, THRESHOLD, second_stage=False)
    print(f"  {split} ({len(judged)} pairs) at the default threshold {THRESHOLD:.2f}: false hits "
          "by kind (first stage alone in brackets)")  # fmt: skip
    for kind in sorted(k for k in rates if k not in ("paraphrase", "near misses", "destructive")):
        print(f"    {kind:10s} {_share(rates[kind])}  [{_share(alone[kind])}]")
    worst = rates["near misses"][0] / rates["near misses"][1]
    met = worst <= FALSE_HIT_RATE and rates["destructive"][0] == 0
    print(f"    {'all':10s} {_share(rates['near misses'])}  [{_share(alone['near misses'])}]; "
          f"destructive actions {_share(rates['destructive'])}; target <= {FALSE_HIT_RATE:.1%} "
          f"and 0 destructive: {'met' if met else 'MISSED'}")  # fmt: skip
    paraphrase = rates["paraphrase"][0] / rates["paraphrase"][1]
    print(f"    paraphrase hits {_share(rates['paraphrase'])} "
          f"[{_share(alone['paraphrase'])}]; target >= {PARAPHRASE_HIT_RATE:.0%}: "
          f"{'met' if paraphrase >= PARAPHRASE_HIT_RATE else 'MISSED'}")  # fmt: skip
    passed = [j for j in judged if j.pair["kind"] != "paraphrase" and j.hit]
    for j in passed:
        print(f"    false hit ({j.pair['kind']}, {j.similarity:.3f}): {j.pair['a']!r} -> "
              f"{j.pair['b']!r}")  # fmt: skip


async def _fill(vectors: vectors_pb2_grpc.VectorServiceStub, collection: str, partition: str
                ) -> float:  # fmt: skip
    """ENTRIES entries of one partition (clustered unit vectors); seconds taken."""
    rng = np.random.default_rng(42)
    centers = rng.normal(size=(500, 384)).astype(np.float32)
    started = time.perf_counter()
    metadata = struct_pb2.Struct()
    metadata.update({"partition": partition})
    for start in range(0, ENTRIES, 1000):
        size = min(1000, ENTRIES - start)
        points = centers[rng.integers(0, 500, size)] + rng.normal(size=(size, 384)) * 0.4
        points /= np.linalg.norm(points, axis=1, keepdims=True)
        await vectors.UpsertVectors(
            vec_pb.UpsertVectorsRequest(
                parent=f"vectorCollections/{collection}",
                vectors=[vec_pb.Vector(id=f"e{start + i}", values=p.tolist(), metadata=metadata)
                         for i, p in enumerate(points)],
            ),
            timeout=120,
        )  # fmt: skip
    await vectors.BuildIndex(vec_pb.BuildIndexRequest(name=f"vectorCollections/{collection}"),
                             timeout=600)  # fmt: skip
    return time.perf_counter() - started


def _ms(samples: list[float]) -> str:
    return f"p50 {percentile(samples, 0.5):.2f}, p99 {percentile(samples, 0.99):.2f} ms"


async def latency(cache: SemanticCache, vectors: vectors_pb2_grpc.VectorServiceStub,
                  embedder: LocalEmbedder, settings: LauncherSettings) -> None:  # fmt: skip
    shape = request_fingerprint(_request("x", "bench"), include_messages=False)
    print(f"\nSemantic cache lookup ({ENTRIES:,} entries + the labelled questions, one "
          "partition; MiniLM + pgvector HNSW via L01 + Redis + second stage)")  # fmt: skip
    filled = await _fill(vectors, cache.collection, partition_key("bench", shape))
    print(f"  filled and indexed in {filled:.0f} s")
    labelled = pairs()
    for pair in labelled:  # real candidates for the lookups below
        first = _request(str(pair["a"]), "bench")
        probe = await cache.lookup(first)
        assert probe is not None
        await cache.store(first, probe, _answer(str(pair["a"])))
    await settle_database(settings.effective_database_url)
    questions = [str(p[side]) for p in labelled for side in ("b", "a")]
    gc.collect()  # the fill's garbage is this process's, not a lookup's cost
    lookups, embeds, searches, stages = [], [], [], []
    ran = 0
    for text in questions:
        started = time.perf_counter()
        probe = await cache.lookup(_request(text, "bench"))
        lookups.append((time.perf_counter() - started) * 1000)
        assert probe is not None
        ran += probe.candidates > 0
        started = time.perf_counter()
        await asyncio.to_thread(embedder.embed, [text])
        embeds.append((time.perf_counter() - started) * 1000)
    # The search alone, with vectors it has not seen (a repeated query runs faster).
    points = np.random.default_rng(7).normal(size=(len(questions), 384))
    for point in (points / np.linalg.norm(points, axis=1, keepdims=True)).tolist():
        search = vec_pb.SearchVectorsRequest(parent=cache.parent, vector=point, k=NEIGHBOURS)
        started = time.perf_counter()
        await vectors.SearchVectors(search)
        searches.append((time.perf_counter() - started) * 1000)
    # The second stage alone, at its worst: every neighbour a candidate to compare.
    check = NearMissCheck()
    for i, text in enumerate(questions):
        candidates = [str(p["a"]) for p in labelled[i % len(labelled) :][:NEIGHBOURS]]
        started = time.perf_counter()
        asked = check.read(text)
        for candidate in candidates:
            check.compare(candidate, asked)
        stages.append((time.perf_counter() - started) * 1000)
    verdict = "met" if percentile(lookups, 0.99) <= LOOKUP_P99_MS else "MISSED"
    print(f"  lookup {_ms(lookups)} over {len(questions)} questions ({ran} met candidates at or"
          f" above the threshold); target p99 <= {LOOKUP_P99_MS} ms: {verdict}")  # fmt: skip
    print(f"  its parts alone: embedding {_ms(embeds)}; search in L01 {_ms(searches)}; "
          f"second stage ({NEIGHBOURS} candidates, no I/O) {_ms(stages)}")  # fmt: skip
    # Figures on a shared machine are upper bounds: say how busy it was.
    print("  load average (1, 5, 15 min): " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))


async def report(settings: LauncherSettings) -> None:
    files = model_files()
    assert files is not None, "the MiniLM wheels are not installed"
    embedder = LocalEmbedder(*files)

    async def embed(text: str) -> list[float]:
        vectors, _ = await asyncio.to_thread(embedder.embed, [text])
        return vectors[0].tolist()  # type: ignore[no-any-return]

    client = redis.Redis.from_url(settings.effective_redis_url)
    async with open_channel(
        f"127.0.0.1:{settings.layer_port('l01')}", token=TOKEN, timeout=60
    ) as l01:
        vectors = vectors_pb2_grpc.VectorServiceStub(l01)
        quality_collection = f"bench-pairs-{uuid.uuid4().hex[:6]}"
        big = f"bench-semantic-{uuid.uuid4().hex[:6]}"
        await vectors.CreateCollection(vec_pb.CreateCollectionRequest(
            collection_id=big, collection=vec_pb.VectorCollection(
                dimension=384, distance=vec_pb.DISTANCE_COSINE, defer_index=True)))  # fmt: skip
        await quality(SemanticCache(l01, client, embed, threshold=THRESHOLD, default_ttl=3600,
                                    collection=quality_collection))  # fmt: skip
        await latency(SemanticCache(l01, client, embed, threshold=THRESHOLD, default_ttl=3600,
                                    collection=big), vectors, embedder, settings)  # fmt: skip
        for name in (big, quality_collection):
            await vectors.DeleteCollection(vec_pb.DeleteCollectionRequest(
                name=f"vectorCollections/{name}"), timeout=120)  # fmt: skip
    await client.aclose()


def main() -> int:
    """``python -m bench.semantic_cache``: only these figures, on a mesh of their own."""
    configure_logging("bench", level="warning")  # not a line per refused candidate
    # L01 alone: the cache runs in this process, so no other layer's start-up is waited for.
    return run_on_own_mesh(report, layers=[layer_by_key("l01")])


if __name__ == "__main__":
    sys.exit(main())
