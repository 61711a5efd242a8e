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
--- The create_engine options only this dialect takes (engine/create.lua
--- refuses them with another database's URL).
M.engine_options = {prepared_statements = true}

-- libpq keywords passed through from the URL query
local PASSTHROUGH = {sslmode = true, sslrootcert = true, sslcert = true, sslkey = true,
  connect_timeout = true, application_name = true, options = true, target_session_attrs = true,
  keepalives = true, keepalives_idle = true, gssencmode = true, sslcrl = true,
  prepared_statements = true}

-- prepared_statements (engine option or URL query): false for a transaction
-- pooler such as pgbouncer (pool_mode = transaction), where a statement
-- prepared on one server connection is gone on the next: both drivers then
-- run every statement as the unnamed one, parsed in the execution's own
-- round trip (docs/SCALING.md, pgbouncer). The drivers read it as
-- "true"/"false" (c/driver/pg_common.h).
local BOOLEAN_TEXT = {["true"] = true, ["1"] = true, on = true, yes = true,
  ["false"] = false, ["0"] = false, off = false, no = false}

local function prepared_statements(url, opts)
  local v = opts and opts.prepared_statements
  if v ~= nil then
    if type(v) ~= "boolean" then
      exc.raise(exc.ArgumentError, string.format("create_engine: option 'prepared_statements' " ..
        "must be true or false, got %s", type(v) == "string" and ("'" .. v .. "'") or type(v)), nil, 5)
    end
    return v
  end
  local q = url.query.prepared_statements
  if q == nil then return nil end
  if type(q) == "table" then q = q[#q] end
  local b = BOOLEAN_TEXT[q:lower()]
  if b == nil then
    exc.raise(exc.ArgumentError, string.format("PostgreSQL URL: prepared_statements must be " ..
      "true or false, got '%s'", q), nil, 5)
  end
  return b
end

-- The driver arguments with prepared_statements in the drivers' spelling
-- ("false" only: the default needs no key, so URLs without it keep their
-- arguments as they were).
local function with_prepared(args, url, opts)
  local ps = prepared_statements(url, opts)
  args.prepared_statements = ps == false and "false" or nil
  return args
end

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
  keepalives_interval = true, keepalives_count = true, gssencmode = true, transport = true,
  prepared_statements = true}

-- Driver options of a URL: a host list (the authority's, or the query's
-- host/port keys: URL:get_hosts) becomes libpq's comma lists, host=h1,h2
-- and port=p1,p2 (an empty entry: the default), which both drivers read;
-- every other key as support.server_connect_args gives it.
local function pg_connect_args(u, passthrough, what)
  local q = u.query
  if u.hosts == nil and q.host == nil and q.port == nil then
    return support.server_connect_args(u, passthrough, what)
  end
  local hosts = u:get_hosts()
  q.host, q.port = nil, nil
  local args = support.server_connect_args(u:set({hosts = false, query = q}), passthrough, what)
  local hs, ps, any_port = {}, {}, false
  for i = 1, #hosts do
    local h = hosts[i]
    if h.host and h.host:find(",", 1, true) then
      exc.raise(exc.ArgumentError, string.format("%s URL: a host of a host list holds a ','", what),
        nil, 5)
    end
    hs[i] = h.host or ""
    ps[i] = h.port and string.format("%d", h.port) or ""
    any_port = any_port or h.port ~= nil
  end
  args.host = table.concat(hs, ",")
  args.port = any_port and table.concat(ps, ",") or nil
  return args
end

-- The URL's driver names: postgresql:// and postgresql+libpq:// load the
-- libpq module, postgresql+wire:// uses the wire driver.
local KNOWN_DRIVERS = "libpq, wire"

-- (below, with the isolation functions they stand in for)
local set_isolation_per_transaction, get_isolation_per_transaction

--- A dialect for this URL and create_engine's options: the driver the URL's
--- name picks; with prepared_statements=false (a transaction pooler), the
--- isolation level set per transaction.
function M.for_url(url, opts)
  local name = url:get_driver_name()
  local wire = name == "wire"
  if not (wire or name == nil or name == "libpq") then
    exc.raise(exc.ArgumentError, string.format("unknown PostgreSQL driver '%s' in the URL " ..
      "(known: %s)", tostring(name), KNOWN_DRIVERS), nil, 4)
  end
  local given = opts and opts.connect_args and opts.connect_args.prepared_statements
  local pooled = prepared_statements(url, opts) == false or
    (given ~= nil and BOOLEAN_TEXT[tostring(given):lower()] == false)
  if not (wire or pooled) then return M end
  local d = setmetatable({}, {__index = M})
  if wire then
    d.driver = M.wire_driver
    d.load_driver = false   -- nothing to load: built into the core
    d.connect_args = function(u, o)
      return with_prepared(pg_connect_args(u, WIRE_PASSTHROUGH, "postgresql+wire"), u, o)
    end
  end
  if pooled then
    d.set_isolation_level = set_isolation_per_transaction
    d.get_isolation_level = get_isolation_per_transaction
  end
  return d
end

function M.connect_args(url, opts)
  return with_prepared(pg_connect_args(url, PASSTHROUGH, "postgresql"), url, opts)
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

-- With prepared_statements=false (behind a transaction pooler) the
-- isolation level is set per transaction, by the BEGIN the connection
-- sends (BEGIN ISOLATION LEVEL ...), never for the session: a session
-- setting would stay on whichever server connection the pooler lent, for
-- its next clients, while this client's next transaction runs on another.
function set_isolation_per_transaction(cconn, level)
  if not M.isolation_levels[level] or level == "AUTOCOMMIT" then
    exc.raise(exc.ArgumentError, "invalid isolation level " .. tostring(level), nil, 3)
  end
  check(cconn:set_begin(level == M.default_isolation_level and "BEGIN" or
    "BEGIN ISOLATION LEVEL " .. level, "lazy"))
end

-- The level asked inside a transaction (the session's default would tell
-- nothing): one is begun for the question when none is open.
function get_isolation_per_transaction(cconn)
  if cconn:txn_state() ~= core.txn_states.none then return M.get_isolation_level(cconn) end
  check(drive(cconn, cconn:begin()))
  local ok, level = pcall(M.get_isolation_level, cconn)
  check(drive(cconn, cconn:rollback()))
  if not ok then error(level, 0) end
  return level
end

-- The catalog questions (dialects/postgresql_reflect.lua), taking any bind with
-- the catalog contract of dialects/support.lua.
support.add_catalog(M, require("quicksilver.dialects.postgresql_reflect"))
support.add_catalog(M, require("quicksilver.dialects.postgresql_multi"))


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
