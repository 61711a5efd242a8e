--- orm/flush_common.lua: small helpers the parts of the flush share
--- (orm/unitofwork.lua and the flush_* modules it runs).
local attributes = require("quicksilver.orm.attributes")

local M = {}

local ipairs =
  ipairs
local UNKNOWN, WAS_NULL = attributes.UNKNOWN, attributes.WAS_NULL
local committed_of = attributes.committed_of
local rawget = rawget

local function column_keys(m)
  local keys = m._column_keys
  if not keys then
    keys = {}
    for i, p in ipairs(m.column_props) do keys[i] = p.key end
    m._column_keys = keys
  end
  return keys
end

local function list_of(rel, v)
  if v == nil then return {} end
  if rel.uselist then return v end
  return {v}
end

-- Whether the flush changes st's primary key: the rows that refer to it
-- follow (the foreign keys of its loaded collections are written again).
local function pk_changed(st)
  if not st.key then return false end
  local committed = rawget(st, "committed")
  if not committed then return false end
  local dict = st.dict
  for _, k in ipairs(st.mapper.pk_keys) do
    local c = committed[k]
    if c ~= nil and c ~= UNKNOWN and c ~= WAS_NULL and rawget(dict, k) ~= c then return true end
  end
  return false
end

-- The value attribute k had in the database as last loaded or flushed
-- (what a WHERE clause must name), the current one when that is unknown.
local function committed_value(st, k)
  local v = committed_of(st, k)
  if v == nil or v == UNKNOWN then v = rawget(st.dict, k) end
  return v
end

local function committed_pk(st, i)
  return committed_value(st, st.mapper.pk_keys[i])
end

-- Joined inheritance writes a row to several tables (base first): whether
-- tbl is the first or the last of st's.
function M.first_table(st, tbl) return st.mapper.tables[1] == tbl end
function M.last_table(st, tbl) return st.mapper.tables[#st.mapper.tables] == tbl end

M.column_keys = column_keys
M.list_of = list_of
M.pk_changed = pk_changed
M.committed_value = committed_value
M.committed_pk = committed_pk

return M
