-- Declarative mapping, class and instance attributes, configuration errors,
-- hybrids and single-table inheritance (SQLite; the behaviour suite in
-- spec/backend/ runs the session and unit of work on every backend).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")
local raises = helpers.assert_raises_kind

local function models()
  local m = fixtures.user_address({tables = {"user_account", "address"}, strict = true,
    email_column = "email_address", addresses = {cascade = "all, delete-orphan"},
    user = function() return {fullname = orm.mapped_column(qs.String)} end})
  return m.Base, m.User, m.Address
end

describe("declarative mapping", function()
  it("builds tables with columns in declaration order", function()
    local Base, User, Address = models()
    local t = Base.metadata.tables.user_account
    assert.equal(User.__table__, t)
    local names = {}
    for i, c in ipairs(t.columns) do names[i] = c.name end
    assert.same({"id", "name", "fullname"}, names)
    assert.equal("email_address", Address.__table__.columns[2].name)
    assert.is_true(t.c.id.primary_key)
  end)

  it("gives columns as SQL expressions on the class", function()
    local _, User, Address = models()
    assert.equal(User.__table__.c.name, User.name)
    local sql = tostring(qs.select(User.id):where(User.name:eq("ed")))
    assert.matches("WHERE user_account.name = ?", sql, 1, true)
    -- the attribute maps to a differently named column
    assert.matches("address.email_address", tostring(qs.select(Address.email)), 1, true)
  end)

  it("constructs instances from fields and refuses unknown names", function()
    local _, User = models()
    local u = User({name = "ed", fullname = "Ed Jones"})
    assert.equal("ed", u.name)
    assert.is_nil(u.id)   -- a NULL column is nil, never the class attribute
    local err = raises(qs.exc.ArgumentError, function() User({nmae = "x"}) end)
    assert.matches("'nmae' is an invalid keyword argument for User", tostring(err), 1, true)
    raises(qs.exc.ArgumentError, function() User("ed") end)
  end)

  it("keeps methods on the class and plain fields on instances", function()
    local _, User = models()
    function User:greeting() return "hi " .. self.name end
    local u = User({name = "sandy"})
    assert.equal("hi sandy", u:greeting())
    u.scratch = 5          -- not mapped: a plain field
    assert.equal(5, rawget(u, "scratch"))
    assert.is_nil(rawget(u, "name"))   -- mapped values live in the state
  end)

  it("refuses reserved and unknown spec keys", function()
    local Base = orm.declarative_base()
    raises(qs.exc.ArgumentError, function()
      Base:model("A", {__tablename = "a", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        metadata = orm.mapped_column(qs.String(5))})
    end)
    raises(qs.exc.ArgumentError, function()
      Base:model("B", {__tablename = "b", __tabelname = "x", id = orm.mapped_column(qs.Integer, {primary_key = true})})
    end)
    raises(qs.exc.ArgumentError, function()
      Base:model("C", {id = orm.mapped_column(qs.Integer, {primary_key = true})})
    end)
    local err = raises(qs.exc.ArgumentError, function()
      Base:model("D", {__tablename = "d", x = orm.mapped_column(qs.Integer)})
    end)
    assert.matches("primary key", tostring(err))
  end)

  it("resolves relationship targets by name at first use (forward references)", function()
    local Base = orm.declarative_base()
    local Parent = Base:model("Parent", {
      __tablename = "parent",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      children = orm.relationship("Child", {backref = "parent"}),
    })
    local Child = Base:model("Child", {
      __tablename = "child",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      parent_id = orm.mapped_column(qs.Integer, qs.ForeignKey("parent.id")),
    })
    local m = orm.inspect(Parent)
    assert.equal("ONETOMANY", m.relationships.children.direction)
    assert.equal("MANYTOONE", orm.inspect(Child).relationships.parent.direction)
    local c = Child({})
    local p = Parent({children = {c}})
    assert.equal(p, c.parent)   -- the backref follows the assignment
  end)

  it("names a missing target class", function()
    local Base = orm.declarative_base()
    local A = Base:model("A", {__tablename = "a", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      bs = orm.relationship("Bee")})
    local err = raises(qs.exc.InvalidRequestError, function() A({}) end)
    assert.matches("no class named 'Bee'", tostring(err), 1, true)
  end)

  it("reports missing and ambiguous foreign keys", function()
    local Base = orm.declarative_base()
    local A = Base:model("A", {__tablename = "a", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      bs = orm.relationship("B")})
    Base:model("B", {__tablename = "b", id = orm.mapped_column(qs.Integer, {primary_key = true})})
    raises(qs.exc.NoForeignKeysError, function() A({}) end)

    local Base2 = orm.declarative_base()
    local Order = Base2:model("Order", {__tablename = "orders", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      billing_id = orm.mapped_column(qs.ForeignKey("addr.id")),
      shipping_id = orm.mapped_column(qs.ForeignKey("addr.id")),
      billing = orm.relationship("Addr")})
    Base2:model("Addr", {__tablename = "addr", id = orm.mapped_column(qs.Integer, {primary_key = true})})
    raises(qs.exc.AmbiguousForeignKeysError, function() Order({}) end)

    local Base3 = orm.declarative_base()
    local O3 = Base3:model("Order", {__tablename = "orders", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      billing_id = orm.mapped_column(qs.ForeignKey("addr.id")),
      shipping_id = orm.mapped_column(qs.ForeignKey("addr.id")),
      billing = orm.relationship("Addr", {foreign_keys = "Order.billing_id"}),
      shipping = orm.relationship("Addr", {foreign_keys = {"Order.shipping_id"}})})
    Base3:model("Addr", {__tablename = "addr", id = orm.mapped_column(qs.Integer, {primary_key = true})})
    local m = orm.inspect(O3)
    assert.equal(O3.billing_id, m.relationships.billing.pairs[1].local_col)
    assert.equal(O3.shipping_id, m.relationships.shipping.pairs[1].local_col)
  end)

  it("checks relationship options and cascades when declared", function()
    raises(qs.exc.ArgumentError, function() orm.relationship("X", {lazzy = "select"}) end)
    raises(qs.exc.ArgumentError, function() orm.relationship("X", {lazy = "eventually"}) end)
    local Base = orm.declarative_base()
    raises(qs.exc.ArgumentError, function()
      Base:model("A", {__tablename = "a", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        bs = orm.relationship("B", {cascade = "all, explode"})})
    end)
  end)

  it("checks what is assigned to a relationship", function()
    local _, User, Address = models()
    local u = User({name = "x"})
    raises(qs.exc.ArgumentError, function() u.addresses = {User({name = "y"})} end)
    raises(qs.exc.ArgumentError, function() u.addresses = "nope" end)
    local a = Address({email = "e"})
    raises(qs.exc.ArgumentError, function() a.user = a end)
    raises(qs.exc.ArgumentError, function() a.user = {} end)
  end)

  it("keeps both sides of back_populates in step", function()
    local _, User, Address = models()
    local u1, u2 = User({name = "a"}), User({name = "b"})
    local a = Address({email = "e"})
    assert.equal(0, #u1.addresses)       -- loaded (empty) for a new object
    a.user = u1
    assert.equal(1, #u1.addresses)
    a.user = u2                          -- moves: out of u1, into u2
    assert.equal(0, #u1.addresses)
    assert.equal(a, u2.addresses[1])
    a.user = nil
    assert.equal(0, #u2.addresses)
    u1.addresses = {a}
    assert.equal(u1, a.user)
  end)

  it("inspects classes and instances", function()
    local _, User = models()
    local m = orm.inspect(User)
    assert.equal(User, m.class)
    assert.equal(User.__table__, m.local_table)
    assert.equal(User.name, m.columns.name)
    assert.truthy(m.relationships.addresses)
    assert.truthy(m.attrs.fullname)
    local u = User({name = "x"})
    local st = orm.inspect(u)
    assert.is_true(st.transient)
    assert.is_false(st.pending)
    assert.equal(m, st.mapper)
    raises(qs.exc.NoInspectionAvailable, function() orm.inspect(42) end)
    raises(qs.exc.NoInspectionAvailable, function() orm.inspect({}) end)
  end)
end)

describe("hybrid attributes", function()
  local Base, Interval, engine

  before_each(function()
    Base = orm.declarative_base()
    Interval = Base:model("Interval", {
      __tablename = "interval",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      start = orm.mapped_column(qs.Integer, {nullable = false}),
      finish = orm.mapped_column("end", qs.Integer, {nullable = false}),
    })
    Interval.length = orm.hybrid_property(function(self) return self.finish - self.start end)
    Interval.contains = orm.hybrid_method(function(self, p) return self.start <= p and p <= self.finish end,
      {expression = function(cls, p) return qs.and_(cls.start:le(p), cls.finish:ge(p)) end})
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
  end)

  after_each(function() orm.close_all_sessions(); engine:dispose(); helpers.cleanup() end)

  it("runs on instances with Lua values and on the class as SQL", function()
    local i = Interval({start = 5, finish = 12})
    assert.equal(7, i.length)
    assert.is_true(i:contains(6))
    assert.is_false(i:contains(20))
    local sql = tostring(qs.select(Interval.id):where(Interval.length:gt(10)))
    assert.matches('"interval"."end" - "interval"."start" > ?', sql, 1, true)
    local s = orm.Session(engine)
    s:add_all({Interval({start = 1, finish = 3}), Interval({start = 1, finish = 30})})
    s:commit()
    local long = s:scalars(qs.select(Interval):where(Interval.length:gt(10))):all()
    assert.equal(1, #long)
    assert.equal(29, long[1].length)
    assert.equal(2, #s:scalars(qs.select(Interval):where(Interval:contains(2))):all())
    -- in ORDER BY and in the SELECT list
    local ordered = s:scalars(qs.select(Interval):order_by(Interval.length:desc())):all()
    assert.same({29, 2}, {ordered[1].length, ordered[2].length})
    local lengths = s:execute(qs.select(Interval.id, Interval.length:label("len")):order_by(Interval.id)):all()
    assert.same({2, 29}, {lengths[1].len, lengths[2].len})
    s:close()
  end)

  it("has no setter unless given one", function()
    local i = Interval({start = 1, finish = 2})
    raises(qs.exc.ArgumentError, function() i.length = 5 end)
    Interval.span = orm.hybrid_property(function(self) return self.finish - self.start end,
      {setter = function(self, v) self.finish = self.start + v end})
    i.span = 10
    assert.equal(11, i.finish)
  end)
end)

describe("single-table inheritance", function()
  local Base, Item, Box, engine

  before_each(function()
    Base = orm.declarative_base()
    Item = Base:model("Item", {
      __tablename = "item",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      kind = orm.mapped_column(qs.String(10)),
      width = orm.mapped_column(qs.Integer),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "item"},
    })
    function Item:describe() return "item " .. self.width end
    Box = Item:model("Box", {lid = orm.mapped_column(qs.Boolean),
      __mapper_args = {polymorphic_identity = "box"}})
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
  end)

  after_each(function() orm.close_all_sessions(); engine:dispose(); helpers.cleanup() end)

  it("adds the subclass columns to the one table and inherits methods", function()
    assert.truthy(rawget(Item.__table__.c, "lid"))
    assert.equal(Item.__table__, Box.__table__)
    local b = Box({width = 3, lid = true})
    assert.equal("item 3", b:describe())
    assert.equal("box", b.kind)
    raises(qs.exc.ArgumentError, function() Item({lid = true}) end)   -- not an Item attribute
  end)

  it("writes the discriminator and loads each row as its class", function()
    local s = orm.Session(engine)
    s:add_all({Item({width = 1}), Box({width = 2, lid = true}), Box({width = 3, lid = false})})
    s:commit()
    s:close()
    local all = s:scalars(qs.select(Item):order_by(Item.id)):all()
    assert.equal(Item, orm.inspect(all[1]).mapper.class)
    assert.equal(Box, orm.inspect(all[2]).mapper.class)
    assert.is_true(all[2].lid)
    local boxes = s:scalars(qs.select(Box)):all()   -- only the box identity
    assert.equal(2, #boxes)
    assert.equal(all[3], s:get(Box, all[3].id))      -- the identity map is shared
    assert.is_nil(s:get(Box, all[1].id))             -- an Item is not a Box
    s:close()
  end)

  it("refuses duplicate identities and stray polymorphic options", function()
    raises(qs.exc.ArgumentError, function()
      Item:model("Crate", {__mapper_args = {polymorphic_identity = "box"}})
    end)
    raises(qs.exc.ArgumentError, function()   -- a joined subclass's key must reference the parent's
      Item:model("Joined", {__tablename = "joined", id = orm.mapped_column(qs.Integer, {primary_key = true})})
    end)
  end)
end)
