-- SQL text with a NUL byte: every driver reads SQL up to a NUL (libpq and
-- the wire protocols end strings there, SQLite stops at it), so the rest
-- was dropped without a word on PostgreSQL. Refused before anything is
-- sent, naming the byte; the transaction goes on. Values with NULs travel
-- as parameters (pg_limits_spec, the JSON and LargeBinary specs).
local qs = require("quicksilver")
local exc = require("quicksilver.exc")
local helpers = require("spec.helpers")

describe("SQL text holding a NUL byte on " .. helpers.backend, function()
  local engine, md, t

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    t = qs.Table("sqlnul", md, qs.Column("id", qs.Integer, {primary_key = true}))
    md:create_all(engine)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function refused(fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    assert.is_true(exc.is_error(err, exc.ArgumentError), tostring(err))
    assert.matches("NUL byte %(at byte 9 ", tostring(err))
  end

  it("exec_driver_sql and text() are refused and the transaction goes on", function()
    engine:begin(function(c)
      c:execute(qs.insert(t), {id = 1})
      refused(function() c:exec_driver_sql("SELECT 1\0; DELETE FROM sqlnul") end)
      refused(function() c:execute(qs.text("SELECT 2\0 x")) end)
      c:execute(qs.insert(t), {id = 2})
    end)
    local n = engine:connect(function(c) return c:execute(qs.select(qs.func.count()):select_from(t)):scalar() end)
    assert.equal(2, n)
  end)

  it("a statement without one still runs on the same connection", function()
    engine:connect(function(c)
      refused(function() c:exec_driver_sql("SELECT 3\0") end)
      assert.equal(4, c:exec_driver_sql("SELECT 4"):scalar())
    end)
  end)
end)
