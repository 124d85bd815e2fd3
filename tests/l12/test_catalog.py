"""The catalog through the gateway: every RPC of the descriptor set, paging, schemas, search
and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from services.kit.layers import layer_for_package
from tests.support import rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l12]

DESCRIPTOR_SET = Path(__file__).resolve().parents[2] / "gen" / "descriptor.binpb"
STREAMING = {
    (False, False): "STREAMING_KIND_UNARY",
    (False, True): "STREAMING_KIND_SERVER",
    (True, False): "STREAMING_KIND_CLIENT",
    (True, True): "STREAMING_KIND_BIDI",
}


def declared_rpcs() -> dict[str, tuple[str, descriptor_pb2.MethodDescriptorProto]]:
    """Every RPC of every platform package, read straight from the descriptor set."""
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    found = {}
    for file in files.file:
        if not file.package.startswith("agentic."):
            continue
        for service in file.service:
            for method in service.method:
                found[f"{file.package}.{service.name}.{method.name}"] = (file.package, method)
    return found


async def all_services(rest: httpx.AsyncClient, page_size: int) -> list[dict[str, Any]]:
    services, token = [], ""
    while True:
        reply = await rest.get("/v1/services", params={"page_size": page_size, "page_token": token})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        services += body["services"]
        token = body.get("next_page_token", "")
        if not token:
            return services


async def test_every_rpc_of_the_descriptor_set_is_in_the_catalog(
    rest: httpx.AsyncClient,
) -> None:
    declared = declared_rpcs()
    listed = await all_services(rest, page_size=2)
    assert len({s["name"] for s in listed}) == len(listed)  # pages neither overlap nor repeat
    described: dict[str, dict[str, Any]] = {}
    for service in listed:
        reply = await rest.get(f"/v1/services/{service['name']}")
        assert reply.status_code == 200, reply.text
        for method in reply.json()["service"]["methods"]:
            described[method["name"]] = method
    missing = sorted(set(declared) - set(described))
    assert not missing, f"RPCs missing from the catalog: {missing}"
    assert sorted(described) == sorted(declared)
    for name, (package, proto) in declared.items():
        method = described[name]
        assert method["layer"] == layer_for_package(package).name
        assert method["request_type"] == proto.input_type.lstrip(".")
        assert (
            method.get("streaming") == STREAMING[(proto.client_streaming, proto.server_streaming)]
        )
        rule = proto.options.Extensions[annotations_pb2.http]
        kind = rule.WhichOneof("pattern")
        if kind and kind != "custom":
            assert {"method": kind.upper(), "path": getattr(rule, kind)}.items() <= (
                method["http"][0].items()
            )
        assert method["request_schema"]["type"] == "object"


async def test_a_method_describes_its_schema_http_binding_and_error_codes(
    rest: httpx.AsyncClient,
) -> None:
    reply = await rest.get("/v1/services/agentic.data.v1.EventStoreService")
    methods = {m["name"].rsplit(".", 1)[1]: m for m in reply.json()["service"]["methods"]}
    append = methods["AppendEvents"]
    assert append["mutating"] is True
    assert append["http"] == [
        {"method": "POST", "path": "/v1/streams/{stream_id}:append", "body": "*"}
    ]
    events = append["request_schema"]["properties"]["events"]
    assert events["type"] == "array"
    assert "type" in events["items"]["properties"]
    assert methods["ReadStream"].get("mutating", False) is False
    assert methods["GetStream"]["error_codes"] == ["E1300"]
    assert set(methods["DeleteStream"]["error_codes"]) == {"E1301", "E1302"}
    assert methods["SubscribeAll"]["streaming"] == "STREAMING_KIND_SERVER"


async def test_an_unknown_service_is_not_found(rest: httpx.AsyncClient) -> None:
    reply = await rest.get("/v1/services/agentic.nothing.v1.NoService")
    assert reply.status_code == 404
    assert rest_reason(reply.json()) == "E12100"


async def test_search_finds_the_rpc_for_a_request_in_plain_words(
    rest: httpx.AsyncClient,
) -> None:
    reply = await rest.post(
        "/v1/services:search", json={"query": "add two events to the order stream", "limit": 3}
    )
    assert reply.status_code == 200, reply.text
    matches = reply.json()["matches"]
    assert len(matches) == 3
    assert matches[0]["method"] == "agentic.data.v1.EventStoreService.AppendEvents"
    assert matches[0]["score"] >= matches[1]["score"] >= matches[2]["score"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "x" * 2001}, "query"),
        ({"query": "read a stream", "limit": -1}, "limit"),
    ],
)
async def test_bad_search_input_names_the_field(
    rest: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    reply = await rest.post("/v1/services:search", json=body)
    assert reply.status_code == 400, reply.text
    assert rest_reason(reply.json()) == "E12002"
    assert field in reply.json()["message"]


async def test_a_search_of_the_wrong_type_is_refused(rest: httpx.AsyncClient) -> None:
    reply = await rest.post("/v1/services:search", json={"query": {"not": "text"}})
    assert reply.status_code == 400


async def test_a_page_size_bigger_than_the_catalog_returns_one_page(
    rest: httpx.AsyncClient,
) -> None:
    reply = await rest.get("/v1/services", params={"page_size": 1000})
    body = reply.json()
    assert body.get("next_page_token", "") == ""
    assert len(body["services"]) == body["total_size"]
    bad = await rest.get("/v1/services", params={"page_token": "nonsense"})
    assert bad.status_code == 400
    assert rest_reason(bad.json()) == "E12002"
