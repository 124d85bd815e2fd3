"""Reading a JSON body's fields with errors that name the field (E9400, HTTP 400)."""

from __future__ import annotations

from typing import Any, TypeVar

from services.l09_gateway.compat.failures import bad_request

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
