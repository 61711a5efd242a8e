--- engine/reflection.lua: the Inspector (SQLAlchemy's engine/reflection.py).
--- qs.inspect(engine) answers questions about the database's schema through
--- the dialect's catalog queries, as plain Lua tables shaped like
--- SQLAlchemy's; reflect_table builds a Table from those answers (for
--- metadata:reflect and Table(..., {autoload_with = engine})).
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local schema_mod = require("quicksilver.sql.schema")
local elements = require("quicksilver.sql.elements")

local M = {}

---@class quicksilver.Inspector
---@field bind table the Engine or Connection inspected
local Inspector = util.class("Inspector")
M.Inspector = Inspector

--- An Inspector on an Engine or Connection.
function M.inspector(bind)
  return setmetatable({bind = bind, dialect = bind.dialect}, Inspector)
end

local function run(self, name, ...)
  local fn = self.dialect[name]
  if not fn then
    exc.raise(exc.NotSupportedError, "Inspector:" .. name .. " is not available for dialect " ..
      self.dialect.name, nil, 3)
  end
  local bind = self.bind
  local args = util.pack(...)
  if bind._cconn ~= nil or bind.engine ~= nil then return fn(bind, util.unpack(args, 1, args.n)) end
  return bind:connect(function(conn) return fn(conn, util.unpack(args, 1, args.n)) end)
end

-- A plain list (results carry a count field `n`).
local function plain(list)
  local out = {}
  for i = 1, #list do out[i] = list[i] end
  return out
end

--- Names of the tables in schema (default schema when nil), sorted.
---@return string[]
function Inspector:get_table_names(schema) return plain(run(self, "get_table_names", schema)) end

--- Names of the views, sorted.
function Inspector:get_view_names(schema) return plain(run(self, "get_view_names", schema)) end

--- The SELECT the view name is defined by, as the database keeps it (SQLite:
--- the text given; PostgreSQL and MySQL: their own rewriting);
--- NoSuchTableError when there is no such view.
---@return string
function Inspector:get_view_definition(name, schema)
  if type(name) ~= "string" or name == "" then
    exc.raise(exc.ArgumentError, "Inspector:get_view_definition: the view name must be a string", nil, 2)
  end
  local def = run(self, "get_view_definition", name, schema)
  if def == nil then
    exc.raise(exc.NoSuchTableError, "no such view: " .. (schema and (schema .. ".") or "") .. name,
      {table_name = name}, 2)
  end
  return def
end

--- Whether the table exists.
---@return boolean
function Inspector:has_table(name, schema)
  if type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "Inspector:has_table: name must be a string", nil, 2)
  end
  return run(self, "has_table", name, schema)
end

local function check_name(name, what)
  if type(name) ~= "string" or name == "" then
    exc.raise(exc.ArgumentError, "Inspector:" .. what .. ": the table name must be a string", nil, 3)
  end
end

-- The per-table questions, each answered by the dialect's function of the
-- same name (conn, table name, schema):
--   get_columns            {name, type, nullable, default (SQL text or nil),
--                          autoincrement, primary_key, comment}, in table order
--   get_pk_constraint      {constrained_columns, name}
--   get_foreign_keys       {name, constrained_columns, referred_schema,
--                          referred_table, referred_columns, options = {ondelete, onupdate}}
--   get_indexes            {name, column_names, unique} (not the indexes behind
--                          primary keys and unique constraints); an index on
--                          expressions also has `expressions` (each key part's
--                          SQL text) and false in column_names where a key part
--                          is an expression (SQLAlchemy 2.0: None)
--   get_unique_constraints {name, column_names}
--   get_check_constraints  {name, sqltext}
--   get_table_comment      {text}
-- A table that is not there: NoSuchTableError.
for _, what in ipairs({"get_columns", "get_pk_constraint", "get_foreign_keys", "get_indexes",
    "get_unique_constraints", "get_check_constraints", "get_table_comment"}) do
  Inspector[what] = function(self, name, schema)
    check_name(name, what)
    return run(self, what, name, schema)
  end
end

-- The get_multi_* questions (SQLAlchemy 2.0): the answer of the per-table
-- question for every table of a schema, as a table keyed by table name.
local MULTI_OPTIONS = util.set({"schema", "filter_names"})

