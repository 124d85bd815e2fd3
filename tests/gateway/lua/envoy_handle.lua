-- A stand-in for what Envoy's Lua filter API gives a script (the parts the identity filter
-- uses: headers, dynamic metadata, the timestamp), recording what the script does, and a
-- loader that runs a script with undefined globals refused, so a misspelt name fails.
-- Envoy itself cannot be stepped through one call at a time with a chosen clock: the tests
-- of the whole gateway run the same script in the real Envoy.
local stub = {}

local function header_map(initial)
  local map = {values = {}}
  for name, value in pairs(initial) do map.values[name] = value end
  function map:get(name)
    return self.values[name]
  end
  -- Envoy takes a string or a number (as luaL_checkstring does); anything else is an error.
  function map:replace(name, value)
    assert(type(name) == "string", "header name must be a string")
    assert(type(value) == "string" or type(value) == "number", "bad value for " .. name)
    self.values[name] = tostring(value)
  end
  function map:remove(name)
    self.values[name] = nil
  end
  return map
end

-- The stream's dynamic metadata: shared by the request and the response handle of a call.
function stub.metadata(initial)
  local metadata = {namespaces = {}}
  for namespace, values in pairs(initial) do metadata.namespaces[namespace] = values end
  function metadata:get(namespace)
    return self.namespaces[namespace]
  end
  function metadata:set(namespace, key, value)
    assert(type(namespace) == "string" and type(key) == "string", "bad metadata key")
    assert(value ~= nil, "nil metadata value for " .. key)
    self.namespaces[namespace] = self.namespaces[namespace] or {}
    self.namespaces[namespace][key] = value
  end
  return metadata
end

function stub.handle(headers, metadata, now)
  local info = {}
  function info:dynamicMetadata() return metadata end
  local map = header_map(headers)
  local handle = {}
  function handle:headers() return map end
  function handle:streamInfo() return info end
  function handle:timestamp() return now end
  return handle
end

-- Runs a script as Envoy does (its globals are its entry points) in an environment that
-- refuses reads of undefined globals and writes of any but the entry points; returns it.
function stub.load(source, name)
  local chunk = assert(loadstring(source, name))
  local env = setmetatable({}, {
    __index = function(_, key)
      local value = _G[key]
      if value == nil then error("undefined global " .. tostring(key), 2) end
      return value
    end,
    __newindex = function(table, key, value)
      if key ~= "envoy_on_request" and key ~= "envoy_on_response" then
        error("assignment to undefined global " .. tostring(key), 2)
      end
      rawset(table, key, value)
    end,
  })
  setfenv(chunk, env)
  chunk()
  return env
end

return stub
