-- PostgreSQL's limits in both drivers (issue 21, items 4 and 5); runs on the
-- postgresql backend with the driver its URL names (the suite runs once
-- over libpq and once over the wire driver).
--
-- Text cannot hold a NUL byte in PostgreSQL: libpq and the server cut the
-- value there, so `name:eq("admin\0x")` matched 'admin' and "bob\0extra" was
-- stored as 'bob'. Such a value is refused with DataError naming the
-- parameter before anything is sent (the transaction goes on); bytea
-- (LargeBinary) carries NULs.
--
-- libpq refuses a ParameterDescription longer than 30,000 bytes ("lost
-- synchronization with server" above 7,498 parameters); the wire driver
-- read its count as signed (65,535 was -1). Wide statements work on both,
-- prepared again, reused and in an executemany.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("PostgreSQL limits", function()
  if not helpers.on("postgresql") then return end

  local engine, md, t

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    t = qs.Table("pglim", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("name", qs.String(40)), qs.Column("data", qs.LargeBinary))
    md:create_all(engine)
    engine:begin(function(c) c:execute(qs.insert(t):values({id = 1, name = "admin"})) end)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function names()
    return engine:connect(function(c)
      local out = {}
      for i, r in ipairs(c:execute(qs.select(t.c.name):order_by(t.c.id)):all()) do out[i] = r[1] end
      return out
    end)
  end

  describe("text with a NUL byte", function()
    it("in a WHERE clause is refused, never matched as the text before it", function()
      engine:connect(function(c)
        local err = raises(qs.exc.DataError, function()
          c:execute(qs.select(t.c.id):where(t.c.name:eq("admin\0x"))):all()
        end)
        assert.matches("NUL", err.message, 1, true)
        assert.matches("parameter $1 ('name_1')", err.message, 1, true)
      end)
    end)

    it("in an INSERT is refused naming the column; the transaction goes on", function()
      engine:begin(function(c)
        c:execute(qs.insert(t):values({id = 2, name = "before"}))
        local err = raises(qs.exc.DataError, function()
          c:execute(qs.insert(t), {{id = 3, name = "bob\0extra"}})
        end)
        assert.matches("('name')", err.message, 1, true)
        assert.matches("byte 4", err.message, 1, true)
        -- nothing was sent: the transaction was not aborted
        c:execute(qs.insert(t):values({id = 4, name = "after"}))
      end)
      assert.same({"admin", "before", "after"}, names())
    end)

    it("at the end of a value, and in a multi-row VALUES", function()
      local err = raises(qs.exc.DataError, function()
        engine:begin(function(c)
          c:execute(qs.insert(t), {{id = 2, name = "fine"}, {id = 3, name = "tail\0"}})
        end)
      end)
      assert.matches("parameter $4 ('name')", err.message, 1, true)
      assert.same({"admin"}, names())
    end)

    it("in an executemany: every set checked before the first is sent", function()
      local sets = {}
      for i = 1, 200 do sets[i] = {id = 10 + i, name = "n" .. i} end
      sets[150].name = "bad\0value"
      engine:begin(function(c)
        local err = raises(qs.exc.DataError, function()
          c:execute(qs.text("INSERT INTO pglim (id, name) VALUES (:id, :name)"), sets)
        end)
        assert.matches("parameter set 150", err.message, 1, true)
        assert.matches("('name')", err.message, 1, true)
        -- the caller caught it and commits: none of the 200 sets was written
      end)
      assert.same({"admin"}, names())
    end)

    it("through exec_driver_sql", function()
      engine:connect(function(c)
        local err = raises(qs.exc.DataError, function() c:exec_driver_sql("SELECT $1::text", {"x\0y"}) end)
        assert.matches("parameter $1", err.message, 1, true)
        assert.equal("x\1y", c:exec_driver_sql("SELECT $1::text", {"x\1y"}):scalar())
      end)
    end)

    it("in a bytea (LargeBinary) column is kept whole", function()
      local blob = "a\0b\0\0c" .. string.rep("\0", 10)
      engine:begin(function(c)
        c:execute(qs.update(t):where(t.c.id:eq(1)):values({data = blob}))
        c:execute(qs.insert(t), {{id = 2, name = "x", data = "\0"}, {id = 3, name = "y", data = blob}})
      end)
      engine:connect(function(c)
        assert.equal(blob, c:execute(qs.select(t.c.data):where(t.c.id:eq(1))):scalar())
        assert.equal("\0", c:execute(qs.select(t.c.data):where(t.c.id:eq(2))):scalar())
        assert.equal(3, c:execute(qs.select(t.c.id):where(t.c.data:eq(blob)):where(t.c.id:gt(1))):scalar())
      end)
    end)
  end)

  describe("wide statements", function()
    local function placeholders(n, from)
      local out = {}
      for i = 1, n do out[i] = "$" .. (i + (from or 0)) end
      return table.concat(out, ", ")
    end

    it("7,499 and 65,535 parameters, reused and prepared again after DDL", function()
      engine:connect(function(c)
        for _, n in ipairs({7498, 7499, 20000, 65535}) do
          local vals = {n = n}
          for i = 1, n do vals[i] = i end
          local sql = "SELECT count(*), max(v), sum(v) FROM unnest(ARRAY[" .. placeholders(n) .. "]::int[]) AS v"
          local r = c:exec_driver_sql(sql, vals):one()
          assert.equal(n, r[1])
          assert.equal(n, r[2])
          vals[n] = -1
          r = c:exec_driver_sql(sql, vals):one()   -- the cached statement again
          assert.equal(n - 1, r[2])
        end
        c:exec_driver_sql("CREATE TEMPORARY TABLE pglim_ddl (x int)")   -- statements made stale
        local vals = {n = 8000}
        for i = 1, 8000 do vals[i] = "s" .. i end
        local r = c:exec_driver_sql("SELECT array_length(ARRAY[" .. placeholders(8000) ..
          "]::text[], 1), (ARRAY[" .. placeholders(8000) .. "]::text[])[8000] AS last", vals):one()
        assert.equal(8000, r[1])
        assert.equal("s8000", r.last)
      end)
    end)

    it("typed by the server: a float sent to an interval parameter past 7,498", function()
      engine:connect(function(c)
        local vals = {n = 8000}
        for i = 1, 7999 do vals[i] = i end
        vals[8000] = 90.5
        local sql = "SELECT array_length(ARRAY[" .. placeholders(7999) ..
          "]::int[], 1), extract(epoch FROM $8000::interval)"
        local r = c:exec_driver_sql(sql, vals):one()
        assert.equal(7999, r[1])
        assert.equal(90.5, tonumber(r[2]))
      end)
    end)

    it("in an executemany (pipelined sets of 8,000)", function()
      local sets = {}
      for s = 1, 3 do
        local vals = {}
        for i = 1, 8000 do vals["p" .. i] = s * 100000 + i end
        sets[s] = vals
      end
      local binds = {}
      for i = 1, 8000 do binds[i] = ":p" .. i end
      engine:begin(function(c)
        c:execute(qs.text("INSERT INTO pglim (id, name) SELECT max(v), count(*)::text FROM unnest(ARRAY[" ..
          table.concat(binds, ", ") .. "]::int[]) AS v"), sets)
      end)
      assert.same({"admin", "8000", "8000", "8000"}, names())
    end)
  end)
end)

-- What PostgreSQL refuses, the others store whole (and never match cut).
describe("text with a NUL byte on " .. helpers.backend, function()
  if helpers.on("postgresql") then return end

  it("is stored and compared whole", function()
    local engine = helpers.backend_engine()
    local md = qs.MetaData()
    local t = qs.Table("pglim_nul", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(40)))
    md:create_all(engine)
    local ok, err = pcall(function()
      engine:begin(function(c)
        c:execute(qs.insert(t), {{id = 1, name = "bob\0extra"}, {id = 2, name = "admin"}})
      end)
      engine:connect(function(c)
        assert.equal("bob\0extra", c:execute(qs.select(t.c.name):where(t.c.id:eq(1))):scalar())
        assert.equal(0, #c:execute(qs.select(t.c.id):where(t.c.name:eq("admin\0x"))):all())
        assert.equal(1, c:execute(qs.select(t.c.id):where(t.c.name:eq("bob\0extra"))):scalar())
      end)
    end)
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
    assert(ok, err)
  end)
end)
