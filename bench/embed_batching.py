"""Whether L04's local embedder should run several texts in one graph run.

It runs one text per run (``services/l04_models/providers/local_embedder.py``) so a text gets
the same vector in any batch. This measures what a real batch (one run, padded, with the
attention mask) would gain in throughput and what it does to the vectors, on the labelled role
tasks: texts/s each way, and the lowest cosine between a text's batched and lone vectors.

``python -m bench.embed_batching`` (no mesh needed).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from services.l04_models.providers.local_embedder import DIMENSION, LocalEmbedder, model_files

TASKS = Path("tests/data/role_tasks.jsonl")
BATCH = 32
ROUNDS = 5


def batched(embedder: LocalEmbedder, texts: list[str]) -> np.ndarray:
    """One graph run for all ``texts``: padded to the longest, masked."""
    encodings = embedder._tokenizer.encode_batch(texts)
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(texts), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    hidden = embedder._session.run(
        None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    )[0]
    pooled = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def main() -> int:
    files = model_files()
    assert files is not None, "the MiniLM wheels are part of the install"
    embedder = LocalEmbedder(*files)
    texts = [json.loads(line)["text"] for line in TASKS.read_text().splitlines() if line.strip()]
    texts = texts[: len(texts) // BATCH * BATCH]
    chunks = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    alone = np.empty((len(texts), DIMENSION), dtype=np.float32)
    started = time.perf_counter()
    for _ in range(ROUNDS):
        alone = np.vstack([embedder.embed(chunk)[0] for chunk in chunks])
    per_text = len(texts) * ROUNDS / (time.perf_counter() - started)
    together = np.empty_like(alone)
    started = time.perf_counter()
    for _ in range(ROUNDS):
        together = np.vstack([batched(embedder, chunk) for chunk in chunks])
    per_batch = len(texts) * ROUNDS / (time.perf_counter() - started)
    cosines = np.sum(alone * together, axis=1)
    print(f"{len(texts)} labelled tasks, batches of {BATCH}, {ROUNDS} rounds:")
    print(f"  one text per run (as L04 does): {per_text:6.0f} texts/s")
    print(f"  one run per batch (padded):     {per_batch:6.0f} texts/s")
    print(f"  batched vs alone: lowest cosine {cosines.min():.4f}, mean {cosines.mean():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
