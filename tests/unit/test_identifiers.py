"""What counts as an opaque identifier in a request, and what stays."""

from __future__ import annotations

import uuid

import pytest

from services.kit.identifiers import without_identifiers


@pytest.mark.parametrize(
    ("text", "left"),
    [
        (f"delete the stream orders-{uuid.uuid4().hex}", "delete the stream orders-"),
        (f"show run {uuid.uuid4()} now", "show run now"),
        ("revert commit a1b2c3d4e5 please", "revert commit please"),
        ("job 01ARZ3NDEKTSV4RRFFQ69G5FAV failed", "job failed"),
    ],
)
def test_machine_made_ids_are_taken_out(text: str, left: str) -> None:
    assert without_identifiers(text) == left


@pytest.mark.parametrize(
    "text",
    [
        "use sha256 and oauth2",
        "how exposed are we to log4shell",
        "convert the table to utf8mb4",
        "remove consumer group tmp-replay-3 and orders/o-55",
        "order 12345678901 never shipped",
        "the deadbeefcafe build",  # hex letters only: a word as far as anyone can tell
    ],
)
def test_words_and_short_names_with_digits_stay(text: str) -> None:
    assert without_identifiers(text) == text
