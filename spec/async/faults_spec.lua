-- Faults in coroutines (docs/ASYNC.md, "Faults"), on the servers: a
-- statement timeout cancels the statement on the server; a coroutine
-- abandoned mid-statement leaves its connection invalidated, never reused;
-- a killed backend fails its own coroutine only. On SQLite nothing
-- suspends: the abandoned-coroutine case is checked there as "never
-- suspended", the rest needs a server.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local support = require("spec.async.support")

local server = helpers.on("postgresql", "mysql")

local function sleep_sql(s)
  if helpers.on("postgresql") then return string.format("SELECT pg_sleep(%g)", s) end
  return string.format("SELECT SLEEP(%g)", s)
end

local function backend_pid(c)
  if helpers.on("postgresql") then return c:exec_driver_sql("SELECT pg_backend_pid()"):scalar() end
  return c:exec_driver_sql("SELECT CONNECTION_ID()"):scalar()
end

-- How many sessions on the server run a statement starting with prefix.
local function running(engine, prefix)
  return engine:connect(function(c)
    if helpers.on("postgresql") then
      return c:exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1",
        {prefix .. "%"}):scalar()
    end
    return c:exec_driver_sql("SELECT count(*) FROM information_schema.processlist WHERE info LIKE ?",
      {prefix .. "%"}):scalar()
  end)
end

-- Polls cond() (blocking, on the main thread) for up to 3 s.
local function eventually(cond)
  local t0 = support.now()
  while not cond() do
    if support.now() - t0 > 3 then return false end
    require("quicksilver.core").poll({}, {}, 0.05)
  end
  return true
end

local function is_kind(cls, v)
  return type(v) == "table" and type(v.is_a) == "function" and v:is_a(cls)
end

-- A waiter that hands every wait to the test: the coroutine yields
-- ("wait", fd) and the test decides when (or whether) to resume it.
local function yielding_waiter(fd, events)
  return coroutine.yield("wait", fd, events)
end

