"""The strict REST surface through the real gateway: bodies the JSON mapping does not allow,
unknown query parameters, wrong methods, huge headers, CORS origins, and every gateway message
starting with its E-code."""

from __future__ import annotations

import asyncio
import json

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc
from services.l09_gateway import descriptor
from tests.support import rest_reason, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l09, pytest.mark.l01]

ONE_EVENT = {"type": "strict.test", "data": {"k": 1}}
EVENT_JSON = json.dumps(ONE_EVENT)


async def _events_in_l01(channel: grpc.aio.Channel, stream: str) -> list[pb.RecordedEvent]:
    """Read straight from L01, not through the gateway under test."""
    stub = event_store_pb2_grpc.EventStoreServiceStub(channel)
    answer = await stub.ReadStream(pb.ReadStreamRequest(stream_id=stream, max_count=10))
    return list(answer.events)


def _assert_gateway_error(response: httpx.Response, status: int, reason: str) -> str:
    """The google.rpc.Status JSON of a gateway refusal; returns its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert rest_reason(body) == reason
    assert body["details"][0]["domain"] == "gateway.agentic"
    message: str = body["message"]
    assert message.startswith(f"{reason}: "), message
    return message


@pytest.mark.parametrize(
    ("body", "named"),
    [
        # An object where the JSON mapping wants an array: the transcoder took it as one event.
        (json.dumps({"events": ONE_EVENT}), '"events"'),
        # The key twice: the transcoder appended both arrays.
        (f'{{"events": [{EVENT_JSON}], "events": [{EVENT_JSON}]}}', '"events"'),
        # Twice inside event data (a Struct): the transcoder kept one of them.
        ('{"events": [{"type": "a.b", "data": {"k": 1, "k": 2}}]}', '"events[0].data.k"'),
    ],
)  # fmt: skip
async def test_bodies_the_json_mapping_does_not_allow_are_400_and_append_nothing(
    rest: httpx.AsyncClient, l01_channel: grpc.aio.Channel, body: str, named: str
) -> None:
    stream = stream_name("strict")
    response = await rest.post(
        f"/v1/streams/{stream}:append",
        content=body,
        headers={"content-type": "application/json"},
    )
    message = _assert_gateway_error(response, 400, "E9400")
    assert named in message
    assert await _events_in_l01(l01_channel, stream) == []


async def test_the_same_events_as_an_array_with_each_key_once_are_appended(
    rest: httpx.AsyncClient, l01_channel: grpc.aio.Channel
) -> None:
    """The control: the guard refuses the shape, not the content."""
    stream = stream_name("strict")
    response = await rest.post(f"/v1/streams/{stream}:append", json={"events": [ONE_EVENT]})
    assert response.status_code == 200, response.text
    assert [e.type for e in await _events_in_l01(l01_channel, stream)] == ["strict.test"]


async def test_an_unknown_query_parameter_is_400_naming_it(rest: httpx.AsyncClient) -> None:
    response = await rest.get("/v1/events", params={"max_count": 1, "maxCuont": 5})
    message = _assert_gateway_error(response, 400, "E9400")
    assert '"maxCuont"' in message
    # The known ones still work.
    assert (await rest.get("/v1/events", params={"max_count": 1})).status_code == 200


def _verbs_of(template: str) -> str:
    surface = descriptor.load()
    verbs = {b.verb.upper() for m in surface.methods for b in m.http if b.template == template}
    return ", ".join(sorted(verbs))


@pytest.mark.parametrize(
    ("verb", "path", "template"),
    [
        ("PUT", "/v1/streams/s-1", "/v1/streams/{stream_id}"),
        ("DELETE", "/v1/events", "/v1/events"),
        ("GET", "/v1/streams/s-1:append", "/v1/streams/{stream_id}:append"),
    ],
)
async def test_a_known_path_with_another_method_is_405_with_allow(
    rest: httpx.AsyncClient, verb: str, path: str, template: str
) -> None:
    response = await rest.request(verb, path, params={"x": "1"})
    message = _assert_gateway_error(response, 405, "E9405")
    allow = _verbs_of(template)
    assert allow and response.headers["allow"] == allow
    assert path in message and verb in message


async def test_a_70_kb_header_is_431_a_client_error_with_its_own_code(
    rest: httpx.AsyncClient,
) -> None:
    response = await rest.get("/v1/events", headers={"x-big": "a" * 70_000})
    message = _assert_gateway_error(response, 431, "E9431")
    assert response.json()["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "60 KiB" in message


@pytest.mark.parametrize(
    ("method", "path", "headers", "content", "status", "reason"),
    [
        ("GET", "/v1/nothing-here", {}, None, 404, "E9404"),
        ("POST", "/v1/streams/s:append", {}, b"{not json", 400, "E9400"),
        ("GET", "/v1/events", {"authorization": ""}, None, 401, "E9401"),
        ("GET", "/v1/events", {"authorization": "Bearer a.b.c"}, None, 401, "E9401"),
        ("PATCH", "/v1/events", {}, None, 405, "E9405"),
    ],
)
async def test_every_gateway_message_starts_with_its_code(
    rest: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    content: bytes | None,
    status: int,
    reason: str,
) -> None:
    response = await rest.request(method, path, headers=headers, content=content)
    _assert_gateway_error(response, status, reason)


async def test_an_unknown_path_names_the_method_and_path(rest: httpx.AsyncClient) -> None:
    response = await rest.get("/v1/nope", params={"q": "1"})
    assert _assert_gateway_error(response, 404, "E9404") == "E9404: no route for GET /v1/nope"


PREFLIGHT = {
    "access-control-request-method": "GET",
    "access-control-request-headers": "authorization",
}


@pytest.mark.parametrize(
    "origin", ["http://localhost:5173", "https://127.0.0.1", "http://[::1]:8080"]
)
async def test_a_development_mesh_allows_loopback_origins(
    rest: httpx.AsyncClient, origin: str
) -> None:
    preflight = await rest.options("/v1/events", headers={"origin": origin, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    actual = await rest.get("/v1/events", params={"max_count": 1}, headers={"origin": origin})
    assert actual.status_code == 200
    assert actual.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://localhost.evil.example", "null"]
)
async def test_other_origins_get_no_allow_origin(rest: httpx.AsyncClient, origin: str) -> None:
    preflight = await rest.options("/v1/events", headers={"origin": origin, **PREFLIGHT})
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 403 and rest_reason(preflight.json()) == "E9403"
    assert repr(origin) in preflight.json()["message"], "the refusal names the origin"
    actual = await rest.get("/v1/events", params={"max_count": 1}, headers={"origin": origin})
    assert actual.status_code == 200  # the call itself is not CORS's business
    assert "access-control-allow-origin" not in actual.headers


async def test_grpc_web_and_concurrent_rest_calls_still_pass_the_guard(
    rest: httpx.AsyncClient,
) -> None:
    """Many strict checks at once on one Envoy worker: each answered on its own."""
    stream = stream_name("strict")
    good = rest.post(f"/v1/streams/{stream}:append", json={"events": [ONE_EVENT]})
    bad = [rest.post(f"/v1/streams/{stream}:append", json={"events": ONE_EVENT}) for _ in range(10)]
    answers = await asyncio.gather(good, *bad)
    assert answers[0].status_code == 200
    assert {a.status_code for a in answers[1:]} == {400}
