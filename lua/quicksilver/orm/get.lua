--- orm/get.lua: Session:get's SELECT by primary key without the general
--- select path. Per mapper the statement `select(Model) WHERE pk = :pk_1 ...`
--- is built once and compiled once per dialect (SQLAlchemy caches its get()
--- the same way); each get binds the key, runs it through the connection
--- (events, echo, the prepared-statement cache as any statement) and makes
--- the row into its object with the loader's C loop: no statement built, no
--- Result, no entity layout per call. What it does not cover answers nil
--- and Session:get goes the general way: joined eager loads of the mapper,
--- before_execute / after_execute listeners on the connection (they are
--- handed the statement and its Result), streaming execution options.
local mapper_mod = require("quicksilver.orm.mapper")
local selectable = require("quicksilver.sql.selectable")
local elements = require("quicksilver.sql.elements")
local compiler = require("quicksilver.sql.compiler")
local loading = require("quicksilver.orm.loading")
local strategies = require("quicksilver.orm.strategies")
local event = require("quicksilver.event")

local M = {}

local rawget, rawset, ipairs, setmetatable = rawget, rawset, ipairs, setmetatable
local unpack = table.unpack or unpack
local props_generation = mapper_mod.props_generation
local instance_at = loading.instance_at
local apply_after = strategies.apply

-- The bind names of the key columns, by position.
local NAMES = mapper_mod.PK_PARAMS

--- The statement selecting m's object by its key bound as pk_1..pk_n, as
--- the general path runs it (single-table subclasses: their identities
--- only). Shared by the fast and the general path of get.
---@return table
function M.statement(m)
  local conds = {}
  for i, c in ipairs(m.concrete_pk or m.pk_cols) do
    conds[i] = c:eq(elements.bindparam(NAMES[i], nil, {type = c.type}))
  end
  return selectable.select(m.class):where(unpack(conds))
end

-- Whether a relationship of m's hierarchy loads eagerly by default (the
-- loads strategies.apply runs after the query's rows).
local EAGER = {selectin = true, subquery = true, joined = true}
local function loads_after(m)
  for _, rel in ipairs(m.relationships) do
    if EAGER[rel.lazy] then return true end
  end
  for _, sub in ipairs(m.subclasses) do
    if loads_after(sub) then return true end
  end
  return false
end

-- The cached plan of m's get: the statement with what the ORM adds at
-- execution, its entity, the compiled form per dialect; false when the
-- fast path cannot serve m. Rebuilt when a mapper gained a property (the
-- generation moves) or was configured again (a new loading plan).
local function get_plan(m)
  local p = rawget(m, "_get_plan")
  if p ~= nil and p.gen == props_generation() and p.loading == m.plan then return p end
  local stmt = M.statement(m)
  local crit = m:_single_table_criterion()
  if crit then stmt = stmt:where(crit) end
  local joined
  stmt, joined = strategies.add_joined(stmt)
  local ent = stmt._entities and stmt._entities[1]
  if joined or stmt._options or not ent or #stmt._entities ~= 1 or ent.first ~= 1 then
    p = {gen = props_generation(), loading = m.plan, fast = false}
  else
    p = {gen = props_generation(), loading = m.plan, fast = true, stmt = stmt, entity = ent.entity,
      plan = ent.plan, npk = #m.pk_cols, compiled = {}, keys = {m.class_name}, after = loads_after(m)}
  end
  rawset(m, "_get_plan", p)
  return p
end

--- The object with primary-key values vals (in key order), loaded by one
--- SELECT in the session's transaction; the session's autoflush ran and
--- the identity map missed. Returns served (false: take the general path)
--- and the object (nil when no row has the key).
---@return boolean served
---@return table|nil obj
function M.load(session, m, vals)
  local p = get_plan(m)
  if not p.fast then return false end
  local conn = session:_connection_for(m)
  local eopts = conn._exec_opts
  if eopts.stream_results or eopts.yield_per or event.has(conn, "before_execute")
      or event.has(conn, "after_execute") then
    return false
  end
  local dialect = conn:_dialect_key(eopts)
  local compiled = p.compiled[dialect]
  if compiled == nil then
    compiled = compiler.compile(p.stmt, dialect)
    p.compiled[dialect] = compiled
  end
  local params
  if p.npk == 1 then
    params = {pk_1 = vals[1]}
  else
    params = {}
    for i = 1, p.npk do params[NAMES[i]] = vals[i] end
  end
  local raw = conn:_cursor_execute(compiled.sql, params, compiled, false, eopts, true)
  if raw[1] == nil then return true, nil end
  local obj = instance_at(session, p.entity, raw, 1, 0, p.plan)
  if obj ~= nil and p.after then apply_after(session, p.stmt, {obj}, p.keys, true) end
  return true, obj
end

return M
