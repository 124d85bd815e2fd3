"""A failed call to another layer, as the calling layer's own error naming that layer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from services.kit.errors import ErrorCode, PlatformError


@contextmanager
def upstream_errors(
    layer: str,
    *,
    invalid: ErrorCode,
    limited: ErrorCode,
    failed: ErrorCode,
    invalid_field: str | None = None,
) -> Iterator[None]:
    """RESOURCE_EXHAUSTED (``limited``: its limit was reached) or ``failed``, naming ``layer``;
    INVALID_ARGUMENT is ``invalid`` on ``invalid_field`` when the caller's value was passed
    through as it came (a page token): the caller's to fix."""
    try:
        yield
    except grpc.aio.AioRpcError as error:
        if invalid_field and error.code() == grpc.StatusCode.INVALID_ARGUMENT:
            raise PlatformError(
                invalid, f"{invalid_field}: {error.details()}", field=invalid_field
            ) from None
        if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
            raise PlatformError(
                limited, f"{layer} refused: {error.details()}", metadata={"layer": layer}
            ) from None
        raise PlatformError(
            failed,
            f"{layer} failed: {error.code().name}: {error.details()}",
            metadata={"layer": layer},
        ) from None


@contextmanager
def page_token_passed_on(page_token: str, invalid: ErrorCode) -> Iterator[None]:
    """A caller's page token sent on to L01 as it came: L01's INVALID_ARGUMENT then means the
    token, which is the caller's to fix (``invalid`` naming ``page_token``). Anything else
    goes up as it is."""
    try:
        yield
    except grpc.aio.AioRpcError as error:
        if page_token and error.code() == grpc.StatusCode.INVALID_ARGUMENT:
            raise PlatformError(
                invalid, "page_token: not a next_page_token of this listing", field="page_token"
            ) from None
        raise
