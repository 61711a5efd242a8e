--- migrate/op.lua: the operations a revision's upgrade/downgrade calls
--- (Alembic's op): DDL through the Core compiler, data through Core
--- statements, on the migration's connection. Each works called as op.f(...)
--- or op:f(...).
local exc = require("quicksilver.exc")
local schema = require("quicksilver.sql.schema")
local ddl = require("quicksilver.sql.ddl")
local dml = require("quicksilver.sql.dml")
local elements = require("quicksilver.sql.elements")
local util = require("quicksilver.util")

local M = {}

local format = string.format
local set, check = util.set, util.check_options

-- The options each operation takes (Alembic's keyword arguments that mean
-- something here); any other is refused by name.
local OPTIONS = {
  drop_table = set({"schema"}),
  add_column = set({"schema"}),
  drop_column = set({"schema"}),
  rename_table = set({"schema"}),
  create_index = set({"unique", "schema", "postgresql_where", "sqlite_where", "postgresql_using",
    "mysql_length", "mariadb_length"}),
  drop_index = set({"schema"}),
  alter_column = set({"type", "type_", "nullable", "server_default", "new_column_name", "comment",
    "existing_type", "existing_nullable", "existing_server_default", "existing_comment", "schema"}),
  create_unique_constraint = set({"schema", "deferrable", "initially"}),
  create_foreign_key = set({"ondelete", "onupdate", "source_schema", "referent_schema", "deferrable", "initially"}),
  create_check_constraint = set({"schema"}),
  create_primary_key = set({"schema", "deferrable", "initially"}),
  drop_constraint = set({"type_", "type", "schema"}),
}
M.OPTIONS = OPTIONS

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
    for _, stmt in ipairs(ddl.comment_statements(t, conn.dialect.name)) do run(stmt) end
    for _, idx in ipairs(t.indexes) do run(ddl.CreateIndex(idx)) end
    return t
  end)

  def("drop_table", function(name, o)
    check("op.drop_table", o, OPTIONS.drop_table, 3)
    run(ddl.DropTable(table_ref(name, o and o.schema)))
  end)

  --- add_column(table_name, qs.Column(...))
  def("add_column", function(tname, col, o)
    check("op.add_column", o, OPTIONS.add_column, 3)
    if type(col) ~= "table" or not col._is_clause then
      exc.raise(exc.ArgumentError, "op.add_column: expected a table name and a qs.Column", nil, 3)
    end
    local t = table_ref(tname, o and o.schema)
    run(ddl.AddColumn(t, col))
    if col.comment ~= nil and conn.dialect.name == "postgresql" then run(ddl.SetComment(t, col.name, col.comment)) end
  end)

  def("drop_column", function(tname, cname, o)
    check("op.drop_column", o, OPTIONS.drop_column, 3)
    if type(cname) ~= "string" then
      exc.raise(exc.ArgumentError, "op.drop_column: expected a table name and a column name", nil, 3)
    end
    run(ddl.DropColumn(table_ref(tname, o and o.schema), cname))
  end)

  def("rename_table", function(old, new, o)
    check("op.rename_table", o, OPTIONS.rename_table, 3)
    if type(new) ~= "string" or new == "" then
      exc.raise(exc.ArgumentError, "op.rename_table: expected the old and the new name", nil, 3)
    end
    run(ddl.RenameTable(table_ref(old, o and o.schema), new))
  end)

  --- create_index(name, table_name, {column names}, {unique, postgresql_where, sqlite_where,
  --- postgresql_using, schema}): the Index options, each on its database
  def("create_index", function(iname, tname, cols, o)
    o = check("op.create_index", o, OPTIONS.create_index, 3)
    if type(iname) ~= "string" or type(cols) ~= "table" or #cols == 0 then
      exc.raise(exc.ArgumentError, "op.create_index: expected a name, a table name and a list of columns", nil, 3)
    end
    local exprs = {}
    for i, c in ipairs(cols) do exprs[i] = type(c) == "string" and elements.column(c) or c end
    -- checked and normalised as qs.Index does
    local model = schema.index(iname, {unique = o.unique, postgresql_where = o.postgresql_where,
      sqlite_where = o.sqlite_where, postgresql_using = o.postgresql_using, mysql_length = o.mysql_length,
      mariadb_length = o.mariadb_length})
    local idx = {_is_index = true, name = iname, table = table_ref(tname, o.schema), expressions = exprs,
      unique = o.unique or false, postgresql_where = model.postgresql_where, sqlite_where = model.sqlite_where,
      postgresql_using = model.postgresql_using, mysql_length = model.mysql_length}
    run(ddl.CreateIndex(idx))
  end)

  def("drop_index", function(iname, tname, o)
    check("op.drop_index", o, OPTIONS.drop_index, 3)
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

  local function sqlite_refuses(what)
    if conn.dialect.name == "sqlite" then
      exc.raise(exc.NotSupportedError, format("op.%s: SQLite cannot change a table's constraints in " ..
        "place; use op.batch_alter_table", what), nil, 4)
    end
  end

  --- alter_column(table, column, {type, nullable, server_default (false
  --- drops it), new_column_name, existing_type, existing_nullable,
  --- existing_server_default})
  def("alter_column", function(tname, cname, o)
    o = check("op.alter_column", o, OPTIONS.alter_column, 3)
    if o.comment ~= nil and o.comment ~= false and type(o.comment) ~= "string" then
      exc.raise(exc.ArgumentError, "op.alter_column: comment must be a string (false removes it)", nil, 3)
    end
    local t = table_ref(tname, o.schema)
    local mysql = conn.dialect.name == "mysql" or conn.dialect.name == "mariadb"
    local changes = o.type ~= nil or o.type_ ~= nil or o.nullable ~= nil or o.server_default ~= nil or
      (mysql and o.comment ~= nil)
    if o.comment ~= nil and conn.dialect.name == "sqlite" then
      exc.raise(exc.NotSupportedError, "op.alter_column: SQLite keeps no comments (comment)", nil, 3)
    end
    if changes then
      local spec = {type = o.type or o.type_, nullable = o.nullable, server_default = o.server_default}
      if mysql then
        -- MODIFY restates the column: what is not changing comes from the
        -- existing_* options or from the database
        local cur
        local need = (spec.type == nil and o.existing_type == nil) or
          (spec.nullable == nil and o.existing_nullable == nil)
        if need and conn.offline then
          exc.raise(exc.NotSupportedError, format("op.alter_column(%s, %s): offline SQL for MySQL needs " ..
            "existing_type and existing_nullable (MODIFY COLUMN restates the column)", tname, cname), nil, 3)
        end
        if need then
          for _, c in ipairs(require("quicksilver").inspect(conn):get_columns(tname, o.schema)) do
            if c.name == cname then cur = c end
          end
        end
        if spec.type == nil then spec.type = o.existing_type or (cur and cur.type) end
        if spec.nullable == nil then
          if o.existing_nullable ~= nil then spec.nullable = o.existing_nullable else spec.nullable = cur and cur.nullable end
        end
        if spec.server_default == nil then
          local d = o.existing_server_default
          if d == nil and cur and cur.default ~= nil then d = elements.text(tostring(cur.default)) end
          spec.server_default = d
        end
        -- MODIFY drops a comment it does not restate
        if o.comment ~= nil then spec.comment = o.comment or nil
        elseif o.existing_comment ~= nil then spec.comment = o.existing_comment
        elseif cur then spec.comment = cur.comment
        elseif conn.offline then
          exc.raise(exc.NotSupportedError, format("op.alter_column(%s, %s): offline SQL for MySQL needs " ..
            "existing_comment when the column has one (MODIFY COLUMN restates the column)", tname, cname), nil, 3)
        else
          for _, c in ipairs(require("quicksilver").inspect(conn):get_columns(tname, o.schema)) do
            if c.name == cname then spec.comment = c.comment end
          end
        end
      end
      run(ddl.AlterColumn(t, cname, spec))
    end
    if o.comment ~= nil and conn.dialect.name == "postgresql" then
      run(ddl.SetComment(t, cname, o.comment or nil))
    end
    if o.new_column_name then run(ddl.RenameColumn(t, cname, o.new_column_name)) end
  end)

  --- create_unique_constraint(name, table, {columns})
  def("create_unique_constraint", function(name, tname, cols, o)
    o = check("op.create_unique_constraint", o, OPTIONS.create_unique_constraint, 3)
    sqlite_refuses("create_unique_constraint")
    run(ddl.AddConstraint(table_ref(tname, o.schema), {kind = "unique", name = name, columns = cols,
      deferrable = o.deferrable, initially = o.initially}))
  end)

  --- create_foreign_key(name, source, referent, {local cols}, {remote cols}, {ondelete, onupdate})
  def("create_foreign_key", function(name, source, referent, lcols, rcols, o)
    o = check("op.create_foreign_key", o, OPTIONS.create_foreign_key, 3)
    sqlite_refuses("create_foreign_key")
    run(ddl.AddConstraint(table_ref(source, o.source_schema), {kind = "foreign_key", name = name,
      columns = lcols, ref_table = referent, ref_schema = o.referent_schema, ref_columns = rcols,
      ondelete = o.ondelete, onupdate = o.onupdate, deferrable = o.deferrable, initially = o.initially}))
  end)

  --- create_primary_key(name, table, {columns}, {deferrable, initially})
  def("create_primary_key", function(name, tname, cols, o)
    o = check("op.create_primary_key", o, OPTIONS.create_primary_key, 3)
    if type(cols) ~= "table" or #cols == 0 then
      exc.raise(exc.ArgumentError, "op.create_primary_key: expected a name, a table name and a list of columns", nil, 3)
    end
    sqlite_refuses("create_primary_key")
    run(ddl.AddConstraint(table_ref(tname, o.schema), {kind = "primary_key", name = name, columns = cols,
      deferrable = o.deferrable, initially = o.initially}))
  end)

  --- create_check_constraint(name, table, condition (SQL text or expression))
  def("create_check_constraint", function(name, tname, condition, o)
    check("op.create_check_constraint", o, OPTIONS.create_check_constraint, 3)
    sqlite_refuses("create_check_constraint")
    if type(condition) == "string" then condition = elements.text(condition) end
    run(ddl.AddConstraint(table_ref(tname, o and o.schema), {kind = "check", name = name, sqltext = condition}))
  end)

  --- drop_constraint(name, table, {type_ = "foreignkey" | "unique" | "check"})
  def("drop_constraint", function(name, tname, o)
    o = check("op.drop_constraint", o, OPTIONS.drop_constraint, 3)
    sqlite_refuses("drop_constraint")
    local kind = o.type_ or o.type
    run(ddl.DropConstraint(table_ref(tname, o.schema), {name = name,
      kind = kind == "foreignkey" and "foreign_key" or kind}))
  end)

  def("batch_alter_table", function(tname, fn)
    return require("quicksilver.migrate.batch").run(op, conn, tname, fn)
  end)
  return op
end

return M
