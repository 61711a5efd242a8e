--- dialects/sqlite_reflect.lua: SQLite's catalog for the Inspector:
--- PRAGMA table_info / foreign_key_list / index_list / index_info, and the
--- CREATE TABLE text in sqlite_master for what the PRAGMAs do not tell
--- (constraint names, CHECK expressions, AUTOINCREMENT).
local exc = require("quicksilver.exc")
local core = require("quicksilver.core")
local typemap = require("quicksilver.dialects.typemap")

local M = {}

local function ident(name) return core.ident("sqlite", name) end

local function prefix(schema)
  if schema == nil then return "" end
  return ident(schema) .. "."
end

local function table_sql(q, name, schema)
  local sql = q.scalar("SELECT sql FROM " .. prefix(schema) .. "sqlite_master " ..
    "WHERE type IN ('table', 'view') AND name = ?", {name})
  if sql == nil then
    exc.raise(exc.NoSuchTableError, "no such table: " .. (schema and (schema .. ".") or "") .. name,
      {table_name = name}, 4)
  end
  return sql
end

-- Index just past the quoted run that starts at i (its opening quote ch),
-- or nil when it is not closed. SQLite quotes with ' " ` and [ ]; a doubled
-- quote inside reads as two runs side by side, which comes to the same.
local function skip_quoted(sql, i, ch)
  local j = sql:find(ch == "[" and "]" or ch, i + 1, true)
  return j and j + 1
end

-- The first "(" of sql outside quoted names (a table named 't(x' is
-- written "t(x" before its column list).
local function first_paren(sql)
  local i, n = 1, #sql
  while i <= n do
    local ch = sql:sub(i, i)
    if ch == "(" then return i end
    if ch == "'" or ch == '"' or ch == "`" or ch == "[" then
      i = skip_quoted(sql, i, ch)
      if not i then return nil end
    else
      i = i + 1
    end
  end
  return nil
end

