"""Rules of stream management, snapshots and consumer groups that need no database."""

from datetime import timedelta

import pytest

from services.kit.errors import PlatformError
from services.l01_data.audit import audit_append
from services.l01_data.groups.store import (
    DEFAULT_BATCH,
    decode_page_token,
    encode_page_token,
    validate_batch_size,
    validate_group_id,
)
from services.l01_data.log.append_plan import AppendRequest, StoredId, plan_group
from services.l01_data.log.events import AppendResult, new_event
from services.l01_data.log.streams import validate_limits
from services.l01_data.snapshots.store import MAX_STATE_BYTES, validate_snapshot

pytestmark = [pytest.mark.unit, pytest.mark.l01]


def _events(count: int) -> list:
    return [new_event(i, "", "t", {"i": i}, None) for i in range(count)]


def test_appends_to_a_deleted_stream_fail_alone() -> None:
    plan = plan_group(
        [AppendRequest("gone", None, _events(1)), AppendRequest("live", None, _events(2))],
        head=5,
        current_versions={"gone": 3, "live": 0},
        stored_ids={},
        deleted_streams={"gone"},
    )
    refused, ok = plan.outcomes
    assert isinstance(refused, PlatformError) and refused.code == "E1302"
    assert isinstance(ok, AppendResult) and ok.first_position == 6
    assert plan.stream_versions == {"live": 2}


def test_a_retry_of_an_append_stored_before_the_deletion_replays() -> None:
    events = _events(1)
    stored = {events[0].id: StoredId("gone", 3, 9)}
    plan = plan_group(
        [AppendRequest("gone", None, events)],
        head=20,
        current_versions={"gone": 3},
        stored_ids=stored,
        deleted_streams={"gone"},
    )
    (outcome,) = plan.outcomes
    assert isinstance(outcome, AppendResult) and outcome.last_position == 9
    assert plan.rows == []


def test_audit_events_record_the_principal_in_a_system_stream() -> None:
    request = audit_append("$streams", "$stream.deleted", {"stream_id": "s"}, "alice")
    (event,) = request.events
    assert request.stream_id == "$streams" and request.expected_version is None
    assert event.metadata_json == '{"$principal":"alice"}'
    assert event.data_json == '{"stream_id":"s"}'


@pytest.mark.parametrize(
    ("max_count", "max_age", "field"),
    [
        (-1, None, "metadata.max_count"),
        (0, timedelta(seconds=-1), "metadata.max_age"),
        (0, timedelta(days=10**6), "metadata.max_age"),
    ],
)
def test_bad_stream_limits_name_the_field(max_count, max_age, field) -> None:
    with pytest.raises(PlatformError) as caught:
        validate_limits(max_count, max_age)
    assert caught.value.field == field and caught.value.code == "E1002"


def test_a_zero_max_age_means_no_limit() -> None:
    assert validate_limits(0, timedelta(0)) is None
    assert validate_limits(5, timedelta(hours=1)) == timedelta(hours=1)


def test_snapshot_rules() -> None:
    validate_snapshot(0, "{}", "order/v1")
    for version, state, schema, code in (
        (-1, "{}", "", "E1002"),
        (0, "{}", "s" * 257, "E1002"),
        (0, "x" * (MAX_STATE_BYTES + 1), "", "E1305"),
    ):
        with pytest.raises(PlatformError) as caught:
            validate_snapshot(version, state, schema)
        assert caught.value.code == code


@pytest.mark.parametrize("group_id", ["", "g" * 129, "a b", "$x", "ü"])
def test_bad_group_ids_are_refused(group_id: str) -> None:
    with pytest.raises(PlatformError) as caught:
        validate_group_id(group_id)
    assert caught.value.field == "group_id"


def test_batch_sizes_default_and_bounds() -> None:
    assert validate_batch_size(0) == DEFAULT_BATCH
    assert validate_batch_size(1000) == 1000
    for size in (-1, 1001):
        with pytest.raises(PlatformError):
            validate_batch_size(size)


def test_page_tokens_round_trip_and_garbage_is_refused() -> None:
    assert decode_page_token(encode_page_token("group-7")) == "group-7"
    assert decode_page_token("") == ""
    for token in ("%%%", "////", encode_page_token("a b")):
        with pytest.raises(PlatformError) as caught:
            decode_page_token(token)
        assert caught.value.field == "page_token"


def test_only_client_chosen_ids_are_marked_for_the_idempotency_lookup() -> None:
    chosen = new_event(0, "6f1c1d0e-3a6b-4f0e-9a59-2f0d3c1b7a11", "t", {}, None)
    drawn = new_event(0, "", "t", {}, None)
    assert chosen.id_from_client and not drawn.id_from_client
    audit = audit_append("$groups", "$group.created", {}, "p").events[0]
    assert not audit.id_from_client
