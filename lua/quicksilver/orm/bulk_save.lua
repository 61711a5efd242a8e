--- orm/bulk_save.lua: SQLAlchemy's legacy bulk methods on the Session:
--- bulk_save_objects, bulk_insert_mappings, bulk_update_mappings. They
--- skip the unit of work: no cascades, no events, no identity map. Objects
--- without an identity are INSERTed (one executemany per run of objects of
--- one class), those with one UPDATEd by primary key. With return_defaults
--- the INSERT returns the new primary keys (executemany with RETURNING, in
--- parameter order on every database: engine/returning_many.lua) and they
--- are set on the objects, which become detached with that identity (as
--- SQLAlchemy's); without it they stay transient.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local dml = require("quicksilver.sql.dml")
local attributes = require("quicksilver.orm.attributes")
local identity = require("quicksilver.orm.identity")
local mapper_mod = require("quicksilver.orm.mapper")

local M = {}

local type, ipairs, rawget, format, tostring = type, ipairs, rawget, string.format, tostring
local unpack = table.unpack or unpack
local NULL = attributes.NULL

-- update_changed_only and render_nulls are not supported: refused by name.
local SAVE_OPTIONS = util.set({"return_defaults", "preserve_order"})
local INSERT_OPTIONS = util.set({"return_defaults"})

--- The count of bulk statements sent (for specs: one per run, not per object).
M.statements = 0

local function check_mapper(m, what)
  if #m.tables > 1 then
    exc.raise(exc.InvalidRequestError, format("%s: %s is a joined-table subclass (several tables); bulk " ..
      "saving it is not supported (add it to the session and flush)", what, m.class_name), nil, 4)
  end
end

-- INSERTs rows (column key -> value) into m's table; with want_keys the
-- new primary keys, in the order of the rows.
local function insert_rows(session, m, rows, want_keys)
  local stmt = dml.insert(m.local_table)
  if want_keys then stmt = stmt:returning(unpack(m.pk_cols)) end
  M.statements = M.statements + 1
  local conn = session:_connection_for(m)
  local res = conn:execute(stmt, rows)
  if not want_keys then return nil end
  return res:all()
end

-- UPDATEs by primary key (orm/bulk.lua's bulk UPDATE of update(Model)
-- with a list of attribute maps).
local function update_rows(session, m, rows)
  M.statements = M.statements + 1
  session:_run(dml.update(m.class), rows)
end

-- An object's column values (column key -> value) for an INSERT, the
-- columns it leaves nil out (their defaults apply).
local function insert_row(m, st)
  local row = {}
  local dict = st.dict
  for _, p in ipairs(m.column_props) do
    local v = rawget(dict, p.key)
    if v ~= nil and v ~= NULL and not p.read_only then row[p.column.key] = v end
  end
  return row
end

-- The attribute values of an object for an UPDATE by primary key.
local function update_row(m, st)
  local row = {}
  local dict = st.dict
  for _, p in ipairs(m.column_props) do
    local v = rawget(dict, p.key)
    if v ~= nil and not p.read_only then row[p.key] = v end
  end
  return row
end

local function flush_run(session, run, return_defaults)
  local m, sts = run.mapper, run.states
  if run.update then
    local rows = {}
    for _, st in ipairs(sts) do
      local row = update_row(m, st)
      -- an object holding nothing beside its key has nothing to UPDATE
      local n = 0
      for _ in pairs(row) do n = n + 1 end
      if n > #m.pk_keys then rows[#rows + 1] = row end
    end
    if #rows == 0 then return end
    return update_rows(session, m, rows)
  end
  local rows = {}
  for i, st in ipairs(sts) do rows[i] = insert_row(m, st) end
  local got = insert_rows(session, m, rows, return_defaults)
  if not got then return end
  local n = #m.pk_keys
  for i, st in ipairs(sts) do
    local row = got[i]
    local vals = {}
    for j, k in ipairs(m.pk_keys) do
      vals[j] = row[j]
      st.dict[k] = row[j]
    end
    st.key = identity.key(m, vals, n)
  end
end

--- session:bulk_save_objects(objects, {return_defaults = true, preserve_order})
---@param session quicksilver.orm.Session
---@param objects table[]
---@param opts? table
function M.save_objects(session, objects, opts)
  opts = util.check_options("bulk_save_objects", opts, SAVE_OPTIONS, 2)
  if type(objects) ~= "table" then
    exc.raise(exc.ArgumentError, "bulk_save_objects: expected a list of mapped objects", nil, 2)
  end
  local runs, run = {}, nil
  for i, obj in ipairs(objects) do
    local st = attributes.state_of(obj)
    if not st then
      exc.raise(exc.ArgumentError, format("bulk_save_objects: item #%d (%s) is not a mapped object", i,
        tostring(obj)), nil, 2)
    end
    local m = st.mapper
    check_mapper(m, "bulk_save_objects")
    local upd = st.key ~= nil
    if not run or run.mapper ~= m or run.update ~= upd then
      run = {mapper = m, update = upd, states = {}}
      runs[#runs + 1] = run
    end
    run.states[#run.states + 1] = st
  end
  for _, r in ipairs(runs) do flush_run(session, r, opts.return_defaults) end
end

-- Attribute names of mappings to column keys (they differ for a column
-- named apart from its attribute), checked.
local function to_columns(m, mapping, i, what)
  local row = {}
  for k, v in pairs(mapping) do
    local p = m.props[k]
    if not (p and p.is_column) then
      exc.raise(exc.ArgumentError, format("%s: mapping #%d: '%s' is not a mapped column of %s", what, i,
        tostring(k), m.class_name), nil, 4)
    end
    row[p.column.key] = v
  end
  return row
end

--- session:bulk_insert_mappings(Model, {{attr = value}, ...}, {return_defaults = true}):
--- with return_defaults the new primary keys are set in the mappings.
---@param session quicksilver.orm.Session
---@param cls table
---@param mappings table[]
---@param opts? table
function M.insert_mappings(session, cls, mappings, opts)
  opts = util.check_options("bulk_insert_mappings", opts, INSERT_OPTIONS, 2)
  local m = mapper_mod.class_mapper(cls, "bulk_insert_mappings")
  check_mapper(m, "bulk_insert_mappings")
  local rows = {}
  for i, mp in ipairs(mappings) do
    rows[i] = to_columns(m, mp, i, "bulk_insert_mappings")
    -- single-table inheritance: the class's identity, as its objects carry
    if m.polymorphic_on and m.polymorphic_identity ~= nil and mp[m.polymorphic_on.key] == nil then
      rows[i][m.polymorphic_on.column.key] = m.polymorphic_identity
    end
  end
  if #rows == 0 then return end
  local got = insert_rows(session, m, rows, opts.return_defaults)
  if got then
    for i, mp in ipairs(mappings) do
      for j, k in ipairs(m.pk_keys) do mp[k] = got[i][j] end
    end
  end
end

--- session:bulk_update_mappings(Model, {{id = 1, attr = value}, ...}): an
--- UPDATE by primary key per mapping (each must carry the key).
---@param session quicksilver.orm.Session
---@param cls table
---@param mappings table[]
function M.update_mappings(session, cls, mappings)
  local m = mapper_mod.class_mapper(cls, "bulk_update_mappings")
  check_mapper(m, "bulk_update_mappings")
  if #mappings == 0 then return end
  return update_rows(session, m, mappings)
end

return M
