--- dialects/postgresql.lua: PostgreSQL through the libpq driver module
--- (quicksilver.driver.postgresql, its own rock: a SQLite-only install needs
--- no libpq). BEGIN is sent before the first statement of a transaction.
local exc = require("quicksilver.exc")

local M = {}

-- SQL NULL as a parameter (qs.null); the dialect layer sits below sql/ only
-- for this sentinel, so it is fetched lazily.
local function qs_null()
  return require("quicksilver.sql.elements").null
end

M.name = "postgresql"
M.display_name = "PostgreSQL"   -- in messages
--- What the dialect can do (c/dialect/postgresql.c): code above asks these, never the name.
M.caps = require("quicksilver.core").dialect_caps("postgresql")
M.driver = "postgresql"
M.paramstyle = "numeric_dollar"
M.default_isolation_level = "READ COMMITTED"
M.implicit_returning = true   -- no lastrowid: new keys come back through RETURNING
-- The new keys of one multi-row INSERT follow no promised order: an
-- executemany with RETURNING in parameter order goes through
-- INSERT ... SELECT ... ORDER BY (engine/returning_many.lua). Asked for as
-- a C capability (caps.multirow_insert_ordered = false) in /work/wt/CAPS_REQUESTS.md.
M.insert_order_needs_select = true
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

function M.connect_args(url)
  return require("quicksilver.dialects").server_connect_args(url, PASSTHROUGH, "postgresql")
end

function M.on_connect(cconn)
  assert(cconn:set_begin("BEGIN", "lazy"))
end

local function check(ok, err)
  if not ok then error(err, 0) end
  return ok
end

function M.set_isolation_level(cconn, level)
  if not M.isolation_levels[level] or level == "AUTOCOMMIT" then
    exc.raise(exc.ArgumentError, "invalid isolation level " .. tostring(level), nil, 3)
  end
  -- level is one of the fixed names above, never user text
  check(cconn:exec("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL " .. level))
end

function M.get_isolation_level(cconn)
  local cur = check(cconn:execute("SHOW transaction_isolation"))
  return cur:fetch()[1][1]:upper()
end

--- Drops every table of the schema (test support: a clean database).
function M.drop_everything(conn)
  for _, name in ipairs(M.get_table_names(conn)) do
    conn:exec_driver_sql("DROP TABLE IF EXISTS " .. require("quicksilver.core").ident("postgresql", name) .. " CASCADE")
  end
end

function M.get_table_names(conn, schema)
  return conn:exec_driver_sql("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname = coalesce($1::text, current_schema()) " ..
    "ORDER BY c.relname", {schema or qs_null()}):scalars():all()
end

function M.get_view_names(conn, schema)
  return conn:exec_driver_sql("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND n.nspname = coalesce($1::text, current_schema()) " ..
    "ORDER BY c.relname", {schema or qs_null()}):scalars():all()
end

--- The SELECT a view (or materialized view) is defined by, as PostgreSQL
--- prints it back (pg_get_viewdef), or nil when there is no such view.
function M.get_view_definition(conn, name, schema)
  return conn:exec_driver_sql("SELECT pg_catalog.pg_get_viewdef(c.oid, true) FROM pg_catalog.pg_class c " ..
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND " ..
    "c.relname = $1 AND n.nspname = coalesce($2::text, current_schema())", {name, schema or qs_null()}):scalar()
end

function M.has_table(conn, name, schema)
  return conn:exec_driver_sql("SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " ..
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname = $1 " ..
    "AND n.nspname = coalesce($2::text, current_schema())", {name, schema or qs_null()}):scalar() > 0
end

-- The catalog questions of the Inspector (dialects/postgresql_reflect.lua).
for _, name in ipairs({"get_columns", "get_pk_constraint", "get_foreign_keys", "get_indexes",
    "get_unique_constraints", "get_check_constraints", "get_table_comment", "get_schema_names"}) do
  M[name] = function(...) return require("quicksilver.dialects.postgresql_reflect")[name](...) end
end

return M
