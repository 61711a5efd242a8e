-- PostgreSQL's range types written and read as qs.postgresql.Range values,
-- compared in the database, reflected; their DDL refused elsewhere.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("PostgreSQL ranges on " .. helpers.backend, function()
  local engine, pg = nil, qs.postgresql

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  local function model()
    local md = qs.MetaData()
    local t = qs.Table("rg", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("i", pg.INT4RANGE), qs.Column("n", pg.NUMRANGE), qs.Column("d", pg.DATERANGE),
      qs.Column("ts", pg.TSRANGE), qs.Column("b", pg.INT8RANGE))
    return md, t
  end

  it("round-trip as Range values (canonical forms as the server writes them)", function()
    local md, t = model()
    engine:connect(function() end)
    if not helpers.on("postgresql") then
      helpers.assert_raises_kind(qs.exc.CompileError, function() md:create_all(engine) end)
      return
    end
    md:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(t), {id = 1, i = pg.Range(1, 10), n = pg.Range(1.5, nil, {bounds = "(]"}),
        d = pg.Range("2024-01-01", "2024-02-01", {bounds = "[]"}),
        ts = pg.Range("2024-01-01 10:00:00", "2024-01-02 00:00:00"), b = pg.Range(nil, nil, {empty = true})})
      c:execute(qs.insert(t), {id = 2, i = "[3,4]"})   -- the text is taken too
    end)
    engine:connect(function(c)
      local rows = c:execute(qs.select(t):order_by(t.c.id)):all()
      local r = rows[1]
      assert.is_true(r.i == pg.Range(1, 10))
      assert.equal(1.5, r.n.lower)
      assert.is_nil(r.n.upper)
      assert.equal("()", r.n.bounds)   -- an unbounded end is exclusive
      assert.equal("[2024-01-01,2024-02-02)", tostring(r.d))   -- discrete: canonical [)
      assert.equal("2024-01-01 10:00:00", r.ts.lower)
      assert.is_true(r.b.empty)
      assert.is_true(rows[2].i == pg.Range(3, 5))
      assert.is_nil(rows[2].n)
      assert.equal(1, c:execute(qs.select(t.c.id):where(t.c.i:eq(pg.Range(1, 10)))):scalar())
      assert.equal(2, c:execute(qs.select(t.c.id):where(qs.text("i @> 4 AND upper(i) = 5"))):scalar())
    end)
    local cols = qs.inspect(engine):get_columns("rg")
    assert.equal(pg.INT4RANGE, getmetatable(cols[2].type))
    assert.equal(pg.TSRANGE, getmetatable(cols[5].type))
  end)
end)
