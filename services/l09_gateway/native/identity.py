"""The identity filter (Lua): forwards the caller of a verified JWT as ext_authz would.

It runs after jwt_authn and rbac. For a verified JWT it sets the identity headers (principal,
roles, tenant (the ``tenant`` claim, else the subject), tier, RPC and, for tiers with limits,
the metered tier the rate limit filter keys on), replaces the JWT with the layers' service
token, and marks the call in dynamic metadata so that ext_authz is skipped. Anything
unexpected in the claims (no usable subject or tenant, odd roles) leaves the call unmarked:
ext_authz then decides, as for any other credential.

In development it forwards the public dev tokens the same way (as ``Bearer <token>`` or
``x-api-key``), when the development roles may call every RPC: there is then nothing for
ext_authz to decide. In production the filter does not know them, and ext_authz refuses them.

API keys: when ext_authz allows one, its answer vouches for the caller (dynamic metadata) for
a quarter of a second, and the filter of that worker forwards the same key's further calls
to the same RPC the same way, with no hop to ext_authz; their limits then go through the rate
limit filter, as a JWT caller's do. A key sent otherwise than as ``Bearer agk_...`` or, with
no authorization header, ``x-api-key: agk_...`` always goes to ext_authz. A compatible API's
path (``/openai/v1/chat/completions``) counts as the L04 RPC it maps to (compat/paths.py),
as ext_authz checks it: the key's voucher and limits for that RPC cover it.

It also spends the rate limit service's leases. When the service grants one (tiers with
large limits; see limits.py), the answer's dynamic metadata carries it, and the filter of
that worker keeps it: the caller's next calls to the same RPC each take a token from it, with
no metered-tier header, so Envoy does not ask the service, and get the ``x-ratelimit-*``
headers from the filter. A lease lasts half a second from its answer. Once half of it
is spent or half its time gone, one call it pays for asks for the next, so a steady caller
is not left without one. While a worker waits for a lease (taken up when the response of the
call that asked starts), its other calls for the key take their own token only. Every lease
was taken from the Redis bucket when granted, so the limits hold across workers and gateway
instances.

Vouchers and leases live in the worker's Lua state; a new configuration (an edited policy,
for one) starts with none.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from services.kit.compat_paths import AUTHORIZED_AS
from services.kit.config import DEV_TOKENS
from services.l09_gateway.names import (
    CALLER_HEADER,
    CALLER_RPC_PREFIXES,
    EXT_AUTHZ_FILTER,
    JWT_AUTHN_FILTER,
    JWT_PAYLOAD_KEY,
    LEASE_HEADER,
    LEASE_LIMIT_KEY,
    LEASE_MOST_KEY,
    LEASE_NAMESPACE,
    LEASE_REMAINING_KEY,
    LEASE_TOKENS_KEY,
    LEASE_TTL_KEY,
    METERED_TIER_HEADER,
    NATIVE_AUTH_NAMESPACE,
    NATIVE_PRINCIPAL_KEY,
    NO_LEASE,
    PRINCIPAL_HEADER,
    RATELIMIT_FILTER,
    RENEWAL,
    ROLES_HEADER,
    RPC_HEADER,
    TENANT_HEADER,
    TIER_HEADER,
    VOUCH_MS_KEY,
    VOUCH_NAMESPACE,
    VOUCH_PRINCIPAL_KEY,
    VOUCH_ROLES_KEY,
    VOUCH_TENANT_KEY,
    VOUCH_TIER_KEY,
)
from services.l09_gateway.policy import Policy

LUA_TYPE = "envoy.extensions.filters.http.lua.v3.Lua"

_PASS = "function envoy_on_request(handle) end\n"

# The filter's code; source() puts the constants it reads before it.
_SCRIPT = resources.files(__package__).joinpath("identity.lua").read_text()


def lua_string(value: str) -> str:
    """A Lua string literal (LuaJIT: no \\u escapes, so control characters are \\ddd)."""
    escaped = []
    for char in value:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 32 or ord(char) == 127:
            escaped.append(f"\\{ord(char):03d}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _set(names: list[str]) -> str:
    return "{" + ", ".join(f"[{lua_string(name)}] = true" for name in names) + "}"


def _dev_tokens(policy: Policy, development: bool) -> dict[str, str]:
    """The dev tokens the filter forwards: none in production, and none when the development
    roles may not call everything (ext_authz then checks each call against them)."""
    everything = any("*" in policy.patterns.get(r, ()) for r in policy.development_roles)
    return dict(DEV_TOKENS) if development and everything else {}


def _table(entries: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in entries.items()) + "}"


def source(service_token: str, policy: Policy, development: bool = False) -> str:
    dev_tokens = _dev_tokens(policy, development)
    constants = {
        "JWT_FILTER": lua_string(JWT_AUTHN_FILTER),
        "PAYLOAD_KEY": lua_string(JWT_PAYLOAD_KEY),
        "PRINCIPAL_HEADER": lua_string(PRINCIPAL_HEADER),
        "ROLES_HEADER": lua_string(ROLES_HEADER),
        "TENANT_HEADER": lua_string(TENANT_HEADER),
        "TIER_HEADER": lua_string(TIER_HEADER),
        "RPC_HEADER": lua_string(RPC_HEADER),
        "METERED_TIER_HEADER": lua_string(METERED_TIER_HEADER),
        "LEASE_HEADER": lua_string(LEASE_HEADER),
        "RENEWAL": lua_string(RENEWAL),
        "NO_LEASE": lua_string(NO_LEASE),
        "RATELIMIT_FILTER": lua_string(RATELIMIT_FILTER),
        "LEASE_NAMESPACE": lua_string(LEASE_NAMESPACE),
        "LEASE_TOKENS": lua_string(LEASE_TOKENS_KEY),
        "LEASE_TTL": lua_string(LEASE_TTL_KEY),
        "LEASE_REMAINING": lua_string(LEASE_REMAINING_KEY),
        "LEASE_LIMIT": lua_string(LEASE_LIMIT_KEY),
        "LEASE_MOST": lua_string(LEASE_MOST_KEY),
        "EXT_AUTHZ_FILTER": lua_string(EXT_AUTHZ_FILTER),
        "VOUCH_NAMESPACE": lua_string(VOUCH_NAMESPACE),
        "VOUCH_MS": lua_string(VOUCH_MS_KEY),
        "VOUCH_PRINCIPAL": lua_string(VOUCH_PRINCIPAL_KEY),
        "VOUCH_ROLES": lua_string(VOUCH_ROLES_KEY),
        "VOUCH_TIER": lua_string(VOUCH_TIER_KEY),
        "VOUCH_TENANT": lua_string(VOUCH_TENANT_KEY),
        "NATIVE_NAMESPACE": lua_string(NATIVE_AUTH_NAMESPACE),
        "NATIVE_KEY": lua_string(NATIVE_PRINCIPAL_KEY),
        "SERVICE_AUTHORIZATION": lua_string(f"Bearer {service_token}"),
        "CALLER_HEADER": lua_string(CALLER_HEADER),
        "CALLER_RPC_PREFIXES": "{" + ", ".join(lua_string(p) for p in CALLER_RPC_PREFIXES) + "}",
        "COMPAT_RPCS": _table({path.lstrip("/"): rpc for path, rpc in AUTHORIZED_AS.items()}),
        "DEFAULT_TIER": lua_string(policy.tier(None).name),
        "KNOWN_TIERS": _set(sorted(policy.tiers)),
        "METERED_TIERS": _set(sorted(n for n, t in policy.tiers.items() if not t.unlimited)),
        "DEV_BEARERS": _table({f"Bearer {t}": who for t, who in dev_tokens.items()}),
        "DEV_KEYS": _table(dev_tokens),
        "DEV_ROLES": lua_string(",".join(policy.development_roles)),
        "DEV_TIER": lua_string(policy.tier(policy.development_tier).name),
    }
    header = "".join(f"local {name} = {value}\n" for name, value in constants.items())
    return header + _SCRIPT


def config(
    service_token: str | None, policy: Policy | None, development: bool = False
) -> dict[str, Any]:
    """The filter's configuration; without a token or policy it forwards nothing (the
    default until the L09 process sends the real one)."""
    if service_token is None or policy is None:
        code = _PASS
    else:
        code = source(service_token, policy, development)
    return {
        "@type": f"type.googleapis.com/{LUA_TYPE}",
        "default_source_code": {"inline_string": code},
    }
