-- The ORM's batched load (Connection:_execute's RowBatches) on every
-- backend: where the driver streams at no cost, objects are made 1,000 rows
-- at a time; a statement run while rows are left (here by a load listener)
-- first reads the rest into memory, so every object still comes; the
-- connection given back mid-read ends the read, and a later read of it
-- raises ResourceClosedError; the connection is clean afterwards.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

describe("ORM loads in batches on " .. helpers.backend, function()
  local engine, Base, Item, t

  before_each(function()
    engine = helpers.backend_engine({pool_size = 1, max_overflow = 0, poolclass = "queue"})
    Base = orm.declarative_base()
    Item = Base:model("Item", {
      __tablename = "lb_item",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      name = orm.mapped_column(qs.String(20)),
    })
    t = Item.__table__
    Base.metadata:create_all(engine)
    engine:begin(function(c)
      local rows = {}
      for i = 1, 2500 do rows[i] = {id = i, name = "item " .. i} end
      c:execute(qs.insert(t), rows)
    end)
  end)

  after_each(function()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("makes every object, in order, when a listener runs a statement mid-load", function()
    local s = orm.Session(engine)
    local counted
    qs.event.listen(Item, "load", function(obj)
      if obj.id == 1500 then
        counted = s:scalar(qs.select(qs.func.count()):select_from(t))
      end
    end)
    local objs = s:scalars(qs.select(Item):order_by(Item.id)):all()
    assert.equal(2500, counted)
    assert.equal(2500, #objs)
    for i = 1, 2500 do assert.equal(i, objs[i].id) end
    -- and the connection runs the next statement
    assert.equal("item 7", s:get(Item, 7).name)
    s:close()
  end)

  it("a read ended by the connection's return raises ResourceClosedError, and the pool stays clean", function()
    local conn = engine:connect()
    local stmt = qs.select(t):order_by(t.c.id)
    local src = conn:_execute(stmt, nil, nil, conn:_cheap_streaming() and "batches" or true)
    if type(src.fetch) == "function" then
      assert.equal(1000, #src:fetch(1000))
      conn:close()
      local ok, err = pcall(src.fetch, src, 1000)
      assert.is_false(ok)
      assert.is_true(qs.exc.is_error(err, qs.exc.ResourceClosedError))
    else
      conn:close()   -- libpq: the rows came whole
      assert.equal(2500, #src)
    end
    engine:connect(function(c)
      assert.equal(2500, c:scalar(qs.select(qs.func.count()):select_from(t)))
    end)
  end)

  it("streams in batches on every driver but libpq (single-row mode costs a fifth more)", function()
    local cheap = engine:connect(function(c) return c:_cheap_streaming() end)
    assert.equal(helpers.backend_url():match("^postgresql://") == nil, cheap)
  end)
end)
