"""The REST guard's Lua (services/l09_gateway/native/rest_guard.lua) with the tables
render/rest_guard.py builds from the real descriptor set, request by request.

It runs in LuaJIT as in Envoy, against a stub of the handle Envoy gives it, in the loader of
tests/gateway/lua/envoy_handle.lua that refuses undefined globals. The same script runs in the
real Envoy in test_strict_rest.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lupa import luajit21

from services.l09_gateway import descriptor
from services.l09_gateway.render import rest_guard

pytestmark = [pytest.mark.unit, pytest.mark.l09]

LUA_TESTS = Path(__file__).parent / "lua"
SURFACE = descriptor.load()

# What the guard reads and calls on Envoy's handle: headers, the buffered body, respond().
_HANDLE = """
return function(headers, body)
  local handle = {}
  local map = {}
  function map:get(name) return headers[name] end
  function handle:headers() return map end
  function handle:body()
    if body == nil then return nil end
    local buffer = {}
    function buffer:length() return #body end
    function buffer:getBytes(start, length) return body:sub(start + 1, start + length) end
    return buffer
  end
  function handle:respond(response_headers, response_body)
    handle.status = response_headers[":status"]
    handle.allow = response_headers["allow"]
    handle.message = response_body
  end
  return handle
end
"""


@dataclass
class Answer:
    status: str | None  # None: passed on to the transcoder
    allow: str | None
    message: str | None


class Guard:
    def __init__(self) -> None:
        self._lua = luajit21.LuaRuntime(unpack_returned_tuples=True)
        stub = self._lua.execute((LUA_TESTS / "envoy_handle.lua").read_text())
        self._script = stub.load(rest_guard.source(SURFACE), "rest_guard")
        self._handle = self._lua.execute(_HANDLE)

    def request(
        self,
        verb: str,
        path: str,
        body: str | bytes | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        headers = self._lua.table_from(
            {":method": verb, ":path": path, "content-type": content_type}
        )
        if isinstance(body, bytes):
            body = body.decode()
        handle = self._handle(headers, body)
        self._script.envoy_on_request(handle)
        return Answer(handle.status, handle.allow, handle.message)

    def post(self, path: str, value: Any) -> Answer:
        return self.request("POST", path, json.dumps(value))


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard()


APPEND = "/v1/streams/s-1:append"
DATA = "agentic.data.v1"


def test_an_object_for_a_repeated_field_is_refused_naming_it(guard: Guard) -> None:
    answer = guard.post(APPEND, {"events": {"type": "a.b", "data": {}}})
    assert answer.status == "400"
    assert answer.message is not None and '"events"' in answer.message
    assert "JSON array" in answer.message and "an object" in answer.message


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/vectorCollections/c/vectors:search", {"vector": 0.5, "top_k": 1}, "vector"),
        ("/v1/vectorCollections/c/vectors:delete", {"ids": "v1"}, "ids"),
        ("/v1/vectorCollections/c/vectors:delete", {"ids": True}, "ids"),
    ],
)
def test_a_single_value_for_a_repeated_scalar_is_refused(
    guard: Guard, path: str, body: dict[str, Any], field: str
) -> None:
    answer = guard.post(path, body)
    if answer.status is None:  # the path is not a binding: the test itself is wrong
        pytest.fail(f"{path} passed unchecked")
    assert answer.status == "400"
    assert f'"{field}"' in (answer.message or "")


def test_a_nested_list_is_checked_inside_list_elements(guard: Guard) -> None:
    body = {"vectors": [{"id": "a", "values": 1.0}]}
    answer = guard.post("/v1/vectorCollections/c/vectors:upsert", body)
    assert answer.status == "400"
    assert '"vectors[0].values"' in (answer.message or "")


@pytest.mark.parametrize(
    "body",
    [
        '{"events": [{"type": "a.b", "data": {}}], "events": [{"type": "a.c", "data": {}}]}',
        '{"events": [{"type": "a.b", "data": {"k": 1, "k": 2}}]}',
        '{"expectedVersion": -1, "expected_version": 2, "events": []}',
    ],
)
def test_a_key_given_twice_is_refused_naming_it(guard: Guard, body: str) -> None:
    answer = guard.request("POST", APPEND, body)
    assert answer.status == "400"
    assert "twice" in (answer.message or "")


def test_the_path_of_a_duplicate_key_is_named(guard: Guard) -> None:
    body = '{"events": [{"type": "a"}, {"type": "a.b", "data": {"x": {"k": 1, "k": 2}}}]}'
    answer = guard.request("POST", APPEND, body)
    assert answer.message == 'body key "events[1].data.x.k" appears twice'


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"surprise": 1, "events": []}, f'"surprise" is not a field of {DATA}.AppendEventsRequest'),
        (
            {"events": [{"type": "a", "extra": 1}]},
            f'"events[0].extra" is not a field of {DATA}.NewEvent',
        ),
    ],
)
def test_a_key_that_is_no_field_of_the_message_is_refused(
    guard: Guard, body: dict[str, Any], named: str
) -> None:
    answer = guard.post(APPEND, body)
    assert answer.status == "400"
    assert answer.message == f"body field {named}"


def test_fields_may_be_spelt_as_in_the_proto_or_in_json(guard: Guard) -> None:
    assert guard.post(APPEND, {"streamId": "s", "expectedVersion": 1, "events": []}).status is None
    assert (
        guard.post(APPEND, {"stream_id": "s", "expected_version": 1, "events": []}).status is None
    )


def test_a_map_key_given_twice_is_refused(guard: Guard) -> None:
    answer = guard.request("POST", "/v1/secrets", '{"name": "s", "labels": {"a": "1", "a": "2"}}')
    assert answer.status == "400"
    assert '"labels.a"' in (answer.message or "")


def test_a_body_field_binding_is_checked_from_that_field(guard: Guard) -> None:
    """PUT a document: the body is the ``content`` field, a Struct (any JSON, no duplicates)."""
    path = "/v1/collections/c/documents/d"
    assert guard.request("PUT", path, '{"a": [1, {"b": 2}], "c": {}}').status is None
    assert guard.request("PUT", path, '{"a": 1, "a": 1}').status == "400"


@pytest.mark.parametrize(
    "body",
    [
        {"events": [{"type": "a.b", "data": {"k": [1, {"k": 2}], "s": 'a"b'}}]},
        {"events": None},
        {"events": [], "expected_version": -1},
        {"events": [{"type": "a.b", "data": {"events": {"one": 1}}}]},  # a Struct is free
    ],
)
def test_well_formed_bodies_pass(guard: Guard, body: dict[str, Any]) -> None:
    assert guard.post(APPEND, body).status is None


@pytest.mark.parametrize(
    "body",
    ["{not json", '{"events": [', '{"events": [] } trailing', "", '"just a string"'],
)
def test_malformed_json_is_left_to_the_transcoder(guard: Guard, body: str) -> None:
    assert guard.request("POST", APPEND, body).status is None


def test_very_deep_bodies_are_left_to_the_transcoder(guard: Guard) -> None:
    deep = '{"events": [{"type": "a", "data": {"k": ' + "[" * 10_000 + "]" * 10_000 + "}}]}"
    assert guard.request("POST", APPEND, deep).status is None


def test_escaped_quotes_in_keys_and_strings_do_not_confuse_the_scan(guard: Guard) -> None:
    body = '{"events": [{"type": "a\\\\", "data": {"k\\"": 1, "k": "\\"k\\": 2"}}]}'
    assert guard.request("POST", APPEND, body).status is None


def test_a_known_path_with_another_method_is_405_with_allow(guard: Guard) -> None:
    answer = guard.request("PUT", "/v1/streams/s-1?x=1")
    assert answer.status == "405"
    assert answer.allow == "DELETE, GET"
    assert answer.message == "PUT is not allowed on /v1/streams/s-1; it takes DELETE, GET"


def test_a_custom_verb_path_matches_only_templates_with_that_verb(guard: Guard) -> None:
    """As the transcoder reads it: "/v1/streams/s:append" is not "/v1/streams/{stream_id}"."""
    answer = guard.request("GET", "/v1/streams/s-1:append")
    assert (answer.status, answer.allow) == ("405", "POST")
    # An id with a colon that is no custom verb is still one segment.
    assert guard.request("GET", "/v1/streams/s:1").status is None


def test_unknown_paths_grpc_and_preflights_pass(guard: Guard) -> None:
    assert guard.request("GET", "/v1/nothing-here").status is None
    grpc = guard.request(
        "POST", "/agentic.data.v1.EventStoreService/ReadAll", "\x00", "application/grpc"
    )
    assert grpc.status is None
    assert guard.request("OPTIONS", "/v1/events").status is None


def _sample_path(template: str) -> str:
    """A path the template matches: each variable's segments filled in."""

    def fill(found: re.Match[str]) -> str:
        segments = found.group(1) or "*"
        return segments.replace("**", "x/y").replace("*", "x")

    return re.sub(r"\{[^}=]+(?:=([^}]*))?\}", fill, template)


def test_every_binding_passes_with_its_own_method() -> None:
    """No false 405: each binding's own verb and a path of its template go through."""
    guard = Guard()
    bindings = [(b.verb.upper(), b.template) for m in SURFACE.methods for b in m.http]
    assert bindings
    for verb, template in bindings:
        answer = guard.request(verb, _sample_path(template))
        assert answer.status != "405", (verb, template, answer)


@pytest.mark.parametrize(
    ("template", "matches", "misses"),
    [
        ("/v1/streams/{stream_id}:append", "/v1/streams/a-b:append", "/v1/streams/a/b:append"),
        ("/v1/{name=vectorCollections/*}", "/v1/vectorCollections/c", "/v1/vectorCollections"),
        ("/v1/{name=docs/**}", "/v1/docs/a/b/c", "/v1/other/a"),
        ("/v1/models:generate", "/v1/models:generate", "/v1/modelsXgenerate"),
    ],
)
def test_templates_become_lua_patterns(template: str, matches: str, misses: str) -> None:
    lua = luajit21.LuaRuntime()
    find = lua.eval("function(s, p) return string.find(s, p) ~= nil end")
    pattern = rest_guard.lua_pattern(template)
    assert find(matches, pattern)
    assert not find(misses, pattern)
