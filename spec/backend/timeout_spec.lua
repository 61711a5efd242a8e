-- Statement timeouts (the statement_timeout execution option) on every
-- backend: the database stops the statement, the error is an
-- OperationalError, and the connection goes on. Cancels from another thread
-- are tested in C (c/test/test_cancel.c, c/test/server/cancel_server.c):
-- a single Lua thread has nothing running to cancel.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind
local now = require("quicksilver.core").now

-- Seconds of work on each backend unless something stops it.
local SLOW = {
  sqlite = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r",
  postgresql = "SELECT pg_sleep(10)",
  mysql = "SELECT count(*) FROM information_schema.columns a, information_schema.columns b, " ..
    "information_schema.columns c",
}

describe("statement timeouts on " .. helpers.backend, function()
  local engine, slow

  before_each(function()
    engine = helpers.backend_engine({pool_size = 1})
    slow = SLOW[helpers.backend]
  end)

  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  it("stops a long statement with an OperationalError and the connection goes on", function()
    local why = helpers.needs_own_session("pgbouncer 1.18 sends a cancel over a new server connection of its pool: none while it is full")
    if why then return pending(why) end
    engine:connect(function(c)
      c:execution_options({statement_timeout = 0.3})
      local t0 = now()
      local err = raises(qs.exc.OperationalError, function() c:exec_driver_sql(slow) end)
      local took = now() - t0
      -- not before its limit (a monotonic clock); that it was the limit that
      -- stopped it, not the statement ending, the message below says
      assert.is_true(took >= 0.25, "took " .. took .. " s")
      assert.is_truthy(tostring(err):find("timeout") or tostring(err):find("max_statement_time"),
        tostring(err))
      assert.is_false(err.connection_invalidated)
      c:rollback()
      assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar())
    end)
  end)

  it("applies per execution and to compiled statements", function()
    local why = helpers.needs_own_session("pgbouncer 1.18 sends a cancel over a new server connection of its pool: none while it is full")
    if why then return pending(why) end
    engine:connect(function(c)
      raises(qs.exc.OperationalError, function()
        c:execute(qs.text(slow), nil, {statement_timeout = 0.2})
      end)
      c:rollback()
      -- without the option the next statement has no limit again
      assert.equal(0, c:get_execution_options().statement_timeout or 0)
      assert.equal(5, c:execute(qs.select(qs.literal(5))):scalar())
    end)
  end)

  it("does not follow the connection back into the pool", function()
    engine:connect(function(c)
      c:execution_options({statement_timeout = 0.2})
      c:exec_driver_sql("SELECT 1")
      assert.equal(0.2, c._cconn:timeout())
    end)
    engine:connect(function(c)
      c:exec_driver_sql("SELECT 1")
      assert.equal(0, c._cconn:timeout())
    end)
  end)

  it("comes from create_engine's execution_options too", function()
    local why = helpers.needs_own_session("pgbouncer 1.18 sends a cancel over a new server connection of its pool: none while it is full")
    if why then return pending(why) end
    local e2 = helpers.backend_engine({execution_options = {statement_timeout = 0.2}})
    e2:connect(function(c)
      raises(qs.exc.OperationalError, function() c:exec_driver_sql(slow) end)
    end)
    e2:dispose()
  end)

  it("refuses a timeout that is not a number of seconds", function()
    engine:connect(function(c)
      raises(qs.exc.ArgumentError, function()
        c:execute(qs.select(qs.literal(1)), nil, {statement_timeout = "soon"})
      end)
      raises(qs.exc.ArgumentError, function()
        c:execute(qs.select(qs.literal(1)), nil, {statement_timeout = -1})
      end)
      assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar())
    end)
  end)

  it("cancel() with nothing running is harmless, and refused once closed", function()
    local c = engine:connect()
    assert.is_true(c:cancel())
    assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar())
    c:close()
    raises(qs.exc.ResourceClosedError, function() c:cancel() end)
  end)
end)
