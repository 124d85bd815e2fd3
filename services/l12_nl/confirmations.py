"""Confirmation tokens: a proposed mutating call, executed once when its token comes back.

Each token is a document in L01 (keyed by the token's SHA-256, so the token itself is never
stored). Confirming moves it from "proposed" to "claimed" with the revision it was read at:
of any number of concurrent confirmations exactly one write succeeds, and only that one
executes the call. A token whose call then fails stays spent (at most once, never twice).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from services.kit import PlatformError
from services.l12_nl import errors
from services.l12_nl.documents import DocumentStore, RevisionConflict

COLLECTION = "nl-confirmations"
TOKEN_TTL_SECONDS = 600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


@dataclass(frozen=True)
class Proposal:
    token: str
    method: str
    arguments: dict[str, Any]
    principal: str
    conversation_id: str
    expires_at: float  # unix seconds


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Confirmations:
    def __init__(self, store: DocumentStore, ttl_seconds: float = TOKEN_TTL_SECONDS) -> None:
        self._store = store
        self._ttl = ttl_seconds

    async def propose(
        self, method: str, arguments: dict[str, Any], principal: str, conversation_id: str
    ) -> Proposal:
        token = secrets.token_urlsafe(32)
        proposal = Proposal(
            token, method, arguments, principal, conversation_id, time.time() + self._ttl
        )
        content = {
            "state": "proposed",
            "method": method,
            "arguments": arguments,
            "principal": principal,
            "conversation_id": conversation_id,
            "expires_at": proposal.expires_at,
        }
        await self._store.put(COLLECTION, token_id(token), content, expected_revision=0)
        return proposal

    async def claim(self, token: str, principal: str) -> Proposal:
        """The proposal, now spent; refused if unknown, another's, expired or spent."""
        if not _TOKEN.match(token):
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                "confirmation_token is not a token Ask gives",
                field="confirmation_token",
            )
        stored = await self._store.get(COLLECTION, token_id(token))
        if stored is None:
            raise PlatformError(
                errors.UNKNOWN_TOKEN, "no such confirmation token", field="confirmation_token"
            )
        content = stored.content
        if content["principal"] != principal:
            raise PlatformError(
                errors.NOT_YOUR_TOKEN,
                "this confirmation token was given to another caller",
                field="confirmation_token",
            )
        if content["state"] != "proposed":
            raise PlatformError(
                errors.TOKEN_USED,
                "this confirmation token was already used",
                field="confirmation_token",
            )
        if content["expires_at"] < time.time():
            raise PlatformError(
                errors.TOKEN_EXPIRED,
                "this confirmation token has expired; ask again",
                field="confirmation_token",
            )
        try:
            await self._store.put(
                COLLECTION, token_id(token), {**content, "state": "claimed"}, stored.revision
            )
        except RevisionConflict:
            raise PlatformError(
                errors.TOKEN_USED,
                "this confirmation token was already used",
                field="confirmation_token",
            ) from None
        return Proposal(
            token,
            content["method"],
            content["arguments"],
            principal,
            content["conversation_id"],
            content["expires_at"],
        )


def _used() -> PlatformError:
    return PlatformError(
        errors.TOKEN_USED, "this confirmation token was already used", field="confirmation_token"
    )
