--- migrate/batch.lua: op.batch_alter_table(table, fn(batch)). Where the
--- database has no ALTER TABLE for columns and constraints (the dialect's
--- alter_table capability is false: SQLite), the table is
--- rebuilt: a new table with the changes, the rows copied, the old one
--- dropped and the new one renamed, its indexes made again (the migration
--- runtime has foreign-key enforcement off around the revision and runs
--- PRAGMA foreign_key_check before committing: M.revision, below).
--- Elsewhere each change is its own ALTER TABLE.
local exc = require("quicksilver.exc")
local core = require("quicksilver.core")
local schema = require("quicksilver.sql.schema")
local ddl = require("quicksilver.sql.ddl")
local elements = require("quicksilver.sql.elements")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")

local M = {}

local format, concat = string.format, table.concat
local unpack = table.unpack or unpack   -- luacheck: ignore (5.1)

-- Each batch operation and the position of its options table (op's
-- options less the table's schema, which batch_alter_table's table has).
local OPTIONS_AT = {add_column = 2, drop_column = 2, alter_column = 2, create_unique_constraint = 3,
  create_foreign_key = 5, create_check_constraint = 3, drop_constraint = 2, create_index = 3, drop_index = 2,
  create_primary_key = 3}

local function batch_options(op_options, name)
  local known = {}
  for k in pairs(op_options[name] or {}) do
    if k ~= "schema" and k ~= "source_schema" then known[k] = true end
  end
  return known
end

-- The changes, recorded in order (their options checked as they come).
local function recorder(op_options)
  local changes = {}
  local batch = {}
  local function def(name)
    local known = batch_options(op_options, name)
    batch[name] = function(a, ...)
      local args = {n = select("#", ...), ...}
      if a ~= batch then
        table.insert(args, 1, a)
        args.n = args.n + 1
      end
      util.check_options("batch." .. name, args[OPTIONS_AT[name]], known, 2)
      changes[#changes + 1] = {op = name, args = args}
    end
  end
  for n in pairs(OPTIONS_AT) do def(n) end
  return batch, changes
end

-- Where ALTER TABLE changes a table in place: each change through op, on
-- the table, every argument passed on (the options included).
local DIRECT = {
  add_column = function(op, t, a) op.add_column(t, a[1], a[2]) end,
  drop_column = function(op, t, a) op.drop_column(t, a[1], a[2]) end,
  alter_column = function(op, t, a) op.alter_column(t, a[1], a[2]) end,
  create_unique_constraint = function(op, t, a) op.create_unique_constraint(a[1], t, a[2], a[3]) end,
  create_foreign_key = function(op, t, a) op.create_foreign_key(a[1], t, a[2], a[3], a[4], a[5]) end,
  create_check_constraint = function(op, t, a) op.create_check_constraint(a[1], t, a[2], a[3]) end,
  create_primary_key = function(op, t, a) op.create_primary_key(a[1], t, a[2], a[3]) end,
  drop_constraint = function(op, t, a) op.drop_constraint(a[1], t, a[2]) end,
  create_index = function(op, t, a) op.create_index(a[1], t, a[2], a[3]) end,
  drop_index = function(op, t, a) op.drop_index(a[1], t, a[2]) end,
}

local function direct(op, tname, changes)
  for _, ch in ipairs(changes) do DIRECT[ch.op](op, tname, ch.args) end
end

-- The rebuild. A plan is the table to make: cols ({name, col} in order),
-- source (new column name -> the old one its rows come from), constraints,
-- fks (ForeignKeyConstraints), new_pk (a PrimaryKeyConstraint replacing the
-- table's), indexes ({name, columns, unique, sql = its own CREATE INDEX, or
-- nil to be made from its columns}).

local function fail(cls, tname, fmt, ...)
  exc.raise(cls, format("batch_alter_table(%s): " .. fmt, tname, ...), nil, 4)
end

