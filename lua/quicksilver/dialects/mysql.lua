--- dialects/mysql.lua: MySQL and MariaDB through the libmariadb driver module
--- (quicksilver.driver.mysql, its own rock). `mysql://` and `mariadb://` URLs
--- both land here; the server's flavour is detected at connect, so a
--- MariaDB server compiles as "mariadb" (RETURNING on INSERT and DELETE).
local exc = require("quicksilver.exc")

local M = {}

M.name = "mysql"
M.display_name = "MySQL"   -- in messages
--- What the dialect can do (c/dialect/mysql.c); a MariaDB server swaps in
--- MariaDB's (for_url, on_connect). Code above asks these, never the name.
M.caps = require("quicksilver.core").dialect_caps("mysql")
M.driver = "mysql"
M.paramstyle = "qmark"
M.default_isolation_level = "REPEATABLE READ"
M.isolation_levels = {SERIALIZABLE = true, ["REPEATABLE READ"] = true, ["READ COMMITTED"] = true,
  ["READ UNCOMMITTED"] = true, AUTOCOMMIT = true}

local PASSTHROUGH = {ssl_ca = true, ssl_cert = true, ssl_key = true, connect_timeout = true,
  read_timeout = true, write_timeout = true, charset = true}

local function ident(name) return require("quicksilver.core").ident("mysql", name) end

function M.load_driver()
  local ok, err = pcall(require, "quicksilver.driver.mysql")
  if not ok then
    exc.raise(exc.ArgumentError, "the MySQL/MariaDB driver is not installed (module " ..
      "quicksilver.driver.mysql: install rocks/quicksilver-mysql-scm-1.rockspec): " ..
      tostring(err):gsub("\n.*", ""), nil, 4)
  end
end

function M.default_poolclass() return "queue" end

--- A dialect for this URL: "mariadb://" names the flavour up front.
function M.for_url(url)
  local d = setmetatable({}, {__index = M})
  if url:get_backend_name() == "mariadb" then
    d.name = "mariadb"
    d.caps = require("quicksilver.core").dialect_caps("mariadb")
  end
  return d
end

function M.connect_args(url)
  return require("quicksilver.dialects").server_connect_args(url, PASSTHROUGH, "mysql")
end

local function check(ok, err)
  if not ok then error(err, 0) end
  return ok
end

function M.on_connect(cconn, opts, dialect)
  assert(cconn:set_begin("BEGIN", "lazy"))
  if dialect and not rawget(dialect, "server_version") then
    local v = check(cconn:execute("SELECT VERSION()")):fetch()[1][1]
    rawset(dialect, "server_version", v)
    if v:find("MariaDB", 1, true) then
      rawset(dialect, "name", "mariadb")
      rawset(dialect, "caps", require("quicksilver.core").dialect_caps("mariadb"))
    end
  end
end

function M.set_isolation_level(cconn, level)
  if not M.isolation_levels[level] or level == "AUTOCOMMIT" then
    exc.raise(exc.ArgumentError, "invalid isolation level " .. tostring(level), nil, 3)
  end
  -- level is one of the fixed names above, never user text
  check(cconn:exec("SET SESSION TRANSACTION ISOLATION LEVEL " .. level))
end

function M.get_isolation_level(cconn)
  local cur = check(cconn:execute("SELECT @@SESSION.tx_isolation"))
  return (cur:fetch()[1][1]:gsub("-", " "))
end

function M.drop_everything(conn)
  conn:exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
  for _, name in ipairs(M.get_table_names(conn)) do
    conn:exec_driver_sql("DROP TABLE IF EXISTS " .. ident(name))
  end
  conn:exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
end

function M.get_table_names(conn, schema)
  local sql = "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND " ..
    "table_schema = " .. (schema and "?" or "DATABASE()") .. " ORDER BY table_name"
  return conn:exec_driver_sql(sql, schema and {schema} or nil):scalars():all()
end

function M.get_view_names(conn, schema)
  local sql = "SELECT table_name FROM information_schema.views WHERE " ..
    "table_schema = " .. (schema and "?" or "DATABASE()") .. " ORDER BY table_name"
  return conn:exec_driver_sql(sql, schema and {schema} or nil):scalars():all()
end

--- The SELECT a view is defined by (information_schema.views, as the server
--- rewrote it), or nil when there is no such view.
function M.get_view_definition(conn, name, schema)
  local sql = "SELECT view_definition FROM information_schema.views WHERE table_name = ? AND " ..
    "table_schema = " .. (schema and "?" or "DATABASE()")
  return conn:exec_driver_sql(sql, schema and {name, schema} or {name}):scalar()
end

function M.has_table(conn, name, schema)
  local sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND " ..
    "table_schema = " .. (schema and "?" or "DATABASE()")
  return conn:exec_driver_sql(sql, schema and {name, schema} or {name}):scalar() > 0
end

-- The catalog questions of the Inspector (dialects/mysql_reflect.lua).
for _, name in ipairs({"get_columns", "get_pk_constraint", "get_foreign_keys", "get_indexes",
    "get_unique_constraints", "get_check_constraints", "get_table_comment", "get_schema_names"}) do
  M[name] = function(...) return require("quicksilver.dialects.mysql_reflect")[name](...) end
end

return M
