"""Chooses the NL catalog search's weights on the development requests
(services/l12_nl/data/requests.yaml) and prints their recall@1/@3 at each set of weights:
the cosine against the keyword score, the closest example request against that blend, and
the verb model's probability against all of it. Each request is left out of the examples
(and of the verb model's counts) while it is the query. The held-out half
(tests/data/nl_requests.jsonl) is not read here: `python -m bench.nl` measures it, through
the mesh. With --misses, it also lists the development requests that miss the top three at
the weights in services/l12_nl/search.py: the request, the method it wants and its rank,
what came first.

Embeddings come from the same MiniLM model L04 serves, run in this process (no mesh needed):
the catalog search calls L04's Embed, which gives a text the same vector in any batch.

    python -m bench.nl_search_tuning [--misses]
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import numpy as np

from services.kit import descriptors
from services.l04_models.providers.local_embedder import LocalEmbedder, model_files
from services.l12_nl.catalog import Catalog
from services.l12_nl.search import (
    EXAMPLE_WEIGHT,
    SEMANTIC_WEIGHT,
    VERB_WEIGHT,
    SearchIndex,
    blend,
    load_requests,
)

SEMANTIC_WEIGHTS = [round(w * 0.05, 2) for w in range(21)]
EXAMPLE_WEIGHTS = [round(w * 0.05, 2) for w in range(17)]  # up to 0.8: the texts keep a say
VERB_WEIGHTS = [round(w * 0.05, 2) for w in range(9)]  # up to 0.4: a verb alone finds nothing


def recall(ranked: Sequence[Sequence[str]], wanted: Sequence[str], k: int) -> float:
    return sum(want in found[:k] for found, want in zip(ranked, wanted, strict=True)) / len(wanted)


def print_misses(dev: Sequence[tuple[str, str]], ranked: Sequence[Sequence[str]]) -> None:
    def short(method: str) -> str:
        return method.split(".", 3)[3]  # Service.Method

    print("\ndev misses at the shipped weights (wanted, its rank; first; the request):")
    for (method, text), found in zip(dev, ranked, strict=True):
        if method not in found[:3]:
            rank = found.index(method) + 1
            print(f"  {short(method)} #{rank}; {short(found[0])}; {text!r}")


async def main(show_misses: bool) -> None:
    files = model_files()
    if files is None:
        raise SystemExit("the MiniLM model package is not installed")
    embedder = LocalEmbedder(*files)

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        return embedder.embed(list(texts))[0].tolist()  # type: ignore[no-any-return]

    catalog = Catalog(descriptors.load())
    requests = load_requests()
    index = await SearchIndex.build(catalog.methods, embed, requests)
    names = [m.name for m in catalog.methods]
    known = set(names)
    dev = [
        (method, text) for method, texts in requests.items() if method in known for text in texts
    ]
    wanted = [method for method, _ in dev]
    signals = []
    for _, text in dev:
        vector = await index.query_vector(text)
        signals.append(
            (
                index.semantic_scores(vector),
                index.keyword_scores(text),
                index.example_scores(vector, leaving_out=text),
                index.verb_scores(text, leaving_out=text),
            )
        )
    print(f"{len(dev)} development requests, {len(names)} methods")
    results = []
    for verb_weight in VERB_WEIGHTS:
        print(f"verb weight {verb_weight:4.2f}")
        for example_weight in EXAMPLE_WEIGHTS:
            row = []
            for semantic_weight in SEMANTIC_WEIGHTS:
                weights = (semantic_weight, example_weight, verb_weight)
                ranked = [
                    np.argsort(-blend(*signal, *weights), kind="stable")[:3] for signal in signals
                ]
                found = [[names[i] for i in order] for order in ranked]
                at1, at3 = recall(found, wanted, 1), recall(found, wanted, 3)
                results.append(((at3, at1), (verb_weight, example_weight, semantic_weight)))
                row.append(f"{at3:5.1%}")
            print(
                f"  examples {example_weight:4.2f}: recall@3 by semantic weight 0..1: "
                f"{' '.join(row)}"
            )
    top = max(result for result, _ in results)
    tied = [weights for result, weights in results if result == top]
    # Among sets tied at the best recall, the middle one: the farthest from the edges where
    # the figures start to fall.
    choice = tied[len(tied) // 2]
    print(
        f"best (recall@3 {top[0]:.1%}, then @1 {top[1]:.1%}): (verb, example, semantic) "
        f"weights {tied}; the middle one: {choice}"
    )
    if show_misses:
        found = [
            [names[i] for i in np.argsort(-blend(*signal), kind="stable")] for signal in signals
        ]
        print(
            f"shipped weights: verb {VERB_WEIGHT}, examples {EXAMPLE_WEIGHT}, "
            f"semantic {SEMANTIC_WEIGHT}"
        )
        print_misses(dev, found)


if __name__ == "__main__":
    asyncio.run(main(show_misses="--misses" in sys.argv[1:]))
