--- dialects/postgresql_reflect.lua: PostgreSQL's catalog (pg_catalog) for
--- the Inspector. A table is found by name in the given schema or the
--- current one; its oid keys the other questions.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")
local typemap = require("quicksilver.dialects.typemap")
local pg_types = require("quicksilver.sql.pg_types")
local types = require("quicksilver.sql.types")

local unpack = table.unpack or unpack

local M = {}

local NULL = elements.null

local function oid(q, name, schema)
  local o = q.scalar("SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = coalesce($2::text, current_schema()) " ..
    "AND c.relkind IN ('r', 'p', 'v', 'm', 'f')", {name, schema or NULL})
  if o == nil then
    exc.raise(exc.NoSuchTableError, "no such table: " .. (schema and (schema .. ".") or "") .. name,
      {table_name = name}, 4)
  end
  return o
end

-- column names of a table by attribute number
local function attnames(q, toid)
  local out = {}
  for _, r in ipairs(q.all("SELECT attnum, attname FROM pg_catalog.pg_attribute " ..
      "WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped", {toid})) do
    out[r[1]] = r[2]
  end
  return out
end

-- "{1,3}" or a Lua list from an int2[] column (text form)
local function intlist(v)
  local out = {}
  if type(v) == "table" then return v end
  for d in tostring(v or ""):gmatch("%-?%d+") do out[#out + 1] = tonumber(d) end
  return out
end

-- A column type as format_type() writes it: "integer[]" (the catalog keeps
-- no dimension count: an array of any dimensions reads as one "[]") is an
-- ARRAY of its element type, jsonb is JSONB; the rest as typemap reads them.
local function column_type(name)
  if type(name) == "string" then
    local base = name:match("^(.-)%[%]$")
    if base then
      while base:match("%[%]$") do base = base:sub(1, -3) end
      return pg_types.ARRAY(column_type(base))
    end
    if name == "jsonb" then return pg_types.JSONB() end
  end
  return typemap.from_db(name, "postgresql")
end
M.column_type = column_type
-- The keys SQLAlchemy's get_columns gives a generated column: identity
-- ({always, start, increment}) from attidentity and the column's sequence,
-- computed ({sqltext, persisted}) from attgenerated (PostgreSQL 12+).
local function generated(r, col)
  local ident, gen = r[5], r[7]
  if ident ~= nil and ident ~= "" then
    col.identity = {always = ident == "a", start = tonumber(r[8]), increment = tonumber(r[9])}
  end
  if gen ~= nil and gen ~= "" then
    col.computed = {sqltext = col.default, persisted = gen == "s"}
    col.default = nil
  end
end

-- A column of a named enum type: qs.Enum with its values and name.
local function enum_type(typname, labels)
  local values = {}
  for v in (labels .. "\1"):gmatch("(.-)\1") do values[#values + 1] = v end
  values[#values + 1] = {name = typname}
  return types.Enum(unpack(values))
end

function M.get_columns(q, name, schema)
  local toid = oid(q, name, schema)
  local rows = q.all([[
    SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
           pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity,
           pg_catalog.col_description(a.attrelid, a.attnum), a.attgenerated,
           s.seqstart, s.seqincrement, t.typname,
           (SELECT string_agg(e.enumlabel, chr(1) ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e
            WHERE e.enumtypid = a.atttypid)
    FROM pg_catalog.pg_attribute a
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid AND t.typtype = 'e'
    LEFT JOIN pg_catalog.pg_sequence s ON a.attidentity <> '' AND
      s.seqrelid = pg_catalog.pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)::regclass
    WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum]], {toid})
  local out = {}
  for i, r in ipairs(rows) do
    local default = r[4]
    local identity = r[5] ~= nil and r[5] ~= ""
    local serial = default ~= nil and default:find("^nextval%(") ~= nil
    local ty = (r[10] ~= nil and r[11] ~= nil) and enum_type(r[10], r[11]) or column_type(r[2])
    out[i] = {name = r[1], type = ty, nullable = not r[3],
      default = (not serial) and default or nil, autoincrement = serial or identity, comment = r[6]}
    generated(r, out[i])
  end
  return out
end

--- The sequences of the schema (not those behind SERIAL and identity
--- columns, as SQLAlchemy leaves them out too), sorted.
function M.get_sequence_names(q, schema)
  return q.scalars("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = coalesce($1::text, current_schema()) " ..
    "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) " ..
    "ORDER BY c.relname", {schema or NULL})
end

function M.has_sequence(q, name, schema)
  return q.scalar("SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND c.relname = $1 " ..
    "AND n.nspname = coalesce($2::text, current_schema())", {name, schema or NULL}) > 0
end

--- Whether a type (an enum type) of that name exists.
function M.has_type(q, name, schema)
  return q.scalar("SELECT count(*) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = t.typnamespace WHERE t.typname = $1 " ..
    "AND n.nspname = coalesce($2::text, current_schema())", {name, schema or NULL}) > 0
end

function M.get_pk_constraint(q, name, schema)
  local toid = oid(q, name, schema)
  local r = q.first("SELECT conname, conkey::text FROM pg_catalog.pg_constraint " ..
    "WHERE conrelid = $1 AND contype = 'p'", {toid})
  if not r then return {constrained_columns = {}, name = nil} end
  local names = attnames(q, toid)
  local cols = {}
  for i, n in ipairs(intlist(r[2])) do cols[i] = names[n] end
  return {constrained_columns = cols, name = r[1]}
end

local ACTIONS = {a = nil, r = "RESTRICT", c = "CASCADE", n = "SET NULL", d = "SET DEFAULT"}

function M.get_foreign_keys(q, name, schema)
  local toid = oid(q, name, schema)
  local names = attnames(q, toid)
  local out = {}
  for _, r in ipairs(q.all([[
      SELECT con.conname, con.conkey::text, con.confkey::text, con.confrelid, rc.relname, rn.nspname,
             con.confupdtype, con.confdeltype, current_schema()
      FROM pg_catalog.pg_constraint con
      JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
      JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
      WHERE con.conrelid = $1 AND con.contype = 'f' ORDER BY con.conname]], {toid})) do
    local rnames = attnames(q, r[4])
    local cols, rcols = {}, {}
    for i, n in ipairs(intlist(r[2])) do cols[i] = names[n] end
    for i, n in ipairs(intlist(r[3])) do rcols[i] = rnames[n] end
    out[#out + 1] = {name = r[1], constrained_columns = cols, referred_table = r[5],
      referred_schema = r[6] ~= r[9] and r[6] or schema, referred_columns = rcols,
      options = {onupdate = ACTIONS[r[7]], ondelete = ACTIONS[r[8]]}}
  end
  return out
end

-- One index's entry. An expression key part has attribute number 0: its
-- text comes from pg_get_indexdef (one more query, for such indexes only),
-- and the entry then carries `expressions` (every key part's text, columns
-- too) with `false` at that position of column_names, as SQLAlchemy 2.0
-- reports them (None there).
local function index_entry(q, ioid, name, unique, keys, names)
  local cols, expr = {}, false
  for i, n in ipairs(keys) do
    if n > 0 then cols[i] = names[n] else cols[i] = false; expr = true end
  end
  local e = {name = name, unique = unique, column_names = cols}
  if expr then
    local texts = {}
    for _, r in ipairs(q.all("SELECT k, pg_catalog.pg_get_indexdef($1, k, true) FROM generate_series(1, $2::int) k " ..
        "ORDER BY k", {ioid, #keys})) do
      texts[#texts + 1] = r[2]
    end
    e.expressions = texts
  end
  return e
end
M._index_entry = index_entry

function M.get_indexes(q, name, schema)
  local toid = oid(q, name, schema)
  local names = attnames(q, toid)
  local out = {}
  for _, r in ipairs(q.all([[
      SELECT ic.relname, i.indisunique, i.indkey::text, i.indexrelid
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      WHERE i.indrelid = $1 AND NOT i.indisprimary
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid
                        AND c.conrelid = i.indrelid)
      ORDER BY ic.relname]], {toid})) do
    out[#out + 1] = index_entry(q, r[4], r[1], r[2], intlist(r[3]), names)
  end
  return out
end

function M.get_unique_constraints(q, name, schema)
  local toid = oid(q, name, schema)
  local names = attnames(q, toid)
  local out = {}
  for _, r in ipairs(q.all("SELECT conname, conkey::text FROM pg_catalog.pg_constraint " ..
      "WHERE conrelid = $1 AND contype = 'u' ORDER BY conname", {toid})) do
    local cols = {}
    for i, n in ipairs(intlist(r[2])) do cols[i] = names[n] end
    out[#out + 1] = {name = r[1], column_names = cols}
  end
  return out
end

function M.get_check_constraints(q, name, schema)
  local toid = oid(q, name, schema)
  local out = {}
  for _, r in ipairs(q.all("SELECT conname, pg_catalog.pg_get_constraintdef(oid) " ..
      "FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype = 'c' ORDER BY conname", {toid})) do
    -- "CHECK ((age >= 0))" -> "age >= 0"
    local text = r[2]:match("^CHECK %((.*)%)[^)]*$") or r[2]
    while text:match("^%b()$") do text = text:sub(2, -2) end
    out[#out + 1] = {name = r[1], sqltext = text}
  end
  return out
end

function M.get_table_comment(q, name, schema)
  local toid = oid(q, name, schema)
  return {text = q.scalar("SELECT pg_catalog.obj_description($1, 'pg_class')", {toid})}
end

function M.get_schema_names(q)
  return q.scalars("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname NOT LIKE 'pg\\_%' " ..
    "AND nspname <> 'information_schema' ORDER BY nspname")
end

--- Drops every table of the schema (test support: a clean database).
function M.drop_everything(q)
  for _, name in ipairs(M.get_table_names(q)) do
    q.exec("DROP TABLE IF EXISTS " .. core.ident("postgresql", name) .. " CASCADE")
  end
  -- and what tables leave behind: standalone sequences, enum types
  for _, name in ipairs(M.get_sequence_names(q)) do
    q.exec("DROP SEQUENCE IF EXISTS " .. core.ident("postgresql", name) .. " CASCADE")
  end
  for _, name in ipairs(q.scalars("SELECT t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n " ..
      "ON n.oid = t.typnamespace WHERE t.typtype = 'e' AND n.nspname = current_schema()")) do
    q.exec("DROP TYPE IF EXISTS " .. core.ident("postgresql", name) .. " CASCADE")
  end
end

function M.get_table_names(q, schema)
  return q.scalars("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname = coalesce($1::text, current_schema()) " ..
    "ORDER BY c.relname", {schema or NULL})
end

function M.get_view_names(q, schema)
  return q.scalars("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND n.nspname = coalesce($1::text, current_schema()) " ..
    "ORDER BY c.relname", {schema or NULL})
end

--- The SELECT a view (or materialized view) is defined by, as PostgreSQL
--- prints it back (pg_get_viewdef), or nil when there is no such view.
function M.get_view_definition(q, name, schema)
  return q.scalar("SELECT pg_catalog.pg_get_viewdef(c.oid, true) FROM pg_catalog.pg_class c " ..
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND " ..
    "c.relname = $1 AND n.nspname = coalesce($2::text, current_schema())", {name, schema or NULL})
end

function M.has_table(q, name, schema)
  return q.scalar("SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname = $1 " ..
    "AND n.nspname = coalesce($2::text, current_schema())", {name, schema or NULL}) > 0
end

return M
