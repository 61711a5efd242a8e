-- An ORM select reads its rows a batch at a time where the driver streams
-- at no cost (SQLite here; Connection:_cheap_streaming): the objects are
-- made from 1,000 rows at a time, so a large load never holds every Row at
-- once. The result is the same as a buffered load (order, identity, NULL
-- holes of an outer join's side); a caller's own stream_results / yield_per
-- (call, statement, connection or engine level) is left as asked; an error
-- while objects are made closes the stream and leaves the connection usable.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local base_mod = require("quicksilver.engine.base")
local helpers = require("spec.helpers")

local Base, Item, Tag, engine

-- The sizes of the batches the ORM read a batch at a time during fn
-- ({fetchmany = {n1, n2, ...}}; a read of the rows whole records none):
-- Connection:_execute's RowBatches, watched.
local function reads(fn)
  local C = base_mod.Connection
  local execute = C._execute
  local seen = {fetchmany = {}}
  C._execute = function(self, stmt, params, opts, raw)
    local src, keys = execute(self, stmt, params, opts, raw)
    if raw == "batches" and type(src) == "table" and src.fetch then
      local fetch = src.fetch
      src.fetch = function(me, n)
        local rows = fetch(me, n)
        table.insert(seen.fetchmany, #rows)
        return rows
      end
    end
    return src, keys
  end
  local ok, err = pcall(fn)
  C._execute = execute
  if not ok then error(err, 0) end
  return seen
end

describe("ORM loads a batch of rows at a time", function()
  before_each(function()
    engine = helpers.sqlite_engine()
    Base = orm.declarative_base()
    Item = Base:model("Item", {
      __tablename = "item",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
    })
    Tag = Base:model("Tag", {
      __tablename = "tag",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      item_id = orm.mapped_column(qs.ForeignKey("item.id")),
    })
    Base.metadata:create_all(engine)
    engine:begin(function(c)
      local rows = {}
      for i = 1, 2500 do rows[i] = {id = i, name = "item " .. i} end
      c:execute(qs.insert(Item.__table__), rows)
      c:execute(qs.insert(Tag.__table__), {{id = 1, item_id = 7}, {id = 2, item_id = 2001}})
    end)
  end)

  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  it("makes 2,500 objects from batches of 1,000 rows, in order, through the identity map", function()
    local s = orm.Session(engine)
    local kept = s:get(Item, 1500)
    local objs
    local seen = reads(function() objs = s:scalars(qs.select(Item):order_by(Item.id)):all() end)
    assert.same({1000, 1000, 500}, seen.fetchmany)
    assert.equal(2500, #objs)
    for i = 1, 2500 do assert.equal(i, objs[i].id) end
    assert.is_true(rawequal(kept, objs[1500]))
    assert.equal("item 2500", objs[2500].name)
    s:close()
  end)

  it("keeps rows of mixed entities and columns, and the holes of an outer join's missing side", function()
    local s = orm.Session(engine)
    local rows = s:execute(qs.select(Item, Tag, Item.name):outerjoin(Tag, Tag.item_id:eq(Item.id))
      :order_by(Item.id)):all()
    assert.equal(2500, #rows)
    assert.equal(7, rows[7][2].item_id)
    assert.is_nil(rows[8][2])
    assert.equal(2001, rows[2001][2].item_id)
    assert.equal("item 2500", rows[2500][3])
    s:close()
  end)

  it("leaves the caller's stream_results / yield_per as asked, at every level", function()
    local s = orm.Session(engine)
    local seen = reads(function()
      s:scalars(qs.select(Item), nil, {execution_options = {stream_results = false}}):all()
    end)
    assert.same({}, seen.fetchmany)
    s:close()
    local s2 = orm.Session(engine:execution_options({stream_results = false}))
    seen = reads(function() s2:scalars(qs.select(Item)):all() end)
    assert.same({}, seen.fetchmany)
    s2:close()
    -- yield_per on the statement: the caller's own stream (orm/stream.lua's
    -- Result), not these batches
    local s3 = orm.Session(engine)
    seen = reads(function()
      local n = 0
      for _ in s3:scalars(qs.select(Item):execution_options({yield_per = 300})):iter() do n = n + 1 end
      assert.equal(2500, n)
    end)
    assert.same({}, seen.fetchmany)
    s3:close()
  end)

  it("closes the stream when making an object fails, and the session goes on", function()
    local s = orm.Session(engine)
    local calls = 0
    qs.event.listen(Item, "load", function()
      calls = calls + 1
      if calls == 1200 then error("listener refused object 1200") end
    end)
    local ok, err = pcall(function() return s:scalars(qs.select(Item):order_by(Item.id)):all() end)
    assert.is_false(ok)
    assert.matches("listener refused object 1200", tostring(err))
    -- the connection reads again: no statement left mid-stream
    assert.equal(2500, s:scalar(qs.select(qs.func.count()):select_from(Item.__table__)))
    s:close()
  end)
end)
