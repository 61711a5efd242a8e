-- A streaming Result (stream_results / yield_per) reads from its driver
-- connection. When the connection goes back to the pool (close, the end of
-- engine:begin(fn), session:close()) or is invalidated, the result ends:
-- reading it raises ResourceClosedError, never the rows of whoever checked
-- the connection out next. Buffered results keep their rows.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("streaming results and their connection on " .. helpers.backend, function()
  local engine, md, t, other

  before_each(function()
    -- one connection, so the next checkout is the very connection the
    -- closed result read from
    engine = helpers.backend_engine({pool_size = 1, max_overflow = 0, poolclass = "queue"})
    md = qs.MetaData()
    t = qs.Table("stream_a", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("v", qs.Integer))
    other = qs.Table("stream_b", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("w", qs.Integer))
    md:create_all(engine)
    engine:begin(function(c)
      local rows, others = {}, {}
      for i = 1, 10 do
        rows[i] = {id = i, v = i}
        others[i] = {id = i, w = 1000 + i}
      end
      c:execute(qs.insert(t), rows)
      c:execute(qs.insert(other), others)
    end)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function stream(c, tbl)
    return c:execute(qs.select(tbl.c[tbl == t and "v" or "w"]):order_by(tbl.c.id), nil,
      {stream_results = true, yield_per = 2})
  end

  it("a streaming result raises ResourceClosedError once its Connection is closed", function()
    local c = engine:connect()
    local r = stream(c, t)
    assert.equal(1, r:fetchone()[1])
    c:close()
    local err = raises(qs.exc.ResourceClosedError, function() r:fetchone() end)
    assert.matches("Connection was closed", err.message)
    raises(qs.exc.ResourceClosedError, function() r:all() end)
  end)

  it("the next borrower's rows never reach a closed result (Connection level)", function()
    local a = engine:connect()
    local ra = stream(a, t)
    assert.equal(1, ra:fetchone()[1])
    a:close()
    local b = engine:connect()   -- the same driver connection (pool_size 1)
    local rb = stream(b, other)
    raises(qs.exc.ResourceClosedError, function() ra:fetchmany(5) end)
    -- b's own result is whole and untouched
    local ws = rb:scalars():all()
    assert.equal(10, #ws)
    assert.equal(1001, ws[1])
    assert.equal(1010, ws[10])
    b:close()
  end)

  it("checkin ends the driver cursors left open (driver connection level)", function()
    local rec = engine:raw_connection()
    local cur = assert(rec.cconn:execute("SELECT v FROM stream_a ORDER BY id"))
    assert.equal(2, #cur:fetch(2))
    engine.pool:checkin(rec)
    local rec2 = engine:raw_connection()
    assert.equal(rec.cconn ~= nil, true)
    local cur2 = assert(rec2.cconn:execute("SELECT w FROM stream_b ORDER BY id"))
    local err = raises(qs.exc.ResourceClosedError, function() cur:fetch(2) end)
    assert.matches("returned to its pool", err.message)
    local rows = cur2:fetch()
    assert.equal(10, #rows)
    assert.equal(1001, rows[1][1])
    engine.pool:checkin(rec2)
  end)

  it("buffered results stay readable after their Connection is closed", function()
    local c = engine:connect()
    local r = c:execute(qs.select(t.c.v):order_by(t.c.id))
    local s = stream(c, t)
    assert.same({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, n = 10}, s:scalars():all())   -- read to its end
    c:close()
    assert.equal(10, #r:all())
  end)

  it("invalidate() ends the streaming results of the Connection", function()
    local c = engine:connect()
    local r = stream(c, t)
    assert.equal(1, r:fetchone()[1])
    c:invalidate()
    local err = raises(qs.exc.ResourceClosedError, function() r:fetchone() end)
    assert.matches("invalidated", err.message)
    c:close()
  end)

  it("a streaming result returned out of engine:begin(fn) raises after the block", function()
    local r = engine:begin(function(c)
      local res = stream(c, t)
      res:fetchone()
      return res
    end)
    raises(qs.exc.ResourceClosedError, function() r:fetchone() end)
    -- and the connection serves the next borrower cleanly
    assert.equal(10, engine:connect(function(c) return c:execute(qs.select(qs.func.count()):select_from(t)):scalar() end))
  end)

  it("a Session's streaming results end with session:close(); its buffered ones do not", function()
    local Base = orm.declarative_base()
    local A = Base:model("A", {__table = t})
    local s = orm.Session(engine)
    local streamed = s:execute(qs.select(t.c.v):order_by(t.c.id), nil,
      {execution_options = {stream_results = true, yield_per = 2}})
    assert.equal(1, streamed:fetchone()[1])
    local objs = s:execute(qs.select(A):order_by(t.c.id))
    s:close()
    raises(qs.exc.ResourceClosedError, function() streamed:fetchone() end)
    assert.equal(10, #objs:scalars():all())
  end)
end)
