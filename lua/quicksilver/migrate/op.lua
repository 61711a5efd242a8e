--- migrate/op.lua: the operations a revision's upgrade/downgrade calls
--- (Alembic's op): DDL through the Core compiler, data through Core
--- statements, on the migration's connection. Each works called as op.f(...)
--- or op:f(...).
local exc = require("quicksilver.exc")
local schema = require("quicksilver.sql.schema")
local ddl = require("quicksilver.sql.ddl")
local dml = require("quicksilver.sql.dml")
local elements = require("quicksilver.sql.elements")

local M = {}

local format = string.format

-- A Table standing for an existing one in DDL (only its name matters).
local function table_ref(name, schema_name)
  if type(name) ~= "string" or name == "" then
    exc.raise(exc.ArgumentError, "op: expected a table name", nil, 4)
  end
  return {name = name, schema = schema_name}
end

--- The operations object for a connection.
function M.new(conn, opts)
  opts = opts or {}
  local op = {}
  local function def(name, fn)
    op[name] = function(a, ...)
      if a == op then return fn(...) end
      return fn(a, ...)
    end
  end

  local function run(stmt, params) return conn:execute(stmt, params) end

  def("get_bind", function() return conn end)

  --- create_table(name, Column..., Constraint..., {options}) -> the Table
  def("create_table", function(name, ...)
    local md = schema.metadata()
    local t = schema.table(name, md, ...)
    run(ddl.CreateTable(t, {inline_alter = conn.dialect.name == "sqlite"}))
    for _, idx in ipairs(t.indexes) do run(ddl.CreateIndex(idx)) end
    return t
  end)

  def("drop_table", function(name, o)
    run(ddl.DropTable(table_ref(name, o and o.schema)))
  end)

  --- add_column(table_name, qs.Column(...))
  def("add_column", function(tname, col, o)
    if type(col) ~= "table" or not col._is_clause then
      exc.raise(exc.ArgumentError, "op.add_column: expected a table name and a qs.Column", nil, 3)
    end
    run(ddl.AddColumn(table_ref(tname, o and o.schema), col))
  end)

  def("drop_column", function(tname, cname, o)
    if type(cname) ~= "string" then
      exc.raise(exc.ArgumentError, "op.drop_column: expected a table name and a column name", nil, 3)
    end
    run(ddl.DropColumn(table_ref(tname, o and o.schema), cname))
  end)

  def("rename_table", function(old, new, o)
    if type(new) ~= "string" or new == "" then
      exc.raise(exc.ArgumentError, "op.rename_table: expected the old and the new name", nil, 3)
    end
    run(ddl.RenameTable(table_ref(old, o and o.schema), new))
  end)

  --- create_index(name, table_name, {column names}, {unique = true})
  def("create_index", function(iname, tname, cols, o)
    if type(iname) ~= "string" or type(cols) ~= "table" or #cols == 0 then
      exc.raise(exc.ArgumentError, "op.create_index: expected a name, a table name and a list of columns", nil, 3)
    end
    local exprs = {}
    for i, c in ipairs(cols) do exprs[i] = elements.column(c) end
    local idx = {_is_index = true, name = iname, table = table_ref(tname, o and o.schema), expressions = exprs,
      unique = o and o.unique or false}
    run(ddl.CreateIndex(idx))
  end)

  def("drop_index", function(iname, tname, o)
    run(ddl.DropIndex({name = iname, table = table_ref(tname or "", o and o.schema)}))
  end)

  --- execute(sql text or statement, params?)
  def("execute", function(stmt, params)
    if type(stmt) == "string" then stmt = elements.text(stmt) end
    return run(stmt, params)
  end)

  --- bulk_insert(qs.table(...) or Table, {rows})
  def("bulk_insert", function(t, rows)
    if type(t) ~= "table" or type(rows) ~= "table" then
      exc.raise(exc.ArgumentError, "op.bulk_insert: expected a table and a list of rows", nil, 3)
    end
    if #rows == 0 then return end
    return run(dml.insert(t), rows)
  end)

  -- the Alembic operations this first landing does not have yet
  for _, name in ipairs({"alter_column", "create_unique_constraint", "create_foreign_key",
      "create_check_constraint", "drop_constraint", "batch_alter_table"}) do
    def(name, function()
      exc.raise(exc.NotSupportedError, format("op.%s is not available yet (quicksilver migrate: the " ..
        "operations so far are create_table, drop_table, add_column, drop_column, rename_table, " ..
        "create_index, drop_index, execute, bulk_insert)", name), nil, 3)
    end)
  end
  return op
end

return M
