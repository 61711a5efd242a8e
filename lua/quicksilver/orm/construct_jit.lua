--- orm/construct_jit.lua: core.new_instance, core.check_members and
--- core.link_members (c/orm/construct.c) written in Lua, for LuaJIT: there
--- a C function called per object stops the trace and does each table
--- access through the C API, so a new object costs more than the same
--- work in Lua (the construct phase of the insert benchmark: 132k
--- instructions per customer and its ten orders in C, fewer here). Same
--- arguments, same results (spec/orm/construct_spec.lua runs both).
local core = require("quicksilver.core")

local M = {}

local rawget, rawset, setmetatable, getmetatable, next, type, rawequal =
  rawget, rawset, setmetatable, getmetatable, next, type, rawequal
local CS = core.construct_spec_fields
local C_MAPPER, C_STATE_MT, C_STATE_KEY, C_INDEX, C_NEWINDEX, C_TOSTRING, C_DIRECT, C_NULL, C_POLY_KEY,
  C_POLY_VALUE = CS.mapper, CS.state_mt, CS.state_key, CS.index, CS.newindex, CS.tostring, CS.direct,
  CS.null, CS.poly_key, CS.poly_value

--- core.new_instance(spec, fields) -> obj, state, rest (c/orm/construct.c).
function M.new_instance(spec, fields)
  local obj = {}
  local dict = {__newindex = spec[C_NEWINDEX], __tostring = spec[C_TOSTRING]}
  dict.__index = dict
  local st = {mapper = spec[C_MAPPER], obj = obj, dict = dict, __index = spec[C_INDEX]}
  setmetatable(st, spec[C_STATE_MT])
  obj[spec[C_STATE_KEY]] = st
  setmetatable(dict, st)
  setmetatable(obj, dict)
  local pk = spec[C_POLY_KEY]
  if pk ~= nil then dict[pk] = spec[C_POLY_VALUE] end
  if fields == nil then return obj, st, false end
  if type(fields) ~= "table" or getmetatable(fields) ~= nil or rawget(fields, spec[C_STATE_KEY]) ~= nil then
    return obj, st, true
  end
  local direct, null = spec[C_DIRECT], spec[C_NULL]
  for k, v in next, fields do
    if not direct[k] then return obj, st, true end
    if v ~= null then dict[k] = v end
  end
  return obj, st, false
end

--- core.check_members(list, state_key, mapper) -> i | nil.
function M.check_members(list, state_key, mapper)
  for i = 1, #list do
    local v = list[i]
    local st = type(v) == "table" and rawget(v, state_key)
    if type(st) ~= "table" or not rawequal(rawget(st, "mapper"), mapper) then return i end
  end
  return nil
end

--- core.link_members(list, from, owner, key, state_key, m2o_set) -> fresh, stop.
function M.link_members(list, from, owner, key, state_key, m2o_set)
  local n, fresh, i = #list, 0, from
  while i <= n do
    local st = rawget(list[i], state_key)
    if type(st) ~= "table" then break end
    local dict = rawget(st, "dict")
    if type(dict) ~= "table" then break end
    if not rawequal(rawget(dict, key), owner) then
      if rawget(st, "loaded") ~= nil or rawget(st, "m2o_set") ~= nil or rawget(st, "_sid") ~= nil then break end
      rawset(dict, key, owner)
      rawset(st, "loaded", {[key] = true})
      rawset(st, "m2o_set", m2o_set)
      if not rawget(st, "modified") then rawset(st, "modified", true) end
      fresh = fresh + 1
    end
    i = i + 1
  end
  return fresh, i
end

return M
