"""Failures of the layers L14 calls (L01, L04, L13) as L14's own error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from services.kit import PlatformError
from services.l14_skills import errors


@contextmanager
def calling(layer: str, invalid_field: str | None = None) -> Iterator[None]:
    """A failed call to ``layer`` as RESOURCE_EXHAUSTED (its limit was reached) or UNAVAILABLE
    (E14008), naming it."""
    try:
        yield
    except grpc.aio.AioRpcError as error:
        if invalid_field and error.code() == grpc.StatusCode.INVALID_ARGUMENT:
            # A value passed through as it came (a page token): the caller's to fix.
            raise PlatformError(
                errors.INVALID_SKILL, f"{invalid_field}: {error.details()}", field=invalid_field
            ) from None
        if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
            raise PlatformError(
                errors.UPSTREAM_LIMITED,
                f"{layer} refused: {error.details()}",
                metadata={"layer": layer},
            ) from None
        raise PlatformError(
            errors.UPSTREAM_FAILED,
            f"{layer} failed: {error.code().name}: {error.details()}",
            metadata={"layer": layer},
        ) from None
