"""Building query filters in tests."""

from typing import Any

from google.protobuf import struct_pb2

from agentic.data.v1.query_pb2 import Filter


def value(v: Any) -> struct_pb2.Value:
    message = struct_pb2.Value()
    if isinstance(v, dict):
        message.struct_value.update(v)
    elif isinstance(v, list):
        message.list_value.extend(v)
    elif v is None:
        message.null_value = struct_pb2.NULL_VALUE
    elif isinstance(v, bool):
        message.bool_value = v
    elif isinstance(v, int | float):
        message.number_value = v
    else:
        message.string_value = v
    return message


def where(field: str, op: int, v: Any) -> Filter:
    return Filter(field=field, op=op, value=value(v))
