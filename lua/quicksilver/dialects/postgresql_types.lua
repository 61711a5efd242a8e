--- dialects/postgresql_types.lua: PostgreSQL's own column types, reached as
--- `qs.postgresql.INET` and friends (SQLAlchemy's sqlalchemy.dialects.postgresql
--- types). INET, CIDR and MACADDR hold network addresses: strings in Lua both
--- ways, checked by the server (a malformed address is its DataError); on
--- another database their DDL is a CompileError naming the type.
local core = require("quicksilver.core")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")

local M = {}

local CHECK, RESULT = core.type_checks, core.result_codes

-- A type class that is also its own default instance, as sql/types.lua's.
local function define(name, what)
  local cls = util.class(name, types.TypeEngine)
  cls.name = name
  cls._t = name
  cls._check = CHECK.string
  cls._result = RESULT.text
  cls._affinity = "network"
  cls.__tostring = types.TypeEngine.__tostring
  cls.__doc = what
  setmetatable(cls, {__index = types.TypeEngine, __call = function(c) return setmetatable({}, c) end,
    __tostring = function(c) return c.name end})
  cls.__index = cls
  M[name] = cls
  return cls
end

define("INET", "an IPv4 or IPv6 host address, with an optional netmask ('192.168.0.1/24')")
define("CIDR", "an IPv4 or IPv6 network ('10.0.0.0/8')")
define("MACADDR", "a MAC address ('08:00:2b:01:02:03')")

-- Ranges: qs.postgresql.Range values both ways (text accepted at bind), the
-- bounds read back as the element type's Lua value (integers, numbers, or
-- the server's text for dates and timestamps).
local range = require("quicksilver.dialects.postgresql_range")
M.Range = range.new

local function integer(s) local n = tonumber(s); return math.tointeger and math.tointeger(n) or n end
local ELEMENT = {INT4RANGE = integer, INT8RANGE = integer, NUMRANGE = tonumber}
for _, name in ipairs({"INT4RANGE", "INT8RANGE", "NUMRANGE", "DATERANGE", "TSRANGE", "TSTZRANGE"}) do
  local cls = define(name, "a range of " .. name:gsub("RANGE$", ""):lower())
  cls._check = CHECK.none
  cls._result = range.reader(ELEMENT[name])
  cls._bind = range.bind
  cls._affinity = "range"
end

--- The PostgreSQL types a catalog name reflects as (typemap.lua), by name.
M.BY_CATALOG_NAME = {inet = M.INET, cidr = M.CIDR, macaddr = M.MACADDR, int4range = M.INT4RANGE,
  int8range = M.INT8RANGE, numrange = M.NUMRANGE, daterange = M.DATERANGE, tsrange = M.TSRANGE,
  tstzrange = M.TSTZRANGE}

return M
