-- Loader strategies and options, counted in statements: lazy (N+1),
-- selectin (2 for any number of parents), joined (1; unique() required for
-- collections), raise and noload, chained paths.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")
local raises = helpers.assert_raises_kind

describe("loader strategies", function()
  local Base, User, Address, Tag, engine, s, sqls

  local function selects()
    local n = 0
    for _, q in ipairs(sqls) do if q:find("^SELECT") then n = n + 1 end end
    return n
  end

  before_each(function()
    local m = fixtures.user_address({addresses = {order_by = "Address.email"},
      address = {tags = orm.relationship("Tag", {lazy = "raise"})}})
    Base, User, Address = m.Base, m.User, m.Address
    Tag = Base:model("Tag", {
      __tablename = "tags",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      label = orm.mapped_column(qs.String(20)),
      address_id = orm.mapped_column(qs.ForeignKey("addresses.id")),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    for i = 1, 6 do
      s:add(User({name = "u" .. i, addresses = {Address({email = "b" .. i}), Address({email = "a" .. i})}}))
    end
    s:add(User({name = "none"}))
    s:commit()
    s:close()
    sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql) sqls[#sqls + 1] = sql end)
  end)

  after_each(function()
    orm.close_all_sessions()
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)

  it("lazy loading costs one SELECT per parent", function()
    local users = s:scalars(qs.select(User)):all()
    for _, u in ipairs(users) do local _ = #u.addresses end
    assert.equal(1 + #users, selects())
    assert.equal("a1", users[1].addresses[1].email)   -- order_by
  end)

  it("selectinload of a many-to-one: one SELECT of the targets not in the identity map", function()
    s:add(Address({email = "orphan"}))
    s:commit()
    local u2 = s:get(User, 2)
    local rec = helpers.recorder(engine)
    local addrs = s:scalars(qs.select(Address):options(orm.selectinload(Address.user)):order_by(Address.id)):all()
    local sel = {}
    for _, r in ipairs(rec) do if r.sql:find("^SELECT") then sel[#sel + 1] = r end end
    assert.equal(2, #sel)
    -- the users of the 12 addresses but user 2, who is in the identity map
    local list = assert(sel[2].sql:match(" IN %(([^)]*)%)"))
    assert.equal(5, select(2, list:gsub("[^,]+", "")))
    assert.equal(13, #addrs)
    for i = 1, 12 do assert.equal("u" .. math.floor((i + 1) / 2), addrs[i].user.name) end
    assert.equal(u2, addrs[3].user)
    assert.is_nil(addrs[13].user)
    assert.equal(2, #helpers.matching(rec, "^SELECT"))   -- nothing loaded on access
  end)

  it("selectinload costs two SELECTs for any number of parents", function()
    local users = s:scalars(qs.select(User):options(orm.selectinload(User.addresses))):all()
    local total = 0
    for _, u in ipairs(users) do total = total + #u.addresses end
    assert.equal(12, total)
    assert.equal(2, selects())
    assert.equal("a3", users[3].addresses[1].email)
    assert.equal(users[3], users[3].addresses[1].user)   -- the back side from the identity map
    assert.equal(2, selects())
  end)

  it("joinedload costs one SELECT and needs unique() for collections", function()
    raises(qs.exc.InvalidRequestError, function()
      s:scalars(qs.select(User):options(orm.joinedload(User.addresses))):all()
    end)
    sqls = {}
    local users = s:scalars(qs.select(User):options(orm.joinedload(User.addresses)):order_by(User.id)):unique():all()
    assert.equal(7, #users)
    assert.equal(1, selects())
    assert.matches("LEFT OUTER JOIN addresses AS addresses_1", sqls[1], 1, true)
    assert.same({"a2", "b2"}, {users[2].addresses[1].email, users[2].addresses[2].email})
    assert.equal(0, #users[7].addresses)
    assert.equal(1, selects())
    -- a many-to-one joins without repeating rows
    s:close()
    sqls = {}
    local addrs = s:scalars(qs.select(Address):options(orm.joinedload(Address.user))):all()
    assert.equal(12, #addrs)
    assert.equal("u1", addrs[1].user.name)
    assert.equal(1, selects())
  end)

  it("joinedload under LIMIT loads the collection by selectin", function()
    local two = s:scalars(qs.select(User):options(orm.joinedload(User.addresses)):order_by(User.id):limit(2)):all()
    assert.equal(2, #two)
    assert.equal(2, #two[2].addresses)
    assert.equal(2, selects())
  end)

  it("chains options along a path", function()
    s:add(Tag({label = "t", address_id = 1}))
    s:commit()
    s:close()
    sqls = {}
    local users = s:scalars(qs.select(User):where(User.id:eq(1))
      :options(orm.selectinload(User.addresses):selectinload(Address.tags))):all()
    local a = users[1].addresses
    local labels = {}
    for _, ad in ipairs(a) do for _, t in ipairs(ad.tags) do labels[#labels + 1] = t.label end end
    assert.same({"t"}, labels)
    assert.equal(3, selects())
    raises(qs.exc.ArgumentError, function() orm.selectinload(User.addresses):selectinload(User.addresses) end)
    raises(qs.exc.ArgumentError, function() orm.selectinload(User.name) end)
  end)

  it("raise and noload, from the relationship or per query", function()
    local a = s:scalars(qs.select(Address)):first()
    local err = raises(qs.exc.InvalidRequestError, function() return a.tags end)
    assert.matches("Address.tags", tostring(err), 1, true)
    s:close()
    local u = s:scalars(qs.select(User):options(orm.raiseload(User.addresses))):first()
    raises(qs.exc.InvalidRequestError, function() return u.addresses end)
    s:close()
    local n = s:scalars(qs.select(User):options(orm.noload(User.addresses))):first()
    assert.equal(0, #n.addresses)
    s:close()
    local l = s:scalars(qs.select(Address):options(orm.lazyload(Address.tags))):first()
    assert.equal(0, #l.tags)           -- lazyload overrides lazy = "raise"
  end)
end)

describe("criteria along relationships", function()
  local Base, User, Address, engine, s

  before_each(function()
    local m = fixtures.user_address()
    Base, User, Address = m.Base, m.User, m.Address
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    s:add(User({name = "a", addresses = {Address({email = "x@a"}), Address({email = "y@b"})}}))
    s:add(User({name = "b"}))
    s:commit()
  end)

  after_each(function()
    orm.close_all_sessions()
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)

  local function names(stmt)
    local out = {}
    for i, o in ipairs(s:scalars(stmt):all()) do out[i] = o.name or o.email end
    table.sort(out)
    return out
  end

  it("any() and has() are correlated EXISTS", function()
    assert.same({"a"}, names(qs.select(User):where(User.addresses:any())))
    assert.same({"a"}, names(qs.select(User):where(User.addresses:any(Address.email:like("%@b")))))
    assert.same({}, names(qs.select(User):where(User.addresses:any(Address.email:eq("none")))))
    assert.same({"b"}, names(qs.select(User):where(qs.not_(User.addresses:any()))))
    assert.same({"x@a", "y@b"}, names(qs.select(Address):where(Address.user:has(User.name:eq("a")))))
    assert.matches("EXISTS (SELECT 1 FROM addresses WHERE users.id = addresses.user_id)",
      tostring(qs.select(User.id):where(User.addresses:any())), 1, true)
    raises(qs.exc.InvalidRequestError, function() Address.user:any() end)
    raises(qs.exc.InvalidRequestError, function() User.addresses:has() end)
    raises(qs.exc.ArgumentError, function() User.addresses:any(true) end)
  end)

  it("compares a many-to-one with an object and a collection with a member", function()
    local a = s:get(User, 1)
    assert.same({"x@a", "y@b"}, names(qs.select(Address):where(Address.user:eq(a))))
    assert.same({}, names(qs.select(Address):where(Address.user:eq(nil))))
    local x = s:scalars(qs.select(Address):where(Address.email:eq("x@a"))):one()
    assert.same({"a"}, names(qs.select(User):where(User.addresses:contains(x))))
    raises(qs.exc.InvalidRequestError, function() User.addresses:eq(x) end)
  end)
end)

describe("aliases, column loading and more strategies", function()
  local Base, User, Address, Node, engine, s, sqls

  local function selects()
    local n = 0
    for _, q in ipairs(sqls) do if q:find("^SELECT") then n = n + 1 end end
    return n
  end

  before_each(function()
    local m = fixtures.user_address({addresses = {order_by = "Address.email"},
      user = function()
        return {email = orm.mapped_column(qs.String(20)), bio = orm.mapped_column(qs.Text, {deferred = true})}
      end})
    Base, User, Address = m.Base, m.User, m.Address
    Node = fixtures.node({base = Base}).Node
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    for i = 1, 3 do
      s:add(User({name = "u" .. i, email = "e" .. i, bio = "bio " .. i,
        addresses = {Address({email = i .. "b"}), Address({email = i .. "a"})}}))
    end
    s:add(Node({name = "root", children = {Node({name = "a"}), Node({name = "b"})}}))
    s:commit()
    s:close()
    sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql) sqls[#sqls + 1] = sql end)
  end)

  after_each(function()
    orm.close_all_sessions()
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)

  it("aliased() joins a table to itself and loads objects of the model", function()
    local Child = orm.aliased(Node, "child")
    local rows = s:execute(qs.select(Node.name, Child.name):join(Node.children:of_type(Child))
      :order_by(Child.name)):all()
    assert.equal(2, #rows)
    assert.same({"root", "a"}, {rows[1][1], rows[1][2]})
    raises(qs.exc.InvalidRequestError, function() qs.select(Node):join(Node.children) end)
    local P = orm.aliased(Node)
    local pairs_ = s:execute(qs.select(Node, P):join(P, Node.parent_id:eq(P.id)):order_by(Node.name)):all()
    assert.equal("a", pairs_[1][1].name)
    assert.equal("root", pairs_[1][2].name)
    assert.equal(pairs_[1][2], pairs_[2][2])            -- one object per row identity
    assert.equal(pairs_[1][1].parent, pairs_[1][2])
    raises(qs.exc.ArgumentError, function() Node.children:of_type(Address) end)
  end)

  it("leaves deferred columns for access, and defer/undefer/load_only per query", function()
    local u = s:scalars(qs.select(User):where(User.id:eq(1))):one()
    assert.is_false(sqls[1]:find("bio") ~= nil)
    assert.equal("bio 1", u.bio)
    assert.equal(2, selects())
    s:close(); sqls = {}
    u = s:scalars(qs.select(User):where(User.id:eq(1)):options(orm.undefer(User.bio))):one()
    assert.equal("bio 1", u.bio)
    assert.equal(1, selects())
    s:close(); sqls = {}
    u = s:scalars(qs.select(User):where(User.id:eq(1)):options(orm.load_only(User.name))):one()
    assert.matches("^SELECT users.id, users.name FROM", sqls[1])
    assert.equal("e1", u.email)                           -- loaded on access
    s:close(); sqls = {}
    u = s:scalars(qs.select(User):where(User.id:eq(1)):options(orm.defer(User.email))):one()
    assert.is_nil(sqls[1]:find("email", 1, true))
    raises(qs.exc.ArgumentError, function() orm.defer("email") end)
  end)

  it("subqueryload joins the target to the original query", function()
    local us = s:scalars(qs.select(User):where(User.id:ge(2)):options(orm.subqueryload(User.addresses))):all()
    assert.equal(2, #us)
    assert.equal("2a", us[1].addresses[1].email)
    assert.equal(2, selects())
    assert.matches("JOIN %(SELECT DISTINCT users.id FROM users WHERE users.id >= [?$%d]+%) AS anon_1", sqls[2])
  end)

  it("contains_eager fills a relationship from the query's own join", function()
    local us = s:scalars(qs.select(User):join(User.addresses):where(Address.email:like("%a"))
      :options(orm.contains_eager(User.addresses))):unique():all()
    assert.equal(3, #us)
    for _, u in ipairs(us) do assert.equal(1, #u.addresses) end
    assert.equal(1, selects())
  end)
end)

-- select(Model) makes plain objects in C (core.load_objects) and leaves the
-- rest to Lua; both must agree with session:get on identity.
describe("objects loaded by select(Model)", function()
  local engine, Base

  before_each(function()
    engine = helpers.backend_engine()
    Base = orm.declarative_base()
  end)

  after_each(function()
    orm.close_all_sessions()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("are the identity map's for integer, large integer and string keys", function()
    local Num = Base:model("Num", {__tablename = "nums",
      id = orm.mapped_column(qs.BigInteger, {primary_key = true, autoincrement = false}),
      label = orm.mapped_column(qs.String(20))})
    local Word = Base:model("Word", {__tablename = "words",
      code = orm.mapped_column(qs.String(20), {primary_key = true}),
      label = orm.mapped_column(qs.String(20))})
    Base.metadata:create_all(engine)
    local big = 9007199254740993   -- past 2^53: keyed by Lua, not by the C loop
    local s = orm.Session(engine)
    s:add_all({Num({id = 1, label = "one"}), Num({id = big, label = "big"}),
      Word({code = "7", label = "seven"}), Word({code = "x", label = "ex"})})
    s:commit()
    s:close()
    s = orm.Session(engine)
    local nums = s:scalars(qs.select(Num):order_by(Num.id)):all()
    local words = s:scalars(qs.select(Word):order_by(Word.code)):all()
    assert.is_true(rawequal(nums[1], s:get(Num, 1)))
    assert.is_true(rawequal(nums[2], s:get(Num, big)))
    assert.equal("big", nums[2].label)
    assert.is_true(rawequal(words[1], s:get(Word, "7")))
    assert.is_true(rawequal(words[2], s:get(Word, "x")))
    assert.is_nil(s:get(Num, 7))   -- the string "7" and the number 7 are different keys
    -- loaded again: the same objects, nothing new made
    local again = s:scalars(qs.select(Num):order_by(Num.id)):all()
    assert.is_true(rawequal(nums[1], again[1]) and rawequal(nums[2], again[2]))
    s:close()
  end)

  it("expired by a commit, each object comes back on its own", function()
    local Item = Base:model("Item", {__tablename = "items",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      label = orm.mapped_column(qs.String(20)), note = orm.mapped_column(qs.String(20))})
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    local a, b, c = Item({label = "a", note = "na"}), Item({label = "b", note = "nb"}), Item({label = "c"})
    s:add_all({a, b, c})
    s:commit()                         -- all three expired alike
    a.label = "a2"                     -- a's label is set, not loaded: b's stays expired
    assert.is_true(orm.inspect(b).expired_attributes.label)
    assert.equal("b", b.label)         -- b loads itself
    assert.equal("na", a.note)         -- a loads its other attributes, keeping its change
    assert.equal("a2", a.label)
    assert.is_true(orm.inspect(c).expired_attributes.note)
    s:expire(c, {"label"})
    assert.equal("c", c.label)
    s:commit()
    assert.equal("a2", s:scalar(qs.select(Item.label):where(Item.id:eq(a.id))))
    s:close()
  end)

  it("keep unflushed changes, fill expired attributes and leave NULLs unset", function()
    local Item = Base:model("Item", {__tablename = "items",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      label = orm.mapped_column(qs.String(20)), note = orm.mapped_column(qs.String(20))})
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    s:add_all({Item({label = "a"}), Item({label = "b", note = "n"}), Item({label = "c"})})
    s:commit()
    local items = s:scalars(qs.select(Item):order_by(Item.id)):all()   -- expired by the commit: filled here
    assert.equal("b", items[2].label)
    assert.is_nil(items[1].note)
    items[1].label = "changed"                                        -- unflushed
    s:no_autoflush(function(sess)
      local again = sess:scalars(qs.select(Item):order_by(Item.id)):all()
      assert.is_true(rawequal(items[1], again[1]))
      assert.equal("changed", again[1].label)
    end)
    s:expire(items[3], {"label"})
    local third = s:scalars(qs.select(Item):where(Item.id:eq(items[3].id))):one()
    assert.is_true(rawequal(items[3], third))
    assert.equal("c", third.label)
    s:close()
  end)
end)
