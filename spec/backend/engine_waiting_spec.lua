-- The engine in coroutines on a real server: Connection, transactions,
-- savepoints, isolation levels, statement timeouts and streamed results
-- run non-blocking through a waiter (here a minimal one over cqueues.poll),
-- so that sleeping statements in many coroutines overlap on one thread.
-- On SQLite (which never waits) the same code runs, blocking.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind
local now = require("quicksilver.core").now

local ok_cq, cqueues = pcall(require, "cqueues")

-- The waiter contract over cqueues: poll the fd for the events until the
-- timeout (nil: none); true when it is ready, false when the time ran out.
-- cancel: cqueues keeps a polled fd in its epoll set, and the driver may
-- close the socket behind its back (the next fd of that number then breaks
-- the controller's loop).
local waits = 0   -- how often the waiter was called (SQLite: never)
local function cq_waiter(fd, events, timeout)
  waits = waits + 1
  local obj = {pollfd = fd, events = events}
  local r
  if timeout then r = cqueues.poll(obj, timeout) else r = cqueues.poll(obj) end
  cqueues.cancel(fd)
  return r == obj
end

local SLEEP = {
  postgresql = function(s) return "SELECT pg_sleep(" .. s .. ")" end,
  mysql = function(s) return "SELECT SLEEP(" .. s .. ")" end,
}
local server = helpers.on("postgresql", "mysql")
-- what needs a statement that sleeps on the server (SQLite has none)
local server_it = server and it or function() end

-- Runs each function in its own coroutine on one cqueues controller;
-- returns their results (one value each) and the wall time taken.
local function run_all(fns)
  local cq = cqueues.new()
  local out, errs = {}, {}
  for i, fn in ipairs(fns) do
    cq:wrap(function()
      local ok, r = pcall(fn)
      if ok then out[i] = r else errs[#errs + 1] = r end
    end)
  end
  local t0 = now()
  local ok, err = cq:loop()
  assert(ok, tostring(err))
  if errs[1] ~= nil then error(errs[1], 0) end
  return out, now() - t0
end

describe("the engine in coroutines on " .. helpers.backend, function()
  if not ok_cq then
    pending("cqueues is not installed for this Lua")
    return
  end
  local engine

  before_each(function()
    engine = helpers.backend_engine({waiter = cq_waiter, pool_size = 20})
    engine:begin(function(conn)
      conn:execute(qs.text("CREATE TABLE wt (id INTEGER PRIMARY KEY, v VARCHAR(20))"))
    end)
  end)

  after_each(function()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    helpers.cleanup()
  end)

  server_it("overlaps sleeping statements of 20 coroutines (well under 20 x 0.2 s)", function()
    local fns = {}
    for i = 1, 20 do
      fns[i] = function()
        return engine:connect(function(conn)
          conn:execute(qs.text(SLEEP[helpers.backend](0.2)))
          return conn:execute(qs.text("SELECT " .. i)):scalar()
        end)
      end
    end
    -- the pool's 20 connections opened before the timing
    local held = {}
    for i = 1, 20 do held[i] = engine:connect() end
    for i = 1, 20 do held[i]:close() end
    local out, took = run_all(fns)
    for i = 1, 20 do assert.equal(i, tonumber(out[i])) end
    assert.is_true(took < 1, "20 sleeping statements took " .. took .. " s")
  end)

  server_it("connects without blocking through a null pool", function()
    local e = qs.create_engine(helpers.backend_url(), {waiter = cq_waiter, poolclass = "null"})
    local fns = {}
    for i = 1, 5 do
      fns[i] = function()
        return e:connect(function(conn)
          conn:execute(qs.text(SLEEP[helpers.backend](0.2)))
          return conn:execute(qs.text("SELECT 1")):scalar()
        end)
      end
    end
    local out, took = run_all(fns)
    assert.same({1, 1, 1, 1, 1}, out)
    assert.is_true(took < 0.8, "5 connect + sleep took " .. took .. " s")
    e:dispose()
  end)

  it("keeps transactions, savepoints and isolation per coroutine", function()
    local fns = {}
    for i = 1, 6 do
      fns[i] = function()
        engine:connect(function(conn)
          conn:execute(qs.text("INSERT INTO wt (id, v) VALUES (:id, :v)"), {id = i, v = "r" .. i})
          conn:begin_nested(function(c)
            c:execute(qs.text("UPDATE wt SET v = :v WHERE id = :id"), {id = i, v = "s" .. i})
          end)
          pcall(conn.begin_nested, conn, function(c)
            c:execute(qs.text("UPDATE wt SET v = 'lost' WHERE id = :id"), {id = i})
            error("rolled back to the savepoint")
          end)
          if i % 2 == 0 then conn:commit() else conn:rollback() end
        end)
        local iso = engine:execution_options({isolation_level = "SERIALIZABLE"})
        return iso:connect(function(conn) return conn:get_isolation_level() end)
      end
    end
    local out = run_all(fns)
    for i = 1, 6 do assert.equal("SERIALIZABLE", out[i]) end
    local rows = engine:connect(function(conn)
      return conn:execute(qs.text("SELECT id, v FROM wt ORDER BY id")):all()
    end)
    assert.equal(3, #rows)
    for k, row in ipairs(rows) do
      assert.equal(2 * k, tonumber(row[1]))
      assert.equal("s" .. 2 * k, row[2])
    end
  end)

  it("runs the ORM's tutorial flow in 10 coroutines with their own sessions, as serially", function()
    local orm = require("quicksilver.orm")
    local fixtures = require("spec.support.fixtures")
    local m = fixtures.user_address({tables = {"wt_users", "wt_addresses"}})
    local User, Address = m.User, m.Address
    m.Base.metadata:create_all(engine)
    -- one coroutine's work: its own users, read back with a lazy load and
    -- a selectin load, one renamed; returns what it saw
    local function flow(tag)
      local s = orm.Session({bind = engine})
      s:add_all({User({name = tag .. "-ann", addresses = {Address({email = tag .. "@a"}),
        Address({email = tag .. "@b"})}}), User({name = tag .. "-bob"})})
      s:commit()
      s:expunge_all()
      local ann = s:scalars(qs.select(User):where(User.name:eq(tag .. "-ann"))):one()
      local emails = {}
      for i, a in ipairs(ann.addresses) do emails[i] = a.email end   -- lazy load
      table.sort(emails)
      local bob = s:scalars(qs.select(User):options(orm.selectinload(User.addresses))
        :where(User.name:eq(tag .. "-bob"))):one()
      local nbob = #bob.addresses
      bob.name = tag .. "-rob"
      s:commit()
      local names = s:scalars(qs.select(User.name):where(User.name:like(tag .. "-%"))
        :order_by(User.name)):all()
      s:close()
      return table.concat(emails, ",") .. "|" .. nbob .. "|" .. table.concat(names, ",")
    end
    local serial = {}
    for i = 1, 10 do serial[i] = flow("s" .. i):gsub("s" .. i, "T") end
    local fns = {}
    for i = 1, 10 do fns[i] = function() return (flow("c" .. i):gsub("c" .. i, "T")) end end
    waits = 0
    local concurrent = run_all(fns)
    assert.same(serial, concurrent)
    assert.equal(server, waits > 0)   -- the servers' statements waited in the scheduler
    assert.equal("T@a,T@b|0|T-ann,T-rob", concurrent[1])
    local users, addresses = engine:connect(function(conn)
      return tonumber(conn:execute(qs.text("SELECT count(*) FROM wt_users")):scalar()),
        tonumber(conn:execute(qs.text("SELECT count(*) FROM wt_addresses")):scalar())
    end)
    assert.equal(40, users)
    assert.equal(40, addresses)
  end)

  it("streams results with yield_per and runs executemany in a coroutine", function()
    local out = run_all({function()
      return engine:begin(function(conn)
        local params = {}
        for i = 1, 50 do params[i] = {id = i, v = "v" .. i} end
        conn:execute(qs.text("INSERT INTO wt (id, v) VALUES (:id, :v)"), params)
        local n, sum = 0, 0
        for row in conn:execute(qs.text("SELECT id FROM wt ORDER BY id"), nil, {yield_per = 7}):iter() do
          n = n + 1
          sum = sum + tonumber(row[1])
        end
        return n * 10000 + sum
      end)
    end})
    assert.equal(50 * 10000 + 1275, out[1])
  end)

  server_it("stops a statement over its statement_timeout with an OperationalError, in a coroutine", function()
    local why = helpers.needs_own_session("pgbouncer 1.18 sends a cancel over a new server connection of its pool: none while it is full")
    if why then return pending(why) end
    local out = run_all({function()
      return engine:connect(function(conn)
        conn:execution_options({statement_timeout = 0.3})
        local t0 = now()
        local err = raises(qs.exc.OperationalError, function()
          conn:execute(qs.text(SLEEP[helpers.backend](5)))
        end)
        local took = now() - t0
        assert.is_true(took < 3, "the timeout took " .. took .. " s")
        assert.truthy(err.message)
        conn:rollback()
        return conn:execute(qs.text("SELECT 5")):scalar()   -- the connection goes on
      end)
    end})
    assert.equal(5, tonumber(out[1]))
  end)

  local PID = {postgresql = "SELECT pg_backend_pid()", mysql = "SELECT CONNECTION_ID()"}

  server_it("invalidates a Connection whose waiter raised; after a rollback a new one serves", function()
    local fail = false
    local e = qs.create_engine(helpers.backend_url(), {pool_size = 1, max_overflow = 0,
      waiter = function(fd, ev, t)
        if fail then error("cancelled by the scheduler") end
        return cq_waiter(fd, ev, t)
      end})
    local out = run_all({function()
      local conn = e:connect()
      local pid = conn:execute(qs.text(PID[helpers.backend])):scalar()
      fail = true
      local ok, err = pcall(conn.execute, conn, qs.text(SLEEP[helpers.backend](2)))
      fail = false
      assert.is_false(ok)
      assert.truthy(tostring(err):find("cancelled by the scheduler", 1, true))
      raises(qs.exc.ResourceClosedError, conn.execute, conn, qs.text("SELECT 1"))
      conn:rollback()
      local pid2 = conn:execute(qs.text(PID[helpers.backend])):scalar()
      conn:close()
      -- the pool's only slot went to a new connection, not the one given up
      local pid3 = e:connect(function(c) return c:execute(qs.text(PID[helpers.backend])):scalar() end)
      return {pid, pid2, pid3}
    end})
    local pids = out[1]
    assert.are_not.equal(pids[1], pids[2])
    assert.equal(pids[2], pids[3])
    e:dispose()
  end)

  for _, how in ipairs({"closed", "collected"}) do
    server_it("gives up the connection of a coroutine " .. how .. " mid-statement", function()
      if how == "closed" and not coroutine.close then return pending("no coroutine.close") end
      local e = qs.create_engine(helpers.backend_url(), {pool_size = 1, max_overflow = 0,
        waiter = function() coroutine.yield(); return true end})
      local conn = e:connect()
      local pid = conn:execute(qs.text(PID[helpers.backend])):scalar()
      local co = coroutine.create(function() conn:execute(qs.text(SLEEP[helpers.backend](5))) end)
      assert(coroutine.resume(co))
      assert.equal("suspended", coroutine.status(co))   -- waiting in the statement
      if how == "closed" then
        assert(coroutine.close(co))
      else
        co = nil
        collectgarbage()
        collectgarbage()
      end
      local err = raises(qs.exc.DBAPIError, conn.execute, conn, qs.text("SELECT 1"))
      assert.is_true(err.connection_invalidated)
      conn:rollback()
      local pid2 = conn:execute(qs.text(PID[helpers.backend])):scalar()
      assert.are_not.equal(pid, pid2)
      conn:close()
      assert.equal(pid2, e:connect(function(c) return c:execute(qs.text(PID[helpers.backend])):scalar() end))
      e:dispose()
    end)
  end

  server_it("refuses a second coroutine on a connection that waits", function()
    local conn = engine:connect()
    conn:execute(qs.text("SELECT 1"))   -- its transaction begun: both only run the statement
    local function try()
      local ok, err = pcall(conn.execute, conn, qs.text(SLEEP[helpers.backend](0.2)))
      return ok and "ok" or err
    end
    local out = run_all({try, try})
    -- whichever went first ran; the other was refused, nothing interleaved
    local ran, refused = 0, nil
    for i = 1, 2 do
      if out[i] == "ok" then ran = ran + 1 else refused = out[i] end
    end
    assert.equal(1, ran)
    assert.is_true(qs.exc.is_error(refused, qs.exc.InvalidRequestError), tostring(refused))
    assert.truthy(refused.message:find("coroutine", 1, true), refused.message)
    assert.equal(1, tonumber(conn:execute(qs.text("SELECT 1")):scalar()))   -- still usable
    conn:close()
  end)
end)
