--- orm/strategies.lua: loader strategies and options (SQLAlchemy's
--- orm/strategies.py and strategy_options.py).
---
--- Lazy loading ("select") lives on the relationship; this file loads
--- relationships for many objects at once after a query: "selectin" (one
--- SELECT ... WHERE key IN (...) per 500 parents) from a relationship's
--- `lazy = "selectin"` or `orm.selectinload(...)`, and records the
--- per-query overrides `lazyload`, `raiseload` and `noload` on the objects.
local exc = require("quicksilver.exc")
local selectable = require("quicksilver.sql.selectable")
local attributes = require("quicksilver.orm.attributes")

local M = {}

local rawget, ipairs, pairs, type, format, tostring, setmetatable =
  rawget, ipairs, pairs, type, string.format, tostring, setmetatable
local STATE = attributes.STATE
local unpack = table.unpack or unpack

local IN_BATCH = 500

---@class quicksilver.orm.LoaderOption
local Option = {}
Option.__index = Option
Option.__name = "LoaderOption"
Option._is_loader_option = true
M.Option = Option

local function rel_of(attr, what)
  if type(attr) ~= "table" or not rawget(attr, "prop") or not attr._is_rel_attr then
    exc.raise(exc.ArgumentError, format("%s: expected a relationship attribute such as User.addresses, got %s",
      what, type(attr) == "table" and tostring(attr) or type(attr)), nil, 4)
  end
  return attr.prop
end

