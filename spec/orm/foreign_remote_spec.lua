-- orm.foreign() / orm.remote(): marks on a custom primaryjoin's columns
-- telling the relationship which side holds the foreign key (no ForeignKey
-- between the columns) and which side is remote (a table joined to itself).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("orm.foreign() / orm.remote()", function()
  local engine, s

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    orm.close_all_sessions()
    if s then s:close() end
    engine:dispose()
    helpers.cleanup()
  end)

  -- users and addresses joined on an e-mail column, no ForeignKey
  local function email_models(user_extra, address_extra)
    local Base = orm.declarative_base()
    local User, Address
    local uspec = {__tablename = "fr_users", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      email = orm.mapped_column(qs.String(40), {unique = true})}
    for k, v in pairs(user_extra(function() return User end, function() return Address end)) do uspec[k] = v end
    User = Base:model("User", uspec)
    local aspec = {__tablename = "fr_addresses", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      user_email = orm.mapped_column(qs.String(40)), street = orm.mapped_column(qs.String(40))}
    for k, v in pairs(address_extra(function() return User end, function() return Address end)) do aspec[k] = v end
    Address = Base:model("Address", aspec)
    return Base, User, Address
  end

  it("a relationship on a non-FK column: direction, lazy load, selectin, joins and the flush's sync", function()
    local Base, User, Address = email_models(function(U, A)
      return {addresses = orm.relationship("Address", {back_populates = "user", order_by = "Address.id",
        primaryjoin = function() return U().email:eq(orm.foreign(A().user_email)) end})}
    end, function(U, A)
      return {user = orm.relationship("User", {back_populates = "addresses",
        primaryjoin = function() return orm.foreign(A().user_email):eq(U().email) end})}
    end)
    Base.metadata:create_all(engine)
    Base.registry:configure()
    assert.equal("ONETOMANY", User.__mapper__.relationships.addresses.direction)
    assert.equal("MANYTOONE", Address.__mapper__.relationships.user.direction)
    s = orm.Session(engine)
    local u = User({email = "a@x"})
    u.addresses = {Address({street = "one"}), Address({street = "two"})}
    local lone = Address({street = "three"})
    lone.user = User({email = "b@x"})
    s:add_all({u, lone})
    s:commit()
    -- the flush copied the e-mail into the foreign column
    local rows = s:execute(qs.select(Address.street, Address.user_email):order_by(Address.id)):all()
    assert.same({"one", "a@x"}, {rows[1][1], rows[1][2]})
    assert.same({"three", "b@x"}, {rows[3][1], rows[3][2]})
    s:close()
    local u1 = s:scalars(qs.select(User):where(User.email:eq("a@x"))):one()
    assert.same({"one", "two"}, {u1.addresses[1].street, u1.addresses[2].street})
    assert.equal(u1, u1.addresses[1].user)
    local a3 = s:scalars(qs.select(Address):where(Address.street:eq("three"))):one()
    assert.equal("b@x", a3.user.email)
    s:close()
    local us = s:scalars(qs.select(User):options(orm.selectinload(User.addresses)):order_by(User.id)):all()
    assert.same({2, 1}, {#us[1].addresses, #us[2].addresses})
    s:close()
    local names = s:scalars(qs.select(Address.street):join(Address.user):where(User.email:eq("a@x"))
      :order_by(Address.street)):all()
    assert.same({"one", "two"}, {names[1], names[2], names[3]})
    -- moving an address to another user rewrites its foreign column
    local b = s:scalars(qs.select(User):where(User.email:eq("b@x"))):one()
    local a = s:scalars(qs.select(Address):where(Address.street:eq("one"))):one()
    a.user = b
    s:commit()
    assert.equal("b@x", s:scalar(qs.select(Address.user_email):where(Address.street:eq("one"))))
  end)

  it("a backref of a marked join reads the marks from the other side", function()
    local Base, User, Address = email_models(function(U, A)
      return {addresses = orm.relationship("Address", {backref = "user",
        primaryjoin = function() return orm.foreign(A().user_email):eq(U().email) end})}
    end, function() return {} end)
    Base.metadata:create_all(engine)
    Base.registry:configure()
    assert.equal("MANYTOONE", Address.__mapper__.relationships.user.direction)
    s = orm.Session(engine)
    local a = Address({street = "s"})
    a.user = User({email = "c@x"})
    s:add(a)
    s:commit()
    s:close()
    local u = s:scalars(qs.select(User)):one()
    assert.equal("s", u.addresses[1].street)
    assert.equal("c@x", u.addresses[1].user.email)
  end)

  it("self-referential with remote(): a tree on a non-key column, both directions", function()
    local Base = orm.declarative_base()
    local Node
    Node = Base:model("Node", {__tablename = "fr_nodes", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      code = orm.mapped_column(qs.String(20), {unique = true}),
      parent_code = orm.mapped_column(qs.String(20)),
      children = orm.relationship("Node", {order_by = "Node.id",
        primaryjoin = function() return Node.code:eq(orm.remote(orm.foreign(Node.parent_code))) end}),
      parent = orm.relationship("Node", {
        primaryjoin = function() return orm.remote(Node.code):eq(orm.foreign(Node.parent_code)) end})})
    Base.metadata:create_all(engine)
    Base.registry:configure()
    assert.equal("ONETOMANY", Node.__mapper__.relationships.children.direction)
    assert.equal("MANYTOONE", Node.__mapper__.relationships.parent.direction)
    s = orm.Session(engine)
    local root = Node({code = "r"})
    root.children = {Node({code = "a"}), Node({code = "b"})}
    local leaf = Node({code = "c"})
    leaf.parent = root.children[1]
    s:add_all({root, leaf})
    s:commit()
    assert.equal("a", s:scalar(qs.select(Node.parent_code):where(Node.code:eq("c"))))
    s:close()
    local r = s:scalars(qs.select(Node):where(Node.code:eq("r"))):one()
    assert.same({"a", "b"}, {r.children[1].code, r.children[2].code})
    assert.equal("c", r.children[1].children[1].code)
    local c = s:scalars(qs.select(Node):where(Node.code:eq("c"))):one()
    assert.equal("a", c.parent.code)
    assert.equal("r", c.parent.parent.code)
    assert.is_nil(r.parent)
    s:close()
    -- selectin and a join through an alias
    local all = s:scalars(qs.select(Node):options(orm.selectinload(Node.children)):order_by(Node.id)):all()
    assert.same({2, 1, 0, 0}, {#all[1].children, #all[2].children, #all[3].children, #all[4].children})
    s:close()
    local P = orm.aliased(Node)
    local got = s:scalars(qs.select(Node.code):join(Node.parent:of_type(P)):where(P.code:eq("r"))
      :order_by(Node.code)):all()
    assert.same({"a", "b"}, {got[1], got[2], got[3]})
  end)

  it("self-referential with remote() and a backref", function()
    local Base = orm.declarative_base()
    local Node
    Node = Base:model("Node", {__tablename = "fr_nodes2", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      code = orm.mapped_column(qs.String(20)),
      parent_code = orm.mapped_column(qs.String(20)),
      children = orm.relationship("Node", {backref = "parent",
        primaryjoin = function() return Node.code:eq(orm.remote(orm.foreign(Node.parent_code))) end})})
    Base.metadata:create_all(engine)
    Base.registry:configure()
    assert.equal("MANYTOONE", Node.__mapper__.relationships.parent.direction)
    s = orm.Session(engine)
    local root = Node({code = "r", children = {Node({code = "k"})}})
    s:add(root)
    s:commit()
    s:close()
    local k = s:scalars(qs.select(Node):where(Node.code:eq("k"))):one()
    assert.equal("r", k.parent.code)
    assert.equal(k, k.parent.children[1])
  end)

  it("refuses an ambiguous direction by name, and a bad argument", function()
    local err = raises(qs.exc.ArgumentError, function()
      local Base, User = email_models(function(U, A)
        return {addresses = orm.relationship("Address", {
          primaryjoin = function() return U().email:eq(A().user_email) end})}
      end, function() return {} end)
      orm.class_mapper(User)
    end)
    assert.matches("User.addresses", tostring(err), 1, true)
    assert.matches("orm.foreign()", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function()
      local Base = orm.declarative_base()
      local Node
      Node = Base:model("Node", {__tablename = "fr_nodes3", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        code = orm.mapped_column(qs.String(20)), parent_code = orm.mapped_column(qs.String(20)),
        children = orm.relationship("Node", {
          primaryjoin = function() return Node.code:eq(Node.parent_code) end})})
      orm.class_mapper(Node)
    end)
    assert.matches("Node.children", tostring(err), 1, true)
    assert.matches("orm.remote()", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function() orm.foreign("users.id") end)
    assert.matches("orm.foreign()", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function() orm.remote(qs.literal(1)) end)
    assert.matches("orm.remote()", tostring(err), 1, true)
  end)

  it("a marked column renders as the column", function()
    local t = qs.table("fr_t", qs.column("a", qs.Integer), qs.column("b", qs.Integer))
    local stmt = qs.select(t.c.a):where(orm.foreign(t.c.a):eq(orm.remote(t.c.b)))
    local plain = qs.select(t.c.a):where(t.c.a:eq(t.c.b))
    assert.equal(tostring(plain), tostring(stmt))
  end)
end)