-- The items of the list that starts at position i of s, split at its
-- top-level commas and ending at its unmatched ")" (or the end of s);
-- quoted names and strings are skipped, so "a,b" or 'x)' stay whole.
local function split_items(s, i)
  local items, depth, start, n = {}, 0, i, #s
  while i <= n do
    local ch = s:sub(i, i)
    if ch == "'" or ch == '"' or ch == "`" or ch == "[" then
      local j = skip_quoted(s, i, ch)
      if not j then break end
      i = j - 1
    elseif ch == "(" then
      depth = depth + 1
    elseif ch == ")" then
      if depth == 0 then break end
      depth = depth - 1
    elseif ch == "," and depth == 0 then
      items[#items + 1] = s:sub(start, i - 1)
      start = i + 1
    end
    i = i + 1
  end
  items[#items + 1] = s:sub(start, i - 1)
  for k, v in ipairs(items) do items[k] = v:gsub("^%s+", ""):gsub("%s+$", "") end
  return items
end

-- The parts of a CREATE TABLE between its outer parentheses.
local function table_items(sql)
  local s = first_paren(sql)
  if not s then return {} end
  return split_items(sql, s + 1)
end

local function unquote(name)
  local q = name:sub(1, 1)
  if q == "[" then return name:sub(2, -2) end
  if q == '"' or q == "`" then return (name:sub(2, -2):gsub(q .. q, q)) end
  return name
end

-- The balanced parenthesised text that starts at position s of str.
local function parens(str, s)
  local depth, i, n = 0, s, #str
  while i <= n do
    local ch = str:sub(i, i)
    if ch == "'" or ch == '"' or ch == "`" or ch == "[" then
      i = skip_quoted(str, i, ch)
      if not i then return nil end
    else
      if ch == "(" then depth = depth + 1
      elseif ch == ")" then
        depth = depth - 1
        if depth == 0 then return str:sub(s + 1, i - 1), i end
      end
      i = i + 1
    end
  end
  return nil
end

-- Table-level constraints of the CREATE TABLE text: {kind, name, body}.
local function constraints(sql)
  local out = {}
  for _, item in ipairs(table_items(sql)) do
    local upper = item:upper()
    local name
    local rest = item
    if upper:match("^CONSTRAINT%s") then
      name, rest = item:match("^%a+%s+([\"`%[]?[^%s\"`%]]+[\"`%]]?)%s+(.*)$")
      if name then name = unquote(name) end
      upper = (rest or ""):upper()
    end
    if rest then
      for _, kind in ipairs({"CHECK", "UNIQUE", "PRIMARY KEY", "FOREIGN KEY"}) do
        if upper:sub(1, #kind) == kind then
          local p = rest:find("(", 1, true)
          local body = p and parens(rest, p)
          out[#out + 1] = {kind = kind, name = name, body = body, text = rest}
        end
      end
    end
  end
  return out
end

local function name_list(body)
  local cols = {}
  for _, c in ipairs(split_items(body or "", 1)) do
    c = c:gsub("%s+[aA][sS][cC]$", ""):gsub("%s+[dD][eE][sS][cC]$", "")
    if c ~= "" then cols[#cols + 1] = unquote(c) end
  end
  return cols
end

local ACTIONS = {["NO ACTION"] = nil, RESTRICT = "RESTRICT", CASCADE = "CASCADE",
  ["SET NULL"] = "SET NULL", ["SET DEFAULT"] = "SET DEFAULT"}

function M.get_columns(q, name, schema)
  local sql = table_sql(q, name, schema)
  -- table_xinfo also lists generated columns (hidden 2: VIRTUAL, 3: STORED)
  local rows = q.all("PRAGMA " .. prefix(schema) .. "table_xinfo(" .. ident(name) .. ")")
  local xinfo = #rows > 0
  if not xinfo then   -- SQLite before 3.26 knows no table_xinfo (nor generated columns)
    rows = q.all("PRAGMA " .. prefix(schema) .. "table_info(" .. ident(name) .. ")")
  end
  local npk = 0
  for _, r in ipairs(rows) do if r.pk > 0 then npk = npk + 1 end end
  local out = {}
  -- the expressions of generated columns, in table order, from the CREATE TABLE text
  local gen_exprs = {}
  for e in sql:gmatch("[Gg][Ee][Nn][Ee][Rr][Aa][Tt][Ee][Dd]%s+[Aa][Ll][Ww][Aa][Yy][Ss]%s+[Aa][Ss]%s*(%b())") do
    gen_exprs[#gen_exprs + 1] = e:sub(2, -2)
  end
  local ngen = 0
  for _, r in ipairs(rows) do
    local hidden = xinfo and r.hidden or 0
    if hidden ~= 1 then
      local t = typemap.from_db(r.type, "sqlite")
      local col = {name = r.name, type = t, nullable = r.notnull == 0 and r.pk == 0, default = r.dflt_value,
        autoincrement = npk == 1 and r.pk == 1 and (r.type or ""):upper() == "INTEGER",
        primary_key = r.pk > 0, comment = nil}
      if hidden == 2 or hidden == 3 then
        ngen = ngen + 1
        col.computed = {sqltext = gen_exprs[ngen], persisted = hidden == 3}
      end
      out[#out + 1] = col
    end
  end
  if sql:upper():find("AUTOINCREMENT", 1, true) then
    for _, c in ipairs(out) do if c.primary_key then c.autoincrement = true end end
  end
  return out
end

function M.get_pk_constraint(q, name, schema)
  local sql = table_sql(q, name, schema)
  local rows = q.all("PRAGMA " .. prefix(schema) .. "table_info(" .. ident(name) .. ")")
  local pk = {}
  for _, r in ipairs(rows) do if r.pk > 0 then pk[#pk + 1] = {r.pk, r.name} end end
  table.sort(pk, function(a, b) return a[1] < b[1] end)
  local cols = {}
  for i, p in ipairs(pk) do cols[i] = p[2] end
  local cname
  for _, c in ipairs(constraints(sql)) do if c.kind == "PRIMARY KEY" then cname = c.name end end
  return {constrained_columns = cols, name = cname}
end

function M.get_foreign_keys(q, name, schema)
  local sql = table_sql(q, name, schema)
  local rows = q.all("PRAGMA " .. prefix(schema) .. "foreign_key_list(" .. ident(name) .. ")")
  local by_id, order = {}, {}
  for _, r in ipairs(rows) do
    local fk = by_id[r.id]
    if not fk then
      fk = {name = nil, constrained_columns = {}, referred_schema = schema, referred_table = r.table,
        referred_columns = {}, options = {ondelete = ACTIONS[r.on_delete], onupdate = ACTIONS[r.on_update]}}
      by_id[r.id] = fk
      order[#order + 1] = r.id
    end
    fk.constrained_columns[r.seq + 1] = r.from
    fk.referred_columns[r.seq + 1] = r.to
  end
  -- names from the CREATE TABLE text, matched by constrained columns
  local named = {}
  for _, c in ipairs(constraints(sql)) do
    if c.kind == "FOREIGN KEY" and c.name then named[table.concat(name_list(c.body), ",")] = c.name end
  end
  local out = {}
  table.sort(order, function(a, b) return a > b end)   -- PRAGMA lists them last first
  for _, id in ipairs(order) do
    local fk = by_id[id]
    fk.name = named[table.concat(fk.constrained_columns, ",")]
    out[#out + 1] = fk
  end
  return out
end

local function index_columns(q, schema, iname)
  local cols = {}
  for _, r in ipairs(q.all("PRAGMA " .. prefix(schema) .. "index_info(" .. ident(iname) .. ")")) do
    -- an expression key part has no name (cid -2)
    cols[r.seqno + 1] = type(r.name) == "string" and r.name or false
  end
  return cols
end

-- The key parts of an index on expressions as CREATE INDEX wrote them
-- (SQLite keeps that text), DESC / ASC taken off: SQLAlchemy 2.0's
-- `expressions`; nil when the text cannot be read.
local function index_expressions(q, schema, iname)
  local sql = q.scalar("SELECT sql FROM " .. prefix(schema) .. "sqlite_master WHERE type = 'index' AND name = ?",
    {iname})
  if type(sql) ~= "string" then return nil end
  local on = sql:find("%s[oO][nN]%s")
  local open = on and sql:find("(", on, true)
  if not open then return nil end
  local out = {}
  for i, item in ipairs(split_items(sql, open + 1)) do
    item = item:gsub("^%s+", ""):gsub("%s+$", "")
    out[i] = item:gsub("%s+[aA][sS][cC]$", ""):gsub("%s+[dD][eE][sS][cC]$", "")
  end
  return out
end

function M.get_indexes(q, name, schema)
  table_sql(q, name, schema)
  local out = {}
  for _, r in ipairs(q.all("PRAGMA " .. prefix(schema) .. "index_list(" .. ident(name) .. ")")) do
    if r.origin == "c" then
      local cols = index_columns(q, schema, r.name)
      local e = {name = r.name, column_names = cols, unique = r.unique == 1}
      for _, c in ipairs(cols) do
        if c == false then e.expressions = index_expressions(q, schema, r.name); break end
      end
      out[#out + 1] = e
    end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

function M.get_unique_constraints(q, name, schema)
  local sql = table_sql(q, name, schema)
  local out = {}
  for _, c in ipairs(constraints(sql)) do
    if c.kind == "UNIQUE" then out[#out + 1] = {name = c.name, column_names = name_list(c.body)} end
  end
  -- column-level UNIQUE: an automatic index not written as a table constraint
  local listed = {}
  for _, u in ipairs(out) do listed[table.concat(u.column_names, ",")] = true end
  for _, r in ipairs(q.all("PRAGMA " .. prefix(schema) .. "index_list(" .. ident(name) .. ")")) do
    if r.origin == "u" then
      local cols = index_columns(q, schema, r.name)
      if not listed[table.concat(cols, ",")] then out[#out + 1] = {name = nil, column_names = cols} end
    end
  end
  return out
end

function M.get_check_constraints(q, name, schema)
  local sql = table_sql(q, name, schema)
  local out = {}
  for _, c in ipairs(constraints(sql)) do
    if c.kind == "CHECK" then out[#out + 1] = {name = c.name, sqltext = c.body} end
  end
  return out
end

function M.get_table_comment(q, name, schema)
  table_sql(q, name, schema)
  return {text = nil}
end

function M.get_schema_names(q)
  local out = {}
  for _, r in ipairs(q.all("PRAGMA database_list")) do
    if r.name ~= "temp" then out[#out + 1] = r.name end
  end
  return out
end

--- Drops every table (test support: a clean database).
function M.drop_everything(q)
  q.exec("PRAGMA foreign_keys = OFF")
  for _, name in ipairs(M.get_table_names(q)) do
    q.exec("DROP TABLE IF EXISTS " .. ident(name))
  end
  q.exec("PRAGMA foreign_keys = ON")
end

--- Table names of the main (or attached) schema, sorted.
function M.get_table_names(q, schema)
  return q.scalars("SELECT name FROM " .. prefix(schema) .. "sqlite_master" ..
    " WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name")
end

--- View names, sorted.
function M.get_view_names(q, schema)
  return q.scalars("SELECT name FROM " .. prefix(schema) .. "sqlite_master" ..
    " WHERE type = 'view' ORDER BY name")
end

--- The SELECT a view is defined by (the CREATE VIEW SQLite keeps, less its
--- head), or nil when there is no such view.
function M.get_view_definition(q, name, schema)
  local sql = q.scalar("SELECT sql FROM " .. prefix(schema) .. "sqlite_master" ..
    " WHERE type = 'view' AND name = ?", {name})
  if sql == nil then return nil end
  -- CREATE [TEMP] VIEW [IF NOT EXISTS] name [(columns)] AS select
  local _, e = sql:find("^%s*[Cc][Rr][Ee][Aa][Tt][Ee].-%s[Aa][Ss]%s+")
  return e and sql:sub(e + 1) or sql
end

--- Whether a table (or view) exists.
--- SQLite has no sequences and no named types.
function M.get_sequence_names(q, schema)   -- luacheck: ignore
  return {}
end

function M.has_sequence(q, name, schema)   -- luacheck: ignore
  return false
end

function M.has_type(q, name, schema)   -- luacheck: ignore
  return false
end

function M.has_table(q, name, schema)
  return q.scalar("SELECT count(*) FROM " .. prefix(schema) .. "sqlite_master" ..
    " WHERE type IN ('table', 'view') AND name = ?", {name}) > 0
end

return M
