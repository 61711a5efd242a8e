-- An executemany that goes as several statements (multi-row INSERT batches
-- on a server, runs of parameter sets with other keys everywhere) checks
-- and converts every set before the first statement is sent (issue 21,
-- item 7): a bad value in a late set once left the earlier batches written
-- (2,000 of 5,000 rows committed by a caller that caught the error), and
-- the message named a position ('2000') instead of the set and column.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("an executemany with a bad value late on " .. helpers.backend, function()
  local engine, md, t

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    t = qs.Table("emany", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(20), {unique = true}), qs.Column("x", qs.Integer))
    md:create_all(engine)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function count(conn)
    return conn:execute(qs.select(qs.func.count()):select_from(t)):scalar()
  end

  it("writes nothing of the call, names the set and the column, and the transaction goes on", function()
    engine:connect(function(conn)
      local rows = {}
      for i = 1, 5000 do rows[i] = {name = "n" .. i, x = i} end
      rows[3000].x = "3000"
      local err = raises(qs.exc.ArgumentError, conn.execute, conn, qs.insert(t), rows)
      assert.matches("column 'x'", err.message, 1, true)
      assert.matches("parameter group 3000", err.message, 1, true)
      -- the caller catches and commits: nothing of the failed call is there
      conn:execute(qs.insert(t), {name = "after", x = 1})
      conn:commit()
      assert.equal(1, count(conn))
    end)
  end)

  it("numbers the set in the caller's list across runs of other keys", function()
    engine:connect(function(conn)
      local rows = {{name = "a", x = 1}, {name = "b"}, {name = "c"}, {name = "d", x = {}}}
      local err = raises(qs.exc.ArgumentError, conn.execute, conn, qs.insert(t), rows)
      assert.matches("'x'", err.message, 1, true)
      assert.matches("parameter group 4", err.message, 1, true)
      conn:commit()
      assert.equal(0, count(conn))
    end)
  end)

  it("with RETURNING: writes nothing of the call and names the set and the column", function()
    engine:connect(function(conn)
      local rows = {}
      for i = 1, 2500 do rows[i] = {name = "n" .. i, x = i} end
      rows[2400].x = true
      local stmt = qs.insert(t):returning(t.c.id, t.c.name)
      local err = raises(qs.exc.ArgumentError, conn.execute, conn, stmt, rows)
      assert.matches("column 'x'", err.message, 1, true)
      assert.matches("parameter group 2400", err.message, 1, true)
      conn:commit()
      assert.equal(0, count(conn))
      -- and without the bad value every row comes back, in order
      rows[2400].x = 2400
      local got = conn:execute(stmt, rows):all()
      assert.equal(2500, #got)
      assert.equal("n2400", got[2400].name)
      conn:commit()
    end)
  end)

  it("undoes the statements already sent when the server refuses a later one", function()
    -- two runs of keys (two statements everywhere; more in batches on a
    -- server), a duplicate name late in the second: the call runs in a
    -- savepoint of its own, so nothing of it stays and the transaction goes on
    engine:connect(function(conn)
      conn:execute(qs.insert(t), {name = "before", x = 0})
      local rows = {}
      for i = 1, 2500 do rows[i] = {name = "n" .. i, x = i <= 1200 and i or nil} end
      rows[2300].name = "n5"
      local err = raises(qs.exc.IntegrityError, conn.execute, conn, qs.insert(t), rows)
      assert.is_truthy(err)
      assert.is_true(conn:in_transaction())
      conn:execute(qs.insert(t), {name = "after", x = 1})
      conn:commit()
      assert.equal(2, count(conn))
      -- with RETURNING too
      rows[2300].name = "before"
      raises(qs.exc.IntegrityError, conn.execute, conn, qs.insert(t):returning(t.c.id), rows)
      conn:commit()
      assert.equal(2, count(conn))
      -- and without the duplicate everything is written, in one savepoint
      rows[2300].name = "n2300"
      assert.equal(2500, #conn:execute(qs.insert(t):returning(t.c.id), rows):all())
      conn:commit()
      assert.equal(2502, count(conn))
    end)
  end)

  it("runs each converter once per value, before anything is sent", function()
    local calls = 0
    local Up = qs.TypeDecorator(qs.String(20), {process_bind_param = function(v)
      calls = calls + 1
      if v == "boom" then error("converter refused " .. v, 0) end
      return v:upper()
    end})
    local md2 = qs.MetaData()
    local u = qs.Table("emany_up", md2, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("v", Up))
    md2:create_all(engine)
    engine:connect(function(conn)
      local rows = {}
      for i = 1, 2500 do rows[i] = {v = "v" .. i} end
      conn:execute(qs.insert(u), rows)
      assert.equal(2500, calls)
      assert.equal("V17", conn:execute(qs.select(u.c.v):where(u.c.id:eq(17))):scalar())
      rows[2400] = {v = "boom"}
      local ok, err = pcall(conn.execute, conn, qs.insert(u), rows)
      assert.is_false(ok)
      assert.matches("converter refused boom", tostring(err), 1, true)
      conn:commit()
      assert.equal(2500, conn:execute(qs.select(qs.func.count()):select_from(u)):scalar())
      -- the same with RETURNING
      calls = 0
      local fresh = {}
      for i = 1, 2500 do fresh[i] = {id = 10000 + i, v = "w" .. i} end
      local got = conn:execute(qs.insert(u):returning(u.c.id, u.c.v), fresh):all()
      assert.equal(2500, calls)
      assert.equal(2500, #got)
      assert.equal(10017, got[17].id)
      fresh = {}
      for i = 1, 2500 do fresh[i] = {id = 20000 + i, v = i == 2000 and "boom" or "u"} end
      ok, err = pcall(conn.execute, conn, qs.insert(u):returning(u.c.id), fresh)
      assert.is_false(ok)
      assert.matches("converter refused boom", tostring(err), 1, true)
      conn:commit()
      assert.equal(5000, conn:execute(qs.select(qs.func.count()):select_from(u)):scalar())
      -- runs of other keys (a set without v): converted once each too
      calls = 0
      fresh = {}
      for i = 1, 1500 do fresh[i] = {id = 30000 + i, v = i ~= 700 and ("r" .. i) or nil} end
      conn:execute(qs.insert(u), fresh)
      assert.equal(1499, calls)
      assert.equal("R701", conn:execute(qs.select(u.c.v):where(u.c.id:eq(30701))):scalar())
      conn:commit()
    end)
    md2:drop_all(engine)
  end)
end)
