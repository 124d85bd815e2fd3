"""Proto filters (agentic.data.v1.Filter) as validated domain filters, for the servicers."""

from __future__ import annotations

from collections.abc import Sequence

from agentic.data.v1 import query_pb2
from services.l01_data import document_query as dq
from services.l01_data.proto_json import value_to_python

_PROTO_PREFIX = "OPERATOR_"


def _operator(op: int) -> dq.Operator | None:
    """The domain operator of a proto enum number; None for UNSPECIFIED or an unknown number."""
    if op not in query_pb2.Filter.Operator.values():
        return None
    name = query_pb2.Filter.Operator.Name(op).removeprefix(_PROTO_PREFIX)
    return dq.Operator.__members__.get(name)


def parse_filters(filters: Sequence[query_pb2.Filter]) -> list[dq.Filter]:
    dq.validate_filter_count(len(filters))
    parsed = []
    for i, item in enumerate(filters):
        dq.parse_path(item.field, f"filters[{i}].field")  # named first, as in parse_filter
        if not item.HasField("value"):
            raise dq.filter_error(f"filters[{i}].value", "must be set")
        value = value_to_python(item.value, f"filters[{i}].value")
        parsed.append(dq.parse_filter(i, item.field, _operator(item.op), value))
    return parsed
