"""JSON Schemas of protobuf messages, as the gateway's JSON (proto field names) spells them.

Schemas are inlined, so that a model constrained to one needs nothing else; a message that
contains itself is cut to a plain object where it recurs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

JsonSchema = dict[str, Any]

_INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
_INT64 = {"type": "string", "pattern": "^-?[0-9]+$"}
_UINT64 = {"type": "string", "pattern": "^[0-9]+$"}
_SCALARS: dict[int, JsonSchema] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number"},
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}

# proto3 JSON forms of the well-known types.
_WELL_KNOWN: dict[str, JsonSchema] = {
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {"type": "object"},
    "google.protobuf.DoubleValue": {"type": "number"},
    "google.protobuf.FloatValue": {"type": "number"},
    "google.protobuf.Int32Value": _INT32,
    "google.protobuf.UInt32Value": _UINT32,
    "google.protobuf.Int64Value": _INT64,
    "google.protobuf.UInt64Value": _UINT64,
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "contentEncoding": "base64"},
}


def message_schema(message: Descriptor, comments: Mapping[str, str] | None = None) -> JsonSchema:
    """The JSON Schema of ``message``; ``comments`` (full field name -> doc comment) become
    descriptions."""
    return _message(message, comments or {}, frozenset())


def _message(message: Descriptor, comments: Mapping[str, str], seen: frozenset[str]) -> JsonSchema:
    if message.full_name in _WELL_KNOWN:
        return dict(_WELL_KNOWN[message.full_name])
    if message.full_name in seen:
        return {"type": "object"}
    inside = seen | {message.full_name}
    properties = {}
    for field in message.fields:
        schema = _field(field, comments, inside)
        description = comments.get(field.full_name, "")
        if description:
            schema = {**schema, "description": description}
        properties[field.name] = schema
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _field(field: FieldDescriptor, comments: Mapping[str, str], seen: frozenset[str]) -> JsonSchema:
    kind = field.message_type
    if kind is not None and kind.GetOptions().map_entry:
        value = _single(kind.fields_by_name["value"], comments, seen)
        return {"type": "object", "additionalProperties": value}
    single = _single(field, comments, seen)
    if field.is_repeated:
        return {"type": "array", "items": single}
    return single


def _single(
    field: FieldDescriptor, comments: Mapping[str, str], seen: frozenset[str]
) -> JsonSchema:
    if field.message_type is not None:
        return _message(field.message_type, comments, seen)
    if field.enum_type is not None:
        return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
    return dict(_SCALARS[field.type])
