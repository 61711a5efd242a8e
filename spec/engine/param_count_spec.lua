-- A parameter list's n and a JSON array's keys are whole numbers within
-- bounds (issue 21, item 3): a huge n once overflowed the scratch sizing
-- (UBSan abort, or the plain build spinning), a negative one gave "unknown
-- error class", and a JSON key of 2^32 + 1 was taken for 1.
local qs = require("quicksilver")
local core = require("quicksilver.core")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("the count of positional parameters", function()
  local engine
  before_each(function() engine = qs.create_engine("sqlite://") end)
  after_each(function() engine:dispose() end)

  it("refuses an n that is huge, negative, fractional or not a number, naming n", function()
    engine:connect(function(conn)
      for _, n in ipairs({1500000000, 65536, -5, 2.5, 2 ^ 40, 0 / 0, "2"}) do
        local err = raises(qs.exc.ArgumentError, conn.exec_driver_sql, conn, "SELECT ?", {1, n = n})
        assert.matches("n must be a whole number from 0 to 65535", err.message)
      end
      -- and the connection goes on
      assert.equal(1, conn:exec_driver_sql("SELECT ?", {1}):scalar())
    end)
  end)

  it("takes n as given within bounds: missing values are NULL, 3.0 counts as 3", function()
    engine:connect(function(conn)
      local row = conn:exec_driver_sql("SELECT ?, ?, ?", {7, n = 3}):first()
      assert.equal(7, row[1])
      assert.is_nil(row[2])
      assert.is_nil(row[3])
      row = conn:exec_driver_sql("SELECT ?, ?, ?", {1, 2, 3, n = 3.0}):first()
      assert.equal(3, row[3])
    end)
  end)

  it("refuses a bad n in an executemany set, naming the set, and writes nothing", function()
    engine:begin(function(conn)
      conn:exec_driver_sql("CREATE TABLE t (a INTEGER)")
    end)
    engine:connect(function(conn)
      local err = raises(qs.exc.ArgumentError, conn.exec_driver_sql, conn, "INSERT INTO t VALUES (?)",
        {{1}, {2, n = -1}})
      assert.matches("parameter set 2", err.message)
      err = raises(qs.exc.ArgumentError, conn.exec_driver_sql, conn, "INSERT INTO t VALUES (?)",
        {{1, n = 1e12}, {2}})
      assert.matches("parameter set 1: n must be a whole number", err.message)
      conn:rollback()
      assert.equal(0, conn:exec_driver_sql("SELECT count(*) FROM t"):scalar())
    end)
  end)
end)

describe("JSON arrays", function()
  it("are sequences by whole keys: 2^32 + 1 is not key 1", function()
    local ok, err = pcall(core.json_encode, {[4294967297] = "x"})
    assert.is_false(ok)
    assert.is_not_nil(tostring(err.message or err):match("key"))
    assert.equal("[1,2]", core.json_encode({1, 2}))
  end)
end)
