-- Attribute events (orm/attribute_events.lua): set (retval, propagate),
-- append/remove (ORM paths at once, direct list changes at flush),
-- init_collection.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

describe("attribute events", function()
  local Base, User, VIP, Address, engine, log

  before_each(function()
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "ae_users",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      kind = orm.mapped_column(qs.String(10)),
      addresses = orm.relationship("Address", {back_populates = "user"}),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "user"},
    })
    VIP = User:model("VIP", {__mapper_args = {polymorphic_identity = "vip"}})
    Address = Base:model("Address", {
      __tablename = "ae_addresses",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      email = orm.mapped_column(qs.String(40)),
      user_id = orm.mapped_column(qs.Integer, qs.ForeignKey("ae_users.id")),
      user = orm.relationship("User", {back_populates = "addresses"}),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    log = {}
  end)

  after_each(function()
    orm.close_all_sessions()
    qs.event.clear(User.name)
    qs.event.clear(User.addresses)
    qs.event.clear(Address.user)
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("fires set with the old value; retval replaces the value", function()
    qs.event.listen(User.name, "set", function(obj, value, old, initiator)
      log[#log + 1] = tostring(old) .. ">" .. tostring(value) .. ":" .. initiator.key .. ":" .. initiator.op
      return value and value:upper()
    end, {retval = true})
    local u = User({id = 1, name = "ann"})      -- the constructor fires it too
    assert.equal("ANN", u.name)
    local s = orm.Session(engine)
    s:add(u)
    s:commit()
    u.name = "bob"
    assert.equal("BOB", u.name)
    s:commit()
    s:close()
    -- never set (a new object) and expired (after the commit): NO_VALUE
    assert.same({"NO_VALUE>ann:name:set", "NO_VALUE>bob:name:set"},
      {(log[1]:gsub("<NO_VALUE>", "NO_VALUE")), (log[2]:gsub("<NO_VALUE>", "NO_VALUE"))})
  end)

  it("applies to subclasses only with propagate", function()
    qs.event.listen(User.name, "set", function(obj) log[#log + 1] = orm.inspect(obj).mapper.class_name end)
    User({name = "a"})
    VIP({name = "b"})
    assert.same({"User"}, log)
    qs.event.clear(User.name)
    log = {}
    qs.event.listen(User.name, "set", function(obj) log[#log + 1] = orm.inspect(obj).mapper.class_name end,
      {propagate = true})
    User({name = "a"})
    VIP({name = "b"})
    assert.same({"User", "VIP"}, log)
  end)

  it("fires append and remove through backrefs, assignment and at flush", function()
    qs.event.listen(User.addresses, "append", function(obj, member, init)
      log[#log + 1] = "append " .. member.email .. (init.backref and " (backref)" or "")
    end)
    qs.event.listen(User.addresses, "remove", function(obj, member) log[#log + 1] = "remove " .. member.email end)
    local s = orm.Session(engine)
    local u = User({id = 1, name = "ann"})
    s:add(u)
    local a1 = Address({id = 1, email = "a1"})
    a1.user = u                                  -- backref: at once
    assert.same({"append a1 (backref)"}, log)
    log = {}
    local a2 = Address({id = 2, email = "a2"})
    u.addresses = {a1, a2}                       -- assignment: the difference
    assert.same({"append a2"}, log)
    log = {}
    table.insert(u.addresses, Address({id = 3, email = "a3"}))   -- direct: at the flush
    table.remove(u.addresses, 1)
    assert.same({}, log)
    s:flush()
    assert.same({"remove a1", "append a3"}, log)
    log = {}
    s:flush()
    assert.same({}, log)                         -- announced once
    s:close()
  end)

  it("lets an append listener replace the member", function()
    local s = orm.Session(engine)
    local u = User({id = 1, name = "ann"})
    local other = Address({id = 9, email = "other"})
    qs.event.listen(User.addresses, "append", function() return other end, {retval = true})
    u.addresses = {Address({id = 2, email = "x"})}
    assert.equal(other, u.addresses[1])
    s:add(u)
    s:commit()
    s:close()
  end)

  it("fires init_collection when a collection is made or loaded", function()
    qs.event.listen(User.addresses, "init_collection", function(obj, list)
      log[#log + 1] = "init " .. tostring(#list)
    end)
    local s = orm.Session(engine)
    local u = User({id = 1, name = "ann"})
    local _ = u.addresses                        -- a new object's empty list
    assert.same({"init 0"}, log)
    s:add(u)
    u.addresses[1] = Address({id = 1, email = "a"})
    s:commit()
    log = {}
    local _2 = u.addresses                       -- loaded again after commit
    assert.same({"init 1"}, log)
    s:close()
  end)

  it("refuses an unknown attribute event by name", function()
    local ok, err = pcall(qs.event.listen, User.name, "appendx", function() end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("appendx"))
    -- an event of the other kind of attribute: refused, naming both, and not kept
    local fn = function() end
    ok, err = pcall(qs.event.listen, User.name, "append", fn)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("'append' does not apply to ae_users.name"))
    assert.is_false(qs.event.contains(User.name, "append", fn))
    ok, err = pcall(qs.event.listen, User.addresses, "set", fn)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("'set' does not apply to User.addresses"))
    ok = pcall(qs.event.listen, Address.user, "remove", fn)
    assert.is_false(ok)
  end)
end)

describe("attribute events cost nothing unused", function()
  it("keeps the plain write paths and no flush finder until a first listener", function()
    -- a fresh process: the specs before may have registered listeners
    local code = [[
      local qs = require("quicksilver")
      local orm = require("quicksilver.orm")
      local attributes = require("quicksilver.orm.attributes")
      local uow = require("quicksilver.orm.unitofwork")
      local plain = attributes.set_column
      local Base = orm.declarative_base()
      local U = Base:model("U", {__tablename = "u", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        name = orm.mapped_column(qs.String(10))})
      local u = U({id = 1, name = "a"})
      u.name = "b"
      local before = (attributes.set_column == plain) and #uow.change_finders == 0
        and attributes.init_collection_hook == nil
      qs.event.listen(U.name, "set", function() end)
      io.write(tostring(before), " ", tostring(attributes.set_column ~= plain), " ", #uow.change_finders)
    ]]
    local p = io.popen(string.format("LUA_PATH=%q LUA_CPATH=%q %q -e %q 2>&1", package.path, package.cpath,
      helpers.interpreter(), code))
    local out = p:read("*a")
    p:close()
    assert.equal("true true 1", out)
  end)
end)
