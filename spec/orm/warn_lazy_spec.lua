-- The N+1 detector: orm.Session(bind, {warn_lazy = "warn" | "raise"})
-- notices the same relationship lazily loaded object by object across the
-- objects of one result, and names it and the option that fixes it.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local nplusone = require("quicksilver.orm.nplusone")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("warn_lazy (N+1 detector)", function()
  local Base, User, Address, engine, warned, prev

  before_each(function()
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "nq_user",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30)),
      addresses = orm.relationship("Address", {back_populates = "user", order_by = "Address.id"}),
    })
    Address = Base:model("Address", {
      __tablename = "nq_address",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      email = orm.mapped_column(qs.String(50)),
      user_id = orm.mapped_column(qs.Integer, qs.ForeignKey("nq_user.id")),
      user = orm.relationship("User", {back_populates = "addresses"}),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    for i = 1, 3 do
      s:add(User({name = "u" .. i, addresses = {Address({email = i .. "a"}), Address({email = i .. "b"})}}))
    end
    s:commit()
    s:close()
    warned = {}
    prev = orm.set_lazy_warning(function(msg, info) warned[#warned + 1] = {msg = msg, info = info} end)
  end)

  after_each(function()
    orm.set_lazy_warning(prev)
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("warns once, at the second lazy load of one relationship from one result", function()
    local s = orm.Session(engine, {warn_lazy = "warn"})
    local users = s:scalars(qs.select(User):order_by(User.id)):all()
    assert.equal(2, #users[1].addresses)
    assert.equal(0, #warned)
    assert.equal(2, #users[2].addresses)
    assert.equal(1, #warned)
    assert.truthy(warned[1].msg:find("User.addresses", 1, true))
    assert.truthy(warned[1].msg:find("orm.selectinload(User.addresses)", 1, true))
    assert.equal("User.addresses", warned[1].info.relationship)
    local _ = users[3].addresses
    assert.equal(1, #warned)                     -- once per result and relationship
  end)

  it("raises NPlusOneError (an InvalidRequestError) with warn_lazy = 'raise'", function()
    local s = orm.Session(engine, {warn_lazy = "raise"})
    local users = s:scalars(qs.select(User):order_by(User.id)):all()
    local _ = users[1].addresses
    local err = raises(qs.exc.NPlusOneError, function() return users[2].addresses end)
    assert.truthy(err:is_a(qs.exc.InvalidRequestError))
    assert.truthy(tostring(err):find("User.addresses", 1, true))
    assert.truthy(tostring(err):find("selectinload", 1, true))
    assert.equal("User.addresses", err.relationship)
    assert.equal("orm.selectinload(User.addresses)", err.option)
  end)

  it("suggests joinedload for a many-to-one that sends SQL; identity-map hits do not count", function()
    local s = orm.Session(engine, {warn_lazy = "raise"})
    -- users in the identity map: address.user is answered without SQL
    local _ = s:scalars(qs.select(User)):all()
    local addrs = s:scalars(qs.select(Address)):all()
    for _, a in ipairs(addrs) do local _u = a.user end
    s:close()
    local s2 = orm.Session(engine, {warn_lazy = "raise"})
    addrs = s2:scalars(qs.select(Address):order_by(Address.id)):all()
    local _u = addrs[1].user
    local _u2 = addrs[2].user                     -- same user: in the map now, no SQL
    local err = raises(qs.exc.NPlusOneError, function() return addrs[3].user end)
    assert.truthy(tostring(err):find("orm.joinedload(Address.user)", 1, true))
  end)

  it("says nothing when the option loads it, or for loads after a single get", function()
    local s = orm.Session(engine, {warn_lazy = "raise"})
    local users = s:scalars(qs.select(User):options(orm.selectinload(User.addresses))):all()
    for _, u in ipairs(users) do assert.equal(2, #u.addresses) end
    s:close()
    for id = 1, 3 do
      local u = s:get(User, id)
      assert.equal(2, #u.addresses)
      local _ = u.addresses[1].user
    end
    s:close()
    -- one object's graph: the user's addresses form a result of their own,
    -- their many-to-one back to the user is in the identity map
    local u = s:scalars(qs.select(User):where(User.id:eq(1))):one()
    for _, a in ipairs(u.addresses) do local _ = a.user end
  end)

  it("is off by default and then makes no groups", function()
    local before = nplusone.stats.groups
    local s = orm.Session(engine)
    local users = s:scalars(qs.select(User)):all()
    for _, u in ipairs(users) do local _ = u.addresses end
    assert.equal(before, nplusone.stats.groups)
    assert.equal(0, #warned)
    assert.is_nil(rawget(rawget(users[1], require("quicksilver.orm.attributes").STATE), "nplus"))
  end)

  it("is a sessionmaker option, takes a function, and refuses other values", function()
    local got = {}
    local maker = orm.sessionmaker({bind = engine, warn_lazy = function(msg) got[#got + 1] = msg end})
    local s = maker()
    local users = s:scalars(qs.select(User)):all()
    for _, u in ipairs(users) do local _ = u.addresses end
    assert.equal(1, #got)
    raises(qs.exc.ArgumentError, function() return orm.Session(engine, {warn_lazy = "loud"}) end)
    raises(qs.exc.ArgumentError, function() return orm.set_lazy_warning("x") end)
  end)

  it("does not count the lazy loads a flush makes (delete cascade)", function()
    local s = orm.Session(engine, {warn_lazy = "raise"})
    local addrs = s:scalars(qs.select(Address)):all()
    for _, a in ipairs(addrs) do s:delete(a) end
    local users = s:scalars(qs.select(User)):all()
    for _, u in ipairs(users) do s:delete(u) end
    s:commit()
    assert.equal(0, s:scalar(qs.select(qs.func.count()):select_from(Base.metadata.tables.nq_user)))
  end)
end)