describe("faults in coroutines on " .. helpers.backend, function()
  after_each(helpers.cleanup)

  describe("an abandoned coroutine", function()
    local engine

    before_each(function()
      engine = qs.create_engine(helpers.backend_url(), {waiter = yielding_waiter, pool_size = 1, max_overflow = 0,
        pool_timeout = 2})
    end)

    after_each(function()
      if engine then engine:dispose() end
      engine = nil
    end)

    -- Starts a coroutine whose statement is suspended in the waiter; returns
    -- it and the backend pid its connection had.
    local function suspended_mid_statement()
      local pid = engine:connect(backend_pid)   -- the pool's one connection, opened blocking
      local co = coroutine.create(function()
        engine:connect(function(c) c:exec_driver_sql(sleep_sql(30)) end)
      end)
      local ok, tag = coroutine.resume(co)
      assert(ok, tostring(tag))
      assert.equal("wait", tag)
      assert.equal("suspended", coroutine.status(co))
      return co, pid
    end

    -- The pool (of one connection) hands out a fresh connection: the
    -- abandoned one was given up, neither kept checked out nor reused.
    local function check_invalidated(old_pid)
      collectgarbage()
      collectgarbage()
      local pid = engine:connect(backend_pid)
      assert.are_not.equal(old_pid, pid)
      assert.equal(1, engine:connect(function(c) return c:exec_driver_sql("SELECT 1"):scalar() end))
    end

    if server then
      if coroutine.close then
        it("closed with coroutine.close: its connection is invalidated, the next checkout works", function()
          local why = helpers.needs_own_session("pg_backend_pid() names the server connection the pooler lent, not the client's connection")
          if why then return pending(why) end
          local co, pid = suspended_mid_statement()
          assert.is_true(coroutine.close(co))
          check_invalidated(pid)
        end)
      end

      it("dropped and garbage collected: its connection is invalidated, the next checkout works", function()
        local why = helpers.needs_own_session("pg_backend_pid() names the server connection the pooler lent, not the client's connection")
        if why then return pending(why) end
        local co, pid = suspended_mid_statement()
        co = nil   -- luacheck: ignore (dropped on purpose)
        check_invalidated(pid)
      end)
    else
      it("never suspends on SQLite (nothing to abandon)", function()
        local co = coroutine.create(function()
          return engine:connect(function(c) return c:exec_driver_sql("SELECT 5"):scalar() end)
        end)
        local ok, v = coroutine.resume(co)
        assert.is_true(ok, tostring(v))
        assert.equal(5, v)
        assert.equal("dead", coroutine.status(co))
      end)
    end
  end)

  if not server then return end

  for _, s in ipairs(support.schedulers()) do
    describe("under " .. s.name, function()
      local engine, plain

      before_each(function()
        engine = qs.create_engine(helpers.backend_url(), {waiter = s.waiter, pool_size = 5})
        plain = qs.create_engine(helpers.backend_url())
      end)

      after_each(function()
        if engine then engine:dispose() end
        if plain then plain:dispose() end
        engine, plain = nil, nil
      end)

      it("a statement timeout cancels on the server; the coroutine gets OperationalError, the others run", function()
        local why = helpers.needs_own_session("pgbouncer 1.18 sends a cancel over a new server connection of its pool: none while it is full")
        if why then return pending(why) end
        local ticks = 0
        local sql = sleep_sql(20)
        local res = s.run({
          function()
            return engine:connect(function(c)
              local t0 = support.now()
              local ok, err = pcall(c.execute, c, qs.text(sql), nil, {statement_timeout = 0.5})
              return {ok, err, support.now() - t0}
            end)
          end,
          function()
            for _ = 1, 4 do s.sleep(0.05); ticks = ticks + 1 end
            return running(engine, sql)   -- seen from another coroutine meanwhile
          end,
        })
        assert.is_true(res[1].ok, tostring(res[1].value))
        local ok, err, took = res[1].value[1], res[1].value[2], res[1].value[3]
        assert.is_false(ok)
        assert.is_true(is_kind(qs.exc.OperationalError, err), tostring(err))
        assert.is_true(took >= 0.45 and took < 5, "took " .. took .. " s")
        assert.same({ok = true, value = 1}, res[2])   -- it was running on the server
        assert.equal(4, ticks)
        -- stopped on the server, not merely abandoned
        assert.is_true(eventually(function() return running(plain, sql) == 0 end))
      end)

      it("a killed backend fails its own coroutine with OperationalError, the others go on", function()
        local why = helpers.needs_own_session("pg_terminate_backend ends the pooler's server connection, not the client's")
        if why then return pending(why) end
        local victim_pid
        local sql = sleep_sql(20)
        local res = s.run({
          function()
            return engine:connect(function(c)
              victim_pid = backend_pid(c)
              return c:exec_driver_sql(sql):scalar()
            end)
          end,
          function()
            s.sleep(0.2)
            -- the victim's backend is known once it has connected (on a
            -- loaded machine that may take longer than the sleep)
            for _ = 1, 200 do
              if victim_pid ~= nil then break end
              s.sleep(0.05)
            end
            assert(victim_pid ~= nil, "the victim never connected")
            s.sleep(0.1)   -- its statement sent
            return engine:connect(function(c)
              if helpers.on("postgresql") then
                c:exec_driver_sql("SELECT pg_terminate_backend($1)", {victim_pid})
              else
                c:exec_driver_sql("KILL " .. math.floor(victim_pid))
              end
              return "killed"
            end)
          end,
          function()
            local n = 0
            for _ = 1, 4 do
              engine:connect(function(c) n = n + c:exec_driver_sql("SELECT 1"):scalar() end)
              s.sleep(0.05)
            end
            return n
          end,
        })
        assert.is_false(res[1].ok)
        assert.is_true(is_kind(qs.exc.OperationalError, res[1].value), tostring(res[1].value))
        assert.same({ok = true, value = "killed"}, res[2])
        assert.same({ok = true, value = 4}, res[3])
        -- and the pool hands out working connections afterwards
        local after = s.run({function() return engine:connect(function(c) return backend_pid(c) end) end})
        assert.is_true(after[1].ok, tostring(after[1].value))
        assert.are_not.equal(victim_pid, after[1].value)
      end)
    end)
  end
end)
