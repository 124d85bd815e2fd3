"""Builds the search index in the background: L04's embedder may still be loading when L12
starts, and the catalog and Invoke need no embeddings, so they serve at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from services.kit import PlatformError
from services.l12_nl import errors
from services.l12_nl.catalog import CatalogMethod
from services.l12_nl.search import Embedder, SearchIndex

log = structlog.get_logger("l12.index")

RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0)


class IndexBuilder:
    def __init__(self, methods: Sequence[CatalogMethod], embed: Embedder) -> None:
        self._methods = methods
        self._embed = embed
        self._index: SearchIndex | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._build())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _build(self) -> None:
        attempt = 0
        while True:
            try:
                self._index = await SearchIndex.build(self._methods, self._embed)
            except Exception as error:  # L04 loading or away: keep trying, it heals
                delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                log.info("index.retry", reason=str(error)[:200], in_seconds=delay)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            self._ready.set()
            log.info("index.ready", methods=len(self._methods))
            return

    async def index(self, wait_seconds: float) -> SearchIndex:
        """The index, waiting up to ``wait_seconds`` for it to be built."""
        try:
            await asyncio.wait_for(self._ready.wait(), wait_seconds)
        except TimeoutError:
            raise PlatformError(
                errors.INDEX_LOADING, "the search index is still being built; retry shortly"
            ) from None
        assert self._index is not None
        return self._index
