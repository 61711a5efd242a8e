-- Session:merge(obj, {load = false}) on every backend: the object is taken
-- as what the database has, without a SELECT and without an INSERT (as
-- SQLAlchemy's merge(load=False)); merge-cascaded relationships come along
-- the same way; transient and dirty objects are refused.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")
local raises = helpers.assert_raises_kind
local matching, clear = helpers.matching, helpers.clear

describe("Session:merge with load = false on " .. helpers.backend, function()
  local engine, Base, User, Address, rec, sessions

  local function session()
    local s = orm.Session({bind = engine})
    sessions[#sessions + 1] = s
    return s
  end

  local function rows(tbl, col)
    return engine:connect(function(c)
      local out = {}
      for i, r in ipairs(c:execute(qs.select(tbl.c.id, tbl.c[col]):order_by(tbl.c.id)):all()) do
        out[i] = {r[1], r[2]}
      end
      return out
    end)
  end

  before_each(function()
    sessions = {}
    engine = helpers.backend_engine()
    local m = fixtures.user_address({tables = {"merge_user", "merge_address"}, addresses = {order_by = "Address.id"}})
    Base, User, Address = m.Base, m.User, m.Address
    Base.metadata:create_all(engine)
    local s = session()
    s:add(User({id = 1, name = "ann", addresses = {Address({id = 10, email = "a@x"}),
      Address({id = 11, email = "b@x"})}}))
    s:commit()
    s:close()
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    for _, s in ipairs(sessions) do s:close() end
    if Base then Base.metadata:drop_all(engine) end
    engine:dispose()
    helpers.cleanup()
  end)

  -- a detached User 1 with its addresses loaded
  local function detached()
    local s = session()
    local u = s:get(User, 1)
    assert.equal(2, #u.addresses)
    s:expunge(u)
    for _, a in ipairs(u.addresses) do s:expunge(a) end
    s:close()
    return u
  end

  it("takes a detached object as persistent without a SELECT or an INSERT", function()
    local u = detached()
    local s = session()
    clear(rec)
    local m = s:merge(u, {load = false})
    assert.equal(0, #rec)                          -- nothing sent at all
    assert.is_false(rawequal(m, u))
    assert.equal(1, m.id)
    assert.equal("ann", m.name)
    local st = orm.inspect(m)
    assert.is_true(st.persistent)
    assert.is_false(s:is_modified(m))
    assert.is_nil(s.new[m])
    assert.is_nil(s.dirty[m])
    assert.is_true(rawequal(m, s:get(User, 1)))   -- the identity map has it: still no SQL
    assert.equal(0, #rec)
    s:flush()                                      -- nothing to write
    assert.equal(0, #matching(rec, "INSERT"))
    assert.equal(0, #matching(rec, "UPDATE"))
    -- a later change is an UPDATE of that row
    m.name = "ann 2"
    s:commit()
    assert.equal(0, #matching(rec, "INSERT"))
    assert.equal(1, #matching(rec, "^UPDATE merge_user"))
    assert.same({{1, "ann 2"}}, rows(User.__table__, "name"))
  end)

  it("cascades along merge-cascaded relationships without SQL", function()
    local u = detached()
    local s = session()
    clear(rec)
    local m = s:merge(u, {load = false})
    assert.equal(0, #rec)
    assert.equal(2, #m.addresses)                  -- loaded on the source: merged, no lazy load
    assert.equal(0, #rec)
    local a = m.addresses[1]
    assert.is_false(rawequal(a, u.addresses[1]))
    assert.is_true(orm.inspect(a).persistent)
    assert.is_true(rawequal(a, s:get(Address, 10)))
    assert.is_true(rawequal(m, a.user))
    assert.equal(0, #rec)
    a.email = "a2@x"
    s:commit()
    assert.equal(0, #matching(rec, "INSERT"))
    assert.equal(1, #matching(rec, "^UPDATE merge_address"))
    assert.same({{10, "a2@x"}, {11, "b@x"}}, rows(Address.__table__, "email"))
  end)

  it("copies onto the object already in the session and leaves it unchanged", function()
    local u = detached()
    local s = session()
    local there = s:get(User, 1)
    clear(rec)
    local m = s:merge(u, {load = false})
    assert.is_true(rawequal(there, m))
    assert.equal(0, #rec)
    assert.is_false(s:is_modified(m))
    s:commit()
    assert.equal(0, #matching(rec, "INSERT"))
    assert.equal(0, #matching(rec, "UPDATE"))
  end)

  it("refuses a transient object", function()
    local s = session()
    local err = raises(qs.exc.InvalidRequestError, function()
      s:merge(User({id = 2, name = "new"}), {load = false})
    end)
    assert.truthy(tostring(err):find("load=False option does not support objects transient", 1, true))
    assert.equal(0, #matching(rec, "INSERT"))
  end)

  it("refuses a dirty detached object", function()
    local u = detached()
    u.name = "changed while detached"
    local s = session()
    clear(rec)
    local err = raises(qs.exc.InvalidRequestError, function() s:merge(u, {load = false}) end)
    assert.truthy(tostring(err):find("objects marked as 'dirty'", 1, true))
    assert.equal(0, #rec)
    -- without load = false the same object merges with a SELECT and an UPDATE
    local m = s:merge(u)
    s:commit()
    assert.equal("changed while detached", m.name)
    assert.same({{1, "changed while detached"}}, rows(User.__table__, "name"))
  end)

  it("refuses an option it does not know, naming it", function()
    local u = detached()
    local s = session()
    local err = raises(qs.exc.ArgumentError, function() s:merge(u, {lod = false}) end)
    assert.truthy(tostring(err):find("unknown option 'lod'", 1, true))
    raises(qs.exc.ArgumentError, function() s:merge(u, {load = "no"}) end)
  end)
end)
