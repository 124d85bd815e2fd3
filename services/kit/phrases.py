"""Words of a text matched against keyword phrases and names (roles, skills).

Lowercase word tokens with a light plural fold ("tests" ~ "test", "500s" ~ "500"): a phrase
matches when every one of its words is in the task.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9]+(?:[.+#][a-z0-9]+)*")


def _fold(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> frozenset[str]:
    return frozenset(_fold(w) for w in _WORD.findall(text.lower()))


def phrase(text: str) -> tuple[str, ...]:
    """A keyword or skill name as the words it needs ("rest_api_design" -> rest, api, design)."""
    return tuple(_fold(w) for w in _WORD.findall(text.lower().replace("_", " ")))


def matched(
    task_words: frozenset[str], phrases: Iterable[tuple[str, tuple[str, ...]]]
) -> list[str]:
    """The labels of the phrases whose words are all in the task."""
    return [label for label, needed in phrases if needed and task_words.issuperset(needed)]
