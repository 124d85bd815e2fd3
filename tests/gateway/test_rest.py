"""The REST surface through Envoy: transcoding, JSON errors with E-codes, limits, health."""

import json
import uuid

import httpx
import pytest

from tests.support import rest_reason, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l09, pytest.mark.l01]


async def test_health_reports_each_layer(rest: httpx.AsyncClient) -> None:
    response = await rest.get("/health", headers={"authorization": ""})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "SERVING"
    assert body["layers"]["l01_data"]["status"] == "SERVING"


async def test_append_and_read_over_rest(rest: httpx.AsyncClient) -> None:
    stream = stream_name()
    event_id = str(uuid.uuid4())
    body = {
        "expected_version": -1,
        "events": [
            {"id": event_id, "type": "order.placed", "data": {"sku": "A1", "qty": 2}},
            {"type": "order.paid", "data": {}, "metadata": {"by": "rest"}},
        ],
    }
    appended = await rest.post(f"/v1/streams/{stream}:append", json=body)
    assert appended.status_code == 200, appended.text
    result = appended.json()
    assert int(result["first_version"]) == 0 and int(result["last_version"]) == 1
    assert result["event_ids"][0] == event_id

    read = await rest.get(f"/v1/streams/{stream}/events")
    assert read.status_code == 200
    page = read.json()
    assert [e["type"] for e in page["events"]] == ["order.placed", "order.paid"]
    assert page["events"][0]["data"] == {"sku": "A1", "qty": 2}
    assert page["events"][1]["metadata"] == {"by": "rest", "$principal": "dev"}
    assert int(page["events"][0]["stream_version"]) == 0
    assert page["end_of_stream"] is True

    everything = await rest.get(
        "/v1/events", params={"from_position": result["first_position"], "max_count": 2}
    )
    assert [e["id"] for e in everything.json()["events"]] == result["event_ids"]


async def test_retry_over_rest_returns_the_original_result(rest: httpx.AsyncClient) -> None:
    stream = stream_name()
    body = {"events": [{"id": str(uuid.uuid4()), "type": "x.y", "data": {"a": 1}}]}
    first = await rest.post(f"/v1/streams/{stream}:append", json=body)
    again = await rest.post(f"/v1/streams/{stream}:append", json=body)
    assert first.json() == again.json()


async def test_conflict_is_409_with_the_code(rest: httpx.AsyncClient) -> None:
    stream = stream_name()
    body = {"expected_version": -1, "events": [{"type": "a.b", "data": {}}]}
    assert (await rest.post(f"/v1/streams/{stream}:append", json=body)).status_code == 200
    conflict = await rest.post(f"/v1/streams/{stream}:append", json=body)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("application/json")
    assert rest_reason(conflict.json()) == "E1005"


async def test_invalid_field_is_400_with_the_code(rest: httpx.AsyncClient) -> None:
    response = await rest.post(f"/v1/streams/{stream_name()}:append", json={"events": []})
    assert response.status_code == 400
    body = response.json()
    assert rest_reason(body) == "E1002"
    assert "events" in body["message"]


async def test_missing_token_is_401_with_the_code(rest: httpx.AsyncClient) -> None:
    response = await rest.get("/v1/events", headers={"authorization": ""})
    assert response.status_code == 401
    assert rest_reason(response.json()) == "E9401"  # the gateway refuses it, not the layer


@pytest.mark.parametrize(
    "payload",
    [
        b'{"events": [{"type": "a.b", "data": {}}',  # truncated JSON
        b"not json at all",
        b'{"events": [{"type": "a.b", "data": 5}]}',  # data must be an object
        b'{"events": "many"}',  # wrong type
        b'{"expected_version": "soon", "events": []}',
    ],
)
async def test_malformed_bodies_are_400_json_and_store_nothing(
    rest: httpx.AsyncClient, payload: bytes
) -> None:
    stream = stream_name()
    response = await rest.post(
        f"/v1/streams/{stream}:append",
        content=payload,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["message"]
    read = await rest.get(f"/v1/streams/{stream}/events")
    assert read.json()["events"] == []


async def test_unknown_body_fields_are_refused_and_store_nothing(
    rest: httpx.AsyncClient,
) -> None:
    """The JSON mapping refuses unknown fields (the transcoder alone would drop them)."""
    stream = stream_name()
    body = {"events": [{"type": "a.b", "data": {"k": 1}, "extra": True}]}
    response = await rest.post(f"/v1/streams/{stream}:append", json=body)
    assert response.status_code == 400
    assert rest_reason(response.json()) == "E9400"
    assert '"events[0].extra"' in response.json()["message"]
    assert (await rest.get(f"/v1/streams/{stream}/events")).json()["events"] == []


async def test_oversized_body_is_413(rest: httpx.AsyncClient) -> None:
    body = {"events": [{"type": "a.b", "data": {"blob": "z" * (9 * 1024 * 1024)}}]}
    response = await rest.post(f"/v1/streams/{stream_name()}:append", json=body)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")


async def test_unknown_path_is_404_json(rest: httpx.AsyncClient) -> None:
    response = await rest.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")


async def test_subscribe_streams_ndjson(rest: httpx.AsyncClient) -> None:
    stream = stream_name()
    appended = await rest.post(
        f"/v1/streams/{stream}:append",
        json={"events": [{"type": "nd.json", "data": {"i": i}} for i in range(3)]},
    )
    first = appended.json()["first_position"]
    lines = []
    async with rest.stream(
        "GET", "/v1/events:subscribe", params={"from_position": first, "type_prefix": "nd.json"}
    ) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.strip():
                lines.append(json.loads(line))
            if len(lines) == 4:
                break
    events = [m["event"] for m in lines if "event" in m]
    assert [e["data"]["i"] for e in events[:3]] == [0, 1, 2]
