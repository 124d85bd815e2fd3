"""Checks of what callers send: names, labels, versions, values, policies."""

from __future__ import annotations

import re

from services.kit import PlatformError
from services.l00_secrets import errors
from services.l00_secrets.records import AccessPolicy

MAX_VALUE_BYTES = 64 * 1024
MAX_LABELS = 64
MAX_POLICY_ENTRIES = 100
# Not starting with "-": names are also L01 document ids, which may not.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,127}")
_LABEL = re.compile(r"[a-z0-9_-]{0,63}")
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
# No comma, control character or whitespace, spelled out so that the gateway's OpenAPI
# pattern (ECMA-262, whose \s differs from Python's) can state the same rule.
_ENTRY = re.compile(
    "[^,\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]{1,256}"
)


def invalid(field: str, message: str) -> PlatformError:
    return PlatformError(errors.INVALID_ARGUMENT, f"{field}: {message}", field=field)


def secret_name(name: str, field: str = "name") -> str:
    if not name:
        raise invalid(field, "required")
    if not _NAME.fullmatch(name):
        raise invalid(field, "1-128 letters, digits, '_' and '-', not starting with '-'")
    return name


def labels(values: dict[str, str]) -> dict[str, str]:
    if len(values) > MAX_LABELS:
        raise invalid("labels", f"at most {MAX_LABELS} labels")
    for key, value in values.items():
        if not _LABEL_KEY.fullmatch(key):
            raise invalid(
                f"labels[{key!r}]", "keys: a lower-case letter, then up to 62 of a-z 0-9 _ -"
            )
        if not _LABEL.fullmatch(value):
            raise invalid(f"labels[{key!r}]", "values: up to 63 of a-z 0-9 _ -")
    return dict(values)


def version_number(value: str, field: str = "version") -> int:
    """A version number as sent in a path ("3")."""
    if not value:
        raise invalid(field, "required")
    if not (value.isascii() and value.isdigit()) or len(value) > 9 or int(value) < 1:
        raise invalid(field, f"a version number from 1, not {value[:32]!r}")
    return int(value)


def version_spec(value: str) -> int | None:
    """A version number, or None for "latest"."""
    return None if value == "latest" else version_number(value)


def secret_value(value: bytes) -> bytes:
    if len(value) > MAX_VALUE_BYTES:
        raise PlatformError(
            errors.VALUE_TOO_LARGE,
            f"value: {len(value)} bytes, over the {MAX_VALUE_BYTES} byte limit",
            field="value",
        )
    return value


def policy(candidate: AccessPolicy, field: str = "access_policy") -> AccessPolicy:
    for part in ("principals", "layers", "managers"):
        entries = getattr(candidate, part)
        if len(entries) > MAX_POLICY_ENTRIES:
            raise invalid(f"{field}.{part}", f"at most {MAX_POLICY_ENTRIES} entries")
        for entry in entries:
            if not _ENTRY.fullmatch(entry):
                raise invalid(f"{field}.{part}", f"{entry[:32]!r} is not a principal or layer name")
    return AccessPolicy(
        *(tuple(dict.fromkeys(getattr(candidate, p))) for p in ("principals", "layers", "managers"))
    )
