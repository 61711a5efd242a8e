--- migrate/op.lua: the operations a revision's upgrade/downgrade calls
--- (Alembic's op): DDL through the Core compiler, data through Core
--- statements, on the migration's connection. Each works called as op.f(...)
--- or op:f(...). What a database can do is asked of its capabilities
--- (conn.dialect.caps), never of its name.
local exc = require("quicksilver.exc")
local qs = require("quicksilver")
local schema = require("quicksilver.sql.schema")
local ddl = require("quicksilver.sql.ddl")
local dml = require("quicksilver.sql.dml")
local elements = require("quicksilver.sql.elements")
local util = require("quicksilver.util")
local batch = require("quicksilver.migrate.batch")
local sequence = require("quicksilver.sql.sequence")
local types = require("quicksilver.sql.types")
local extensions = require("quicksilver.migrate.extensions")
local now = require("quicksilver.core").now

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
  create_sequence = set({"start", "increment", "minvalue", "maxvalue", "cycle", "schema"}),
  drop_sequence = set({"schema"}),
  drop_enum = set({"schema", "if_exists"}),
}
M.OPTIONS = OPTIONS

-- A Table standing for an existing one in DDL (only its name matters).
local function table_ref(name, schema_name)
  if type(name) ~= "string" or name == "" then
    exc.raise(exc.ArgumentError, "op: expected a table name", nil, 4)
  end
  return {name = name, schema = schema_name}
end

-- Each operation is a builder f(cx, ...) on the operation context cx =
-- {conn, caps, op}; M.new binds them to one connection.
local ops = {}

local function run(cx, stmt, params) return cx.conn:execute(stmt, params) end

function ops.get_bind(cx) return cx.conn end

-- Whether the database has the enum type of ty (false offline: no catalog).
local function has_enum(cx, ty)
  local d = cx.conn.dialect
  return type(cx.conn.catalog) == "function" and d.has_type ~= nil and
    d.has_type(cx.conn, ty.enum_type.name, ty.enum_type.schema)
end

--- create_table(name, Column..., Constraint..., {options}) -> the Table.
--- The named enum types its columns use are made first where the database
--- has such types (PostgreSQL) and lacks them, and the sequences of its
--- columns where they apply (as create_all does).
function ops.create_table(cx, name, ...)
  local t = schema.table(name, schema.metadata(), ...)
  if cx.caps.enum_types then
    for _, ty in ipairs(sequence.enum_types(t)) do
      if not has_enum(cx, ty) then run(cx, ddl.CreateEnum(ty)) end
    end
  end
  -- without ALTER TABLE ... ADD CONSTRAINT every constraint goes inline
  run(cx, ddl.CreateTable(t, {inline_alter = not cx.caps.alter_table}))
  for _, stmt in ipairs(ddl.comment_statements(t, cx.conn.dialect.caps)) do run(cx, stmt) end
  for _, idx in ipairs(t.indexes) do run(cx, ddl.CreateIndex(idx)) end
  return t
end

--- create_sequence(name, {start, increment, minvalue, maxvalue, cycle, schema})
function ops.create_sequence(cx, name, o)
  o = check("op.create_sequence", o, OPTIONS.create_sequence, 3)
  run(cx, ddl.CreateSequence(sequence.sequence(name, o)))
end

--- drop_sequence(name, {schema})
function ops.drop_sequence(cx, name, o)
  o = check("op.drop_sequence", o, OPTIONS.drop_sequence, 3)
  run(cx, ddl.DropSequence(sequence.sequence(name, {schema = o.schema})))
end

--- drop_enum(name, {schema, if_exists}): DROP TYPE of a named enum type
--- (PostgreSQL), after the tables that used it.
function ops.drop_enum(cx, name, o)
  o = check("op.drop_enum", o, OPTIONS.drop_enum, 3)
  if type(name) ~= "string" or name == "" then
    exc.raise(exc.ArgumentError, "op.drop_enum: expected the enum type's name", nil, 3)
  end
  run(cx, ddl.DropEnum(types.Enum({name = name, schema = o.schema}), {if_exists = o.if_exists}))
