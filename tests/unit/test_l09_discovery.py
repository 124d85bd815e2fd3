"""The gateway's reflection pool, unknown-method answer and JSON codec, without a mesh."""

from __future__ import annotations

import json

import pytest
from google.rpc import code_pb2

from agentic.data.v1.event_store_pb2 import ReadAllRequest, ReadAllResponse
from services.kit import error_info
from services.l09_gateway import descriptor
from services.l09_gateway.json_codec import JsonMethod, MalformedJson, forwarded, json_methods
from services.l09_gateway.reflection import mesh_pool
from services.l09_gateway.unknown_method import describe, unknown_method_status

KNOWN = ["/agentic.data.v1.EventStoreService/ReadAll"]


def test_an_unknown_service_is_named_as_such() -> None:
    assert (
        describe("/x.v1.Nope/Get", KNOWN)
        == "unknown method /x.v1.Nope/Get: the mesh has no service x.v1.Nope"
    )


def test_an_unknown_method_of_a_known_service_names_both() -> None:
    text = describe("/agentic.data.v1.EventStoreService/Nope", KNOWN)
    assert text.endswith("agentic.data.v1.EventStoreService has no method Nope")


def test_a_path_that_is_no_method_path_says_so() -> None:
    assert "not a gRPC method path" in describe("/justone", KNOWN)


def test_the_status_is_unimplemented_with_the_gateway_code_first() -> None:
    status = unknown_method_status("/x.v1.Nope/Get", KNOWN)
    assert status.code == code_pb2.UNIMPLEMENTED
    assert status.message.startswith("E9404: ")
    info = error_info(status)
    assert info is not None
    assert (info.reason, info.domain, info.metadata["method"]) == (
        "E9404",
        "gateway.agentic",
        "/x.v1.Nope/Get",
    )


def test_the_pool_resolves_the_mesh_and_both_reflection_versions() -> None:
    pool = mesh_pool(descriptor.load().files)
    method = pool.FindMethodByName("agentic.data.v1.EventStoreService.AppendEvents")
    assert method.input_type.full_name == "agentic.data.v1.AppendEventsRequest"
    for version in ("v1", "v1alpha"):
        service = pool.FindServiceByName(f"grpc.reflection.{version}.ServerReflection")
        request = service.methods_by_name["ServerReflectionInfo"].input_type
        assert request.full_name == f"grpc.reflection.{version}.ServerReflectionRequest"
        assert request.fields_by_name["list_services"].number == 7


def _read_all() -> JsonMethod:
    surface = descriptor.load()
    methods = json_methods(surface.methods, mesh_pool(surface.files))
    return methods["/agentic.data.v1.EventStoreService/ReadAll"]


def test_the_json_codec_reads_both_field_name_forms() -> None:
    method = _read_all()
    for text in (b'{"max_count": 3}', b'{"maxCount": 3}'):
        assert ReadAllRequest.FromString(method.parse(text)).max_count == 3


def test_the_json_codec_refuses_a_wrong_type_naming_the_field() -> None:
    with pytest.raises(MalformedJson, match="max_count"):
        _read_all().parse(b'{"max_count": "many"}')


def test_the_json_codec_refuses_an_unknown_field() -> None:
    with pytest.raises(MalformedJson, match="no_such_field"):
        _read_all().parse(b'{"no_such_field": 1}')


def test_the_json_codec_prints_canonical_json() -> None:
    answer = ReadAllResponse(next_position=5).SerializeToString()
    assert json.loads(_read_all().print(answer)) == {"nextPosition": "5"}


def test_only_the_identity_the_gateway_set_is_forwarded() -> None:
    metadata = [
        ("authorization", "Bearer service"),
        ("x-agentic-principal", "ada"),
        ("x-request-id", "r1"),
        ("user-agent", "x"),
        ("x-envoy-original-path", "/a"),
    ]
    assert [key for key, _ in forwarded(metadata)] == [
        "authorization",
        "x-agentic-principal",
        "x-request-id",
    ]
