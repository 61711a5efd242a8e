--- dialects/support.lua: what the dialect modules share: the driver options
--- of a server URL, and the catalog contract.
---
--- The catalog contract: a dialect's catalog questions (has_table,
--- get_table_names, get_columns, ..., drop_everything) run their SQL
--- through a catalog querier `q`, five functions and nothing else of the
--- engine:
---   q.all(sql, params)      the rows (core Rows: by position and by name)
---   q.first(sql, params)    the first row, or nil
---   q.scalar(sql, params)   the first column of the first row, or nil
---   q.scalars(sql, params)  the first column of every row, as a list
---   q.exec(sql, params)     runs it, nothing wanted back
--- with `sql` in the driver's own form and `params` a list of values (or
--- nil). The engine makes one from a Connection (Connection:catalog(),
--- engine/catalog.lua); the dialect's exported questions take a querier or
--- any bind that gives one, so `dialect.has_table(conn, name)` reads as
--- SQLAlchemy's.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

--- The catalog questions a dialect answers (those it has).
M.CATALOG_QUESTIONS = {"has_table", "get_table_names", "get_view_names", "get_view_definition",
  "get_columns", "get_pk_constraint", "get_foreign_keys", "get_indexes", "get_unique_constraints",
  "get_check_constraints", "get_table_comment", "get_schema_names", "drop_everything",
  "get_sequence_names", "has_sequence", "has_type"}

--- The questions about every table of a schema at once (q, schema, names or
--- nil) -> {table name = answer}, which a dialect answers where it can in one
--- catalog query per kind (engine/reflection.lua asks table by table where it
--- has not: SQLite).
M.MULTI_QUESTIONS = {"get_multi_columns", "get_multi_pk_constraint", "get_multi_foreign_keys",
  "get_multi_indexes", "get_multi_unique_constraints", "get_multi_check_constraints", "get_multi_table_comment"}

--- The catalog querier of x: the one the bind x gives (x:catalog()), else
--- x itself (a querier already).
---@param x table a bind with catalog(), or a querier
---@return table
function M.querier(x)
  if type(x) == "table" then
    if type(x.catalog) == "function" then return x:catalog() end
    if type(x.scalar) == "function" and type(x.all) == "function" then return x end
  end
  exc.raise(exc.ArgumentError, "catalog question: expected a Connection or a catalog querier, got " ..
    util.repr(x, 40), nil, 3)
end

--- Puts the catalog questions of a dialect's catalog module (`catalog`,
--- its functions taking a querier first) on the dialect module `dialect`,
--- each taking a querier or a bind.
---@param dialect table
---@param catalog table
function M.add_catalog(dialect, catalog)
  for _, list in ipairs({M.CATALOG_QUESTIONS, M.MULTI_QUESTIONS}) do
    for _, name in ipairs(list) do
      local fn = catalog[name]
      if fn then
        dialect[name] = function(x, ...) return fn(M.querier(x), ...) end
      end
    end
  end
end

--- Driver options of a server URL: host, port, user, password, database,
--- and the query keys in `passthrough` (any other key is an ArgumentError).
---@param url table
---@param passthrough table<string, boolean>
---@param what string the dialect, for messages
function M.server_connect_args(url, passthrough, what)
  local args = {}
  if url.host then args.host = url.host end
  if url.port then args.port = tostring(url.port) end
  if url.username then args.user = url.username end
  if url.password then args.password = url.password end
  if url.database then args.database = url.database end
  util.check_options(what .. " URL", url.query, passthrough, 5)
  for k, v in pairs(url.query or {}) do
    args[k] = type(v) == "table" and v[#v] or v
  end
  return args
end

return M