end

function ops.drop_table(cx, name, o)
  check("op.drop_table", o, OPTIONS.drop_table, 3)
  run(cx, ddl.DropTable(table_ref(name, o and o.schema)))
end

--- add_column(table_name, qs.Column(...))
function ops.add_column(cx, tname, col, o)
  check("op.add_column", o, OPTIONS.add_column, 3)
  if type(col) ~= "table" or not col._is_clause then
    exc.raise(exc.ArgumentError, "op.add_column: expected a table name and a qs.Column", nil, 3)
  end
  local t = table_ref(tname, o and o.schema)
  local ty = col.type
  if cx.caps.enum_types and ty and ty.enum_type and not has_enum(cx, ty) then run(cx, ddl.CreateEnum(ty)) end
  run(cx, ddl.AddColumn(t, col))
  if col.comment ~= nil and cx.caps.comment_on then run(cx, ddl.SetComment(t, col.name, col.comment)) end
end

function ops.drop_column(cx, tname, cname, o)
  check("op.drop_column", o, OPTIONS.drop_column, 3)
  if type(cname) ~= "string" then
    exc.raise(exc.ArgumentError, "op.drop_column: expected a table name and a column name", nil, 3)
  end
  run(cx, ddl.DropColumn(table_ref(tname, o and o.schema), cname))
end

function ops.rename_table(cx, old, new, o)
  check("op.rename_table", o, OPTIONS.rename_table, 3)
  if type(new) ~= "string" or new == "" then
    exc.raise(exc.ArgumentError, "op.rename_table: expected the old and the new name", nil, 3)
  end
  run(cx, ddl.RenameTable(table_ref(old, o and o.schema), new))
end

--- create_index(name, table_name, {column names}, {unique, postgresql_where, sqlite_where,
--- postgresql_using, schema}): the Index options, each on its database
function ops.create_index(cx, iname, tname, cols, o)
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
  run(cx, ddl.CreateIndex(idx))
end

function ops.drop_index(cx, iname, tname, o)
  check("op.drop_index", o, OPTIONS.drop_index, 3)
  run(cx, ddl.DropIndex({name = iname, table = table_ref(tname or "", o and o.schema)}))
end

--- execute(sql text or statement, params?)
function ops.execute(cx, stmt, params)
  if type(stmt) == "string" then stmt = elements.text(stmt) end
  return run(cx, stmt, params)
end

