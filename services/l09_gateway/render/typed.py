"""Envoy's configuration as its typed messages (the xds-protos package) and back to the data
envoy.yaml holds: a misspelt field or a value of the wrong type fails when it is built."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import any_pb2, json_format, wrappers_pb2
from google.protobuf.message import Message


def packed(message: Message) -> any_pb2.Any:
    """A ``typed_config``: the message in an Any, which names its type."""
    result = any_pb2.Any()
    result.Pack(message, deterministic=True)
    return result


def u32(value: int) -> wrappers_pb2.UInt32Value:
    """For Envoy's optional counts (a wrapper, so that 0 is not "unset")."""
    return wrappers_pb2.UInt32Value(value=value)


def as_data(message: Message) -> dict[str, Any]:
    """The message as envoy.yaml writes it: proto field names, fields left at their defaults
    omitted, and keys sorted, since protobuf maps (and so Structs) keep no order."""
    text = json_format.MessageToJson(
        message,
        preserving_proto_field_name=True,
        sort_keys=True,
        indent=None,
        unquote_int64_if_possible=True,
    )
    data: dict[str, Any] = json.loads(text, parse_float=_number)
    return data


def _number(text: str) -> float | int:
    """Struct numbers are doubles, printed as ``3.0``: a whole one reads as ``3`` (the same
    value to a protobuf parser)."""
    value = float(text)
    return int(value) if value.is_integer() else value
