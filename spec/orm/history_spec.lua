-- orm.inspect(obj).attrs.x.history / value / loaded_value and orm.get_history
-- (orm/history.lua): columns, collections, many-to-ones, not loaded.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

describe("attribute history", function()
  local Base, User, Address, engine

  before_each(function()
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "h_users",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      note = orm.mapped_column(qs.String(20)),
      addresses = orm.relationship("Address", {back_populates = "user"}),
    })
    Address = Base:model("Address", {
      __tablename = "h_addresses",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      email = orm.mapped_column(qs.String(40)),
      user_id = orm.mapped_column(qs.Integer, qs.ForeignKey("h_users.id")),
      user = orm.relationship("User", {back_populates = "addresses"}),
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

  it("gives a scalar's added, unchanged and deleted values", function()
    local s = orm.Session(engine)
    local u = User({id = 1, name = "ann"})
    local h = orm.inspect(u).attrs.name.history
    assert.same({"ann"}, h.added)
    assert.same({}, h.unchanged)
    assert.same({}, orm.get_history(u, "note").added)   -- never set
    s:add(u)
    s:commit()
    u = s:get(User, 1)
    h = orm.inspect(u).attrs.name.history
    assert.same({}, h.added)
    assert.same({"ann"}, h.unchanged)
    assert.is_false(h:has_changes())
    u.name = "bob"
    h = orm.get_history(u, "name")
    assert.same({"bob"}, h.added)
    assert.same({}, h.unchanged)
    assert.same({"ann"}, h.deleted)
    assert.is_true(h:has_changes())
    assert.is_true(orm.inspect(u).attrs.name.modified)
    assert.is_true(orm.inspect(u).unmodified.note)
    assert.is_nil(orm.inspect(u).unmodified.name)
    -- NULL is listed as qs.null
    u.note = "x"
    s:flush()
    u.note = nil
    h = orm.get_history(u, "note")
    assert.equal(qs.null, h.added[1])
    assert.same({"x"}, h.deleted)
    -- set back to the same value: unchanged
    u.name = "ann"
    s:flush()
    u.name = "ann"
    assert.is_false(orm.get_history(u, "name"):has_changes())
    s:close()
  end)

  it("gives value (loading) and loaded_value (never loading)", function()
    local s = orm.Session(engine)
    s:add(User({id = 1, name = "ann"}))
    s:commit()   -- expires everything
    local u = s:get(User, 1)
    s:expire(u)
    local a = orm.inspect(u).attrs
    assert.equal(orm.NO_VALUE, a.name.loaded_value)
    assert.is_true(orm.get_history(u, "name"):empty())   -- not loaded: empty lists
    assert.equal("ann", a.name.value)                   -- loads
    assert.equal("ann", a.name.loaded_value)
    assert.equal(orm.NO_VALUE, a.addresses.loaded_value)
    local keys = {}
    for k, attr in pairs(orm.inspect(u).attrs) do keys[#keys + 1] = k; assert.equal(k, attr.key) end
    table.sort(keys)
    assert.same({"addresses", "id", "name", "note"}, keys)
    s:close()
  end)

  it("gives a collection's members added and removed since the load", function()
    local s = orm.Session(engine)
    local a1, a2 = Address({id = 1, email = "a"}), Address({id = 2, email = "b"})
    s:add(User({id = 1, name = "ann", addresses = {a1, a2}}))
    s:commit()
    local u = s:get(User, 1)
    local h = orm.get_history(u, "addresses")
    assert.same({}, h.added)          -- not loaded yet
    assert.equal(2, #u.addresses)
    h = orm.get_history(u, "addresses")
    assert.equal(2, #h.unchanged)
    local old = u.addresses[1]
    local a3 = Address({id = 3, email = "c"})
    table.remove(u.addresses, 1)
    table.insert(u.addresses, a3)
    h = orm.get_history(u, "addresses")
    assert.same({a3}, h.added)
    assert.same({old}, h.deleted)
    assert.equal(1, #h.unchanged)
    s:flush()
    h = orm.get_history(u, "addresses")
    assert.same({}, h.added)
    assert.equal(2, #h.unchanged)
    s:close()
  end)

  it("gives a many-to-one's new and previous target", function()
    local s = orm.Session(engine)
    s:add(User({id = 1, name = "ann", addresses = {Address({id = 1, email = "a"})}}))
    s:add(User({id = 2, name = "bob"}))
    s:commit()
    local u1, u2 = s:get(User, 1), s:get(User, 2)
    local a = s:get(Address, 1)
    assert.is_true(orm.inspect(a).attrs.user.history:empty())   -- not loaded: not loaded by history
    assert.equal(u1, a.user)
    assert.same({u1}, orm.inspect(a).attrs.user.history.unchanged)
    a.user = u2
    local h = orm.get_history(a, "user")
    assert.same({u2}, h.added)
    assert.same({u1}, h.deleted)
    assert.equal(u2, orm.inspect(a).attrs.user.value)
    s:close()
  end)

  it("refuses an unknown attribute by name", function()
    local u = User({id = 1})
    local ok, err = pcall(orm.get_history, u, "nope")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("nope"))
    assert.has_error(function() orm.get_history({}, "name") end)
  end)
end)
