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
local rel_value, set_rel_value = attributes.rel_value, attributes.set_rel_value
local util = require("quicksilver.util")
local mapper_mod = require("quicksilver.orm.mapper")
local aliased_mod = require("quicksilver.orm.aliased")
local loading = require("quicksilver.orm.loading")
local polymorphic = require("quicksilver.orm.polymorphic")
local criteria = require("quicksilver.orm.criteria")
local elements = require("quicksilver.sql.elements")

local M = {}

local rawget, ipairs, pairs, type, format, tostring, setmetatable, select =
  rawget, ipairs, pairs, type, string.format, tostring, setmetatable, select
local STATE = attributes.STATE
local writeonly = require("quicksilver.orm.writeonly")
local nplusone = require("quicksilver.orm.nplusone")
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

-- The option's public name, for errors: orm.noload and orm.contains_eager
-- are not "<strategy>load".
local OPTION_NAMES = {noload = "orm.noload", contains_eager = "orm.contains_eager"}

local function new_option(strategy, attr, parent)
  local what = OPTION_NAMES[strategy] or ("orm." .. strategy .. "load")
  local rel = rel_of(attr, what)
  if rel.wo then writeonly.refuse_loader(rel, what, 3) end
  local path = {}
  if parent then
    for i, s in ipairs(parent.path) do path[i] = s end
    local last = path[#path].rel
    last.parent.registry:configure()
    if not rel.parent:isa(last.target) and not last.target:isa(rel.parent) then
      exc.raise(exc.ArgumentError, format("%s: %s does not continue from %s", what,
        rel:describe(), last:describe()), nil, 4)
    end
  end
  path[#path + 1] = {rel = rel, strategy = strategy}
  return setmetatable({path = path}, Option)
end

-- "default" (orm.defaultload): the relationship loads as declared; the
-- rest of the path applies to what it loads (now, or at its lazy load)
local STRATEGIES = {"selectin", "lazy", "raise", "noload", "joined", "subquery", "default"}
for _, s in ipairs(STRATEGIES) do
  local name = s == "noload" and "noload" or (s .. "load")
  M[name] = function(attr) return new_option(s, attr, nil) end
  Option[name] = function(self, attr) return new_option(s, attr, self) end
end

--- orm.contains_eager(User.addresses, alias?): the query joins the
--- relationship itself (to the target table, or to alias); the ORM adds its
--- columns and fills the relationship from the same rows.
function M.contains_eager(attr, alias)
  local o = new_option("contains_eager", attr, nil)
  if alias ~= nil then
    local _, a = aliased_mod.inspect_aliased(alias)
    o.path[1].alias = a or alias
  end
  return o
end
function Option:contains_eager(attr, alias)
  local o = new_option("contains_eager", attr, self)
  if alias ~= nil then
    local _, a = aliased_mod.inspect_aliased(alias)
    o.path[#o.path].alias = a or alias
  end
  return o
end

-- selectin ------------------------------------------------------------------------------

-- The parents to load grouped by the value of their key column `key`
-- (parents with NULL there get an empty collection); the distinct values.
local function group_parents(todo, rel, key)
  local by_value, values = {}, {}
  for _, st in ipairs(todo) do
    local v = rawget(st.dict, key)
    if v == nil then v = attributes.get_column(st, key) end
    if v ~= nil then
      if not by_value[v] then by_value[v] = {}; values[#values + 1] = v end
      local l = by_value[v]
      l[#l + 1] = st
    end
    if rel.uselist then st.colls[rel.key] = {} else st.dict[rel.key] = nil end
  end
  return by_value, values
end

-- Gives child to each parent state in list.
local function attach(rel, parents, child)
  for _, pst in ipairs(parents or {}) do
    if rel.uselist then
      local l = pst.colls[rel.key]
      if not attributes.index_of(l, child) then l[#l + 1] = child end
    else
      set_rel_value(pst, rel, child)
    end
  end
end

-- The relationship counts as loaded for every parent state of todo.
local function mark_loaded(rel, todo)
  for _, st in ipairs(todo) do
    if rel.uselist then
      st.snap[rel.key] = nil
      attributes.track_collection(st, rel.key, st.colls[rel.key])
    else
      st.loaded[rel.key] = true
    end
  end
end

-- Calls fn(chunk) for the values in chunks of IN_BATCH.
local function in_chunks(values, fn)
  for i = 1, #values, IN_BATCH do
    local chunk = {}
    for j = i, math.min(i + IN_BATCH - 1, #values) do chunk[#chunk + 1] = values[j] end
    fn(chunk)
  end
end

-- What the parents hold of rel already (all of them had it loaded): the
-- objects, for the next step of a path.
local function held_objects(rel, parents)
  local out = {}
  for _, st in ipairs(parents) do
    local v = rel_value(st, rel)
    if v ~= nil then
      for _, o in ipairs(rel.uselist and v or {v}) do out[#out + 1] = o end
    end
  end
  return out
end

-- A custom primaryjoin on one column pair: the targets joined to their
-- parents by it, for the parents' keys.
local function selectin_custom_join(session, rel, todo)
  local loaded = {}
  local p = rel.pairs[1]
  local by_value, values = group_parents(todo, rel, p.local_key)
  in_chunks(values, function(chunk)
    local stmt = selectable.select(rel.target.class, p.local_col):join(rel.parent.local_table, rel:join_condition())
      :where(p.local_col:in_(chunk))
    if rel.order_by then stmt = stmt:order_by(unpack(rel.order_by)) end
    for _, row in ipairs(session:execute(stmt):all()) do
      loaded[#loaded + 1] = row[1]
      attach(rel, by_value[row[2]], row[1])
    end
  end)
  mark_loaded(rel, todo)
  return loaded
end

-- Many-to-many on one key column: the targets with the parent key from the
-- association table.
local function selectin_many_to_many(session, rel, todo)
  local loaded = {}
  local l = rel.sec_local[1]
  local by_value, values = group_parents(todo, rel, l.key)
  for _, st in ipairs(todo) do st.colls[rel.key] = {} end
  local _, on2 = rel:secondary_conditions()
  in_chunks(values, function(chunk)
    local stmt = selectable.select(rel.target.class, l.sec_col):where(on2, l.sec_col:in_(chunk))
    if rel.order_by then stmt = stmt:order_by(unpack(rel.order_by)) end
    for _, row in ipairs(session:execute(stmt):all()) do
      loaded[#loaded + 1] = row[1]
      for _, pst in ipairs(by_value[row[2]] or {}) do
        local list = pst.colls[rel.key]
        list[#list + 1] = row[1]
      end
    end
  end)
  if not rel.uselist then
    for _, st in ipairs(todo) do
      st.dict[rel.key] = st.colls[rel.key][1]
      st.colls[rel.key] = nil
    end
  end
  mark_loaded(rel, todo)
  return loaded
end

-- Composite keys, custom many-to-many joins: one lazy load per parent.
local function lazy_load_each(rel, todo)
  local loaded = {}
  for _, st in ipairs(todo) do
    local v = rel:lazy_load(st, true)
    for _, o in ipairs(rel.uselist and v or (v and {v} or {})) do loaded[#loaded + 1] = o end
  end
  return loaded
end

-- One-to-many on one key column: the children whose foreign key is among
-- the parents' keys.
local function selectin_one_to_many(session, rel, todo)
  local loaded = {}
  local p = rel.pairs[1]
  local by_value, values = group_parents(todo, rel, p.local_key)
  in_chunks(values, function(chunk)
    local stmt = selectable.select(rel.target.class):where(p.remote_col:in_(chunk))
    if rel.order_by then stmt = stmt:order_by(unpack(rel.order_by)) end
    -- (rel bounds the autoflush, as a lazy load of it: orm/autoflush.lua)
    for _, child in ipairs(session:_load_objects(stmt, nil, rel)) do
      loaded[#loaded + 1] = child
      attach(rel, by_value[rawget(rawget(child, STATE).dict, p.remote_key)], child)
    end
  end)
  mark_loaded(rel, todo)
  return loaded
end

-- Many-to-one on one key column: the targets not in the identity map, by key.
local function selectin_many_to_one(session, rel, todo)
  local loaded = {}
  local target = rel.target
  local p = rel.pairs[1]
  local values, seen = {}, {}
  for _, st in ipairs(todo) do
    local v = rawget(st.dict, p.local_key)
    if v == nil then v = attributes.get_column(st, p.local_key) end
    if v ~= nil and not seen[v] then
      seen[v] = true
      if not (rel.by_pk and session:_identity_lookup(target, {v})) then values[#values + 1] = v end
    end
  end
  local found = {}
  in_chunks(values, function(chunk)
    local stmt = selectable.select(target.class):where(p.remote_col:in_(chunk))
    for _, o in ipairs(session:_load_objects(stmt, nil, rel)) do
      found[rawget(rawget(o, STATE).dict, p.remote_key)] = o
    end
  end)
  for _, st in ipairs(todo) do
    local v = rawget(st.dict, p.local_key)
    local o = nil
    if v ~= nil then
      o = found[v]
      if o == nil and rel.by_pk then o = session:_identity_lookup(target, {v}) end
    end
    set_rel_value(st, rel, o)
    st.loaded[rel.key] = true
    if o ~= nil then loaded[#loaded + 1] = o end
  end
  return loaded
end

-- Loads rel for the parent states that have not loaded it, the way its
-- shape allows; returns the objects loaded (for the next step of a path).
local function selectin(session, rel, parents)
  local todo = {}
  for _, st in ipairs(parents) do
    if not st.loaded[rel.key] and st.key then todo[#todo + 1] = st end
  end
  if #todo == 0 then return held_objects(rel, parents) end
  if rel.custom_join and not rel.secondary and #rel.pairs == 1 and not rel.selfref_join then
    return selectin_custom_join(session, rel, todo)
  end
  if rel.secondary and #rel.sec_local == 1 and not rel.custom_join then
    return selectin_many_to_many(session, rel, todo)
  end
  if #rel.pairs ~= 1 or rel.secondary then return lazy_load_each(rel, todo) end
  if rel.direction == "ONETOMANY" then return selectin_one_to_many(session, rel, todo) end
  return selectin_many_to_one(session, rel, todo)
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
      if (rel.lazy == "selectin" or rel.lazy == "subquery" or (rel.lazy == "joined" and rel.uselist))
          and not done[rel] then
        done[rel] = true
        local got = selectin(session, rel, states_of(list, rel.parent))
        if #got > 0 then default_selectin(session, got, done) end
      end
    end
  end
end

-- column loading options -------------------------------------------------------------------

---@class quicksilver.orm.ColumnOption
local ColumnOption = {}
ColumnOption.__index = ColumnOption
ColumnOption.__name = "ColumnOption"
M.ColumnOption = ColumnOption

local function column_option(kind, ...)
  local cols = {}
  for i = 1, select("#", ...) do
    local c = select(i, ...)
    if type(c) ~= "table" or not c._is_clause or not c.table then
      exc.raise(exc.ArgumentError, format("orm.%s: expected mapped column attributes such as User.bio", kind), nil, 3)
    end
    cols[#cols + 1] = c
  end
  if #cols == 0 then
    exc.raise(exc.ArgumentError, "orm." .. kind .. ": give at least one column attribute", nil, 3)
  end
  return setmetatable({kind = kind, cols = cols}, ColumnOption)
end

--- orm.defer(User.bio): not loaded by this query; loaded on access.
function M.defer(...) return column_option("defer", ...) end
--- orm.undefer(User.bio): a deferred column loaded by this query.
function M.undefer(...) return column_option("undefer", ...) end
--- orm.undefer_group("name"): the deferred columns of that group loaded
--- by this query.
function M.undefer_group(name)
  if type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "orm.undefer_group: expected a group name", nil, 2)
  end
  return setmetatable({kind = "undefer_group", group = name, cols = {}}, ColumnOption)
end

--- orm.load_only(User.name, ...): only these (and the key) loaded now.
function M.load_only(...) return column_option("load_only", ...) end

-- The mapper of an entity whose table holds col.
local function owns(entity, col)
  local alias = rawget(entity, "_alias")
  local m = rawget(entity, "_mapper") or entity
  if alias then
    if col.table ~= alias then return nil end
    col = rawget(m.local_table.c, col.key)
  end
  if m.local_table ~= col.table then return nil end
  return col
end

--- Applies defer/undefer/load_only: the entity's columns are chosen again
--- and the entity gets a load plan for them.
function M.apply_column_options(stmt)
  local opts = stmt._options
  local ents = stmt._entities
  if not opts or not ents then return stmt end
  local any = false
  for _, o in ipairs(opts) do if getmetatable(o) == ColumnOption then any = true end end
  if not any then return stmt end
  local columns = {}
  local new_ents = {}
  local pos, ei = 1, 1
  local old = stmt.columns
  while pos <= #old do
    local e = ents[ei]
    if e and e.first == pos then
      local m = rawget(e.entity, "_mapper") or e.entity
      local alias = rawget(e.entity, "_alias")
      local deferred, undeferred, only = {}, {}, nil
      for _, o in ipairs(opts) do
        if getmetatable(o) == ColumnOption then
          for _, c in ipairs(o.cols) do
            local tc = owns(e.entity, c)
            if tc then
              if o.kind == "defer" then deferred[tc] = true
              elseif o.kind == "undefer" then undeferred[tc] = true
              else only = only or {}; only[tc] = true end
            end
          end
        end
      end
      local groups = {}
      for _, o in ipairs(opts) do
        if getmetatable(o) == ColumnOption and o.kind == "undefer_group" then groups[o.group] = true end
      end
      local cols = m:_hierarchy_columns(function(p)
        local c = p.column
        if only then return only[c] == true end
        if deferred[c] then return false end
        return not p.deferred or undeferred[c] == true or (p.group ~= nil and groups[p.group] == true)
      end)
      local plan = mapper_mod.new_plan(m.base_mapper, cols)
      new_ents[#new_ents + 1] = {entity = e.entity, first = #columns + 1, count = #cols, plan = plan, from = e.from}
      for _, c in ipairs(cols) do columns[#columns + 1] = alias and alias.c[c.key] or c end
      pos = pos + e.count
      ei = ei + 1
    else
      columns[#columns + 1] = old[pos]
      pos = pos + 1
    end
  end
  local out = setmetatable(util.copy(stmt), getmetatable(stmt))
  out.columns = columns
  out._entities = new_ents
  out._froms = nil
  return out
end

-- joined ------------------------------------------------------------------------------------

-- The column of `from` (a table or an alias of it) standing for col.
local function col_in(from, col)
  if from == nil or from == col.table then return col end
  return rawget(from.c, col.key) or from.c[col.key]
end

--- Adds a LEFT OUTER JOIN to an anonymous alias of the target table, and
--- its columns, for each joined eager load (options and relationships
--- declared lazy = "joined"). Returns the statement and the joins to
--- populate from each row (nil when there are none). crit: the loader
--- criteria of the load (orm/criteria.lua), added to each join's ON clause.
function M.add_joined(stmt, crit)
  local ents = stmt._entities
  if not ents then return stmt, nil end
  -- with LIMIT/OFFSET a join would limit parent-child rows, not parents:
  -- collections then load by selectin (one more SELECT) instead
  local limited = stmt._limit ~= nil or stmt._offset ~= nil
  local joins = {}
  local ncols = #stmt.columns
  local function add(rel, parent_src, parent_from, depth, given)
    local alias = given or rel.target.local_table:alias()
    if given ~= nil then
      -- contains_eager: the query has the join already
    elseif rel.secondary then
      local sec = rel.secondary:alias()
      local on1, on2 = rel:secondary_conditions(parent_from, sec, alias)
      local x = crit and criteria.on_clause(crit, rel, alias)
      if x then on2 = elements.and_(on2, x) end
      stmt = stmt:outerjoin(sec, on1):outerjoin(alias, on2)
    else
      local on = rel:join_condition(parent_from, alias)
      local x = crit and criteria.on_clause(crit, rel, alias)
      if x then on = elements.and_(on, x) end
      stmt = stmt:outerjoin(alias, on)
    end
    local cols = {}
    for i, c in ipairs(rel.target.select_columns) do cols[i] = col_in(alias, c) end
    stmt = stmt:add_columns(unpack(cols))
    -- the collection's order_by, on the alias, after the query's own order
    if rel.order_by then
      local ob = {}
      for i, o in ipairs(rel.order_by) do
        if o.element and o.op then
          ob[i] = setmetatable({element = col_in(alias, o.element), op = o.op, type = o.type}, getmetatable(o))
        else
          ob[i] = col_in(alias, o)
        end
      end
      stmt = stmt:order_by(unpack(ob))
    end
    local j = {rel = rel, parent = parent_src, first = ncols + 1, alias = alias, depth = depth}
    ncols = ncols + #cols
    joins[#joins + 1] = j
    return j
  end
  -- per-query joinedload options, chained paths through the previous alias
  for _, opt in ipairs(stmt._options or {}) do
    if getmetatable(opt) == Option and (opt.path[1].strategy == "joined" or
        opt.path[1].strategy == "contains_eager") then
      local first = opt.path[1].rel
      for _, e in ipairs(ents) do
        if e.entity:isa(first.parent) or first.parent:isa(e.entity) then
          local src, from = e, rawget(e.entity, "_alias")
          for _, step in ipairs(opt.path) do
            if step.strategy == "contains_eager" then
              src = add(step.rel, src, from, 1, step.alias or step.rel.target.local_table)
              from = src.alias
            elseif step.strategy ~= "joined" then
              break
            elseif limited and step.rel.uselist then
              break   -- selectin, in apply()
            else
              src = add(step.rel, src, from, 1)
              from = src.alias
            end
          end
          break
        end
      end
    end
  end
  -- relationships declared lazy = "joined", one level from each entity
  for _, e in ipairs(ents) do
    for _, rel in ipairs(e.entity.relationships) do
      if rel.lazy == "joined" and not (limited and rel.uselist) then
        local dup = false
        for _, j in ipairs(joins) do if j.rel == rel and j.parent == e then dup = true end end
        if not dup then add(rel, e, rawget(e.entity, "_alias"), 1) end
      end
    end
  end
  if #joins == 0 then return stmt, nil end
  return stmt, joins
end

--- Fills the joined relationships from the raw rows; returns whether a
--- collection was loaded this way (rows then repeat parents: unique()).
--- top, objs: the statement's one entity and its object per raw row, when
--- the rows were made into objects already.
function M.populate_joined(session, raw, joins, top, objs)
  local instance, instance_at = loading.instance, loading.instance_at
  local lists, parents_of = {}, {}
  local has_collection = false
  for _, j in ipairs(joins) do
    lists[j] = {}
    parents_of[j] = {}
    if j.rel.uselist then has_collection = true end
  end
  for r = 1, #raw do
    local row = raw[r]
    local made = {}
    for _, j in ipairs(joins) do
      local parent
      if objs and j.parent == top then
        parent = objs[r]
      elseif j.parent.entity then
        parent = instance(session, j.parent.entity, row, j.parent.first - 1, j.parent.plan)
      else
        parent = made[j.parent]
      end
      local child = instance_at(session, j.rel.target, raw, r, j.first - 1)
      made[j] = child
      if parent ~= nil then
        local pst = rawget(parent, STATE)
        local acc = lists[j][pst]
        if not acc then
          acc = {list = {}, seen = {}}
          lists[j][pst] = acc
          parents_of[j][#parents_of[j] + 1] = pst
        end
        if child ~= nil and not acc.seen[child] then
          acc.seen[child] = true
          acc.list[#acc.list + 1] = child
        end
      end
    end
  end
  for _, j in ipairs(joins) do
    local rel = j.rel
    for _, pst in ipairs(parents_of[j]) do
      if not pst.loaded[rel.key] then
        local acc = lists[j][pst]
        if rel.uselist then
          pst.colls[rel.key] = acc.list
          pst.snap[rel.key] = nil
          attributes.track_collection(pst, rel.key, acc.list)
        else
          set_rel_value(pst, rel, acc.list[1])
          pst.loaded[rel.key] = true
        end
      end
    end
  end
  return has_collection
end

--- subqueryload: the relationship of every parent the query returned, by
--- one SELECT joining the target to the original query (as a subquery of
--- the parents' keys). Parents reached through a deeper path, composite
--- keys and many-to-manys load by selectin.
function M.subquery_load(session, stmt, rel, sts)
  local todo = {}
  for _, st in ipairs(sts) do
    if not st.loaded[rel.key] and st.key then todo[#todo + 1] = st end
  end
  if #todo == 0 or rel.secondary or rel.custom_join or #rel.pairs ~= 1 or not stmt._entities then
    return selectin(session, rel, sts)
  end
  local p = rel.pairs[1]
  local inner = stmt:with_only_columns(p.local_col):distinct()
  inner._order_by = nil
  local sub = inner:subquery()
  local key_col = sub.c[p.local_col.key]
  local q = selectable.select(rel.target.class, key_col):join(sub, p.remote_col:eq(key_col))
  if rel.order_by then q = q:order_by(unpack(rel.order_by)) end
  local by_key = {}
  local loaded = {}
  for _, row in ipairs(session:execute(q):all()) do
    local child, k = row[1], row[2]
    loaded[#loaded + 1] = child
    local l = by_key[k]
    if not l then l = {}; by_key[k] = l end
    l[#l + 1] = child
  end
  for _, st in ipairs(todo) do
    local v = rawget(st.dict, p.local_key)
    local list = v ~= nil and by_key[v] or {}
    if rel.uselist then
      local copy = {}
      for i, o in ipairs(list) do copy[i] = o end
      st.colls[rel.key] = copy
      st.snap[rel.key] = nil
      attributes.track_collection(st, rel.key, copy)
    else
      set_rel_value(st, rel, list[1])
      st.loaded[rel.key] = true
    end
  end
  return loaded
end

--- After a query: the options of the statement, then the relationships
--- declared "selectin".
local EAGER = {selectin = true, subquery = true, joined = true}

-- Whether anything happens after a query of these entities: options, or a
-- relationship loaded eagerly by default somewhere in the hierarchy.
local function wants_after(stmt)
  if stmt._options then return true end
  for _, e in ipairs(stmt._entities or {}) do
    local m = rawget(e.entity, "_mapper") or e.entity
    local flag = m._eager_after
    if flag == nil then
      flag = false
      local function scan(x)
        for _, rel in ipairs(x.relationships) do
          if EAGER[rel.lazy] then flag = true end
        end
        for _, sub in ipairs(x.subclasses) do scan(sub) end
      end
      scan(m)
      m._eager_after = flag
    end
    if flag then return true end
  end
  return false
end

-- defaultload's step si of opt for the states sts: a relationship loaded
-- eagerly by default loads now (selectin, as the other eager steps here);
-- a lazy one hands on the objects already loaded, and the states not yet
-- loaded keep the rest of the path for their lazy load (orm/criteria.lua
-- runs it with those options). Returns the objects for the next step.
function M.default_step(session, opt, si, rel, sts)
  if EAGER[rel.lazy] then return selectin(session, rel, sts) end
  local rest = opt.path[si + 1] and setmetatable({path = {unpack(opt.path, si + 1)}}, Option)
  local nxt = {}
  for _, st in ipairs(sts) do
    if st.loaded[rel.key] or (rel.uselist and rawget(st, "colls") and st.colls[rel.key]) then
      local v = rel_value(st, rel)
      for _, o in ipairs(rel.uselist and (v or {}) or (v and {v} or {})) do nxt[#nxt + 1] = o end
    elseif rest then
      local lo = rawget(st, "lazy_options")
      if lo == nil then lo = {}; rawset(st, "lazy_options", lo) end
      local l = lo[rel.key]
      if l == nil then l = {}; lo[rel.key] = l end
      l[#l + 1] = rest
    end
  end
  return nxt
end

function M.apply(session, stmt, rows, keys, bare)
  if session._warn_lazy then nplusone.tag(rows, keys, bare) end   -- the N+1 detector's groups
  if not wants_after(stmt) then return end
  local objs = {}
  if bare then
    for _, v in ipairs(rows) do
      if v ~= nil then objs[#objs + 1] = v end
    end
  else
    for _, row in ipairs(rows) do
      for i = 1, #keys do
        local v = row[i]
        if type(v) == "table" and rawget(v, STATE) then objs[#objs + 1] = v end
      end
    end
  end
  if #objs == 0 then return end
  local done = {}
  local SP = polymorphic.SelectinPolymorphic
  for _, opt in ipairs(stmt._options or {}) do
    if getmetatable(opt) == SP then opt:apply(session, objs) end
  end
  for _, opt in ipairs(stmt._options or {}) do
    if getmetatable(opt) == Option then
      local current = objs
      for si, step in ipairs(opt.path) do
        local rel = step.rel
        local sts = states_of(current, rel.parent)
        if step.strategy == "selectin" then
          current = selectin(session, rel, sts)
          done[rel] = true
        elseif step.strategy == "subquery" then
          current = M.subquery_load(session, stmt, rel, sts)
          done[rel] = true
        elseif step.strategy == "default" then
          current = M.default_step(session, opt, si, rel, sts)
          done[rel] = done[rel] or EAGER[rel.lazy] or nil
        elseif step.strategy == "joined" or step.strategy == "contains_eager" then
          -- loaded by the query's joins (selectin finds nothing to do and
          -- hands the children on), or not joined because of a LIMIT
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
              local v = rel_value(st, rel)
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
