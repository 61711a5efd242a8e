-- The pool against real servers: dead connections, exhaustion, reset on
-- return, errors inside scopes. (SQLite engines use other pool classes.)
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("the connection pool on " .. helpers.backend, function()
  if helpers.on("sqlite") then return end

  local url
  setup(function() url = helpers.backend_url() end)

  local function backend_pid(c)
    if helpers.on("postgresql") then return c:exec_driver_sql("SELECT pg_backend_pid()"):scalar() end
    return c:exec_driver_sql("SELECT CONNECTION_ID()"):scalar()
  end

  -- Ends the server session pid from another connection, as an operator
  -- (or a failover) would.
  local function kill(pid)
    local killer = qs.create_engine(url, {poolclass = "null"})
    local now = require("quicksilver.core").now
    killer:connect(function(c)
      if helpers.on("postgresql") then c:exec_driver_sql("SELECT pg_terminate_backend($1)", {pid})
      else c:exec_driver_sql("KILL " .. math.floor(pid)) end   -- an integer the server gave
      -- the server drops the session on its own time: wait until it says it
      -- is gone (the deadline is only a backstop against a hang)
      local sql = helpers.on("postgresql") and "SELECT count(*) FROM pg_stat_activity WHERE pid = $1"
        or "SELECT count(*) FROM information_schema.processlist WHERE id = ?"
      local deadline, left = now() + 10, 1
      repeat
        left = c:exec_driver_sql(sql, {pid}):scalar()
        c:commit()
      until left == 0 or now() > deadline
      assert.equal(0, left)
    end)
    killer:dispose()
  end

  -- os.execute's success: true in Lua 5.2+, 0 in Lua 5.1 / LuaJIT
  local function run(cmd)
    local ok = os.execute(cmd)
    return ok == true or ok == 0
  end

  it("pre_ping replaces a connection killed while idle", function()
    local why = helpers.needs_own_session("pg_terminate_backend ends the pooler's server connection, not the client's")
    if why then return pending(why) end
    local engine = qs.create_engine(url, {pool_size = 1, pool_pre_ping = true})
    local pid = engine:connect(backend_pid)
    kill(pid)
    local pid2 = engine:connect(backend_pid)
    assert.are_not.equal(pid, pid2)
    assert.equal(1, engine.pool:status_table().invalidated)
    engine:dispose()
  end)

  it("without pre_ping the first use fails as invalidated, the next works", function()
    local why = helpers.needs_own_session("pg_terminate_backend ends the pooler's server connection, not the client's")
    if why then return pending(why) end
    local engine = qs.create_engine(url, {pool_size = 1})
    local pid = engine:connect(backend_pid)
    kill(pid)
    local err = raises(qs.exc.OperationalError, function() engine:connect(backend_pid) end)
    assert.is_true(err.connection_invalidated)
    local pid2 = engine:connect(backend_pid)
    assert.are_not.equal(pid, pid2)
    assert.equal(0, engine.pool:status_table().checked_out)
    engine:dispose()
  end)

  it("a connection killed mid-transaction loses only the open transaction", function()
    local engine = helpers.backend_engine({pool_size = 2})
    local md = qs.MetaData()
    local t = qs.Table("kv", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("v", qs.Integer))
    md:create_all(engine)
    engine:begin(function(c) c:execute(qs.insert(t), {{v = 1}, {v = 2}}) end)
    local conn = engine:connect()
    conn:execute(qs.insert(t):values({v = 3}))
    kill(backend_pid(conn))
    local err = raises(qs.exc.OperationalError, function() conn:execute(qs.insert(t):values({v = 4})) end)
    assert.is_true(err.connection_invalidated)
    conn:rollback()
    conn:close()
    local vs = engine:connect(function(c) return c:execute(qs.select(t.c.v):order_by(t.c.v)):scalars():all() end)
    assert.same({1, 2, n = 2}, vs)
    md:drop_all(engine)
    engine:dispose()
  end)

  it("an exhausted pool waits pool_timeout, then raises TimeoutError naming its limits", function()
    local engine = qs.create_engine(url, {pool_size = 2, max_overflow = 1, pool_timeout = 0.3})
    local held = {engine:connect(), engine:connect(), engine:connect()}
    local t0 = require("quicksilver.core").now()
    local err = raises(qs.exc.TimeoutError, function() engine:connect() end)
    assert.is_true(require("quicksilver.core").now() - t0 >= 0.29)
    assert.matches("size 2 overflow 1", err.message)
    for _, c in ipairs(held) do c:close() end
    engine:connect(function(c) assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar()) end)
    local st = engine.pool:status_table()
    assert.equal(0, st.checked_out)
    assert.equal(2, st.idle)   -- the overflow connection was closed at checkin
    engine:dispose()
  end)

  it("a pool_wait function is called instead of blocking", function()
    local waits = 0
    local engine = qs.create_engine(url, {pool_size = 1, max_overflow = 0, pool_timeout = 0.2,
      pool_wait = function() waits = waits + 1 end})
    local held = engine:connect()
    raises(qs.exc.TimeoutError, function() engine:connect() end)
    assert.is_true(waits > 0)
    held:close()
    engine:dispose()
  end)

  it("a connection returned with an open transaction and a row lock is reset", function()
    local engine = helpers.backend_engine({pool_size = 1})
    local md = qs.MetaData()
    local t = qs.Table("locked", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("v", qs.Integer))
    md:create_all(engine)
    engine:begin(function(c) c:execute(qs.insert(t):values({id = 1, v = 0})) end)
    local c1 = engine:connect()
    c1:execute(qs.select(t.c.v):where(t.c.id:eq(1)):with_for_update())
    c1:execute(qs.update(t):values({v = 5}))
    c1.engine.pool:checkin(c1._rec)   -- returned as is: no commit, no rollback
    c1._rec, c1._cconn, c1.closed = nil, nil, true
    local other = qs.create_engine(url, {poolclass = "null"})
    other:begin(function(c)
      if helpers.on("postgresql") then c:exec_driver_sql("SET lock_timeout = '500ms'") end
      c:execute(qs.update(t):values({v = 7}))   -- would time out if the lock were still held
    end)
    engine:connect(function(c)
      assert.is_false(c:in_transaction())
      assert.equal(7, c:execute(qs.select(t.c.v)):scalar())
    end)
    other:dispose()
    md:drop_all(engine)
    engine:dispose()
  end)

  it("a Lua error inside connect(fn) or begin(fn) returns the connection", function()
    local engine = qs.create_engine(url, {pool_size = 1, max_overflow = 0, pool_timeout = 0.2})
    assert.is_false(pcall(engine.connect, engine, function() error("boom") end))
    assert.is_false(pcall(engine.begin, engine, function(c) c:exec_driver_sql("SELECT 1"); error("boom") end))
    assert.equal(0, engine.pool:status_table().checked_out)
    engine:connect(function(c) assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar()) end)
    engine:dispose()
  end)

  it("pool_recycle replaces old connections", function()
    local why = helpers.needs_own_session("pg_backend_pid() names the server connection the pooler lent, not the client's connection")
    if why then return pending(why) end
    local engine = qs.create_engine(url, {pool_size = 1, pool_recycle = 0})
    local pid = engine:connect(backend_pid)
    local pid2 = engine:connect(backend_pid)
    assert.are_not.equal(pid, pid2)
    assert.is_true(engine.pool:status_table().recycled >= 1)
    engine:dispose()
  end)

  it("recovers after the server stops and starts again, without a new engine", function()
    if os.getenv("QS_SERVERS_OWNED") ~= "1" then
      pending("needs servers started by spec/support/servers.sh (QS_SERVERS_OWNED=1)")
      return
    end
    local which = helpers.on("postgresql") and "pg" or "mysql"
    local engine = qs.create_engine(url, {pool_size = 2})
    assert.equal(1, engine:connect(function(c) return c:exec_driver_sql("SELECT 1"):scalar() end))
    assert.is_true(run("bash spec/support/servers.sh down " .. which))
    local err = raises(qs.exc.OperationalError, function()
      engine:connect(function(c) return c:exec_driver_sql("SELECT 1"):scalar() end)
    end)
    assert.is_true(err.connection_invalidated)
    raises(qs.exc.OperationalError, function() engine:connect(function() end) end)   -- still down
    assert.is_true(run("bash spec/support/servers.sh up " .. which))
    assert.equal(1, engine:connect(function(c) return c:exec_driver_sql("SELECT 1"):scalar() end))
    engine:dispose()
  end)

  it("shares one pool between engines by name", function()
    local opts = {shared_pool = "spec-shared", pool_size = 1, max_overflow = 0, pool_timeout = 0.1}
    local a = qs.create_engine(url, opts)
    local b = qs.create_engine(url, opts)
    local held = a:connect()
    raises(qs.exc.TimeoutError, function() b:connect() end)
    held:close()
    b:connect(function(c) assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar()) end)
    a:dispose(); b:dispose()
  end)
