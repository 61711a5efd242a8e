--- spec/openresty/app/app.lua: the application the OpenResty specs and
--- bench/openresty run inside nginx. The engines are made in init_by_lua
--- (app.init: the master, blocking driver, creates the schema) and used by
--- the workers' handlers (cosockets). One location routes by path:
---
---   /nodb                  no database: "ok"
---   /pid                   the server session's pid (pg_backend_pid / CONNECTION_ID)
---   /sleep?s=0.2           the server sleeps s seconds
---   /small?n=1             a small query: n + 1
---   /core?name=x           Core: an INSERT with RETURNING, then a SELECT with a bind
---   /orm/add?name=x&emails=a,b   ORM: a user with addresses in a session of its own
---   /orm/user?name=x       the user and its addresses (a relationship load)
---   /orm/dup?name=x        a flush that fails (the name is taken): rolled back, class returned
---   /timeout               a statement past statement_timeout, then the connection again
---   /ssl                   PostgreSQL with sslmode=require: whether the session is encrypted
---   /error                 a quicksilver error raised through qsngx.run: logged, 500
---   /raw_error             a quicksilver error raised bare (ngx_lua's own logging)
---   /leak                  checks out a connection and dies without giving it back
---   /status                the pool's status line
---   /init_value            what init_by_lua read, and the kind of connection it had
---   /init_worker_value     the same in init_worker_by_lua
---   /kind                  the kind of connection a content handler gets
---   /timer                 a query from an ngx.timer callback
---   /blocking/...          the same routes on an engine whose URL names the blocking
---                          driver (postgresql+libpq://): for the bench's comparison
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local qsngx = require("quicksilver.ngx")

local M = {}

local engines = {}
local models
M.init_value = nil

local function define_models(backend)
  local Base = orm.declarative_base()
  local User = Base:model("User", {
    __tablename = "ngx_users",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(40), {nullable = false, unique = true}),
    addresses = orm.relationship("Address", {back_populates = "user", order_by = "Address.id"}),
  })
  local Address = Base:model("Address", {
    __tablename = "ngx_addresses",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    email = orm.mapped_column(qs.String(60), {nullable = false}),
    user_id = orm.mapped_column(qs.ForeignKey("ngx_users.id")),
    user = orm.relationship("User", {back_populates = "addresses"}),
  })
  local Item = qs.Table("ngx_items", Base.metadata,
    qs.Column("id", qs.Integer, {primary_key = true}),
    qs.Column("name", qs.String(40)))
  return {Base = Base, User = User, Address = Address, Item = Item, backend = backend}
end

--- Called from init_by_lua: engines for url (and its blocking twin), pools
--- of pool_size (5) and no overflow, the schema made through the blocking
--- driver (no cosockets in init).
function M.init(...)
  -- through run: a failure stops nginx with its text, not "unknown error"
  return qsngx.run(M._init, ...)
end

function M._init(url, blocking_url, pool_size)
  local backend = url:match("^(%a+)")
  M.url = url
  pool_size = pool_size or 5
  engines.main = qs.create_engine(url, {pool_size = pool_size, max_overflow = 0, pool_timeout = 3})
  if blocking_url then
    engines.blocking = qs.create_engine(blocking_url, {pool_size = pool_size, max_overflow = 0})
  end
  models = define_models(backend)
  local md = models.Base.metadata
  md:drop_all(engines.main)
  md:create_all(engines.main)
  -- which kind of connection each checkout got (listeners on engine.pool
  -- hear the blocking pool's checkouts too)
  qs.event.listen(engines.main.pool, "checkout", function(_, rec)
    M.last_kind = rec.waiter and "cosocket" or "blocking"
  end)
  M.init_value = engines.main:connect(function(conn)
    return conn:exec_driver_sql("SELECT 40 + 2"):scalar()
  end) .. " " .. M.last_kind
end

--- Called from init_worker_by_lua: no cosockets there, the blocking pool serves.
function M.init_worker()
  M.init_worker_value = engines.main:connect(function(conn)
    return conn:exec_driver_sql("SELECT 40 + 3"):scalar()
  end) .. " " .. M.last_kind
end

local function arg(name) return ngx.var["arg_" .. name] end

local routes = {}

function routes.nodb() ngx.say("ok") end

function routes.pid(e)
  local sql = models.backend == "postgresql" and "SELECT pg_backend_pid()" or "SELECT CONNECTION_ID()"
  ngx.say(e:connect(function(conn) return conn:exec_driver_sql(sql):scalar() end))
end

function routes.sleep(e)
  local s = tonumber(arg("s")) or 0.2
  local sql = models.backend == "postgresql" and "SELECT pg_sleep(%s)" or "SELECT SLEEP(%s)"
  e:connect(function(conn) conn:exec_driver_sql(string.format(sql, s)) end)
  ngx.say("slept")
end

function routes.small(e)
  local n = tonumber(arg("n")) or 1
  ngx.say(e:connect(function(conn)
    return conn:execute(qs.text("SELECT CAST(:n AS INTEGER) + 1"), {n = n}):scalar()
  end))
end

function routes.core(e)
  local Item = models.Item
  local name = arg("name") or "x"
  local id, got = e:begin(function(conn)
    local new_id = conn:execute(qs.insert(Item):values({name = name}):returning(Item.c.id)):scalar()
    local back = conn:execute(qs.select(Item.c.name):where(Item.c.id:eq(new_id))):scalar()
    return new_id, back
  end)
  ngx.say(id > 0 and "inserted" or "no id", " ", got)
end

local function session(e)
  return orm.Session({bind = e})
end

function routes.orm_add(e)
  local s = session(e)
  local emails = {}
  for email in (arg("emails") or ""):gmatch("[^,]+") do
    emails[#emails + 1] = models.Address({email = email})
  end
  s:add(models.User({name = arg("name"), addresses = emails}))
  s:commit()
  s:close()
  ngx.say("added")
end

function routes.orm_user(e)
  local s = session(e)
  local u = s:scalars(qs.select(models.User):where(models.User.name:eq(arg("name")))):one()
  local out = {}
  for _, a in ipairs(u.addresses) do out[#out + 1] = a.email end
  s:close()
  ngx.say(u.name, ":", table.concat(out, ","))
end

function routes.orm_dup(e)
  local s = session(e)
  s:add(models.User({name = arg("name"), addresses = {models.Address({email = "dup@x"})}}))
  local ok, err = pcall(s.commit, s)
  s:rollback()
  -- the session works again after the rollback
  local n = s:scalar(qs.select(qs.func.count(models.User.id)))
  s:close()
  ngx.say(ok and "committed" or err.name, " ", n)
end

-- a statement past its statement_timeout: OperationalError, and the same
-- connection answers next (PostgreSQL: the cancel goes out beside the
-- cosocket; MariaDB: the server's own limit)
function routes.timeout(e)
  local sql = models.backend == "postgresql" and "SELECT pg_sleep(5)" or "SELECT SLEEP(5)"
  local t0 = ngx.now()
  local name, after = e:connect(function(conn)
    conn:execution_options({statement_timeout = 0.3})
    local ok, err = pcall(conn.exec_driver_sql, conn, sql)
    conn:rollback()
    return ok and "no error" or err.name, conn:exec_driver_sql("SELECT 5"):scalar()
  end)
  ngx.update_time()
  ngx.say(name, " ", after, " ", ngx.now() - t0 < 3 and "fast" or "slow")
end

-- PostgreSQL with sslmode=require on an engine of its own: whether the
-- session is encrypted (the cosocket's sslhandshake)
function routes.ssl()
  local e = qs.create_engine(M.url .. "?sslmode=require", {pool_size = 1})
  local ok, res = pcall(e.connect, e, function(conn)
    return conn:exec_driver_sql("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"):scalar()
  end)
  e:dispose()
  if not ok then error(res, 0) end
  ngx.say("ssl ", tostring(res))
end

function routes.error(e)
  e:connect(function(conn) conn:exec_driver_sql("SELECT * FROM no_such_table_here") end)
end

function routes.raw_error(e)
  routes.error(e)
end

function routes.leak(e)
  local conn = e:connect()
  conn:exec_driver_sql("SELECT 1")
  error("dying with a connection checked out")
end

function routes.status(e) ngx.say(e.pool:status()) end

function routes.init_value() ngx.say(tostring(M.init_value)) end

function routes.init_worker_value() ngx.say(tostring(M.init_worker_value)) end

function routes.kind(e)
  e:connect(function(conn) conn:exec_driver_sql("SELECT 1") end)
  ngx.say(M.last_kind)
end

-- a query from a timer (a phase with cosockets, no request)
function routes.timer(e)
  M.timer_value = nil
  local ok, err = ngx.timer.at(0, function()
    M.timer_value = e:connect(function(conn)
      return conn:exec_driver_sql("SELECT 40 + 4"):scalar()
    end) .. " " .. M.last_kind
  end)
  if not ok then error(err) end
  for _ = 1, 100 do
    if M.timer_value then break end
    ngx.sleep(0.01)
  end
  ngx.say(tostring(M.timer_value))
end

--- The content handler: /[blocking/]route
function M.route()
  local uri = ngx.var.uri
  local which = "main"
  if uri:find("^/blocking/") then
    which = "blocking"
    uri = uri:sub(#"/blocking" + 1)
  end
  local name = uri:sub(2):gsub("/", "_")
  local fn = routes[name]
  if not fn then return ngx.exit(404) end
  if name == "raw_error" or name == "leak" then return fn(engines[which]) end
  return qsngx.run(fn, engines[which])
end

function M.engine() return engines.main end

return M
