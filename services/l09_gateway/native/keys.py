"""The signing keys Envoy's jwt_authn verifies with, as one JWKS document.

The same keys as the process's JwtVerifier: the HS256 secret as an ``oct`` key, and the RSA
keys of the JWKS file (re-read when it changes) and of the JWKS URL (fetched again every
``refresh_seconds``; a failed fetch keeps the keys it had). Each key is pinned to its one
algorithm, so jwt_authn, like the verifier, never takes an RSA key for an HS256 secret.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt

from services.kit import get_logger

log = get_logger("l09.native.keys")

RETRY_SECONDS = 10.0


def _oct_key(secret: str) -> dict[str, Any]:
    encoded = base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode()
    return {"kty": "oct", "k": encoded, "alg": "HS256"}


def rsa_keys(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The RS256 signing keys of a JWKS document: RSA, not for encryption, alg RS256 or none
    given (then pinned to RS256)."""
    keys = []
    for key in document.get("keys", []):
        if not isinstance(key, dict) or key.get("kty") != "RSA" or key.get("use") == "enc":
            continue
        if key.get("alg", "RS256") != "RS256":
            continue
        keys.append({**key, "alg": "RS256"})
    return keys


class SigningKeys:
    def __init__(
        self,
        *,
        hs256_secret: str | None = None,
        jwks_file: Path | None = None,
        jwks_url: str | None = None,
        refresh_seconds: float = 300.0,
    ) -> None:
        self._secret = hs256_secret
        self._file = jwks_file
        self._file_stamp: tuple[int, int] | None = None
        self._file_keys: list[dict[str, Any]] = []
        self._url = jwks_url
        self._client = None
        if jwks_url:
            self._client = jwt.PyJWKClient(jwks_url, cache_jwk_set=False, timeout=5)
        self._url_keys: list[dict[str, Any]] = []
        self._refresh_seconds = refresh_seconds
        self._fetch_due = 0.0

    async def jwks(self) -> str | None:
        """The current JWKS (JSON, stable for equal keys), or None when there is no key."""
        self._read_file()
        if self._client is not None and time.monotonic() >= self._fetch_due:
            await self._fetch(self._client)
        keys = ([_oct_key(self._secret)] if self._secret else []) + self._file_keys + self._url_keys
        return json.dumps({"keys": keys}, sort_keys=True) if keys else None

    def _read_file(self) -> None:
        if self._file is None:
            return
        try:
            stat = self._file.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._file_stamp:
                self._file_keys = rsa_keys(json.loads(self._file.read_text()))
                self._file_stamp = stamp
        except (OSError, ValueError) as error:
            log.warning("keys.jwks_file_unreadable", path=str(self._file), error=str(error))

    async def _fetch(self, client: jwt.PyJWKClient) -> None:
        try:
            # PyJWKClient fetches synchronously: keep the event loop free meanwhile.
            document = await asyncio.to_thread(client.fetch_data)
            self._url_keys = rsa_keys(document)
            self._fetch_due = time.monotonic() + self._refresh_seconds
        except (jwt.PyJWKClientError, OSError, ValueError) as error:
            log.warning("keys.jwks_url_failed", url=self._url, error=str(error))
            self._fetch_due = time.monotonic() + min(RETRY_SECONDS, self._refresh_seconds)
