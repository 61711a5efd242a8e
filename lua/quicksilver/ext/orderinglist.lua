--- ext/orderinglist.lua: SQLAlchemy's ext.orderinglist spelled the Lua way.
---
--- `ordering_list("position", {count_from = 1})` is a relationship's
--- collection_class: the collection stays a plain Lua list (table.insert,
--- table.remove, `list[i] = x` all work), and each member's position
--- attribute is set from its place in the list when the session flushes
--- (before the flush compares anything), so the program never numbers
--- members itself. `reorder(list)` renumbers at once, for code that reads
--- the positions before a flush. The relationship is ordered by the
--- position attribute unless its own order_by says otherwise, so a loaded
--- list comes back in the order it was written.
local exc = require("quicksilver.exc")
local collections = require("quicksilver.orm.collections")
local attributes = require("quicksilver.orm.attributes")

local M = {}

local type, pairs, rawget, tostring, format, rawequal = type, pairs, rawget, tostring, string.format, rawequal

local OPTIONS = {count_from = true, ordering_func = true}

-- Sets each member's attr to its position (only where it differs: an
-- unchanged position writes nothing).
local function renumber(list, attr, count_from, ordering_func)
  for i = 1, #list do
    local m = list[i]
    local want
    if ordering_func then want = ordering_func(i - 1, list) else want = count_from + i - 1 end
    if not rawequal(m[attr], want) then m[attr] = want end
  end
end

--- ordering_list(attr, {count_from = 0, ordering_func = fn(index0, list)}):
--- a collection_class numbering members' attr by their place in the list.
--- SQLAlchemy's reorder_on_append is refused by name: here every flush
--- numbers the whole list from its order.
---@param attr string
---@param opts table|nil
---@return table
function M.ordering_list(attr, opts)
  if type(attr) ~= "string" then
    exc.raise(exc.ArgumentError, "ordering_list: the position attribute's name must be a string", nil, 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then exc.raise(exc.ArgumentError, "ordering_list: options must be a table", nil, 2) end
  for k in pairs(opts) do
    if not OPTIONS[k] then
      exc.raise(exc.ArgumentError, format("ordering_list: option '%s' is not supported (supported: " ..
        "count_from, ordering_func; the list is numbered from its order at each flush)", tostring(k)), nil, 2)
    end
  end
  local count_from = opts.count_from == nil and 0 or opts.count_from
  if type(count_from) ~= "number" then
    exc.raise(exc.ArgumentError, "ordering_list: count_from must be a number", nil, 2)
  end
  local fn = opts.ordering_func
  if fn ~= nil and type(fn) ~= "function" then
    exc.raise(exc.ArgumentError, "ordering_list: ordering_func must be a function(index, list)", nil, 2)
  end
  return collections.list_class({name = "ordering_list(" .. attr .. ")", order_attr = attr,
    count_from = count_from, ordering_func = fn,
    on_flush = function(list) renumber(list, attr, count_from, fn) end})
end

--- reorder(obj, key): numbers obj's ordering_list collection key now (the
--- flush does it anyway); the relationship's collection_class tells the
--- attribute.
---@param obj table the owner
---@param key string the relationship's attribute name
function M.reorder(obj, key)
  local st = type(obj) == "table" and rawget(obj, attributes.STATE)
  local rel = st and st.mapper.props[key]
  local d = rel and rel.collection
  if not (d and d.order_attr) then
    exc.raise(exc.ArgumentError, format("reorder: %s is not an ordering_list relationship", tostring(key)), nil, 2)
  end
  renumber(obj[key], d.order_attr, d.count_from, d.ordering_func)
end

return M
