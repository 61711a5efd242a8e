--- orm/session_binds.lua: which engine a Session runs a statement on
--- (SQLAlchemy's Session.get_bind and the `binds` option).
---
--- `Session({binds = {[Model or Table or Base] = engine, ...}, bind = default})`:
--- a mapper's statements go to the engine bound to its class or to one of
--- the classes it inherits from (a declarative Base included), else to the
--- engine bound to one of its tables, else to the session's `bind`. A
--- statement without a mapper (Core, text) goes to the engine bound to a
--- table it reads or writes, else to `bind`. Nothing found: an
--- UnboundExecutionError naming what was looked for. A program replaces the
--- rule by overriding `session:get_bind(mapper, clause)` (a field on the
--- session, or a subclass as quicksilver.ext.horizontal_shard does).
local exc = require("quicksilver.exc")
local core = require("quicksilver.core")

local M = {}

local type, rawget, pairs, ipairs, getmetatable, setmetatable, format, tostring =
  type, rawget, pairs, ipairs, getmetatable, setmetatable, string.format, tostring
local K = core.kinds

-- A bind is what a Session connects through: an Engine (anything with
-- connect(), e.g. a sharding engine's stand-in).
local function is_bind(v)
  return type(v) == "table" and type(v.connect) == "function"
end

-- What a binds key may be: a mapped class, a declarative Base (or any
-- class a model inherits from), a mapper, a Table.
local function key_kind(k)
  if type(k) ~= "table" then return nil end
  if rawget(k, "__mapper__") or rawget(k, "__is_base__") or rawget(k, "__parent__") then return "class" end
  if k.class and k.local_table and k.pk_keys then return "mapper" end
  if k._is_clause and k._k == K.TABLE then return "table" end
  return nil
end

--- Checks the `binds` option and returns its copy (keys: classes, mappers
--- or tables; values: engines). Raises ArgumentError naming a bad entry.
---@param binds table
---@return table
function M.check(binds, level)
  if type(binds) ~= "table" or getmetatable(binds) ~= nil then
    exc.raise(exc.ArgumentError, "Session: binds must be a table of {[Model or Table] = engine}, got " ..
      type(binds), nil, level)
  end
  local out = {}
  for k, v in pairs(binds) do
    local kind = key_kind(k)
    if not kind then
      exc.raise(exc.ArgumentError, format("Session: binds key %s is not a mapped class, a declarative " ..
        "Base, a mapper or a Table", type(k) == "table" and tostring(k) or format("%q", tostring(k))), nil, level)
    end
    if not is_bind(v) then
      exc.raise(exc.ArgumentError, format("Session: binds[%s] must be an Engine, got %s", tostring(k),
        type(v)), nil, level)
    end
    local m = kind == "mapper" and k or (kind == "class" and rawget(k, "__mapper__"))
    if m then
      -- a mapped class binds its tables too (SQLAlchemy's _add_bind), so
      -- that a Core statement on them finds the same engine
      out[m.class] = v
      for _, t in ipairs(m.tables or {m.local_table}) do
        if out[t] == nil then out[t] = v end
      end
    else
      out[k] = v
    end
  end
  return out
end

-- The mapper of a class or mapper argument (nil stays nil).
local function mapper_of(m)
  if m == nil then return nil end
  if type(m) == "table" then
    local cm = rawget(m, "__mapper__")
    if cm then return cm end
    if m.class and m.pk_keys then return m end
  end
  exc.raise(exc.ArgumentError, "Session:get_bind: mapper must be a mapped class or a mapper, got " ..
    (type(m) == "table" and tostring(m) or type(m)), nil, 4)
end
M.mapper_of = mapper_of

-- The engine bound to the mapper's class or one it inherits from, then to
-- one of its tables.
local function bind_of_mapper(binds, m)
  local cls = m.class
  while cls do
    local b = binds[cls]
    if b then return b end
    cls = rawget(cls, "__parent__")
  end
  local mm = m
  while mm do
    local t = mm.local_table
    if t and binds[t] then return binds[t] end
    mm = mm.inherits
  end
  return nil
end

-- The engine bound to a table the clause reads or writes (the first found,
-- walking the statement: its target table, its FROMs, then what they join
-- or alias; a column's table counts).
local function bind_of_clause(binds, clause)
  local seen = {}
  local found
  local function go(v, depth)
    if found or type(v) ~= "table" or seen[v] or depth > 200 then return end
    seen[v] = true
    local b = binds[v]
    if b then found = b; return end
    if v._is_type or v._is_table_meta then return end
    local k = v._k
    if k == K.TABLE then return end
    if k == K.COLUMN then go(rawget(v, "table"), depth + 1); return end
    if k == K.JOIN then go(v.left, depth + 1); go(v.right, depth + 1); return end
    if k == K.ALIAS or k == K.CTE then go(v.element, depth + 1); return end
    if getmetatable(v) ~= nil and not v._is_clause then return end
    for key, x in pairs(v) do
      if key ~= "_compiled" and key ~= "type" and key ~= "metadata" then go(x, depth + 1) end
    end
  end
  go(clause, 0)
  return found
end

--- SQLAlchemy's get_bind: the engine for a mapper's statements or for a
--- clause. mapper: a mapped class or mapper (or nil); clause: a statement
--- (or nil). Raises UnboundExecutionError when nothing is bound.
---@param session table
---@param mapper table|nil
---@param clause table|nil
---@return table engine
function M.get_bind(session, mapper, clause)
  local m = mapper_of(mapper)
  local binds = rawget(session, "binds")
  if binds then
    if m then
      local b = bind_of_mapper(binds, m)
      if b then return b end
    end
    if clause ~= nil then
      local b = bind_of_clause(binds, clause)
      if b then return b end
    end
  end
  if session.bind then return session.bind end
  local what = {}
  if m then what[#what + 1] = "mapper " .. tostring(m.class_name) end
  if clause ~= nil then what[#what + 1] = "SQL expression" end
  what[#what + 1] = "this Session"
  exc.raise(exc.UnboundExecutionError, "Could not locate a bind configured on " ..
    table.concat(what, ", ") .. " (Session(engine), Session({binds = {...}}) or sessionmaker({bind = engine}))",
    nil, 4)
end

--- The mapper a statement is about, for get_bind: its first ORM entity, or
--- the model an ORM-enabled insert/update/delete targets; nil for Core.
---@param stmt table
---@return table|nil
function M.statement_mapper(stmt)
  local cls = stmt._entity_class
  if cls then return rawget(cls, "__mapper__") end
  local ents = stmt._entities
  local e = ents and ents[1]
  if e then
    local ent = e.entity
    local m = ent and (rawget(ent, "_mapper") or (ent.class and ent.pk_keys and ent))
    return m or nil
  end
  return nil
end

-- A flush's statements on a session that routes: each table's on the
-- connection its mapper's get_bind chooses. The per-table writes get that
-- connection; the writes that span tables (post_update keys, association
-- rows, NULLed keys) get a router whose execute() picks the connection by
-- the statement's table.
local Router = {}
Router.__index = Router

function Router:execute(stmt, params, opts)
  local t = stmt.table
  local conn = self.by_table[t]
  if not conn then
    conn = self.session:_connection_for(self.mapper_of[t], stmt)
    self.by_table[t] = conn
  end
  return conn:execute(stmt, params, opts)
end

--- For a flush on a session that routes: conn_for(table), the connection
--- of a table's rows, and a router for the writes that span tables (nil,
--- nil when the session does not route: the flush uses one connection).
---@param session table
---@param order table the tables written, in order
---@param by_table table table -> {ins, upd, del} lists of states
---@param uow table the flush (its association changes name their relationships)
function M.flush_routing(session, order, by_table, uow)
  if not (rawget(session, "binds") or rawget(session, "_routing") or rawget(session, "get_bind")) then
    return nil, nil
  end
  local mapper_of = {}
  for _, t in ipairs(order) do
    local b = by_table[t]
    local st = b.ins[1] or b.upd[1] or b.del[1]
    if st then mapper_of[t] = st.mapper end
  end
  -- an association table's rows go where the relationship's parent goes
  for _, list in ipairs({uow.assoc_add or {}, uow.assoc_del or {}, uow.assoc_clear or {}}) do
    for _, item in ipairs(list) do
      local rel = item[1]
      if rel.secondary and mapper_of[rel.secondary] == nil then mapper_of[rel.secondary] = rel.parent end
    end
  end
  local conns = {}
  local function conn_for(t)
    local c = conns[t]
    if not c then
      c = session:_connection_for(mapper_of[t], t)
      conns[t] = c
    end
    return c
  end
  return conn_for, setmetatable({session = session, by_table = conns, mapper_of = mapper_of}, Router)
end

return M
