--- sql/statement.lua: what the layers above may ask of a statement, table
--- or type without reading the sql layer's private fields (`_dml`,
--- `_values`, `_returning`, `_affinity`, ...). The engine runs statements
--- through these questions only; the fields stay free to change with the
--- constructs that own them (sql/dml.lua, sql/elements.lua, sql/types.lua).
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")

local M = {}

local type, ipairs, setmetatable, rawget, rawset = type, ipairs, setmetatable, rawget, rawset
local unpack = table.unpack or unpack   -- luacheck: ignore (5.1)
local TEXT = core.kinds.TEXT

--- True when obj can be given to Connection:execute (a statement, text(),
--- a DDL construct).
---@param obj any
---@return boolean
function M.is_executable(obj)
  return type(obj) == "table" and obj._executable == true
end

-- SQLAlchemy's execution options this project does not implement: given
-- here they would be silently ignored, so they are refused by name. Any
-- other key is the program's own (SQLAlchemy passes unknown keys through).
local UNSUPPORTED_EXECUTION_OPTIONS = {
  compiled_cache = "statements are cached per dialect by the compiler (no per-call cache)",
  logging_token = "the engine's echo has no per-connection token",
  no_parameters = "parameters are always bound by the driver",
  preserve_rowcount = "rowcount is kept for every statement",
  insertmanyvalues_page_size = "the page size is the dialect's (executemany batches)",
  driver_column_names = "result keys are the compiled statement's names",
  -- SQLAlchemy's ORM execution options the ORM here has no use for (it does
  -- take populate_existing, autoflush, yield_per and synchronize_session)
  dml_strategy = "ORM DML statements run as bulk or per-row statements chosen by the ORM",
  is_delete_using = "DELETE ... USING is rendered when the statement names other tables",
  is_update_from = "UPDATE ... FROM is rendered when the statement names other tables",
  render_nulls = "bulk inserts group rows by the keys given",
}

--- Refuses the execution options SQLAlchemy has and this project does not
--- (ArgumentError naming the option and where it was given).
---@param opts table|nil
---@param where string e.g. "Connection:execution_options"
---@param level integer error level
function M.check_execution_options(opts, where, level)
  if opts == nil then return end
  if type(opts) ~= "table" then
    exc.raise(exc.ArgumentError, where .. ": options must be a table", nil, level + 1)
  end
  for k in pairs(opts) do
    local why = UNSUPPORTED_EXECUTION_OPTIONS[k]
    if why then
      exc.raise(exc.ArgumentError, string.format("%s: the execution option '%s' is not supported (%s)",
        where, tostring(k), why), nil, level + 1)
    end
  end
end

--- The execution options the statement carries (execution_options()), or nil.
---@param stmt table
---@return table|nil
function M.execution_options(stmt)
  return stmt._execution_options
end

--- True for qs.text(): its binds are named by the caller, so every
--- parameter name must be one of them.
---@param stmt table
---@return boolean
function M.is_text(stmt)
  return stmt._k == TEXT
end

--- "insert", "update" or "delete" for a DML statement; nil otherwise.
---@param stmt table
---@return string|nil
function M.dml_kind(stmt)
  return stmt._dml
end

--- The columns of the statement's RETURNING clause, or nil when it has none.
---@param stmt table
---@return table|nil
function M.returning(stmt)
  return stmt._returning
end

--- True for an INSERT that makes one row per parameter set: not a
--- multi-row values(...) list, not INSERT ... SELECT.
---@param stmt table
---@return boolean
function M.inserts_one_row(stmt)
  return stmt._dml == "insert" and not stmt._multi and not stmt._select
end

--- True for an INSERT whose rows come from the parameter sets alone: one
--- row per set and no values() of its own. Its VALUES group can be
--- repeated for a batch of parameter sets.
---@param stmt table
---@return boolean
function M.inserts_parameter_rows(stmt)
  return M.inserts_one_row(stmt) and not stmt._values
end

--- True for an INSERT with ON CONFLICT or ON DUPLICATE KEY UPDATE.
---@param stmt table
---@return boolean
function M.has_upsert(stmt)
  return stmt._on_conflict ~= nil or stmt._on_duplicate ~= nil
end

--- The value a one-row INSERT's values() gives the column `key`, or nil.
---@param stmt table
---@param key string
---@return any
function M.held_value(stmt, key)
  local v = stmt._values
  return v and v[key]
end

--- The INSERT stmt with every value it sends CAST to its column's type,
--- and the number of values it sends for the parameter keys `keys` (so
--- the values keep their types where the SQL around them does not say,
--- e.g. inside a VALUES list that is selected from).
---@param stmt table
---@param keys table<string, boolean>
---@param dialect? string the dialect's name (a column's sequence gives a value where it applies)
---@return table, integer
function M.with_cast_values(stmt, keys, dialect)
  local typed = setmetatable({}, {__index = stmt})
  typed._effective = function(_, k, dialect)
    local e, fd = stmt:_effective(k, dialect)
    local out = {}
    for i, pr in ipairs(e._pairs) do out[i] = {pr[1], elements.cast(pr[2], pr[1].type)} end
    e._pairs = out
    return e, fd
  end
  return typed, #stmt:_effective(keys, dialect)._pairs
end

--- The INSERT stmt with RETURNING of its table's primary key (how a new
--- key comes back where the database has no lastrowid), made once per
--- statement object (a copy of stmt makes its own: util.copy leaves it out).
---@param stmt table
---@return table
function M.returning_primary_key(stmt)
  local target = rawget(stmt, "_implicit_returning")
  if not target then
    target = stmt:returning(unpack(stmt.table:primary_key_columns()))
    rawset(stmt, "_implicit_returning", target)
  end
  return target
end

--- The table's column that takes the database's new id when a row does
--- not give it (SQLAlchemy's autoincrement column), or nil.
---@param tbl table
---@return table|nil
function M.autoincrement_column(tbl)
  return tbl:_autoincrement_column()
end

--- The broad class of values a type holds: "integer", "numeric", "string",
--- "boolean", "date", "datetime", ... or nil.
---@param t table|nil
---@return string|nil
function M.type_affinity(t)
  return t and t._affinity
end

--- The converter of a type for values coming back from the database (a C
--- code or a Lua function), or nil when they come back as they are.
---@param t table|nil
---@return any
function M.result_processor(t)
  return t and t._result or nil
end

--- The shard the statement was given with set_shard(), or nil
--- (quicksilver.ext.horizontal_shard).
---@param stmt table
---@return string|nil
function M.shard(stmt)
  return rawget(stmt, "_shard")
end

return M
