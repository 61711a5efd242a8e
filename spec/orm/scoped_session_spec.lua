-- orm.scoped_session (orm/scoping.lua): one session per coroutine by
-- default (the main thread its own scope), a custom scope function,
-- remove(), configure(), and the Session's methods and fields proxied to
-- the current scope's session.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("scoped_session", function()
  local engine, Base, User
  before_each(function()
    engine = helpers.backend_engine()
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "users",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
    })
    Base.metadata:create_all(engine)
  end)
  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  it("gives one session per coroutine, the main thread its own", function()
    local Session = orm.scoped_session(orm.sessionmaker({bind = engine}))
    local main = Session()
    assert.equal(main, Session())
    assert.is_true(Session.has())
    local inner, inner2
    local co = coroutine.create(function()
      inner = Session()
      coroutine.yield()
      inner2 = Session()
    end)
    coroutine.resume(co)
    coroutine.resume(co)
    assert.is_truthy(inner)
    assert.equal(inner, inner2)
    assert.are_not.equal(main, inner)
    Session.remove()
    assert.is_false(Session:has())
    assert.are_not.equal(main, Session())
    Session:remove()
  end)

  it("proxies add, commit, execute, scalars, get and the session's fields", function()
    local Session = orm.scoped_session(orm.sessionmaker({bind = engine}))
    local u = User({name = "ann"})
    Session:add(u)
    assert.equal(1, #Session.new)
    assert.equal(Session(), orm.object_session(u))
    Session.commit()
    assert.equal("ann", Session:scalars(qs.select(User)):one().name)
    assert.equal(u, Session.get(User, u.id))
    assert.equal(1, Session:execute(qs.select(qs.func.count()):select_from(User)):scalar())
    assert.equal(engine, Session.bind)
    Session.remove()
    assert.is_true(orm.inspect(u).detached)
  end)

  it("takes a custom scope function and refuses new arguments once the scope has a session", function()
    local scope = "a"
    local Session = orm.scoped_session(orm.sessionmaker({bind = engine}), {scopefunc = function() return scope end})
    local a = Session({autoflush = false})
    assert.is_false(a.autoflush)
    local err = raises(qs.exc.InvalidRequestError, function() Session({autoflush = true}) end)
    assert.matches("already present", tostring(err), 1, true)
    scope = "b"
    local b = Session()
    assert.are_not.equal(a, b)
    scope = "a"
    assert.equal(a, Session())
    Session.remove()
    scope = "b"
    assert.equal(b, Session())
    Session.remove()
  end)

  it("configure changes the factory for sessions made later", function()
    local Session = orm.scoped_session(orm.sessionmaker({bind = engine}))
    Session.configure({autoflush = false})
    assert.is_false(Session().autoflush)
    Session.remove()
    local plain = orm.scoped_session(function() return orm.Session(engine) end)
    assert.equal(engine, plain().bind)
    raises(qs.exc.InvalidRequestError, function() plain.configure({autoflush = false}) end)
    plain.remove()
  end)

  it("refuses bad arguments by name", function()
    raises(qs.exc.ArgumentError, function() orm.scoped_session(42) end)
    local err = raises(qs.exc.ArgumentError, function()
      orm.scoped_session(orm.sessionmaker({bind = engine}), {scope = function() end})
    end)
    assert.matches("scope", tostring(err), 1, true)
    raises(qs.exc.ArgumentError, function()
      orm.scoped_session(orm.sessionmaker({bind = engine}), {scopefunc = 1})
    end)
    local Session = orm.scoped_session(orm.sessionmaker({bind = engine}), {scopefunc = function() return nil end})
    raises(qs.exc.InvalidRequestError, function() Session() end)
    local S2 = orm.scoped_session(orm.sessionmaker({bind = engine}))
    raises(qs.exc.InvalidRequestError, function() S2.autoflush = false end)
  end)
end)
