-- The waiter and the drive loop (lua/quicksilver/waiting.lua), and the
-- engine's calls going through it: with fake driver connections that ask
-- to wait (the protocol of the C binding), and on SQLite, which never
-- waits and must run unchanged inside a coroutine with a waiter set.
local qs = require("quicksilver")
local core = require("quicksilver.core")
local waiting = require("quicksilver.waiting")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local WAIT = core.WAIT
local unpack = table.unpack or unpack

-- Runs fn in a new coroutine to its end (waiters that yield are resumed at
-- once, as a scheduler whose sockets are always ready); returns fn's results
-- or raises its error.
local function pack(...) return {n = select("#", ...), ...} end
local function in_coroutine(fn, ...)
  local co = coroutine.create(fn)
  local res = pack(coroutine.resume(co, ...))
  while coroutine.status(co) ~= "dead" do
    res = pack(coroutine.resume(co))
  end
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, res.n)
end

-- A driver connection whose `method` asks to wait `waits` times (on fd 7,
-- alternating "r" and "w", timeout 1.5 s then none) before returning
-- `final`. It records what resume and abandon received.
local function fake_cconn(waits, final, W)
  local c = {resumed = {}, abandoned = 0, left = waits, W = W}
  function c:waiter() return self.W end
  function c:abandon() self.abandoned = self.abandoned + 1 end
  local function ask()
    local n = waits - c.left
    return WAIT, 7, n % 2 == 0 and "r" or "w", n == 0 and 1.5 or nil
  end
  function c:method()
    if self.left == 0 then return unpack(final, 1, final.n) end
    return ask()
  end
  function c:resume(ready)
    self.resumed[#self.resumed + 1] = ready
    self.left = self.left - 1
    if self.left == 0 then return unpack(final, 1, final.n) end
    return ask()
  end
  return c
end

describe("waiting.drive", function()
  it("passes results through unchanged when nothing waits (nil first included)", function()
    local c = fake_cconn(0, pack())
    local n = select("#", waiting.drive(c, nil, "err", nil))
    assert.equal(3, n)
    local a, b = waiting.drive(c, nil, "err")
    assert.is_nil(a)
    assert.equal("err", b)
    assert.same({1, false, "x"}, {waiting.drive(c, 1, false, "x")})
    assert.equal(0, #c.resumed)
  end)

  it("calls the waiter with fd, events and timeout, resumes with what it returned", function()
    local calls = {}
    local W = function(fd, events, timeout)
      calls[#calls + 1] = {fd, events, timeout}
      coroutine.yield()   -- a scheduler's suspension
      return true
    end
    local c = fake_cconn(3, pack("cursor", nil, 42), W)
    local a, b, d = in_coroutine(function() return waiting.drive(c, c:method()) end)
    assert.equal("cursor", a)
    assert.is_nil(b)
    assert.equal(42, d)
    assert.same({{7, "r", 1.5}, {7, "w"}, {7, "r"}}, calls)
    assert.same({true, true, true}, c.resumed)
    assert.equal(0, c.abandoned)
  end)

  it("passes false to resume when the waiter's time ran out (false or nil)", function()
    local answers = {false, nil, "yes"}
    local i = 0
    local W = function() i = i + 1; return answers[i] end
    local c = fake_cconn(3, pack(true), W)
    assert.is_true(in_coroutine(function() return waiting.drive(c, c:method()) end))
    assert.same({false, false, true}, c.resumed)
  end)

  it("abandons the connection and re-raises the same error when the waiter raises", function()
    local boom = {"scheduler cancelled this coroutine"}
    local W = function() error(boom) end
    local c = fake_cconn(2, pack(true), W)
    local told = {}
    waiting.set_owner(c, {_given_up = function(_, e) told[#told + 1] = e end})
    local ok, err = pcall(in_coroutine, function() return waiting.drive(c, c:method()) end)
    assert.is_false(ok)
    assert.equal(boom, err)
    assert.equal(1, c.abandoned)
    assert.equal(0, #c.resumed)
    assert.same({boom}, told)   -- its owner was told, once
  end)

  it("abandons the connection when no waiter applies any more", function()
    local c = fake_cconn(1, pack(true), nil)
    local err = raises(qs.exc.InvalidRequestError, function()
      return waiting.drive(c, c:method())
    end)
    assert.truthy(err.message:find("no waiter", 1, true))
    assert.equal(1, c.abandoned)
  end)

  it("waits any number of times without growing the stack", function()
    local c = fake_cconn(100000, pack("done"), function() return true end)
    assert.equal("done", waiting.drive(c, c:method()))
    assert.equal(100000, #c.resumed)
  end)
end)

describe("the waiter registry", function()
  after_each(function() qs.set_waiter(nil) end)

  it("qs.set_waiter sets and removes the process default", function()
    local W = function() return true end
    assert.is_nil(qs.get_waiter())
    qs.set_waiter(W)
    assert.equal(W, qs.get_waiter())
    assert.equal(W, waiting.default())
    qs.set_waiter(nil)
    assert.is_nil(qs.get_waiter())
  end)

  it("qs.set_waiter refuses what is not a function, by name", function()
    for _, bad in ipairs({42, "W", {}, true}) do
      local err = raises(qs.exc.ArgumentError, qs.set_waiter, bad)
      assert.truthy(err.message:find("qs.set_waiter", 1, true), err.message)
      assert.truthy(err.message:find("must be a function", 1, true), err.message)
    end
    assert.is_nil(qs.get_waiter())
  end)

  it("create_engine refuses a waiter that is not a function, by name", function()
    local err = raises(qs.exc.ArgumentError, qs.create_engine, "sqlite://", {waiter = "cqueues"})
    assert.truthy(err.message:find("'waiter'", 1, true), err.message)
    assert.truthy(err.message:find("cqueues", 1, true), err.message)
  end)

  it("current: nil on the main thread; the engine's, else the default, in a coroutine", function()
    local mine, default = function() end, function() end
    qs.set_waiter(default)
    assert.is_nil(waiting.current(mine))
    assert.is_nil(waiting.current(nil))
    assert.equal(mine, in_coroutine(waiting.current, mine))
    assert.equal(default, in_coroutine(waiting.current, nil))
    qs.set_waiter(nil)
    assert.is_nil(in_coroutine(waiting.current, nil))
  end)
end)

-- A driver connection over a real SQLite one whose server-talking methods
-- ask to wait once when called in non-blocking mode (a coroutine with a
-- waiter, as the C binding decides), running the real call at resume. It
-- refuses a second call while one waits, as C does.
local TALKING = {"connect", "execute", "executemany", "exec", "begin", "commit", "rollback",
  "savepoint", "release", "rollback_to", "set_timeout"}

local function waiting_proxy(real, log)
  -- its own state in st (the real connection has methods named like it)
  local st = {W = nil, pending = nil}
  local p = {}
  setmetatable(p, {__index = function(_, k)
    local f = real[k]
    if type(f) ~= "function" then return f end
    return function(_, ...) return f(real, ...) end
  end})
  for _, name in ipairs(TALKING) do
    p[name] = function(self, ...)
      assert(st.pending == nil, "called while an operation waits: " .. name)
      local args = {n = select("#", ...), ...}
      local function run()
        if name == "connect" then return true end
        return real[name](real, unpack(args, 1, args.n))
      end
      if not waiting.current(st.W) then return run() end
      st.pending = run
      log[#log + 1] = name
      return WAIT, 9, "rw", 2.5
    end
  end
  function p:resume(ready)
    local run = assert(st.pending, "resume with nothing waiting")
    st.pending = nil
    assert(ready == true, "the proxy's waits always end ready")
    return run()
  end
  function p:set_waiter(W) st.W = W end
  function p:waiter() return st.W or waiting.default() end
  function p:abandon() st.pending = nil; real:close() end
  return p
end

describe("the engine through the waiter", function()
  local saved_connect, saved_start
  local log, waits

  before_each(function()
    log, waits = {}, {}
    saved_connect, saved_start = core.connect, core.connect_start
    local function opener(drv, args)
      local real, err = saved_connect(drv, args)
      if not real then return nil, err end
      return waiting_proxy(real, log)
    end
    core.connect, core.connect_start = opener, opener
  end)

  after_each(function()
    core.connect, core.connect_start = saved_connect, saved_start
    qs.set_waiter(nil)
    helpers.cleanup()
  end)

  local function W(fd, events, timeout)
    waits[#waits + 1] = {fd, events, timeout}
    coroutine.yield()
    return true
  end

  local function count(what)
    local n = 0
    for _, name in ipairs(log) do if name == what then n = n + 1 end end
    return n
  end

  -- Core work touching every path that talks to the server.
  local function workload(engine)
    local out = {}
    engine:begin(function(conn)
      conn:execute(qs.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
      conn:execute(qs.text("INSERT INTO t (id, v) VALUES (:id, :v)"),
        {{id = 1, v = "a"}, {id = 2, v = "b"}, {id = 3, v = "c"}})
    end)
    engine:connect(function(conn)
      conn:begin_nested(function(c)
        c:execute(qs.text("INSERT INTO t (id, v) VALUES (4, 'd')"))
      end)
      pcall(conn.begin_nested, conn, function(c)
        c:execute(qs.text("INSERT INTO t (id, v) VALUES (5, 'e')"))
        error("undo 5")
      end)
      conn:commit()
      conn:execution_options({statement_timeout = 30})
      out.n = conn:execute(qs.text("SELECT count(*) FROM t")):scalar()
      local vs = {}
      for row in conn:execute(qs.text("SELECT v FROM t ORDER BY id"), nil, {yield_per = 2}):iter() do
        vs[#vs + 1] = row[1]
      end
      out.vs = table.concat(vs)
      conn:rollback()
    end)
    local iso = engine:execution_options({isolation_level = "READ UNCOMMITTED"})
    out.iso = iso:connect(function(conn) return conn:get_isolation_level() end)
    return out
  end

  for _, poolclass in ipairs({"null", "static"}) do
    it("runs every statement path through the engine's waiter (" .. poolclass .. " pool)", function()
      local engine = qs.create_engine("sqlite:///" .. helpers.tmpdb(), {waiter = W, poolclass = poolclass})
      local out = in_coroutine(workload, engine)
      assert.same({n = 4, vs = "abcd", iso = "READ UNCOMMITTED"}, out)
      for _, name in ipairs({"connect", "execute", "executemany", "exec", "savepoint", "release",
          "rollback_to", "set_timeout"}) do
        assert.truthy(count(name) > 0, name .. " never went through the waiter")
      end
      assert.equal(#log, #waits)
      assert.same({9, "rw", 2.5}, waits[1])
      engine:dispose()
    end)
  end

  it("blocks on the main thread with the same engine: the waiter is never called", function()
    local engine = qs.create_engine("sqlite:///" .. helpers.tmpdb(), {waiter = W, poolclass = "static"})
    local out = workload(engine)
    assert.same({n = 4, vs = "abcd", iso = "READ UNCOMMITTED"}, out)
    assert.equal(0, #waits)
    assert.equal(0, #log)
    engine:dispose()
  end)

  it("uses the process default for engines without a waiter", function()
    qs.set_waiter(W)
    local engine = qs.create_engine("sqlite:///" .. helpers.tmpdb(), {poolclass = "static"})
    assert.is_nil(engine.waiter)
    local out = in_coroutine(workload, engine)
    assert.equal(4, out.n)
    assert.truthy(#waits > 0)
    assert.equal(#log, #waits)
    engine:dispose()
  end)

  it("interleaves two coroutines on one thread, each waiting in turn", function()
    local order = {}
    local function tagged(tag)
      return function()
        order[#order + 1] = tag
        coroutine.yield()
        return true
      end
    end
    local ea = qs.create_engine("sqlite:///" .. helpers.tmpdb(), {waiter = tagged("a"), poolclass = "static"})
    local eb = qs.create_engine("sqlite:///" .. helpers.tmpdb(), {waiter = tagged("b"), poolclass = "static"})
    local cos = {coroutine.create(workload), coroutine.create(workload)}
    local args = {ea, eb}
    local results = {}
    local alive = 2
    while alive > 0 do   -- round robin: each resume runs to the coroutine's next wait
      for i = 1, 2 do
        local co = cos[i]
        if coroutine.status(co) ~= "dead" then
          local ok, res = coroutine.resume(co, args[i])
          assert(ok, res)
          if coroutine.status(co) == "dead" then results[i] = res; alive = alive - 1 end
        end
      end
    end
    assert.same(results[1], results[2])
    assert.equal(4, results[1].n)
    -- the waits alternate: neither coroutine ran its statements to the end alone
    assert.equal("a", order[1])
    assert.equal("b", order[2])
    assert.equal("a", order[3])
    ea:dispose()
    eb:dispose()
  end)

  it("runs the ORM (flush, queries, lazy loads, selectin) through the waiter", function()
    local orm = require("quicksilver.orm")
    local fixtures = require("spec.support.fixtures")
    local m = fixtures.user_address({tables = {"w_users", "w_addresses"}})
    local User, Address = m.User, m.Address
    local engine = qs.create_engine("sqlite:///" .. helpers.tmpdb(), {waiter = W, poolclass = "static"})
    local out = in_coroutine(function()
      m.Base.metadata:create_all(engine)
      local s = orm.Session({bind = engine})
      s:add_all({User({name = "ann", addresses = {Address({email = "a@1"}), Address({email = "a@2"})}}),
        User({name = "bob"})})
      s:commit()
      s:expunge_all()
      local ann = s:scalars(qs.select(User):where(User.name:eq("ann"))):one()
      local lazy = #ann.addresses   -- a lazy load
      s:expunge_all()
      local users = s:scalars(qs.select(User):options(orm.selectinload(User.addresses))
        :order_by(User.name)):all()
      local r = {lazy = lazy, n = #users, bob = #users[2].addresses, email = users[1].addresses[1].email}
      users[2].name = "rob"
      s:commit()
      r.renamed = s:scalar(qs.select(qs.func.count(User.id)):where(User.name:eq("rob")))
      s:close()
      return r
    end)
    assert.same({lazy = 2, n = 2, bob = 0, email = "a@1", renamed = 1}, out)
    assert.truthy(count("execute") >= 6)
    assert.equal(#log, #waits)
    engine:dispose()
  end)

  it("a waiter that raises gives the connection up and the error reaches the caller", function()
    local boom = {"cancelled"}
    local n = 0
    local engine = qs.create_engine("sqlite:///" .. helpers.tmpdb(), {poolclass = "static",
      waiter = function() n = n + 1; if n == 3 then error(boom) end; return true end})
    local ok, err = pcall(in_coroutine, function()
      return engine:connect(function(conn)
        conn:execute(qs.text("SELECT 1"))
        conn:execute(qs.text("SELECT 2"))
      end)
    end)
    assert.is_false(ok)
    assert.equal(boom, err)
    -- the next connection is a new one, and works
    n = -100
    local v = in_coroutine(function()
      return engine:connect(function(conn) return conn:execute(qs.text("SELECT 7")):scalar() end)
    end)
    assert.equal(7, v)
    engine:dispose()
  end)

  it("a Connection whose waiter raised is invalidated: roll back, then it goes on anew", function()
    local boom = {"cancelled"}
    local fail = false
    local engine = qs.create_engine("sqlite:///" .. helpers.tmpdb(), {poolclass = "null",
      waiter = function() if fail then error(boom) end; return true end})
    local out = in_coroutine(function()
      local conn = engine:connect()
      local first = conn._cconn
      conn:execute(qs.text("SELECT 1"))
      fail = true
      local ok, err = pcall(conn.execute, conn, qs.text("SELECT 2"))
      fail = false
      assert.is_false(ok)
      assert.equal(boom, err)
      assert.is_true(first:closed())   -- given up, never to be reused
      assert.is_true(conn:in_transaction())
      local e2 = raises(qs.exc.ResourceClosedError, conn.execute, conn, qs.text("SELECT 3"))
      assert.truthy(e2.message:find("invalidated", 1, true), e2.message)
      conn:rollback()
      local v = conn:execute(qs.text("SELECT 4")):scalar()
      assert.are_not.equal(first, conn._cconn)
      conn:close()
      return v
    end)
    assert.equal(4, out)
    engine:dispose()
  end)
end)

describe("engines with a waiter on SQLite (never waits)", function()
  after_each(function()
    qs.set_waiter(nil)
    helpers.cleanup()
  end)

  local function work(engine)
    engine:begin(function(conn)
      conn:execute(qs.text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)"))
      conn:execute(qs.text("DELETE FROM t"))
      conn:execute(qs.text("INSERT INTO t (id, v) VALUES (:id, :v)"), {{id = 1, v = "x"}, {id = 2, v = "y"}})
    end)
    return engine:connect(function(conn)
      conn:begin_nested(function(c) c:execute(qs.text("UPDATE t SET v = 'z' WHERE id = 2")) end)
      conn:execution_options({statement_timeout = 5})
      local vs = {}
      for row in conn:execute(qs.text("SELECT v FROM t ORDER BY id"), nil, {yield_per = 1}):iter() do
        vs[#vs + 1] = row[1]
      end
      conn:commit()
      return table.concat(vs), conn._cconn:waiter()
    end)
  end

  for _, poolclass in ipairs({"queue", "null", "static"}) do
    it("runs in a coroutine and on the main thread, the waiter never called (" .. poolclass .. ")", function()
      local called = 0
      local W = function() called = called + 1; return true end
      local engine = helpers.sqlite_engine({waiter = W, poolclass = poolclass})
      assert.equal(W, engine.waiter)
      local vs, seen = in_coroutine(work, engine)
      assert.equal("xz", vs)
      assert.equal(W, seen)   -- set on the connection at checkout
      vs = work(engine)
      assert.equal("xz", vs)
      assert.equal(0, called)
      engine:dispose()
    end)
  end

  it("derived engines keep the waiter; engines without one see the default", function()
    local W, D = function() return true end, function() return true end
    local engine = helpers.sqlite_engine({waiter = W})
    assert.equal(W, engine:execution_options({yield_per = 3}).waiter)
    qs.set_waiter(D)
    local plain = helpers.sqlite_engine()
    local _, seen = in_coroutine(work, plain)
    assert.equal(D, seen)
    -- an engine's own wins over the default
    _, seen = in_coroutine(work, engine)
    assert.equal(W, seen)
    engine:dispose()
    plain:dispose()
  end)
end)
