-- Constructing new objects (issue 22 stage 3): Model{...} makes the object,
-- its state and its value table in one call (c/orm/construct.c, LuaJIT:
-- orm/construct_jit.lua) laid out as a loaded object is; a new object's
-- first collection links its members without loads or calls, and the
-- members share one read-only m2o_set. What must not take that path
-- (persistent or pending owners, members set elsewhere, many-to-many)
-- does not. Runs on every backend.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local core = require("quicksilver.core")
local attributes = require("quicksilver.orm.attributes")
local construct_jit = require("quicksilver.orm.construct_jit")
local helpers = require("spec.helpers")

local STATE = attributes.STATE
local stats = attributes.stats
local raises = helpers.assert_raises_kind

local function st_of(o) return rawget(o, STATE) end

-- the number of keys of t
local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("constructing objects on " .. helpers.backend, function()
  local Base, Customer, Order, Shipment, Tag, Item, engine

  before_each(function()
    Base = orm.declarative_base()
    Customer = Base:model("Customer", {
      __tablename = "ctor_customer",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(40)),
      orders = orm.relationship("Order", {back_populates = "customer"}),
    })
    Shipment = Base:model("Shipment", {
      __tablename = "ctor_shipment",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      orders = orm.relationship("Order", {back_populates = "shipment"}),
    })
    Order = Base:model("Order", {
      __tablename = "ctor_order",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      qty = orm.mapped_column(qs.Integer),
      note = orm.mapped_column(qs.String(40)),
      customer_id = orm.mapped_column(qs.ForeignKey("ctor_customer.id")),
      shipment_id = orm.mapped_column(qs.ForeignKey("ctor_shipment.id")),
      customer = orm.relationship("Customer", {back_populates = "orders"}),
      shipment = orm.relationship("Shipment", {back_populates = "orders"}),
      checked = orm.validates("note", function(_, _, v) return v and v:upper() end),
    })
    local assoc = qs.Table("ctor_item_tag", Base.metadata,
      qs.Column("item_id", qs.ForeignKey("ctor_item.id"), {primary_key = true}),
      qs.Column("tag_id", qs.ForeignKey("ctor_tag.id"), {primary_key = true}))
    Item = Base:model("Item", {
      __tablename = "ctor_item",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      tags = orm.relationship("Tag", {secondary = assoc, back_populates = "items"}),
    })
    Tag = Base:model("Tag", {
      __tablename = "ctor_tag",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      items = orm.relationship("Item", {secondary = assoc, back_populates = "tags"}),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
  end)

  after_each(function()
    orm.close_all_sessions()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("lays a new object out as a loaded one, with its values and nothing else", function()
    local o = Order({qty = 3, customer_id = qs.null})
    local st = st_of(o)
    local dict = st.dict
    assert.equal(dict, getmetatable(o))
    assert.equal(dict, rawget(dict, "__index"))
    assert.equal(st, getmetatable(dict))
    assert.equal(attributes.InstanceState, getmetatable(st))
    assert.equal(Order.__mapper__.instance_mt.__index, rawget(st, "__index"))
    assert.equal(Order.__mapper__, st.mapper)
    assert.equal(o, st.obj)
    assert.equal(3, o.qty)
    assert.is_nil(rawget(dict, "customer_id"))    -- NULL leaves the key out
    assert.is_nil(o.customer_id)
    assert.equal(1, count(o))                     -- only the state key
    -- mapper, obj, dict, __index: no session, key, loaded, m2o_set yet
    assert.equal(4, count(st))
    assert.is_nil(rawget(st, "modified"))
  end)

  it("runs validators, relationships and hybrids' setters given to the constructor", function()
    local c = Customer({name = "ann"})
    local o = Order({qty = 1, note = "fragile", customer = c})
    assert.equal("FRAGILE", o.note)
    assert.equal(c, o.customer)
    assert.same({o}, c.orders)
    Order.twice = orm.hybrid_property(function(self) return self.qty * 2 end,
      {setter = function(self, v) self.qty = v / 2 end})
    assert.equal(4, Order({twice = 8}).qty)
  end)

  it("refuses bad keys and bad arguments as before", function()
    local err = raises(qs.exc.ArgumentError, function() Order({qty = 1, nosuch = 2}) end)
    assert.matches("'nosuch' is an invalid keyword argument for Order", tostring(err), 1, true)
    raises(qs.exc.ArgumentError, function() Order(5) end)
    raises(qs.exc.ArgumentError, function() Order(Order()) end)
    raises(qs.exc.ArgumentError, function() Order({[1] = 2}) end)
    -- a table with a metatable: read through pairs, as before
    local fields = setmetatable({qty = 7}, {})
    assert.equal(7, Order(fields).qty)
  end)

  it("uses __init when the class has one, and sees one defined later", function()
    local o = Order({qty = 1})
    assert.equal(1, o.qty)
    Order.__init = function(self, f) self.qty = f.n * 10 end
    assert.equal(30, Order({n = 3}).qty)
  end)

  it("sets the polymorphic identity", function()
    local B2 = orm.declarative_base()
    local Person = B2:model("Person", {__tablename = "ctor_person",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      kind = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "person"}})
    local Eng = Person:model("Eng", {__mapper_args = {polymorphic_identity = "eng"}})
    assert.equal("person", Person({}).kind)
    assert.equal("eng", Eng({id = 1}).kind)
  end)

  it("links a new object's first collection without loads: loaded with one key, one shared m2o_set", function()
    local before, members = stats.new_collections, stats.new_members
    local c = Customer({name = "ann"})
    local list = {}
    for j = 1, 10 do list[j] = Order({qty = j}) end
    c.orders = list
    assert.equal(before + 1, stats.new_collections)
    assert.equal(members + 10, stats.new_members)
    local cst = st_of(c)
    assert.equal(list, rawget(cst, "colls").orders)
    assert.same({orders = {}}, rawget(cst, "snap"))
    assert.same({orders = true}, rawget(cst, "loaded"))
    assert.is_true(rawget(cst, "modified"))
    local shared = rawget(st_of(list[1]), "m2o_set")
    assert.is_true(attributes.is_shared_m2o_set(shared))
    for j = 1, 10 do
      local st = st_of(list[j])
      assert.equal(c, list[j].customer)
      assert.same({customer = true}, rawget(st, "loaded"))
      assert.equal(shared, rawget(st, "m2o_set"))
      assert.is_true(rawget(st, "modified"))
    end
    assert.same({customer = true}, shared)
    -- the list is the program's: changes to it are what the flush sees
    table.insert(c.orders, Order({qty = 11}))
    local s = orm.Session(engine)
    s:add(c)
    s:commit()
    local s2 = orm.Session(engine)
    local got = s2:scalars(qs.select(Order):where(Order.customer_id:eq(c.id))):all()
    assert.equal(11, #got)
    s2:close()
    s:close()
  end)

  it("gives a state its own m2o_set before changing a shared one (set, expiry)", function()
    local c, sh = Customer({name = "ann"}), Shipment({})
    local a, b = Order({qty = 1}), Order({qty = 2})
    c.orders = {a, b}
    local shared = rawget(st_of(a), "m2o_set")
    assert.is_true(attributes.is_shared_m2o_set(shared))
    a.shipment = sh
    local own = rawget(st_of(a), "m2o_set")
    assert.is_false(attributes.is_shared_m2o_set(own))
    assert.same({customer = true, shipment = true}, own)
    assert.same({customer = true}, shared)
    assert.equal(shared, rawget(st_of(b), "m2o_set"))
    -- an expiry of the many-to-one forgets it on b's set alone
    local s = orm.Session(engine)
    local c2 = Customer({name = "bob"})
    s:add(c)
    s:add(c2)
    s:add(sh)
    s:commit()
    local bst = st_of(b)
    assert.is_nil(rawget(bst, "m2o_set"))   -- dropped by the flush
    b.customer = c2                          -- a persistent object: the shared set too
    assert.equal(shared, rawget(bst, "m2o_set"))
    s:expire(b, {"customer"})
    assert.same({}, rawget(bst, "m2o_set"))
    assert.same({customer = true}, shared)
    assert.equal(c, b.customer)              -- (the expiry dropped the unflushed change)
    attributes.forget_m2o(st_of(a), "shipment")
    assert.same({customer = true}, shared)
    s:close()
  end)

  it("does not take the new-collection path for a persistent or pending owner", function()
    local s = orm.Session(engine)
    local c = Customer({name = "ann"})
    s:add(c)
    local before = stats.new_collections
    c.orders = {Order({qty = 1})}                  -- pending: in a session
    assert.equal(before, stats.new_collections)
    s:commit()
    c.orders = {Order({qty = 2}), Order({qty = 3})}   -- persistent
    assert.equal(before, stats.new_collections)
    s:commit()
    local s2 = orm.Session(engine)
    assert.equal(2, #s2:get(Customer, c.id).orders)
    s2:close()
    s:close()
  end)

  it("does not take it for many-to-many; links members set elsewhere through set_scalar_plain", function()
    local before, members = stats.new_collections, stats.new_members
    local item, t1, t2 = Item({id = 1}), Tag({id = 1}), Tag({id = 2})
    item.tags = {t1, t2}
    assert.equal(before, stats.new_collections)
    assert.same({item}, t1.items)
    -- a member already in another new owner's collection: the owner takes
    -- the path, the member does not (its many-to-one is set as before)
    local c1, c2 = Customer({name = "a"}), Customer({name = "b"})
    local o, fresh = Order({qty = 1}), Order({qty = 2})
    c1.orders = {o}
    assert.equal(before + 1, stats.new_collections)
    assert.equal(members + 1, stats.new_members)
    local set1 = rawget(st_of(o), "m2o_set")
    c2.orders = {o, fresh}
    assert.equal(before + 2, stats.new_collections)
    assert.equal(members + 2, stats.new_members)    -- fresh only
    assert.equal(c2, o.customer)
    assert.equal(set1, rawget(st_of(o), "m2o_set"))  -- the key was set already
    assert.same({customer = true}, set1)
    -- a member already pointing at the owner is passed over
    c2.orders = {o, fresh}
    assert.equal(before + 2, stats.new_collections)  -- (loaded now: the general path)
  end)

  it("checks every member before changing anything", function()
    local c = Customer({name = "ann"})
    local o = Order({qty = 1})
    local err = raises(qs.exc.ArgumentError, function() c.orders = {o, Customer({})} end)
    assert.matches("expected an instance of Order, got an instance of Customer", tostring(err), 1, true)
    assert.is_nil(rawget(o, STATE).dict.customer)
    raises(qs.exc.ArgumentError, function() c.orders = {o, {}} end)
    raises(qs.exc.ArgumentError, function() c.orders = o end)
  end)
end)

-- The C functions and their LuaJIT twins (orm/construct_jit.lua) on the same cases.
for _, impl in ipairs({{"core", core}, {"construct_jit", construct_jit}}) do
  local name, F = impl[1], impl[2]
  describe("construction's " .. name .. " functions", function()
    local Base, Customer, Order

    before_each(function()
      Base = orm.declarative_base()
      Customer = Base:model("Customer", {
        __tablename = "ctorf_customer",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        orders = orm.relationship("Order", {back_populates = "customer"}),
      })
      Order = Base:model("Order", {
        __tablename = "ctorf_order",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        qty = orm.mapped_column(qs.Integer),
        customer_id = orm.mapped_column(qs.ForeignKey("ctorf_customer.id")),
        customer = orm.relationship("Customer", {back_populates = "orders"}),
      })
      Order({})   -- makes the mapper's constructor spec
    end)

    it("new_instance: the layout, the direct keys, rest for anything else", function()
      local m = Order.__mapper__
      local spec = m._ctor
      local obj, st, rest = F.new_instance(spec, {qty = 2, customer_id = qs.null})
      assert.is_false(rest)
      assert.equal(st, rawget(obj, STATE))
      assert.equal(st.dict, getmetatable(obj))
      assert.equal(st, getmetatable(st.dict))
      assert.equal(2, obj.qty)
      assert.is_nil(rawget(st.dict, "customer_id"))
      assert.equal(m, st.mapper)
      assert.equal(obj, st.obj)
      assert.equal(m.instance_mt.__index, rawget(st, "__index"))
      assert.equal(m.instance_mt.__newindex, rawget(st.dict, "__newindex"))
      assert.equal(m.instance_mt.__tostring, rawget(st.dict, "__tostring"))
      assert.same({false}, {select(3, F.new_instance(spec, nil))})
      assert.is_true(select(3, F.new_instance(spec, {qty = 1, customer = false})))
      assert.is_true(select(3, F.new_instance(spec, 5)))
      assert.is_true(select(3, F.new_instance(spec, setmetatable({}, {}))))
      assert.is_true(select(3, F.new_instance(spec, obj)))
    end)

    it("check_members: the first element not an instance of exactly the mapper", function()
      local m = Order.__mapper__
      local a, b = Order({}), Order({})
      assert.is_nil(F.check_members({}, STATE, m))
      assert.is_nil(F.check_members({a, b}, STATE, m))
      assert.equal(2, F.check_members({a, Customer({}), b}, STATE, m))
      assert.equal(1, F.check_members({{}}, STATE, m))
      assert.equal(2, F.check_members({a, 5}, STATE, m))
    end)

    it("link_members: fresh members linked, one pointing here passed, the first other one returned", function()
      local c, other = Customer({}), Customer({})
      local shared = {customer = true}
      local a, b, d, e = Order({}), Order({}), Order({}), Order({})
      st_of(b).dict.customer = c             -- pointing here already
      st_of(d).loaded = {customer = true}    -- a relationship read or set
      local fresh, stop = F.link_members({a, b, d, e}, 1, c, "customer", STATE, shared)
      assert.equal(1, fresh)
      assert.equal(3, stop)
      assert.equal(c, st_of(a).dict.customer)
      assert.same({customer = true}, rawget(st_of(a), "loaded"))
      assert.equal(shared, rawget(st_of(a), "m2o_set"))
      assert.is_true(rawget(st_of(a), "modified"))
      assert.is_nil(rawget(st_of(b), "m2o_set"))
      assert.is_nil(st_of(d).dict.customer)
      fresh, stop = F.link_members({a, b, d, e}, 4, other, "customer", STATE, shared)
      assert.equal(1, fresh)
      assert.equal(5, stop)
      assert.equal(other, st_of(e).dict.customer)
    end)
  end)
end
