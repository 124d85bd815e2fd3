"""Both answer caches behind one face: exact (Redis) first, then semantic (L01 vectors).

The exact cache is read in the admission round trip (limits.py); this module says under
which key, decodes what came back, asks the semantic cache on a miss and stores answers in
both. The semantic cache is an optimisation: when L01 or the embedder fails, the request
is answered anyway.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import structlog

from services.l04_models.conversation import CacheReport, Completion, GenerationRequest
from services.l04_models.exact_cache import ExactCache, completion_from_json
from services.l04_models.semantic_cache import Probe, SemanticCache

log = structlog.get_logger("l04.cache")
REPLAY_CHUNK_CHARS = 64
_WORDS = re.compile(r"\s*\S+\s*|\s+")


class AnswerCache:
    def __init__(self, exact: ExactCache, semantic: SemanticCache | None) -> None:
        self._exact = exact
        self._semantic = semantic

    @staticmethod
    def exact_key(request: GenerationRequest) -> str | None:
        return None if request.cache.bypass else ExactCache.key(request)

    @staticmethod
    def decode(stored: bytes | str) -> Completion:
        return completion_from_json(stored)

    async def semantic_lookup(self, request: GenerationRequest) -> Probe | None:
        if self._semantic is None or request.cache.bypass:
            return None
        try:
            return await self._semantic.lookup(request)
        except Exception as error:
            log.warning("semantic_cache.lookup_failed", error=str(error))
            return None

    @staticmethod
    def report(request: GenerationRequest, exact_hit: bool, probe: Probe | None) -> CacheReport:
        """How the caches judged ``request`` (for a caller who asked)."""
        if request.cache.bypass:
            return CacheReport("bypassed")
        if exact_hit:
            return CacheReport("exact_hit", 1.0)
        return probe.report() if probe is not None else CacheReport("not_cached")

    async def store(
        self, request: GenerationRequest, key: str | None, probe: Probe | None,
        completion: Completion,
    ) -> None:  # fmt: skip
        """``key``: what exact_key gave for this request (None: the caches are bypassed)."""
        if key is None:
            return
        if probe is None or self._semantic is None:
            await self._exact.put(request, completion, key)
            return
        await asyncio.gather(
            self._exact.put(request, completion, key),
            self._semantic_store(request, probe, completion),
        )

    async def _semantic_store(
        self, request: GenerationRequest, probe: Probe, completion: Completion
    ) -> None:
        assert self._semantic is not None
        try:
            await self._semantic.store(request, probe, completion)
        except Exception as error:
            log.warning("semantic_cache.store_failed", error=str(error))


def replay(text: str) -> Iterator[str]:
    """A stored answer as stream deltas: whole words, about REPLAY_CHUNK_CHARS at a time."""
    chunk = ""
    for word in _WORDS.findall(text):
        if chunk and len(chunk) + len(word) > REPLAY_CHUNK_CHARS:
            yield chunk
            chunk = ""
        chunk += word
    if chunk:
        yield chunk
