--- orm/criteria.lua: orm.with_loader_criteria (SQLAlchemy's
--- with_loader_criteria): a filter added to every SELECT of an entity a
--- statement loads (the top-level select, selectin and subquery loads, the
--- ON clause of joined eager loads) and to the lazy loads of the objects it
--- loaded (their states remember the criteria, as SQLAlchemy's states keep
--- their load options).
---
--- While a statement carrying criteria runs, the session holds them in its
--- `_load_ctx` field (a plain table: {criteria = list, options = list|nil:
--- loader options for the one statement a lazy load runs}),
--- so the loads its loader strategies start through the session pick them
--- up; a statement without criteria, in a session without them, never
--- reaches this file (orm/select_rows.lua reads one raw field).
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local elements = require("quicksilver.sql.elements")
local visitors = require("quicksilver.sql.visitors")
local attributes = require("quicksilver.orm.attributes")
local COLUMN = require("quicksilver.core").kinds.COLUMN

local M = {}

local rawget, rawset, type, ipairs, getmetatable, setmetatable, format, tostring, pcall, error =
  rawget, rawset, type, ipairs, getmetatable, setmetatable, string.format, tostring, pcall, error
local STATE = attributes.STATE

-- the field of the session holding the criteria of the load under way
local CTX = "_load_ctx"
M.CTX = CTX

---@class quicksilver.orm.LoaderCriteria
local Criteria = {}
Criteria.__index = Criteria
Criteria.__name = "LoaderCriteria"
Criteria._is_loader_option = true
M.Criteria = Criteria

local OPTIONS = util.set({"include_aliases", "propagate_to_loaders", "track_closure_variables"})

--- orm.with_loader_criteria(target, where, opts?): `where` (an expression
--- over the target's columns, or a function(cls) returning one: called
--- with the class, or the aliased class, being loaded) added to every
--- SELECT of target (a mapped class and its subclasses, or a base or
--- mixin class: every mapped class below it). opts: include_aliases
--- (aliased entities too: the expression adapted to the alias),
--- propagate_to_loaders (default true: the lazy loads of the objects
--- loaded keep the criteria).
---@param target table
---@param where table|function
---@param opts? {include_aliases: boolean, propagate_to_loaders: boolean}
---@return quicksilver.orm.LoaderCriteria
function M.with_loader_criteria(target, where, opts)
  util.check_options("with_loader_criteria", opts, OPTIONS, 2)
  opts = opts or {}
  -- a mixin is a plain table of spec entries (orm/mixins.lua): no metatable
  if type(target) ~= "table" or (rawget(target, "__mapper__") == nil and rawget(target, "__parent__") == nil
      and rawget(target, "__is_base__") == nil and getmetatable(target) ~= nil) then
    exc.raise(exc.ArgumentError, "with_loader_criteria: expected a mapped class, a base or a mixin class, got " ..
      (type(target) == "table" and tostring(target) or type(target)), nil, 2)
  end
  local is_fn = type(where) == "function"
  if not is_fn and not (type(where) == "table" and where._is_clause) then
    exc.raise(exc.ArgumentError, "with_loader_criteria: expected a SQL expression or a function(cls) " ..
      "returning one, got " .. type(where), nil, 2)
  end
  local m = rawget(target, "__mapper__")
  if not is_fn and not m then
    exc.raise(exc.ArgumentError, "with_loader_criteria: a base or mixin class takes a function(cls) " ..
      "returning the criteria for each class, not one expression", nil, 2)
  end
  return setmetatable({target = target, mapper = m, where = where, is_fn = is_fn,
    include_aliases = opts.include_aliases == true,
    propagate = opts.propagate_to_loaders ~= false}, Criteria)
end

--- Whether x is a with_loader_criteria option.
function M.is_criteria(x) return getmetatable(x) == Criteria end

-- Whether the criteria's target covers mapper m: a mapped target by
-- inheritance, a base or mixin by the class's parents.
local function covers(c, m)
  if c.mapper then return m:isa(c.mapper) end
  local cls = m.class
  while cls do
    if cls == c.target then return true end
    local used = rawget(cls, "__mixins__")   -- the mixins it was made with (orm/mixins.lua)
    if used and used[c.target] then return true end
    cls = rawget(cls, "__parent__")
  end
  return false
end
M.covers = covers

