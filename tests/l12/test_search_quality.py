"""Search quality on the held-out half of the labelled requests (tests/data/nl_requests.jsonl):
the semantic weight was chosen on the dev half (python -m bench.nl_search_tuning)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from services.kit import descriptors
from services.l12_nl.catalog import Catalog

pytestmark = [pytest.mark.integration, pytest.mark.l12]

LABELLED = Path(__file__).resolve().parents[1] / "data" / "nl_requests.jsonl"


def held_out() -> list[dict[str, str]]:
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    return [row for row in rows if row["split"] == "heldout"]


def test_the_labelled_set_has_both_halves_over_every_layer() -> None:
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    dev = [row for row in rows if row["split"] == "dev"]
    held = held_out()
    assert len(dev) + len(held) == len(rows)
    assert len(dev) >= 250 and len(held) >= 120
    assert not {row["text"].lower() for row in dev} & {row["text"].lower() for row in held}
    methods = {method.name: method.layer for method in Catalog(descriptors.load()).methods}
    unknown = [row["method"] for row in rows if row["method"] not in methods]
    assert not unknown, unknown
    assert {methods[row["method"]] for row in held} == set(methods.values())
    # Every layer's method texts are worked on against dev requests about them.
    assert {methods[row["method"]] for row in dev} == set(methods.values())


async def test_held_out_requests_find_their_rpc_in_the_top_three(
    rest: httpx.AsyncClient,
) -> None:
    rows = held_out()
    hits = 0
    for row in rows:
        reply = await rest.post("/v1/services:search", json={"query": row["text"], "limit": 3})
        assert reply.status_code == 200, reply.text
        hits += row["method"] in [match["method"] for match in reply.json()["matches"]]
    recall = hits / len(rows)
    # Only the figure, never the misses: a held-out request whose miss was read would
    # become a development example.
    summary = f"held-out recall@3: {recall:.1%} ({hits} of {len(rows)})"
    print(summary)
    # A regression guard, not the target (90 %, missed: README). The held-out half written
    # on 2026-12-03 measured 63.5 % (94 of 148) with bench.nl, then 73.0 % (108) after the
    # dev-only rework of every layer's method texts; the floor sits four requests under it,
    # so a search or method-text change that loses more fails here.
    assert recall >= 0.70, summary
