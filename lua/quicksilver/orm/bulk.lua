--- orm/bulk.lua: ORM-enabled INSERT, UPDATE and DELETE (SQLAlchemy's
--- orm/bulk_persistence.py): `session:execute(update(User):where(...)
--- :values(...))` keeps the objects already in the session true to the
--- database (synchronize_session), `update(User)` with a list of maps that
--- carry primary keys is a bulk UPDATE by primary key, and `insert(User)`
--- with a list of maps a bulk INSERT.
---
--- synchronize_session: "auto" (default), "fetch" and "evaluate" all fetch
--- the primary keys of the rows the statement will touch (one SELECT
--- before it) and then expire the updated attributes of those objects, or
--- mark them deleted; false leaves the session alone. (SQLAlchemy's
--- "evaluate" runs the WHERE in Python instead of that SELECT; Lua values
--- and SQL semantics differ enough that one strategy, exact, serves all.)
--- As in SQLAlchemy 2.0, "evaluate" refuses a WHERE its evaluator could not
--- run (EXISTS, any()/has(), subqueries, functions, other tables' columns)
--- with InvalidRequestError, and "auto" takes "fetch" for it.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")
local selectable = require("quicksilver.sql.selectable")
local dml = require("quicksilver.sql.dml")
local attributes = require("quicksilver.orm.attributes")
local identity = require("quicksilver.orm.identity")
local mapper_mod = require("quicksilver.orm.mapper")

local M = {}

local rawget, ipairs, pairs, type, format, tostring = rawget, ipairs, pairs, type, string.format, tostring
local STATE = attributes.STATE
local unpack = table.unpack or unpack

local SYNC = {auto = true, fetch = true, evaluate = true}

local function sync_option(stmt, eopts)
  local v
  if eopts and eopts.synchronize_session ~= nil then v = eopts.synchronize_session
  elseif stmt._execution_options and stmt._execution_options.synchronize_session ~= nil then
    v = stmt._execution_options.synchronize_session
  else
    v = "auto"
  end
  if v ~= false and not SYNC[v] then
    exc.raise(exc.ArgumentError, format("synchronize_session must be 'auto', 'fetch', 'evaluate' or false, got %s",
      tostring(v)), nil, 4)
  end
  return v
end

local K = core.kinds
local KIND_NAME = {}
for name, k in pairs(K) do KIND_NAME[k] = name end

-- Node kinds SQLAlchemy's evaluator runs (comparisons, arithmetic, AND/OR/
-- NOT, IN a list, IS, literals); the children to look into.
local EVALUABLE = {
  [K.BIND] = {}, [K.NULL] = {}, [K.TRUE] = {}, [K.FALSE] = {},
  [K.BINARY] = {"left", "right"}, [K.UNARY] = {"element"}, [K.GROUPING] = {"element"},
  [K.BETWEEN] = {"element", "lower", "upper"},
}

-- Why expression e cannot be evaluated against objects of mapper m (nil
-- when it can).
local function unevaluable(m, e)
  if type(e) ~= "table" then return nil end
  local k = e._k
  if k == K.COLUMN then
    for _, t in ipairs(m.tables) do
      if e.table == t then return nil end
    end
    return format("Cannot evaluate a column of another table (%s)", tostring(e))
  elseif k == K.LIST then
    for _, c in ipairs(e.clauses) do
      local why = unevaluable(m, c)
      if why then return why end
    end
    return nil
  elseif k == K.IN then
    if e.select then return "Cannot evaluate IN with a subquery" end
    for _, v in ipairs(e.values or {}) do   -- an expanding IN (one bind) has none
      local why = unevaluable(m, v)
      if why then return why end
    end
    return unevaluable(m, e.left)
  end
  local children = EVALUABLE[k]
  if not children then
    local what = k == K.EXISTS and "EXISTS (any()/has())" or
      (k == K.SCALAR_SELECT or k == K.SELECT) and "a subquery" or (KIND_NAME[k] or "this expression")
    return "Cannot evaluate " .. what
  end
  for _, f in ipairs(children) do
    local why = unevaluable(m, e[f])
    if why then return why end
  end
  return nil
end

