"""Checks on what comes in (requests) and what comes out (answers to a response schema)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from services.kit import PlatformError
from services.l04_models import errors
from services.l04_models.conversation import ROLES, GenerationRequest

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_MESSAGES = 1_000
MAX_TOOLS = 128
MAX_OUTPUT_TOKENS = 32_768
MAX_EMBED_TEXTS = 256
MAX_EMBED_CHARS = 32_768
MAX_ID_CHARS = 256


def invalid(field: str, problem: str) -> PlatformError:
    return PlatformError(errors.INVALID_ARGUMENT, f"{field}: {problem}", field=field)


def check_schema(schema: dict[str, Any], field: str) -> None:
    """Refuses what is not a JSON Schema (by its own metaschema)."""
    try:
        validator = jsonschema.validators.validator_for(schema)
        validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        raise PlatformError(
            errors.INVALID_SCHEMA, f"{field}: not a valid JSON Schema: {error.message}", field=field
        ) from None


def validate_request(request: GenerationRequest, max_chars: int) -> None:
    if not request.messages:
        raise invalid("messages", "must hold at least one message")
    if len(request.messages) > MAX_MESSAGES:
        raise invalid("messages", f"at most {MAX_MESSAGES} messages")
    for i, message in enumerate(request.messages):
        if message.role not in ROLES:
            raise invalid(f"messages[{i}].role", f"must be one of {', '.join(ROLES)}")
        if message.role == "tool" and not message.tool_call_id:
            raise invalid(f"messages[{i}].tool_call_id", "required for a tool message")
        if not message.content and not message.tool_calls:
            raise invalid(f"messages[{i}].content", "must not be empty")
    size = request.text_length()
    if size > max_chars:
        raise PlatformError(
            errors.REQUEST_TOO_LARGE,
            f"messages: {size} characters of text; the limit is {max_chars}",
            field="messages",
        )
    if not 0 <= request.max_tokens <= MAX_OUTPUT_TOKENS:
        raise invalid("max_tokens", f"must be 0-{MAX_OUTPUT_TOKENS}")
    if request.temperature is not None and not 0 <= request.temperature <= 2:
        raise invalid("temperature", "must be 0-2")
    if len(request.tools) > MAX_TOOLS:
        raise invalid("tools", f"at most {MAX_TOOLS} tools")
    for i, tool in enumerate(request.tools):
        if not TOOL_NAME.match(tool.name):
            raise invalid(f"tools[{i}].name", "1-64 letters, digits, '_' or '-'")
        if tool.input_schema.get("type") != "object":
            raise invalid(f"tools[{i}].input_schema", 'must be an object schema ("type": "object")')
        check_schema(tool.input_schema, f"tools[{i}].input_schema")
    if request.response_schema is not None:
        check_schema(request.response_schema, "response_schema")
    for name in ("agent_id", "tenant_id"):
        if len(getattr(request, name)) > MAX_ID_CHARS:
            raise invalid(name, f"at most {MAX_ID_CHARS} characters")
    if not 0 <= request.cache.similarity_threshold <= 1:
        raise invalid("cache.similarity_threshold", "must be 0-1")
    if request.cache.ttl_seconds < 0:
        raise invalid("cache.ttl_seconds", "must be >= 0")


def validate_texts(texts: list[str]) -> None:
    if not texts:
        raise invalid("texts", "must hold at least one text")
    if len(texts) > MAX_EMBED_TEXTS:
        raise invalid("texts", f"at most {MAX_EMBED_TEXTS} texts")
    for i, text in enumerate(texts):
        if not text.strip():
            raise invalid(f"texts[{i}]", "must not be empty")
        if len(text) > MAX_EMBED_CHARS:
            raise PlatformError(
                errors.REQUEST_TOO_LARGE,
                f"texts[{i}]: {len(text)} characters; the limit is {MAX_EMBED_CHARS}",
                field=f"texts[{i}]",
            )


def schema_problems(content: str, schema: dict[str, Any]) -> tuple[Any, list[str]]:
    """(the parsed answer, what is wrong with it); no problems means valid."""
    try:
        document = json.loads(content)
    except json.JSONDecodeError as error:
        return None, [f"not JSON: {error.msg} at character {error.pos}"]
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    return document, problems[:10]
