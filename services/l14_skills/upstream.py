"""Failures of the layers L14 calls (L01, L03, L04, L13) as its own error (E14008 or its limit)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from services.kit.upstream import upstream_errors
from services.l14_skills import errors


def calling(layer: str, invalid_field: str | None = None) -> AbstractContextManager[None]:
    return upstream_errors(
        layer,
        invalid=errors.INVALID_SKILL,
        limited=errors.UPSTREAM_LIMITED,
        failed=errors.UPSTREAM_FAILED,
        invalid_field=invalid_field,
    )
