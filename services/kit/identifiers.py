"""Opaque identifiers in a request: the id of the thing it is about, which says nothing of
what is wanted done.

A UUID or a long run of mixed letters and digits ("3f9a2bde...", a commit hash, a ULID) is
read by a word model as chance fragments ("bde", "cafe") and by a sentence embedding as
noise, so the same request about two different streams could find two different RPCs.
Searching by meaning leaves them out; the request keeps them for its arguments.
"""

from __future__ import annotations

import re

_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
# Eight or more hex digits with both a digit and a letter (a hash, a uuid without its dashes),
# or sixteen or more letters and digits with two digits (a ULID, a token): names people type
# with digits in them are shorter or not hex ("sha256", "log4shell", "utf8mb4").
_HEX = r"(?=[A-Fa-f]*[0-9])(?=[0-9]*[A-Fa-f])[0-9A-Fa-f]{8,}"
_LONG = r"(?=(?:[A-Za-z]*[0-9]){2})[A-Za-z0-9]{16,}"
_OPAQUE = re.compile(rf"(?<![A-Za-z0-9])(?:{_UUID}|{_HEX}|{_LONG})(?![A-Za-z0-9])")


def without_identifiers(text: str) -> str:
    """``text`` with its opaque identifiers taken out (the words around them kept)."""
    return " ".join(_OPAQUE.sub(" ", text).split())
