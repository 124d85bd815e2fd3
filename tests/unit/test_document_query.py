"""Filters, sort orders and page tokens: validation and the SQL they compile to."""

import base64
import json
import re

import pytest

from services.kit.errors import Kind, PlatformError
from services.l01_data import document_query as dq

pytestmark = [pytest.mark.unit, pytest.mark.l01]


def _refusal(call, *args) -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        call(*args)
    assert caught.value.error.kind is Kind.INVALID_ARGUMENT
    return caught.value


@pytest.mark.parametrize(
    ("text", "path"),
    [("status", ("status",)), ("a.b_c.d-e", ("a", "b_c", "d-e")), ("_x.y1", ("_x", "y1"))],
)
def test_paths_are_dot_separated_keys(text: str, path: tuple[str, ...]) -> None:
    assert dq.parse_path(text, "filters[0].field") == path


@pytest.mark.parametrize(
    "text",
    ["", "a..b", ".a", "a.", "1abc", "a.0", "a b", "a'; DROP TABLE documents; --", "a->>b", "é"],
)
def test_malformed_paths_are_refused_naming_the_field(text: str) -> None:
    error = _refusal(dq.parse_path, text, "filters[3].field")
    assert error.code == "E1103"
    assert error.field == "filters[3].field"


def test_paths_are_limited_in_depth_and_length() -> None:
    assert _refusal(dq.parse_path, ".".join("a" * 17), "f").message.endswith("more than 16 keys")
    assert "longer than" in _refusal(dq.parse_path, "a" * 600, "f").message


def test_a_filter_needs_an_operator() -> None:
    error = _refusal(dq.parse_filter, 2, "status", None, "open")
    assert error.field == "filters[2].op"


@pytest.mark.parametrize("value", [None, True, [1], {"a": 1}])
def test_range_operators_take_only_numbers_or_strings(value: object) -> None:
    error = _refusal(dq.parse_filter, 0, "n", dq.Operator.GREATER_THAN, value)
    assert error.field == "filters[0].value"


@pytest.mark.parametrize("value", ["x", [], list(range(101)), {"a": 1}])
def test_in_takes_a_list_of_one_to_a_hundred_values(value: object) -> None:
    error = _refusal(dq.parse_filter, 1, "n", dq.Operator.IN, value)
    assert error.field == "filters[1].value"


def test_filter_values_may_not_hold_nul_or_be_huge() -> None:
    assert "NUL" in _refusal(dq.parse_filter, 0, "a", dq.Operator.EQUAL, "a\x00b").message
    assert "bytes" in _refusal(dq.parse_filter, 0, "a", dq.Operator.EQUAL, "x" * 70_000).message


def test_too_many_filters_or_sort_keys_are_refused() -> None:
    assert _refusal(dq.validate_filter_count, 33).field == "filters"
    assert _refusal(dq.parse_order, [("a", False)] * 5).field == "order_by"
    assert _refusal(dq.parse_order, [("a", False), ("", True)]).field == "order_by[1].field"


def test_every_client_value_is_a_bound_parameter() -> None:
    hostile = "x'); DELETE FROM documents; --"
    filters = [
        dq.parse_filter(0, "a.b", dq.Operator.EQUAL, hostile),
        dq.parse_filter(1, "n", dq.Operator.LESS_THAN_OR_EQUAL, 3),
        dq.parse_filter(2, "t", dq.Operator.IN, ["p", hostile]),
        dq.parse_filter(3, "z", dq.Operator.NOT_EQUAL, None),
    ]
    params = dq.Params("collection")
    sql = " AND ".join(dq.where_sql(filters, "content", params))
    assert hostile not in sql and "DELETE" not in sql
    assert params.values[0] == "collection"
    assert ["a", "b"] in params.values and '{"a":{"b":"x\'); DELETE FROM documents; --"}}' in (
        params.values
    )
    used = {int(n) for n in re.findall(r"\$(\d+)", sql)}
    assert used == set(range(2, len(params.values) + 1))


def test_equality_is_a_containment_test_plus_an_exact_comparison() -> None:
    params = dq.Params()
    sql = dq.filter_sql(dq.Filter(("a", "b"), dq.Operator.EQUAL, 1), "content", params)
    assert "content @> $2::jsonb" in sql and "= $3::jsonb" in sql
    assert params.values == [["a", "b"], '{"a":{"b":1}}', "1"]


def test_range_filters_compare_only_values_of_the_same_json_type() -> None:
    params = dq.Params()
    sql = dq.filter_sql(dq.Filter(("n",), dq.Operator.GREATER_THAN, "m"), "metadata", params)
    assert "jsonb_typeof" in sql and "string" in params.values


def test_keyset_condition_orders_lexicographically_with_id_last() -> None:
    keys = dq.parse_order([("a", False), ("b", True)])
    params = dq.Params()
    expressions = dq.sort_expressions(keys, "content", params)
    cursor = dq.Cursor(('"x"', "2"), "doc-9")
    sql = dq.after_sql(keys, expressions, "document_id", cursor, params)
    a, b = expressions
    assert sql == (
        f"(({a} > $3::jsonb) OR ({a} = $3::jsonb AND {b} < $4::jsonb)"
        f" OR ({a} = $3::jsonb AND {b} = $4::jsonb AND document_id > $5))"
    )
    assert dq.order_by_sql(keys, expressions, "document_id") == f"{a}, {b} DESC, document_id"


def test_a_page_token_round_trips_for_the_same_query_only() -> None:
    keys = dq.parse_order([("a", False)])
    mine = dq.query_fingerprint("orders", [], keys)
    other = dq.query_fingerprint("invoices", [], keys)
    token = dq.encode_page_token(mine, dq.Cursor(("12",), "o-7"))
    assert dq.decode_page_token(token, mine, 1) == dq.Cursor(("12",), "o-7")
    assert dq.decode_page_token("", mine, 1) is None
    error = _refusal(dq.decode_page_token, token, other, 1)
    assert error.code == "E1104" and error.field == "page_token"


def _forge(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "not base64 !!",
        "e30",  # {}
        _forge([1, 2]),
        _forge({"q": "Q", "k": ["1", "2"], "id": "x"}),  # wrong number of keys
        _forge({"q": "Q", "k": [1], "id": "x"}),  # values must be JSON texts
        _forge({"q": "Q", "k": ["{bad json"], "id": "x"}),
        _forge({"q": "Q", "k": ["1"], "id": 5}),
        _forge({"q": "Q", "k": ['"\\u0000"'], "id": "x"}),
        "A" * 20_000,
    ],
)
def test_tampered_page_tokens_are_refused(token: str) -> None:
    error = _refusal(dq.decode_page_token, token, "Q", 1)
    assert error.code == "E1104"
    assert error.message.startswith("page_token: ")
