--- dialects/mysql.lua: MySQL and MariaDB through the libmariadb driver module
--- (quicksilver.driver.mysql, its own rock) or the wire driver built into
--- the core ("mywire": `mysql+wire://`, `mariadb+wire://`; no client library,
--- and the driver OpenResty's cosockets run). `mysql://` and `mariadb://` URLs
--- both land here; the server's flavour is detected at connect, so a
--- MariaDB server compiles as "mariadb" (RETURNING on INSERT and DELETE).
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local support = require("quicksilver.dialects.support")
local waiting = require("quicksilver.waiting")

local M = {}

M.name = "mysql"
M.display_name = "MySQL"   -- in messages
--- What the dialect can do (c/dialect/mysql.c); a MariaDB server swaps in
--- MariaDB's (for_url, on_connect). Code above asks these, never the name.
M.caps = core.dialect_caps("mysql")
M.driver = "mysql"
--- The driver that speaks the protocol itself (c/driver/wire_my.c): what a
--- URL's "+wire" selects, and what runs over an external transport.
M.wire_driver = "mywire"
M.paramstyle = "qmark"
M.default_isolation_level = "REPEATABLE READ"
M.isolation_levels = {SERIALIZABLE = true, ["REPEATABLE READ"] = true, ["READ COMMITTED"] = true,
  ["READ UNCOMMITTED"] = true, AUTOCOMMIT = true}

local PASSTHROUGH = {ssl_ca = true, ssl_cert = true, ssl_key = true, connect_timeout = true,
  read_timeout = true, write_timeout = true, charset = true}
-- the wire driver takes these too (c/driver/wire_my.c)
local WIRE_PASSTHROUGH = {unix_socket = true, ssl = true, transport = true}
for k in pairs(PASSTHROUGH) do WIRE_PASSTHROUGH[k] = true end

-- A URL's driver part ("mysql+wire") -> the driver's registry name; the
-- libmariadb module when none is given.
local DRIVERS = {mariadb = "mysql", wire = "mywire"}

function M.load_driver()
  local ok, err = pcall(require, "quicksilver.driver.mysql")
  if not ok then
    exc.raise(exc.ArgumentError, "the MySQL/MariaDB driver is not installed (module " ..
      "quicksilver.driver.mysql: install rocks/quicksilver-mysql-scm-1.rockspec): " ..
      tostring(err):gsub("\n.*", ""), nil, 4)
  end
end

function M.default_poolclass() return "queue" end

--- A dialect for this URL: "mariadb://" names the flavour up front, and
--- the URL's driver part the driver ("+wire": the core's own, nothing to load).
function M.for_url(url)
  local d = setmetatable({}, {__index = M})
  local driver = url:get_driver_name()
  if driver ~= nil then
    if not DRIVERS[driver] then
      exc.raise(exc.ArgumentError, "unknown MySQL driver '" .. tostring(driver) .. "' in the URL (" ..
        url:get_backend_name() .. "+mariadb: the libmariadb module; " .. url:get_backend_name() ..
        "+wire: the wire driver built into the core)", nil, 3)
    end
    d.driver = DRIVERS[driver]
    if d.driver == M.wire_driver then d.load_driver = false end
  end
  if url:get_backend_name() == "mariadb" then
    d.name = "mariadb"
    d.caps = core.dialect_caps("mariadb")
  end
  return d
end

function M.connect_args(url)
  local wire = url:get_driver_name() == "wire"
  return support.server_connect_args(url, wire and WIRE_PASSTHROUGH or PASSTHROUGH, "mysql")
end

-- cconn is the pool's driver connection: what talks to the server goes
-- through waiting.drive (it waits through the waiter in a coroutine).
local drive = waiting.drive
local function check(ok, err)
  if not ok then error(err, 0) end
  return ok
end

function M.on_connect(cconn, opts, dialect)
  assert(cconn:set_begin("BEGIN", "lazy"))
  if dialect and not rawget(dialect, "server_version") then
    local v = check(drive(cconn, cconn:execute("SELECT VERSION()"))):fetch()[1][1]
    rawset(dialect, "server_version", v)
    if v:find("MariaDB", 1, true) then
      rawset(dialect, "name", "mariadb")
      rawset(dialect, "caps", core.dialect_caps("mariadb"))
    end
  end
end

function M.set_isolation_level(cconn, level)
  if not M.isolation_levels[level] or level == "AUTOCOMMIT" then
    exc.raise(exc.ArgumentError, "invalid isolation level " .. tostring(level), nil, 3)
  end
  -- level is one of the fixed names above, never user text
  check(drive(cconn, cconn:exec("SET SESSION TRANSACTION ISOLATION LEVEL " .. level)))
end

function M.get_isolation_level(cconn)
  local cur = check(drive(cconn, cconn:execute("SELECT @@SESSION.tx_isolation")))
  return (cur:fetch()[1][1]:gsub("-", " "))
end

-- The catalog questions (dialects/mysql_reflect.lua), taking any bind with
-- the catalog contract of dialects/support.lua.
support.add_catalog(M, require("quicksilver.dialects.mysql_reflect"))
support.add_catalog(M, require("quicksilver.dialects.mysql_multi"))


--- How far behind its primary this server is, in seconds (MariaDB/MySQL:
--- Seconds_Behind_Master of SHOW SLAVE STATUS; 0 when it replicates from
--- nothing; nil when replication is configured but stopped: the lag is
--- unknown). Used by quicksilver.ext.replicas; q: a catalog querier or a bind.
---@return number|nil
function M.replica_lag(x)
  local q = support.querier(x)
  local row = q.first("SHOW SLAVE STATUS")
  if row == nil then return 0 end
  local lag = row.Seconds_Behind_Master
  if lag == nil then return nil end
  return tonumber(lag)
end

return M