-- The table as the database has it, and the SQL of its indexes (reflection
-- cannot read back a partial or expression index; the copy must not lose
-- it). Refuses what the rebuild cannot carry over.
local function read_table(conn, tname)
  local old = conn:_reflect_table(schema.metadata(), tname, {resolve_fks = false})
  local table_sql = conn:exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
    {tname}):scalar() or ""
  if table_sql:upper():find("DEFERRABLE", 1, true) then
    fail(exc.NotSupportedError, tname, "the table has DEFERRABLE constraints, which the rebuild cannot carry over")
  end
  local index_sql = {}
  for _, r in ipairs(conn:exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND " ..
      "tbl_name = ? AND sql IS NOT NULL", {tname}):all()) do
    index_sql[r[1]] = r[2]
  end
  return old, index_sql
end

-- The plan that makes the table again as it is.
local function plan_of(tname, old, index_sql)
  local plan = {tname = tname, cols = {}, source = {}, constraints = {}, fks = {}, indexes = {}}
  for _, c in ipairs(old.columns) do
    plan.cols[#plan.cols + 1] = {name = c.name, col = c}
    plan.source[c.name] = c.name
  end
  -- foreign keys are in plan.fks (the table's constraints hold them too:
  -- taken from both, each was written twice, and twice more per rebuild)
  for _, con in ipairs(old.constraints) do
    if con.kind ~= "foreign_key" then plan.constraints[#plan.constraints + 1] = con end
  end
  local seen = {}
  for _, fk in ipairs(old.foreign_keys) do
    local con = fk.constraint
    if con and not seen[con] then seen[con] = true; plan.fks[#plan.fks + 1] = con end
  end
  for _, ix in ipairs(old.indexes) do
    local names, plain = {}, true
    for i, e in ipairs(ix.expressions) do
      names[i] = e.name
      if not e.name then plain = false end
    end
    -- made again from its own SQL (a partial or expression index stays one)
    plan.indexes[#plan.indexes + 1] = {name = ix.name, columns = names, unique = ix.unique,
      sql = index_sql[ix.name], plain = plain}
  end
  return plan
end

-- The position and entry of a column of the plan.
local function find_column(plan, name)
  for i, e in ipairs(plan.cols) do if e.name == name then return i, e end end
  fail(exc.ArgumentError, plan.tname, "no column %s", tostring(name))
end

-- A renamed column, renamed in the indexes on it too: those made from
-- their columns are made under the new name; a partial or expression one
-- cannot be rewritten and is refused.
local function rename_in_indexes(plan, old_name, new_name)
  for _, ix in ipairs(plan.indexes) do
    for i, cn in ipairs(ix.columns) do
      if cn == old_name then
        ix.columns[i] = new_name
        if ix.sql and (ix.sql:upper():find("%sWHERE%s") or not ix.plain) then
          fail(exc.NotSupportedError, plan.tname, "index %s is partial or on expressions and names the renamed " ..
            "column %s; drop it first and make it again", tostring(ix.name), tostring(old_name))
        end
        ix.sql = nil
      end
    end
  end
end

-- A copy of a column with the alter_column options applied.
local function altered_column(col, o)
  local c = col:copy()
  if o.type or o.type_ then c.type = types.to_instance(o.type or o.type_) end
  if o.nullable ~= nil then c.nullable = o.nullable end
  if o.server_default == false then c.server_default = nil
  elseif o.server_default ~= nil then c.server_default = o.server_default end
  return c
end

-- A constraint's positional arguments: its columns then its options (every
-- column: an `x and unpack(t) or y` keeps only the first).
local function constraint_args(name, cols, o)
  local args = {unpack(cols)}
  args[#args + 1] = {name = name, deferrable = o.deferrable, initially = o.initially}
  return args
end

-- Each recorded change applied to the plan.
local APPLY = {}

function APPLY.add_column(plan, a)
  plan.cols[#plan.cols + 1] = {name = a[1].name, col = a[1]}
end

function APPLY.drop_column(plan, a)
  table.remove(plan.cols, (find_column(plan, a[1])))
  plan.source[a[1]] = nil
end

function APPLY.alter_column(plan, a)
  local _, e = find_column(plan, a[1])
  local o = a[2] or {}
  if o.comment ~= nil then
    -- the rebuild is for databases without ALTER, which keep no comments either
    fail(exc.NotSupportedError, plan.tname, "%s keeps no comments (comment)", plan.caps.name)
  end
  local c = altered_column(e.col, o)
  local new_name = o.new_column_name
  if new_name then
    plan.source[new_name] = plan.source[e.name]
    plan.source[e.name] = nil
    c.name, c.key = new_name, new_name
    e.name = new_name
    rename_in_indexes(plan, a[1], new_name)
  end
  e.col = c
end

function APPLY.create_unique_constraint(plan, a)
  plan.constraints[#plan.constraints + 1] = schema.UniqueConstraint(unpack(constraint_args(a[1], a[2], a[3] or {})))
end

function APPLY.create_primary_key(plan, a)
  if type(a[2]) ~= "table" or #a[2] == 0 then
    fail(exc.ArgumentError, plan.tname, "create_primary_key needs a list of columns")
  end
  for _, cn in ipairs(a[2]) do find_column(plan, cn) end
  plan.new_pk = schema.PrimaryKeyConstraint(unpack(constraint_args(a[1], a[2], a[3] or {})))
end

function APPLY.create_check_constraint(plan, a)
  plan.constraints[#plan.constraints + 1] = schema.CheckConstraint(a[2], {name = a[1]})
end

function APPLY.create_foreign_key(plan, a)
  local refs = {}
  for i, rc in ipairs(a[4]) do refs[i] = a[2] .. "." .. rc end
  local o = a[5] or {}
  plan.fks[#plan.fks + 1] = schema.ForeignKeyConstraint(a[3], refs, {name = a[1], ondelete = o.ondelete,
    onupdate = o.onupdate, deferrable = o.deferrable, initially = o.initially})
end

function APPLY.drop_constraint(plan, a)
  local found = false
  for _, list in ipairs({plan.constraints, plan.fks}) do
    for i = #list, 1, -1 do
      if list[i].name == a[1] then table.remove(list, i); found = true end
    end
  end
  if not found then fail(exc.ArgumentError, plan.tname, "no constraint named %s", tostring(a[1])) end
end

function APPLY.create_index(plan, a)
  local o = a[3] or {}
  local w = o.sqlite_where
  if type(w) == "string" then w = elements.text(w) end
  plan.indexes[#plan.indexes + 1] = {name = a[1], columns = a[2], unique = o.unique, sqlite_where = w}
end

function APPLY.drop_index(plan, a)
  for i = #plan.indexes, 1, -1 do if plan.indexes[i].name == a[1] then table.remove(plan.indexes, i) end end
end

-- True when every column named is still in the plan (a constraint naming a
-- dropped column goes with it).
local function all_present(plan, names)
  for _, cn in ipairs(names or {}) do
    local present = false
    for _, e in ipairs(plan.cols) do if e.name == cn then present = true end end
    if not present then return false end
  end
  return true
end

-- The new table's columns and constraints: the columns without their own
-- foreign keys (the table's constraints carry them), the new primary key,
-- the constraints and foreign keys whose columns remain.
local function table_items(plan)
  local items = {}
  for _, e in ipairs(plan.cols) do
    local c = e.col:copy()
    c.foreign_keys = {}
    if plan.new_pk then c.primary_key = false end
    items[#items + 1] = c
  end
  if plan.new_pk then items[#items + 1] = plan.new_pk end
  for _, con in ipairs(plan.constraints) do
    if con.kind ~= "primary_key" and all_present(plan, con.columns) then items[#items + 1] = con end
  end
  for _, fk in ipairs(plan.fks) do
    if all_present(plan, fk.columns) then
      items[#items + 1] = schema.ForeignKeyConstraint(fk.columns, fk.refs, {name = fk.name,
        ondelete = fk.ondelete, onupdate = fk.onupdate, deferrable = fk.deferrable, initially = fk.initially})
    end
  end
  return items
end

-- The new table under a temporary name, the rows copied into it, the old
-- one dropped and the new one renamed.
local function swap_in(conn, plan)
  local function ident(name) return core.ident(plan.caps.name, name) end
  local tname, tmp = plan.tname, "_qs_tmp_" .. plan.tname
  local t = schema.table(tmp, schema.metadata(), unpack(table_items(plan)))
  conn:execute(ddl.CreateTable(t, {inline_alter = true}))
  local dst, src = {}, {}
  for _, e in ipairs(plan.cols) do
    if plan.source[e.name] then
      dst[#dst + 1] = ident(e.name)
      src[#src + 1] = ident(plan.source[e.name])
    end
  end
  if #dst > 0 then
    conn:exec_driver_sql(format("INSERT INTO %s (%s) SELECT %s FROM %s", ident(tmp), concat(dst, ", "),
      concat(src, ", "), ident(tname)))
  end
  conn:exec_driver_sql("DROP TABLE " .. ident(tname))
  conn:exec_driver_sql(format("ALTER TABLE %s RENAME TO %s", ident(tmp), ident(tname)))
end

-- The indexes made again: from their own SQL, or from their columns.
local function remake_indexes(conn, plan)
  for _, ix in ipairs(plan.indexes) do
    if ix.sql then
      conn:exec_driver_sql(ix.sql)
    else
      local exprs = {}
      for i, cn in ipairs(ix.columns) do exprs[i] = type(cn) == "string" and elements.column(cn) or cn end
      conn:execute(ddl.CreateIndex({name = ix.name, table = {name = plan.tname}, expressions = exprs,
        unique = ix.unique or false, sqlite_where = ix.sqlite_where}))
    end
  end
end

-- Where ALTER TABLE cannot change columns and constraints (SQLite): the
-- table made again with the changes.
local function rebuild(conn, tname, changes)
  local plan = plan_of(tname, read_table(conn, tname))
  plan.caps = conn.dialect.caps
  for _, ch in ipairs(changes) do APPLY[ch.op](plan, ch.args) end
  swap_in(conn, plan)
  remake_indexes(conn, plan)
end

--- op.batch_alter_table(table, fn(batch)): the changes fn records, applied
--- in place where the database has ALTER TABLE, by a rebuild elsewhere.
---@param op table the operations object
---@param conn table
---@param tname string
---@param fn fun(batch: table)
---@param op_options table op's options per operation (migrate/op.lua OPTIONS)
function M.run(op, conn, tname, fn, op_options)
  if type(tname) ~= "string" or type(fn) ~= "function" then
    exc.raise(exc.ArgumentError, "op.batch_alter_table: expected a table name and a function(batch)", nil, 3)
  end
  local batch, changes = recorder(op_options)
  fn(batch)
  if conn.dialect.caps.alter_table then direct(op, tname, changes) else rebuild(conn, tname, changes) end
end

--- One revision's transaction. Where tables are rebuilt (no ALTER TABLE:
--- SQLite), foreign-key enforcement is off around it (a rebuild drops and
--- renames tables others refer to; the pragma only works outside a
--- transaction) and PRAGMA foreign_key_check must find nothing before the
--- commit.
---@param engine table
---@param fn fun(conn: table)
function M.run_revision(engine, fn)
  if engine.dialect.caps.alter_table then return engine:begin(fn) end
  return engine:connect(function(conn)
    conn:exec_driver_sql("PRAGMA foreign_keys = OFF")
    conn:commit()
    local ok, err = pcall(conn.begin, conn, function(c)
      fn(c)
      local bad = c:exec_driver_sql("PRAGMA foreign_key_check"):all()
      if #bad > 0 then
        exc.raise(exc.IntegrityError, format("foreign key check failed after the revision: %d row(s) of " ..
          "table %s refer to rows that do not exist", #bad, tostring(bad[1][1])), nil, 2)
      end
    end)
    conn:exec_driver_sql("PRAGMA foreign_keys = ON")
    conn:commit()
    if not ok then error(err, 0) end
  end)
end

return M
