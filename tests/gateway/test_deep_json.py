"""JSON nested too deeply inside a request is bad input on every layer, never a 500.

Each RPC whose request can carry a ``google.protobuf.Struct`` (event data, documents, response
schemas, ...) is called with raw bytes nesting a Struct 30, 34, 64, 97, 98 and 1,000 levels
deep: straight to its layer and through Envoy (gRPC), and a few through REST.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import descriptor, descriptor_pool

import agentic
from agentic.data.v1 import event_store_pb2 as events_pb2
from agentic.models.v1 import models_pb2
from services.kit import open_channel
from services.kit.json_depth import MAX_JSON_DEPTH, too_deep_field
from services.kit.layers import layer_for_package
from services.l09_gateway.descriptor import load as load_surface
from services.launcher.components import installed_layers
from tests.support import DEV_TOKEN, platform_code, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l09]

DEPTHS = (30, 32, 33, 34, 64, 97, 98, 1000)
TOO_DEEP = f"JSON nested deeper than the mesh allows ({MAX_JSON_DEPTH} levels)"
UNKNOWN, INTERNAL = grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL
STRUCT = "google.protobuf.Struct"


def _import_generated() -> None:
    for module in pkgutil.walk_packages(agentic.__path__, "agentic."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)


def _struct_path(message: descriptor.Descriptor, seen: frozenset[str] = frozenset()) -> list[int]:
    """Field numbers from ``message`` down to its first Struct field ([] if it has none)."""
    for field in message.fields:
        if field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        if field.message_type.full_name == STRUCT:
            return [field.number]
        if field.message_type.full_name in seen or field.message_type.full_name.startswith(
            "google."
        ):
            continue
        below = _struct_path(field.message_type, seen | {message.full_name})
        if below:
            return [field.number, *below]
    return []


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def nested_struct(depth: int) -> bytes:
    """A Struct ``{"a": {"a": ... {}}}`` of ``depth`` JSON levels, encoded by hand (the
    Python runtime refuses to build the deepest ones)."""
    struct = b""
    for _ in range(depth - 1):
        value = _length_delimited(5, struct)  # Value.struct_value
        entry = _length_delimited(1, b"a") + _length_delimited(2, value)
        struct = _length_delimited(1, entry)  # Struct.fields
    return struct


def request_bytes(path: list[int], depth: int) -> bytes:
    payload = nested_struct(depth)
    for number in reversed(path):
        payload = _length_delimited(number, payload)
    return payload


def struct_methods() -> Iterator[tuple[str, str, list[int]]]:
    _import_generated()
    running = {layer.name for layer in installed_layers()}
    pool = descriptor_pool.Default()
    for method in load_surface().methods:
        layer = layer_for_package(method.package)
        if method.client_streaming or layer.name not in running:
            continue
        path = _struct_path(pool.FindMessageTypeByName(method.input_type))
        if path:
            yield method.path, method.package, path


METHODS = sorted(struct_methods())


def test_struct_carrying_rpcs_are_found() -> None:
    paths = [path for path, _, _ in METHODS]
    assert "/agentic.data.v1.EventStoreService/AppendEvents" in paths
    assert "/agentic.models.v1.ModelService/Generate" in paths


async def _call(
    target: str, path: str, body: bytes, streaming: bool
) -> grpc.aio.AioRpcError | None:
    async with open_channel(target, token=DEV_TOKEN, timeout=20) as channel:
        try:
            if streaming:
                call = channel.unary_stream(path)(body)
                async for _ in call:
                    break
                call.cancel()
            else:
                await channel.unary_unary(path)(body)
        except grpc.aio.AioRpcError as error:
            return error
    return None


@pytest.mark.parametrize("via", ["layer", "envoy"])
@pytest.mark.parametrize(("path", "package", "fields"), METHODS, ids=[m[0] for m in METHODS])
async def test_deep_json_is_invalid_argument_with_the_layers_code(
    mesh, via: str, path: str, package: str, fields: list[int]
) -> None:
    layer = layer_for_package(package)
    target = mesh.mesh.layer_target(layer.name) if via == "layer" else mesh.gateway_target
    streaming = path.endswith(("/Subscribe", "/StreamGenerate")) or "Stream" in path.rsplit("/")[-1]
    for depth in DEPTHS:
        error = await _call(target, path, request_bytes(fields, depth), streaming)
        refused = error is not None and TOO_DEEP in (error.details() or "")
        if depth <= MAX_JSON_DEPTH:
            # Within the limit the request decodes; whatever the layer thinks of it, it is
            # neither a depth refusal nor a crash.
            assert not refused, (depth, error)
            assert error is None or error.code() not in (UNKNOWN, INTERNAL), (depth, error)
            continue
        assert refused, (depth, error)
        assert error is not None and error.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert int(platform_code(error)[1:]) in layer.error_range


def test_the_limit_is_exact_at_its_edge() -> None:
    """32 levels of objects pass, 33 do not, wherever the JSON field sits in its request."""
    event = events_pb2.AppendEventsRequest
    for depth, expected in ((32, None), (33, "events[1].data")):
        request = event(stream_id="s", events=[{"type": "a"}, {"type": "b"}])
        request.events[1].data.update(_nested(depth))
        assert too_deep_field(request, request.SerializeToString()) == expected
    generate = models_pb2.GenerateRequest()
    generate.response_schema.update({"type": "object", "properties": _nested(MAX_JSON_DEPTH)})
    assert too_deep_field(generate, generate.SerializeToString()) == "response_schema"


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [33, 34, 64, 97])
async def test_deep_json_through_rest_is_a_400_with_the_code(rest, depth: int) -> None:
    appended = await rest.post(
        "/v1/streams/deep-json:append", json={"events": [{"type": "t", "data": _nested(depth)}]}
    )
    assert appended.status_code == 400, appended.text
    assert rest_reason(appended.json()) == "E1002"
    message = appended.json()["message"]
    assert message.startswith("E1002: ") and message.endswith(TOO_DEEP), message
    document = await rest.put("/v1/collections/deep/documents/d1", json=_nested(depth))
    assert document.status_code == 400
    assert rest_reason(document.json()) == "E1002"
    generate = await rest.post(
        "/v1/models:generate",
        json={"messages": [{"role": "user", "content": "hi"}], "response_schema": _nested(depth)},
    )
    assert generate.status_code == 400
    assert rest_reason(generate.json()) == "E4002"


async def test_json_at_the_limit_is_stored_and_read_back_through_rest(rest) -> None:
    assert (await rest.get("/v1/streams/deep-json")).status_code == 404  # nothing refused stored
    stored = await rest.put("/v1/collections/deep/documents/d2", json=_nested(MAX_JSON_DEPTH))
    assert stored.status_code == 200, stored.text
    read = await rest.get("/v1/collections/deep/documents/d2")
    assert read.status_code == 200 and read.json()["document"]["content"] == _nested(MAX_JSON_DEPTH)
