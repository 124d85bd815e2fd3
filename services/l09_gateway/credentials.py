"""Who is calling: API keys, JWTs and (in development) the public dev tokens."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.kit.auth import (
    API_KEY_PREFIX,
    NAME_PATTERN,
    ApiKeyFile,
    ApiKeyRecord,
    split_api_key,
)
from services.kit.config import DEV_TOKENS
from services.l09_gateway.jwt_verify import JwtVerifier, TokenRejected
from services.l09_gateway.policy import Policy


class Unauthenticated(Exception):
    """No credential, or one that is malformed, unknown, expired or revoked."""


@dataclass(frozen=True)
class Identity:
    principal: str
    roles: tuple[str, ...]
    tier: str | None  # None: the policy's default tier
    kind: str  # "api_key", "jwt" or "dev_token"
    tenant: str  # what the layers bind the caller's tenant-owned resources to


def credential_from(headers: dict[str, str]) -> str | None:
    """The bearer token, else the ``x-api-key`` header."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if authorization:
        raise Unauthenticated("malformed authorization header: expected 'Bearer <token>'")
    return headers.get("x-api-key", "").strip() or None


class ApiKeys:
    """The key file, re-read when it changes (checked at most every ``reload_seconds``)."""

    def __init__(self, path: Path, reload_seconds: float = 1.0) -> None:
        self._file = ApiKeyFile(path)
        self._reload_seconds = reload_seconds
        self._records: dict[str, ApiKeyRecord] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked_at = float("-inf")

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._reload_seconds:
            return
        self._checked_at = now
        try:
            stat = self._file.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            self._records, self._stamp = {}, None
            return
        if stamp != self._stamp:
            self._records, self._stamp = self._file.load(), stamp

    def identify(self, key: str) -> Identity:
        parts = split_api_key(key)
        if parts is None:
            raise Unauthenticated("malformed API key")
        self._refresh()
        record = self._records.get(parts[0])
        if record is None or not record.matches(parts[1]):
            raise Unauthenticated("unknown API key")
        if not record.active:
            raise Unauthenticated(f"API key {record.key_id} was revoked")
        return Identity(
            record.principal, record.roles, record.tier, "api_key", record.caller_tenant
        )


class Authenticator:
    def __init__(
        self,
        keys: ApiKeys,
        jwt: JwtVerifier | None,
        development: Callable[[], Policy] | None,
    ) -> None:
        self._keys = keys
        self._jwt = jwt
        # The current policy, whose development roles and tier the dev tokens get (read per
        # call, as Envoy's native path does); None in production: dev tokens are refused.
        self._development = development

    async def identify(self, headers: dict[str, str]) -> Identity:
        credential = credential_from(headers)
        if credential is None:
            raise Unauthenticated(
                "missing credentials: send 'authorization: Bearer <API key or JWT>'"
            )
        if credential.startswith(f"{API_KEY_PREFIX}_"):
            identity = self._keys.identify(credential)
        elif credential.count(".") == 2:
            if self._jwt is None:
                raise Unauthenticated("JWTs are not accepted: no signing key is configured")
            try:
                claims = await self._jwt.verify(credential)
            except TokenRejected as error:
                raise Unauthenticated(f"invalid JWT: {error}") from None
            tenant = claims.tenant if claims.tenant is not None else claims.subject
            identity = Identity(claims.subject, claims.roles, claims.tier, "jwt", tenant)
        elif credential in DEV_TOKENS and self._development is not None:
            policy = self._development()
            roles, tier = policy.development_roles, policy.development_tier
            who = DEV_TOKENS[credential]
            identity = Identity(who, roles, tier, "dev_token", who)
        else:
            raise Unauthenticated("unknown credentials")
        if not NAME_PATTERN.fullmatch(identity.principal):
            raise Unauthenticated("the principal name has characters a header cannot carry")
        if not NAME_PATTERN.fullmatch(identity.tenant):
            raise Unauthenticated("the tenant name has characters a header cannot carry")
        return identity
