--- dialects/mysql_reflect.lua: MySQL/MariaDB's information_schema for the
--- Inspector. MariaDB stores JSON as LONGTEXT with a json_valid() CHECK:
--- such a column reflects as JSON and that CHECK is not listed.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local typemap = require("quicksilver.dialects.typemap")
local types = require("quicksilver.sql.types")

local M = {}

local function ident(name) return core.ident("mysql", name) end

local function where_schema(schema)
  return schema and "table_schema = ?" or "table_schema = DATABASE()"
end

local function args(name, schema)
  if schema then return {name, schema} end
  return {name}
end

local function check_table(q, name, schema)
  local n = q.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND " ..
    where_schema(schema), args(name, schema))
  if n == 0 then
    exc.raise(exc.NoSuchTableError, "no such table: " .. (schema and (schema .. ".") or "") .. name,
      {table_name = name}, 4)
  end
end

-- the CHECKs of a table: name -> clause (MariaDB 10.2+ and MySQL 8.0.16+)
local function checks(q, name, schema)
  local ok, rows = pcall(function()
    return q.all("SELECT cc.constraint_name, cc.check_clause " ..
      "FROM information_schema.check_constraints cc JOIN information_schema.table_constraints tc " ..
      "ON tc.constraint_schema = cc.constraint_schema AND tc.constraint_name = cc.constraint_name " ..
      "WHERE tc.constraint_type = 'CHECK' AND tc.table_name = ? AND tc." .. where_schema(schema) ..
      " ORDER BY cc.constraint_name", args(name, schema))
  end)
  if not ok then return {} end
  return rows
end

local function json_columns(q, name, schema)
  local out = {}
  for _, r in ipairs(checks(q, name, schema)) do
    local col = tostring(r[2]):match("^json_valid%(`([^`]+)`%)$")
    if col then out[col] = r[1] end
  end
  return out
end

