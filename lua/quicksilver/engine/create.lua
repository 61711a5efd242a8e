--- engine/create.lua: create_engine (SQLAlchemy's engine/create.py). Parses the
--- URL, loads the dialect, builds the pool; connects lazily, at the first
--- checkout.
local core = require("quicksilver.core")
local base = require("quicksilver.engine.base")
local dialects = require("quicksilver.dialects")
local exc = require("quicksilver.exc")
local ngx_pool = require("quicksilver.ngx.pool")
local pool_mod = require("quicksilver.engine.pool")
local url_mod = require("quicksilver.engine.url")
local util = require("quicksilver.util")
local waiting = require("quicksilver.waiting")
local statement = require("quicksilver.sql.statement")

local M = {}

-- Options create_engine knows; anything else is a typo worth an error.
-- (echo_pool is not supported: refused by name rather than ignored.)
local OPTIONS = {
  echo = true, logger = true, pool_size = true, max_overflow = true,
  pool_timeout = true, pool_recycle = true, pool_pre_ping = true, pool_use_lifo = true,
  pool_reset_on_return = true, isolation_level = true, poolclass = true,
  execution_options = true, connect_args = true, busy_timeout = true,
  sqlite_foreign_keys = true, sqlite_transaction_mode = true, statement_cache_size = true,
  shared_pool = true, pool_wait = true, waiter = true, prepared_statements = true,
}
--- The names of the options create_engine accepts, sorted (the reference's
--- options table is checked against this list: spec/reference_engine_options_spec.lua).
---@return string[]
function M.option_names()
  local out = {}
  for k in pairs(OPTIONS) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- An option only some dialect takes (its module's engine_options), given
-- with another database's URL, where it would do nothing: refused, naming
-- the dialect it belongs to.
local function refuse_foreign_options(opts, dialect, u)
  local own = dialect.engine_options or {}
  local keys = {}
  for k in pairs(opts) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local owner = not own[k] and dialects.option_owner(k)
    if owner then
      exc.raise(exc.ArgumentError, string.format("create_engine: option '%s' is %s's; this URL is %s",
        k, owner.display_name, tostring(u:get_backend_name())), nil, 3)
    end
  end
end

-- What the per-connection setup of a new connection depends on besides the
-- URL: a shared pool's engines must agree on it (its connections are set up
-- by whichever engine opened them).
local function setup_key(opts)
  return string.format("sqlite_transaction_mode=%s;statement_cache_size=%s",
    tostring(opts.sqlite_transaction_mode), tostring(opts.statement_cache_size))
end

--- Creates an Engine for a URL (string or URL object). Nothing connects yet.
---@param url string|table
---@param opts? table see API.md
---@return quicksilver.Engine
function M.create_engine(url, opts)
  opts = util.check_options("create_engine", opts, OPTIONS, 2)
  local waiter = waiting.check_waiter("create_engine: option 'waiter'", opts.waiter, 2)
  local u = url_mod.make_url(url)
  local dialect = dialects.load(u:get_backend_name())
  refuse_foreign_options(opts, dialect, u)
  if dialect.for_url then dialect = dialect.for_url(u, opts) end   -- per-engine (flavour detected at connect)
  if dialect.load_driver then dialect.load_driver() end
  local args = dialect.connect_args(u, opts)
  if opts.connect_args then
    for k, v in pairs(opts.connect_args) do args[k] = v end
  end
  local cache_size = opts.statement_cache_size
  -- what every new driver connection gets, wherever it was opened; own_waiter:
  -- the connection's transport (an OpenResty cosocket: ngx/pool.lua)
  local function setup(cconn, own_waiter)
    -- on_connect talks to the server: through this engine's waiter already
    cconn:set_waiter(own_waiter or waiter)
    dialect.on_connect(cconn, opts, dialect)
    if cache_size then cconn:set_cache_size(cache_size) end
  end
  -- (the queue pool opens its connections itself: pool.lua)
  local function creator()
    local cconn, err
    if waiting.current(waiter) then
      -- in a coroutine with a waiter: connect without blocking the thread
      cconn, err = core.connect_start(dialect.driver, args)
      if cconn then
        cconn:set_waiter(waiter)
        local ok, cerr = waiting.drive(cconn, cconn:connect())
        if not ok then
          cconn:close()
          cconn, err = nil, cerr
        end
      end
    else
      cconn, err = core.connect(dialect.driver, args)
    end
    if not cconn then error(err, 0) end
    setup(cconn)
    return cconn
  end
  local poolclass = opts.poolclass or dialect.default_poolclass(u)
  local pool = pool_mod.create(poolclass, creator, {reset_on_return = opts.pool_reset_on_return,
    pool_size = opts.pool_size, max_overflow = opts.max_overflow, pool_timeout = opts.pool_timeout,
    pool_recycle = opts.pool_recycle, pool_pre_ping = opts.pool_pre_ping, pool_use_lifo = opts.pool_use_lifo,
    driver = dialect.driver, connect_args = args, setup = setup, shared_pool = opts.shared_pool,
    pool_wait = opts.pool_wait, waiter = waiter, setup_key = opts.shared_pool and setup_key(opts) or nil})
  -- under OpenResty, cosocket phases get the dialect's wire driver (unchanged elsewhere)
  pool = ngx_pool.wrap(pool, {dialect = dialect, url = u, args = args, setup = setup, opts = opts})
  local exec_opts = {}
  if opts.execution_options then
    statement.check_execution_options(opts.execution_options, "create_engine: execution_options", 2)
    for k, v in pairs(opts.execution_options) do exec_opts[k] = v end
  end
  if opts.isolation_level ~= nil then
    if not dialect.isolation_levels[opts.isolation_level] then
      exc.raise(exc.ArgumentError, string.format(
        "create_engine: invalid isolation_level '%s' for %s", tostring(opts.isolation_level),
        dialect.name), nil, 2)
    end
    exec_opts.isolation_level = opts.isolation_level
  end
  local engine = base.Engine.new(u, dialect, pool, {echo = opts.echo, logger = opts.logger,
    execution_options = exec_opts, waiter = waiter})
  return engine
end

return M
