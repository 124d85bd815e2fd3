"""Search quality on the held-out batch of labelled requests (tests/data/nl_requests.jsonl):
the weights were chosen on the development requests, the example requests L12 ships
(services/l12_nl/data/requests.yaml), by python -m bench.nl_search_tuning."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from services.kit import descriptors
from services.l12_nl.catalog import Catalog
from services.l12_nl.search import load_requests

pytestmark = [pytest.mark.integration, pytest.mark.l12]

LABELLED = Path(__file__).resolve().parents[1] / "data" / "nl_requests.jsonl"


def held_out() -> list[dict[str, str]]:
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    return [row for row in rows if row["split"] == "heldout4"]


def test_the_labelled_set_has_both_halves_over_every_layer() -> None:
    dev = load_requests()
    held = held_out()
    assert sum(len(texts) for texts in dev.values()) >= 400 and len(held) >= 100
    dev_texts = {text.lower() for texts in dev.values() for text in texts}
    assert not dev_texts & {row["text"].lower() for row in held}
    methods = {method.name: method.layer for method in Catalog(descriptors.load()).methods}
    unknown = [row["method"] for row in held if row["method"] not in methods]
    assert not unknown, unknown
    assert {methods[row["method"]] for row in held} == set(methods.values())
    # Every layer's method texts are worked on against development requests about them.
    assert {methods[name] for name in dev} == set(methods.values())


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
    # A regression guard under the target (90 %). The held-out batch written on 2026-12-06
    # ("heldout4", 160 requests over every RPC) measured 95.6 % (153 of 160) with the search
    # of that day (bench.nl), the first time it was run; the floor sits four requests under
    # that, so a search, example or method-text change that loses more fails.
    assert recall >= 149 / 160, summary
