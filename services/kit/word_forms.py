"""Forms of one word, for comparing two prompts (``near_miss``): a crude stem, a
comparative's base, opposite prefixes, derived words, misspellings and a name's other forms."""

from __future__ import annotations

import re
from functools import lru_cache

_VOWEL = re.compile(r"[aeiouy]")
TYPO_LENGTH = 4  # shortest root: "main" / "mainly", not "car" / "card"
MISSPELT_LENGTH = 6  # one letter changed: "capitol" / "capital", not "post" / "port"
# Suffixes that derive a word from another without changing what it is about (as stemmed).
_SUFFIXES = frozenset("er or ly y ion ation ment enc anc nes ity ful iv ic ical ist ian".split())
_NAME_ENDS = frozenset(
    {"ql", "ian", "ians", "an", "ans", "ean", "eans", "n", "ns", "ese", "ish", "i", "is"}
)  # PostgreSQL / Postgres, Brazil / Brazilians, Chile / Chileans

_PREFIX_OPPOSITES = {
    frozenset(p)
    for p in [("", "un"), ("", "in"), ("", "im"), ("", "il"), ("", "ir"), ("", "non"),
              ("", "dis"), ("", "de"), ("en", "de"), ("en", "dis"), ("in", "de"), ("im", "ex"),
              ("in", "ex"), ("in", "out"), ("up", "down"), ("over", "under"), ("", "anti")]
}  # fmt: skip
_PREFIXES = sorted({p for pair in _PREFIX_OPPOSITES for p in pair}, key=len, reverse=True)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude, symmetric stem: both prompts get the same one for the forms of a word."""
    if not _VOWEL.search(word[:-1]):
        return word  # an acronym or a symbol (https is not the plural of http)
    for _ in range(2):
        before = word
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith("iest") and len(word) > 5:
            word = word[:-4] + "y"
        elif word.endswith("est") and len(word) - 3 >= 4:
            word = word[:-3]
        elif word.endswith("ing") and len(word) - 3 >= 3:
            word = word[:-3]
        elif word.endswith("ed") and len(word) - 2 >= 3:
            word = word[:-2]
        elif word.endswith("es") and len(word) - 2 >= 3 and not word.endswith("ses"):
            word = word[:-2]
        elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
            word = word[:-1]
        elif word.endswith("e") and len(word) > 3:
            word = word[:-1]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
            word = word[:-1]  # hottest -> hott -> hot; running -> runn -> run
        if word == before:
            break
    return word


def inflections(word: str) -> set[str]:
    base = word[:-1] if word.endswith("e") else word
    return {word, word + "s", word + "es", base + "ed", base + "ing"}


# Words in -est that are no superlative: "how does compound interest work".
_NOT_SUPERLATIVES = frozenset({
    "interest", "request", "contest", "forest", "harvest", "manifest", "protest", "suggest",
    "digest", "ingest", "invest", "honest", "modest", "arrest", "conquest", "unrest", "attest",
    "detest", "divest", "inquest", "behest", "bequest", "pretest", "retest", "earnest",
})  # fmt: skip


def superlative(token: str) -> bool:
    """A superlative ("closest", "clearest") is an adjective, though it stems as a verb."""
    return token.endswith("est") and len(token) > 5 and token not in _NOT_SUPERLATIVES


def positive(word: str) -> str:
    """The stem of a comparative's base: stronger -> strong, easier -> easy, hotter -> hot."""
    if word.endswith("ier") and len(word) > 5:
        return stem(word[:-3] + "y")
    if word.endswith("er") and len(word) > 4:
        return stem(word[:-2])
    return word


def prefix_opposite(x: str, y: str) -> bool:
    """enable/disable, import/export, legal/illegal, tracked/untracked: one root, opposite
    prefixes."""
    roots_y = _roots(y)
    for root, px in _roots(x).items():
        py = roots_y.get(root)
        if py is not None and frozenset((px, py)) in _PREFIX_OPPOSITES:
            return True
    return False


@lru_cache(maxsize=65536)
def _roots(word: str) -> dict[str, str]:
    """root -> prefix, for each prefix the word starts with (and none) leaving >= 4 letters."""
    return {word[len(p) :]: p for p in ("", *_PREFIXES)
            if word.startswith(p) and len(word) - len(p) >= 4}  # fmt: skip


def related(x: str, y: str) -> bool:
    """One word derived from the other by a suffix ("differ" / "difference"), or misspelt
    ("capitol" / "capital", "revrse" / "reverse", "ture" / "true"): stems, as compared."""
    short, long = sorted((x, y), key=len)
    if long == short + "s":  # "PDFs" / "PDF" (an acronym's plural keeps its s)
        return True
    if len(short) < TYPO_LENGTH:
        return False
    if long.startswith(short) and long[len(short) :] in _SUFFIXES:
        return True
    if len(long) == len(short) + 1:  # a letter dropped or added, not in front ("async")
        return any(long[:i] + long[i + 1 :] == short for i in range(1, len(long)))
    if len(long) != len(short):
        return False
    differ = [i for i, (p, q) in enumerate(zip(x, y, strict=True)) if p != q]
    if len(differ) == 2 and differ[1] == differ[0] + 1:  # two letters traded
        return x[differ[0]] == y[differ[1]] and x[differ[1]] == y[differ[0]]
    # "post" / "port" are words; "vitaminc" / "vitamind" ("vitamin C") are names.
    return len(differ) == 1 and len(short) >= MISSPELT_LENGTH and differ[0] < len(x) - 1


def name_form(x: str, y: str) -> bool:
    """One name written longer: "postgres" / "postgresql", "brazil" / "brazilians"."""
    short, long = sorted((x, y), key=len)
    return len(short) >= TYPO_LENGTH and long.startswith(short) and long[len(short) :] in _NAME_ENDS
