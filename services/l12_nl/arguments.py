"""Fills in an RPC's arguments from a request in plain words: L04 Generate, constrained to
the RPC's request JSON Schema, so the answer always parses into the request message."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from services.l12_nl.catalog import CatalogMethod

# (system prompt, messages [(role, content)], response schema) -> the structured answer.
Generator = Callable[[str, Sequence[tuple[str, str]], dict[str, Any]], Awaitable[dict[str, Any]]]

HISTORY_TURNS = 4  # earlier turns of the conversation shown to the model
# Bounds a model's answer gets beyond the request schema: a small model left unbounded can
# write one string until it runs out of tokens (E4011) instead of closing the JSON.
MAX_STRING_CHARS = 96
MAX_ARRAY_ITEMS = 8
# A page asked for in words: within every layer's own limit (the smallest is 200), where the
# int32 a page size is declared as is not.
MAX_PAGE_SIZE = 100

SYSTEM = (
    "You turn a request into the JSON arguments of one API call. Copy names, ids and values "
    "from the request exactly; leave out fields the request does not determine.\n"
    "The call: {method}\n{description}"
)


def prompt(
    method: CatalogMethod, text: str, history: Sequence[dict[str, Any]]
) -> tuple[str, list[tuple[str, str]]]:
    """The system prompt and messages: earlier turns (request, then the call made), then
    this request."""
    messages: list[tuple[str, str]] = []
    for turn in history[-HISTORY_TURNS:]:
        messages.append(("user", str(turn.get("text", ""))))
        call = {"method": turn.get("method"), "arguments": turn.get("arguments", {})}
        messages.append(("assistant", json.dumps(call)))
    messages.append(("user", text))
    system = SYSTEM.format(method=method.name, description=method.description)
    return system, messages


def bounded(schema: Any) -> Any:
    """``schema`` with every free-form string and array given a length limit, and every page
    size a range."""
    if isinstance(schema, list):
        return [bounded(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: bounded(value) for key, value in schema.items()}
    page_size = out.get("properties", {}).get("page_size")
    if isinstance(page_size, dict) and page_size.get("type") == "integer":
        page_size |= {"minimum": 1, "maximum": MAX_PAGE_SIZE}
    if out.get("type") == "string" and not {"enum", "pattern", "maxLength"} & out.keys():
        out["maxLength"] = MAX_STRING_CHARS
    if out.get("type") == "array" and "maxItems" not in out:
        out["maxItems"] = MAX_ARRAY_ITEMS
    return out


class ArgumentFiller:
    def __init__(self, generate: Generator) -> None:
        self._generate = generate

    async def fill(
        self, method: CatalogMethod, text: str, history: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        system, messages = prompt(method, text, history)
        return await self._generate(system, messages, bounded(method.request_schema))
