"""The gateway's reflection pool and its unknown-method answer, without a mesh."""

from __future__ import annotations

from google.rpc import code_pb2

from services.kit import error_info
from services.l09_gateway import descriptor
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
