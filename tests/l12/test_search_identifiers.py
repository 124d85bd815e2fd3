"""The id a request names does not sway which RPC the catalog search finds: the same request
about two streams ranks the methods the same."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

import pytest

from services.kit import descriptors
from services.l12_nl.catalog import Catalog
from services.l12_nl.search import SearchIndex

pytestmark = [pytest.mark.unit, pytest.mark.l12]


async def test_two_ids_in_one_request_rank_the_methods_alike() -> None:
    by_name = {m.short_name: m for m in Catalog(descriptors.load()).methods}
    methods = [by_name[n] for n in ("GetStream", "DeleteStream", "ReadStream", "Ask")]
    embedded: list[str] = []

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        # Any change of text changes the vector, as a real model's does.
        embedded.extend(texts)
        return [list(hashlib.sha256(t.encode()).digest()[:8]) for t in texts]

    index = await SearchIndex.build(methods, embed, {})
    first = await index.search(f"delete the stream nl-ask-{uuid.uuid4().hex}", 4)
    second = await index.search(f"delete the stream nl-ask-{uuid.uuid4().hex}", 4)
    assert [(s.method.name, s.score) for s in first] == [(s.method.name, s.score) for s in second]
    assert embedded[-1] == embedded[-2] == "delete the stream nl-ask-"
