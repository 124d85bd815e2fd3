-- The global names a chunk reads and writes, its nested functions included, from LuaJIT's
-- bytecode: what a linter's undefined-variable check looks at, for every path of the code.
local util = require("jit.util")

local function instructions(func)
  return function(_, pc)
    pc = pc + 1
    local ins = util.funcbc(func, pc)
    if ins ~= nil then return pc, bit.band(ins, 0xff), bit.rshift(ins, 16) end
  end, nil, 0
end

-- A global's name is the string constant its instruction's D operand points at.
local function name_of(func, operand)
  return util.funck(func, -operand - 1)
end

-- The opcode naming the global "probe" in a one-line chunk: no table of opcode numbers needed.
local function opcode(source)
  local func = assert(loadstring(source))
  for _, op, operand in instructions(func) do
    if name_of(func, operand) == "probe" then return op end
  end
end

local GGET, GSET = opcode("return probe"), opcode("probe = true")

local function scan(func, reads, writes)
  for _, op, operand in instructions(func) do
    if op == GGET then reads[name_of(func, operand)] = true end
    if op == GSET then writes[name_of(func, operand)] = true end
  end
  local index = -1
  while true do
    local constant = util.funck(func, index)
    if constant == nil then break end
    if type(constant) == "proto" then scan(constant, reads, writes) end
    index = index - 1
  end
end

return function(source, name)
  local reads, writes = {}, {}
  scan(assert(loadstring(source, name)), reads, writes)
  return reads, writes
end
