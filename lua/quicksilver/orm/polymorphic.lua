--- orm/polymorphic.lua: loading a class hierarchy without one SELECT per
--- object for the subclass columns (SQLAlchemy's with_polymorphic and
--- selectin_polymorphic). A query of the base class returns each row as its
--- subclass, but a joined subclass's own table is not in that query:
--- `orm.with_polymorphic(Base, {Sub, ...})` LEFT OUTER JOINs those tables
--- into it, `orm.selectin_polymorphic(Base, {Sub, ...})` loads them after it
--- with one SELECT ... IN per subclass.
local exc = require("quicksilver.exc")
local selectable = require("quicksilver.sql.selectable")
local elements = require("quicksilver.sql.elements")
local attributes = require("quicksilver.orm.attributes")
local mapper_mod = require("quicksilver.orm.mapper")

local M = {}

local rawget, setmetatable, ipairs, pairs, type, format, tostring =
  rawget, setmetatable, ipairs, pairs, type, string.format, tostring
local STATE = attributes.STATE
local unpack = table.unpack or unpack

-- The subclass mappers asked for: a list of classes, or "*" for all.
local function subclasses(base, classes, what)
  local out = {}
  if classes == "*" or classes == nil then
    local function all(m)
      for _, sub in ipairs(m.subclasses) do out[#out + 1] = sub; all(sub) end
    end
    all(base)
    return out
  end
  if type(classes) ~= "table" then
    exc.raise(exc.ArgumentError, what .. ": expected a list of subclasses or \"*\"", nil, 4)
  end
  for _, c in ipairs(classes) do
    local m = mapper_mod.class_mapper(c, what)
    if m == base or not m:isa(base) then
      exc.raise(exc.ArgumentError, format("%s: %s is not a subclass of %s", what, m.class_name, base.class_name), nil, 4)
    end
    out[#out + 1] = m
  end
  return out
end

---@class quicksilver.orm.WithPolymorphic
local WP = {}
M.WithPolymorphic = WP

WP.__index = function(self, k)
  local base = rawget(self, "_base")
  if k == "__select_entity__" then return WP._select_entity end
  -- wp.Manager: the subclass, for its columns in criteria
  for _, m in ipairs(rawget(self, "_subs")) do
    if m.class_name == k then return m.class end
  end
  return base.class[k]
end

WP.__tostring = function(self) return "with_polymorphic(" .. rawget(self, "_base").class_name .. ")" end

function WP._select_entity(self)
  local base = rawget(self, "_base")
  base.registry:configure()
  local cols, seen = {}, {}
  for _, c in ipairs(base.select_columns) do cols[#cols + 1] = c; seen[c] = true end
  local from = base.persist_from
  local joined = {}
  for _, m in ipairs(rawget(self, "_subs")) do
    for _, c in ipairs(m.select_columns) do
      if not seen[c] then seen[c] = true; cols[#cols + 1] = c end
    end
    -- the subclass's own tables, each once, outer-joined on the key
    for i = #base.tables + 1, #m.tables do
      local t = m.tables[i]
      if not joined[t] then
        joined[t] = true
        local parent_key = base.tables[1]:primary_key_columns()
        local conds = {}
        for j, pc in ipairs(t:primary_key_columns()) do conds[j] = parent_key[j]:eq(pc) end
        from = from:outerjoin(t, #conds == 1 and conds[1] or elements.and_(unpack(conds)))
      end
    end
  end
  local plan = mapper_mod.new_plan(base.base_mapper, cols)
  return cols, base, from ~= base.persist_from and from or nil, plan
end

--- __mapper_args with_polymorphic = "*" | {Sub, ...} on a base class
--- (single or joined): select(Base) loads the subclasses' columns in the
--- same query by default, as orm.with_polymorphic would. Run after every
--- mapper of the registry has its own select columns.
function M.apply_mapper_default(base)
  local spec = base.with_polymorphic
  local classes = spec
  if type(spec) == "function" then classes = spec() end
  if type(classes) == "table" and classes[1] == "*" then classes = "*" end
  if type(classes) == "table" then
    -- names resolve now (the subclasses are mapped after the base)
    local list = {}
    for i, c in ipairs(classes) do
      list[i] = type(c) == "string" and base.registry:resolve_class(c, base.class_name .. " with_polymorphic") or c
    end
    classes = list
  end
  local wp = setmetatable({_base = base, _subs = subclasses(base, classes, base.class_name .. " with_polymorphic")}, WP)
  local cols, _, from, plan = WP._select_entity(wp)
  base.select_columns, base.plan = cols, plan
  base.pk_pos, base.disc_pos = plan.pk_pos, plan.disc_pos
  base.entity_from = from or false
end

--- orm.with_polymorphic(Base, {Sub, ...} | "*"): an entity for select()
--- that loads the subclasses' columns in the same query.
function M.with_polymorphic(cls, classes)
  local base = mapper_mod.class_mapper(cls, "with_polymorphic")
  return setmetatable({_base = base, _subs = subclasses(base, classes, "with_polymorphic")}, WP)
end

---@class quicksilver.orm.SelectinPolymorphic
local SP = {}
SP.__index = SP
SP.__name = "SelectinPolymorphic"
M.SelectinPolymorphic = SP

--- orm.selectin_polymorphic(Base, {Sub, ...} | "*"): a loader option; after
--- the query, one SELECT per subclass fills in its columns.
function M.selectin_polymorphic(cls, classes)
  local base = mapper_mod.class_mapper(cls, "selectin_polymorphic")
  return setmetatable({base = base, subs = subclasses(base, classes, "selectin_polymorphic")}, SP)
end

local IN_BATCH = 500

--- Loads what each subclass's objects among objs lack.
function SP:apply(session, objs)
  for _, m in ipairs(self.subs) do
    local sts, by_key = {}, {}
    for _, o in ipairs(objs) do
      local st = rawget(o, STATE)
      if st and st.mapper == m and st.expired and st.key then
        sts[#sts + 1] = st
        by_key[rawget(st.dict, m.pk_keys[1])] = st
      end
    end
    if #sts > 0 and #m.pk_cols == 1 then
      local cols, keys = {m.pk_cols[1]}, {}
      local ex = sts[1].expired
      local taken = {}
      for _, p in ipairs(m.column_props) do
        if ex[p.key] and not taken[p.key] then
          taken[p.key] = true
          cols[#cols + 1] = p.column
          keys[#keys + 1] = p.key
        end
      end
      for i = 1, #sts, IN_BATCH do
        local vals = {}
        for j = i, math.min(i + IN_BATCH - 1, #sts) do vals[#vals + 1] = rawget(sts[j].dict, m.pk_keys[1]) end
        local stmt = selectable.select(unpack(cols)):select_from(m.persist_from):where(m.pk_cols[1]:in_(vals))
        for _, row in ipairs(session:_execute_core(stmt, nil, m):all()) do
          local st = by_key[row[1]]
          if st and st.expired then
            attributes.own_expired(st)
            for j, k in ipairs(keys) do
              if st.expired[k] then
                attributes.loaded_value(st, k, row[j + 1])
                st.expired[k] = nil
              end
            end
            if next(st.expired) == nil then st.expired = nil end
          end
        end
      end
    end
  end
end

return M
