"""Arguments checked against a tool's JSON Schema before anything runs."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from services.kit import PlatformError
from services.l03_tools import errors

MAX_LISTED_ERRORS = 20
MAX_MESSAGE_CHARS = 160  # jsonschema quotes the value: a 100 kB string must not fill headers


def check_schema(schema: dict[str, Any], field: str) -> None:
    """Refuses a schema that is not valid JSON Schema 2020-12 or does not describe an object."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise PlatformError(
            errors.INVALID_TOOL, f"{field} is not a valid JSON Schema: {exc.message}", field=field
        ) from exc
    if field.endswith("parameters") and schema.get("type", "object") != "object":
        raise PlatformError(
            errors.INVALID_TOOL, f"{field} must describe an object (type: object)", field=field
        )


def _paths(error: ValidationError) -> list[str]:
    """Where the error is; a missing or unexpected property is named in the path."""
    base = error.json_path
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        return [f"{base}.{name}" for name in error.validator_value if name not in instance]
    if error.validator == "additionalProperties" and isinstance(error.schema, dict):
        known = set(error.schema.get("properties", {}))
        return [f"{base}.{name}" for name in instance if name not in known] or [base]
    return [base]


def _short(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    half = MAX_MESSAGE_CHARS // 2
    return f"{message[:half]}...{message[-half:]}"


def validate_arguments(tool: str, schema: dict[str, Any], arguments: dict[str, Any]) -> None:
    """Raises INVALID_ARGUMENTS listing the JSON path of every error (``$.code``)."""
    found = sorted(Draft202012Validator(schema).iter_errors(arguments), key=lambda e: e.json_path)
    if not found:
        return
    problems = [(path, _short(error.message)) for error in found for path in _paths(error)]
    shown = problems[:MAX_LISTED_ERRORS]
    listing = "; ".join(f"{path}: {message}" for path, message in shown)
    more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
    raise PlatformError(
        errors.INVALID_ARGUMENTS,
        f"arguments do not satisfy the parameters schema of {tool}: {listing}{more}",
        field="arguments" + shown[0][0][1:],
        metadata={"paths": ",".join(path for path, _ in shown)},
    )
