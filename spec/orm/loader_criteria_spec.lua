-- orm.with_loader_criteria: a soft-delete / tenant filter added to every
-- SELECT of an entity a statement loads (top level, aliases with
-- include_aliases, selectin and joined eager loads, later lazy loads of the
-- objects loaded, Session:get's options), and the do_orm_execute event as a
-- session-wide default.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")
local raises = helpers.assert_raises_kind

describe("with_loader_criteria", function()
  local Base, User, Address, engine, s, rec

  before_each(function()
    local m = fixtures.user_address({addresses = {order_by = "Address.email"},
      user = {deleted = orm.mapped_column(qs.Boolean, {default = false})},
      address = {deleted = orm.mapped_column(qs.Boolean, {default = false})}})
    Base, User, Address = m.Base, m.User, m.Address
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    for i = 1, 3 do
      s:add(User({name = "u" .. i, deleted = i == 3, addresses = {
        Address({email = "a" .. i}), Address({email = "b" .. i, deleted = true})}}))
    end
    s:commit()
    s:close()
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    orm.close_all_sessions()
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)

  local function live_addresses() return orm.with_loader_criteria(Address, Address.deleted:is_(false)) end
  local function names(list)
    local out = {}
    for i, o in ipairs(list) do out[i] = o.name or o.email end
    return table.concat(out, ",")
  end

  it("filters the top-level select of the entity", function()
    local users = s:scalars(qs.select(User):order_by(User.id)
      :options(orm.with_loader_criteria(User, User.deleted:is_(false)))):all()
    assert.equal("u1,u2", names(users))
  end)

  it("takes the lambda form: a function(cls) returning the criteria", function()
    local users = s:scalars(qs.select(User):order_by(User.id)
      :options(orm.with_loader_criteria(User, function(cls) return cls.name:ne("u2") end))):all()
    assert.equal("u1,u3", names(users))
  end)

  it("applies to the lazy loads of the objects the statement loaded", function()
    local users = s:scalars(qs.select(User):order_by(User.id):options(live_addresses())):all()
    assert.equal("a1", names(users[1].addresses))
    assert.equal("a2", names(users[2].addresses))
    -- another statement without the option loads every address
    s:expunge_all()
    local u = s:scalars(qs.select(User):order_by(User.id)):first()
    assert.equal("a1,b1", names(u.addresses))
  end)

  it("applies to selectin and joined eager loads", function()
    local users = s:scalars(qs.select(User):order_by(User.id)
      :options(orm.selectinload(User.addresses), live_addresses())):all()
    assert.equal("a1", names(users[1].addresses))
    s:expunge_all()
    users = s:execute(qs.select(User):order_by(User.id)
      :options(orm.joinedload(User.addresses), live_addresses())):unique():scalars():all()
    assert.equal("a2", names(users[2].addresses))
    local found = false
    for _, q in ipairs(rec.sqls or rec) do
      local sql = type(q) == "table" and q.sql or q
      if type(sql) == "string" and sql:find("LEFT OUTER JOIN") and sql:find("ON .*deleted") then found = true end
    end
    assert.is_true(found)
  end)

  it("leaves aliases alone unless include_aliases", function()
    local a = orm.aliased(User)
    local stmt = qs.select(a):order_by(a.id)
    local all = s:scalars(stmt:options(orm.with_loader_criteria(User, User.deleted:is_(false)))):all()
    assert.equal(3, #all)
    all = s:scalars(stmt:options(orm.with_loader_criteria(User, User.deleted:is_(false),
      {include_aliases = true}))):all()
    assert.equal("u1,u2", names(all))
    all = s:scalars(stmt:options(orm.with_loader_criteria(User, function(cls) return cls.deleted:is_(false) end,
      {include_aliases = true}))):all()
    assert.equal("u1,u2", names(all))
  end)

  it("takes a base class target: every mapped class below it (a function)", function()
    local crit = orm.with_loader_criteria(Base, function(cls) return cls.deleted:is_(false) end)
    local users = s:scalars(qs.select(User):order_by(User.id):options(crit)):all()
    assert.equal("u1,u2", names(users))
    assert.equal("a1", names(users[1].addresses))
  end)

  it("applies through Session:get's options", function()
    assert.is_nil(s:get(User, 3, {options = {orm.with_loader_criteria(User, User.deleted:is_(false))}}))
    local u = s:get(User, 1, {options = {live_addresses()}})
    assert.equal("a1", names(u.addresses))
  end)

  it("a session-wide default through do_orm_execute", function()
    qs.event.listen(s, "do_orm_execute", function(state)
      if state.is_select and not state.is_relationship_load then
        state.statement = state.statement:options(live_addresses(),
          orm.with_loader_criteria(User, User.deleted:is_(false)))
      end
    end)
    local users = s:scalars(qs.select(User):order_by(User.id)):all()
    assert.equal("u1,u2", names(users))
    assert.equal("a2", names(users[2].addresses))
  end)

  it("refuses bad input by name", function()
    raises(qs.exc.ArgumentError, function() orm.with_loader_criteria(User, User.deleted, {bogus = 1}) end)
    raises(qs.exc.ArgumentError, function() orm.with_loader_criteria("User", User.deleted) end)
    raises(qs.exc.ArgumentError, function() orm.with_loader_criteria(User, 42) end)
    raises(qs.exc.ArgumentError, function() orm.with_loader_criteria(Base, User.deleted) end)
    raises(qs.exc.ArgumentError, function()
      s:scalars(qs.select(User):options(orm.with_loader_criteria(User, function() return 1 end))):all()
    end)
  end)

  it("costs nothing when unused: the plain select path stays", function()
    local select_rows = require("quicksilver.orm.select_rows")
    local before = select_rows.plain_runs
    s:scalars(qs.select(User)):all()
    assert.equal(before + 1, select_rows.plain_runs)
  end)
end)
