--- dialects/mysql_multi.lua: the Inspector's get_multi_* questions on
--- MySQL/MariaDB: information_schema read once per kind for every table of
--- a schema (or those in filter_names), answers shaped as the per-table
--- questions of mysql_reflect.lua give them, keyed by table name. The
--- tables are found first (one query), so a table with nothing of a kind
--- still answers (an empty list).
local typemap = require("quicksilver.dialects.typemap")
local types = require("quicksilver.sql.types")

local M = {}

-- "table_schema = ?" (or the current database) and, with names, "AND
-- <col> IN (?, ...)"; the parameters after `params`.
local function where(prefix, schema, names)
  local sql = prefix .. (schema and "table_schema = ?" or "table_schema = DATABASE()")
  local params = {}
  if schema then params[1] = schema end
  if names then
    local marks = {}
    for i, n in ipairs(names) do marks[i] = "?"; params[#params + 1] = n end
    sql = sql .. " AND " .. prefix .. "table_name IN (" .. table.concat(marks, ", ") .. ")"
  end
  return sql, params
end

local function tables(q, schema, names)
  local sql, params = where("", schema, names)
  local out = {}
  for _, r in ipairs(q.all("SELECT table_name FROM information_schema.tables WHERE " .. sql, params)) do
    out[#out + 1] = r[1]
  end
  return out
end

local function answer(names, empty)
  local out = {}
  for _, n in ipairs(names) do out[n] = empty and empty() or {} end
  return out
end

-- table -> list of {name, clause} of its CHECKs (MariaDB 10.2+, MySQL 8.0.16+)
local function checks(q, schema, names)
  local sql, params = where("tc.", schema, names)
  local ok, rows = pcall(q.all, "SELECT tc.table_name, cc.constraint_name, cc.check_clause " ..
    "FROM information_schema.check_constraints cc JOIN information_schema.table_constraints tc " ..
    "ON tc.constraint_schema = cc.constraint_schema AND tc.constraint_name = cc.constraint_name " ..
    "AND tc.table_name = cc.table_name WHERE tc.constraint_type = 'CHECK' AND " .. sql ..
    " ORDER BY tc.table_name, cc.constraint_name", params)
  local out = {}
  if not ok then return out end   -- a server without CHECK constraints (as mysql_reflect.lua)
  for _, r in ipairs(rows) do
    local l = out[r[1]]
    if not l then l = {}; out[r[1]] = l end
    l[#l + 1] = {r[2], r[3]}
  end
  return out
end

-- MariaDB's JSON: LONGTEXT with a json_valid(`col`) CHECK
local function json_of(list)
  local out = {}
  for _, c in ipairs(list or {}) do
    local col = tostring(c[2]):match("^json_valid%(`([^`]+)`%)$")
    if col then out[col] = c[1] end
  end
  return out
end

function M.get_multi_columns(q, schema, names)
  local found = tables(q, schema, names)
  local out = answer(found)
  if found[1] == nil then return out end
  local cks = checks(q, schema, found)
  local sql, params = where("", schema, found)
  for _, r in ipairs(q.all("SELECT table_name, column_name, column_type, is_nullable, column_default, " ..
      "extra, column_comment FROM information_schema.columns WHERE " .. sql ..
      " ORDER BY table_name, ordinal_position", params)) do
    local json = json_of(cks[r[1]])
    local t = json[r[2]] and types.JSON() or typemap.from_db(r[3], "mysql")
    local default = r[5]
    if default == "NULL" then default = nil end
    local comment = r[7]
    if comment == "" then comment = nil end
    local list = out[r[1]]
    list[#list + 1] = {name = r[2], type = t, nullable = r[4] == "YES", default = default,
      autoincrement = tostring(r[6] or ""):find("auto_increment", 1, true) ~= nil, comment = comment}
  end
  return out
end

function M.get_multi_pk_constraint(q, schema, names)
  local found = tables(q, schema, names)
  local out = answer(found, function() return {constrained_columns = {}, name = nil} end)
  if found[1] == nil then return out end
  local sql, params = where("", schema, found)
  for _, r in ipairs(q.all("SELECT table_name, column_name FROM information_schema.key_column_usage " ..
      "WHERE " .. sql .. " AND constraint_name = 'PRIMARY' ORDER BY table_name, ordinal_position", params)) do
    local cols = out[r[1]].constrained_columns
    cols[#cols + 1] = r[2]
  end
  return out
end

local ACTIONS = {RESTRICT = "RESTRICT", CASCADE = "CASCADE", ["SET NULL"] = "SET NULL",
  ["SET DEFAULT"] = "SET DEFAULT"}

function M.get_multi_foreign_keys(q, schema, names)
  local found = tables(q, schema, names)
  local out = answer(found)
  if found[1] == nil then return out end
  local sql, params = where("k.", schema, found)
  local by = {}
  for _, r in ipairs(q.all("SELECT k.table_name, k.constraint_name, k.column_name, k.referenced_table_schema, " ..
      "k.referenced_table_name, k.referenced_column_name, rc.update_rule, rc.delete_rule, DATABASE() " ..
      "FROM information_schema.key_column_usage k JOIN information_schema.referential_constraints rc " ..
      "ON rc.constraint_schema = k.constraint_schema AND rc.constraint_name = k.constraint_name " ..
      "AND rc.table_name = k.table_name WHERE " .. sql .. " AND k.referenced_table_name IS NOT NULL " ..
      "ORDER BY k.table_name, k.constraint_name, k.ordinal_position", params)) do
    local key = r[1] .. "\0" .. r[2]
    local fk = by[key]
    if not fk then
      fk = {name = r[2], constrained_columns = {}, referred_schema = r[4] ~= r[9] and r[4] or schema,
        referred_table = r[5], referred_columns = {}, options = {onupdate = ACTIONS[r[7]], ondelete = ACTIONS[r[8]]}}
      by[key] = fk
      local list = out[r[1]]
      list[#list + 1] = fk
    end
    fk.constrained_columns[#fk.constrained_columns + 1] = r[3]
    fk.referred_columns[#fk.referred_columns + 1] = r[6]
  end
  return out
end

-- table -> its keys (indexes) in name order, and table -> constraint name -> kind
local function keys_and_kinds(q, schema, found)
  local sql, params = where("", schema, found)
  local kinds = {}
  for _, r in ipairs(q.all("SELECT table_name, constraint_name, constraint_type FROM " ..
      "information_schema.table_constraints WHERE " .. sql, params)) do
    local k = kinds[r[1]]
    if not k then k = {}; kinds[r[1]] = k end
    k[r[2]] = r[3]
  end
  local keys, by = {}, {}
  for _, r in ipairs(q.all("SELECT table_name, index_name, non_unique, column_name FROM " ..
      "information_schema.statistics WHERE " .. sql .. " ORDER BY table_name, index_name, seq_in_index", params)) do
    local id = r[1] .. "\0" .. r[2]
    local k = by[id]
    if not k then
      k = {name = r[2], unique = tonumber(r[3]) == 0, column_names = {}}
      by[id] = k
      local l = keys[r[1]]
      if not l then l = {}; keys[r[1]] = l end
      l[#l + 1] = k
    end
    k.column_names[#k.column_names + 1] = r[4]
  end
  return keys, kinds
end

-- The keys of each table that keep(kind, key) takes (kind: the constraint
-- type of the key's name, or nil for a plain index), each made by shape.
local function keyed(q, schema, names, keep, shape)
  local found = tables(q, schema, names)
  local out = answer(found)
  if found[1] == nil then return out end
  local keys, kinds = keys_and_kinds(q, schema, found)
  for t, list in pairs(keys) do
    local kind = kinds[t] or {}
    for _, k in ipairs(list) do
      if keep(kind[k.name], k) then
        local l = out[t]
        l[#l + 1] = shape(k)
      end
    end
  end
  return out
end

local function as_is(k) return k end

function M.get_multi_indexes(q, schema, names)
  return keyed(q, schema, names, function(kind, k)
    return k.name ~= "PRIMARY" and kind ~= "UNIQUE" and kind ~= "FOREIGN KEY"
  end, as_is)
end

function M.get_multi_unique_constraints(q, schema, names)
  return keyed(q, schema, names, function(kind) return kind == "UNIQUE" end,
    function(k) return {name = k.name, column_names = k.column_names} end)
end

function M.get_multi_check_constraints(q, schema, names)
  local found = tables(q, schema, names)
  local out = answer(found)
  if found[1] == nil then return out end
  for t, list in pairs(checks(q, schema, found)) do
    local skip = {}
    for _, cname in pairs(json_of(list)) do skip[cname] = true end
    for _, c in ipairs(list) do
      if not skip[c[1]] then
        local text = tostring(c[2]):gsub("`", "")
        while text:match("^%b()$") do text = text:sub(2, -2) end
        local l = out[t]
        l[#l + 1] = {name = c[1], sqltext = text}
      end
    end
  end
  return out
end

function M.get_multi_table_comment(q, schema, names)
  local sql, params = where("", schema, names)
  local out = {}
  for _, r in ipairs(q.all("SELECT table_name, table_comment FROM information_schema.tables WHERE " .. sql,
      params)) do
    out[r[1]] = {text = (r[2] ~= nil and r[2] ~= "") and r[2] or nil}
  end
  return out
end

return M
