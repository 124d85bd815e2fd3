"""Envoy's jwt_authn filter: the same checks as the L09 process's JwtVerifier.

Only a bearer credential shaped like a JWT (three dot-separated parts) is verified here; API
keys and dev tokens pass untouched to ext_authz. A JWT that fails (signature, expiry,
not-before, issuer, audience) is refused at once; the local reply mappers turn the refusal
into the gateway's 401 E9401 (see render/errors.py). The token stays in the request
(``forward``) so that, should the identity filter not vouch for the caller, ext_authz can
still decide.
"""

from __future__ import annotations

import math
from typing import Any

from services.l09_gateway.names import JWT_FAILURE_KEY, JWT_PAYLOAD_KEY, JWT_PROVIDER

JWT_AUTHN_TYPE = "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"

# "Bearer" and three base64url parts (the signature may be empty, as for alg "none": such a
# token is refused by jwt_authn like any other unverifiable one).
BEARER_JWT = r"Bearer [A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*"


def clock_skew(leeway_seconds: float) -> int:
    """jwt_authn's skew in whole seconds; 0 would mean its default of 60 s, so 1 is the least."""
    return max(1, math.ceil(leeway_seconds))


def config(
    jwks: str | None,
    *,
    issuer: str | None = None,
    audience: str | None = None,
    leeway_seconds: float = 0.0,
) -> dict[str, Any]:
    """The filter's configuration for a JWKS (JSON); without one, no JWT is verified here."""
    typed = {"@type": f"type.googleapis.com/{JWT_AUTHN_TYPE}"}
    if jwks is None:
        return typed
    provider: dict[str, Any] = {
        "require_expiration": True,
        "local_jwks": {"inline_string": jwks},
        "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
        "forward": True,
        "payload_in_metadata": JWT_PAYLOAD_KEY,
        "failed_status_in_metadata": JWT_FAILURE_KEY,
        "clock_skew_seconds": clock_skew(leeway_seconds),
    }
    if issuer:
        provider["issuer"] = issuer
    if audience:
        provider["audiences"] = [audience]
    looks_like_jwt = {
        "prefix": "/",
        "headers": [
            {"name": "authorization", "string_match": {"safe_regex": {"regex": BEARER_JWT}}}
        ],
    }
    return typed | {
        "providers": {JWT_PROVIDER: provider},
        "rules": [{"match": looks_like_jwt, "requires": {"provider_name": JWT_PROVIDER}}],
    }
