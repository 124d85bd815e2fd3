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
no authorization header, ``x-api-key: agk_...`` always goes to ext_authz.

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

from typing import Any

from services.kit.config import DEV_TOKENS
from services.l09_gateway.names import (
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

# Module locals persist across a worker's calls: the vouchers and leases it holds.
_STATE = """
local function store()
  return {entries = {}, count = 0}
end

-- Keeps a value (with an ``expires`` field) under key; forgets the expired ones of callers
-- gone quiet when the store grows past MAX_ENTRIES.
local function keep(held, key, value, now)
  if held.entries[key] == nil then
    held.count = held.count + 1
    if held.count > MAX_ENTRIES then
      held.count = 1
      for other_key, other in pairs(held.entries) do
        if other.expires <= now then
          held.entries[other_key] = nil
        else
          held.count = held.count + 1
        end
      end
    end
  end
  held.entries[key] = value
end

local function drop(held, key)
  if held.entries[key] ~= nil then
    held.entries[key] = nil
    held.count = held.count - 1
  end
end

local function fresh(held, key, now)
  local value = held.entries[key]
  if value ~= nil and value.expires > now then return value end
  return nil
end

-- pending: the keys whose lease this worker has asked for and not yet received.
local vouchers, leases, pending = store(), store(), store()

-- The API key of a call, in the two shapes ext_authz reads the same way; nil otherwise.
local function api_key(headers)
  local authorization = headers:get("authorization")
  if authorization ~= nil then return authorization:match("^Bearer (agk_[%w_-]+)$") end
  return (headers:get("x-api-key") or ""):match("^agk_[%w_-]+$")
end

local function ask(info, headers, key, tier)
  headers:replace(METERED_TIER_HEADER, tier)
  info:dynamicMetadata():set(LEASE_NAMESPACE, "key", key)
end

-- This call asks for the key's next lease; until its answer the others take a token each.
local function ask_lease(info, key, now)
  keep(pending, key, {expires = now + WAIT_MS}, now)
  info:dynamicMetadata():set(LEASE_NAMESPACE, "wants", true)
end

-- A token from the caller's lease; without one the metered-tier header makes the rate limit
-- filter ask the service, whose answer may carry a lease. Once half a lease is spent, or half
-- its time gone, one call it pays for also asks for the next (never refused: it is paid).
local function meter(info, headers, key, tier, now)
  local lease = fresh(leases, key, now)
  if lease == nil or lease.left <= 0 then
    if fresh(pending, key, now) ~= nil then
      headers:replace(LEASE_HEADER, NO_LEASE)
    else
      ask_lease(info, key, now)
    end
    ask(info, headers, key, tier)
    return
  end
  lease.left = lease.left - 1
  local metadata = info:dynamicMetadata()
  if not lease.renewing and fresh(pending, key, now) == nil
      and (lease.left * 2 < lease.size or (lease.expires - now) * 2 < lease.ttl) then
    lease.renewing = true
    headers:replace(LEASE_HEADER, RENEWAL)
    ask(info, headers, key, tier)
    ask_lease(info, key, now)
    metadata:set(LEASE_NAMESPACE, "renewal", true)
    return
  end
  metadata:set(LEASE_NAMESPACE, "limit", lease.limit)
  metadata:set(LEASE_NAMESPACE, "remaining", math.min(lease.base + lease.left, lease.most))
end

-- The headers the rate limit filter sends on the calls it checks.
local function show(headers, limit, remaining)
  headers:replace("x-ratelimit-limit", limit)
  headers:replace("x-ratelimit-remaining", string.format("%d", remaining))
  headers:replace("x-ratelimit-reset", "0")
end

-- A lease in the rate limit service's answer; a renewal adds up with what is left of the
-- lease that paid for it (both were taken from the bucket).
local function take_lease(handle, metadata, call, now)
  if call.limit ~= nil then  -- paid from a lease
    show(handle:headers(), call.limit, call.remaining)
    return
  end
  if call.wants then drop(pending, call.key) end
  local answer = metadata:get(RATELIMIT_FILTER)
  if answer == nil or (answer[LEASE_TOKENS] or 0) <= 0 then return end
  local lease = {
    left = answer[LEASE_TOKENS],
    base = answer[LEASE_REMAINING] - answer[LEASE_TOKENS],
    limit = answer[LEASE_LIMIT],
    most = answer[LEASE_MOST],
    ttl = answer[LEASE_TTL],
    expires = now + answer[LEASE_TTL],
    renewing = false,
  }
  local held = fresh(leases, call.key, now)
  if held ~= nil and held.left > 0 then lease.left = lease.left + held.left end
  lease.size = lease.left
  keep(leases, call.key, lease, now)
  if call.renewal then
    show(handle:headers(), lease.limit, math.min(lease.base + lease.left, lease.most))
  end
end

-- ext_authz's voucher for an API key it allowed on this RPC.
local function take_voucher(metadata, asked, now)
  local answer = metadata:get(EXT_AUTHZ_FILTER)
  if answer == nil or answer[VOUCH_MS] == nil then return end
  keep(vouchers, asked.key, {
    principal = answer[VOUCH_PRINCIPAL],
    roles = answer[VOUCH_ROLES],
    tier = answer[VOUCH_TIER],
    tenant = answer[VOUCH_TENANT],
    expires = now + answer[VOUCH_MS],
  }, now)
end
"""

# The name rule of principals and tenants (services.kit.auth.NAME_PATTERN) as a Lua pattern.
_BODY = """
local function roles_of(value)
  if type(value) == "string" then
    local roles = {}
    for role in value:gmatch("%S+") do roles[#roles + 1] = role end
    return table.concat(roles, ",")
  end
  if type(value) ~= "table" then return nil end
  for _, role in ipairs(value) do
    if type(role) ~= "string" then return nil end
  end
  return table.concat(value, ",")
end

local function jwt_caller(claims)
  local principal = claims["sub"]
  if type(principal) ~= "string" or #principal > 256
      or not principal:match("^[%w@._:+/|-]+$") then
    return nil
  end
  local roles = roles_of(claims["roles"])
  if roles == nil or roles == "" then return nil end
  local tier = claims["tier"]
  if type(tier) ~= "string" or KNOWN_TIERS[tier] == nil then tier = DEFAULT_TIER end
  local tenant = claims["tenant"]
  if tenant == nil then
    tenant = principal
  elseif type(tenant) ~= "string" or #tenant > 256 or not tenant:match("^[%w@._:+/|-]+$") then
    return nil
  end
  return principal, roles, tier, tenant
end

local function dev_caller(headers)
  local authorization = headers:get("authorization")
  local principal
  if authorization ~= nil then
    principal = DEV_BEARERS[authorization]
  else
    principal = DEV_KEYS[headers:get("x-api-key") or ""]
  end
  if principal == nil then return nil end
  return principal, DEV_ROLES, DEV_TIER, principal
end

function envoy_on_request(handle)
  local info = handle:streamInfo()
  local headers = handle:headers()
  local now = handle:timestamp()
  local rpc = (headers:get(":path") or ""):match("^/([^?]*)") or ""
  local principal, roles, tier, tenant
  local verified = info:dynamicMetadata():get(JWT_FILTER)
  if verified ~= nil and verified[PAYLOAD_KEY] ~= nil then
    principal, roles, tier, tenant = jwt_caller(verified[PAYLOAD_KEY])
  else
    principal, roles, tier, tenant = dev_caller(headers)
  end
  if principal == nil then
    local key = api_key(headers)
    if key == nil then return end
    local voucher = fresh(vouchers, key .. " " .. rpc, now)
    if voucher == nil then  -- ext_authz decides, and may vouch for the next calls
      info:dynamicMetadata():set(VOUCH_NAMESPACE, "key", key .. " " .. rpc)
      return
    end
    principal, roles, tier = voucher.principal, voucher.roles, voucher.tier
    tenant = voucher.tenant
  end
  headers:replace(PRINCIPAL_HEADER, principal)
  headers:replace(ROLES_HEADER, roles)
  headers:replace(TENANT_HEADER, tenant)
  headers:replace(TIER_HEADER, tier)
  headers:replace(RPC_HEADER, rpc)
  if METERED_TIERS[tier] then
    meter(info, headers, tier .. "|" .. principal .. "|" .. rpc, tier, now)
  end
  headers:replace("authorization", SERVICE_AUTHORIZATION)
  headers:remove("x-api-key")
  info:dynamicMetadata():set(NATIVE_NAMESPACE, NATIVE_KEY, principal)
end

function envoy_on_response(handle)
  local metadata = handle:streamInfo():dynamicMetadata()
  local call = metadata:get(LEASE_NAMESPACE)
  local asked = metadata:get(VOUCH_NAMESPACE)
  if call == nil and asked == nil then return end
  local now = handle:timestamp()
  if call ~= nil then take_lease(handle, metadata, call, now) end
  if asked ~= nil then take_voucher(metadata, asked, now) end
end
"""


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
        "WAIT_MS": "1000",
        "RATELIMIT_FILTER": lua_string(RATELIMIT_FILTER),
        "LEASE_NAMESPACE": lua_string(LEASE_NAMESPACE),
        "LEASE_TOKENS": lua_string(LEASE_TOKENS_KEY),
        "LEASE_TTL": lua_string(LEASE_TTL_KEY),
        "LEASE_REMAINING": lua_string(LEASE_REMAINING_KEY),
        "LEASE_LIMIT": lua_string(LEASE_LIMIT_KEY),
        "LEASE_MOST": lua_string(LEASE_MOST_KEY),
        "MAX_ENTRIES": "10000",
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
        "DEFAULT_TIER": lua_string(policy.tier(None).name),
        "KNOWN_TIERS": _set(sorted(policy.tiers)),
        "METERED_TIERS": _set(sorted(n for n, t in policy.tiers.items() if not t.unlimited)),
        "DEV_BEARERS": _table({f"Bearer {t}": who for t, who in dev_tokens.items()}),
        "DEV_KEYS": _table(dev_tokens),
        "DEV_ROLES": lua_string(",".join(policy.development_roles)),
        "DEV_TIER": lua_string(policy.tier(policy.development_tier).name),
    }
    header = "".join(f"local {name} = {value}\n" for name, value in constants.items())
    return header + _STATE + _BODY


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
