"""JWT verification: HS256 with a shared secret (development) or RS256 with a JWKS.

Each key type only accepts its own algorithm, so an RS256 public key can never be used as an
HS256 secret. ``exp`` is required; ``nbf``, the issuer and the audience are checked when
configured (the audience and issuer are required in the token when configured).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import jwt


class TokenRejected(Exception):
    """The token is malformed, wrongly signed, expired, not yet valid, or for someone else."""


@dataclass(frozen=True)
class Claims:
    subject: str
    roles: tuple[str, ...]
    tier: str | None
    tenant: str | None = None  # the "tenant" claim; None: the subject's own tenant


def _roles(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(role, str) for role in value):
        return tuple(value)
    return ()


class JwtVerifier:
    def __init__(
        self,
        *,
        hs256_secret: str | None = None,
        jwks_file: Path | None = None,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        leeway_seconds: float = 0.0,
    ) -> None:
        self._secret = hs256_secret
        self._jwks_file = jwks_file
        self._jwks: jwt.PyJWKSet | None = None
        if jwks_file is not None:
            self._jwks = self._read_jwks(jwks_file)
        # Fetched keys are cached; an unknown key id triggers one refetch.
        self._client = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    @staticmethod
    def _read_jwks(path: Path) -> jwt.PyJWKSet:
        return jwt.PyJWKSet.from_dict(json.loads(path.read_text()))

    def _from_file(self, kid: str | None) -> object | None:
        """The key for ``kid`` in the JWKS file; an unknown id re-reads the file once (keys
        are rotated by adding the new key to the file before tokens use it)."""
        for attempt in range(2):
            if self._jwks is None:
                return None
            for key in self._jwks.keys:
                if kid is None or key.key_id == kid:
                    return key.key
            if attempt == 0 and self._jwks_file is not None:
                try:
                    self._jwks = self._read_jwks(self._jwks_file)
                except (OSError, ValueError, jwt.PyJWTError):
                    return None
        return None

    @classmethod
    def configured(cls, **settings: object) -> JwtVerifier | None:
        """A verifier if any signing key is configured, else None (JWTs refused)."""
        keys = ("hs256_secret", "jwks_file", "jwks_url")
        if not any(settings.get(key) for key in keys):
            return None
        return cls(**settings)  # type: ignore[arg-type]

    async def _key(self, token: str, algorithm: str) -> object:
        if algorithm == "HS256":
            if self._secret is None:
                raise TokenRejected("HS256 tokens are not accepted")
            return self._secret
        if algorithm != "RS256":
            raise TokenRejected(f"algorithm {algorithm} is not accepted")
        kid = jwt.get_unverified_header(token).get("kid")
        found = self._from_file(kid)
        if found is not None:
            return found
        if self._client is not None:
            # PyJWKClient fetches synchronously: keep the event loop free meanwhile.
            signing = await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)
            return signing.key
        raise TokenRejected("no key for this token's key id")

    async def verify(self, token: str) -> Claims:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg", "")
            key = await self._key(token, algorithm)
            claims = jwt.decode(
                token,
                key,  # type: ignore[arg-type]
                algorithms=[algorithm],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={
                    "require": ["exp", "sub"]
                    + (["iss"] if self._issuer else [])
                    + (["aud"] if self._audience else []),
                    "verify_aud": self._audience is not None,
                },
            )
        except jwt.PyJWTError as error:
            raise TokenRejected(str(error)) from None
        tier, tenant = claims.get("tier"), claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise TokenRejected("the tenant claim must be a string")
        return Claims(
            str(claims["sub"]),
            _roles(claims.get("roles")),
            tier if isinstance(tier, str) else None,
            tenant,
        )
