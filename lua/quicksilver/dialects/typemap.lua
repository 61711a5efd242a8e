--- dialects/typemap.lua: database type names, as catalogs report them, back
--- to quicksilver types (reflection). "VARCHAR(30)", "numeric(10,2)",
--- "timestamp with time zone", MySQL's "tinyint(1)" (a boolean) and
--- "int(11) unsigned"; a name nobody knows becomes a NullType carrying it.
local types = require("quicksilver.sql.types")

local M = {}

local lower, match, tonumber = string.lower, string.match, tonumber

-- base name -> function(args, full) -> type instance
local BY_NAME = {}
local function simple(cls) return function() return cls() end end

for _, n in ipairs({"integer", "int", "int4", "mediumint", "serial"}) do BY_NAME[n] = simple(types.Integer) end
for _, n in ipairs({"bigint", "int8", "bigserial"}) do BY_NAME[n] = simple(types.BigInteger) end
for _, n in ipairs({"smallint", "int2", "smallserial", "year"}) do BY_NAME[n] = simple(types.SmallInteger) end
for _, n in ipairs({"real", "float", "float4", "float8", "double", "double precision"}) do
  BY_NAME[n] = simple(types.Float)
end
for _, n in ipairs({"numeric", "decimal"}) do
  BY_NAME[n] = function(a) return types.Numeric(a[1], a[2]) end
end
for _, n in ipairs({"varchar", "character varying", "nvarchar", "varchar2", "char", "character",
    "nchar", "bpchar"}) do
  BY_NAME[n] = function(a) return a[1] and types.String(a[1]) or types.String() end
end
for _, n in ipairs({"text", "tinytext", "mediumtext", "longtext", "clob", "citext"}) do
  BY_NAME[n] = simple(types.Text)
end
for _, n in ipairs({"boolean", "bool"}) do BY_NAME[n] = simple(types.Boolean) end
BY_NAME["date"] = simple(types.Date)
for _, n in ipairs({"datetime", "timestamp", "timestamp without time zone"}) do
  BY_NAME[n] = function() return types.DateTime() end
end
for _, n in ipairs({"timestamptz", "timestamp with time zone"}) do
  BY_NAME[n] = function() return types.DateTime({timezone = true}) end
end
for _, n in ipairs({"time", "time without time zone", "time with time zone", "timetz"}) do
  BY_NAME[n] = simple(types.Time)
end
BY_NAME["interval"] = simple(types.Interval)
for _, n in ipairs({"blob", "bytea", "binary", "varbinary", "tinyblob", "mediumblob", "longblob"}) do
  BY_NAME[n] = function(a) return types.LargeBinary(a[1]) end
end
BY_NAME["uuid"] = simple(types.Uuid)
for n, cls in pairs(require("quicksilver.dialects.postgresql_types").BY_CATALOG_NAME) do BY_NAME[n] = simple(cls) end
for _, n in ipairs({"json", "jsonb"}) do BY_NAME[n] = simple(types.JSON) end

--- The quicksilver type for a database type name (and MySQL's enum values).
---@param name string as the catalog reports it
---@return table type instance
function M.from_db(name, dialect)
  if type(name) ~= "string" or name == "" then
    local t = types.NullType()
    t.db_type = name
    return t
  end
  local full = lower(name):gsub("%s+", " "):gsub("^%s+", ""):gsub("%s+$", "")
  -- MySQL: tinyint(1) is how BOOLEAN is stored
  if match(full, "^tinyint%(1%)") then return types.Boolean() end
  local enum = match(full, "^enum%((.*)%)$")
  if enum then
    local values = {}
    for v in name:match("%((.*)%)$"):gmatch("'((''|[^'])*)'") do values[#values + 1] = v:gsub("''", "'") end
    return types.Enum((table.unpack or unpack)(values))
  end
  local base, argstr, rest = match(full, "^([%a_ ]-)%s*%(([^)]*)%)(.*)$")
  if not base then base, rest = full, "" end
  base = base:gsub("%s+$", "")
  rest = rest or ""
  -- "timestamp(6) with time zone", "int(11) unsigned"
  local suffix = rest:gsub("^%s+", "")
  if suffix:find("with time zone", 1, true) then base = base .. " with time zone" end
  if suffix:find("without time zone", 1, true) then base = base .. " without time zone" end
  base = base:gsub(" unsigned$", ""):gsub(" zerofill$", "")
  local args = {}
  if argstr then
    for a in argstr:gmatch("[^,]+") do args[#args + 1] = tonumber((a:gsub("%s", ""))) end
  end
  local f = BY_NAME[base]
  if not f and base:match("^tinyint") then f = BY_NAME.smallint end
  if f then return f(args, full) end
  -- SQLite's affinity rules for names it does not know
  if dialect == "sqlite" then
    if base:find("int", 1, true) then return types.Integer() end
    if base:find("char", 1, true) or base:find("clob", 1, true) or base:find("text", 1, true) then
      return types.Text()
    end
  end
  local t = types.NullType()
  t.db_type = name
  return t
end

return M
