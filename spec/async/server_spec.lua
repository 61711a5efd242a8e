-- The same Engine and Connection code in coroutines, through each scheduler's
-- waiter (docs/ASYNC.md), on the backend of the run (QS_BACKEND): on
-- PostgreSQL and MariaDB the statements overlap; on SQLite they run one
-- after another (blocking) and give the same results.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local support = require("spec.async.support")
local raises = helpers.assert_raises_kind

local server = helpers.on("postgresql", "mysql")

-- SELECT that keeps the server busy for s seconds (nil on SQLite).
local function sleep_sql(s)
  if helpers.on("postgresql") then return string.format("SELECT pg_sleep(%g)", s) end
  if helpers.on("mysql") then return string.format("SELECT SLEEP(%g)", s) end
  return nil
end

-- The numbers 1..n as rows, on every backend (n <= 1000: MariaDB's default
-- max_recursive_iterations).
local function series(n)
  return string.format("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) " ..
    "SELECT i FROM s", n)
end

for _, s in ipairs(support.schedulers()) do
  describe("coroutines under " .. s.name .. " on " .. helpers.backend, function()
    local engine

    before_each(function()
      engine = qs.create_engine(helpers.backend_url(), {waiter = s.waiter, pool_size = 20, max_overflow = 0})
    end)

    after_each(function()
      if engine then engine:dispose() end
      engine = nil
      helpers.cleanup()
    end)

    -- Every result must be ok; their values.
    local function values(res)
      local out = {}
      for i, r in ipairs(res) do
        assert(r.ok, "coroutine " .. i .. " failed: " .. tostring(r.value))
        out[i] = r.value
      end
      return out
    end

    it("runs 20 statements in 20 coroutines: overlapping on a server (< 1 s for 20 x 0.2 s)", function()
      local log, fns = {}, {}
      for i = 1, 20 do
        fns[i] = function()
          return engine:connect(function(c)
            log[#log + 1] = "start"
            if server then c:exec_driver_sql(sleep_sql(0.2)) end
            local v = c:exec_driver_sql("SELECT " .. i):scalar()
            log[#log + 1] = "end"
            return v
          end)
        end
      end
      -- 20 connections opened first, each held a moment so that none is
      -- reused: the time below is the statements' (server connects cost
      -- the server CPU time of its own)
      local warm = {}
      for i = 1, 20 do
        warm[i] = function() return engine:connect(function(c) s.sleep(0.02); return c:exec_driver_sql("SELECT 1"):scalar() end) end
      end
      values(s.run(warm))
      local t0 = support.now()
      local got = values(s.run(fns))
      local elapsed = support.now() - t0
      for i = 1, 20 do assert.equal(i, got[i]) end
      if server then
        assert.is_true(elapsed < 1, "20 sleeps of 0.2 s took " .. elapsed .. " s")
        -- every coroutine had started before the first one ended
        for i = 1, 20 do assert.equal("start", log[i]) end
      else
        -- SQLite blocks: each coroutine ran to its end before the next began
        for i = 1, 40, 2 do assert.same({"start", "end"}, {log[i], log[i + 1]}) end
      end
    end)

    it("keeps transactions and savepoints apart per coroutine", function()
      engine:begin(function(c)
        c:exec_driver_sql("DROP TABLE IF EXISTS async_tx")
        c:exec_driver_sql("CREATE TABLE async_tx (k INTEGER NOT NULL, v VARCHAR(10) NOT NULL)")
      end)
      local fns = {}
      for k = 1, 10 do
        fns[k] = function()
          engine:begin(function(c)
            c:exec_driver_sql("INSERT INTO async_tx (k, v) VALUES (" .. k .. ", 'kept')")
            if server then c:exec_driver_sql(sleep_sql(0.05)) end
            local ok = pcall(c.begin_nested, c, function(c2)
              c2:exec_driver_sql("INSERT INTO async_tx (k, v) VALUES (" .. k .. ", 'undone')")
              error("back to the savepoint")
            end)
            assert(not ok)
            c:exec_driver_sql("INSERT INTO async_tx (k, v) VALUES (" .. k .. ", 'after')")
          end)
          if k % 2 == 0 then   -- and a transaction that fails is rolled back whole
            pcall(engine.begin, engine, function(c)
              c:exec_driver_sql("INSERT INTO async_tx (k, v) VALUES (" .. k .. ", 'failed')")
              if server then c:exec_driver_sql(sleep_sql(0.05)) end
              error("roll it back")
            end)
          end
          return true
        end
      end
      values(s.run(fns))
      local rows = engine:connect(function(c)
        return c:exec_driver_sql("SELECT k, v FROM async_tx ORDER BY k, v"):all()
      end)
      local got = {}
      for _, r in ipairs(rows) do got[#got + 1] = r[1] .. ":" .. r[2] end
      local want = {}
      for k = 1, 10 do want[#want + 1] = k .. ":after"; want[#want + 1] = k .. ":kept" end
      assert.same(want, got)
      engine:begin(function(c) c:exec_driver_sql("DROP TABLE async_tx") end)
    end)

    it("streams results with yield_per in 5 coroutines at once", function()
      local fns = {}
      for k = 1, 5 do
        fns[k] = function()
          return engine:connect(function(c)
            local sum, n = 0, 0
            local r = c:execute(qs.text(series(900 + k)), nil, {yield_per = 50})
            for row in r:iter() do
              sum, n = sum + row[1], n + 1
            end
            return {n, sum}
          end)
        end
      end
      local got = values(s.run(fns))
      for k = 1, 5 do
        local n = 900 + k
        assert.same({n, math.floor(n * (n + 1) / 2)}, got[k])
      end
    end)

    it("queues coroutines on an exhausted pool, first come first served, and its timeout holds", function()
      local small = qs.create_engine(helpers.backend_url(),
        {waiter = s.waiter, pool_size = 2, max_overflow = 0, pool_timeout = 5})
      local asked, got_in, fns = {}, {}, {}
      -- how many coroutines are inside a server statement at once (counted,
      -- not timed: a loaded machine stretches any time bound)
      local inside, most = 0, 0
      for i = 1, 6 do
        fns[i] = function()
          asked[#asked + 1] = i   -- schedulers start coroutines in orders of their own
          return small:connect(function(c)
            got_in[#got_in + 1] = i
            if server then
              inside = inside + 1
              if inside > most then most = inside end
              c:exec_driver_sql(sleep_sql(0.1))
              inside = inside - 1
            end
            return c:exec_driver_sql("SELECT " .. i):scalar()
          end)
        end
      end
      local got = values(s.run(fns))
      for i = 1, 6 do assert.equal(i, got[i]) end
      assert.equal(6, #asked)
      -- the first two to ask got connections at once (opened side by side:
      -- either may finish first), the four others after them, when one came
      -- back. (The exact order of the waiters is the pool's spec's,
      -- spec/backend/pool_async_spec.lua: here a connection handed on may
      -- still be resetting or reconnecting, and two such can finish in either order.)
      local function set(a, b) local t = {}; for i = a, b do t[got_in[i]] = true end; return t end
      assert.same({[asked[1]] = true, [asked[2]] = true}, set(1, 2))
      assert.same({[asked[3]] = true, [asked[4]] = true, [asked[5]] = true, [asked[6]] = true}, set(3, 6))
      if server then
        -- rounds of two: the pool's two connections work side by side (a
        -- blocking wait would let one coroutine in at a time), never more
        assert.equal(2, most)
      end
      small:dispose()

      if server then
        local tiny = qs.create_engine(helpers.backend_url(),
          {waiter = s.waiter, pool_size = 1, max_overflow = 0, pool_timeout = 0.2})
        local res = s.run({
          function() return tiny:connect(function(c) c:exec_driver_sql(sleep_sql(0.6)); return "held" end) end,
          function()
            s.sleep(0.05)
            return tiny:connect(function() return "got one?!" end)
          end,
        })
        assert.same({ok = true, value = "held"}, res[1])
        assert.is_false(res[2].ok)
        assert.is_true(type(res[2].value) == "table" and res[2].value:is_a(qs.exc.TimeoutError),
          tostring(res[2].value))
        tiny:dispose()
      end
    end)

    it("refuses a second coroutine on a Connection that is busy (InvalidRequestError)", function()
      local conn, running
      local res = s.run({
        function()
          conn = engine:connect()
          running = true
          if server then
            conn:exec_driver_sql(sleep_sql(0.3))
          else
            conn:exec_driver_sql("SELECT 1")
          end
          return "first done"
        end,
        function()
          while not running do s.sleep(0.01) end   -- the first has its connection (a connect may wait)
          s.sleep(0.05)
          return conn:exec_driver_sql("SELECT 2"):scalar()
        end,
      })
      assert.same({ok = true, value = "first done"}, res[1])
      if server then
        assert.is_false(res[2].ok)
        assert.is_true(type(res[2].value) == "table" and res[2].value:is_a(qs.exc.InvalidRequestError),
          tostring(res[2].value))
        assert.matches("coroutine", tostring(res[2].value))
      else
        -- SQLite never suspends: the first was done before the second began
        assert.same({ok = true, value = 2}, res[2])
      end
      -- the connection goes on once it is free
      assert.equal(3, conn:exec_driver_sql("SELECT 3"):scalar())
      conn:close()
    end)

    it("runs blocking on the main thread with the waiter set", function()
      assert.equal(7, engine:connect(function(c) return c:exec_driver_sql("SELECT 7"):scalar() end))
    end)
  end)
end