local function new_option(strategy, attr, parent)
  local rel = rel_of(attr, "orm." .. strategy .. "load")
  local path = {}
  if parent then
    for i, s in ipairs(parent.path) do path[i] = s end
    local last = path[#path].rel
    last.parent.registry:configure()
    if not rel.parent:isa(last.target) and not last.target:isa(rel.parent) then
      exc.raise(exc.ArgumentError, format("orm.%sload: %s does not continue from %s", strategy,
        rel:describe(), last:describe()), nil, 4)
    end
  end
  path[#path + 1] = {rel = rel, strategy = strategy}
  return setmetatable({path = path}, Option)
end

local STRATEGIES = {"selectin", "lazy", "raise", "noload"}
for _, s in ipairs(STRATEGIES) do
  local name = s == "noload" and "noload" or (s .. "load")
  M[name] = function(attr) return new_option(s, attr, nil) end
  Option[name] = function(self, attr) return new_option(s, attr, self) end
end

-- selectin ------------------------------------------------------------------------------

-- Loads rel for the parent states that have not loaded it; returns the
-- objects loaded (for the next step of a path).
local function selectin(session, rel, parents)
  local todo = {}
  for _, st in ipairs(parents) do
    if not st.loaded[rel.key] and st.key then todo[#todo + 1] = st end
  end
  if #todo == 0 then
    local out = {}
    for _, st in ipairs(parents) do
      local v = st.dict[rel.key]
      if v ~= nil then
        for _, o in ipairs(rel.uselist and v or {v}) do out[#out + 1] = o end
      end
    end
    return out
  end
  if #rel.pairs ~= 1 then
    -- composite keys: one lazy load each
    local out = {}
    for _, st in ipairs(todo) do
      local v = rel:lazy_load(st)
      for _, o in ipairs(rel.uselist and v or (v and {v} or {})) do out[#out + 1] = o end
    end
    return out
  end
  local p = rel.pairs[1]
  local loaded = {}
  local target = rel.target
  if rel.direction == "ONETOMANY" then
    local by_value = {}
    local values = {}
    for _, st in ipairs(todo) do
      local v = st.dict[p.local_key]
      if v == nil then v = attributes.get_column(st, p.local_key) end
      if v ~= nil then
        if not by_value[v] then by_value[v] = {}; values[#values + 1] = v end
        local l = by_value[v]
        l[#l + 1] = st
      end
      st.dict[rel.key] = rel.uselist and {} or nil
    end
    for i = 1, #values, IN_BATCH do
      local chunk = {}
      for j = i, math.min(i + IN_BATCH - 1, #values) do chunk[#chunk + 1] = values[j] end
      local stmt = selectable.select(target.class):where(p.remote_col:in_(chunk))
      if rel.order_by then stmt = stmt:order_by(unpack(rel.order_by)) end
      for _, child in ipairs(session:_load_objects(stmt)) do
        loaded[#loaded + 1] = child
        local cst = rawget(child, STATE)
        for _, pst in ipairs(by_value[cst.dict[p.remote_key]] or {}) do
          if rel.uselist then
            local l = pst.dict[rel.key]
            l[#l + 1] = child
          else
            pst.dict[rel.key] = child
          end
        end
      end
    end
    for _, st in ipairs(todo) do
      if rel.uselist then
        st.snap[rel.key] = nil
        attributes.track_collection(st, rel.key, st.dict[rel.key])
      else
        st.loaded[rel.key] = true
      end
    end
  else
    local values, seen = {}, {}
    for _, st in ipairs(todo) do
      local v = st.dict[p.local_key]
      if v == nil then v = attributes.get_column(st, p.local_key) end
      if v ~= nil and not seen[v] then
        seen[v] = true
        if not (rel.by_pk and session:_identity_lookup(target, {v})) then values[#values + 1] = v end
      end
    end
    local found = {}
    for i = 1, #values, IN_BATCH do
      local chunk = {}
      for j = i, math.min(i + IN_BATCH - 1, #values) do chunk[#chunk + 1] = values[j] end
      local stmt = selectable.select(target.class):where(p.remote_col:in_(chunk))
      for _, o in ipairs(session:_load_objects(stmt)) do
        found[rawget(o, STATE).dict[p.remote_key]] = o
      end
    end
    for _, st in ipairs(todo) do
      local v = st.dict[p.local_key]
      local o = nil
      if v ~= nil then
        o = found[v]
        if o == nil and rel.by_pk then o = session:_identity_lookup(target, {v}) end
      end
      st.dict[rel.key] = o
      st.loaded[rel.key] = true
      if o ~= nil then loaded[#loaded + 1] = o end
    end
  end
  return loaded
end

local function states_of(objs, mapper)
  local out, seen = {}, {}
  for _, o in ipairs(objs) do
    local st = rawget(o, STATE)
    if st and not seen[st] and st.mapper:isa(mapper) then
      seen[st] = true
      out[#out + 1] = st
    end
  end
  return out
end

-- Relationships declared lazy = "selectin": loaded for what a query
-- returned, and on for what those loads returned (each relationship once
-- per query, so cycles end).
local function default_selectin(session, objs, done)
  local by_mapper = {}
  for _, o in ipairs(objs) do
    local st = rawget(o, STATE)
    if st then
      by_mapper[st.mapper] = by_mapper[st.mapper] or {}
      local l = by_mapper[st.mapper]
      l[#l + 1] = o
    end
  end
  for m, list in pairs(by_mapper) do
    for _, rel in ipairs(m.relationships) do
      if rel.lazy == "selectin" and not done[rel] then
        done[rel] = true
        local got = selectin(session, rel, states_of(list, rel.parent))
        if #got > 0 then default_selectin(session, got, done) end
      end
    end
  end
end

--- After a query: the options of the statement, then the relationships
--- declared "selectin".
function M.apply(session, stmt, rows, keys)
  local objs = {}
  for _, row in ipairs(rows) do
    for i = 1, #keys do
      local v = row[i]
      if type(v) == "table" and rawget(v, STATE) then objs[#objs + 1] = v end
    end
  end
  if #objs == 0 then return end
  local done = {}
  for _, opt in ipairs(stmt._options or {}) do
    if getmetatable(opt) == Option then
      local current = objs
      for _, step in ipairs(opt.path) do
        local rel = step.rel
        local sts = states_of(current, rel.parent)
        if step.strategy == "selectin" then
          current = selectin(session, rel, sts)
          done[rel] = true
        else
          for _, st in ipairs(sts) do
            st.lazy_override = st.lazy_override or {}
            st.lazy_override[rel.key] = step.strategy
          end
          -- a later step goes through objects already loaded
          local nxt = {}
          for _, st in ipairs(sts) do
            if st.loaded[rel.key] then
              local v = st.dict[rel.key]
              for _, o in ipairs(rel.uselist and (v or {}) or (v and {v} or {})) do nxt[#nxt + 1] = o end
            end
          end
          current = nxt
        end
      end
    end
  end
  default_selectin(session, objs, done)
end

return M
