-- The flush's plan in C (c/orm/plan.c through c/orm/lplan.c): the Lua
-- surface of core.plan_* with its errors, and what orm/flush_plan.lua keeps
-- per mapper configuration instead of asking at every flush.
local qs = require("quicksilver")
local core = require("quicksilver.core")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

local exc = qs.exc

local function show(t)
  if t == nil then return "nil" end
  local out = {}
  for i, v in ipairs(t) do out[i] = tostring(v) end
  return table.concat(out, ",")
end

local function fails_with(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  assert.is_true(exc.is_error(err, exc.ArgumentError), tostring(err))
  assert.truthy(tostring(err.message):find(pattern, 1, true), tostring(err.message))
end

local CAPS = {insert_returning = true, insert_many_returning = true, page_size = 2,
  returning_page_size = 1000, max_params = 100}

describe("core.plan_*", function()
  it("orders tables parents first, leaving post_update keys out, and names a cycle", function()
    -- 1 -> 2 (skipped: post_update), 3 -> 1
    assert.equal("3,1,2", show(core.plan_table_order(3, {1, 2, false, 2, 3, true, 3, 1, 0})))
    local order, cycle = core.plan_table_order(3, {1, 2, false, 2, 1, false})
    assert.is_nil(order)
    assert.equal("1,2", show(cycle))
    assert.equal("", show(core.plan_table_order(0, {})))
  end)

  it("puts rows in levels and deletes referring rows first, by any key value", function()
    local order, bounds = core.plan_row_levels(5, {1, 2, 4, 1, 4, 5})
    assert.equal("3,4,1,5,2", show(order))
    assert.equal("1,3,5,6", show(bounds))
    -- string keys; row 3 names a row not deleted; false is none
    order, bounds = core.plan_delete_order(4, 1, {"a", "b", "c", "d"}, {false, "a", "zz", "b"})
    assert.equal("3,4,2,1", show(order))
    assert.equal("1,3,4,5", show(bounds))
    -- 1 and 1.0 are one key, as in a Lua table
    order = core.plan_delete_order(2, 1, {1, 2}, {false, 1.0})
    assert.equal("2,1", show(order))
    local none, cycle = core.plan_delete_order(2, 1, {1, 2}, {2, 1})
    assert.is_nil(none)
    assert.equal("1,2", show(cycle))
  end)

  it("cuts rows into statements by signature, mode and page", function()
    local M = core.plan_modes
    -- five rows keys given (page 2), one needing a key back
    local plan = core.plan_batches({1, 1, 1, 1, 1, 2}, {3, false, 2, true}, CAPS)
    assert.equal(show({1, 2, M.executemany, 3, 2, M.executemany, 5, 1, M.executemany,
      6, 1, M.returning_many}), show(plan))
    assert.equal("", show(core.plan_batches({}, {}, CAPS)))
  end)

  it("refuses bad input with a message naming it", function()
    fails_with("count must be a non-negative integer", core.plan_table_order, -1, {})
    fails_with("fks must hold groups of 3", core.plan_table_order, 2, {1, 2})
    fails_with("fks[2] must be a number in 1..2", core.plan_table_order, 2, {1, 3, false})
    fails_with("edges must be a table, got string", core.plan_row_levels, 2, "x")
    fails_with("edges[1] must be a number in 1..2, got string", core.plan_row_levels, 2, {"1", 2})
    fails_with("sigs[1] must be a number in 1..1", core.plan_batches, {2}, {1, false}, CAPS)
    fails_with("info[1] (a column count)", core.plan_batches, {1}, {-1, false}, CAPS)
    fails_with("caps.max_params is missing", core.plan_batches, {1}, {1, false},
      {insert_returning = true, insert_many_returning = true, page_size = 0, returning_page_size = 0})
    local extra = {}
    for k, v in pairs(CAPS) do extra[k] = v end
    extra.page_sizes = 3
    fails_with("caps has a field page_sizes that c/orm/plan.h does not list", core.plan_batches,
      {1}, {1, false}, extra)
    extra.page_sizes, extra.page_size = nil, 1.5
    fails_with("caps.page_size must be a non-negative integer", core.plan_batches, {1}, {1, false}, extra)
  end)
end)

describe("the flush plan's per-mapper facts", function()
  local Base, Customer, Order, engine, s

  before_each(function()
    Base = orm.declarative_base()
    Customer = Base:model("Customer", {
      __tablename = "customers",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      orders = orm.relationship("Order", {back_populates = "customer"}),
    })
    Order = Base:model("Order", {
      __tablename = "orders",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      customer_id = orm.mapped_column(qs.ForeignKey("customers.id")),
      customer = orm.relationship("Customer", {back_populates = "orders"}),
    })
    engine = helpers.sqlite_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
  end)
  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  -- counts the resolutions of the orders table's foreign key
  local function count_resolutions()
    local n = {0}
    for _, fk in ipairs(Order.__table__.foreign_keys) do
      local get = getmetatable(fk).__index.get_column or fk.get_column
      fk.get_column = function(self) n[1] = n[1] + 1 return get(self) end
    end
    return n
  end

  it("resolves the foreign keys once, not at every flush, and again after a mapper changes", function()
    local n = count_resolutions()
    s:add(Customer({name = "c1", orders = {Order({}), Order({})}}))
    s:flush()   -- the first flush configures the mappers and plans
    local after_one = n[1]
    assert.is_true(after_one >= 1)
    for i = 2, 5 do
      s:add(Customer({name = "c" .. i, orders = {Order({}), Order({})}}))
      s:flush()
    end
    assert.equal(after_one, n[1], "foreign keys resolved again by later flushes")
    local after_five = n[1]
    -- the orders were written after their customers each time
    local rows = s:execute(qs.text("SELECT COUNT(*) FROM orders WHERE customer_id IS NOT NULL")):scalar()
    assert.equal(10, rows)
    -- a new property on a mapper: the facts are computed again
    Order.doubled = orm.column_property(Order.id * 2)
    s:add(Customer({name = "late", orders = {Order({})}}))
    s:flush()
    assert.is_true(n[1] > after_five)
    assert.equal(11, s:execute(qs.text("SELECT COUNT(*) FROM orders WHERE customer_id IS NOT NULL")):scalar())
  end)
end)