-- The expression of c for the entity (a mapper or an aliased entity; its
-- alias, or nil), or nil when it does not apply.
local function expression_for(c, ent, alias, aliased_cls)
  local m = rawget(ent, "_mapper") or ent
  if not covers(c, m) then return nil end
  if alias and not c.include_aliases then return nil end
  local e
  if c.is_fn then
    e = c.where(aliased_cls or m.class)
    if type(e) ~= "table" or not e._is_clause then
      exc.raise(exc.ArgumentError, format("with_loader_criteria: the function for %s returned %s, not a SQL " ..
        "expression", m.class_name, type(e)), nil, 4)
    end
    if aliased_cls then return e end
  else
    e = c.where
  end
  if alias then
    -- the expression's columns of the mapped table read from the alias
    local tbl = m.local_table
    e = visitors.replace(e, function(n)
      if n._k == COLUMN and n.table == tbl then return alias.c[n.key] end
      return nil
    end)
  end
  return e
end
M.expression_for = expression_for

--- The criteria given as options of stmt, or nil.
function M.of_statement(stmt)
  local out
  for _, o in ipairs(stmt._options or {}) do
    if getmetatable(o) == Criteria then
      out = out or {}
      out[#out + 1] = o
    end
  end
  return out
end

--- stmt with the WHERE of each criteria applying to one of its entities
--- (aliased entities when include_aliases).
--- The expressions of the criteria in list that cover mapper m (over its
--- class), for a statement built without entities to adapt (write_only).
---@param list table
---@param m table a mapper
---@return table
function M.expressions_for(list, m)
  local out = {}
  for _, c in ipairs(list) do
    local x = expression_for(c, m, nil, nil)
    if x then out[#out + 1] = x end
  end
  return out
end

function M.apply_where(stmt, list)
  local conds = {}
  for _, e in ipairs(stmt._entities or {}) do
    local ent = e.entity
    local alias = rawget(ent, "_alias")
    local acls = alias and rawget(ent, "_aliased_class")
    for _, c in ipairs(list) do
      local x = expression_for(c, ent, alias, acls)
      if x then conds[#conds + 1] = x end
    end
  end
  if #conds == 0 then return stmt end
  return stmt:where((table.unpack or unpack)(conds))
end

--- The ON clause addition for a joined eager load of rel to alias, or nil.
function M.on_clause(list, rel, alias)
  local out
  for _, c in ipairs(list) do
    -- the join's alias is the ORM's own: the criteria apply to it as to the
    -- plain entity
    local x = expression_for(c, rel.target, nil, nil)
    if x then
      local tbl = rel.target.local_table
      x = visitors.replace(x, function(n)
        if n._k == COLUMN and n.table == tbl then return alias.c[n.key] end
        return nil
      end)
      out = out and elements.and_(out, x) or x
    end
  end
  return out
end

-- The criteria the loaded objects keep for their lazy loads.
local function propagated(list)
  local out
  for _, c in ipairs(list) do
    if c.propagate then
      out = out or {}
      out[#out + 1] = c
    end
  end
  return out
end

--- Records on each loaded object's state the criteria its lazy loads take.
function M.remember(list, rows, bare)
  local keep = propagated(list)
  if not keep then return end
  local function mark(v)
    if type(v) == "table" then
      local st = rawget(v, STATE)
      if st and rawget(st, "load_criteria") == nil then rawset(st, "load_criteria", keep) end
    end
  end
  for _, row in ipairs(rows) do
    if bare then mark(row)
    else
      for i = 1, #row do mark(row[i]) end
    end
  end
end

--- Runs fn(...) with ctx as the session's load context (restored after,
--- errors included); returns fn's results (up to five).
function M.within(session, ctx, fn, ...)
  local prev = rawget(session, CTX)
  rawset(session, CTX, ctx)
  local ok, a, b, c, d, e = pcall(fn, ...)
  rawset(session, CTX, prev)
  if not ok then error(a, 0) end
  return a, b, c, d, e
end

--- The lazy load of rel for st with the criteria st remembers and the
--- loader options a defaultload path left for it (the relationship's own
--- loader run inside them; the options apply to its one statement).
function M.lazy_load(rel, st, load, eager)
  local crit = rawget(st, "load_criteria")
  local lo = rawget(st, "lazy_options")
  local opts = lo and lo[rel.key]
  local session = st.session
  if (crit == nil and opts == nil) or session == nil then return load(rel, st, eager) end
  return M.within(session, {criteria = crit or {}, options = opts}, load, rel, st, eager)
end

return M
