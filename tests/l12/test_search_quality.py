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


def test_the_labelled_set_has_a_held_out_half_over_every_layer() -> None:
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    dev = [row for row in rows if row["split"] == "dev"]
    held = held_out()
    assert len(dev) + len(held) == len(rows)
    assert len(dev) >= 100 and len(held) >= 120
    assert not {row["text"].lower() for row in dev} & {row["text"].lower() for row in held}
    methods = {method.name: method.layer for method in Catalog(descriptors.load()).methods}
    unknown = [row["method"] for row in rows if row["method"] not in methods]
    assert not unknown, unknown
    assert {methods[row["method"]] for row in held} == set(methods.values())


async def test_held_out_requests_find_their_rpc_in_the_top_three(
    rest: httpx.AsyncClient,
) -> None:
    rows = held_out()
    misses = []
    for row in rows:
        reply = await rest.post("/v1/services:search", json={"query": row["text"], "limit": 3})
        assert reply.status_code == 200, reply.text
        found = [match["method"] for match in reply.json()["matches"]]
        if row["method"] not in found:
            misses.append((row["text"], row["method"], found))
    recall = 1 - len(misses) / len(rows)
    print(f"held-out recall@3: {recall:.1%} over {len(rows)} requests")
    # The target is 90 % (README); every layer added brings RPCs that compete for the same
    # words, so the test guards a floor and the README reports the figure of the day.
    assert recall >= 0.85, misses
