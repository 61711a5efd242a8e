--- dialects/postgresql.lua: PostgreSQL through the libpq driver module
--- (quicksilver.driver.postgresql, its own rock: a SQLite-only install needs
--- no libpq), or through the wire driver built into the core
--- (postgresql+wire://, "pgwire"). BEGIN is sent before the first statement
--- of a transaction.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local support = require("quicksilver.dialects.support")
local waiting = require("quicksilver.waiting")

local M = {}

M.name = "postgresql"
M.display_name = "PostgreSQL"   -- in messages
--- What the dialect can do (c/dialect/postgresql.c): code above asks these, never the name.
M.caps = core.dialect_caps("postgresql")
M.driver = "postgresql"
M.paramstyle = "numeric_dollar"
M.default_isolation_level = "READ COMMITTED"
M.implicit_returning = true   -- no lastrowid: new keys come back through RETURNING
-- NULL sorts as the largest value (last ascending, first descending); the
-- others sort it as the smallest. Rows merged from several databases
-- (ext/horizontal_shard_merge.lua) must be compared the way each sorted them.
M.nulls_sort_high = true
M.isolation_levels = {SERIALIZABLE = true, ["REPEATABLE READ"] = true, ["READ COMMITTED"] = true,
  ["READ UNCOMMITTED"] = true, AUTOCOMMIT = true}

-- libpq keywords passed through from the URL query
local PASSTHROUGH = {sslmode = true, sslrootcert = true, sslcert = true, sslkey = true,
  connect_timeout = true, application_name = true, options = true, target_session_attrs = true,
  keepalives = true, keepalives_idle = true, gssencmode = true, sslcrl = true}

--- Loads the driver module (it registers itself with the core).
function M.load_driver()
  local ok, err = pcall(require, "quicksilver.driver.postgresql")
  if not ok then
    exc.raise(exc.ArgumentError, "the PostgreSQL driver is not installed (module " ..
      "quicksilver.driver.postgresql: install rocks/quicksilver-postgresql-scm-1.rockspec): " ..
      tostring(err):gsub("\n.*", ""), nil, 4)
  end
end

function M.default_poolclass() return "queue" end

--- The wire driver's name in the core's registry (c/driver/wire_pg.c: no
--- client library, built into the core): OpenResty's glue opens it over a
--- cosocket.
M.wire_driver = "pgwire"

-- What the wire driver takes from the URL query (c/driver/wire_pg.c's
-- xOpen refuses the rest by name): libpq's certificate and GSS keys are not
-- among them.
local WIRE_PASSTHROUGH = {sslmode = true, connect_timeout = true, application_name = true,
  options = true, target_session_attrs = true, keepalives = true, keepalives_idle = true,
  keepalives_interval = true, keepalives_count = true, gssencmode = true, transport = true}

-- The URL's driver names: postgresql:// and postgresql+libpq:// load the
-- libpq module, postgresql+wire:// uses the wire driver.
local KNOWN_DRIVERS = "libpq, wire"

--- A dialect for this URL: the driver its name picks.
function M.for_url(url)
  local name = url:get_driver_name()
  if name == nil or name == "libpq" then return M end
  if name ~= "wire" then
    exc.raise(exc.ArgumentError, string.format("unknown PostgreSQL driver '%s' in the URL " ..
      "(known: %s)", tostring(name), KNOWN_DRIVERS), nil, 4)
  end
  local d = setmetatable({}, {__index = M})
  d.driver = M.wire_driver
  d.load_driver = false   -- nothing to load: built into the core
  d.connect_args = function(u)
    return support.server_connect_args(u, WIRE_PASSTHROUGH, "postgresql+wire")
  end
  return d
end

function M.connect_args(url)
  return support.server_connect_args(url, PASSTHROUGH, "postgresql")
end

function M.on_connect(cconn)
  assert(cconn:set_begin("BEGIN", "lazy"))
end

-- cconn is the pool's driver connection: what talks to the server goes
-- through waiting.drive (it waits through the waiter in a coroutine).
local drive = waiting.drive
local function check(ok, err)
  if not ok then error(err, 0) end
  return ok
end

function M.set_isolation_level(cconn, level)
  if not M.isolation_levels[level] or level == "AUTOCOMMIT" then
    exc.raise(exc.ArgumentError, "invalid isolation level " .. tostring(level), nil, 3)
  end
  -- level is one of the fixed names above, never user text
  check(drive(cconn, cconn:exec("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL " .. level)))
end

function M.get_isolation_level(cconn)
  local cur = check(drive(cconn, cconn:execute("SHOW transaction_isolation")))
  return cur:fetch()[1][1]:upper()
end

-- The catalog questions (dialects/postgresql_reflect.lua), taking any bind with
-- the catalog contract of dialects/support.lua.
support.add_catalog(M, require("quicksilver.dialects.postgresql_reflect"))


--- How far behind its primary this server is, in seconds: 0 when it is a
--- primary or has replayed everything it received, else the age of the
--- last transaction it replayed (pg_last_xact_replay_timestamp). Used by
--- quicksilver.ext.replicas; q: a catalog querier or a bind.
---@return number|nil
function M.replica_lag(x)
  local q = support.querier(x)
  local lag = q.scalar("SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 " ..
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 " ..
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END")
  return tonumber(lag)
end

return M
