-- orm/flush_gather.lua's gather: without a pending delete, the save-update
-- cascade and the relationship changes are one walk over the graph, each
-- state once, and the objects Session:add already took in are not
-- discovered again; what changed after add is still found.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local flush_gather = require("quicksilver.orm.flush_gather")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local Base, Customer, Order, Tag

local function setup_models()
  Base = orm.declarative_base()
  Customer = Base:model("Customer", {
    __tablename = "customer",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(40)),
    orders = orm.relationship("Order", {back_populates = "customer"}),
  })
  Order = Base:model("Order", {
    __tablename = "orders",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    customer_id = orm.mapped_column(qs.ForeignKey("customer.id")),
    qty = orm.mapped_column(qs.Integer),
    customer = orm.relationship("Customer", {back_populates = "orders"}),
    tags = orm.relationship("Tag", {}),
  })
  -- a one-to-many without a way back: the members' keys follow all the same
  Tag = Base:model("Tag", {
    __tablename = "tag",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    order_id = orm.mapped_column(qs.ForeignKey("orders.id")),
    label = orm.mapped_column(qs.String(20)),
  })
end

local function rows(s, sql)
  return s:execute(qs.text(sql)):all()
end

describe("flush gather", function()
  local engine, s
  before_each(function()
    setup_models()
    engine = helpers.sqlite_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
  end)
  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("walks each state once, in one walk, discovering none of what add took in", function()
    for i = 1, 3 do
      local c = Customer({name = "c" .. i})
      c.orders = {Order({qty = 1}), Order({qty = 2})}
      s:add(c)
    end
    s:flush()
    local n = flush_gather.counters
    assert.equal(1, n.walks)
    assert.equal(9, n.walked)
    assert.equal(0, n.reached)
    local got = rows(s, "SELECT o.qty, c.name FROM orders o JOIN customer c ON c.id = o.customer_id ORDER BY o.id")
    assert.equal(6, #got)
    assert.same({1, "c1"}, {got[1][1], got[1][2]})
    assert.same({2, "c3"}, {got[6][1], got[6][2]})
  end)

  it("cascades at flush objects appended to a collection after add", function()
    local c = Customer({name = "c"})
    c.orders = {Order({qty = 1})}
    s:add(c)
    local late = Order({qty = 2})
    table.insert(c.orders, late)          -- no event: found by the flush
    s:flush()
    assert.equal(1, flush_gather.counters.reached)
    assert.equal(s, orm.object_session(late))
    assert.equal(c.id, late.customer_id)
    assert.equal(c, late.customer)
    assert.equal(2, #rows(s, "SELECT id FROM orders WHERE customer_id = " .. c.id))
  end)

  it("cascades at flush a new parent set on a many-to-one after add, and a member without a way back", function()
    local o = Order({qty = 3})
    s:add(o)
    local t = Tag({label = "x"})
    o.tags = {}
    table.insert(o.tags, t)
    local c = Customer({name = "late"})
    o.customer = c
    s:flush()
    assert.equal(c.id, o.customer_id)
    assert.equal(o.id, t.order_id)
    assert.equal(1, #rows(s, "SELECT id FROM customer WHERE name = 'late'"))
  end)

  it("appends to a persistent collection and moves members between parents", function()
    local a, b = Customer({name = "a"}), Customer({name = "b"})
    local o1, o2 = Order({qty = 1}), Order({qty = 2})
    a.orders = {o1, o2}
    s:add_all({a, b})
    s:commit()
    local list = a.orders
    local o3 = Order({qty = 3})
    table.insert(list, o3)                 -- a new member of a persistent collection
    table.remove(list, 1)                  -- o1 leaves a ...
    table.insert(b.orders, o1)             -- ... for b
    s:flush()
    assert.equal(a.id, o3.customer_id)
    assert.equal(b.id, o1.customer_id)
    assert.equal(b, o1.customer)
    local got = rows(s, "SELECT qty, customer_id FROM orders ORDER BY qty")
    assert.same({1, b.id}, {got[1][1], got[1][2]})
    assert.same({3, a.id}, {got[3][1], got[3][2]})
  end)

  it("takes the three passes when a delete is pending", function()
    local c = Customer({name = "c"})
    local o = Order({qty = 1})
    c.orders = {o}
    s:add(c)
    s:commit()
    local list = c.orders                  -- loaded first (its load would flush the delete)
    s:delete(o)
    local late = Order({qty = 5})
    table.insert(list, late)
    s:flush()
    assert.equal(3, flush_gather.counters.walks)
    assert.equal(c.id, late.customer_id)
    local got = rows(s, "SELECT qty FROM orders")
    assert.equal(1, #got)
    assert.equal(5, got[1][1])
  end)

  it("refuses an object of another session reached at flush", function()
    local other = orm.Session(engine)
    local stranger = Order({qty = 9})
    other:add(stranger)
    local c = Customer({name = "c"})
    s:add(c)
    table.insert(c.orders, stranger)
    raises(qs.exc.InvalidRequestError, function() s:flush() end)
    s:rollback()
  end)
end)
