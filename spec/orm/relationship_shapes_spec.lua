-- Relationship shapes beyond the plain one-to-many: one-to-one, custom
-- primaryjoin (viewonly), a many-to-many with custom join conditions,
-- several foreign keys to one table.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")
local raises = helpers.assert_raises_kind

describe("relationship shapes", function()
  local engine, s

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    orm.close_all_sessions()
    if s then s:close() end
    engine:dispose()
    helpers.cleanup()
  end)

  it("one-to-one with uselist = false keeps a scalar on both sides", function()
    local Base = orm.declarative_base()
    local User = Base:model("User", {__tablename = "users", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      profile = orm.relationship("Profile", {uselist = false, back_populates = "user", cascade = "all, delete-orphan"})})
    local Profile = Base:model("Profile", {__tablename = "profiles",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      bio = orm.mapped_column(qs.String(50)),
      user_id = orm.mapped_column(qs.ForeignKey("users.id")),
      user = orm.relationship("User", {back_populates = "profile"})})
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    local u = User({name = "x"})
    local p = Profile({bio = "hello"})
    u.profile = p
    assert.equal(u, p.user)
    s:add(u)
    s:commit()
    s:close()
    local u2 = s:get(User, 1)
    assert.equal("hello", u2.profile.bio)
    assert.equal(u2, u2.profile.user)
    u2.profile = Profile({bio = "new"})        -- the old one is an orphan
    s:commit()
    assert.equal(1, s:scalar(qs.select(qs.func.count()):select_from(Profile)))
    assert.equal("new", s:get(User, 1).profile.bio)
  end)

  it("a custom primaryjoin loads a filtered view, every strategy", function()
    local User, Address
    local m = fixtures.user_address({email = "city", user = function()
      return {boston = orm.relationship("Address", {viewonly = true,
        primaryjoin = function() return qs.and_(User.id:eq(Address.user_id), Address.city:eq("Boston")) end})}
    end})
    local Base
    Base, User, Address = m.Base, m.User, m.Address
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    s:add(User({name = "a", addresses = {Address({city = "Boston"}), Address({city = "NYC"})}}))
    s:add(User({name = "b", addresses = {Address({city = "Boston"})}}))
    s:commit()
    s:close()
    local u = s:get(User, 1)
    assert.equal(2, #u.addresses)
    assert.equal(1, #u.boston)
    assert.equal("Boston", u.boston[1].city)
    s:close()
    local us = s:scalars(qs.select(User):options(orm.selectinload(User.boston)):order_by(User.id)):all()
    assert.same({1, 1}, {#us[1].boston, #us[2].boston})
    s:close()
    us = s:scalars(qs.select(User):options(orm.joinedload(User.boston)):order_by(User.id)):unique():all()
    assert.same({1, 1}, {#us[1].boston, #us[2].boston})
    assert.equal(2, #s:scalars(qs.select(User):where(User.boston:any())):all())
    -- viewonly: changing it writes nothing
    table.remove(us[1].boston, 1)
    s:commit()
    assert.equal(3, s:scalar(qs.select(qs.func.count()):select_from(Address)))
    raises(qs.exc.ArgumentError, function()
      local B = orm.declarative_base()
      local X = B:model("X", {__tablename = "x", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        ys = orm.relationship("Y", {primaryjoin = "X.id == Y.x_id"})})
      B:model("Y", {__tablename = "y", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        x_id = orm.mapped_column(qs.ForeignKey("x.id"))})
      X({})
    end)
  end)

  it("a many-to-many with custom primaryjoin and secondaryjoin", function()
    local Base = orm.declarative_base()
    local link = qs.Table("link", Base.metadata,
      qs.Column("a_id", qs.ForeignKey("a.id"), {primary_key = true}),
      qs.Column("b_id", qs.ForeignKey("b.id"), {primary_key = true}),
      qs.Column("active", qs.Boolean, {default = true}))
    local A, B
    A = Base:model("A", {__tablename = "a", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      bs = orm.relationship("B", {secondary = link}),
      active_bs = orm.relationship("B", {secondary = link, viewonly = true,
        primaryjoin = function() return qs.and_(A.id:eq(link.c.a_id), link.c.active:eq(true)) end,
        secondaryjoin = function() return B.id:eq(link.c.b_id) end})})
    B = Base:model("B", {__tablename = "b", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(10))})
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    s:add(A({bs = {B({name = "x"}), B({name = "y"})}}))
    s:commit()
    s:execute(qs.update(link):where(link.c.b_id:eq(2)):values({active = false}))
    s:commit()
    s:close()
    local a = s:get(A, 1)
    assert.equal(2, #a.bs)
    assert.equal(1, #a.active_bs)
    assert.equal("x", a.active_bs[1].name)
  end)
end)
