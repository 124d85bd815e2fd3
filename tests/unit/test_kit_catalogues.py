"""Kit pieces the catalogue layers (L13, L14) share: several bad fields in one error, meaning
signals per owner, token counts, phrase matching."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2

from services.kit import ErrorCode, Kind, PlatformError
from services.kit.errors import to_rpc_status
from services.kit.phrases import matched, phrase, words
from services.kit.semantic_index import Cosines, IndexedText, Similarity, meaning_by_owner
from services.kit.tokens import count_tokens, truncate_to_tokens

pytestmark = [pytest.mark.unit, pytest.mark.kit]

INVALID = ErrorCode("E99002", Kind.INVALID_ARGUMENT, "invalid")


def test_every_violation_becomes_a_field_violation() -> None:
    error = PlatformError(
        INVALID, "two problems", field="a", violations=[("a", "is empty"), ("b[1]", "unknown")]
    )
    status = to_rpc_status(error, "test.agentic")
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    bad = error_details_pb2.BadRequest()
    assert [d for d in status.details if d.Unpack(bad)]
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("a", "is empty"),
        ("b[1]", "unknown"),
    ]


def _near(owner: str, *cosines: float) -> list[Similarity]:
    return [
        Similarity(IndexedText(f"{owner}.{i}", owner, f"t{i}"), c) for i, c in enumerate(cosines)
    ]


def test_meaning_is_standardised_across_owners() -> None:
    found = meaning_by_owner(
        Cosines.of([*_near("b", 0.5, 0.5, 0.5), *_near("a", 0.9, 0.1, 0.1, 0.1), *_near("c", 0.2)]),
        {"a", "b"},
    )
    by_owner = {m.owner: m for m in found}
    assert set(by_owner) == {"a", "b"}, "owners not asked for are left out"
    assert by_owner["a"].values["closest"] == pytest.approx(1.0)
    assert by_owner["b"].values["closest"] == pytest.approx(-1.0)
    assert by_owner["b"].values["mean"] == pytest.approx(1.0)
    assert by_owner["a"].closest.entry.id == "a.0"


def test_meaning_reads_each_owners_texts_wherever_they_are() -> None:
    """Owners' texts interleaved, fewer than three of one, equal cosines, a subset: the
    signals are the plain sums over each owner's own texts."""
    pairs = _near("a", 0.4, 0.8, 0.8) + _near("b", 0.6) + _near("a2", 0.1, 0.3)
    pairs = [pairs[4], pairs[0], pairs[3], pairs[1], pairs[5], pairs[2]]
    cosines = Cosines.of(pairs)
    found = {m.owner: m for m in meaning_by_owner(cosines, {"a", "b", "a2"})}
    assert found["a"].closest.entry.id == "a.1", "of equal cosines, the first text"
    assert [found[o].closest.cosine for o in ("a", "a2", "b")] == [0.8, 0.3, 0.6]
    raw = {  # per owner a, a2, b
        "closest": [0.8, 0.3, 0.6],
        "nearest3": [2.0 / 3, 0.2, 0.6],  # a2 and b have fewer than three texts
        "mean": [2.0 / 3, 0.2, 0.6],
    }
    for signal, values in raw.items():
        standard = (np.array(values) - np.mean(values)) / np.std(values)
        got = [found[o].values[signal] for o in ("a", "a2", "b")]
        assert got == pytest.approx(standard.tolist()), signal
    without_b = cosines.where(np.array([e.owner != "b" for e in cosines.entries()]))
    assert {m.owner for m in meaning_by_owner(without_b, {"a", "b", "a2"})} == {"a", "a2"}
    assert meaning_by_owner(cosines, {"nobody"}) == []


def test_one_owner_has_no_spread_to_standardise() -> None:
    (only,) = meaning_by_owner(Cosines.of(_near("a", 0.3, 0.2)), {"a"})
    assert only.values == {"closest": 0.0, "nearest3": 0.0, "mean": 0.0}


def test_token_counts_are_the_tokenizers_and_cuts_fit() -> None:
    text = "The login page is slow and throws 500s sometimes."
    assert count_tokens(text) == 12
    cut = truncate_to_tokens(text, 5)
    assert text.startswith(cut) and count_tokens(cut) == 5
    assert truncate_to_tokens(text, 100) == text and count_tokens("") == 0


def test_a_phrase_matches_when_all_its_words_are_there() -> None:
    task = words("Our tests keep failing in CI since the Postgres upgrade")
    phrases = [(k, phrase(k)) for k in ("failing test", "postgresql", "ci", "rest_api_design")]
    assert matched(task, phrases) == ["failing test", "ci"]