local function multi(self, what, opts, level)
  opts = util.check_options("Inspector:get_multi_" .. what, opts, MULTI_OPTIONS, level + 1)
  local schema, names = opts.schema, opts.filter_names
  if schema ~= nil and type(schema) ~= "string" then
    exc.raise(exc.ArgumentError, "Inspector:get_multi_" .. what .. ": schema must be a string", nil, level + 1)
  end
  if names ~= nil then
    if type(names) ~= "table" then
      exc.raise(exc.ArgumentError, "Inspector:get_multi_" .. what .. ": filter_names must be a list of " ..
        "table names", nil, level + 1)
    end
    for _, n in ipairs(names) do
      if type(n) ~= "string" or n == "" then
        exc.raise(exc.ArgumentError, "Inspector:get_multi_" .. what .. ": filter_names must be a list of " ..
          "table names", nil, level + 1)
      end
    end
    if names[1] == nil then return {} end
  end
  if self.dialect["get_multi_" .. what] then
    return run(self, "get_multi_" .. what, schema, names)
  end
  -- table by table (SQLite's PRAGMAs answer for one table each); names the
  -- database has not are left out, as the one-query forms leave them out
  local list = names
  if list then
    local present = {}
    for _, n in ipairs(plain(run(self, "get_table_names", schema))) do present[n] = true end
    for _, n in ipairs(plain(run(self, "get_view_names", schema))) do present[n] = true end
    local keep = {}
    for _, n in ipairs(list) do if present[n] then keep[#keep + 1] = n end end
    list = keep
  else
    list = plain(run(self, "get_table_names", schema))
  end
  local out = {}
  for _, n in ipairs(list) do out[n] = run(self, "get_" .. what, n, schema) end
  return out
end

--- get_multi_columns, get_multi_pk_constraint, get_multi_foreign_keys,
--- get_multi_indexes, get_multi_unique_constraints,
--- get_multi_check_constraints, get_multi_table_comment({schema =,
--- filter_names = {...}}): the per-table question's answer for every table of
--- the schema (default schema when nil; views too, but on SQLite only when named), or for those
--- in filter_names that exist, keyed by table name (SQLAlchemy 2.0 keys by
--- (schema, name): here the schema is the one asked about). One catalog
--- query per kind on PostgreSQL and MySQL/MariaDB; table by table on SQLite.
for _, what in ipairs({"columns", "pk_constraint", "foreign_keys", "indexes", "unique_constraints",
    "check_constraints", "table_comment"}) do
  Inspector["get_multi_" .. what] = function(self, opts) return multi(self, what, opts, 2) end
end
--- Names of the sequences in schema (default schema when nil), sorted:
--- PostgreSQL's (not those behind SERIAL or identity columns) and MariaDB's;
--- none on SQLite.
---@return string[]
function Inspector:get_sequence_names(schema) return plain(run(self, "get_sequence_names", schema)) end

--- Names of the schemas (the default one's name when the database has only
--- that).
function Inspector:get_schema_names() return plain(run(self, "get_schema_names")) end

--- A Table in md built from the database's description of name: columns
--- with types, nullability, server defaults; primary key; foreign keys (the
--- referred tables reflected too, when resolve_fks); unique and check
--- constraints; indexes.
function M.reflect_table(bind, md, name, opts)
  opts = opts or {}
  local insp = M.inspector(bind)
  local schema = opts.schema
  local cols = insp:get_columns(name, schema)
  local pk = insp:get_pk_constraint(name, schema)
  local fks = insp:get_foreign_keys(name, schema)
  local items = {}
  local pkset = {}
  for _, c in ipairs(pk.constrained_columns or {}) do pkset[c] = true end
  for _, c in ipairs(cols) do
    local o = {nullable = c.nullable, primary_key = pkset[c.name] or nil, comment = c.comment}
    if c.default ~= nil and not (c.autoincrement and pkset[c.name]) then
      o.server_default = elements.text(tostring(c.default))
    end
    if #(pk.constrained_columns or {}) == 1 and pkset[c.name] then o.autoincrement = c.autoincrement and true or false end
    if c.identity then o.identity = {start = c.identity.start, increment = c.identity.increment,
      always = c.identity.always} end
    if c.computed and c.computed.sqltext then
      o.computed = {sqltext = c.computed.sqltext, persisted = c.computed.persisted}
    end
    items[#items + 1] = schema_mod.column(c.name, c.type, o)
  end
  local unpack = table.unpack or unpack
  if pk.name and #(pk.constrained_columns or {}) > 0 then
    local args = {unpack(pk.constrained_columns)}
    args[#args + 1] = {name = pk.name}
    items[#items + 1] = schema_mod.PrimaryKeyConstraint(unpack(args))
  end
  for _, fk in ipairs(fks) do
    local refs = {}
    local prefix = (fk.referred_schema and fk.referred_schema ~= schema) and (fk.referred_schema .. ".") or
      (schema and (schema .. ".") or "")
    for i, rc in ipairs(fk.referred_columns) do refs[i] = prefix .. fk.referred_table .. "." .. rc end
    items[#items + 1] = schema_mod.ForeignKeyConstraint(fk.constrained_columns, refs, {name = fk.name,
      ondelete = fk.options and fk.options.ondelete, onupdate = fk.options and fk.options.onupdate})
  end
  for _, u in ipairs(insp:get_unique_constraints(name, schema)) do
    local args = {unpack(u.column_names)}
    args[#args + 1] = {name = u.name}
    items[#items + 1] = schema_mod.UniqueConstraint(unpack(args))
  end
  for _, ck in ipairs(insp:get_check_constraints(name, schema)) do
    items[#items + 1] = schema_mod.CheckConstraint(elements.text(ck.sqltext), {name = ck.name})
  end
  items[#items + 1] = {schema = schema, extend_existing = true,
    comment = insp:get_table_comment(name, schema).text}
  local t = schema_mod.table(name, md, (table.unpack or unpack)(items))
  for _, ix in ipairs(insp:get_indexes(name, schema)) do
    local args = {ix.name}
    local exprs = ix.expressions
    for i, cn in ipairs(ix.column_names) do
      local col = cn and rawget(t.c, cn)
      if col then args[#args + 1] = col
      elseif cn == false and exprs and exprs[i] then
        -- an expression key part: its SQL text as the database reports it
        args[#args + 1] = elements.text(exprs[i])
      end
    end
    if #args > 1 then
      args[#args + 1] = {unique = ix.unique or nil}
      -- attached by hand: key parts that are SQL text name no table
      schema_mod.index((table.unpack or unpack)(args)):_attach(t)
    end
  end
  -- the tables this one refers to, so its foreign keys resolve
  if opts.resolve_fks ~= false then
    for _, fk in ipairs(fks) do
      local rschema = fk.referred_schema or schema
      local full = rschema and (rschema .. "." .. fk.referred_table) or fk.referred_table
      if not md.tables[full] and not (opts._seen and opts._seen[full]) then
        local seen = opts._seen or {}
        seen[name] = true
        seen[full] = true
        M.reflect_table(bind, md, fk.referred_table, {schema = rschema, _seen = seen})
      end
    end
  end
  return t
end

--- metadata:reflect({bind, only, views, schema}): a Table for every table
--- (and view, with views = true) of the schema, or those named in only.
function M.reflect_metadata(bind, md, opts)
  opts = opts or {}
  local insp = M.inspector(bind)
  local names = insp:get_table_names(opts.schema)
  if opts.views then
    for _, v in ipairs(insp:get_view_names(opts.schema)) do names[#names + 1] = v end
  end
  local wanted = names
  if opts.only then
    local present = {}
    for _, n in ipairs(names) do present[n] = true end
    wanted = {}
    for _, n in ipairs(opts.only) do
      if not present[n] then
        exc.raise(exc.InvalidRequestError, string.format("Could not reflect: requested table(s) not " ..
          "available in the database: (%s)", tostring(n)), nil, 3)
      end
      wanted[#wanted + 1] = n
    end
  end
  for _, n in ipairs(wanted) do
    local full = opts.schema and (opts.schema .. "." .. n) or n
    if not md.tables[full] then M.reflect_table(bind, md, n, {schema = opts.schema}) end
  end
  return md
end

return M
