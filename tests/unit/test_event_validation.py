"""What the event store accepts from clients, checked before any database work."""

import math
import uuid

import pytest

from services.kit.errors import Kind, PlatformError
from services.l01_data.log import events as ev

pytestmark = [pytest.mark.unit, pytest.mark.l01]


@pytest.mark.parametrize("stream_id", ["order-1", "agent:42", "a.b_c@d", "x" * 256])
def test_stream_id_accepts_the_documented_alphabet(stream_id: str) -> None:
    assert ev.validate_stream_id(stream_id) == stream_id


@pytest.mark.parametrize(
    ("stream_id", "fragment"),
    [("", "empty"), ("x" * 10_000, "limit is 256"), ("a b", "only letters"), ("a/b", "only")],
)
def test_stream_id_refusals_name_the_field(stream_id: str, fragment: str) -> None:
    with pytest.raises(PlatformError) as caught:
        ev.validate_stream_id(stream_id)
    assert caught.value.field == "stream_id"
    assert caught.value.error.kind is Kind.INVALID_ARGUMENT
    assert fragment in caught.value.message


def test_event_without_id_gets_a_fresh_uuid() -> None:
    first = ev.new_event(0, "", "order.placed", {"a": 1}, None)
    second = ev.new_event(0, "", "order.placed", {"a": 1}, None)
    assert first.id != second.id
    assert first.data_json == '{"a":1}' and first.metadata_json == "{}"


def test_client_event_id_must_be_a_uuid() -> None:
    with pytest.raises(PlatformError) as caught:
        ev.new_event(3, "not-a-uuid", "t", None, None)
    assert caught.value.field == "events[3].id"


@pytest.mark.parametrize("event_type", ["", "1abc", "has space", "x" * 300, "a%b"])
def test_bad_event_types_are_refused(event_type: str) -> None:
    with pytest.raises(PlatformError) as caught:
        ev.new_event(1, "", event_type, None, None)
    assert caught.value.field == "events[1].type"


def test_non_finite_numbers_are_refused() -> None:
    with pytest.raises(PlatformError) as caught:
        ev.new_event(0, "", "t", {"x": math.nan}, None)
    assert caught.value.field == "events[0].data"


def test_nul_characters_are_refused_because_jsonb_cannot_store_them() -> None:
    with pytest.raises(PlatformError) as caught:
        ev.new_event(0, "", "t", None, {"x": "a\x00b"})
    assert caught.value.field == "events[0].metadata"


def test_event_over_the_size_limit_is_refused_with_sizes() -> None:
    with pytest.raises(PlatformError) as caught:
        ev.new_event(0, "", "t", {"blob": "x" * ev.MAX_EVENT_BYTES}, None)
    assert caught.value.code == "E1003"
    assert caught.value.metadata["limit_bytes"] == str(ev.MAX_EVENT_BYTES)


def test_event_just_under_the_limit_is_accepted() -> None:
    event = ev.new_event(0, "", "t", {"blob": "x" * (ev.MAX_EVENT_BYTES - 100)}, None)
    assert len(event.data_json) < ev.MAX_EVENT_BYTES


@pytest.mark.parametrize("count", [0, ev.MAX_EVENTS_PER_APPEND + 1, 10_000])
def test_batch_size_limits(count: int) -> None:
    with pytest.raises(PlatformError) as caught:
        ev.validate_batch_size(count)
    assert caught.value.field == "events"


def test_duplicate_ids_within_one_append_are_refused() -> None:
    same = str(uuid.uuid4())
    batch = [ev.new_event(i, same, "t", None, None) for i in range(2)]
    with pytest.raises(PlatformError):
        ev.validate_unique_ids(batch)


@pytest.mark.parametrize(("count", "expected"), [(0, ev.DEFAULT_READ_COUNT), (1, 1), (1000, 1000)])
def test_read_count_defaults_and_bounds(count: int, expected: int) -> None:
    assert ev.validate_count(count) == expected


@pytest.mark.parametrize("count", [-1, 1001])
def test_read_count_out_of_range_is_refused(count: int) -> None:
    with pytest.raises(PlatformError):
        ev.validate_count(count)


def test_expected_version_below_minus_one_is_refused() -> None:
    assert ev.validate_expected_version(None) is None
    assert ev.validate_expected_version(-1) == -1
    with pytest.raises(PlatformError) as caught:
        ev.validate_expected_version(-2)
    assert caught.value.field == "expected_version"
