-- What each dialect's grammar needs where a value would otherwise be bound
-- (issue 17, "fails only after the URL changes"): the keywords after IS,
-- the targets MySQL's and SQLite's CAST understand, and the PostgreSQL
-- parameters that say their type. spec/backend/portable_spec.lua runs the
-- same statements on the databases.
local qs = require("quicksilver")
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local md = qs.MetaData()
local t = qs.Table("t", md,
  qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("flag", qs.Boolean),
  qs.Column("name", qs.String(20)),
  qs.Column("price", qs.Numeric(10, 2)),
  qs.Column("seen", qs.DateTime({timezone = true})),
  qs.Column("iv", qs.Interval))
local c = t.c

local function sql(stmt, dialect) return stmt:compile({dialect = dialect}).sql end

describe("IS followed by TRUE, FALSE or NULL", function()
  local stmt = qs.select(c.id):where(c.flag:is_(true), c.flag:is_not(qs.false_()))

  it("renders the dialect's truth keywords, never a parameter", function()
    assert.equal("SELECT t.id FROM t WHERE t.flag IS 1 AND t.flag IS NOT 0", sql(stmt, "sqlite"))
    for _, d in ipairs({"postgresql", "mysql", "mariadb"}) do
      assert.equal("SELECT t.id FROM t WHERE t.flag IS true AND t.flag IS NOT false", sql(stmt, d))
    end
    assert.equal(0, #stmt:compile({dialect = "postgresql"}).keys)
  end)

  it("takes nil, qs.null, qs.true_() and qs.false_(); not_() inverts", function()
    assert.equal("t.flag IS NULL", tostring(c.flag:is_(nil)))
    assert.equal("t.flag IS NOT NULL", tostring(c.flag:is_not(qs.null)))
    assert.equal("t.flag IS 0", tostring(c.flag:is_(qs.false_())))
    assert.equal("t.flag IS NOT 1", tostring(qs.not_(c.flag:is_(true))))
  end)

  it("refuses the function qs.true_ (not its value) with ArgumentError", function()
    local err = raises(qs.exc.ArgumentError, function() return c.flag:is_(qs.true_) end)
    assert.matches("qs.true_%(%)", err.message)
    err = raises(qs.exc.ArgumentError, function() return c.flag:is_not(qs.false_) end)
    assert.matches("qs.false_%(%)", err.message)
  end)

  it("refuses values and expressions that cannot follow IS, naming them", function()
    local err = raises(qs.exc.ArgumentError, function() return c.flag:is_(5) end)
    assert.matches("got 5", err.message)
    err = raises(qs.exc.ArgumentError, function() return c.flag:is_not("yes") end)
    assert.matches('got "yes"', err.message)
    raises(qs.exc.ArgumentError, function() return c.flag:is_(c.id) end)
    raises(qs.exc.ArgumentError, function() return c.flag:is_(qs.literal(true)) end)
  end)

  it("the compiler refuses any other right side of IS (CompileError)", function()
    local node = elements.binary(c.flag, core.ops.IS, qs.literal(1))
    raises(qs.exc.CompileError, function() return node:compile({dialect = "postgresql"}) end)
  end)
end)

describe("CAST targets per dialect", function()
  local function cast_sql(x, ty, dialect)
    return sql(qs.select(qs.cast(x, ty)), dialect):match("^SELECT (.-) AS anon_1")
  end

  it("MySQL and MariaDB: CHAR for strings, SIGNED INTEGER, DECIMAL, BINARY", function()
    for _, d in ipairs({"mysql", "mariadb"}) do
      assert.equal("CAST(t.id AS CHAR)", cast_sql(c.id, qs.String, d))
      assert.equal("CAST(t.id AS CHAR)", cast_sql(c.id, qs.Text, d))
      assert.equal("CAST(t.id AS CHAR(5))", cast_sql(c.id, qs.String(5), d))
      assert.equal("CAST(t.name AS SIGNED INTEGER)", cast_sql(c.name, qs.Integer, d))
      assert.equal("CAST(t.name AS SIGNED INTEGER)", cast_sql(c.name, qs.BigInteger, d))
      assert.equal("CAST(t.name AS DECIMAL(10, 2))", cast_sql(c.name, qs.Numeric(10, 2), d))
      assert.equal("CAST(t.name AS DECIMAL)", cast_sql(c.name, qs.Numeric, d))
      assert.equal("CAST(t.name AS FLOAT)", cast_sql(c.name, qs.Float, d))
      assert.equal("CAST(t.name AS DATETIME)", cast_sql(c.name, qs.DateTime, d))
      assert.equal("CAST(t.name AS DATE)", cast_sql(c.name, qs.Date, d))
      assert.equal("CAST(t.name AS TIME)", cast_sql(c.name, qs.Time, d))
      assert.equal("CAST(t.name AS BINARY)", cast_sql(c.name, qs.LargeBinary, d))
      assert.equal("CAST(t.name AS CHAR(36))", cast_sql(c.name, qs.Uuid, d))
      assert.equal("CAST(t.name AS DOUBLE)", cast_sql(c.name, qs.Interval, d))
      -- no CAST target exists: the value as it is, converted by the result type
      assert.equal("t.id", cast_sql(c.id, qs.Boolean, d))
      assert.equal("t.name", cast_sql(c.name, qs.Enum("a", "b"), d))
    end
    assert.equal("CAST(t.name AS JSON)", cast_sql(c.name, qs.JSON, "mysql"))
    assert.equal("t.name", cast_sql(c.name, qs.JSON, "mariadb"))   -- JSON is text there
  end)

  it("keeps the grouping of an expression whose CAST is left out", function()
    assert.equal("SELECT (t.id + ?) * ? AS anon_1 FROM t",
      sql(qs.select(qs.cast(c.id + 1, qs.Boolean) * 2), "mysql"))
  end)

  it("SQLite: dates through its date functions, JSON as TEXT (no NUMERIC affinity)", function()
    assert.equal("date(t.name)", cast_sql(c.name, qs.Date, "sqlite"))
    assert.equal("datetime(t.name)", cast_sql(c.name, qs.DateTime, "sqlite"))
    assert.equal("time(t.name)", cast_sql(c.name, qs.Time, "sqlite"))
    assert.equal("CAST(t.name AS TEXT)", cast_sql(c.name, qs.JSON, "sqlite"))
    assert.equal("CAST(t.id AS VARCHAR)", cast_sql(c.id, qs.String, "sqlite"))
  end)

  it("PostgreSQL: numbers to Interval as seconds and back", function()
    assert.equal("make_interval(secs => t.price)", cast_sql(c.price, qs.Interval, "postgresql"))
    assert.equal("CAST(EXTRACT(EPOCH FROM t.iv) AS FLOAT)", cast_sql(c.iv, qs.Float, "postgresql"))
    assert.equal("CAST(t.name AS INTERVAL)", cast_sql(c.name, qs.Interval, "postgresql"))
    assert.equal("CAST(t.id AS VARCHAR)", cast_sql(c.id, qs.String, "postgresql"))
  end)
end)

describe("PostgreSQL parameters say their type where nothing else does", function()
  local pg = function(stmt) return sql(stmt, "postgresql") end

  it("between parameters and as function arguments", function()
    assert.equal("SELECT $1::INTEGER + $2::INTEGER AS anon_1", pg(qs.select(qs.literal(3) + 1)))
    assert.equal("SELECT $1::FLOAT * $2::FLOAT AS anon_1", pg(qs.select(qs.literal(1.5) * 2.5)))
    assert.equal("SELECT round($1::NUMERIC, $2::INTEGER) AS round_1",
      pg(qs.select(qs.func.round(qs.literal(2.5, qs.Numeric), 2))))
    assert.equal("SELECT $1::BOOLEAN AND t.flag AS anon_1 FROM t",
      pg(qs.select(qs.and_(qs.literal(true), c.flag))))
  end)

  it("not where the other side gives the same type (the server infers it)", function()
    assert.equal("SELECT t.id FROM t WHERE t.id = $1 AND t.name = $2 AND t.iv > $3",
      pg(qs.select(c.id):where(c.id:eq(5), c.name:eq("x"), c.iv:gt(60))))
    assert.equal("SELECT t.id FROM t WHERE t.id IN ($1, $2) AND t.id BETWEEN $3 AND $4",
      pg(qs.select(c.id):where(c.id:in_({1, 2}), c.id:between(1, 9))))
    assert.equal("SELECT t.id FROM t WHERE t.id > $1::FLOAT", pg(qs.select(c.id):where(c.id:gt(qs.literal(6.5)))))
  end)

  it("not in VALUES, SET and LIMIT, where the column or clause gives it", function()
    assert.equal("INSERT INTO t (id, iv) VALUES ($1, $2)", pg(qs.insert(t):values({id = 1, iv = 60})))
    assert.equal("UPDATE t SET iv=$1 WHERE t.id = $2", pg(qs.update(t):where(c.id:eq(1)):values({iv = 5})))
    assert.equal("SELECT t.id FROM t LIMIT $1 OFFSET $2", pg(qs.select(c.id):limit(5):offset(2)))
  end)

  it("typed by kind, without sizes that would cut or round the value", function()
    assert.equal("SELECT $1::VARCHAR AS anon_1", pg(qs.select(qs.literal("abcdef", qs.String(3)))))
    assert.equal("SELECT $1::NUMERIC AS anon_1", pg(qs.select(qs.literal(1.005, qs.Numeric(5, 2)))))
    assert.equal("SELECT t.id FROM t WHERE t.seen > $1::TIMESTAMP WITH TIME ZONE - $2::INTERVAL",
      pg(qs.select(c.id):where(c.seen:gt(qs.literal("2024-01-01 00:00:00+00", qs.DateTime({timezone = true}))
        - qs.literal(60, qs.Interval)))))
  end)

  it("strings stay untyped unless alone as a column", function()
    assert.equal("SELECT $1 || t.name AS anon_1 FROM t", pg(qs.select(qs.literal("<") .. c.name)))
    assert.equal("SELECT $1::VARCHAR AS anon_1", pg(qs.select(qs.literal("x"))))
  end)

  it("text() parameters typed with bindparams", function()
    local txt = qs.text("SELECT :a + :b, :c"):bindparams(qs.bindparam("a", 1, {type = qs.Integer}),
      {b = qs.bindparam("b", nil, {type = qs.Interval}), c = "x"})
    assert.equal("SELECT $1::INTEGER + $2::INTERVAL, $3", pg(txt))
    assert.equal("SELECT ? + ?, ?", sql(txt, "sqlite"))
    assert.equal("SELECT $1 + $2", pg(qs.text("SELECT :a + :b"):bindparams({a = 1, b = 2})))
    raises(qs.exc.ArgumentError, function() return qs.text("x"):bindparams("a") end)
    raises(qs.exc.ArgumentError, function() return qs.text("x"):bindparams({1}) end)
  end)

  it("a typed text() parameter is checked and converted as its type", function()
    local txt = qs.text("SELECT :n"):bindparams(qs.bindparam("n", nil, {type = qs.Integer}))
    local compiled = txt:compile({dialect = "postgresql"})
    assert.equal(core.type_checks.integer, compiled.checks[1])
  end)

  it("literal values are written inline, without casts", function()
    assert.equal("SELECT 3 + 1 AS anon_1", qs.select(qs.literal(3) + 1):compile(
      {dialect = "postgresql", literal_binds = true}).sql)
    -- textual SQL with typed and untyped names, inside a statement and alone
    local txt = qs.text("a = :a AND b = :b AND c = :c"):bindparams(
      qs.bindparam("a", 1, {type = qs.Integer}), {b = "x"})
    local stmt = qs.select(c.id):where(txt, c.id:eq(7))
    assert.equal("SELECT t.id FROM t WHERE a = 1 AND b = 'x' AND c = NULL AND t.id = 7",
      stmt:compile({dialect = "postgresql", literal_binds = true}).sql)
    assert.equal("a = 1 AND b = 'x' AND c = NULL", txt:compile({dialect = "sqlite", literal_binds = true}).sql)
  end)
end)