-- The objects in the session whose rows match: their primary keys are
-- fetched with the statement's WHERE, given the execution's parameters (a
-- bindparam() in the WHERE; once per parameter set of an executemany).
local function matched(session, conn, m, stmt, params)
  local sel = selectable.select(unpack(m.pk_cols))
  if stmt._where then sel = sel:where(stmt._where) else sel = sel:select_from(m.local_table) end
  local sets, n = {params}, 1
  if type(params) == "table" and type(params[1]) == "table" then sets, n = params, #params end
  local out, found = {}, {}
  for k = 1, n do
    for _, row in ipairs(conn:execute(sel, sets[k]):all()) do
      local vals = {}
      for i = 1, #m.pk_cols do vals[i] = row[i] end
      local obj = session:_identity_lookup(m.base_mapper, vals)
      local st = obj ~= nil and rawget(obj, STATE)
      if st and not found[st] then
        found[st] = true
        out[#out + 1] = st
      end
    end
  end
  return out
end

-- The attribute keys an UPDATE sets (through the mapper's columns).
local function updated_keys(m, stmt, params)
  local keys = {}
  local function add(colkey)
    local col = rawget(m.local_table.c, colkey)
    local k = col and m.col_attr[col]
    if k then keys[#keys + 1] = k end
  end
  for k in pairs(stmt._values or {}) do add(k) end
  if type(params) == "table" then
    local sets = type(params[1]) == "table" and params or {params}   -- executemany: every set
    for _, p in ipairs(sets) do
      for k in pairs(p) do
        if type(k) == "string" then add(k) end
      end
    end
  end
  return keys
end

local function expire_keys(session, st, keys)
  if st.session ~= session then return end
  local pk, list = {}, {}
  for _, k in ipairs(st.mapper.pk_keys) do pk[k] = true end   -- the identity stays loaded
  for _, k in ipairs(keys) do
    if not pk[k] then list[#list + 1] = k end
  end
  attributes.expire_attributes(st, list)
end

-- update(User) with a list of maps holding primary keys: one UPDATE per
-- map, WHERE the primary key, as one executemany per column set.
local function update_by_pk(session, conn, m, params, eopts)
  local list = {}
  local where = {}
  for i, c in ipairs(m.pk_cols) do where[i] = c:eq(elements.bindparam("pk_" .. i, {type = c.type})) end
  local stmt = dml.update(m.local_table):where(unpack(where))
  for n, p in ipairs(params) do
    local q = {}
    for i, k in ipairs(m.pk_keys) do
      if p[k] == nil then
        exc.raise(exc.InvalidRequestError, format("bulk UPDATE of %s: parameter set %d has no primary key " ..
          "value '%s'", m.class_name, n, k), nil, 5)
      end
      q["pk_" .. i] = p[k]
    end
    for k, v in pairs(p) do
      local prop = m.props[k]
      if not (prop and prop.is_column) then
        exc.raise(exc.ArgumentError, format("bulk UPDATE of %s: '%s' is not a mapped column", m.class_name,
          tostring(k)), nil, 5)
      end
      local ispk = false
      for _, pk in ipairs(m.pk_keys) do if pk == k then ispk = true end end
      if not ispk then q[prop.column.key] = v end
    end
    list[n] = q
  end
  local res = conn:execute(stmt, list, eopts)
  for _, p in ipairs(params) do
    local vals = {}
    for i, k in ipairs(m.pk_keys) do vals[i] = p[k] end
    local obj = session:_identity_lookup(m.base_mapper, vals)
    if obj ~= nil then
      local keys = {}
      for k in pairs(p) do keys[#keys + 1] = k end
      expire_keys(session, rawget(obj, STATE), keys)
    end
  end
  return res
end

-- The attribute key -> column key pairs of m that differ (a column named
-- apart from its attribute), or false; per mapper, made once.
local renamed_of = setmetatable({}, {__mode = "k"})
local function renamed(m)
  local r = renamed_of[m]
  if r == nil then
    r = false
    for k, p in pairs(m.props) do
      if p.is_column and p.column.key ~= k then
        r = r or {}
        r[k] = p.column.key
      end
    end
    renamed_of[m] = r
  end
  return r
end

--- insert(Model) with maps of attribute names (SQLAlchemy 2.0's ORM bulk
--- INSERT): the maps keyed by column instead where the two differ.
function M.insert_params(m, params)
  local r = type(params) == "table" and renamed(m)
  if not r then return params end
  local function convert(p)
    local q = {}
    for k, v in pairs(p) do q[r[k] or k] = v end
    return q
  end
  if type(params[1]) == "table" then
    local out = {}
    for i, p in ipairs(params) do out[i] = convert(p) end
    return out
  end
  return convert(params)
end

function M.execute(session, conn, stmt, params, eopts)
  local m = mapper_mod.class_mapper(stmt._entity_class, "Session:execute")
  local kind = stmt._dml
  local crit = m:_single_table_criterion()
  if kind == "insert" then
    return conn:execute(stmt, M.insert_params(m, params), eopts)
  end
  if kind == "update" and type(params) == "table" and type(params[1]) == "table" and not stmt._where then
    if stmt._returning then
      -- refused, as SQLAlchemy does, rather than dropped
      exc.raise(exc.InvalidRequestError, "bulk ORM UPDATE by primary key does not support RETURNING", nil, 3)
    end
    return update_by_pk(session, conn, m, params, eopts)
  end
  if crit then stmt = stmt:where(crit) end
  local sync = sync_option(stmt, eopts)
  if sync == "evaluate" and stmt._where then
    local why = unevaluable(m, stmt._where)
    if why then
      exc.raise(exc.InvalidRequestError, format("Could not evaluate current criteria in Lua: \"%s\". Specify " ..
        "'fetch' or false for the synchronize_session execution option.", why), nil, 3)
    end
  end
  local targets = sync and matched(session, conn, m, stmt, params) or {}
  local res = conn:execute(stmt, params, eopts)
  if kind == "update" then
    local keys = updated_keys(m, stmt, params)
    for _, st in ipairs(targets) do expire_keys(session, st, keys) end
  elseif not stmt._entities then
    for _, st in ipairs(targets) do M.forget_deleted(session, st) end
  else
    -- returning(Model): the returned rows find these objects in the
    -- identity map first (the caller gets them back), then they leave it
    res._deleted_targets = targets
  end
  return res
end

--- An object whose row a DELETE removed leaves the identity map (deleted,
--- as a flushed session:delete() leaves it).
function M.forget_deleted(session, st)
  if st.session == session and st.key and not st.deleted_flushed then
    identity.map(session, st.mapper)[st.key] = nil
    st.deleted_flushed = true
    session._modified[st] = nil
    session._collections[st] = nil
    session._tx_deleted[#session._tx_deleted + 1] = st
  end
end

--- delete(Model):returning(Model): the objects made from the returned rows
--- (rows: objects, or Rows holding them) leave the identity map as the
--- deleted objects they are; a later row of the same key makes a new one.
function M.forget_returned(session, rows, targets)
  for _, st in ipairs(targets or {}) do M.forget_deleted(session, st) end
  for _, r in ipairs(rows) do
    local st = type(r) == "table" and rawget(r, STATE)
    if st then
      M.forget_deleted(session, st)
    elseif type(r) == "userdata" or type(r) == "table" then
      for j = 1, #r do
        local v = r[j]
        st = type(v) == "table" and rawget(v, STATE)
        if st then M.forget_deleted(session, st) end
      end
    end
  end
end

--- update(Model):returning(Model) of the model alone: the objects the
--- rows found (loaded[r], the session's own where it held them) take the
--- returned values whatever synchronize_session did, except an attribute
--- changed in Lua since (that change stays to be flushed). raw: the rows.
function M.refresh_returned(raw, ents, loaded)
  local e = ents[1]
  for r, row in ipairs(raw) do
    local obj = loaded[r]
    local st = type(obj) == "table" and rawget(obj, STATE)
    if st and st.mapper then
      local m = rawget(e.entity, "_mapper") or e.entity
      local plan = e.plan or m.plan
      local committed = rawget(st, "committed")
      for _, f in ipairs(plan:for_mapper(st.mapper).fields) do
        if not (committed and committed[f.key] ~= nil) then
          attributes.loaded_value(st, f.key, row[e.first - 1 + f.pos])
        end
      end
    end
  end
end

return M
