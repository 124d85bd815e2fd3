-- The REST guard: what Envoy's JSON transcoder would let through but the REST surface refuses.
-- It runs just before the transcoder, on REST requests only (gRPC, gRPC-Web and CORS preflights
-- pass at once):
--
-- * a known path with a method it does not take: 405 with `allow` listing the methods it
--   takes (the transcoder would answer 404, as for a path nobody serves);
-- * a JSON body with a key twice in one object (the transcoder would append both arrays, or
--   keep the last value), a key that is no field of the message (the transcoder would drop
--   it; the JSON mapping refuses unknown fields), or a value other than an array (or null) for
--   a repeated field (the transcoder would take it as a list of one): 400 naming the key.
--
-- Anything else it passes on unchanged, malformed JSON included: the transcoder refuses that
-- with its own message. The body is not parsed into values, only scanned once.
--
-- Injected before this script (render/rest_guard.py, from the descriptor set):
--   BINDINGS   list of {verb, pattern (a Lua pattern of the path), shape of the body or false,
--              whether the template ends in a custom verb (":append")}
--   CUSTOM_VERBS  the set of those custom verbs
--   MESSAGES   message name -> {field name -> shape}, every field of the messages a body holds
--   FREE       the shape of a scalar field or of a well-known type (any JSON)
--   ALIASES    JSON name -> field name, where they differ (both spell one key)
--   MAX_DEPTH  nesting at which the scan stops and leaves the body to the transcoder
-- A shape is {kind = "message" | "list" | "map", message = name or false}.

local find, sub, byte = string.find, string.sub, string.byte
local concat, sort = table.concat, table.sort

-- Raised (as error values) to stop the scan: a refusal, or "leave it to the transcoder".
local PASS = {}

local function refuse(message)
  error({ refusal = message }, 0)
end

-- Where the scan is (keys and array indexes), kept as a stack so that a path is only made
-- into a string when a refusal names it.
local where, height = {}, 0