--- bulk_insert(qs.table(...) or Table, {rows}); with a progress sink (the
--- CLI's --progress) a line "bulk_insert users: 50000 rows, 1.204 s".
function ops.bulk_insert(cx, t, rows)
  if type(t) ~= "table" or type(rows) ~= "table" then
    exc.raise(exc.ArgumentError, "op.bulk_insert: expected a table and a list of rows", nil, 3)
  end
  if #rows == 0 then return end
  if not cx.progress then return run(cx, dml.insert(t), rows) end
  local t0 = now()
  local res = run(cx, dml.insert(t), rows)
  cx.progress(format("bulk_insert %s: %d rows, %.3f s", tostring(t.name), #rows, now() - t0))
  return res
end

-- Where a column change is written as the whole column again (MySQL's
-- MODIFY COLUMN), which drops what it does not restate.
local function restates_column(caps) return caps.alter_column_restates end

-- The database's description of a column (inspector entry), or nil.
local function reflected_column(conn, tname, schema_name, cname)
  local found
  for _, c in ipairs(qs.inspect(conn):get_columns(tname, schema_name)) do
    if c.name == cname then found = c end
  end
  return found
end

-- A restated column's comment: the new one, the existing_comment option, or
-- the database's (offline: existing_comment is needed).
local function restated_comment(conn, tname, cname, o, cur)
  if o.comment ~= nil then return o.comment or nil end
  if o.existing_comment ~= nil then return o.existing_comment end
  if cur then return cur.comment end
  if conn.offline then
    exc.raise(exc.NotSupportedError, format("op.alter_column(%s, %s): offline SQL for MySQL needs " ..
      "existing_comment when the column has one (MODIFY COLUMN restates the column)", tname, cname), nil, 5)
  end
  local c = reflected_column(conn, tname, o.schema, cname)
  return c and c.comment
end

-- Fills spec with what a restated column keeps: type, nullability, server
-- default and comment from the existing_* options or from the database.
local function restate_column(conn, tname, cname, o, spec)
  local cur
  local need = (spec.type == nil and o.existing_type == nil) or (spec.nullable == nil and o.existing_nullable == nil)
  if need and conn.offline then
    exc.raise(exc.NotSupportedError, format("op.alter_column(%s, %s): offline SQL for MySQL needs " ..
      "existing_type and existing_nullable (MODIFY COLUMN restates the column)", tname, cname), nil, 4)
  end
  if need then cur = reflected_column(conn, tname, o.schema, cname) end
  if spec.type == nil then spec.type = o.existing_type or (cur and cur.type) end
  if spec.nullable == nil then
    if o.existing_nullable ~= nil then spec.nullable = o.existing_nullable else spec.nullable = cur and cur.nullable end
  end
  if spec.server_default == nil then
    local d = o.existing_server_default
    if d == nil and cur and cur.default ~= nil then d = elements.text(tostring(cur.default)) end
    spec.server_default = d
  end
  spec.comment = restated_comment(conn, tname, cname, o, cur)
end

--- alter_column(table, column, {type, nullable, server_default (false
--- drops it), new_column_name, comment (false removes it), existing_type,
--- existing_nullable, existing_server_default, existing_comment})
function ops.alter_column(cx, tname, cname, o)
  o = check("op.alter_column", o, OPTIONS.alter_column, 3)
  if o.comment ~= nil and o.comment ~= false and type(o.comment) ~= "string" then
    exc.raise(exc.ArgumentError, "op.alter_column: comment must be a string (false removes it)", nil, 3)
  end
  local t = table_ref(tname, o.schema)
  local caps = cx.caps
  if o.comment ~= nil and not caps.comment_on and not caps.inline_comments then
    exc.raise(exc.NotSupportedError, format("op.alter_column: %s keeps no comments (comment)", caps.name), nil, 3)
  end
  local restates = restates_column(caps)
  -- an inline comment is part of the column: changing it changes the column
  local changes = o.type ~= nil or o.type_ ~= nil or o.nullable ~= nil or o.server_default ~= nil or
    (caps.inline_comments and o.comment ~= nil)
  if changes then
    local spec = {type = o.type or o.type_, nullable = o.nullable, server_default = o.server_default}
    if restates then restate_column(cx.conn, tname, cname, o, spec) end
    run(cx, ddl.AlterColumn(t, cname, spec))
  end
  if o.comment ~= nil and caps.comment_on then run(cx, ddl.SetComment(t, cname, o.comment or nil)) end
  if o.new_column_name then run(cx, ddl.RenameColumn(t, cname, o.new_column_name)) end
end

-- Constraints change in place only with ALTER TABLE; elsewhere (SQLite)
-- the table is rebuilt by batch_alter_table.
local function constraints_in_place(cx, what)
  if not cx.caps.alter_table then
    exc.raise(exc.NotSupportedError, format("op.%s: %s cannot change a table's constraints in " ..
      "place; use op.batch_alter_table", what, cx.caps.name), nil, 4)
  end
end

--- create_unique_constraint(name, table, {columns})
function ops.create_unique_constraint(cx, name, tname, cols, o)
  o = check("op.create_unique_constraint", o, OPTIONS.create_unique_constraint, 3)
  constraints_in_place(cx, "create_unique_constraint")
  run(cx, ddl.AddConstraint(table_ref(tname, o.schema), {kind = "unique", name = name, columns = cols,
    deferrable = o.deferrable, initially = o.initially}))
end

--- create_foreign_key(name, source, referent, {local cols}, {remote cols}, {ondelete, onupdate})
function ops.create_foreign_key(cx, name, source, referent, lcols, rcols, o)
  o = check("op.create_foreign_key", o, OPTIONS.create_foreign_key, 3)
  constraints_in_place(cx, "create_foreign_key")
  run(cx, ddl.AddConstraint(table_ref(source, o.source_schema), {kind = "foreign_key", name = name,
    columns = lcols, ref_table = referent, ref_schema = o.referent_schema, ref_columns = rcols,
    ondelete = o.ondelete, onupdate = o.onupdate, deferrable = o.deferrable, initially = o.initially}))
end

--- create_primary_key(name, table, {columns}, {deferrable, initially})
function ops.create_primary_key(cx, name, tname, cols, o)
  o = check("op.create_primary_key", o, OPTIONS.create_primary_key, 3)
  if type(cols) ~= "table" or #cols == 0 then
    exc.raise(exc.ArgumentError, "op.create_primary_key: expected a name, a table name and a list of columns", nil, 3)
  end
  constraints_in_place(cx, "create_primary_key")
  run(cx, ddl.AddConstraint(table_ref(tname, o.schema), {kind = "primary_key", name = name, columns = cols,
    deferrable = o.deferrable, initially = o.initially}))
end

--- create_check_constraint(name, table, condition (SQL text or expression))
function ops.create_check_constraint(cx, name, tname, condition, o)
  check("op.create_check_constraint", o, OPTIONS.create_check_constraint, 3)
  constraints_in_place(cx, "create_check_constraint")
  if type(condition) == "string" then condition = elements.text(condition) end
  run(cx, ddl.AddConstraint(table_ref(tname, o and o.schema), {kind = "check", name = name, sqltext = condition}))
end

--- drop_constraint(name, table, {type_ = "foreignkey" | "unique" | "check"})
function ops.drop_constraint(cx, name, tname, o)
  o = check("op.drop_constraint", o, OPTIONS.drop_constraint, 3)
  constraints_in_place(cx, "drop_constraint")
  local kind = o.type_ or o.type
  run(cx, ddl.DropConstraint(table_ref(tname, o.schema), {name = name,
    kind = kind == "foreignkey" and "foreign_key" or kind}))
end

--- batch_alter_table(table, function(batch)): see migrate/batch.lua
function ops.batch_alter_table(cx, tname, fn)
  return batch.run(cx.op, cx.conn, tname, fn, OPTIONS)
end

--- The operations object for a connection: each operation works called as
--- op.f(...) or op:f(...).
--- opts.progress: a function(line) told of each long step (bulk_insert).
---@param conn table a Connection (or migrate/offline's stand-in)
---@param opts? {progress?: fun(line: string)}
---@return table
function M.new(conn, opts)
  local op = {}
  local cx = {conn = conn, caps = conn.dialect.caps, op = op, progress = opts and opts.progress}
  for name, fn in pairs(ops) do
    op[name] = function(a, ...)
      if a == op then return fn(cx, ...) end
      return fn(cx, a, ...)
    end
  end
  -- registered operations build on the others (op.execute ...), so they
  -- print under --sql as those do
  for name, spec in pairs(extensions.operations) do
    op[name] = function(a, ...)
      if a == op then return spec.build(op, ...) end
      return spec.build(op, a, ...)
    end
  end
  return op
end

--- Registers an operation op.<name>(...) for revisions, which autogenerate
--- can write (Alembic's Operations.register_operation): spec = {build =
--- fn(op, ...), render = fn(args) -> Lua source of the arguments, reverse =
--- fn(args) -> name, args of the operation undoing it}. Builtin names are
--- refused.
---@param name string
---@param spec table
function M.register(name, spec) extensions.register_operation(name, spec, ops) end

--- Removes a registered operation.
---@param name string
function M.unregister(name) extensions.unregister_operation(name) end

return M
