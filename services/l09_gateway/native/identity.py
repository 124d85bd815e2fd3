"""The identity filter (Lua): forwards the caller of a verified JWT as ext_authz would.

It runs after jwt_authn and rbac. For a verified JWT it sets the identity headers (principal,
roles, tier, RPC and, for tiers with limits, the metered tier the rate limit filter keys on),
replaces the JWT with the layers' service token, and marks the call in dynamic metadata so
that ext_authz is skipped. Anything unexpected in the claims (no usable subject, odd roles)
leaves the call unmarked: ext_authz then decides, as for any other credential.

In development it forwards the public dev tokens the same way (as ``Bearer <token>`` or
``x-api-key``), when the development roles may call every RPC: there is then nothing for
ext_authz to decide. In production the filter does not know them, and ext_authz refuses them.

It also spends the rate limit service's leases. When the service grants one (tiers with
large limits; see limits.py), the answer's dynamic metadata carries it, and the filter of
that worker keeps it: the caller's next calls to the same RPC each take a token from it, with
no metered-tier header, so Envoy does not ask the service, and get the ``x-ratelimit-*``
headers from the filter. A lease lasts a tenth of a second from its answer. Once half of it
is spent or half its time gone, one call it pays for asks for the next, so a steady caller
is not left without one. Every lease was taken from the Redis bucket when granted, so the
limits hold across workers and gateway instances as they do for API keys.
"""

from __future__ import annotations

from typing import Any

from services.kit.config import DEV_TOKENS
from services.l09_gateway.names import (
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
    PRINCIPAL_HEADER,
    RATELIMIT_FILTER,
    RENEWAL,
    ROLES_HEADER,
    RPC_HEADER,
    TIER_HEADER,
)
from services.l09_gateway.policy import Policy

LUA_TYPE = "envoy.extensions.filters.http.lua.v3.Lua"

_PASS = "function envoy_on_request(handle) end\n"

# Leases live in the worker's Lua state (module locals persist across its calls); a new
# configuration starts with none.
_LEASES = """
local leases, lease_count = {}, 0

local function remember(key, granted, now)
  local held = leases[key]
  if held ~= nil and held.left > 0 and held.expires > now then
    -- A renewal adds up with what is left: both were taken from the bucket.
    granted.left = held.left + granted.left
    granted.size = granted.left
    leases[key] = granted
    return granted
  end
  if held == nil then
    lease_count = lease_count + 1
    if lease_count > MAX_LEASES then  -- forget the expired leases of callers gone quiet
      lease_count = 1
      for held_key, other in pairs(leases) do
        if other.expires <= now then
          leases[held_key] = nil
        else
          lease_count = lease_count + 1
        end
      end
    end
  end
  leases[key] = granted
  return granted
end

local function ask(info, headers, key, tier)
  headers:replace(METERED_TIER_HEADER, tier)
  info:dynamicMetadata():set(LEASE_NAMESPACE, "key", key)
end

-- A token from the caller's lease; without one the metered-tier header makes the rate limit
-- filter ask the service, whose answer may carry a lease. Once half a lease is spent, or half
-- its time gone, one call it pays for also asks for the next (never refused: it is paid).
local function meter(handle, info, headers, key, tier)
  local now = handle:timestamp()
  local lease = leases[key]
  if lease == nil or lease.left <= 0 or lease.expires <= now then
    ask(info, headers, key, tier)
    return
  end
  lease.left = lease.left - 1
  local metadata = info:dynamicMetadata()
  if not lease.renewing
      and (lease.left * 2 < lease.size or (lease.expires - now) * 2 < lease.ttl) then
    lease.renewing = true
    headers:replace(LEASE_HEADER, RENEWAL)
    ask(info, headers, key, tier)
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
"""

# The principal rule of credentials.py (_SAFE_PRINCIPAL) as a Lua pattern.
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
  return principal, roles, tier
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
  return principal, DEV_ROLES, DEV_TIER
end

function envoy_on_request(handle)
  local info = handle:streamInfo()
  local headers = handle:headers()
  local principal, roles, tier
  local verified = info:dynamicMetadata():get(JWT_FILTER)
  if verified ~= nil and verified[PAYLOAD_KEY] ~= nil then
    principal, roles, tier = jwt_caller(verified[PAYLOAD_KEY])
  else
    principal, roles, tier = dev_caller(headers)
  end
  if principal == nil then return end
  local rpc = (headers:get(":path") or ""):match("^/([^?]*)")
  headers:replace(PRINCIPAL_HEADER, principal)
  headers:replace(ROLES_HEADER, roles)
  headers:replace(TIER_HEADER, tier)
  headers:replace(RPC_HEADER, rpc)
  if METERED_TIERS[tier] then
    meter(handle, info, headers, tier .. "|" .. principal .. "|" .. rpc, tier)
  end
  headers:replace("authorization", SERVICE_AUTHORIZATION)
  headers:remove("x-api-key")
  info:dynamicMetadata():set(NATIVE_NAMESPACE, NATIVE_KEY, principal)
end

function envoy_on_response(handle)
  local metadata = handle:streamInfo():dynamicMetadata()
  local call = metadata:get(LEASE_NAMESPACE)
  if call == nil then return end
  if call.limit ~= nil then  -- paid from a lease
    show(handle:headers(), call.limit, call.remaining)
    return
  end
  local answer = metadata:get(RATELIMIT_FILTER)
  if answer == nil or (answer[LEASE_TOKENS] or 0) <= 0 then return end
  local now = handle:timestamp()
  local held = remember(call.key, {
    left = answer[LEASE_TOKENS],
    size = answer[LEASE_TOKENS],
    base = answer[LEASE_REMAINING] - answer[LEASE_TOKENS],
    limit = answer[LEASE_LIMIT],
    most = answer[LEASE_MOST],
    ttl = answer[LEASE_TTL],
    expires = now + answer[LEASE_TTL],
    renewing = false,
  }, now)
  if call.renewal then  -- calls left include what was left of the lease that paid
    show(handle:headers(), held.limit, math.min(held.base + held.left, held.most))
  end
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
        "TIER_HEADER": lua_string(TIER_HEADER),
        "RPC_HEADER": lua_string(RPC_HEADER),
        "METERED_TIER_HEADER": lua_string(METERED_TIER_HEADER),
        "LEASE_HEADER": lua_string(LEASE_HEADER),
        "RENEWAL": lua_string(RENEWAL),
        "RATELIMIT_FILTER": lua_string(RATELIMIT_FILTER),
        "LEASE_NAMESPACE": lua_string(LEASE_NAMESPACE),
        "LEASE_TOKENS": lua_string(LEASE_TOKENS_KEY),
        "LEASE_TTL": lua_string(LEASE_TTL_KEY),
        "LEASE_REMAINING": lua_string(LEASE_REMAINING_KEY),
        "LEASE_LIMIT": lua_string(LEASE_LIMIT_KEY),
        "LEASE_MOST": lua_string(LEASE_MOST_KEY),
        "MAX_LEASES": "10000",
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
    return header + _LEASES + _BODY


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
