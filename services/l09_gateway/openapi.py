"""An OpenAPI 3 document of the REST surface, from the descriptor set's google.api.http rules.

Field names are the proto names (the gateway prints them so), 64-bit integers are strings
(proto3 JSON), and well-known types have their JSON forms. Server-streaming methods answer
newline-delimited JSON and are marked ``x-streaming: true``.
"""

from __future__ import annotations

import re
from typing import Any, TypeAlias

from google.protobuf import descriptor_pb2

from services.l09_gateway.descriptor import HttpBinding, Method, Surface

FieldProto: TypeAlias = descriptor_pb2.FieldDescriptorProto

_SCALARS: dict[int, dict[str, Any]] = {
    FieldProto.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldProto.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldProto.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldProto.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldProto.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldProto.TYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0},
    FieldProto.TYPE_FIXED32: {"type": "integer", "format": "int32", "minimum": 0},
    FieldProto.TYPE_INT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldProto.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldProto.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldProto.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldProto.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldProto.TYPE_BOOL: {"type": "boolean"},
    FieldProto.TYPE_STRING: {"type": "string"},
    FieldProto.TYPE_BYTES: {"type": "string", "format": "byte"},
}

_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {"type": "object", "additionalProperties": True},
    "google.protobuf.DoubleValue": {"type": "number"},
    "google.protobuf.FloatValue": {"type": "number"},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.UInt32Value": {"type": "integer", "format": "int32", "minimum": 0},
    "google.protobuf.Int64Value": {"type": "string", "format": "int64"},
    "google.protobuf.UInt64Value": {"type": "string", "format": "uint64"},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte"},
}

_STATUS = {
    "type": "object",
    "description": "google.rpc.Status: the gRPC code, a message, and details such as "
    "google.rpc.ErrorInfo whose reason is the platform code (E1xxx ... E9xxx).",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
    },
}

_VARIABLE = re.compile(r"\{([^}=]+)(?:=[^}]*)?\}")


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


class _Schemas:
    """Collects a component schema for every message reached from the methods."""

    def __init__(self, surface: Surface) -> None:
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, list[str]] = {}
        for file in surface.files.file:
            self._index(file.package, file.message_type, file.enum_type)
        self.comments = surface.message_comments()
        self.components: dict[str, Any] = {"google.rpc.Status": _STATUS}

    def _index(self, prefix: str, messages: Any, enums: Any) -> None:
        for enum in enums:
            self.enums[f"{prefix}.{enum.name}"] = [value.name for value in enum.value]
        for message in messages:
            name = f"{prefix}.{message.name}"
            self.messages[name] = message
            self._index(name, message.nested_type, message.enum_type)

    def field(self, field: FieldProto) -> dict[str, Any]:
        type_name = field.type_name.lstrip(".")
        if field.type == FieldProto.TYPE_MESSAGE:
            entry = self.messages.get(type_name)
            if entry is not None and entry.options.map_entry:
                return {"type": "object", "additionalProperties": self.field(entry.field[1])}
            schema = self.message(type_name)
        elif field.type == FieldProto.TYPE_ENUM:
            schema = {"type": "string", "enum": self.enums.get(type_name, [])}
        else:
            schema = dict(_SCALARS[field.type])
        if field.label == FieldProto.LABEL_REPEATED:
            return {"type": "array", "items": schema}
        return schema

    def message(self, name: str, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
        if name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[name])
        if not exclude:
            if name not in self.components:
                self.components[name] = {}  # placeholder: recursive messages terminate
                self.components[name] = self._object(name, exclude)
            return _ref(name)
        return self._object(name, exclude)

    def _object(self, name: str, exclude: frozenset[str]) -> dict[str, Any]:
        properties = {}
        for field in self.messages[name].field:
            if field.name in exclude:
                continue
            schema = self.field(field)
            comment = self.comments.get(f"{name}.{field.name}")
            if comment and "$ref" not in schema:
                schema["description"] = comment
            properties[field.name] = schema
        message_schema: dict[str, Any] = {"type": "object", "properties": properties}
        if self.comments.get(name):
            message_schema["description"] = self.comments[name]
        return message_schema


def _query_parameters(schemas: _Schemas, method: Method, skip: set[str]) -> list[dict[str, Any]]:
    found = []
    for field in schemas.messages[method.input_type].field:
        if field.name in skip or field.type == FieldProto.TYPE_MESSAGE:
            continue
        found.append({"name": field.name, "in": "query", "schema": schemas.field(field)})
    return found


def _operation(schemas: _Schemas, method: Method, binding: HttpBinding) -> dict[str, Any]:
    path_vars = _VARIABLE.findall(binding.template)
    parameters: list[dict[str, Any]] = [
        {"name": var, "in": "path", "required": True, "schema": {"type": "string"}}
        for var in path_vars
    ]
    operation: dict[str, Any] = {
        "operationId": f"{method.service.rsplit('.', 1)[-1]}_{method.name}",
        "summary": method.comment.split("\n", 1)[0],
        "description": method.comment,
        "tags": [method.service],
        "x-grpc-method": method.rpc,
    }
    top_level = {var.split(".", 1)[0] for var in path_vars}
    if binding.body == "*":
        body = schemas.message(method.input_type, exclude=frozenset(top_level))
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    elif binding.body:
        field = next(f for f in schemas.messages[method.input_type].field if f.name == binding.body)
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.field(field)}},
        }
        parameters += _query_parameters(schemas, method, top_level | {binding.body})
    else:
        parameters += _query_parameters(schemas, method, top_level)
    if parameters:
        operation["parameters"] = parameters
    output = schemas.message(method.output_type)
    content_type = "application/x-ndjson" if method.server_streaming else "application/json"
    if method.server_streaming:
        operation["x-streaming"] = True
    operation["responses"] = {
        "200": {"description": "OK", "content": {content_type: {"schema": output}}},
        "default": {
            "description": "An error (google.rpc.Status with an E-code)",
            "content": {"application/json": {"schema": _ref("google.rpc.Status")}},
        },
    }
    return operation


def openapi_document(surface: Surface) -> dict[str, Any]:
    schemas = _Schemas(surface)
    paths: dict[str, dict[str, Any]] = {}
    for method in surface.methods:
        for binding in method.http:
            path = _VARIABLE.sub(lambda m: "{" + m.group(1) + "}", binding.template)
            paths.setdefault(path, {})[binding.verb] = _operation(schemas, method, binding)
    paths["/health"] = {
        "get": {
            "operationId": "Gateway_Health",
            "summary": "Whether every layer serves (200) or not (503). No credentials needed.",
            "security": [],
            "responses": {
                "200": {"description": "every layer serves"},
                "503": {"description": "a layer does not"},
            },
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Agentic platform mesh",
            "version": "v1",
            "description": "REST/JSON surface of the L09 gateway, generated from the protos.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API key or JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }
