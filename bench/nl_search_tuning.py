"""Chooses the NL catalog search's semantic weight on the dev half of the labelled requests
(tests/data/nl_requests.jsonl), and prints the dev half's recall@1/@3 at each weight. The
held-out half is not read here: `python -m bench.nl` measures it once, through the mesh.
With --misses, it also lists the dev requests that miss the top three at the weight in
services/l12_nl/search.py: the request, the method it wants and its rank, what came first.

Embeddings come from the same MiniLM model L04 serves, run in this process (no mesh needed):
the catalog search calls L04's Embed, which gives a text the same vector in any batch.

    python -m bench.nl_search_tuning [--misses]
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from services.kit import descriptors
from services.l04_models.providers.local_embedder import LocalEmbedder, model_files
from services.l12_nl.catalog import Catalog
from services.l12_nl.search import SEMANTIC_WEIGHT, SearchIndex

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "data" / "nl_requests.jsonl"
WEIGHTS = [round(w * 0.05, 2) for w in range(21)]


def recall(ranked: Sequence[Sequence[str]], wanted: Sequence[str], k: int) -> float:
    return sum(want in found[:k] for found, want in zip(ranked, wanted, strict=True)) / len(wanted)


def print_misses(
    rows: Sequence[dict[str, str]], ranked: Sequence[Sequence[str]], weight: float
) -> None:
    def short(method: str) -> str:
        return method.split(".", 3)[3]  # Service.Method

    print(f"\ndev misses at weight {weight} (wanted, its rank; first; the request):")
    for row, found in zip(rows, ranked, strict=True):
        if row["method"] not in found[:3]:
            rank = found.index(row["method"]) + 1
            print(f"  {short(row['method'])} #{rank}; {short(found[0])}; {row['text']!r}")


async def main(show_misses: bool) -> None:
    files = model_files()
    if files is None:
        raise SystemExit("the MiniLM model package is not installed")
    embedder = LocalEmbedder(*files)

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        return embedder.embed(list(texts))[0].tolist()  # type: ignore[no-any-return]

    catalog = Catalog(descriptors.load())
    index = await SearchIndex.build(catalog.methods, embed)
    names = [m.name for m in catalog.methods]
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    dev = [r for r in rows if r["split"] == "dev"]
    wanted = [r["method"] for r in dev]
    scores = [
        (await index.semantic_scores(r["text"]), index.keyword_scores(r["text"])) for r in dev
    ]
    print(f"{len(dev)} dev requests of {len(rows)}, {len(names)} methods")
    print("weight  dev@1  dev@3")
    results = []
    misses_at: list[list[str]] = []
    for weight in WEIGHTS:
        ranked = [
            [names[i] for i in np.argsort(-(weight * s + (1 - weight) * k), kind="stable")]
            for s, k in scores
        ]
        at1, at3 = recall(ranked, wanted, 1), recall(ranked, wanted, 3)
        results.append(((at3, at1), weight))
        if weight == SEMANTIC_WEIGHT:
            misses_at = ranked
        print(f"{weight:6.2f}  {at1:5.1%}  {at3:5.1%}")
    top = max(result for result, _ in results)
    tied = [weight for result, weight in results if result == top]
    # Among weights tied at the best recall, the middle one: the farthest from the edges
    # where the dev figures start to fall.
    print(
        f"best on dev (recall@3, then @1): weights {tied}; the middle one: {tied[len(tied) // 2]}"
    )
    if show_misses:
        print_misses(dev, misses_at, SEMANTIC_WEIGHT)


if __name__ == "__main__":
    asyncio.run(main(show_misses="--misses" in sys.argv[1:]))
