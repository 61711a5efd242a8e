-- spec/support/fixtures.lua: fresh model classes on every call, the
-- options each spec needs said by name (an unknown one is refused).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local fixtures = require("spec.support.fixtures")

local function column_names(t)
  local out = {}
  for i, c in ipairs(t.columns) do out[i] = c.name end
  return out
end

describe("spec fixtures", function()
  it("give new classes on a new base each call", function()
    local a, b = fixtures.user_address(), fixtures.user_address()
    assert.are_not.equal(a.Base, b.Base)
    assert.are_not.equal(a.User, b.User)
    assert.same({"id", "name"}, column_names(a.User.__table__))
    assert.same({"id", "email", "user_id"}, column_names(a.Address.__table__))
    assert.equal("users", a.User.__table__.name)
    local u = a.User({name = "x", addresses = {a.Address({email = "e"})}})
    assert.equal(u, u.addresses[1].user)
  end)

  it("map on a given base, extra columns after the model's own", function()
    local Base = orm.declarative_base()
    local m = fixtures.user_address({base = Base, tables = {"ua", "ad"}, strict = true, email = "email_address",
      user = function() return {fullname = orm.mapped_column(qs.String(50))} end,
      address = {note = orm.hybrid_property(function(self) return self.email_address end)}})
    local n = fixtures.node({base = Base, table = "tree", children = {order_by = "Node.id"}})
    assert.equal(Base, m.Base)
    assert.equal(Base, n.Base)
    assert.same({"id", "name", "fullname"}, column_names(Base.metadata.tables.ua))
    assert.same({"id", "email_address", "user_id"}, column_names(Base.metadata.tables.ad))
    assert.is_false(m.User.__table__.c.name.nullable)
    assert.is_true(m.User.__table__.c.name.unique)
    assert.equal("e", m.Address({email_address = "e"}).note)
    assert.same({"id", "name", "parent_id"}, column_names(Base.metadata.tables.tree))
    local root = n.Node({name = "r", children = {n.Node({name = "c"})}})
    assert.equal(root, root.children[1].parent)
  end)

  it("name the email column apart from its attribute", function()
    local m = fixtures.user_address({email_column = "email_address"})
    assert.equal("email_address", m.Address.__table__.columns[2].name)
    assert.equal(m.Address.__table__.columns[2], m.Address.email)
  end)

  it("refuse an unknown option by name", function()
    assert.has_error(function() fixtures.user_address({tabels = {}}) end,
      "fixtures.user_address: unknown option 'tabels'")
    assert.has_error(function() fixtures.node({cascade = "all"}) end, "fixtures.node: unknown option 'cascade'")
  end)
end)
