"""Failures of the layers L13 calls (L01, L03, L04) as its own error (E13009 or its limit)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from services.kit.upstream import upstream_errors
from services.l13_roles import errors


def calling(layer: str, invalid_field: str | None = None) -> AbstractContextManager[None]:
    return upstream_errors(
        layer,
        invalid=errors.INVALID_ROLE,
        limited=errors.UPSTREAM_LIMITED,
        failed=errors.UPSTREAM_FAILED,
        invalid_field=invalid_field,
    )
