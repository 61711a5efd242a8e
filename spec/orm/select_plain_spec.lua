-- A select of one entity without options runs as it is when the ORM would
-- add nothing to it (orm/select_rows.lua, issue 22 stage 3): no single-table
-- criterion, no joined eager load. Entities that need them still get them;
-- a short result is read with the statement (no RowBatches); scalar_one()
-- of objects hands the object itself.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local select_rows = require("quicksilver.orm.select_rows")
local helpers = require("spec.helpers")

describe("ORM select of one plain entity", function()
  local engine, Base, Parent, Child, Emp, Mgr

  setup(function()
    engine = helpers.sqlite_engine()
    Base = orm.declarative_base()
    Parent = Base:model("Parent", {
      __tablename = "parent",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      kids = orm.relationship("Child", {back_populates = "parent", lazy = "joined"}),
    })
    Child = Base:model("Child", {
      __tablename = "child",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      parent_id = orm.mapped_column(qs.ForeignKey("parent.id")),
      parent = orm.relationship("Parent", {back_populates = "kids"}),
    })
    Emp = Base:model("Emp", {
      __tablename = "emp",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      kind = orm.mapped_column(qs.String(10)),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "emp"},
    })
    Mgr = Emp:model("Mgr", {__mapper_args = {polymorphic_identity = "mgr"}})
    Base.metadata:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(Parent.__table__), {{id = 1, name = "p1"}, {id = 2, name = "p2"}})
      c:execute(qs.insert(Child.__table__), {{id = 1, parent_id = 1}, {id = 2, parent_id = 1}})
      c:execute(qs.insert(Emp.__table__), {{id = 1, kind = "emp"}, {id = 2, kind = "mgr"}})
    end)
  end)
  teardown(function() engine:dispose() end)

  it("runs a select of an entity the ORM adds nothing to as it is", function()
    local s = orm.Session(engine)
    local before = select_rows.plain_runs
    local c = s:execute(qs.select(Child):where(Child.id:eq(2))):scalar_one()
    assert.equal(2, c.id)
    assert.is_true(select_rows.plain_runs > before)
    -- the same object through the identity map
    assert.equal(c, s:execute(qs.select(Child):where(Child.id:eq(2))):scalar_one())
    s:close()
  end)

  it("adds the joined eager load and the single-table criterion where they belong", function()
    local s = orm.Session(engine)
    local before = select_rows.plain_runs
    local p = s:execute(qs.select(Parent):where(Parent.id:eq(1))):unique():scalar_one()
    assert.equal(2, #p.kids)
    local mgrs = s:scalars(qs.select(Mgr)):all()
    assert.equal(1, #mgrs)
    assert.equal(2, mgrs[1].id)
    assert.equal(before, select_rows.plain_runs)
    s:close()
  end)

  it("reads a result shorter than a batch with the statement: a list, no stream kept", function()
    engine:connect(function(conn)
      local rows, keys = conn:_execute(qs.select(Child.__table__), nil, nil, "batches")
      assert.is_nil(getmetatable(rows))
      assert.equal(2, #rows)
      assert.equal("id", keys[1])
      assert.is_nil(next(conn._streams or {}))
    end)
  end)

  it("scalar(), scalar_one(), scalar_one_or_none() hand the objects themselves", function()
    local s = orm.Session(engine)
    local stmt = qs.select(Child):where(Child.id:eq(1))
    local a = s:execute(stmt):scalar_one()
    assert.equal(a, s:execute(stmt):scalar())
    assert.equal(a, s:execute(stmt):scalar_one_or_none())
    assert.is_nil(s:execute(qs.select(Child):where(Child.id:eq(99))):scalar_one_or_none())
    local ok, err = pcall(function() return s:execute(qs.select(Child)):scalar_one() end)
    assert.is_false(ok)
    assert.is_true(qs.exc.is_error(err, qs.exc.MultipleResultsFound))
    s:close()
  end)
end)
