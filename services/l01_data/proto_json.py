"""google.protobuf.Struct/Value to plain JSON values and back, for the servicers.

``json_format.MessageToDict`` turns every number into a float (``3`` becomes
``3.0``) and fails on NaN with a message naming no field. These converters
keep integral numbers integral (up to 2**53, where doubles stay exact) and
refuse NaN and infinities with INVALID_ARGUMENT naming the field. Appends use
the cheaper unchecked variant and validate the JSON they make instead.
"""

from __future__ import annotations

import json
import math
from typing import Any

from google.protobuf import struct_pb2

from services.l01_data.log.events import invalid_field

_EXACT_INTEGER = 2**53

JsonValue = None | bool | int | float | str | list[Any] | dict[str, Any]


def value_to_python(value: struct_pb2.Value, field: str) -> JsonValue:
    """A Value as a plain JSON value; ``field`` names it in errors."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "number_value":
        number = value.number_value
        if not math.isfinite(number):
            raise invalid_field(field, "numbers must be finite (no NaN or Infinity)")
        if number.is_integer() and abs(number) <= _EXACT_INTEGER:
            return int(number)
        return number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_to_python(value.struct_value, field)
    items = value.list_value.values
    return [value_to_python(item, f"{field}[{i}]") for i, item in enumerate(items)]


def struct_to_python(struct: struct_pb2.Struct, field: str) -> dict[str, Any]:
    """A Struct as a dict; ``field`` names it (and its keys) in errors."""
    return {key: value_to_python(item, f"{field}.{key}") for key, item in struct.fields.items()}


def struct_to_python_unchecked(message: struct_pb2.Struct) -> dict[str, Any]:
    """The hot-path variant for appends: plain values as they are (numbers stay floats,
    NaN passes), at a fraction of the checked converter's cost. The caller validates the
    JSON it makes of them (``events.new_event`` refuses NaN, naming the event)."""
    return {key: _plain(value) for key, value in message.fields.items()}


def _plain(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_to_python_unchecked(value.struct_value)
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    if kind is None or kind == "null_value":
        return None
    return getattr(value, kind)


def struct_from_json(text: str) -> struct_pb2.Struct:
    """A Struct from the JSON text of an object (as PostgreSQL returns jsonb)."""
    message = struct_pb2.Struct()
    message.update(json.loads(text))
    return message
