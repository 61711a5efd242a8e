-- Engine events: execute and cursor hooks, handle_error, transaction events.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("engine events", function()
  local engine

  before_each(function()
    engine = qs.create_engine("sqlite://")
    engine:begin(function(c) c:execute(qs.text("CREATE TABLE t (x INTEGER UNIQUE)")) end)
  end)

  after_each(function() engine:dispose() end)

  it("fires before/after_execute once per execute and cursor events once per statement", function()
    local seen = {}
    local function log(name) return function(...) seen[#seen + 1] = {name, select("#", ...), ...} end end
    for _, name in ipairs({"before_execute", "after_execute", "before_cursor_execute", "after_cursor_execute"}) do
      qs.event.listen(engine, name, log(name))
    end
    engine:connect(function(c)
      c:execute(qs.text("INSERT INTO t VALUES (:x)"), {{x = 1}, {x = 2}})
    end)
    local names = {}
    for i, s in ipairs(seen) do names[i] = s[1] end
    assert.same({"before_execute", "before_cursor_execute", "after_cursor_execute", "after_execute"}, names)
    local bce = seen[2]
    assert.equal("INSERT INTO t VALUES (?)", bce[4])
    assert.is_true(bce[6])   -- executemany
  end)

  it("lets a retval before_cursor_execute listener rewrite the SQL", function()
    qs.event.listen(engine, "before_cursor_execute", function(_, sql, params)
      return sql .. " -- tagged", params
    end, {retval = true})
    local rec = helpers.recorder(engine)
    engine:connect(function(c) c:execute(qs.text("SELECT 1")) end)
    assert.equal("SELECT 1 -- tagged", rec[1].sql)
  end)

  it("fires begin, commit, rollback and savepoint events", function()
    local seen = {}
    for _, name in ipairs({"begin", "commit", "rollback", "savepoint", "rollback_savepoint", "release_savepoint"}) do
      qs.event.listen(engine, name, function() seen[#seen + 1] = name end)
    end
    engine:connect(function(c)
      c:execute(qs.text("SELECT 1"))
      local sp = c:begin_nested(); sp:rollback()
      sp = c:begin_nested(); sp:commit()
      c:commit()
      c:execute(qs.text("SELECT 1"))
      c:rollback()
    end)
    assert.same({"begin", "savepoint", "rollback_savepoint", "savepoint", "release_savepoint",
      "commit", "begin", "rollback"}, seen)
  end)

  it("shows handle_error the failing statement and lets it replace the error", function()
    local ctx_seen
    qs.event.listen(engine, "handle_error", function(ctx)
      ctx_seen = ctx
      return qs.exc.InvalidRequestError("replaced: " .. ctx.original_exception.message)
    end)
    local err = helpers.assert_raises_kind(qs.exc.InvalidRequestError, function()
      engine:connect(function(c) c:execute(qs.text("SELEC")) end)
    end)
    assert.matches("^replaced: ", err.message)
    assert.equal("SELEC", ctx_seen.statement)
    assert.is_true(ctx_seen.original_exception:is_a(qs.exc.ProgrammingError))
  end)

  it("stops calling a removed listener", function()
    local n = 0
    local function fn() n = n + 1 end
    qs.event.listen(engine, "before_cursor_execute", fn)
    engine:connect(function(c) c:execute(qs.text("SELECT 1")) end)
    qs.event.remove(engine, "before_cursor_execute", fn)
    engine:connect(function(c) c:execute(qs.text("SELECT 1")) end)
    assert.equal(1, n)
  end)

  it("rejects an unknown event name", function()
    helpers.assert_raises_kind(qs.exc.ArgumentError, function()
      qs.event.listen(engine, "before_exectue", function() end)
    end)
  end)

  it("fires pool connect and checkout events", function()
    local e = qs.create_engine("sqlite:///" .. helpers.tmpdb())
    local seen = {}
    qs.event.listen(e.pool, "connect", function() seen[#seen + 1] = "connect" end)
    qs.event.listen(e.pool, "checkout", function() seen[#seen + 1] = "checkout" end)
    qs.event.listen(e.pool, "checkin", function() seen[#seen + 1] = "checkin" end)
    e:connect(function() end)
    assert.same({"connect", "checkout", "checkin"}, seen)
    helpers.cleanup()
  end)
end)
