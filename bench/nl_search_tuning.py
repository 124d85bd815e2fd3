"""Chooses the NL catalog search's semantic weight on the dev half of the labelled requests
(tests/data/nl_requests.jsonl), and prints recall@1/@3 on both halves at each weight.

Embeddings come from the same MiniLM model L04 serves, run in this process (no mesh needed):
the catalog search calls L04's Embed, which gives a text the same vector in any batch.

    python -m bench.nl_search_tuning
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from services.kit import descriptors
from services.l04_models.providers.local_embedder import LocalEmbedder, model_files
from services.l12_nl.catalog import Catalog
from services.l12_nl.search import SearchIndex

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "data" / "nl_requests.jsonl"
WEIGHTS = [round(w * 0.05, 2) for w in range(21)]


def recall(ranked: Sequence[Sequence[str]], wanted: Sequence[str], k: int) -> float:
    return sum(want in found[:k] for found, want in zip(ranked, wanted, strict=True)) / len(wanted)


async def main() -> None:
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
    halves = {split: [r for r in rows if r["split"] == split] for split in ("dev", "heldout")}
    scores = {
        split: [
            (await index.semantic_scores(r["text"]), index.keyword_scores(r["text"])) for r in part
        ]
        for split, part in halves.items()
    }
    print(f"{len(rows)} requests ({len(halves['dev'])} dev, {len(halves['heldout'])} held out)")
    print("weight  dev@1  dev@3  held@1  held@3")
    best = (-1.0, 0.0)
    for weight in WEIGHTS:
        line = f"{weight:6.2f}"
        for split in ("dev", "heldout"):
            ranked = [
                [names[i] for i in np.argsort(-(weight * s + (1 - weight) * k), kind="stable")]
                for s, k in scores[split]
            ]
            wanted = [r["method"] for r in halves[split]]
            at1, at3 = recall(ranked, wanted, 1), recall(ranked, wanted, 3)
            line += f"  {at1:5.1%}  {at3:5.1%}"
            if split == "dev":
                best = max(best, (at3 + at1 / 100, weight))
        print(line)
    print(f"best on dev (recall@3, then @1): weight {best[1]}")


if __name__ == "__main__":
    asyncio.run(main())
