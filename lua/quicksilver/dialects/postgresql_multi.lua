--- dialects/postgresql_multi.lua: the Inspector's get_multi_* questions on
--- PostgreSQL, one catalog query per kind for every table of a schema (or
--- those named in filter_names), answers shaped as the per-table questions
--- of postgresql_reflect.lua give them, keyed by table name. The tables are
--- found first (one query: their oids), then each kind is read for all of
--- those oids at once (`= ANY($1::oid[])`); column names come back joined
--- by chr(1) and are split here, so no array text has to be parsed.
local elements = require("quicksilver.sql.elements")
local typemap = require("quicksilver.dialects.typemap")
local reflect = require("quicksilver.dialects.postgresql_reflect")

local M = {}

local NULL = elements.null
local SEP = "\1"

local function split(s)
  local out = {}
  if s == nil or s == "" then return out end
  for part in (s .. SEP):gmatch("(.-)" .. SEP) do out[#out + 1] = part end
  return out
end

-- oid -> name and the oid list literal ('{1,2}') of the schema's tables and
-- views (all, or those in names).
local function tables(q, schema, names)
  local by, oids = {}, {}
  local sql = "SELECT c.oid, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') " ..
    "AND n.nspname = coalesce($1::text, current_schema())"
  local params = {schema or NULL}
  if names then
    sql = sql .. " AND c.relname = ANY(string_to_array($2::text, chr(1)))"
    params[2] = table.concat(names, SEP)
  end
  for _, r in ipairs(q.all(sql, params)) do
    by[r[1]] = r[2]
    oids[#oids + 1] = tostring(r[1])
  end
  return by, "{" .. table.concat(oids, ",") .. "}"
end

-- The answer table with an empty entry for every table found (a table with
-- no such objects answers an empty list, as the per-table question does).
local function answer(by, empty)
  local out = {}
  for _, name in pairs(by) do out[name] = empty and empty() or {} end
  return out
end

-- a constraint's or index's column names, in key order, joined by chr(1)
local function cols_sql(keys, rel)
  return "(SELECT string_agg(a.attname, chr(1) ORDER BY k.i) FROM unnest(" .. keys .. ") WITH ORDINALITY k(n, i) " ..
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = " .. rel .. " AND a.attnum = k.n)"
end

function M.get_multi_columns(q, schema, names)
  local by, oids = tables(q, schema, names)
  local out = answer(by)
  for _, r in ipairs(q.all([[
    SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
           pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity,
           pg_catalog.col_description(a.attrelid, a.attnum)
    FROM pg_catalog.pg_attribute a
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attrelid, a.attnum]], {oids})) do
    local default = r[5]
    local identity = r[6] ~= nil and r[6] ~= ""
    local serial = default ~= nil and default:find("^nextval%(") ~= nil
    local list = out[by[r[1]]]
    list[#list + 1] = {name = r[2], type = typemap.from_db(r[3], "postgresql"), nullable = not r[4],
      default = (not serial) and default or nil, autoincrement = serial or identity, comment = r[7]}
  end
  return out
end

function M.get_multi_pk_constraint(q, schema, names)
  local by, oids = tables(q, schema, names)
  local out = answer(by, function() return {constrained_columns = {}, name = nil} end)
  for _, r in ipairs(q.all("SELECT con.conrelid, con.conname, " .. cols_sql("con.conkey", "con.conrelid") ..
      " FROM pg_catalog.pg_constraint con WHERE con.conrelid = ANY($1::oid[]) AND con.contype = 'p'", {oids})) do
    out[by[r[1]]] = {constrained_columns = split(r[3]), name = r[2]}
  end
  return out
end

local ACTIONS = {a = nil, r = "RESTRICT", c = "CASCADE", n = "SET NULL", d = "SET DEFAULT"}

function M.get_multi_foreign_keys(q, schema, names)
  local by, oids = tables(q, schema, names)
  local out = answer(by)
  for _, r in ipairs(q.all("SELECT con.conrelid, con.conname, " .. cols_sql("con.conkey", "con.conrelid") ..
      ", " .. cols_sql("con.confkey", "con.confrelid") .. [[, rc.relname, rn.nspname,
             con.confupdtype, con.confdeltype, current_schema()
      FROM pg_catalog.pg_constraint con
      JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
      JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
      WHERE con.conrelid = ANY($1::oid[]) AND con.contype = 'f' ORDER BY con.conrelid, con.conname]], {oids})) do
    local list = out[by[r[1]]]
    list[#list + 1] = {name = r[2], constrained_columns = split(r[3]), referred_table = r[5],
      referred_schema = r[6] ~= r[9] and r[6] or schema, referred_columns = split(r[4]),
      options = {onupdate = ACTIONS[r[7]], ondelete = ACTIONS[r[8]]}}
  end
  return out
end

function M.get_multi_indexes(q, schema, names)
  local by, oids = tables(q, schema, names)
  local out = answer(by)
  -- per index its key attribute numbers (0: an expression) and the names of
  -- the table's columns they point at
  for _, r in ipairs(q.all([[
      SELECT i.indrelid, ic.relname, i.indisunique, array_to_string(i.indkey, ' '), i.indexrelid,
             (SELECT string_agg(coalesce(a.attname, ''), chr(1) ORDER BY k.i)
                FROM unnest(i.indkey) WITH ORDINALITY k(n, i)
                LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n AND k.n > 0)
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      WHERE i.indrelid = ANY($1::oid[]) AND NOT i.indisprimary
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid
                        AND c.conrelid = i.indrelid)
      ORDER BY i.indrelid, ic.relname]], {oids})) do
    local keys, colnames = {}, {}
    for d in tostring(r[4]):gmatch("%-?%d+") do keys[#keys + 1] = tonumber(d) end
    local parts = split(r[6])
    for i, n in ipairs(keys) do if n > 0 then colnames[n] = parts[i] end end
    local list = out[by[r[1]]]
    list[#list + 1] = reflect._index_entry(q, r[5], r[2], r[3], keys, colnames)
  end
  return out
end

function M.get_multi_unique_constraints(q, schema, names)
  local by, oids = tables(q, schema, names)
  local out = answer(by)
  for _, r in ipairs(q.all("SELECT con.conrelid, con.conname, " .. cols_sql("con.conkey", "con.conrelid") ..
      " FROM pg_catalog.pg_constraint con WHERE con.conrelid = ANY($1::oid[]) AND con.contype = 'u' " ..
      "ORDER BY con.conrelid, con.conname", {oids})) do
    local list = out[by[r[1]]]
    list[#list + 1] = {name = r[2], column_names = split(r[3])}
  end
  return out
end

function M.get_multi_check_constraints(q, schema, names)
  local by, oids = tables(q, schema, names)
  local out = answer(by)
  for _, r in ipairs(q.all("SELECT conrelid, conname, pg_catalog.pg_get_constraintdef(oid) " ..
      "FROM pg_catalog.pg_constraint WHERE conrelid = ANY($1::oid[]) AND contype = 'c' " ..
      "ORDER BY conrelid, conname", {oids})) do
    local text = r[3]:match("^CHECK %((.*)%)[^)]*$") or r[3]
    while text:match("^%b()$") do text = text:sub(2, -2) end
    local list = out[by[r[1]]]
    list[#list + 1] = {name = r[2], sqltext = text}
  end
  return out
end

function M.get_multi_table_comment(q, schema, names)
  local by, oids = tables(q, schema, names)
  local out = answer(by, function() return {text = nil} end)
  for _, r in ipairs(q.all("SELECT c.oid, pg_catalog.obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c " ..
      "WHERE c.oid = ANY($1::oid[])", {oids})) do
    out[by[r[1]]] = {text = r[2]}
  end
  return out
end

return M
