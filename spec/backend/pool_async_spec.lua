-- The pool in a coroutine scheduler (issue 19): under a waiter a checkout
-- that must wait suspends its coroutine on a ticket of the pool's line,
-- never the OS thread; waiters are served first come, first served; the
-- pool's timeout still applies; a connection its coroutine abandoned in the
-- middle of a statement is never handed to anyone again. The scheduler is
-- cqueues (Debian's lua-cqueues), driven here directly.
local qs = require("quicksilver")
local core = require("quicksilver.core")
local helpers = require("spec.helpers")
local cqueues = require("cqueues")

describe("the pool in a coroutine scheduler on " .. helpers.backend, function()
  after_each(helpers.cleanup)

  -- The waiter contract over cqueues: suspends the calling coroutine until
  -- fd is ready for events ("r", "w", "rw") or timeout seconds pass. The fd
  -- may be closed once the caller goes on (a ticket's is, by take()), so
  -- cqueues forgets it at once (cqueues.cancel, as its manual asks before a
  -- close).
  local function W(fd, events, timeout)
    local p = {pollfd = fd, events = events}
    local ready = cqueues.poll(p, timeout) == p
    cqueues.cancel(fd)
    return ready
  end

  -- Starts fn in cq and runs it to its first suspension, so that coroutines
  -- reach the pool in the order they are spawned.
  local function spawn(cq, fn)
    cq:wrap(fn)
    assert(cq:step(0))
  end

  local function engine_with(opts)
    opts.waiter = W
    return qs.create_engine(helpers.backend_url(), opts)
  end

  -- A coroutine that counts ticks every 10 ms until stop() is called: it
  -- only ticks when nobody blocks the thread.
  local function ticker(cq)
    local t = {ticks = 0, running = true}
    cq:wrap(function()   -- (any order)
      while t.running do
        t.ticks = t.ticks + 1
        cqueues.sleep(0.01)
      end
    end)
    function t.stop() t.running = false end
    return t
  end

  it("six coroutines share two connections, served in the order they asked, the thread never blocked", function()
    local engine = engine_with({pool_size = 2, max_overflow = 0, pool_timeout = 10})
    -- two connections opened beforehand: the first two coroutines get theirs
    -- at once, with no connects racing (whichever finished first would get
    -- in first), so every turn below is the pool's doing
    local warm1, warm2 = engine:connect(), engine:connect()
    warm1:close()
    warm2:close()
    local cq = cqueues.new()
    local asked, got, done, most_waiting = {}, {}, 0, 0
    local tick = ticker(cq)
    for i = 1, 6 do
      spawn(cq, function()
        asked[#asked + 1] = i
        engine:connect(function(c)
          got[#got + 1] = i
          local turn = #got
          local waiting = engine.pool:status_table().waiting
          if waiting > most_waiting then most_waiting = waiting end
          assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar())
          -- holds the connection 0.2 s; the second holder 0.3 s, so that the
          -- two connections come back 0.1 s apart all along (each waiter is
          -- resumed before the next hand-off, even on a busy machine)
          cqueues.sleep(turn == 2 and 0.3 or 0.2)
        end)
        done = done + 1
        if done == 6 then tick.stop() end
      end)
    end
    local t0 = core.now()
    assert(cq:loop())
    local elapsed = core.now() - t0
    assert.equal(6, done)
    assert.same(asked, got)   -- first come, first served
    assert.is_true(most_waiting >= 3)
    assert.is_true(elapsed >= 0.6)   -- three rounds of 0.2 s (or more) on two connections
    assert.is_true(elapsed < 1.5, "took " .. elapsed)
    assert.is_true(tick.ticks >= 20, "ticks " .. tick.ticks)   -- the thread kept running
    local st = engine.pool:status_table()
    assert.equal(2, st.connects)
    assert.equal(0, st.checked_out)
    assert.equal(0, st.waiting)
    engine:dispose()
  end)

  it("coroutines still waiting at pool_timeout get TimeoutError; the holder is unharmed", function()
    local engine = engine_with({pool_size = 1, max_overflow = 0, pool_timeout = 0.3})
    local cq = cqueues.new()
    local results = {}
    local tick = ticker(cq)
    spawn(cq, function()
      engine:connect(function(c)
        cqueues.sleep(0.8)
        results.holder = c:exec_driver_sql("SELECT 1"):scalar()
      end)
      tick.stop()
    end)
    for i = 1, 3 do
      spawn(cq, function()
        local t0 = core.now()
        local ok, err = pcall(engine.connect, engine, function() end)
        results[i] = {ok = ok, err = err, waited = core.now() - t0}
      end)
    end
    assert(cq:loop())
    assert.equal(1, results.holder)
    for i = 1, 3 do
      assert.is_false(results[i].ok)
      assert.is_true(qs.exc.is_error(results[i].err, qs.exc.TimeoutError), tostring(results[i].err))
      assert.matches("QueuePool limit of size 1 overflow 0 reached", results[i].err.message)
      assert.is_true(results[i].waited >= 0.29)
      assert.is_true(results[i].waited < 0.8)
    end
    assert.is_true(tick.ticks >= 20, "ticks " .. tick.ticks)
    local st = engine.pool:status_table()
    assert.equal(0, st.waiting)
    assert.equal(3, st.timeouts)
    assert.equal(1, st.idle)   -- the held connection came back, nobody took it
    engine:connect(function(c) assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar()) end)
    engine:dispose()
  end)

  it("a coroutine that gives up waiting (an error in the waiter) passes its turn on", function()
    local quitters = setmetatable({}, {__mode = "k"})
    local engine = qs.create_engine(helpers.backend_url(), {pool_size = 1, max_overflow = 0,
      pool_timeout = 5, waiter = function(fd, events, timeout)
        if quitters[coroutine.running()] then error("given up", 0) end
        return W(fd, events, timeout)
      end})
    local cq = cqueues.new()
    local order = {}
    spawn(cq, function()
      engine:connect(function() cqueues.sleep(0.1) end)
      order[#order + 1] = "holder"
    end)
    spawn(cq, function()
      quitters[coroutine.running()] = true
      local ok, err = pcall(engine.connect, engine, function() end)
      order[#order + 1] = ok and "quitter got one" or ("quitter: " .. tostring(err))
    end)
    spawn(cq, function()
      engine:connect(function() order[#order + 1] = "third" end)
    end)
    assert(cq:loop())
    assert.same({"quitter: given up", "holder", "third"}, order)
    assert.equal(0, engine.pool:status_table().waiting)
    engine:dispose()
  end)

  it("a transaction a coroutine left open is rolled back and the connection kept", function()
    local engine = engine_with({pool_size = 1, max_overflow = 0})
    local md = qs.MetaData()
    local t = qs.Table("pool_async_kv", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("v", qs.Integer))
    md:create_all(engine)
    local cq = cqueues.new()
    local count
    spawn(cq, function()
      local c = engine:connect()
      c:execute(qs.insert(t):values({id = 1, v = 1}))   -- autobegun, never committed
      c:close()
      count = engine:connect(function(c2)
        return c2:execute(qs.select(qs.func.count()):select_from(t)):scalar()
      end)
    end)
    assert(cq:loop())
    assert.equal(0, count)
    local st = engine.pool:status_table()
    assert.equal(1, st.connects)   -- the same connection, reset, not closed
    assert.equal(1, st.idle)
    md:drop_all(engine)
    engine:dispose()
  end)

  -- Server sessions only: SQLite never waits, so nothing is ever mid-statement.
  if helpers.on("sqlite") then return end

  local function backend_pid(c)
    if helpers.on("postgresql") then return c:exec_driver_sql("SELECT pg_backend_pid()"):scalar() end
    return c:exec_driver_sql("SELECT CONNECTION_ID()"):scalar()
  end
  local sleep_sql = helpers.on("postgresql") and "SELECT pg_sleep(5)" or "SELECT SLEEP(5)"

  -- Runs fn in a coroutine of its own whose waiter yields to this driver,
  -- which waits with cqueues from the main thread; stops driving (leaving
  -- the coroutine suspended mid-wait) once stop() says so.
  local function drive_until(fn, stop)
    local co = coroutine.create(fn)
    local ok, fd, events, timeout = coroutine.resume(co)
    while coroutine.status(co) == "suspended" and not stop() do
      local p = {pollfd = fd, events = events}
      ok, fd, events, timeout = coroutine.resume(co, cqueues.poll(p, timeout) == p)
    end
    assert(ok, fd)
    return co
  end
  local function yielding_waiter(fd, events, timeout) return coroutine.yield(fd, events, timeout) end

  -- Ends the server session pid from another connection (as pool_spec does).
  local function kill(pid)
    local killer = qs.create_engine(helpers.backend_url(), {poolclass = "null"})
    killer:connect(function(c)
      if helpers.on("postgresql") then c:exec_driver_sql("SELECT pg_terminate_backend($1)", {pid})
      else c:exec_driver_sql("KILL " .. math.floor(pid)) end
      local sql = helpers.on("postgresql") and "SELECT count(*) FROM pg_stat_activity WHERE pid = $1"
        or "SELECT count(*) FROM information_schema.processlist WHERE id = ?"
      local deadline, left = core.now() + 10, 1
      repeat
        left = c:exec_driver_sql(sql, {pid}):scalar()
        c:commit()
      until left == 0 or core.now() > deadline
      assert.equal(0, left)
    end)
    killer:dispose()
  end

  it("under a waiter, pre_ping discards a connection killed while idle and opens another", function()
    local why = helpers.needs_own_session("pg_terminate_backend ends the pooler's server connection, not the client's")
    if why then return pending(why) end
    local engine = engine_with({pool_size = 1, max_overflow = 0, pool_pre_ping = true})
    local cq = cqueues.new()
    local pids = {}
    spawn(cq, function() pids[1] = engine:connect(backend_pid) end)
    assert(cq:loop())
    kill(pids[1])
    spawn(cq, function() pids[2] = engine:connect(backend_pid) end)
    assert(cq:loop())
    assert.is_truthy(pids[2])
    assert.are_not.equal(pids[1], pids[2])
    local st = engine.pool:status_table()
    assert.equal(2, st.connects)
    assert.equal(1, st.open)
    assert.equal(1, st.invalidated)
    engine:dispose()
  end)

  it("under a waiter, a connect that fails raises in its coroutine and frees its place", function()
    local bad = helpers.backend_url():gsub(":%d+/", ":1/")   -- nothing listens on port 1
    local engine = qs.create_engine(bad, {pool_size = 1, max_overflow = 0, waiter = W})
    local cq = cqueues.new()
    local errs = {}
    for i = 1, 2 do
      spawn(cq, function()
        local ok, err = pcall(engine.connect, engine, function() end)
        errs[i] = not ok and err
      end)
    end
    assert(cq:loop())
    for i = 1, 2 do
      assert.is_true(qs.exc.is_error(errs[i], qs.exc.OperationalError), tostring(errs[i]))
    end
    local st = engine.pool:status_table()
    assert.equal(0, st.open)
    assert.equal(0, st.waiting)
    assert.equal(0, st.invalidated)   -- a failed connect invalidates nothing else
    engine:dispose()
  end)

  -- Whether this backend's driver waits through the waiter (a statement
  -- suspends its coroutine) rather than blocking inside: only then can a
  -- coroutine be abandoned mid-statement.
  local function driver_waits()
    local engine = qs.create_engine(helpers.backend_url(), {pool_size = 1, waiter = yielding_waiter})
    local yielded = false
    local co = coroutine.create(function()
      engine:connect(function(c) c:exec_driver_sql("SELECT 1") end)
    end)
    local ok, fd, events, timeout = coroutine.resume(co)
    while ok and coroutine.status(co) == "suspended" do
      yielded = true
      local p = {pollfd = fd, events = events}
      ok, fd, events, timeout = coroutine.resume(co, cqueues.poll(p, timeout) == p)
    end
    assert(ok, fd)
    engine:dispose()
    return yielded
  end

  for _, how in ipairs({"collected", "closed"}) do
    it("a connection abandoned mid-statement (coroutine " .. how .. ") is closed, never reused", function()
      if how == "closed" and not coroutine.close then
        return pending("coroutine.close is Lua 5.4's")
      end
      if not driver_waits() then
        return pending("the " .. helpers.backend .. " driver blocks inside its steps: nothing waits mid-statement")
      end
      local engine = qs.create_engine(helpers.backend_url(), {pool_size = 1, max_overflow = 0,
        pool_timeout = 5, waiter = yielding_waiter})
      local pid, sleeping
      local co = drive_until(function()
        local c = engine:connect()
        pid = backend_pid(c)
        sleeping = true
        c:exec_driver_sql(sleep_sql)
        error("the statement was expected to be abandoned")
      end, function() return sleeping end)
      assert.is_truthy(pid)
      if how == "closed" then assert(coroutine.close(co)) end
      co = nil   -- luacheck: ignore (dropped for the collector)
      collectgarbage()
      collectgarbage()
      local st = engine.pool:status_table()
      assert.equal(0, st.checked_out)
      assert.equal(0, st.idle)   -- closed, not kept
      local t0 = core.now()
      local pid2 = engine:connect(backend_pid)   -- at once: not behind the abandoned sleep
      assert.is_true(core.now() - t0 < 2)
      assert.are_not.equal(pid, pid2)
      assert.equal(2, engine.pool:status_table().connects)
      engine:dispose()
    end)
  end
end)
