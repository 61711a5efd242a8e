-- ORM events: mapper events on classes (propagating to subclasses and from
-- Base), session events on a session, a sessionmaker or orm.Session.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

describe("ORM events", function()
  local Base, User, VIP, engine, log

  before_each(function()
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "users",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      kind = orm.mapped_column(qs.String(10)),
      stamp = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "user"},
    })
    VIP = User:model("VIP", {__mapper_args = {polymorphic_identity = "vip"}})
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    log = {}
  end)

  after_each(function()
    orm.close_all_sessions()
    qs.event.clear(orm.Session)
    engine:dispose()
    helpers.cleanup()
  end)

  it("fires mapper events around each statement, on subclasses too", function()
    qs.event.listen(User, "before_insert", function(m, conn, target)
      target.stamp = "by listener"
      log[#log + 1] = "before_insert " .. m.class_name
    end)
    qs.event.listen(Base, "after_insert", function(_, _, target) log[#log + 1] = "after_insert " .. target.id end)
    qs.event.listen(User, "before_update", function(_, _, t) log[#log + 1] = "before_update " .. t.name end)
    qs.event.listen(User, "after_delete", function(_, _, t) log[#log + 1] = "after_delete " .. t.id end)
    local s = orm.Session(engine)
    s:add(VIP({name = "v"}))
    s:flush()
    assert.same({"before_insert VIP", "after_insert 1"}, log)
    local v = s:get(User, 1)
    assert.equal("by listener", v.stamp)   -- the change made in before_insert was written
    log = {}
    v.name = "w"
    s:flush()
    s:delete(v)
    s:flush()
    assert.same({"before_update w", "after_delete 1"}, log)
    s:close()
  end)

  it("fires load once per object made from a row", function()
    local n = 0
    qs.event.listen(User, "load", function(target, session)
      n = n + 1
      assert.truthy(orm.inspect(target).persistent)
      assert.truthy(session)
    end)
    local s = orm.Session(engine)
    s:add_all({User({name = "a"}), User({name = "b"})})
    s:commit()
    s:close()                                 -- the objects leave the session
    local held = s:scalars(qs.select(User)):all()
    s:scalars(qs.select(User)):all()          -- the identity map has them now
    assert.equal(2, n)
    assert.equal(2, #held)
    s:close()
  end)

  it("fires session events from the session, its maker and orm.Session", function()
    local Maker = orm.sessionmaker({bind = engine})
    qs.event.listen(orm.Session, "after_commit", function() log[#log + 1] = "after_commit" end)
    qs.event.listen(Maker, "before_flush", function(s) log[#log + 1] = "before_flush" end)
    local s = Maker()
    qs.event.listen(s, "after_flush", function(sess)
      log[#log + 1] = "after_flush new=" .. #sess.new   -- still the pre-flush state
    end)
    qs.event.listen(s, "after_rollback", function() log[#log + 1] = "after_rollback" end)
    s:add(User({name = "x"}))
    s:commit()
    s:rollback()
    assert.same({"before_flush", "after_flush new=1", "after_commit", "after_rollback"}, log)
    -- a session from elsewhere sees only orm.Session's listeners
    log = {}
    local other = orm.Session(engine)
    other:add(User({name = "y"}))
    other:commit()
    assert.same({"after_commit"}, log)
    s:close(); other:close()
  end)

  it("an error in after_flush undoes the flush", function()
    local s = orm.Session(engine)
    qs.event.listen(s, "after_flush", function() error("no") end)
    local u = User({name = "x"})
    s:add(u)
    assert.has_error(function() s:flush() end)
    assert.is_nil(u.id)
    s:rollback()
    assert.equal(0, s:scalar(qs.select(qs.func.count()):select_from(User)))
    s:close()
  end)

  it("refuses unknown event names", function()
    assert.has_error(function() qs.event.listen(User, "before_inserts", function() end) end)
    assert.has_error(function() qs.event.listen(orm.Session, "after_comit", function() end) end)
  end)
end)
