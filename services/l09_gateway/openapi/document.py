"""The document: one operation per HTTP binding of every platform RPC, and ``/health``.

Server-streaming methods answer newline-delimited JSON, one message a line, and are marked
``x-streaming: true``. Two bindings that would give one path and verb make the document
ambiguous (the transcoder routes such a request to one method only), so building it fails
naming both RPCs: the proto's bindings must change.
"""

from __future__ import annotations

from typing import Any

from services.kit.layers import layer_for_package
from services.l09_gateway.descriptor import HttpBinding, Method, Surface
from services.l09_gateway.openapi import constraints
from services.l09_gateway.openapi.errors import STATUS_COMPONENT, STATUS_SCHEMA, error_responses
from services.l09_gateway.openapi.paths import OpenApiPath, PathParameter, expand, shape
from services.l09_gateway.openapi.schemas import MessageSchemas, Schema

# Envoy labels a stream application/json; its body is one JSON message a line (NDJSON).
STREAM_MEDIA_TYPE = "application/json"


def _path_parameter(schemas: MessageSchemas, method: Method, parameter: PathParameter) -> Schema:
    # The field's own constraints, else the segment's, else any one segment.
    schema: Schema = {"type": "string", "pattern": constraints.SEGMENT_PATTERN}
    schema.update(constraints.SEGMENTS.get(parameter.name, {}))
    if parameter.whole:
        field = next(f for f in schemas.fields(method.input_type) if f.name == parameter.field)
        schema.update(schemas.field(method.input_type, field))
        schema.pop("readOnly", None)
    schema["not"] = {"pattern": constraints.RESERVED_IN_PATH}
    return {
        "name": parameter.name,
        "in": "path",
        "required": True,
        "schema": schema,
        "x-proto-field": parameter.field,
    }


def _query_parameters(
    schemas: MessageSchemas, method: Method, skip: frozenset[str]
) -> list[Schema]:
    """Every request field neither the path nor the body carries. The transcoder would take a
    message field as dotted names (``a.b=``); no GET or DELETE request of today has one."""
    found = []
    for field in schemas.fields(method.input_type):
        if field.name in skip:
            continue
        parameter: Schema = {
            "name": field.name,
            "in": "query",
            "schema": schemas.field(method.input_type, field),
        }
        if schemas.is_required(method.input_type, field):
            parameter["required"] = True
        found.append(parameter)
    return found


def _request_body(
    schemas: MessageSchemas, method: Method, binding: HttpBinding, path: OpenApiPath
) -> Schema:
    if binding.body == "*":
        body = schemas.message(method.input_type, exclude=path.fields)
    else:
        field = next(f for f in schemas.fields(method.input_type) if f.name == binding.body)
        body = schemas.field(method.input_type, field)
    return {"required": True, "content": {"application/json": {"schema": body}}}


def _operation(
    schemas: MessageSchemas, method: Method, binding: HttpBinding, path: OpenApiPath
) -> Schema:
    parameters = [_path_parameter(schemas, method, p) for p in path.parameters]
    operation: Schema = {
        "operationId": f"{method.service.rsplit('.', 1)[-1]}_{method.name}",
        "summary": method.comment.split("\n", 1)[0],
        "description": method.comment,
        "tags": [method.service.rsplit(".", 1)[-1]],
        "x-grpc-method": method.rpc,
    }
    checked = schemas.service_checked_paths(method.input_type)
    if checked:
        # A 400 naming one of these is the layer's verdict on a value no schema can judge.
        operation["x-service-checked"] = checked
    if binding.body:
        operation["requestBody"] = _request_body(schemas, method, binding, path)
    if binding.body != "*":
        parameters += _query_parameters(schemas, method, path.fields | {binding.body})
    if parameters:
        operation["parameters"] = parameters
    media_type = "application/json"
    if method.server_streaming:
        operation["x-streaming"] = True
        media_type = STREAM_MEDIA_TYPE
    output = schemas.message(method.output_type)
    operation["responses"] = {
        "200": {"description": "OK", "content": {media_type: {"schema": output}}},
        **error_responses(
            layer_for_package(method.package),
            has_body=bool(binding.body),
            names_a_resource=bool(path.parameters),
            mutates=binding.verb != "get",
        ),
    }
    return operation


_HEALTH = {
    "get": {
        "operationId": "Gateway_Health",
        "summary": "Whether every layer serves (200) or not (503). No credentials needed.",
        "tags": ["Gateway"],
        "security": [],
        "responses": {
            "200": {
                "description": "every layer serves",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "503": {
                "description": "a layer does not",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
        },
    }
}


def openapi_document(surface: Surface) -> dict[str, Any]:
    schemas = MessageSchemas(
        surface, constraints.FIELDS, constraints.REQUIRED, constraints.SERVICE_CHECKED
    )
    paths: dict[str, dict[str, Any]] = {"/health": _HEALTH}
    shapes: dict[str, str] = {}
    owners: dict[tuple[str, str], str] = {}
    for method in surface.methods:
        for binding in method.http:
            path = expand(binding.template)
            same_shape = shapes.setdefault(shape(path.path), path.path)
            if same_shape != path.path:
                raise ValueError(f"{path.path} ({method.rpc}) and {same_shape} are one path")
            owner = owners.setdefault((path.path, binding.verb), method.rpc)
            if owner != method.rpc:
                raise ValueError(f"{binding.verb.upper()} {path.path}: {owner} and {method.rpc}")
            paths.setdefault(path.path, {})[binding.verb] = _operation(
                schemas, method, binding, path
            )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Agentic platform mesh",
            "version": "v1",
            "description": "REST/JSON surface of the L09 gateway, generated from the protos. "
            "Errors are google.rpc.Status JSON with the platform code (E-code) in a "
            "google.rpc.ErrorInfo detail.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(
                sorted({**schemas.components, STATUS_COMPONENT: STATUS_SCHEMA}.items())
            ),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API key or JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }
