"""Filters, sort orders and page tokens on JSON objects, compiled to SQL.

Used for document queries (on ``documents.content``) and vector searches (on a
collection's ``metadata``). Safety: the SQL text is built only from constants
and ``$n`` placeholders; every path and value a client sends is a bound
parameter, and the column is chosen by the caller, never by the client.

Semantics:
- EQUAL is exact equality. It is written as a containment test (``@>``, which
  the GIN ``jsonb_path_ops`` index answers) plus an exact comparison of the
  extracted value (containment alone would let ``{"a": 1, "b": 2}`` equal
  ``{"a": 1}``).
- Range operators compare numbers with numbers and strings with strings; a
  field of another type never matches (jsonb would otherwise order across
  types, so "10" would be greater than 5).
- A missing field matches NOT_EQUAL and nothing else, and sorts as JSON null.
- Paging is keyset paging on (sort values..., id): a page starts strictly after
  the last row of the previous one, so rows written meanwhile never make a page
  skip or repeat a row that existed before the query began.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.kit.errors import PlatformError
from services.l01_data import errors

MAX_FILTERS = 32
MAX_ORDER_KEYS = 4
MAX_PATH_KEYS = 16
MAX_PATH_LENGTH = 512
MAX_IN_VALUES = 100
MAX_FILTER_VALUE_BYTES = 64 * 1024
MAX_PAGE_TOKEN_LENGTH = 16 * 1024

_PATH_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class Operator(enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "<>"
    LESS_THAN = "<"
    LESS_THAN_OR_EQUAL = "<="
    GREATER_THAN = ">"
    GREATER_THAN_OR_EQUAL = ">="
    IN = "IN"


_RANGE = {
    Operator.LESS_THAN,
    Operator.LESS_THAN_OR_EQUAL,
    Operator.GREATER_THAN,
    Operator.GREATER_THAN_OR_EQUAL,
}


@dataclass(frozen=True)
class Filter:
    path: tuple[str, ...]
    op: Operator
    value: Any  # a JSON value


@dataclass(frozen=True)
class SortKey:
    path: tuple[str, ...]
    descending: bool


def filter_error(field: str, message: str) -> PlatformError:
    return PlatformError(errors.INVALID_FILTER, f"{field}: {message}", field=field)


def parse_path(text: str, field: str) -> tuple[str, ...]:
    """``"a.b.c"`` as ``("a", "b", "c")``; INVALID_ARGUMENT naming ``field`` if malformed."""
    if not text:
        raise filter_error(field, "must name a field, e.g. 'status' or 'customer.city'")
    if len(text) > MAX_PATH_LENGTH:
        raise filter_error(field, f"is longer than {MAX_PATH_LENGTH} characters")
    keys = tuple(text.split("."))
    if len(keys) > MAX_PATH_KEYS:
        raise filter_error(field, f"has more than {MAX_PATH_KEYS} keys")
    for key in keys:
        if not _PATH_KEY.fullmatch(key):
            raise filter_error(
                field,
                "must be dot-separated keys of letters, digits, '_' and '-', "
                "each starting with a letter or '_'",
            )
    return keys


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def parse_filter(index: int, field: str, op: Operator | None, value: Any) -> Filter:
    """Validates one filter; ``index`` names it in errors (``filters[2].value``)."""
    where = f"filters[{index}]"
    path = parse_path(field, f"{where}.field")
    if op is None:
        raise filter_error(f"{where}.op", "must be set (e.g. OPERATOR_EQUAL)")
    text = _json_text(value)
    if len(text.encode()) > MAX_FILTER_VALUE_BYTES:
        raise filter_error(f"{where}.value", f"is over {MAX_FILTER_VALUE_BYTES} bytes as JSON")
    if "\\u0000" in text:
        raise filter_error(f"{where}.value", "strings must not contain the NUL character")
    if op in _RANGE and (isinstance(value, bool) or not isinstance(value, int | float | str)):
        raise filter_error(f"{where}.value", f"must be a number or a string for {op.name}")
    if op is Operator.IN:
        if not isinstance(value, list) or not value:
            raise filter_error(f"{where}.value", "must be a non-empty list for IN")
        if len(value) > MAX_IN_VALUES:
            raise filter_error(f"{where}.value", f"must hold at most {MAX_IN_VALUES} values")
    return Filter(path, op, value)


def validate_filter_count(count: int) -> None:
    if count > MAX_FILTERS:
        raise filter_error("filters", f"at most {MAX_FILTERS} filters")


def parse_order(keys: Sequence[tuple[str, bool]]) -> tuple[SortKey, ...]:
    if len(keys) > MAX_ORDER_KEYS:
        raise filter_error("order_by", f"at most {MAX_ORDER_KEYS} sort keys")
    return tuple(
        SortKey(parse_path(field, f"order_by[{i}].field"), descending)
        for i, (field, descending) in enumerate(keys)
    )


class Params:
    """Positional SQL parameters: ``add`` binds a value and returns its placeholder."""

    def __init__(self, *values: Any) -> None:
        self.values: list[Any] = list(values)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _nested(path: Sequence[str], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


def filter_sql(item: Filter, column: str, params: Params) -> str:
    """One filter as a SQL condition on the jsonb ``column``."""
    extracted = f"({column} #> {params.add(list(item.path))}::text[])"
    if item.op is Operator.EQUAL:
        contains = params.add(_json_text(_nested(item.path, item.value)))
        equals = params.add(_json_text(item.value))
        return f"({column} @> {contains}::jsonb AND {extracted} = {equals}::jsonb)"
    if item.op is Operator.NOT_EQUAL:
        return f"{extracted} IS DISTINCT FROM {params.add(_json_text(item.value))}::jsonb"
    if item.op is Operator.IN:
        choices = params.add([_json_text(v) for v in item.value])
        return f"{extracted} = ANY({choices}::jsonb[])"
    json_type = "string" if isinstance(item.value, str) else "number"
    bound = params.add(_json_text(item.value))
    return (
        f"(jsonb_typeof({extracted}) = {params.add(json_type)}"
        f" AND {extracted} {item.op.value} {bound}::jsonb)"
    )


def where_sql(filters: Sequence[Filter], column: str, params: Params) -> list[str]:
    return [filter_sql(item, column, params) for item in filters]


def sort_expressions(keys: Sequence[SortKey], column: str, params: Params) -> list[str]:
    """Each key as a total-ordered jsonb expression (a missing field sorts as JSON null)."""
    return [
        f"COALESCE({column} #> {params.add(list(key.path))}::text[], 'null'::jsonb)" for key in keys
    ]


def order_by_sql(keys: Sequence[SortKey], expressions: Sequence[str], id_column: str) -> str:
    parts = [
        f"{expr} DESC" if key.descending else expr
        for key, expr in zip(keys, expressions, strict=True)
    ]
    return ", ".join([*parts, id_column])


def after_sql(
    keys: Sequence[SortKey],
    expressions: Sequence[str],
    id_column: str,
    cursor: Cursor,
    params: Params,
) -> str:
    """Rows strictly after ``cursor`` in the order of ``keys`` then id (lexicographic)."""
    bound = [params.add(value) for value in cursor.sort_values]
    last_id = params.add(cursor.last_id)
    terms = []
    for i in range(len(keys) + 1):
        equal = [f"{expressions[j]} = {bound[j]}::jsonb" for j in range(i)]
        if i < len(keys):
            step = "<" if keys[i].descending else ">"
            beyond = f"{expressions[i]} {step} {bound[i]}::jsonb"
        else:
            beyond = f"{id_column} > {last_id}"
        terms.append("(" + " AND ".join([*equal, beyond]) + ")")
    return "(" + " OR ".join(terms) + ")"


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the sort values (jsonb texts) and id of its last row."""

    sort_values: tuple[str, ...]
    last_id: str


