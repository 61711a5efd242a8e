-- Statements that must give the same answer whatever the URL (issue 17,
-- "fails only after the URL changes"): IS TRUE/FALSE, parameters whose type
-- the server cannot infer, CAST targets per dialect, and Interval values as
-- seconds on every path. Each statement runs on SQLite, PostgreSQL and
-- MariaDB.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

describe("statements that do not depend on the URL, on " .. helpers.backend, function()
  local engine, md, items, c

  setup(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    items = qs.Table("port_items", md,
      qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("flag", qs.Boolean),
      qs.Column("name", qs.String(20)),
      qs.Column("qty", qs.Integer),
      qs.Column("iv", qs.Interval))
    c = items.c
    md:create_all(engine)
    engine:begin(function(conn)
      conn:execute(qs.insert(items), {
        {id = 1, flag = true, name = "a", qty = 5, iv = 90061.25},
        {id = 2, flag = false, name = "b", qty = 7, iv = -1.5},
        {id = 3, flag = qs.null, name = "c", qty = 9, iv = 0},
      })
    end)
  end)

  teardown(function()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    helpers.cleanup()
  end)

  local function ids(where)
    return engine:connect(function(conn)
      return conn:execute(qs.select(c.id):where(where):order_by(c.id)):scalars():all()
    end)
  end
  local function scalar(stmt, params)
    return engine:connect(function(conn) return conn:execute(stmt, params):scalar() end)
  end

  describe("IS TRUE / IS FALSE", function()
    it("is_(true) and is_not(false) select by truth, NULL apart", function()
      assert.same({1, n = 1}, ids(c.flag:is_(true)))
      assert.same({1, 3, n = 2}, ids(c.flag:is_not(false)))
      assert.same({2, n = 1}, ids(c.flag:is_(false)))
      assert.same({2, 3, n = 2}, ids(c.flag:is_not(true)))
    end)

    it("qs.true_() and qs.false_() after IS, and NOT of them", function()
      assert.same({1, n = 1}, ids(c.flag:is_(qs.true_())))
      assert.same({1, 3, n = 2}, ids(c.flag:is_not(qs.false_())))
      assert.same({2, 3, n = 2}, ids(qs.not_(c.flag:is_(true))))
      assert.same({3, n = 1}, ids(c.flag:is_(nil)))
      assert.same({1, 2, n = 2}, ids(c.flag:is_not(qs.null)))
    end)
  end)

  describe("parameters the server cannot type from their place", function()
    it("qs.literal(3) + 1 and other literal arithmetic", function()
      assert.equal(4, scalar(qs.select(qs.literal(3) + 1)))
      assert.equal(3.5, scalar(qs.select(qs.literal(2.5) + 1)))
      assert.equal(3, scalar(qs.select(qs.literal(1.5) * qs.literal(2))))
      assert.equal(2.5, helpers.decimal_number(scalar(qs.select(qs.literal(10) / qs.literal(4)))))
      assert.is_true(scalar(qs.select(qs.literal(1.0):eq(1))))
      assert.is_false(scalar(qs.select(qs.literal(2):lt(qs.literal(1)))))
    end)

    it("a literal of another type than the column it meets", function()
      assert.same({2, 3, n = 2}, ids(c.qty:gt(qs.literal(6.5))))
      assert.equal(7.5, scalar(qs.select(c.qty + qs.literal(0.5)):where(c.id:eq(2))))
    end)

    it("typed parameters as function arguments and CASE results", function()
      assert.equal(2.57, helpers.decimal_number(scalar(qs.select(qs.func.round(qs.literal(2.567, qs.Numeric), 2)))))
      assert.equal(7, scalar(qs.select(qs.case({{qs.literal(1):eq(1), qs.literal(7)}}, {else_ = qs.literal(8)}))))
      assert.equal(6, scalar(qs.select(qs.func.coalesce(qs.literal(qs.null, qs.Integer), qs.literal(6)))))
    end)

    it("a number for a string column is compared and stored as text", function()
      engine:begin(function(conn)   -- numbers for a String column, in an executemany
        conn:execute(qs.insert(items), {{id = 11, name = 5}, {id = 12, name = "05"}, {id = 13, name = 2.5}})
      end)
      local ok, err = pcall(function()
        -- MySQL compares a string column with a number numerically: 'a' = 0, '05' = 5
        assert.same({n = 0}, ids(c.name:eq(0)))
        assert.same({11, n = 1}, ids(c.name:eq(5)))
        assert.same({13, n = 1}, ids(c.name:eq("2.5")))
        assert.is_true(scalar(qs.select(qs.literal("5"):eq(5))))
      end)
      engine:begin(function(conn) conn:execute(qs.delete(items):where(c.id:gt(10))) end)
      if not ok then error(err, 0) end
    end)

    it("text() with typed bindparams", function()
      local t = qs.text("SELECT :a + :b AS s"):bindparams(
        qs.bindparam("a", 3, {type = qs.Integer}), qs.bindparam("b", nil, {type = qs.Integer}))
      assert.equal(7, scalar(t, {b = 4}))
      local iv = qs.text("SELECT :iv AS v"):bindparams(qs.bindparam("iv", 90.5, {type = qs.Interval}))
        :columns({v = qs.Interval})
      assert.equal(90.5, scalar(iv))
    end)
  end)

  describe("CAST", function()
    it("to String without a length", function()
      assert.equal("5", scalar(qs.select(qs.cast(c.qty, qs.String)):where(c.id:eq(1))))
      assert.equal("a", scalar(qs.select(qs.cast(c.name, qs.String(5))):where(c.id:eq(1))))
      assert.equal("a", scalar(qs.select(qs.cast(c.name, qs.Text)):where(c.id:eq(1))))
    end)

    it("to numbers", function()
      assert.equal(42, scalar(qs.select(qs.cast(qs.literal("42"), qs.Integer))))
      assert.equal(42, scalar(qs.select(qs.cast(qs.literal("42"), qs.BigInteger))))
      assert.equal(2.5, scalar(qs.select(qs.cast(qs.literal("2.5"), qs.Float))))
      assert.equal(2.5, helpers.decimal_number(scalar(qs.select(qs.cast(qs.literal("2.5"), qs.Numeric(5, 2))))))
    end)

    it("to dates and times: the ISO-8601 text", function()
      local v = "2024-05-01 10:11:12"
      assert.equal("2024-05-01", scalar(qs.select(qs.cast(qs.literal(v), qs.Date))))
      assert.equal(v, scalar(qs.select(qs.cast(qs.literal(v), qs.DateTime))))
      assert.equal("10:11:12", scalar(qs.select(qs.cast(qs.literal("10:11:12"), qs.Time))))
    end)

    it("to Boolean, JSON and Uuid", function()
      assert.is_true(scalar(qs.select(qs.cast(c.qty, qs.Boolean)):where(c.id:eq(1))))
      assert.same({a = 1}, scalar(qs.select(qs.cast(qs.literal('{"a": 1}'), qs.JSON))))
      local u = "0b6f3a52-3c4e-4f5a-9b1d-2a3b4c5d6e7f"
      assert.equal(u, scalar(qs.select(qs.cast(qs.literal(u), qs.Uuid))))
    end)

    it("between numbers and Interval: seconds both ways", function()
      assert.equal(90, scalar(qs.select(qs.cast(qs.literal(90), qs.Interval))))
      assert.equal(90061.25, scalar(qs.select(qs.cast(c.iv, qs.Float)):where(c.id:eq(1))))
    end)
  end)

  describe("Interval values are seconds", function()
    it("read back, compared and added in SQL", function()
      local rows = engine:connect(function(conn)
        return conn:execute(qs.select(c.id, c.iv):order_by(c.id)):all()
      end)
      assert.same({90061.25, -1.5, 0}, {rows[1].iv, rows[2].iv, rows[3].iv})
      assert.same({1, n = 1}, ids(c.iv:gt(3600)))
      assert.same({2, n = 1}, ids(c.iv:lt(qs.literal(0, qs.Interval))))
      assert.equal(90121.25, scalar(qs.select(c.iv + qs.literal(60, qs.Interval)):where(c.id:eq(1))))
    end)

    it("as a bare parameter, from textual SQL and through RETURNING", function()
      assert.equal(3600, scalar(qs.select(qs.literal(3600, qs.Interval))))
      assert.equal(90061.25, scalar(qs.text("SELECT iv FROM port_items WHERE id = 1")))
      local back = engine:begin(function(conn)
        return conn:execute(qs.insert(items):values({id = 4, iv = 86400 * 40 + 0.5}):returning(c.iv)):scalar()
      end)
      assert.equal(86400 * 40 + 0.5, back)
      assert.equal(86400 * 40 + 0.5, scalar(qs.select(c.iv):where(c.id:eq(4))))
      -- tiny and large values: no exponent reaches an interval's input
      engine:begin(function(conn)
        conn:execute(qs.update(items):where(c.id:eq(4)):values({iv = 1e-7}))
      end)
      assert.is_true(math.abs(scalar(qs.select(c.iv):where(c.id:eq(4)))) < 1e-6)
      engine:begin(function(conn) conn:execute(qs.delete(items):where(c.id:eq(4))) end)
    end)

    it("in ORM attributes, loaded and flushed", function()
      local Base = orm.declarative_base()
      local Job = Base:model("Job", {
        __tablename = "port_jobs",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        took = orm.mapped_column(qs.Interval),
      })
      Base.metadata:create_all(engine)
      local session = orm.Session(engine)
      local ok, err = pcall(function()
        session:add(Job({id = 1, took = 3661.5}))
        session:commit()
        local job = session:get(Job, 1)
        assert.equal(3661.5, job.took)
        job.took = 7200
        session:commit()
        session:expire_all()
        assert.equal(7200, session:get(Job, 1).took)
      end)
      session:close()   -- also on failure: an open transaction would block the DROP
      Base.metadata:drop_all(engine)
      if not ok then error(err, 0) end
    end)

    it("through a reflected table", function()
      local reflected = qs.Table("port_items", qs.MetaData(), {autoload_with = engine})
      local v = scalar(qs.select(reflected.c.iv):where(reflected.c.id:eq(1)))
      assert.equal(90061.25, v)
    end)
  end)

  describe("on PostgreSQL", function()
    if not helpers.on("postgresql") then
      pending("PostgreSQL only: interval months and years, server output styles")
      return
    end

    it("counts a month as 30 days and a year as 365 (as psycopg does)", function()
      local v = scalar(qs.text("SELECT CAST('1 year 2 mons 3 days 04:05:06.5' AS INTERVAL)"))
      assert.equal((365 + 60 + 3) * 86400 + 4 * 3600 + 5 * 60 + 6.5, v)
      assert.equal(-86400 + 7200, scalar(qs.text("SELECT CAST('-1 days +02:00:00' AS INTERVAL)")))
      assert.equal(-1.5, scalar(qs.text("SELECT CAST('-00:00:01.5' AS INTERVAL)")))
    end)

    it("an untyped parameter made text stays text when DDL makes the statement prepare again", function()
      local v = engine:connect(function(conn)
        -- nothing types :y ("could not determine data type of parameter $2")
        local stmt = qs.text("SELECT :x AS v WHERE :y IS NULL")
        assert.equal("hi", conn:execute(stmt, {x = "hi", y = qs.null}):first().v)
        conn:exec_driver_sql("CREATE TABLE port_ddl (id INTEGER)")   -- statements go stale
        conn:exec_driver_sql("DROP TABLE port_ddl")
        return conn:execute(stmt, {x = "again", y = qs.null}):first()
      end)
      assert.equal("again", v.v)
    end)

    it("reads dates and intervals the same whatever DateStyle and IntervalStyle the server has", function()
      local url = helpers.backend_url()
      local sep = url:find("?", 1, true) and "&" or "?"
      local odd = qs.create_engine(url .. sep ..
        "options=-c+datestyle%3DSQL%2CDMY+-c+intervalstyle%3Diso_8601")
      local row = odd:connect(function(conn)
        return conn:execute(qs.text("SELECT CAST('2024-05-01' AS DATE) AS d, " ..
          "CAST('25:01:01.25' AS INTERVAL) AS i, current_setting('DateStyle') AS ds")):first()
      end)
      odd:dispose()
      assert.equal("2024-05-01", row.d)
      assert.equal(90061.25, row.i)
      assert.matches("^ISO", row.ds)
    end)
  end)
end)
