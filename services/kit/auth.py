"""Bearer-token authentication for layer servers, the gateway's service token, API keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from services.kit.config import DEV_TOKENS

# The authenticated principal of the call being served (for audit metadata).
current_principal: ContextVar[str] = ContextVar("current_principal", default="anonymous")
# Its roles, as the gateway forwarded them (empty when unknown).
current_roles: ContextVar[tuple[str, ...]] = ContextVar("current_roles", default=())
# The tenant the call being served acts in: the one its credential names, by default its
# principal (see BearerAuthInterceptor). Layers key what a tenant owns on this, never on a
# tenant named in a request body.
current_tenant: ContextVar[str] = ContextVar("current_tenant", default="anonymous")

# Who a call carrying the service token is from when it names no caller.
SERVICE_PRINCIPAL = "gateway"

# The role that may act for any tenant (named explicitly in the request). Direct callers
# holding a layer's own key (its production key, or the dev tokens) have it: that key already
# reaches everything the layer holds.
ADMIN_ROLE = "admin"

# Principals and tenants travel in headers: printable, no separators that would confuse a
# log parser or a storage key ("#" and "," are free for layers to join names with).
NAME_PATTERN = re.compile(r"[A-Za-z0-9@._:+\-/|]{1,256}")


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of the call being served."""

    principal: str
    tenant: str
    roles: tuple[str, ...]

    @property
    def admin(self) -> bool:
        return ADMIN_ROLE in self.roles


def current_caller() -> Caller:
    return Caller(current_principal.get(), current_tenant.get(), current_roles.get())


class TokenAuthenticator:
    """Maps bearer tokens to principals.

    With a production key configured only that key is accepted; otherwise the
    public development tokens are.
    """

    def __init__(
        self,
        production_key: str | None,
        principal: str = "service",
        service_token: str | None = None,
    ) -> None:
        self._tokens: Mapping[str, str] = (
            {production_key: principal} if production_key else dict(DEV_TOKENS)
        )
        # The gateway's token ($AGENTIC_SERVICE_TOKEN unless given): accepted in both modes.
        self._service_token = service_token or service_token_from_env()

    def is_service(self, authorization: str | None) -> bool:
        """True for the gateway's service token: the caller named in PRINCIPAL_HEADER is
        then the one to record."""
        return is_service_token(authorization, self._service_token)

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
        if self.is_service(authorization):
            return SERVICE_PRINCIPAL
        for known, principal in self._tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return principal
        return None


# -- the gateway's service credential --------------------------------------------------------

# The gateway authenticates callers itself and then calls the layers with this token,
# naming the caller in PRINCIPAL_HEADER, ROLES_HEADER and TENANT_HEADER (absent: the
# principal's own tenant). A layer trusts those headers only on calls that carry the service
# token; from anyone else they are ignored. A layer calling another on a caller's behalf
# sends the same three.
SERVICE_TOKEN_ENV = "AGENTIC_SERVICE_TOKEN"
PRINCIPAL_HEADER = "x-agentic-principal"
ROLES_HEADER = "x-agentic-roles"
# On calls to a layer that acts for its caller (``Layer.acts_for_caller``): the caller's own
# credential (``Bearer <key or JWT>``), which that layer presents when it calls the mesh on
# the caller's behalf, so that the gateway's policy applies to the caller, not to the mesh.
CALLER_AUTHORIZATION_HEADER = "x-agentic-caller-authorization"
TENANT_HEADER = "x-agentic-tenant"


def service_token_from_env() -> str | None:
    return os.environ.get(SERVICE_TOKEN_ENV) or None


def is_service_token(authorization: str | None, service_token: str | None) -> bool:
    """True if ``authorization`` is ``Bearer <service_token>`` (constant-time compare)."""
    if not authorization or not service_token:
        return False
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), service_token.encode())


