--- sql/ddl.lua: DDL constructs (qs.schema.CreateTable and friends) and the
--- create_all/drop_all machinery: dependency order, checkfirst, DDL events.
--- Runs on any bind with begin(fn) (an Engine or a Connection), so this
--- layer never requires the engine.
local core = require("quicksilver.core")
local compiler = require("quicksilver.sql.compiler")
local elements = require("quicksilver.sql.elements")
local event = require("quicksilver.event")
local exc = require("quicksilver.exc")
local sequence = require("quicksilver.sql.sequence")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")

local M = {}

local K = core.kinds
local setmetatable, ipairs, type, tostring = setmetatable, ipairs, type, tostring

local DDLElement = util.class("DDLElement", elements.ClauseElement)
DDLElement._executable = true
DDLElement._is_ddl = true
DDLElement.__tostring = elements.ClauseElement.__tostring
M.DDLElement = DDLElement

local function server_default(col)
  local d = col.server_default
  if d == nil then return nil end
  if type(d) == "table" and d._is_clause then return d end
  if type(d) == "string" or type(d) == "number" or type(d) == "boolean" then
    return elements.BindParameter.anon("default", d, col.type)
  end
  exc.raise(exc.ArgumentError, string.format("column %s: server_default must be a string, number, " ..
    "boolean or SQL expression", tostring(col.name)), nil, 4)
end

-- The column_def fields of identity, computed and sequence columns
-- (sql/sequence.lua checked them when the column was made).
local function generated(col, def)
  local id = col.identity
  if id then def.identity, def.always, def.start, def.increment = true, id.always, id.start, id.increment end
  if col.computed then def.computed, def.persisted = col.computed.sqltext, col.computed.persisted end
  if col.sequence and not col.sequence.optional then def._sequence = true end
  return def
end

-- The plain description of a table the C compiler renders.
local function describe(t)
  local autoinc = t:_autoincrement_column()
  local cols = {}
  for i, c in ipairs(t.columns) do
    for _, fk in ipairs(c.foreign_keys) do fk:get_column() end   -- types from referred columns
    if c.type == nil then
      exc.raise(exc.CompileError, string.format("column %s.%s has no type", t.name, tostring(c.name)), nil, 4)
    end
    cols[i] = generated(c, {name = c.name, type = c.type, nullable = c.nullable and not c.primary_key,
      server_default = server_default(c), _autoinc = c == autoinc, comment = c.comment})
  end
  local constraints = {}
  if #t.primary_key.columns > 0 then
    constraints[1] = {kind = "primary_key", columns = t.primary_key.columns, name = t.primary_key.name,
      deferrable = t.primary_key.deferrable, initially = t.primary_key.initially}
  end
  -- foreign keys: one constraint per ForeignKeyConstraint, else one per column
  local seen = {}
  for _, fk in ipairs(t.foreign_keys) do
    local con = fk.constraint
    if con then
      if not seen[con] then
        seen[con] = true
        local rt, rcols, rschema = nil, {}, nil
        for i, ref in ipairs(con.refs) do
          local tn, cn = ref:match("^(.*)%.([^.]+)$")
          rt = tn
          rcols[i] = cn
        end
        if rt and rt:find(".", 1, true) then rschema, rt = rt:match("^(.*)%.([^.]+)$") end
        constraints[#constraints + 1] = {kind = "foreign_key", columns = con.columns, name = con.name,
          ref_table = rt, ref_schema = rschema, ref_columns = rcols, ondelete = con.ondelete,
          onupdate = con.onupdate, use_alter = con.use_alter, deferrable = con.deferrable,
          initially = con.initially}
      end
    else
      local target = fk:get_column()
      local rt, rc, rschema
      if target then
        rt, rc, rschema = target.table.name, target.name, target.table.schema
      else
        rt, rc = fk:target_fullname():match("^(.*)%.([^.]+)$")
      end
      constraints[#constraints + 1] = {kind = "foreign_key", columns = {fk.parent.name}, name = fk.name,
        ref_table = rt, ref_schema = rschema, ref_columns = {rc}, ondelete = fk.ondelete,
        onupdate = fk.onupdate, use_alter = fk.use_alter, deferrable = fk.deferrable, initially = fk.initially}
    end
  end
  for _, con in ipairs(t.constraints) do
    if con.kind == "unique" or con.kind == "check" then
      constraints[#constraints + 1] = {kind = con.kind, columns = con.columns, name = con.name,
        sqltext = con.sqltext, deferrable = con.deferrable, initially = con.initially}
    end
  end
  return {name = t.name, schema = t.schema, columns = cols, comment = t.comment, mysql_engine = t.mysql_engine,
    mysql_charset = t.mysql_charset, mysql_collate = t.mysql_collate, _k = K.TABLE}, constraints
