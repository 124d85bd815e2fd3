"""Which credential L12 presents when it calls the mesh for a caller: the caller's own."""

from __future__ import annotations

from collections.abc import Mapping

from services.kit import PlatformError
from services.kit.auth import CALLER_AUTHORIZATION_HEADER, is_service_token
from services.l12_nl import errors


def caller_credential(metadata: Mapping[str, str], service_token: str | None) -> str:
    """Through the gateway the call carries the mesh's service token and the caller's own
    credential beside it; called directly, the caller's own is the authorization header.
    The service token itself is never handed on."""
    authorization = metadata.get("authorization", "")
    if is_service_token(authorization, service_token):
        authorization = metadata.get(CALLER_AUTHORIZATION_HEADER, "")
    if not authorization or is_service_token(authorization, service_token):
        raise PlatformError(
            errors.NO_CREDENTIAL,
            "no caller credential to call the mesh with",
            field="authorization",
        )
    return authorization
