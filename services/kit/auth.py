"""Bearer-token authentication for layer servers."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from contextvars import ContextVar

from services.kit.config import DEV_TOKENS

# The authenticated principal of the call being served (for audit metadata).
current_principal: ContextVar[str] = ContextVar("current_principal", default="anonymous")


class TokenAuthenticator:
    """Maps bearer tokens to principals.

    With a production key configured only that key is accepted; otherwise the
    public development tokens are.
    """

    def __init__(self, production_key: str | None, principal: str = "service") -> None:
        self._tokens: Mapping[str, str] = (
            {production_key: principal} if production_key else dict(DEV_TOKENS)
        )

    @property
    def production(self) -> bool:
        return set(self._tokens) != set(DEV_TOKENS)

    def principal_for(self, authorization: str | None) -> str | None:
        """The principal for an ``authorization`` header value, or None if refused."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        token = token.strip()
        for known, principal in self._tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return principal
        return None