def query_fingerprint(scope: str, filters: Sequence[Filter], keys: Sequence[SortKey]) -> str:
    """Identifies a query, so a page token is refused by any other query."""
    shape = [
        scope,
        [[list(f.path), f.op.name, f.value] for f in filters],
        [[list(k.path), k.descending] for k in keys],
    ]
    return hashlib.sha256(_json_text(shape).encode()).hexdigest()[:24]


def encode_page_token(fingerprint: str, cursor: Cursor) -> str:
    payload = {"q": fingerprint, "k": list(cursor.sort_values), "id": cursor.last_id}
    return base64.urlsafe_b64encode(_json_text(payload).encode()).decode().rstrip("=")


_MALFORMED = "is malformed; pass the next_page_token of a previous page"


def _token_error(message: str) -> PlatformError:
    return PlatformError(errors.INVALID_PAGE_TOKEN, f"page_token: {message}", field="page_token")


def decode_page_token(token: str, fingerprint: str, key_count: int) -> Cursor | None:
    """The cursor a token holds (None for an empty token); INVALID_ARGUMENT if tampered with."""
    if not token:
        return None
    if len(token) > MAX_PAGE_TOKEN_LENGTH:
        raise _token_error("is too long to be a token from this service")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _token_error(_MALFORMED) from None
    if not isinstance(payload, dict) or payload.get("q") != fingerprint:
        raise _token_error("belongs to a different query (filters, order or collection)")
    values, last_id = payload.get("k"), payload.get("id")
    if (
        not isinstance(values, list)
        or len(values) != key_count
        or not all(isinstance(v, str) for v in values)
        or not isinstance(last_id, str)
    ):
        raise _token_error(_MALFORMED)
    if "\x00" in last_id or any("\\u0000" in v or "\x00" in v for v in values):
        raise _token_error(_MALFORMED)
    for value in values:
        try:
            json.loads(value)
        except ValueError:
            raise _token_error(_MALFORMED) from None
    return Cursor(tuple(values), last_id)
