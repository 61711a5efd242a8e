-- The most bind parameters one statement may carry, on every backend (issue
-- 21, item 5). The limit is the dialect's `caps.max_params` (PostgreSQL and
-- MySQL/MariaDB 65,535: a 16-bit count in their protocols; SQLite the
-- library's SQLITE_MAX_VARIABLE_NUMBER, 32,766 by default since 3.32, up to
-- the 65,535 values the binding carries). Up to it a statement works (the
-- libpq driver failed above 7,498 with "lost synchronization with server",
-- the wire driver at 65,535); above it the statement is refused with an
-- ArgumentError naming the count and the limit before anything is sent (the
-- transaction goes on); executemany, multi-row VALUES and the ORM's flush
-- split their batches so that no statement exceeds it.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("bind parameter limits on " .. helpers.backend, function()
  local engine, md, t, limit

  before_each(function()
    engine = helpers.backend_engine()
    limit = engine.dialect.caps.max_params
    md = qs.MetaData()
    local cols = {qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false})}
    for i = 1, 9 do cols[#cols + 1] = qs.Column("c" .. i, qs.Integer) end
    t = qs.Table("plim", md, table.unpack(cols))
    md:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(t), {{id = 1, c1 = 1}, {id = 2, c1 = 2}, {id = 3, c1 = 3}})
    end)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function ids(n)
    local out = {}
    for i = 1, n do out[i] = i end
    return out
  end

  local function count()
    return engine:connect(function(c) return c:execute(qs.select(qs.func.count()):select_from(t)):scalar() end)
  end

  it("states the limit of its dialect (SQLite: the library's, read at connect)", function()
    local expect = {postgresql = 65535, mysql = 65535}
    if helpers.on("sqlite") then
      assert.equal(32766, require("quicksilver.dialects.sqlite").caps.max_params)   -- 3.32+'s default
      local compiled_in = engine:connect(function(c)
        for _, r in ipairs(c:exec_driver_sql("PRAGMA compile_options"):all()) do
          local n = tostring(r[1]):match("^MAX_VARIABLE_NUMBER=(%d+)$")
          if n then return tonumber(n) end
        end
      end)
      expect.sqlite = math.min(compiled_in or 32766, 65535)   -- what the binding carries at most
    end
    assert.equal(expect[helpers.backend], limit)
  end)

  it("7,500 parameters in one statement", function()
    local rows = engine:connect(function(c)
      return c:execute(qs.select(t.c.id):where(t.c.id:in_(ids(7500))):order_by(t.c.id)):all()
    end)
    assert.equal(3, #rows)
    assert.equal(3, rows[3][1])
  end)

  it("as many parameters as the dialect allows, in one statement", function()
    local rows = engine:connect(function(c)
      return c:execute(qs.select(t.c.id):where(t.c.id:in_(ids(limit))):order_by(t.c.id)):all()
    end)
    assert.equal(3, #rows)
    -- a value at the last position is bound where it belongs
    local list = ids(limit - 1)   -- and the lt(0) below: limit in all
    list[limit - 1] = -7
    engine:begin(function(c) c:execute(qs.insert(t):values({id = -7, c1 = 70})) end)
    local last = engine:connect(function(c)
      return c:execute(qs.select(t.c.c1):where(t.c.id:in_(list)):where(t.c.id:lt(0))):scalar()
    end)
    assert.equal(70, last)
  end)

  it("one more is refused before anything is sent; the transaction goes on", function()
    engine:begin(function(c)
      c:execute(qs.insert(t):values({id = 10, c1 = 10}))
      local err = raises(qs.exc.ArgumentError, function()
        c:execute(qs.select(t.c.id):where(t.c.id:in_(ids(limit + 1))))
      end)
      assert.matches(tostring(limit + 1) .. " bind parameters", err.message, 1, true)
      assert.matches("at most " .. tostring(limit), err.message, 1, true)
      -- still usable: the transaction was not aborted by a failed statement
      assert.equal(4, c:execute(qs.select(qs.func.count()):select_from(t)):scalar())
    end)
    assert.equal(4, count())
  end)

  it("exec_driver_sql with more values than the dialect allows is refused", function()
    local vals = ids(limit + 1)
    vals.n = limit + 1
    engine:connect(function(c)
      -- refused naming the limit (by the engine, or past 65,535 by the binding, naming n)
      local err = raises(qs.exc.ArgumentError, function() c:exec_driver_sql("SELECT 1", vals) end)
      assert.matches(tostring(limit), err.message, 1, true)
      assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar())
    end)
  end)

  it("a 10,000 x 10 executemany goes through in batches and reads back", function()
    local sets = {}
    for i = 1, 10000 do
      local r = {id = 100 + i}
      for k = 1, 9 do r["c" .. k] = i * 10 + k end
      sets[i] = r
    end
    engine:begin(function(c) c:execute(qs.insert(t), sets) end)
    assert.equal(10003, count())
    local sum = engine:connect(function(c)
      return c:execute(qs.select(qs.func.sum(t.c.c9)):where(t.c.id:gt(100))):scalar()
    end)
    -- sum of i*10 + 9 over 1..10000
    assert.equal(10 * 10000 * 10001 / 2 + 9 * 10000, tonumber(sum))
    local last = engine:connect(function(c)
      return c:execute(qs.select(t):where(t.c.id:eq(10100))):one()
    end)
    assert.equal(100001, last.c1)
    assert.equal(100009, last.c9)
  end)

  it("a text() executemany of 10,000 sets of 10", function()
    local sets = {}
    local binds = {}
    for k = 1, 9 do binds[k] = ":c" .. k end
    for i = 1, 10000 do
      local r = {id = 100 + i}
      for k = 1, 9 do r["c" .. k] = i + k end
      sets[i] = r
    end
    local sql = "INSERT INTO plim (id, c1, c2, c3, c4, c5, c6, c7, c8, c9) VALUES (:id, " ..
      table.concat(binds, ", ") .. ")"
    engine:begin(function(c) c:execute(qs.text(sql), sets) end)
    assert.equal(10003, count())
  end)

  it("rows of 70 values: batches sized by the limit, not only by the page size", function()
    -- 1,000 rows (the page size) of 70 values hold 70,000 parameters
    local Base = orm.declarative_base()
    local fields = {__tablename = "plim_wide", id = orm.mapped_column(qs.Integer, {primary_key = true})}
    for k = 1, 69 do fields["w" .. k] = orm.mapped_column(qs.Integer) end
    local Wide = Base:model("Wide", fields)
    Base.metadata:create_all(engine)
    local ok, err = pcall(function()
      local rows = {}
      for i = 1, 1000 do
        local r = {}
        for k = 1, 69 do r["w" .. k] = i + k end
        rows[i] = r
      end
      engine:begin(function(c) c:execute(qs.insert(Wide.__table__), rows) end)
      local s = orm.Session({bind = engine})
      local objs = {}
      for i = 1, 1000 do
        local o = {}
        for k = 1, 69 do o["w" .. k] = -i - k end
        objs[i] = Wide(o)
      end
      s:add_all(objs)
      s:commit()
      assert.equal(2000, s:scalar(qs.select(qs.func.count()):select_from(Wide)))
      assert.equal(-1000 - 69, s:get(Wide, objs[1000].id).w69)
      s:close()
    end)
    Base.metadata:drop_all(engine)
    assert(ok, err)
  end)

  it("an ORM flush of 10,000 objects goes in batches and reads back", function()
    local Base = orm.declarative_base()
    local Item = Base:model("Item", {
      __tablename = "plim_item",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      a = orm.mapped_column(qs.Integer), b = orm.mapped_column(qs.Integer),
      c = orm.mapped_column(qs.Integer), d = orm.mapped_column(qs.Integer),
      e = orm.mapped_column(qs.Integer), f = orm.mapped_column(qs.Integer),
      g = orm.mapped_column(qs.Integer), h = orm.mapped_column(qs.Integer),
      name = orm.mapped_column(qs.String(20)),
    })
    Base.metadata:create_all(engine)
    local ok, err = pcall(function()
      local s = orm.Session({bind = engine})
      local objs = {}
      for i = 1, 10000 do
        objs[i] = Item({a = i, b = i + 1, c = i + 2, d = i + 3, e = i + 4, f = i + 5, g = i + 6,
          h = i + 7, name = "n" .. i})
      end
      s:add_all(objs)
      s:commit()
      -- every object got its own new key, in order
      local seen = {}
      for i = 1, 10000 do
        local id = objs[i].id
        assert.is_number(id)
        assert.is_nil(seen[id])
        seen[id] = true
      end
      s:close()
      local s2 = orm.Session({bind = engine})
      assert.equal(10000, s2:scalar(qs.select(qs.func.count()):select_from(Item)))
      local o = s2:get(Item, objs[9999].id)
      assert.equal(9999, o.a)
      assert.equal(10006, o.h)
      assert.equal("n9999", o.name)
      s2:close()
    end)
    Base.metadata:drop_all(engine)
    assert(ok, err)
  end)
end)
