--- quicksilver.ext.mutable: JSON values whose in-place changes are flushed
--- (SQLAlchemy's sqlalchemy.ext.mutable).
---
---   local mutable = require("quicksilver.ext.mutable")
---   inventory = orm.mapped_column(mutable.MutableDict.as_mutable(qs.JSON))
---   player.inventory.gold = 5      -- written by the next flush
---
--- Without it a JSON attribute is a plain Lua table and only an assignment
--- (`player.inventory = {...}`) is seen: `player.inventory.gold = 5` alone is
--- never written.
---
--- How: values stay plain Lua tables (so pairs, ipairs, # and the JSON
--- encoder work on every runtime; a proxy table would not). `as_mutable`
--- gives a TypeDecorator over the JSON type whose result processor keeps a
--- deep copy of each value as it is loaded (load, refresh, expired
--- attributes: every path that decodes a value), keyed weakly by the value.
--- Before every flush and autoflush (orm/unitofwork.lua's change_finders),
--- the session's objects of mappers with such columns have each value
--- compared with its copy: a difference is recorded as a change of the
--- attribute (its old value the copy, the object modified), exactly as an
--- assignment is; then the copy is taken again. So nested changes are found
--- too (SQLAlchemy's MutableDict sees only its top level). A value assigned
--- (or that of a new object) is written whole by the flush and copied then.
--- The cost is paid only by mappers with mutable columns: one deep compare
--- per loaded value per flush.
---
--- The identity map is weak, so an object edited in place and dropped
--- before the flush would take its change with it: the session holds the
--- objects of such mappers strongly while a tracked value is loaded (a load
--- listener on the mapped class, so those rows load through Lua, not the C
--- fast path; released once the values expire, as at commit). One case is
--- not covered: an object whose expired values were loaded again (refresh,
--- access after a commit), edited in place and dropped before any flush.
---
--- Differences from SQLAlchemy: the change is seen at the flush (or when
--- `orm.inspect(obj).attrs.x.history` is read), not at the moment of the
--- edit. `associate_with` is not provided (a plain JSON column keeps no
--- loaded copy to compare with).
local exc = require("quicksilver.exc")
local event = require("quicksilver.event")
local types = require("quicksilver.sql.types")
local attributes = require("quicksilver.orm.attributes")
local unitofwork = require("quicksilver.orm.unitofwork")
local json_decode = require("quicksilver.core").json_decode

local M = {}

local type, pairs, rawget, rawequal, getmetatable, setmetatable, ipairs, format, tostring =
  type, pairs, rawget, rawequal, getmetatable, setmetatable, ipairs, string.format, tostring

-- value (a table as loaded or flushed) -> its deep copy
local copies = setmetatable({}, {__mode = "k"})

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x) end
  local mt = getmetatable(v)
  if mt then setmetatable(out, mt) end   -- json_array marks stay
  return out
end
M._deep_copy = deep_copy

local function deep_equal(a, b)
  if rawequal(a, b) then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  if getmetatable(a) ~= getmetatable(b) then return false end
  for k, x in pairs(a) do
    if not deep_equal(x, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end
M._deep_equal = deep_equal

--- How many values the change finder compared (for the specs).
M.stats = {compared = 0}
local stats = M.stats

-- mapper -> list of its mutable attribute keys (false: none)
local keys_cache = setmetatable({}, {__mode = "k"})
local function mutable_keys(m)
  local keys = keys_cache[m]
  if keys == nil then
    keys = {}
    for _, p in ipairs(m.column_props) do
      local t = p.column and p.column.type
      if type(t) == "table" and rawget(t, "_qs_mutable") then keys[#keys + 1] = p.key end
    end
    if keys[1] == nil then keys = false end
    keys_cache[m] = keys
  end
  return keys
end

local function check_kind(st, key, v, kind)
  if v == nil or type(v) == "table" then
    if kind == "list" and type(v) == "table" then
      local n = #v
      for k in pairs(v) do
        if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then
          exc.raise(exc.ArgumentError, format("%s.%s is a MutableList: its value must be a list, " ..
            "got a table with key %s", st.mapper.class_name, key, tostring(k)), nil, 4)
        end
      end
    end
    return
  end
  exc.raise(exc.ArgumentError, format("%s.%s is a Mutable%s: its value must be a table, got %s",
    st.mapper.class_name, key, kind == "list" and "List" or "Dict", type(v)), nil, 4)
end

-- Compares st's mutable values with their copies; a changed one becomes a
-- recorded change (its old value the copy).
local function find_in_state(st, keys)
  local dict = st.dict
  local ex = rawget(st, "expired")
  for _, key in ipairs(keys) do
    local v = rawget(dict, key)
    if not (ex and ex[key]) then
      local p = st.mapper.props[key]
      check_kind(st, key, v, rawget(p.column.type, "_qs_mutable"))
      if type(v) == "table" then
        local copy = copies[v]
        if copy == nil then
          -- assigned, or a new object's: written whole; copied from now on
          copies[v] = deep_copy(v)
        else
          stats.compared = stats.compared + 1
          if not deep_equal(v, copy) then
            if st.key ~= nil then
              local c = rawget(st, "committed")
              if not (c and c[key] ~= nil) then attributes.set_committed(st, key, copy) end
              attributes.modified(st)
            end
            copies[v] = deep_copy(v)
          end
        end
      end
    end
  end
end

-- session -> {state -> true}: the session's states with tracked values,
-- held strongly (the identity map is weak: an object edited in place and
-- dropped before the flush would take its change with it). A state enters
-- when it is loaded (a load listener on the mapped class) or seen by the
-- finder with a value; it leaves at a full finder run once none of its
-- tracked values is loaded (expired after a commit) or it left the session.
local held = setmetatable({}, {__mode = "k"})

local function hold(session, st)
  local h = held[session]
  if h == nil then h = {}; held[session] = h end
  h[st] = true
end

local function hold_on_load(obj, session)
  if session ~= nil then hold(session, rawget(obj, attributes.STATE)) end
end

local function any_loaded(st, keys)
  local dict = st.dict
  for _, key in ipairs(keys) do
    if type(rawget(dict, key)) == "table" then return true end
  end
  return false
end

local function finder(session, st)
  if st ~= nil then
    local keys = mutable_keys(st.mapper)
    if keys then find_in_state(st, keys) end
    return
  end
  if session == nil then return end
  for base, t in pairs(session._imaps) do
    -- a hierarchy without mutable columns costs one look-up
    local any = mutable_keys(base)
    if not any then
      for _, sub in ipairs(base.subclasses or {}) do
        if mutable_keys(sub) then any = true; break end
      end
    end
    if any then
      for _, obj in pairs(t) do
        local ost = rawget(obj, attributes.STATE)
        local keys = mutable_keys(ost.mapper)
        if keys then
          find_in_state(ost, keys)
          if any_loaded(ost, keys) then hold(session, ost) end
        end
      end
    end
  end
  for _, nst in ipairs(session._new) do
    local keys = mutable_keys(nst.mapper)
    if keys then find_in_state(nst, keys) end
  end
  -- the held states the identity map no longer has (or that left)
  local h = held[session]
  if h then
    for hst in pairs(h) do
      if not attributes.in_session(hst, session) then
        h[hst] = nil
      elseif hst.key ~= nil then
        local keys = mutable_keys(hst.mapper)
        local t = session._imaps[hst.mapper.base_mapper]
        if t == nil or not rawequal(t[hst.key], hst.obj) then find_in_state(hst, keys) end
        if not any_loaded(hst, keys) then h[hst] = nil end
      end
    end
  end
end

local installed = false
local function install()
  if installed then return end
  installed = true
  local list = unitofwork.change_finders
  list[#list + 1] = finder
end

local function as_mutable(kind, what)
  return function(impl)
    if type(impl) ~= "table" or not impl._is_type then
      exc.raise(exc.ArgumentError, format("%s.as_mutable: expected a JSON type such as qs.JSON, got %s",
        what, tostring(impl)), nil, 2)
    end
    if impl._affinity ~= "json" then
      exc.raise(exc.ArgumentError, format("%s.as_mutable: %s is not a JSON type", what,
        tostring(impl.name or impl)), nil, 2)
    end
    install()
    local t = types.type_decorator(impl, {
      name = impl.name,
      -- (the decorator hands over the driver's text: JSON's own decoding
      -- is a C result code, which a Lua wrapper does not run)
      process_result_value = function(v)
        if type(v) == "string" then v = json_decode(v) end
        if type(v) == "table" then copies[v] = deep_copy(v) end
        return v
      end,
    })
    t._qs_mutable = kind
    -- where a column of this type is mapped, its loaded objects are held
    -- (see `held`); the load listener makes that mapper's rows load in Lua
    t._on_mapped = function(mapper)
      event.listen(mapper.class, "load", hold_on_load)
    end
    return t
  end
end

--- MutableDict.as_mutable(qs.JSON): a JSON type whose table values (JSON
--- objects) are tracked for in-place changes, nested ones included.
M.MutableDict = {as_mutable = as_mutable("dict", "MutableDict")}

--- MutableList.as_mutable(qs.JSON): the same for JSON arrays (Lua lists);
--- a value that is not a list is refused at the flush.
M.MutableList = {as_mutable = as_mutable("list", "MutableList")}

--- Whether obj's attribute key holds a value that changed in place since
--- it was loaded or flushed (the comparison the flush makes).
---@param obj table
---@param key string
---@return boolean
function M.changed(obj, key)
  local st = attributes.instance_state(obj, "mutable.changed")
  local v = rawget(st.dict, key)
  local copy = type(v) == "table" and copies[v]
  return copy ~= nil and copy ~= false and not deep_equal(v, copy)
end

return M