local function path_here()
  local parts = {}
  for index = 1, height do
    local step = where[index]
    if type(step) == "number" then
      parts[#parts + 1] = "[" .. step .. "]"
    elseif #parts == 0 then
      parts[1] = step
    else
      parts[#parts + 1] = "." .. step
    end
  end
  return concat(parts)
end

-- The scan reads byte by byte: LuaJIT compiles byte() loops, not pattern searches.
local function skip_space(text, pos)
  local next_byte = byte(text, pos)
  while next_byte == 32 or next_byte == 10 or next_byte == 13 or next_byte == 9 do
    pos = pos + 1
    next_byte = byte(text, pos)
  end
  return pos
end

-- pos is at the opening quote; returns the position after the closing one.
local function string_end(text, pos)
  pos = pos + 1
  while true do
    local next_byte = byte(text, pos)
    if next_byte == 34 then return pos + 1 end
    if next_byte == nil then error(PASS, 0) end
    if next_byte == 92 then pos = pos + 1 end -- an escape: skip the escaped character
    pos = pos + 1
  end
end

-- A number, true, false or null: letters, digits, ".", "+" and "-".
local function literal_end(text, pos)
  local start = pos
  while true do
    local b = byte(text, pos)
    if b == nil or not ((b >= 48 and b <= 57) or (b >= 97 and b <= 122) or (b >= 65 and b <= 90)
        or b == 46 or b == 43 or b == 45) then
      break
    end
    pos = pos + 1
  end
  if pos == start then error(PASS, 0) end
  return pos
end

local function element_shape(shape)
  if shape ~= nil and shape.message then return { kind = "message", message = shape.message } end
  return nil
end

local function kind_of(byte_value)
  if byte_value == 123 then return "an object" end
  if byte_value == 34 then return "a string" end
  if byte_value == 116 or byte_value == 102 then return "a boolean" end
  return "a number"
end

local scan_value

-- An object: a message (its keys are fields, JSON name or proto name), a map (keys are map
-- keys) or free JSON (a Struct). Refuses a key given twice, and in a message a key that is no
-- field of it.
local function scan_object(text, pos, shape, depth)
  local fields = shape ~= nil and shape.kind == "message" and MESSAGES[shape.message] or nil
  local in_message = shape ~= nil and shape.kind == "message"
  local values = shape ~= nil and shape.kind == "map" and element_shape(shape) or nil
  local seen = {}
  pos = skip_space(text, pos + 1)
  if byte(text, pos) == 125 then return pos + 1 end
  while true do
    if byte(text, pos) ~= 34 then error(PASS, 0) end
    local after = string_end(text, pos)
    local key = sub(text, pos + 1, after - 2)
    pos = after
    local name = in_message and ALIASES[key] or key
    height = height + 1
    where[height] = key
    if seen[name] then refuse("body key \"" .. path_here() .. "\" appears twice") end
    seen[name] = true
    pos = skip_space(text, pos)
    if byte(text, pos) ~= 58 then error(PASS, 0) end
    local inner = values
    if fields ~= nil then
      inner = fields[name]
      if inner == nil then
        refuse("body field \"" .. path_here() .. "\" is not a field of " .. shape.message)
      end
    end
    pos = scan_value(text, pos + 1, inner, depth + 1)
    height = height - 1
    pos = skip_space(text, pos)
    local next_byte = byte(text, pos)
    if next_byte == 125 then return pos + 1 end
    if next_byte ~= 44 then error(PASS, 0) end
    pos = skip_space(text, pos + 1)
  end
end

local function scan_array(text, pos, shape, depth)
  local each = shape ~= nil and shape.kind == "list" and element_shape(shape) or nil
  pos = skip_space(text, pos + 1)
  if byte(text, pos) == 93 then return pos + 1 end
  local index = 0
  height = height + 1
  while true do
    where[height] = index
    pos = scan_value(text, pos, each, depth + 1)
    pos = skip_space(text, pos)
    local next_byte = byte(text, pos)
    if next_byte == 93 then
      height = height - 1
      return pos + 1
    end
    if next_byte ~= 44 then error(PASS, 0) end
    pos = pos + 1
    index = index + 1
  end
end

scan_value = function(text, pos, shape, depth)
  if depth > MAX_DEPTH then error(PASS, 0) end
  pos = skip_space(text, pos)
  local first = byte(text, pos)
  if first == 91 then return scan_array(text, pos, shape, depth) end
  if shape ~= nil and shape.kind == "list" and sub(text, pos, pos + 3) ~= "null" then
    if first == nil then error(PASS, 0) end
    local kind = kind_of(first)
    refuse("body field \"" .. path_here() .. "\" is repeated: it takes a JSON array, not " .. kind)
  end
  if first == 123 then return scan_object(text, pos, shape, depth) end
  if first == 34 then return string_end(text, pos) end
  return literal_end(text, pos)
end

-- Returns the refusal for the body, or nil.
local function body_refusal(text, shape)
  height = 0
  local ok, err = pcall(function()
    local pos = scan_value(text, 1, shape or nil, 0)
    if skip_space(text, pos) <= #text then error(PASS, 0) end
  end)
  if ok or type(err) ~= "table" then return nil end
  return err.refusal
end

local function path_only(path)
  local query = find(path, "?", 1, true)
  if query ~= nil then return sub(path, 1, query - 1) end
  return path
end

-- As the transcoder reads a path: a last segment ending in a known custom verb matches only
-- templates with one ("/v1/streams/s:append" is not "/v1/streams/{stream_id}").
local function has_custom_verb(path)
  local _, _, verb = find(path, ":([^/:]*)$")
  return verb ~= nil and CUSTOM_VERBS[verb] == true
end

-- The body shapes of the bindings of `verb` that match `path`, and the methods of the others.
local function match(verb, path)
  local shapes, others, allowed = {}, {}, false
  local custom = has_custom_verb(path)
  for _, binding in ipairs(BINDINGS) do
    if binding[4] == custom and find(path, binding[2]) then
      if binding[1] == verb then
        allowed = true
        shapes[#shapes + 1] = binding[3]
      else
        others[binding[1]] = true
      end
    end
  end
  return allowed, shapes, others
end

local function allow_header(others)
  local verbs = {}
  for verb in pairs(others) do verbs[#verbs + 1] = verb end
  sort(verbs)
  return concat(verbs, ", ")
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local content_type = headers:get("content-type") or ""
  if find(content_type, "application/grpc", 1, true) == 1 then return end
  local verb = headers:get(":method")
  -- CORS preflights have a route of their own, answered by the CORS filter.
  if verb == "OPTIONS" then return end
  local path = path_only(headers:get(":path") or "")
  local allowed, shapes, others = match(verb, path)
  if not allowed then
    if next(others) ~= nil then
      local allow = allow_header(others)
      handle:respond(
        { [":status"] = "405", ["allow"] = allow },
        verb .. " is not allowed on " .. path .. "; it takes " .. allow
      )
    end
    return
  end
  -- One binding: its shape; several (overlapping templates): only the duplicate keys are
  -- checked, since which one the transcoder picks is its business.
  if #shapes == 1 and shapes[1] == false then return end -- the method takes no body
  local shape = nil
  if #shapes == 1 then shape = shapes[1] end
  local body = handle:body()
  if body == nil or body:length() == 0 then return end
  local refusal = body_refusal(body:getBytes(0, body:length()), shape)
  if refusal ~= nil then
    handle:respond({ [":status"] = "400" }, refusal)
  end
end
