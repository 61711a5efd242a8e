-- Joined-table inheritance: rows in the parent's table and the subclass's,
-- written parents first and deleted children first; polymorphic loading,
-- with_polymorphic and selectin_polymorphic; on every backend.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("joined-table inheritance", function()
  local Base, Employee, Manager, Engineer, engine, s, sqls

  local function count_sql(pattern)
    local n = 0
    for _, q in ipairs(sqls) do if q:find(pattern) then n = n + 1 end end
    return n
  end

  before_each(function()
    Base = orm.declarative_base()
    Employee = Base:model("Employee", {
      __tablename = "employee",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30)),
      type = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_on = "type", polymorphic_identity = "employee"},
    })
    Manager = Employee:model("Manager", {
      __tablename = "manager",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("employee.id"), {primary_key = true}),
      manager_name = orm.mapped_column(qs.String(30)),
      __mapper_args = {polymorphic_identity = "manager"},
    })
    Engineer = Employee:model("Engineer", {
      __tablename = "engineer",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("employee.id"), {primary_key = true}),
      language = orm.mapped_column(qs.String(30)),
      __mapper_args = {polymorphic_identity = "engineer"},
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    s:add_all({Employee({name = "e"}), Manager({name = "m", manager_name = "boss"}),
      Engineer({name = "g1", language = "lua"}), Engineer({name = "g2", language = "c"})})
    sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql) sqls[#sqls + 1] = sql end)
    s:commit()
    s:close()
  end)

  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("inserts the parent row first, then the subclass row with its key", function()
    local first_child, last_parent = math.huge, 0
    for i, q in ipairs(sqls) do
      if q:find("^INSERT INTO employee") then last_parent = i end
      if q:find("^INSERT INTO manager") or q:find("^INSERT INTO engineer") then first_child = math.min(first_child, i) end
    end
    assert.truthy(last_parent < first_child)
    local row = s:execute(qs.select(Engineer.__table__.c.language):order_by(Engineer.__table__.c.id)):all()
    assert.equal("lua", row[1][1])
  end)

  it("loads each row as its class; subclass columns load on access or with the query", function()
    sqls = {}
    local all = s:scalars(qs.select(Employee):order_by(Employee.id)):all()
    local classes = {}
    for i, e in ipairs(all) do classes[i] = orm.inspect(e).mapper.class_name end
    assert.same({"Employee", "Manager", "Engineer", "Engineer"}, classes)
    assert.equal("boss", all[2].manager_name)          -- one more SELECT
    assert.equal(2, #sqls)
    s:close(); sqls = {}
    local wp = orm.with_polymorphic(Employee, "*")
    all = s:scalars(qs.select(wp):order_by(Employee.id)):all()
    assert.equal("boss", all[2].manager_name)
    assert.equal("c", all[4].language)
    assert.equal(1, #sqls)
    assert.matches("LEFT OUTER JOIN manager", sqls[1], 1, true)
    assert.equal(1, #s:scalars(qs.select(wp):where(wp.Engineer.language:eq("c"))):all())
    s:close(); sqls = {}
    all = s:scalars(qs.select(Employee):options(orm.selectin_polymorphic(Employee, {Manager, Engineer}))
      :order_by(Employee.id)):all()
    assert.equal("lua", all[3].language)
    assert.equal(3, #sqls)                               -- the query, one per subclass
    raises(qs.exc.ArgumentError, function() orm.with_polymorphic(Manager, {Engineer}) end)
    raises(qs.exc.UnmappedClassError, function() orm.with_polymorphic(Employee, {Base}) end)
  end)

  it("queries a subclass through the join and updates each table for its columns", function()
    local engs = s:scalars(qs.select(Engineer):order_by(Engineer.id)):all()
    assert.equal(2, #engs)
    assert.matches("FROM employee JOIN engineer ON employee.id = engineer.id", sqls[#sqls], 1, true)
    sqls = {}
    engs[1].language = "moon"
    engs[1].name = "g1!"
    s:commit()
    assert.equal(1, count_sql("^UPDATE employee SET name"))
    assert.equal(1, count_sql("^UPDATE engineer SET language"))
    s:close()
    local g = s:get(Engineer, engs[1].id)
    assert.same({"moon", "g1!"}, {g.language, g.name})
    assert.is_nil(s:get(Manager, g.id))                  -- not a Manager
    assert.equal(g, s:get(Employee, g.id))               -- one identity map for the hierarchy
  end)

  it("deletes the subclass row before the parent row", function()
    local g = s:get(Engineer, 3)
    sqls = {}
    s:delete(g)
    s:commit()
    local child, parent
    for i, q in ipairs(sqls) do
      if q:find("^DELETE FROM engineer") then child = i end
      if q:find("^DELETE FROM employee") then parent = i end
    end
    assert.truthy(child < parent)
    assert.equal(3, s:scalar(qs.select(qs.func.count()):select_from(Employee.__table__)))
    assert.equal(1, s:scalar(qs.select(qs.func.count()):select_from(Engineer.__table__)))
  end)

  it("names an unknown polymorphic identity found in the data", function()
    s:execute(qs.update(Employee.__table__):where(Employee.__table__.c.id:eq(1)):values({type = "intern"}))
    s:commit()
    s:close()
    local err = raises(qs.exc.InvalidRequestError, function() s:scalars(qs.select(Employee)):all() end)
    assert.matches("No such polymorphic_identity intern", tostring(err), 1, true)
  end)
end)
