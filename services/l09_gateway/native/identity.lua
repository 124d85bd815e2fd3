-- The identity filter of the L09 gateway (an Envoy Lua filter, run by LuaJIT): forwards the
-- caller of a verified JWT, a dev token or an API key ext_authz vouched for, and spends the
-- rate limit service's leases. services/l09_gateway/native/identity.py says what it does and
-- injects the names in CAPITALS below as `local` lines before this file (see source() there).
-- tests/gateway/test_identity_lua.py runs it against a stub of Envoy's handle.

-- How long a worker waits for a lease it asked for before asking again, and how many vouchers
-- or leases it holds before it forgets expired ones.
local WAIT_MS = 1000
local MAX_ENTRIES = 10000

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

-- Module locals persist across a worker's calls: the vouchers and leases it holds.
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

-- The principal rule of credentials.py (_SAFE_PRINCIPAL) as a Lua pattern.
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

-- A layer that calls the mesh for its caller gets the caller's own credential too.
local function acts_for_caller(rpc)
  for _, prefix in ipairs(CALLER_RPC_PREFIXES) do
    if rpc:sub(1, #prefix) == prefix then return true end
  end
  return false
end

function envoy_on_request(handle)
  local info = handle:streamInfo()
  local headers = handle:headers()
  local now = handle:timestamp()
  local rpc = (headers:get(":path") or ""):match("^/([^?]*)") or ""
  -- A compatible API's path is the L04 RPC it maps to: the voucher, limits and RPC header
  -- of that RPC, as ext_authz checks it.
  rpc = COMPAT_RPCS[(rpc:gsub("/+$", ""))] or rpc
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
  if acts_for_caller(rpc) then
    headers:replace(CALLER_HEADER, headers:get("authorization")
      or ("Bearer " .. (headers:get("x-api-key") or "")))
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
