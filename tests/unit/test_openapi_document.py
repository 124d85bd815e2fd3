"""The OpenAPI document built from the descriptor set, checked without a mesh."""

import pytest
from openapi_spec_validator import validate

from services.kit.layers import launched_layers
from services.l09_gateway import descriptor
from services.l09_gateway.openapi import openapi_document
from services.l09_gateway.openapi.paths import expand

pytestmark = pytest.mark.unit

SURFACE = descriptor.load()
DOCUMENT = openapi_document(SURFACE)


def _operations() -> dict[str, dict]:
    return {
        operation["x-grpc-method"]: operation
        for methods in DOCUMENT["paths"].values()
        for operation in methods.values()
        if "x-grpc-method" in operation
    }


def test_the_document_is_valid_openapi_3() -> None:
    validate(DOCUMENT)


def test_every_http_binding_of_every_launched_layer_is_an_operation() -> None:
    launched = {layer.package for layer in launched_layers()}
    bindings = [
        (method.rpc, binding)
        for method in SURFACE.methods
        if method.package in launched
        for binding in method.http
    ]
    operations = _operations()
    assert len(bindings) > 90
    for rpc, binding in bindings:
        path = expand(binding.template).path
        assert DOCUMENT["paths"][path][binding.verb]["x-grpc-method"] == rpc
    assert "agentic.data.v1.DocumentService/GetDocument" in operations
    assert "agentic.data.v1.DocumentService/DeleteDocument" in operations


def test_a_resource_name_template_keeps_its_fixed_segments() -> None:
    path = expand("/v1/{name=agents/*/runs/*}")
    assert path.path == "/v1/agents/{agent}/runs/{run}"
    assert [(p.name, p.field) for p in path.parameters] == [("agent", "name"), ("run", "name")]
    assert expand("/v1/{parent=vectorCollections/*}/vectors/{id}").path == (
        "/v1/vectorCollections/{vector_collection}/vectors/{id}"
    )
    assert "/v1/collections/{collection}/documents/{document}" in DOCUMENT["paths"]
    assert "/v1/vectorCollections/{vector_collection}" in DOCUMENT["paths"]


def test_a_template_spanning_segments_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\*\*"):
        expand("/v1/{name=files/**}")


def test_two_rpcs_on_one_path_and_verb_make_the_document_fail() -> None:
    method = next(m for m in SURFACE.methods if m.name == "GetDocument")
    clash = type(method)(**{**method.__dict__, "name": "GetDocumentAgain"})
    surface = type(SURFACE)(SURFACE.files, (*SURFACE.methods, clash))
    with pytest.raises(ValueError, match=r"GetDocument and .*GetDocumentAgain"):
        openapi_document(surface)


def test_every_operation_describes_its_errors_as_a_status_with_an_e_code() -> None:
    for operation in _operations().values():
        for status in ("400", "401", "403", "429", "500", "503", "504"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/google.rpc.Status"}
    status = DOCUMENT["components"]["schemas"]["google.rpc.Status"]
    assert status["properties"]["details"]["items"]["properties"]["reason"]["pattern"]
    append = _operations()["agentic.data.v1.EventStoreService/AppendEvents"]
    assert {"404", "409", "413"} <= set(append["responses"])


def test_json_mapping_formats_of_64_bit_integers_bytes_and_well_known_types() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    event = schemas["common.v1.Event"]["properties"]
    assert event["global_position"]["type"] == "string"
    assert event["global_position"]["format"] == "int64"
    assert event["recorded_at"]["format"] == "date-time"
    read = _operations()["agentic.data.v1.EventStoreService/ReadStream"]
    count = next(p for p in read["parameters"] if p["name"] == "max_count")["schema"]
    assert (count["minimum"], count["maximum"]) == (0, 1000)


def test_values_only_a_layer_can_judge_are_marked_and_listed_per_operation() -> None:
    operation = _operations()["agentic.secrets.v1.SecretService/ListSecrets"]
    token = next(p for p in operation["parameters"] if p["name"] == "page_token")
    assert "earlier page" in token["schema"]["x-service-checked"]
    assert operation["x-service-checked"] == ["page_token"]
    append = _operations()["agentic.data.v1.EventStoreService/AppendEvents"]
    assert append["x-service-checked"] == ["events.data", "events.metadata"]


def test_a_oneof_refuses_two_members_at_once() -> None:
    add = _operations()["agentic.secrets.v1.SecretService/AddSecretVersion"]
    body = add["requestBody"]["content"]["application/json"]["schema"]
    assert body["not"] == {"anyOf": [{"required": ["value", "binary_value"]}]}
