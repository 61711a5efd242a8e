-- The legacy Query and ORM-enabled DML (synchronize_session, bulk UPDATE
-- by primary key, bulk INSERT), on SQLite.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("legacy Query and ORM-enabled DML", function()
  local Base, User, engine, s, sqls

  before_each(function()
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "users",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      nick = orm.mapped_column(qs.String(20)),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    for i = 1, 5 do s:add(User({name = "u" .. i})) end
    s:commit()
    sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql) sqls[#sqls + 1] = sql end)
  end)

  after_each(function()
    orm.close_all_sessions()
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)

  it("filters, orders, slices and counts", function()
    assert.equal(5, #s:query(User):all())
    assert.equal(2, s:query(User):filter_by({name = "u2"}):one().id)
    assert.equal("u5", s:query(User):filter(User.id:gt(2)):order_by(User.id:desc()):first().name)
    assert.equal(3, s:query(User):filter(User.id:ge(3)):count())
    local page = s:query(User):order_by(User.id):slice(1, 3):all()
    assert.same({2, 3}, {page[1].id, page[2].id})
    assert.is_nil(s:query(User):filter_by({name = "nobody"}):one_or_none())
    raises(qs.exc.NoResultFound, function() s:query(User):filter_by({name = "nobody"}):one() end)
    raises(qs.exc.MultipleResultsFound, function() s:query(User):one() end)
    raises(qs.exc.InvalidRequestError, function() s:query(User):filter_by({nmae = "x"}) end)
    local rows = s:query(User.name, User.id):order_by(User.id):all()
    assert.equal("u1", rows[1].name)
    assert.equal(s:get(User, 4), s:query(User):get(4))
  end)

  it("update() expires the matched objects in the session", function()
    local u1 = s:get(User, 1)
    assert.is_nil(u1.nick)
    local n = s:query(User):filter(User.id:le(2)):update({nick = "low"})
    assert.equal(2, n)
    assert.equal("low", u1.nick)          -- reloaded on access
    local r = s:execute(qs.update(User):where(User.name:eq("u1")):values({nick = "again"}))
    assert.equal(1, r.rowcount)
    assert.equal("again", u1.nick)
    s:execute(qs.update(User):values({nick = "stale"}), nil,
      {execution_options = {synchronize_session = false}})
    assert.equal("again", u1.nick)        -- not synchronised: the old value
    raises(qs.exc.ArgumentError, function()
      s:execute(qs.update(User):values({nick = "x"}), nil, {execution_options = {synchronize_session = "guess"}})
    end)
  end)

  it("delete() marks matched objects deleted", function()
    local u5 = s:get(User, 5)
    assert.equal(1, s:query(User):filter(User.id:eq(5)):delete())
    assert.is_true(orm.inspect(u5).deleted)
    assert.is_nil(s:get(User, 5))
    s:rollback()
    assert.equal(5, s:query(User):count())  -- rolled back: the row is there again
  end)

  it("bulk UPDATE by primary key and bulk INSERT", function()
    local u3 = s:get(User, 3)
    assert.equal("u3", u3.name)
    sqls = {}
    s:execute(qs.update(User), {{id = 3, nick = "three"}, {id = 4, nick = "four"}})
    assert.equal(1, #sqls)
    assert.equal("three", u3.nick)
    assert.equal("four", s:get(User, 4).nick)
    raises(qs.exc.InvalidRequestError, function() s:execute(qs.update(User), {{nick = "no key"}}) end)
    s:execute(qs.insert(User), {{name = "b1"}, {name = "b2"}})
    assert.equal(7, s:query(User):count())
  end)
end)
