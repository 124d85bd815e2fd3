"""Group commit planning: each append in a group succeeds or fails on its own."""

import uuid

import pytest

from services.kit.errors import PlatformError
from services.l01_data.log.append_plan import (
    AppendRequest,
    DocumentPut,
    PlannedPut,
    StoredId,
    plan_group,
)
from services.l01_data.log.events import AppendResult, new_event

pytestmark = [pytest.mark.unit, pytest.mark.l01]


def _events(count: int, ids: list[str] | None = None) -> list:
    ids = ids or [""] * count
    return [new_event(i, ids[i], "t", {"i": i}, None) for i in range(count)]


def test_appends_in_a_group_get_consecutive_positions_in_arrival_order() -> None:
    plan = plan_group(
        [AppendRequest("a", None, _events(2)), AppendRequest("b", -1, _events(3))],
        head=10,
        current_versions={"a": 4},
        stored_ids={},
    )
    first, second = plan.outcomes
    assert isinstance(first, AppendResult) and isinstance(second, AppendResult)
    assert (first.first_version, first.last_version) == (5, 6)
    assert (first.first_position, first.last_position) == (11, 12)
    assert (second.first_version, second.first_position, second.last_position) == (0, 13, 15)
    assert [row[0] for row in plan.rows] == [11, 12, 13, 14, 15]
    assert plan.stream_versions == {"a": 6, "b": 2}
    assert plan.last_position == 15


def test_a_conflicting_append_fails_alone_and_takes_no_positions() -> None:
    plan = plan_group(
        [
            AppendRequest("a", 0, _events(1)),
            AppendRequest("a", 0, _events(1)),  # same expectation: must lose
            AppendRequest("c", None, _events(1)),
        ],
        head=0,
        current_versions={"a": 0},
        stored_ids={},
    )
    ok, conflict, other = plan.outcomes
    assert isinstance(ok, AppendResult) and ok.first_position == 1
    assert isinstance(conflict, PlatformError) and conflict.code == "E1005"
    assert conflict.metadata["actual_version"] == "1"
    assert isinstance(other, AppendResult) and other.first_position == 2
    assert plan.last_position == 2


def test_a_retry_of_a_stored_append_replays_its_result() -> None:
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    stored = {
        uuid.UUID(ids[0]): StoredId("a", 3, 40),
        uuid.UUID(ids[1]): StoredId("a", 4, 41),
    }
    plan = plan_group([AppendRequest("a", 2, _events(2, ids))], 50, {"a": 4}, stored)
    (replayed,) = plan.outcomes
    assert isinstance(replayed, AppendResult)
    assert (replayed.first_version, replayed.last_position) == (3, 41)
    assert plan.rows == [] and plan.last_position == 50


def test_identical_appends_in_one_group_are_written_once() -> None:
    ids = [str(uuid.uuid4())]
    plan = plan_group(
        [AppendRequest("a", -1, _events(1, ids)), AppendRequest("a", -1, _events(1, ids))],
        0,
        {},
        {},
    )
    first, second = plan.outcomes
    assert first == second
    assert len(plan.rows) == 1


def test_reusing_an_id_in_another_stream_is_refused() -> None:
    event_id = str(uuid.uuid4())
    stored = {uuid.UUID(event_id): StoredId("elsewhere", 0, 1)}
    plan = plan_group([AppendRequest("a", None, _events(1, [event_id]))], 1, {}, stored)
    (error,) = plan.outcomes
    assert isinstance(error, PlatformError) and error.code == "E1006"
    assert "elsewhere" in error.message


def test_a_partial_retry_is_refused() -> None:
    known, fresh = str(uuid.uuid4()), str(uuid.uuid4())
    stored = {uuid.UUID(known): StoredId("a", 0, 1)}
    plan = plan_group([AppendRequest("a", None, _events(2, [known, fresh]))], 1, {"a": 0}, stored)
    (error,) = plan.outcomes
    assert isinstance(error, PlatformError) and error.code == "E1006"


def _put(document_id: str, content: str) -> DocumentPut:
    return DocumentPut("agents", document_id, content)


def test_documents_of_a_written_append_are_planned_and_a_refused_ones_are_not() -> None:
    plan = plan_group(
        [
            AppendRequest("a", -1, _events(1), [_put("a", '{"v":1}')]),
            AppendRequest("b", 3, _events(1), [_put("b", '{"v":1}')]),  # b is at 0: refused
        ],
        head=0,
        current_versions={"b": 0},
        stored_ids={},
    )
    written, refused = plan.outcomes
    assert isinstance(written, AppendResult) and isinstance(refused, PlatformError)
    assert plan.documents == {("agents", "a"): PlannedPut('{"v":1}', 1)}


def test_a_replayed_append_puts_its_documents_no_more() -> None:
    ids = [str(uuid.uuid4())]
    plan = plan_group(
        [AppendRequest("a", None, _events(1, ids), [_put("a", '{"v":2}')])],
        head=50,
        current_versions={"a": 3},
        stored_ids={uuid.UUID(ids[0]): StoredId("a", 3, 40)},
    )
    assert isinstance(plan.outcomes[0], AppendResult)
    assert plan.rows == [] and plan.documents == {}


def test_a_document_put_twice_in_a_group_keeps_the_last_content_and_counts_both_puts() -> None:
    plan = plan_group(
        [
            AppendRequest("a", 0, _events(1), [_put("a", '{"v":1}')]),
            AppendRequest("a", 1, _events(1), [_put("a", '{"v":2}'), _put("z", "{}")]),
        ],
        head=0,
        current_versions={"a": 0},
        stored_ids={},
    )
    assert plan.documents == {
        ("agents", "a"): PlannedPut('{"v":2}', 2),
        ("agents", "z"): PlannedPut("{}", 1),
    }
