--- dialects/sqlite.lua: SQLite through the built-in C driver.
---
--- Transactions: SQLite locks the whole file, and a read transaction that
--- later writes fails with SQLITE_BUSY when another connection wrote in
--- between. So by default a transaction begins logically at the first
--- statement but BEGIN reaches SQLite only before the first statement that
--- writes (what Python's sqlite3 module, and so SQLAlchemy, does). Engine
--- option `sqlite_transaction_mode`: "lazy" (that default), "deferred"
--- (BEGIN before the first statement of any kind: reads see one snapshot)
--- or "immediate" (BEGIN IMMEDIATE before the first statement: takes the
--- write lock up front, so two writers queue on busy_timeout instead of
--- failing).
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local support = require("quicksilver.dialects.support")
local waiting = require("quicksilver.waiting")

local M = {}

M.name = "sqlite"
M.display_name = "SQLite"   -- in messages
--- What the dialect can do (c/dialect/sqlite.c): code above asks these, never the name.
M.caps = core.dialect_caps("sqlite")
M.driver = "sqlite"
M.paramstyle = "qmark"
M.default_isolation_level = "SERIALIZABLE"
M.isolation_levels = {SERIALIZABLE = true, ["READ UNCOMMITTED"] = true, AUTOCOMMIT = true}
--- The create_engine options only this dialect takes (engine/create.lua
--- refuses them with another database's URL).
M.engine_options = {busy_timeout = true, sqlite_foreign_keys = true, sqlite_transaction_mode = true}

local modes = {
  lazy = {"BEGIN", "write"},
  deferred = {"BEGIN", "lazy"},
  immediate = {"BEGIN IMMEDIATE", "lazy"},
}

local function truthy(v)
  return v == true or v == "1" or v == "true" or v == "yes" or v == "on"
end

--- True when the URL names a memory database (each connection its own).
function M.is_memory(url)
  local db = url.database
  return db == nil or db == "" or db == ":memory:" or
    (truthy(url.query and url.query.uri) and tostring(db):find("mode=memory", 1, true) ~= nil)
end

--- The pool for a URL when create_engine is not told: one shared connection
--- for memory databases (so the data stays visible), a QueuePool for files
--- (SQLAlchemy 2.0's choice): a checkout reuses an open connection instead
--- of opening the file again. Pooled connections on one file stay safe
--- together: busy_timeout (5 s by default) makes a writer wait for another's
--- lock instead of failing, BEGIN reaches SQLite only before the first
--- write (the "lazy" transaction mode), and a connection comes back with
--- its statements ended and its transaction rolled back, holding no lock.
function M.default_poolclass(url)
  return M.is_memory(url) and "singleton" or "queue"
end

--- Driver options from the URL and create_engine options. URL query keys:
--- timeout (seconds, as pysqlite), uri, mode (ro).
function M.connect_args(url, opts)
  local q = url.query or {}
  if q.mode ~= nil and q.mode ~= "ro" and q.mode ~= "rwc" then
    -- rw (no creating) and memory are not supported: refused, not taken as rwc
    exc.raise(exc.ArgumentError, "sqlite URL option mode must be ro or rwc, not '" .. tostring(q.mode) .. "'")
  end
  local args = {database = url.database or ":memory:"}
  local timeout = opts.busy_timeout or (q.timeout and tonumber(q.timeout) and tonumber(q.timeout) * 1000)
  if q.timeout and not tonumber(q.timeout) then
    exc.raise(exc.ArgumentError, "sqlite URL option timeout must be a number of seconds")
  end
  -- none given: the driver's default (c/driver/sqlite3.c, 5 s)
  if timeout then args.busy_timeout = math.floor(timeout) end
  if opts.sqlite_foreign_keys == false then args.foreign_keys = false end
  if truthy(q.uri) then args.uri = true end
  if q.mode == "ro" then args.readonly = true end
  local mode = opts.sqlite_transaction_mode or "lazy"
  if not modes[mode] then
    exc.raise(exc.ArgumentError, string.format(
      "sqlite_transaction_mode must be 'lazy', 'deferred' or 'immediate', not '%s'", tostring(mode)))
  end
  return args
end

-- cconn is the pool's driver connection: what talks to the server goes
-- through waiting.drive (it waits through the waiter in a coroutine).
local drive = waiting.drive
local function check(ok, err)
  if not ok then error(err, 0) end
  return ok
end

--- A dialect of its own per engine: its caps take the SQLite library's own
--- bind parameter limit at the first connect (on_connect).
function M.for_url(url)
  local _ = url
  return setmetatable({}, {__index = M})
end

-- The most values the binding carries for one statement (QSB_MAX_PARAMS in
-- c/binding/lbinding.h, the servers' 16-bit count).
local BINDING_MAX_PARAMS = 65535

-- The most bind parameters a statement may hold in the SQLite library the
-- connection runs on: SQLITE_MAX_VARIABLE_NUMBER as compiled in (Debian's
-- build raises it to 250,000), else the default for the library's version
-- (999 before 3.32.0, 32,766 since). nil when it cannot be read.
local function library_max_params(cconn)
  local cur = drive(cconn, cconn:execute("PRAGMA compile_options"))
  local rows = cur and cur:fetch()
  for _, r in ipairs(rows or {}) do
    local n = tostring(r[1]):match("^MAX_VARIABLE_NUMBER=(%d+)$")
    if n then return tonumber(n) end
  end
  cur = drive(cconn, cconn:execute("SELECT sqlite_version()"))
  rows = cur and cur:fetch()
  local v = rows and rows[1] and tostring(rows[1][1]) or ""
  local major, minor = v:match("^(%d+)%.(%d+)")
  if not major then return nil end
  major, minor = tonumber(major), tonumber(minor)
  return (major > 3 or (major == 3 and minor >= 32)) and 32766 or 999
end

--- Per-connection setup after the driver connected; the first connection
--- of an engine reads the library's parameter limit into its dialect's caps.
function M.on_connect(cconn, opts, dialect)
  local m = modes[opts.sqlite_transaction_mode or "lazy"]
  assert(cconn:set_begin(m[1], m[2]))
  if dialect and dialect ~= M and not rawget(dialect, "caps") then
    local caps = core.dialect_caps("sqlite")
    local n = math.min(library_max_params(cconn) or caps.max_params, BINDING_MAX_PARAMS)
    -- a read-only proxy as core.dialect_caps gives, with the library's limit
    rawset(dialect, "caps", setmetatable({}, {
      __index = function(_, k) if k == "max_params" then return n end return caps[k] end,
      __newindex = function() error("dialect capabilities are read-only", 2) end,
      __metatable = "read-only"}))
  end
end

function M.set_isolation_level(cconn, level)
  check(drive(cconn, cconn:exec(level == "READ UNCOMMITTED" and "PRAGMA read_uncommitted = 1"
    or "PRAGMA read_uncommitted = 0")))
end

function M.get_isolation_level(cconn)
  local cur = check(drive(cconn, cconn:execute("PRAGMA read_uncommitted")))
  local rows = cur:fetch()
  return rows[1] and rows[1][1] == 1 and "READ UNCOMMITTED" or "SERIALIZABLE"
end

-- The catalog questions (dialects/sqlite_reflect.lua), taking any bind with
-- the catalog contract of dialects/support.lua.
support.add_catalog(M, require("quicksilver.dialects.sqlite_reflect"))


--- SQLite has no replicas: an engine on a file is never behind (used by
--- quicksilver.ext.replicas when a program routes reads to SQLite copies).
---@return number
function M.replica_lag(_)
  return 0
end

return M
