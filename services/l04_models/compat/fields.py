"""Reading a JSON body's fields with errors that name the field (E9400, HTTP 400)."""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf import struct_pb2

from services.kit.json_depth import MAX_JSON_DEPTH
from services.l04_models.compat.failures import bad_request

T = TypeVar("T")

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
               list: "an array", dict: "an object"}  # fmt: skip


def field(body: dict[str, Any], name: str, kind: type[T], where: str = "") -> T | None:
    """``body[name]`` if present and not null, checked to be of ``kind``."""
    value = body.get(name)
    if value is None:
        return None
    path = f"{where}{name}"
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # type: ignore[return-value]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise bad_request(path, f"must be {_TYPE_NAMES.get(kind, kind.__name__)}")
    return value


def required(body: dict[str, Any], name: str, kind: type[T], where: str = "") -> T:
    value = field(body, name, kind, where)
    if value is None:
        raise bad_request(f"{where}{name}", "required")
    return value


def objects(body: dict[str, Any], name: str, where: str = "") -> list[dict[str, Any]]:
    """An array of objects (empty when absent)."""
    items = field(body, name, list, where) or []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"{where}{name}[{i}]", "must be an object")
    return items


def max_tokens(body: dict[str, Any], *names: str) -> int:
    """The first of ``names`` present (0: L04's default), checked positive."""
    for name in names:
        value = field(body, name, int)
        if value is not None:
            if value < 1:
                raise bad_request(name, "must be at least 1")
            return value
    return 0


def _depth(value: Any) -> float:
    """Levels of objects in ``value``, an array counting two thirds of one (as the mesh counts
    them, services/kit/json_depth.py)."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 2 / 3 + max((_depth(v) for v in value), default=0)
    return 0


def json_struct(value: dict[str, Any], where: str) -> struct_pb2.Struct:
    """A JSON object as a Struct, refused when it nests deeper than the mesh allows."""
    try:
        too_deep = _depth(value) > MAX_JSON_DEPTH
    except RecursionError:
        too_deep = True
    if too_deep:
        raise bad_request(
            where, f"JSON nested deeper than the mesh allows ({MAX_JSON_DEPTH} levels)"
        )
    message = struct_pb2.Struct()
    message.update(value)
    return message
