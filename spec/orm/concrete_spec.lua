-- Concrete-table inheritance: each class its own table with all its
-- columns (__mapper_args concrete = true), the base (concrete_base = true)
-- loading every class through the UNION ALL of the tables.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("concrete-table inheritance", function()
  local engine, s

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    orm.close_all_sessions()
    if s then s:close() end
    engine:dispose()
    helpers.cleanup()
  end)

  local function models()
    local Base = orm.declarative_base()
    local Company = Base:model("Company", {__tablename = "cc_companies",
      id = orm.mapped_column(qs.Integer, {primary_key = true}), name = orm.mapped_column(qs.String(20)),
      managers = orm.relationship("Manager", {back_populates = "company", order_by = "Manager.id"})})
    local Employee = Base:model("Employee", {__tablename = "cc_employees",
      id = orm.mapped_column(qs.Integer, {primary_key = true}), name = orm.mapped_column(qs.String(30)),
      __mapper_args = {concrete_base = true, polymorphic_identity = "employee"}})
    local Manager = Employee:model("Manager", {__tablename = "cc_managers",
      id = orm.mapped_column(qs.Integer, {primary_key = true}), name = orm.mapped_column(qs.String(30)),
      manager_data = orm.mapped_column(qs.String(30)),
      company_id = orm.mapped_column(qs.ForeignKey("cc_companies.id")),
      company = orm.relationship("Company", {back_populates = "managers"}),
      __mapper_args = {concrete = true, polymorphic_identity = "manager"}})
    local Engineer = Employee:model("Engineer", {__tablename = "cc_engineers",
      id = orm.mapped_column(qs.Integer, {primary_key = true}), name = orm.mapped_column(qs.String(30)),
      engineer_info = orm.mapped_column(qs.String(30)),
      __mapper_args = {concrete = true, polymorphic_identity = "engineer"}})
    Base.metadata:create_all(engine)
    return Base, Company, Employee, Manager, Engineer
  end

  local function mapper_of(o) return orm.inspect(o).mapper end

  it("flush writes each object into its own table; the base loads the union as the right classes", function()
    local _, Company, Employee, Manager, Engineer = models()
    s = orm.Session(engine)
    local c = Company({name = "acme"})
    s:add_all({Employee({id = 1, name = "e1"}), Manager({id = 1, name = "m1", manager_data = "md", company = c}),
      Engineer({id = 2, name = "g2", engineer_info = "gi"})})
    s:commit()
    -- each row in its own table, with all its columns
    assert.equal(1, s:scalar(qs.select(qs.func.count()):select_from(Employee.__table__)))
    assert.same({"m1", "md"}, {s:execute(qs.select(Manager.__table__.c.name, Manager.__table__.c.manager_data)):one()[1],
      s:execute(qs.select(Manager.__table__.c.manager_data)):one()[1]})
    assert.equal("gi", s:scalar(qs.select(Engineer.__table__.c.engineer_info)))
    s:close()
    local all = s:scalars(qs.select(Employee):order_by(Employee.name)):all()
    assert.equal(3, #all)
    assert.same({"e1", "g2", "m1"}, {all[1].name, all[2].name, all[3].name})
    assert.is_true(mapper_of(all[1]) == Employee.__mapper__)
    assert.is_true(mapper_of(all[2]) == Engineer.__mapper__)
    assert.is_true(mapper_of(all[3]) == Manager.__mapper__)
    assert.equal("gi", all[2].engineer_info)
    assert.equal("md", all[3].manager_data)
    assert.equal("acme", all[3].company.name)
    -- criteria on the base's attributes apply to every table's rows
    local ms = s:scalars(qs.select(Employee):where(Employee.name:eq("m1"))):all()
    assert.equal(1, #ms)
    assert.is_true(mapper_of(ms[1]) == Manager.__mapper__)
  end)

  it("the identity map is per class: the same key in two tables is two objects", function()
    local _, _, Employee, Manager = models()
    s = orm.Session(engine)
    s:add_all({Employee({id = 1, name = "e"}), Manager({id = 1, name = "m"})})
    s:commit()
    s:close()
    local m = s:get(Manager, 1)
    local all = s:scalars(qs.select(Employee):order_by(Employee.name)):all()
    assert.equal(2, #all)
    assert.equal(m, all[2])                 -- the union's manager row is the same object
    assert.are_not.equal(all[1], all[2])
    assert.equal("e", all[1].name)
    assert.equal(m, s:get(Manager, 1))
    assert.equal("e", s:get(Employee, 1) and s:scalars(qs.select(Employee):where(Employee.id:eq(1))
      :order_by(Employee.name)):all()[1].name)
  end)

  it("querying a subclass reads its own table; updates and deletes go to it", function()
    local _, Company, Employee, Manager, Engineer = models()
    s = orm.Session(engine)
    s:add_all({Employee({id = 5, name = "e"}), Manager({id = 5, name = "m", company = Company({name = "c"})}),
      Engineer({id = 6, name = "g"})})
    s:commit()
    s:close()
    local ms = s:scalars(qs.select(Manager)):all()
    assert.equal(1, #ms)
    ms[1].name = "m2"
    s:commit()
    assert.equal("m2", s:scalar(qs.select(Manager.__table__.c.name)))
    assert.equal("e", s:scalar(qs.select(Employee.__table__.c.name)))
    s:delete(s:get(Engineer, 6))
    s:commit()
    assert.equal(0, s:scalar(qs.select(qs.func.count()):select_from(Engineer.__table__)))
    s:close()
    -- a relationship to a concrete subclass loads from its table
    local c = s:scalars(qs.select(Company)):one()
    assert.equal("m2", c.managers[1].name)
    s:close()
    local cs = s:scalars(qs.select(Company):options(orm.selectinload(Company.managers))):all()
    assert.equal(1, #cs[1].managers)
  end)

  it("a one-to-many to the concrete base loads every class's rows from the union", function()
    local Base = orm.declarative_base()
    local Dept = Base:model("Dept", {__tablename = "cc_depts",
      id = orm.mapped_column(qs.Integer, {primary_key = true}), name = orm.mapped_column(qs.String(20)),
      staff = orm.relationship("Person", {order_by = "Person.name"})})
    local Person = Base:model("Person", {__tablename = "cc_people",
      id = orm.mapped_column(qs.Integer, {primary_key = true}), name = orm.mapped_column(qs.String(30)),
      dept_id = orm.mapped_column(qs.ForeignKey("cc_depts.id")),
      __mapper_args = {concrete_base = true, polymorphic_identity = "person"}})
    local Boss = Person:model("Boss", {__tablename = "cc_bosses",
      id = orm.mapped_column(qs.Integer, {primary_key = true}), name = orm.mapped_column(qs.String(30)),
      dept_id = orm.mapped_column(qs.ForeignKey("cc_depts.id")), budget = orm.mapped_column(qs.Integer),
      __mapper_args = {concrete = true, polymorphic_identity = "boss"}})
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    local d = Dept({name = "d"})
    d.staff = {Person({id = 1, name = "a"}), Boss({id = 1, name = "b", budget = 9})}
    s:add(d)
    s:commit()
    assert.equal(d.id, s:scalar(qs.select(Boss.__table__.c.dept_id)))
    s:close()
    local d2 = s:scalars(qs.select(Dept)):one()
    assert.equal(2, #d2.staff)
    assert.is_true(mapper_of(d2.staff[2]) == Boss.__mapper__)
    assert.equal(9, d2.staff[2].budget)
    s:close()
    local ds = s:scalars(qs.select(Dept):options(orm.selectinload(Dept.staff))):all()
    assert.equal(2, #ds[1].staff)
  end)

  it("orm.polymorphic_union builds the UNION ALL with a discriminator", function()
    local _, _, Employee, Manager, Engineer = models()
    s = orm.Session(engine)
    s:add_all({Employee({id = 1, name = "e"}), Manager({id = 2, name = "m", manager_data = "x"})})
    s:commit()
    local pj = orm.polymorphic_union({employee = Employee.__table__, manager = Manager.__table__,
      engineer = Engineer.__table__}, "kind", "pj")
    local rows = s:execute(qs.select(pj.c.name, pj.c.kind, pj.c.manager_data):order_by(pj.c.name)):all()
    assert.same({"e", "employee"}, {rows[1][1], rows[1][2]})
    assert.is_nil(rows[1][3])
    assert.same({"m", "manager", "x"}, {rows[2][1], rows[2][2], rows[2][3]})
  end)

  it("refuses what it does not support, by name", function()
    local Base = orm.declarative_base()
    local Plain = Base:model("Plain", {__tablename = "cc_plain", id = orm.mapped_column(qs.Integer, {primary_key = true})})
    local err = raises(qs.exc.ArgumentError, function()
      Plain:model("Sub", {__tablename = "cc_sub", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        __mapper_args = {concrete = true}})
    end)
    assert.matches("concrete_base", tostring(err), 1, true)
    local E = Base:model("E", {__tablename = "cc_e", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      __mapper_args = {concrete_base = true, polymorphic_identity = "e"}})
    err = raises(qs.exc.ArgumentError, function()
      E:model("Single", {x = orm.mapped_column(qs.Integer)})
    end)
    assert.matches("concrete = true", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function()
      Base:model("F", {__tablename = "cc_f", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        __mapper_args = {concrete = true}})
    end)
    assert.matches("concrete = true is for a subclass", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function()
      Base:model("G", {__tablename = "cc_g", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        __mapper_args = {concrete_base = 3}})
    end)
    assert.matches("concrete_base", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function()
      orm.polymorphic_union({a = "nope"}, "type")
    end)
    assert.matches("polymorphic_union", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function()
      orm.polymorphic_union({a = E.__table__}, "id")
    end)
    assert.matches("discriminator", tostring(err), 1, true)
    -- a class of the hierarchy without an identity
    E:model("NoId", {__tablename = "cc_noid", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      __mapper_args = {concrete = true}})
    err = raises(qs.exc.InvalidRequestError, function() Base.registry:configure() end)
    assert.matches("NoId", tostring(err), 1, true)
  end)
end)