end

-- Foreign keys marked use_alter (a cycle between tables): created by ALTER
-- TABLE after every table exists, except on SQLite, which takes them inline
-- (it checks references when rows are written, not when tables are made).
local function split_alter(constraints, inline_alter)
  local keep, later = {}, {}
  for _, con in ipairs(constraints) do
    if con.use_alter and not inline_alter then later[#later + 1] = con else keep[#keep + 1] = con end
  end
  return keep, later
end

--- ALTER TABLE ... ADD constraint.
function M.AddConstraint(t, con)
  return setmetatable({_k = K.ADD_CONSTRAINT, element = {_k = K.TABLE, name = t.name, schema = t.schema},
    constraint = con, target = t}, DDLElement)
end

--- ALTER TABLE t ADD COLUMN (a qs.Column; migrations).
function M.AddColumn(t, col)
  local autoinc = false
  if col.type == nil then
    for _, fk in ipairs(col.foreign_keys) do
      local ok, target = pcall(fk.get_column, fk)
      if ok and target then col.type = target.type end
    end
  end
  if col.type == nil then
    exc.raise(exc.CompileError, string.format("column %s has no type", tostring(col.name)), nil, 2)
  end
  return setmetatable({_k = K.ADD_COLUMN, element = {_k = K.TABLE, name = t.name, schema = t.schema},
    column = generated(col, {name = col.name, type = col.type, nullable = col.nullable and not col.primary_key,
      server_default = server_default(col), _autoinc = autoinc, comment = col.comment}), target = t}, DDLElement)
end

--- COMMENT ON TABLE t (column nil) or COMMENT ON COLUMN t.column IS comment
--- (nil: IS NULL). PostgreSQL's; MySQL keeps comments in the column and
--- table definitions, SQLite has none.
function M.SetComment(t, column, comment)
  return setmetatable({_k = K.COMMENT_ON, element = {_k = K.TABLE, name = t.name, schema = t.schema},
    column = column, comment = comment, target = t}, DDLElement)
end

--- The statements that give t's comments on a database that takes them
--- apart from CREATE TABLE (caps.comment_on: PostgreSQL), as SQLAlchemy
--- emits them; none elsewhere. `caps`: the dialect's capabilities
--- (dialect.caps), or a dialect name where there is no dialect object
--- (offline migrations).
---@param t table
---@param caps table|string
---@return table[]
function M.comment_statements(t, caps)
  if type(caps) == "string" then
    local ok, named = pcall(core.dialect_caps, caps)
    if not ok then
      exc.raise(exc.ArgumentError, "comment_statements: unknown dialect '" .. caps .. "'", nil, 2)
    end
    caps = named
  end
  local out = {}
  if not caps.comment_on then return out end
  if t.comment ~= nil then out[#out + 1] = M.SetComment(t, nil, t.comment) end
  for _, c in ipairs(t.columns or {}) do
    if c.comment ~= nil then out[#out + 1] = M.SetComment(t, c.name, c.comment) end
  end
  return out
end

--- ALTER TABLE t DROP COLUMN name.
function M.DropColumn(t, name)
  return setmetatable({_k = K.DROP_COLUMN, element = {_k = K.TABLE, name = t.name, schema = t.schema},
    name = name, target = t}, DDLElement)
end

--- ALTER TABLE t ALTER/MODIFY COLUMN: opts.type (a type), opts.nullable
--- (boolean), opts.server_default (a value or expression; false drops it).
function M.AlterColumn(t, name, opts)
  local sd = opts.server_default
  if sd ~= nil and sd ~= false then sd = server_default({name = name, server_default = sd, type = opts.type}) end
  return setmetatable({_k = K.ALTER_COLUMN, element = {_k = K.TABLE, name = t.name, schema = t.schema},
    name = name, type = opts.type and types.to_instance(opts.type) or nil, nullable = opts.nullable,
    server_default = sd, comment = opts.comment, target = t}, DDLElement)
end

--- ALTER TABLE t RENAME COLUMN name TO new_name.
function M.RenameColumn(t, name, new_name)
  return setmetatable({_k = K.RENAME_COLUMN, element = {_k = K.TABLE, name = t.name, schema = t.schema},
    name = name, new_name = new_name, target = t}, DDLElement)
end

--- ALTER TABLE t RENAME TO new_name.
function M.RenameTable(t, new_name)
  return setmetatable({_k = K.RENAME_TABLE, element = {_k = K.TABLE, name = t.name, schema = t.schema},
    new_name = new_name, target = t}, DDLElement)
end

--- ALTER TABLE ... DROP CONSTRAINT name (DROP FOREIGN KEY on MySQL).
function M.DropConstraint(t, con)
  return setmetatable({_k = K.DROP_CONSTRAINT, element = {_k = K.TABLE, name = t.name, schema = t.schema},
    name = con.name, foreign_key = con.kind == "foreign_key", unique = con.kind == "unique", target = t}, DDLElement)
end

--- The use_alter foreign keys of t, as constraint descriptions.
function M.alter_constraints(t)
  local _, constraints = describe(t)
  local _, later = split_alter(constraints, false)
  return later
end

--- CREATE TABLE for a Table (opts.inline_alter: keep use_alter foreign keys
--- inline, as SQLite needs).
local CREATE_TABLE_OPTIONS = util.set({"if_not_exists", "inline_alter"})
local IF_NOT_EXISTS = util.set({"if_not_exists"})
local IF_EXISTS = util.set({"if_exists"})

function M.CreateTable(t, opts)
  util.check_options("CreateTable", opts, CREATE_TABLE_OPTIONS, 2)
  local element, constraints = describe(t)
  constraints = split_alter(constraints, opts and opts.inline_alter)
  return setmetatable({_k = K.CREATE_TABLE, element = element, constraints = constraints,
    if_not_exists = opts and opts.if_not_exists or false, target = t}, DDLElement)
end

--- DROP TABLE for a Table.
function M.DropTable(t, opts)
  util.check_options("DropTable", opts, IF_EXISTS, 2)
  return setmetatable({_k = K.DROP_TABLE, element = {_k = K.TABLE, name = t.name, schema = t.schema},
    if_exists = opts and opts.if_exists or false, target = t}, DDLElement)
end

--- CREATE INDEX for an Index.
function M.CreateIndex(idx, opts)
  util.check_options("CreateIndex", opts, IF_NOT_EXISTS, 2)
  if not idx.table then
    exc.raise(exc.ArgumentError, "CreateIndex: the index is not attached to a table", nil, 2)
  end
  -- mysql_length: a prefix length per expression (all of them, or by column name)
  local lengths
  local ml = idx.mysql_length
  if ml ~= nil then
    lengths = {}
    local named = {}
    for i, e in ipairs(idx.expressions) do
      if type(ml) == "number" then lengths[i] = ml
      else
        local n = type(e) == "table" and e.name and ml[e.name]
        if n then lengths[i] = n; named[e.name] = true end
      end
    end
    if type(ml) == "table" then
      for k in pairs(ml) do
        if not named[k] then
          exc.raise(exc.ArgumentError, string.format("Index %s: mysql_length names '%s', which it does not index",
            tostring(idx.name), tostring(k)), nil, 2)
        end
      end
    end
  end
  return setmetatable({_k = K.CREATE_INDEX, name = idx.name, unique = idx.unique, _mysql_lengths = lengths,
    table = idx.table, expressions = idx.expressions, postgresql_where = idx.postgresql_where,
    sqlite_where = idx.sqlite_where, postgresql_using = idx.postgresql_using,
    if_not_exists = opts and opts.if_not_exists or false, target = idx}, DDLElement)
end

--- DROP INDEX for an Index.
function M.DropIndex(idx, opts)
  util.check_options("DropIndex", opts, IF_EXISTS, 2)
  return setmetatable({_k = K.DROP_INDEX, name = idx.name, table = idx.table,
    if_exists = opts and opts.if_exists or false, target = idx}, DDLElement)
end

--- CREATE SEQUENCE for a qs.Sequence ({if_not_exists = true}).
function M.CreateSequence(seq, opts)
  util.check_options("CreateSequence", opts, IF_NOT_EXISTS, 2)
  return setmetatable({_k = K.CREATE_SEQUENCE, name = seq.name, schema = seq.schema, start = seq.start,
    increment = seq.increment, minvalue = seq.minvalue, maxvalue = seq.maxvalue, cycle = seq.cycle,
    if_not_exists = opts and opts.if_not_exists or nil, target = seq}, DDLElement)
end

--- DROP SEQUENCE for a qs.Sequence ({if_exists = true}).
function M.DropSequence(seq, opts)
  util.check_options("DropSequence", opts, IF_EXISTS, 2)
  return setmetatable({_k = K.DROP_SEQUENCE, name = seq.name, schema = seq.schema,
    if_exists = opts and opts.if_exists or nil, target = seq}, DDLElement)
end

-- A named qs.Enum (its enum_type), else ArgumentError.
local function enum_of(ty, what)
  if type(ty) ~= "table" or not ty.enum_type then
    exc.raise(exc.ArgumentError, what .. ": expected a qs.Enum with a name", nil, 3)
  end
  return ty.enum_type
end

--- CREATE TYPE name AS ENUM (...) for a named qs.Enum (PostgreSQL).
function M.CreateEnum(ty)
  local ref = enum_of(ty, "CreateEnum")
  return setmetatable({_k = K.CREATE_ENUM, name = ref.name, schema = ref.schema, enums = ty.enums,
    target = ty}, DDLElement)
end

--- DROP TYPE name for a named qs.Enum (PostgreSQL; {if_exists = true}).
function M.DropEnum(ty, opts)
  util.check_options("DropEnum", opts, IF_EXISTS, 2)
  local ref = enum_of(ty, "DropEnum")
  return setmetatable({_k = K.DROP_ENUM, name = ref.name, schema = ref.schema,
    if_exists = opts and opts.if_exists or nil, target = ty}, DDLElement)
end

-- The sequences of t's columns that give values on the dialect.
local function column_sequences(t, dialect)
  local out = {}
  for _, c in ipairs(t.columns) do
    if c.sequence and c.sequence:applies(dialect) then out[#out + 1] = c.sequence end
  end
  return out
end

local function has_sequence(conn, seq)
  return conn.dialect.has_sequence ~= nil and conn.dialect.has_sequence(conn, seq.name, seq.schema)
end

local function has_enum(conn, ty)
  return conn.dialect.has_type ~= nil and conn.dialect.has_type(conn, ty.enum_type.name, ty.enum_type.schema)
end

-- Runs fn(conn) in a transaction on bind (an Engine) or on a Connection as it is.
local function with_connection(bind, fn)
  if type(bind) ~= "table" then
    exc.raise(exc.ArgumentError, "expected an Engine or Connection to run DDL on", nil, 4)
  end
  if bind._cconn ~= nil or bind.engine ~= nil then return fn(bind) end
  return bind:begin(fn)
end

-- The schema t is created in on conn: its own, or what the connection's
-- schema_translate_map makes of it (checkfirst asks about that one).
local function live_schema(conn, t)
  local eopts = conn._exec_opts
  if not (eopts and eopts.schema_translate_map) then return t.schema end
  return compiler.translate_schema(conn:_dialect_key(eopts), t.schema)
end

local function fire(target, name, ...)
  if event.has(target, name) then event.fire(target, name, ...) end
end

-- The set of tables asked for (nil: all).
local function wanted_set(tables)
  if not tables then return nil end
  local set = {}
  for _, t in ipairs(tables) do set[t] = true end
  return set
end

--- Creates tables (all of metadata's when tables is nil) in dependency order.
function M.create_tables(bind, metadata, tables, opts)
  local checkfirst = not (opts and opts.checkfirst == false)
  with_connection(bind, function(conn)
    local order = metadata:sorted_tables()
    local wanted = wanted_set(tables)
    local todo = {}
    for _, t in ipairs(order) do
      if (not wanted or wanted[t]) and
          not (checkfirst and conn.dialect.has_table(conn, t.name, live_schema(conn, t))) then
        todo[#todo + 1] = t
      end
    end
    fire(metadata, "before_create", metadata, conn, {tables = todo, checkfirst = checkfirst})
    local dname = conn.dialect.name
    local made = {}   -- sequences and enum types made (or found) in this run
    local function make_sequence(seq)
      if made[seq] then return end
      made[seq] = true
      if not (checkfirst and has_sequence(conn, seq)) then conn:execute(M.CreateSequence(seq)) end
    end
    if not wanted then
      for _, seq in ipairs(rawget(metadata, "sequences") or {}) do
        if seq:applies(dname) then make_sequence(seq) end
      end
    end
    local enum_types = conn.dialect.caps.enum_types
    for _, t in ipairs(todo) do
      if enum_types then
        for _, ty in ipairs(sequence.enum_types(t)) do
          local key = (ty.enum_type.schema or "") .. "." .. ty.enum_type.name
          if not made[key] then
            made[key] = true
            if not has_enum(conn, ty) then conn:execute(M.CreateEnum(ty)) end
          end
        end
      end
      for _, seq in ipairs(column_sequences(t, dname)) do make_sequence(seq) end
    end
    -- without ALTER TABLE ... ADD CONSTRAINT (SQLite) a use_alter foreign
    -- key goes inside CREATE TABLE
    local inline = not conn.dialect.caps.alter_table
    for _, t in ipairs(todo) do
      fire(t, "before_create", t, conn, {checkfirst = checkfirst})
      conn:execute(M.CreateTable(t, {inline_alter = inline}))
      for _, stmt in ipairs(M.comment_statements(t, conn.dialect.caps)) do conn:execute(stmt) end
      for _, idx in ipairs(t.indexes) do conn:execute(M.CreateIndex(idx)) end
      fire(t, "after_create", t, conn, {checkfirst = checkfirst})
    end
    if not inline then
      for _, t in ipairs(todo) do
        for _, con in ipairs(M.alter_constraints(t)) do
          if not con.name then
            exc.raise(exc.CompileError, string.format("a use_alter foreign key of table '%s' needs a name " ..
              "(to be dropped again)", t.name), nil, 4)
          end
          conn:execute(M.AddConstraint(t, con))
        end
      end
    end
    fire(metadata, "after_create", metadata, conn, {tables = todo, checkfirst = checkfirst})
  end)
end

--- Drops tables (all of metadata's when tables is nil), dependents first.
function M.drop_tables(bind, metadata, tables, opts)
  local checkfirst = not (opts and opts.checkfirst == false)
  with_connection(bind, function(conn)
    local order = metadata:sorted_tables()
    local wanted = wanted_set(tables)
    local todo = {}
    for i = #order, 1, -1 do
      local t = order[i]
      if (not wanted or wanted[t]) and
          (not checkfirst or conn.dialect.has_table(conn, t.name, live_schema(conn, t))) then
        todo[#todo + 1] = t
      end
    end
    fire(metadata, "before_drop", metadata, conn, {tables = todo, checkfirst = checkfirst})
    if conn.dialect.caps.alter_table then   -- else they went inline, and go with their table
      for _, t in ipairs(todo) do
        for _, con in ipairs(M.alter_constraints(t)) do
          if con.name then conn:execute(M.DropConstraint(t, con)) end
        end
      end
    end
    for _, t in ipairs(todo) do
      fire(t, "before_drop", t, conn, {checkfirst = checkfirst})
      conn:execute(M.DropTable(t))
      fire(t, "after_drop", t, conn, {checkfirst = checkfirst})
    end
    -- after their tables: the column sequences and enum types they used
    -- (an enum type only when no table of the metadata left uses it)
    local dname = conn.dialect.name
    local gone, dropped = {}, {}
    for _, t in ipairs(todo) do gone[t] = true end
    local still = {}
    for _, t in ipairs(metadata.sorted) do
      if not gone[t] and wanted and not wanted[t] then
        for _, ty in ipairs(sequence.enum_types(t)) do still[ty.enum_type.name] = true end
      end
    end
    for _, t in ipairs(todo) do
      for _, seq in ipairs(column_sequences(t, dname)) do
        if not dropped[seq] and rawget(seq, "metadata") == nil then
          dropped[seq] = true
          if not checkfirst or has_sequence(conn, seq) then conn:execute(M.DropSequence(seq)) end
        end
      end
      if conn.dialect.caps.enum_types then
        for _, ty in ipairs(sequence.enum_types(t)) do
          local name = ty.enum_type.name
          if not dropped[name] and not still[name] then
            dropped[name] = true
            if not checkfirst or has_enum(conn, ty) then conn:execute(M.DropEnum(ty)) end
          end
        end
      end
    end
    if not wanted then
      for _, seq in ipairs(rawget(metadata, "sequences") or {}) do
        if seq:applies(dname) and not dropped[seq] then
          dropped[seq] = true
          if not checkfirst or has_sequence(conn, seq) then conn:execute(M.DropSequence(seq)) end
        end
      end
    end
    fire(metadata, "after_drop", metadata, conn, {tables = todo, checkfirst = checkfirst})
  end)
end

return M
