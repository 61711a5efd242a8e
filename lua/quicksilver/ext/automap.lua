--- quicksilver.ext.automap: classes for an existing database (SQLAlchemy's
--- ext/automap.py). `automap_base()` is a declarative base whose
--- `Base:prepare({autoload_with = engine})` reflects the schema and maps a
--- class per table that has a primary key (`Base.classes.users`), with a
--- many-to-one and its one-to-many backref for each foreign key, and a
--- many-to-many for each pure association table (two foreign keys, no
--- other columns).
---
--- Names, as SQLAlchemy's defaults: the class is named after its table;
--- a many-to-one after the referred class (lowercased), its backref
--- `<class>_collection`; with several foreign keys to one table, the
--- many-to-one is named after its column (without `_id`).
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local orm = require("quicksilver.orm")
local relationships = require("quicksilver.orm.relationships")

local M = {}

local format = string.format

-- A table whose columns are exactly the columns of its two foreign keys.
local function association(t)
  if #t.foreign_keys ~= 2 then return nil end
  local fk_cols = {}
  for _, fk in ipairs(t.foreign_keys) do fk_cols[fk.parent] = true end
  for _, c in ipairs(t.columns) do
    if not fk_cols[c] then return nil end
  end
  local a, b = t.foreign_keys[1]:get_column(), t.foreign_keys[2]:get_column()
  if not a or not b or a.table == b.table then return nil end
  return a.table, b.table
end

local function free_name(m, name)
  while m.props[name] or m:find_hybrid(name) do name = name .. "_" end
  return name
end

--- The many-to-one relationships (each with its one-to-many backref) that
--- automap makes for the foreign keys between the tables of the list
--- `tables` (in order) that have a class: class_of[table] is its class
--- name. Names as SQLAlchemy's defaults, kept clear of the columns and of
--- each other: {table, target, columns, name, back, self_ref} per foreign
--- key (constraint). `quicksilver models` writes the same ones.
function M.foreign_key_relationships(tables, class_of)
  local used = {}
  local function take(t, name)
    local set = used[t]
    if not set then
      set = {}
      for _, c in ipairs(t.columns) do set[c.key or c.name] = true end
      used[t] = set
    end
    while set[name] do name = name .. "_" end
    set[name] = true
    return name
  end
  local out = {}
  for _, t in ipairs(tables) do
    if class_of[t] then
      local targets = {}
      for _, fk in ipairs(t.foreign_keys) do
        local ref = fk:get_column()
        if ref then targets[ref.table] = (targets[ref.table] or 0) + 1 end
      end
      -- in the order of their columns in the table (reflection gives
      -- foreign keys in a different order on each database; the names of
      -- the backrefs depend on it)
      local pos, fks = {}, {}
      for i, c in ipairs(t.columns) do pos[c] = i end
      for i, fk in ipairs(t.foreign_keys) do fks[i] = fk end
      table.sort(fks, function(a, b)
        local pa, pb = pos[a.parent] or 0, pos[b.parent] or 0
        if pa ~= pb then return pa < pb end
        return tostring(a:target_fullname()) < tostring(b:target_fullname())
      end)
      local done = {}
      for _, fk in ipairs(fks) do
        local ref = fk:get_column()
        local con = fk.constraint or fk
        if ref and class_of[ref.table] and not done[con] then
          done[con] = true
          local cols = {}
          if fk.constraint then
            for _, cn in ipairs(fk.constraint.columns) do cols[#cols + 1] = rawget(t.c, cn) end
          else
            cols[1] = fk.parent
          end
          local m2o = class_of[ref.table]:lower()
          if targets[ref.table] > 1 or ref.table == t then
            m2o = (cols[1].name:gsub("_id$", ""))
            if m2o == cols[1].name then m2o = m2o .. "_ref" end
          end
          out[#out + 1] = {table = t, target = ref.table, columns = cols, self_ref = ref.table == t,
            name = take(t, m2o), back = take(ref.table, class_of[t]:lower() .. "_collection")}
        end
      end
    end
  end
  return out
end

--- automap_base({metadata = md}) -> Base with Base.classes and Base:prepare
local PREPARE_OPTIONS = {autoload_with = true, schema = true}

function M.automap_base(opts)
  local Base = orm.declarative_base(opts)
  rawset(Base, "classes", {})
  rawset(Base, "prepare", function(self, popts)
    popts = util.check_options("automap prepare", popts, PREPARE_OPTIONS, 2)
    local bind = popts.autoload_with
    if type(bind) ~= "table" then
      exc.raise(exc.ArgumentError, "automap prepare: give {autoload_with = engine}", nil, 2)
    end
    local md = rawget(self, "metadata")
    md:reflect({bind = bind, schema = popts.schema})
    local classes = rawget(self, "classes")
    local by_table = {}
    local assoc = {}
    -- a class per table with a primary key (association tables aside)
    local names = {}
    for name in pairs(md.tables) do names[#names + 1] = name end
    table.sort(names)
    for _, tname in ipairs(names) do
      local t = md.tables[tname]
      local ta, tb = association(t)
      if ta then
        assoc[#assoc + 1] = {t, ta, tb}
      elseif #t.primary_key.columns > 0 and not classes[t.name] then
        local cls = self:model(t.name, {__table = t})
        classes[t.name] = cls
        by_table[t] = cls
      end
    end
    -- relationships from foreign keys
    local ordered, class_of = {}, {}
    for _, tname in ipairs(names) do
      local t = md.tables[tname]
      ordered[#ordered + 1] = t
      if by_table[t] then class_of[t] = rawget(by_table[t], "__name") end
    end
    for _, r in ipairs(M.foreign_key_relationships(ordered, class_of)) do
      local cls, rcls = by_table[r.table], by_table[r.target]
      local m = rawget(cls, "__mapper__")
      local fkcols = r.columns
      local ropts = {backref = r.back, foreign_keys = function() return fkcols end}
      if r.self_ref then
        -- self-reference: the many-to-one's remote side is the key
        local rs = {}
        for _, c in ipairs(r.table:primary_key_columns()) do rs[#rs + 1] = c end
        ropts.remote_side = function() return rs end
        ropts.backref = orm.backref(r.back, {foreign_keys = function() return fkcols end})
      end
      m:_add_relationship(relationships.new_property(m, r.name,
        orm.relationship(rcls, ropts)))
    end
    -- many-to-many through association tables
    for _, a in ipairs(assoc) do
      local t, ta, tb = a[1], a[2], a[3]
      local ca, cb = by_table[ta], by_table[tb]
      if ca and cb then
        local ma = rawget(ca, "__mapper__")
        local mb = rawget(cb, "__mapper__")
        local name = free_name(ma, rawget(cb, "__name"):lower() .. "_collection")
        local back = free_name(mb, rawget(ca, "__name"):lower() .. "_collection")
        ma:_add_relationship(relationships.new_property(ma, name,
          orm.relationship(cb, {secondary = t, backref = back})))
      end
    end
    rawget(self, "registry").configured = false
    rawget(self, "registry"):configure()
    return self
  end)
  return Base
end

return M
