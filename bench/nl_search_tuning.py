"""Chooses the NL catalog search's weights on the development requests
(services/l12_nl/data/requests.yaml) and prints their recall@1/@3 at each set of weights:
the cosine against the keyword score, the closest example request against that blend, the
verb model's probability against all of it, the service model's against all of that, and the
embedding model's against the rest. Each request is left out of the examples (and of the word
models' counts) while it is the query; its learned score comes from a model fitted without
its tenth of the examples. The held-out half (tests/data/nl_requests.jsonl) is not read
here: `python -m bench.nl` measures it, through the mesh. With --misses, it also lists the
development requests that miss the top three at the weights in services/l12_nl/search.py:
the request, the method it wants and its rank, what came first.

Embeddings come from the same MiniLM model L04 serves, run in this process (no mesh needed):
the catalog search calls L04's Embed, which gives a text the same vector in any batch.

    python -m bench.nl_search_tuning [--misses]
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from services.kit import descriptors
from services.l04_models.providers.local_embedder import LocalEmbedder, model_files
from services.l12_nl.catalog import Catalog
from services.l12_nl.search import SearchIndex, Signals, Weights, blend, load_requests

SEMANTIC_WEIGHTS = [round(w * 0.05, 2) for w in range(21)]
EXAMPLE_WEIGHTS = [round(w * 0.05, 2) for w in range(17)]  # up to 0.8: the texts keep a say
VERB_WEIGHTS = [round(w * 0.05, 2) for w in range(9)]  # up to 0.4: a verb alone finds nothing
SERVICE_WEIGHTS = [round(w * 0.025, 3) for w in range(9)]  # up to 0.2: nor does a service
# Up to 0.1: its z-scores spread over several units, the other signals over 0 to 1.
LEARNED_WEIGHTS = [round(w * 0.01, 2) for w in range(11)]


def ranks(blended: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Each query's rank (from 0) of the method it wants: how many methods score higher."""
    own = blended[np.arange(len(wanted)), wanted]
    return (blended > own[:, None]).sum(axis=1)  # type: ignore[no-any-return]


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
    wanted = np.array([names.index(method) for method, _ in dev])
    each = [
        index.signals(text, await index.query_vector(text), leaving_out=text) for _, text in dev
    ]
    signals = Signals(
        *(np.stack([getattr(s, name) for s in each]) for name in Signals.__dataclass_fields__)
    )
    signals = replace(signals, learned=index.learned_left_out())
    assert len(signals.learned) == len(dev), "the examples are the development requests"
    print(f"{len(dev)} development requests, {len(names)} methods")
    results = []
    for semantic in SEMANTIC_WEIGHTS:
        described = semantic * signals.semantic + (1 - semantic) * signals.keywords
        for example in EXAMPLE_WEIGHTS:
            like = (1 - example) * described + example * signals.examples
            for verb in VERB_WEIGHTS:
                asked = (1 - verb) * like + verb * signals.verbs
                for service in SERVICE_WEIGHTS:
                    served = (1 - service) * asked + service * signals.services
                    for learned in LEARNED_WEIGHTS:
                        # The blend of search.blend, a stage at a time.
                        rank = ranks((1 - learned) * served + learned * signals.learned, wanted)
                        at1, at3 = float((rank < 1).mean()), float((rank < 3).mean())
                        weights = Weights(semantic, example, verb, service, learned)
                        results.append(((at3, at1), weights))
    for learned in LEARNED_WEIGHTS:
        best = max(result for result, weights in results if weights.learned == learned)
        print(f"learned weight {learned:4.2f}: best recall@3 {best[0]:.1%} (@1 {best[1]:.1%})")
    top = max(result for result, _ in results)
    tied = [weights for result, weights in results if result == top]
    # Among sets tied at the best recall, the middle one: the farthest from the edges where
    # the figures start to fall.
    choice = tied[len(tied) // 2]
    print(f"best (recall@3 {top[0]:.1%}, then @1 {top[1]:.1%}): {len(tied)} sets tied")
    for weights in tied:
        print(f"  {weights}")
    print(f"the middle one: {choice}")
    shipped = Weights()
    rank = ranks(blend(signals, shipped), wanted)
    print(
        f"shipped {shipped}: recall@3 {float((rank < 3).mean()):.1%}, "
        f"@1 {float((rank < 1).mean()):.1%}"
    )
    if show_misses:
        blended = blend(signals, shipped)
        found = [[names[i] for i in np.argsort(-row, kind="stable")] for row in blended]
        print_misses(dev, found)


if __name__ == "__main__":
    asyncio.run(main(show_misses="--misses" in sys.argv[1:]))