end)

-- Shared pools (docs/POOL.md) on every backend (SQLite files pool too).
describe("shared pools on " .. helpers.backend, function()
  local url
  setup(function() url = helpers.backend_url() end)
  teardown(helpers.cleanup)

  local function one(e) return e:connect(function(c) return c:exec_driver_sql("SELECT 1"):scalar() end) end

  it("refuses an engine whose pool options differ, naming the option", function()
    local a = qs.create_engine(url, {shared_pool = "spec-mismatch", pool_size = 2})
    local err = raises(qs.exc.ArgumentError, function()
      qs.create_engine(url, {shared_pool = "spec-mismatch", pool_size = 3})
    end)
    assert.matches("shared pool 'spec%-mismatch' exists with other settings: pool_size 2, not 3", err.message)
    err = raises(qs.exc.ArgumentError, function()
      qs.create_engine(url, {shared_pool = "spec-mismatch", pool_size = 2, pool_pre_ping = true})
    end)
    assert.matches("pool_pre_ping", err.message)
    assert.equal(1, one(a))
    a:dispose()
  end)

  it("refuses another URL or driver, never showing a password", function()
    local a = qs.create_engine(url, {shared_pool = "spec-url"})
    local u = qs.make_url(url)
    local other
    if helpers.on("sqlite") then
      other = "sqlite:///" .. helpers.tmpdb()
    else
      other = u:set({password = "s3cr3t-pw"}):render_as_string(false)
    end
    local err = raises(qs.exc.ArgumentError, function()
      qs.create_engine(other, {shared_pool = "spec-url"})
    end)
    assert.matches("connection option '[%w_]+'", err.message)
    assert.is_nil(tostring(err):find("s3cr3t", 1, true))
    -- a database of another kind: another driver
    local foreign = helpers.on("sqlite") and (os.getenv("QS_PG_URL") or "postgresql://x@127.0.0.1:1/x")
      or "sqlite:///" .. helpers.tmpdb()
    local ok, ferr = pcall(qs.create_engine, foreign, {shared_pool = "spec-url"})
    if ok or not (type(ferr) == "table" and ferr.message and ferr.message:find("no quicksilver driver")) then
      assert.is_false(ok)
      assert.matches("driver", ferr.message)
    end
    a:dispose()
  end)

  it("refuses a pool class that cannot be shared", function()
    local err = raises(qs.exc.ArgumentError, function()
      qs.create_engine(url, {shared_pool = "spec-class", poolclass = "null"})
    end)
    assert.matches("shared_pool needs the queue pool class", err.message)
  end)

  it("dispose() detaches one engine; the pool closes when the last one goes", function()
    local opts = {shared_pool = "spec-detach", pool_size = 2}
    local a = qs.create_engine(url, opts)
    local b = qs.create_engine(url, opts)
    assert.equal(1, one(a))
    assert.equal(1, one(b))
    local st = b.pool:status_table()
    assert.equal(1, st.idle)
    local held = b:connect()
    a:dispose()   -- b's pool and its connections are untouched
    st = b.pool:status_table()
    assert.equal(1, st.open)
    assert.equal(1, st.checked_out)
    assert.equal(1, held:exec_driver_sql("SELECT 1"):scalar())
    held:close()
    assert.equal(1, b.pool:status_table().idle)
    assert.equal(1, one(a))   -- a attaches again at its next checkout
    assert.equal(1, b.pool:status_table().connects)   -- the same pool, no new connection
    a:dispose()
    b:dispose()
    -- nobody holds the pool: the name is free for other settings
    local c = qs.create_engine(url, {shared_pool = "spec-detach", pool_size = 4})
    assert.equal(4, c.pool:status_table().size)
    c:dispose()
  end)

  it("an engine attached to connections another engine opened still learns the server", function()
    local opts = {shared_pool = "spec-learn", pool_size = 1}
    local a = qs.create_engine(url, opts)
    assert.equal(1, one(a))   -- a opens the pool's only connection
    local b = qs.create_engine(url, opts)
    assert.equal(1, one(b))   -- b is handed that same connection
    assert.equal(1, b.pool:status_table().connects)
    assert.equal(a.dialect.name, b.dialect.name)   -- mariadb on MariaDB, for both
    assert.equal(rawget(a.dialect, "server_version"), rawget(b.dialect, "server_version"))
    a:dispose()
    b:dispose()
  end)

  it("dispose_shared() closes the idle connections for every engine of the pool", function()
    local opts = {shared_pool = "spec-all", pool_size = 2}
    local a = qs.create_engine(url, opts)
    local b = qs.create_engine(url, opts)
    assert.equal(1, one(a))
    assert.equal(1, a.pool:status_table().idle)
    b.pool:dispose_shared()
    assert.equal(0, a.pool:status_table().idle)
    assert.equal(1, one(a))
    a:dispose()
    b:dispose()
  end)
end)