def caller_of(authenticator: TokenAuthenticator, headers: Mapping[str, str]) -> Caller | None:
    """The caller a call's headers name, or None when its credential is refused.

    With the gateway's service token the caller is the one the gateway names in
    PRINCIPAL_HEADER, ROLES_HEADER and TENANT_HEADER (from anyone else those are ignored); with
    the layer's own key it is that key's operator, who reaches everything the layer holds.
    Served gRPC calls (BearerAuthInterceptor) and a layer's HTTP APIs read callers alike."""
    header = headers.get("authorization")
    principal = authenticator.principal_for(header)
    if principal is None:
        return None
    if authenticator.is_service(header):
        principal = headers.get(PRINCIPAL_HEADER) or principal
        roles = tuple(filter(None, headers.get(ROLES_HEADER, "").split(",")))
        return Caller(principal, headers.get(TENANT_HEADER) or principal, roles)
    return Caller(principal, principal, (ADMIN_ROLE,))


def act_as(caller: Caller) -> None:
    """Makes ``caller`` the one the current call is served for (``current_caller``)."""
    current_principal.set(caller.principal)
    current_roles.set(caller.roles)
    current_tenant.set(caller.tenant)


# -- API keys (hashed at rest) ------------------------------------------------------------------

API_KEY_PREFIX = "agk"


def hash_secret(secret: str) -> str:
    """SHA-256 of a key's secret. Keys are 256-bit random, so a fast hash is enough: nothing
    can be guessed from it, and the gateway can check a key on every request."""
    return hashlib.sha256(secret.encode()).hexdigest()


def split_api_key(key: str) -> tuple[str, str] | None:
    """``agk_<id>_<secret>`` -> (id, secret); None for anything else."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != API_KEY_PREFIX or not key_id or not secret:
        return None
    return key_id, secret


@dataclass(frozen=True)
class ApiKeyRecord:
    """One API key as stored: never the key itself, only its id and the secret's hash."""

    key_id: str
    principal: str
    roles: tuple[str, ...]
    tier: str
    secret_sha256: str
    created_at: str
    revoked_at: str | None = None
    tenant: str | None = None  # None: the principal's own tenant

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def caller_tenant(self) -> str:
        return self.tenant or self.principal

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(hash_secret(secret), self.secret_sha256)


class ApiKeyFile:
    """The gateway's API keys in one JSON file (mode 0600), written atomically.

    ``agentic keys create|list|revoke`` writes it; the L09 authz service reads it and
    reloads it when it changes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, ApiKeyRecord]:
        if not self.path.exists():
            return {}
        entries = json.loads(self.path.read_text() or "{}").get("keys", [])
        records = [ApiKeyRecord(**{**e, "roles": tuple(e["roles"])}) for e in entries]
        return {record.key_id: record for record in records}

    def _save(self, records: dict[str, ApiKeyRecord]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        body = {"keys": [{**asdict(r), "roles": list(r.roles)} for r in records.values()]}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(body, indent=2) + "\n")
        temporary.chmod(0o600)
        temporary.replace(self.path)  # readers see the old file or the new one, never half

    def create(
        self, principal: str, roles: tuple[str, ...], tier: str, tenant: str | None = None
    ) -> tuple[str, ApiKeyRecord]:
        """A new key: returns the key (shown once, never stored) and its record."""
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            key_id=key_id,
            principal=principal,
            roles=roles,
            tier=tier,
            secret_sha256=hash_secret(secret),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            tenant=tenant,
        )
        records = self.load()
        records[key_id] = record
        self._save(records)
        return f"{API_KEY_PREFIX}_{key_id}_{secret}", record

    def revoke(self, key_id: str) -> ApiKeyRecord | None:
        """Marks a key revoked (kept for the audit trail); None if there is no such key."""
        records = self.load()
        record = records.get(key_id)
        if record is None:
            return None
        if record.active:
            record = replace(record, revoked_at=datetime.now(UTC).isoformat(timespec="seconds"))
            records[key_id] = record
            self._save(records)
        return record
