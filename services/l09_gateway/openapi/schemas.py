"""JSON Schemas of the platform's messages as the gateway reads and prints them.

The proto3 JSON mapping as the transcoder applies it: field names are the proto names (the
gateway prints them so), 64-bit integers and bytes are strings, enums are their names,
well-known types have their JSON forms, and every primitive field is printed. Ranges of the
numeric types are declared, since the transcoder refuses a value out of them.

Constraints come from two places: ``google.api.field_behavior`` in the protos (``REQUIRED``,
``OUTPUT_ONLY``), and, for what the layers enforce only in code, the table in
``constraints.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2

from services.l09_gateway.descriptor import Surface

FieldProto: TypeAlias = descriptor_pb2.FieldDescriptorProto
Schema: TypeAlias = dict[str, Any]

_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1}
# Decimal strings: at most 18 digits keeps every value inside the 64-bit range.
_INT64 = {"type": "string", "format": "int64", "pattern": "^-?[0-9]{1,18}$"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": "^[0-9]{1,19}$"}
_FLOAT = {"type": "number", "format": "float", "minimum": -3.4e38, "maximum": 3.4e38}
_BYTES = {
    "type": "string",
    "format": "byte",
    "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
}

_SCALARS: dict[int, Schema] = {
    FieldProto.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldProto.TYPE_FLOAT: _FLOAT,
    FieldProto.TYPE_INT32: _INT32,
    FieldProto.TYPE_SINT32: _INT32,
    FieldProto.TYPE_SFIXED32: _INT32,
    FieldProto.TYPE_UINT32: _UINT32,
    FieldProto.TYPE_FIXED32: _UINT32,
    FieldProto.TYPE_INT64: _INT64,
    FieldProto.TYPE_SINT64: _INT64,
    FieldProto.TYPE_SFIXED64: _INT64,
    FieldProto.TYPE_UINT64: _UINT64,
    FieldProto.TYPE_FIXED64: _UINT64,
    FieldProto.TYPE_BOOL: {"type": "boolean"},
    FieldProto.TYPE_STRING: {"type": "string"},
    FieldProto.TYPE_BYTES: _BYTES,
}

# RFC 3339 as protobuf parses it: years 0001-9999, at most nanoseconds, "Z" or an offset.
_TIMESTAMP_PATTERN = (
    "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    "(\\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$"
)

_WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "pattern": _TIMESTAMP_PATTERN,
    },
    "google.protobuf.Duration": {
        "type": "string",
        "description": "seconds with an 's' suffix, e.g. '3.5s'",
        "pattern": "^-?[0-9]{1,11}(\\.[0-9]{1,9})?s$",
    },
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "comma-separated field paths, e.g. 'description,labels'",
        "pattern": "^([a-zA-Z_][a-zA-Z0-9_.]*(,[a-zA-Z_][a-zA-Z0-9_.]*)*)?$",
    },
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.Any": {
        "type": "object",
        "required": ["@type"],
        "properties": {"@type": {"type": "string"}},
        "additionalProperties": True,
    },
    "google.protobuf.DoubleValue": {"type": "number"},
    "google.protobuf.FloatValue": _FLOAT,
    "google.protobuf.Int32Value": _INT32,
    "google.protobuf.UInt32Value": _UINT32,
    "google.protobuf.Int64Value": _INT64,
    "google.protobuf.UInt64Value": _UINT64,
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": _BYTES,
}


def component_name(message: str) -> str:
    """A component key generators turn into a readable class: ``agentic.data.v1.Event`` ->
    ``data.v1.Event``."""
    return message.removeprefix("agentic.")


def ref(message: str) -> Schema:
    return {"$ref": f"#/components/schemas/{component_name(message)}"}


class MessageSchemas:
    """Builds a component schema for every message reached from the operations."""

    def __init__(
        self,
        surface: Surface,
        constraints: Mapping[str, Schema],
        required: Iterable[str],
        service_checked: Mapping[str, str],
    ) -> None:
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, list[str]] = {}
        for file in surface.files.file:
            self._index(file.package, file.message_type, file.enum_type)
        self.comments = surface.message_comments()
        self.constraints = constraints
        self.required = frozenset(required)
        self.service_checked = service_checked
        self.components: dict[str, Schema] = {}

    def _index(self, prefix: str, messages: Any, enums: Any) -> None:
        for enum in enums:
            self.enums[f"{prefix}.{enum.name}"] = [value.name for value in enum.value]
        for message in messages:
            name = f"{prefix}.{message.name}"
            self.messages[name] = message
            self._index(name, message.nested_type, message.enum_type)

    def fields(self, message: str) -> list[FieldProto]:
        return list(self.messages[message].field)

    def field(self, message: str, field: FieldProto) -> Schema:
        """The schema of one field, with its constraints and comment."""
        schema = self._field_type(field)
        full_name = f"{message}.{field.name}"
        if "$ref" in schema and (full_name in self.constraints or self.comments.get(full_name)):
            schema = {"allOf": [schema]}  # siblings of a $ref are ignored in OpenAPI 3.0
        schema.update(self.constraints.get(full_name, {}))
        if self.comments.get(full_name):
            schema["description"] = self.comments[full_name]
        if full_name in self.service_checked:
            schema["x-service-checked"] = self.service_checked[full_name]
        if _behaviours(field) & {field_behavior_pb2.OUTPUT_ONLY}:
            schema["readOnly"] = True
        return schema

    def service_checked_paths(self, message: str, prefix: str = "", depth: int = 3) -> list[str]:
        """Dotted paths of the fields under ``message`` whose values only the layer can check
        (``constraints.SERVICE_CHECKED``), as its errors name them."""
        found = []
        for field in self.messages[message].field:
            path = f"{prefix}{field.name}"
            if f"{message}.{field.name}" in self.service_checked:
                found.append(path)
            elif field.type == FieldProto.TYPE_MESSAGE and depth > 1:
                nested = field.type_name.lstrip(".")
                if nested in self.messages and nested not in _WELL_KNOWN:
                    found += self.service_checked_paths(nested, f"{path}.", depth - 1)
        return found

    def is_required(self, message: str, field: FieldProto) -> bool:
        return (
            f"{message}.{field.name}" in self.required
            or field_behavior_pb2.REQUIRED in _behaviours(field)
        )

    def _field_type(self, field: FieldProto) -> Schema:
        type_name = field.type_name.lstrip(".")
        if field.type == FieldProto.TYPE_MESSAGE:
            entry = self.messages.get(type_name)
            if entry is not None and entry.options.map_entry:
                return {
                    "type": "object",
                    "additionalProperties": self._field_type(entry.field[1]),
                }
            schema = self.message(type_name)
        elif field.type == FieldProto.TYPE_ENUM:
            schema = {"type": "string", "enum": self.enums[type_name]}
        else:
            schema = dict(_SCALARS[field.type])
        if field.label == FieldProto.LABEL_REPEATED:
            return {"type": "array", "items": schema}
        return schema

    def message(self, name: str, exclude: frozenset[str] = frozenset()) -> Schema:
        """A ``$ref`` to the message's component, or, with fields excluded (those a path
        binds), the object inline."""
        if name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[name])
        if exclude:
            return self._object(name, exclude)
        key = component_name(name)
        if key not in self.components:
            self.components[key] = {}  # placeholder: recursive messages terminate
            self.components[key] = self._object(name, exclude)
        return ref(name)

    def _object(self, name: str, exclude: frozenset[str]) -> Schema:
        properties: dict[str, Schema] = {}
        required: list[str] = []
        for field in self.messages[name].field:
            if field.name in exclude:
                continue
            properties[field.name] = self.field(name, field)
            if self.is_required(name, field):
                required.append(field.name)
        schema: Schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        exclusive = _exclusive_pairs(self.messages[name], exclude)
        if exclusive:
            schema["not"] = {"anyOf": [{"required": list(pair)} for pair in exclusive]}
        # The transcoder prints only the message's fields; and a request the strict REST
        # surface accepts holds no others.
        schema["additionalProperties"] = False
        if self.comments.get(name):
            schema["description"] = self.comments[name]
        schema.update(self.constraints.get(name, {}))
        return schema


def _exclusive_pairs(
    message: descriptor_pb2.DescriptorProto, exclude: frozenset[str]
) -> list[tuple[str, str]]:
    """Pairs of fields of one real oneof: the JSON mapping refuses both set at once."""
    members: dict[int, list[str]] = {}
    for field in message.field:
        if (
            field.HasField("oneof_index")
            and not field.proto3_optional
            and field.name not in exclude
        ):
            members.setdefault(field.oneof_index, []).append(field.name)
    return [
        (first, second)
        for names in members.values()
        for index, first in enumerate(names)
        for second in names[index + 1 :]
    ]


def _behaviours(field: FieldProto) -> set[int]:
    # Parsed again: a descriptor set read before field_behavior_pb2 was imported holds the
    # option as an unknown field.
    options = descriptor_pb2.FieldOptions.FromString(field.options.SerializeToString())
    return set(options.Extensions[field_behavior_pb2.field_behavior])
