"""Kit pieces the catalogue layers (L13, L14) share: several bad fields in one error, meaning
signals per owner, token counts, phrase matching."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2

from services.kit import ErrorCode, Kind, PlatformError
from services.kit.errors import to_rpc_status
from services.kit.phrases import matched, phrase, words
from services.kit.semantic_index import IndexedText, Similarity, meaning_by_owner
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
        [*_near("a", 0.9, 0.1, 0.1, 0.1), *_near("b", 0.5, 0.5, 0.5), *_near("c", 0.2)],
        {"a", "b"},
    )
    by_owner = {m.owner: m for m in found}
    assert set(by_owner) == {"a", "b"}, "owners not asked for are left out"
    assert by_owner["a"].values["closest"] == pytest.approx(1.0)
    assert by_owner["b"].values["closest"] == pytest.approx(-1.0)
    assert by_owner["b"].values["mean"] == pytest.approx(1.0)
    assert by_owner["a"].closest.entry.id == "a.0"


def test_one_owner_has_no_spread_to_standardise() -> None:
    (only,) = meaning_by_owner(_near("a", 0.3, 0.2), {"a"})
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