function M.get_columns(q, name, schema)
  check_table(q, name, schema)
  local json = json_columns(q, name, schema)
  local out = {}
  for _, r in ipairs(q.all("SELECT column_name, column_type, is_nullable, column_default, " ..
      "extra, column_comment, generation_expression FROM information_schema.columns WHERE table_name = ? AND " ..
      where_schema(schema) .. " ORDER BY ordinal_position", args(name, schema))) do
    local t = json[r[1]] and types.JSON() or typemap.from_db(r[2], "mysql")
    local default = r[4]
    -- MariaDB quotes string defaults and writes NULL for none
    if default == "NULL" then default = nil end
    local comment = r[6]
    if comment == "" then comment = nil end
    local col = {name = r[1], type = t, nullable = r[3] == "YES", default = default,
      autoincrement = tostring(r[5] or ""):find("auto_increment", 1, true) ~= nil, comment = comment}
    -- a generated column (SQLAlchemy's "computed" key): EXTRA says STORED /
    -- PERSISTENT or VIRTUAL, GENERATION_EXPRESSION holds its expression
    local extra = tostring(r[5] or ""):upper()
    if r[7] ~= nil and r[7] ~= "" and extra:find("GENERATED", 1, true) then
      col.computed = {sqltext = r[7], persisted = extra:find("VIRTUAL", 1, true) == nil}
      col.default = nil
    end
    out[#out + 1] = col
  end
  return out
end

local function key_columns(q, name, schema, cname)
  local out = {}
  for i, c in ipairs(q.scalars("SELECT column_name FROM information_schema.key_column_usage " ..
      "WHERE table_name = ? AND " .. where_schema(schema) .. " AND constraint_name = ? ORDER BY ordinal_position",
      schema and {name, schema, cname} or {name, cname})) do
    out[i] = c
  end
  return out
end

function M.get_pk_constraint(q, name, schema)
  check_table(q, name, schema)
  return {constrained_columns = key_columns(q, name, schema, "PRIMARY"), name = nil}
end

local ACTIONS = {RESTRICT = "RESTRICT", CASCADE = "CASCADE", ["SET NULL"] = "SET NULL",
  ["SET DEFAULT"] = "SET DEFAULT"}

function M.get_foreign_keys(q, name, schema)
  check_table(q, name, schema)
  local out, by = {}, {}
  for _, r in ipairs(q.all("SELECT k.constraint_name, k.column_name, k.referenced_table_schema, " ..
      "k.referenced_table_name, k.referenced_column_name, rc.update_rule, rc.delete_rule, DATABASE() " ..
      "FROM information_schema.key_column_usage k JOIN information_schema.referential_constraints rc " ..
      "ON rc.constraint_schema = k.constraint_schema AND rc.constraint_name = k.constraint_name " ..
      "WHERE k.table_name = ? AND k." .. where_schema(schema) .. " AND k.referenced_table_name IS NOT NULL " ..
      "ORDER BY k.constraint_name, k.ordinal_position", args(name, schema))) do
    local fk = by[r[1]]
    if not fk then
      fk = {name = r[1], constrained_columns = {}, referred_schema = r[3] ~= r[8] and r[3] or schema,
        referred_table = r[4], referred_columns = {}, options = {onupdate = ACTIONS[r[6]], ondelete = ACTIONS[r[7]]}}
      by[r[1]] = fk
      out[#out + 1] = fk
    end
    fk.constrained_columns[#fk.constrained_columns + 1] = r[2]
    fk.referred_columns[#fk.referred_columns + 1] = r[5]
  end
  return out
end

-- name -> kind of the table's key constraints
local function constraint_kinds(q, name, schema)
  local out = {}
  for _, r in ipairs(q.all("SELECT constraint_name, constraint_type FROM " ..
      "information_schema.table_constraints WHERE table_name = ? AND " .. where_schema(schema),
      args(name, schema))) do
    out[r[1]] = r[2]
  end
  return out
end

local function keys(q, name, schema)
  local list, by = {}, {}
  for _, r in ipairs(q.all("SELECT index_name, non_unique, column_name FROM " ..
      "information_schema.statistics WHERE table_name = ? AND " .. where_schema(schema) ..
      " ORDER BY index_name, seq_in_index", args(name, schema))) do
    local k = by[r[1]]
    if not k then
      k = {name = r[1], unique = tonumber(r[2]) == 0, column_names = {}}
      by[r[1]] = k
      list[#list + 1] = k
    end
    k.column_names[#k.column_names + 1] = r[3]
  end
  return list
end

function M.get_indexes(q, name, schema)
  check_table(q, name, schema)
  local kinds = constraint_kinds(q, name, schema)
  local out = {}
  for _, k in ipairs(keys(q, name, schema)) do
    -- not the primary key, unique constraints, or the index a foreign key made
    if k.name ~= "PRIMARY" and kinds[k.name] ~= "UNIQUE" and kinds[k.name] ~= "FOREIGN KEY" then
      out[#out + 1] = k
    end
  end
  return out
end

function M.get_unique_constraints(q, name, schema)
  check_table(q, name, schema)
  local kinds = constraint_kinds(q, name, schema)
  local out = {}
  for _, k in ipairs(keys(q, name, schema)) do
    if kinds[k.name] == "UNIQUE" then out[#out + 1] = {name = k.name, column_names = k.column_names} end
  end
  return out
end

function M.get_check_constraints(q, name, schema)
  check_table(q, name, schema)
  local json = json_columns(q, name, schema)
  local skip = {}
  for _, cname in pairs(json) do skip[cname] = true end
  local out = {}
  for _, r in ipairs(checks(q, name, schema)) do
    if not skip[r[1]] then
      local text = tostring(r[2]):gsub("`", "")
      while text:match("^%b()$") do text = text:sub(2, -2) end
      out[#out + 1] = {name = r[1], sqltext = text}
    end
  end
  return out
end

function M.get_table_comment(q, name, schema)
  check_table(q, name, schema)
  local c = q.scalar("SELECT table_comment FROM information_schema.tables WHERE table_name = ? AND " ..
    where_schema(schema), args(name, schema))
  return {text = (c ~= nil and c ~= "") and c or nil}
end

function M.get_schema_names(q)
  return q.scalars("SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN " ..
    "('information_schema', 'mysql', 'performance_schema', 'sys') ORDER BY schema_name")
end

function M.drop_everything(q)
  q.exec("SET FOREIGN_KEY_CHECKS = 0")
  for _, name in ipairs(M.get_table_names(q)) do
    q.exec("DROP TABLE IF EXISTS " .. ident(name))
  end
  for _, name in ipairs(M.get_sequence_names(q)) do q.exec("DROP SEQUENCE IF EXISTS " .. ident(name)) end
  q.exec("SET FOREIGN_KEY_CHECKS = 1")
end

function M.get_table_names(q, schema)
  local sql = "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND " ..
    where_schema(schema) .. " ORDER BY table_name"
  return q.scalars(sql, schema and {schema} or nil)
end

function M.get_view_names(q, schema)
  local sql = "SELECT table_name FROM information_schema.views WHERE " ..
    where_schema(schema) .. " ORDER BY table_name"
  return q.scalars(sql, schema and {schema} or nil)
end

--- The SELECT a view is defined by (information_schema.views, as the server
--- rewrote it), or nil when there is no such view.
function M.get_view_definition(q, name, schema)
  local sql = "SELECT view_definition FROM information_schema.views WHERE table_name = ? AND " ..
    where_schema(schema)
  return q.scalar(sql, args(name, schema))
end

--- The sequences of the schema (MariaDB 10.3+; none on MySQL), sorted.
function M.get_sequence_names(q, schema)
  local sql = "SELECT table_name FROM information_schema.tables WHERE table_type = 'SEQUENCE' AND " ..
    where_schema(schema) .. " ORDER BY table_name"
  return q.scalars(sql, schema and {schema} or nil)
end

function M.has_sequence(q, name, schema)
  local sql = "SELECT count(*) FROM information_schema.tables WHERE table_type = 'SEQUENCE' AND table_name = ? AND " ..
    where_schema(schema)
  return q.scalar(sql, args(name, schema)) > 0
end

--- MySQL's enums live in their columns: no named types.
function M.has_type(q, name, schema)   -- luacheck: ignore
  return false
end

function M.has_table(q, name, schema)
  local sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND " ..
    where_schema(schema)
  return q.scalar(sql, args(name, schema)) > 0
end

return M
