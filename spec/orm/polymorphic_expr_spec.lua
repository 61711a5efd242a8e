-- __mapper_args = {polymorphic_on = <SQL expression>}: the discriminator
-- computed in the SELECT (a CASE over a column), for single- and
-- joined-table inheritance; loading picks classes by it, the flush never
-- writes it.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("polymorphic_on as an expression", function()
  local engine, s

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    orm.close_all_sessions()
    if s then s:close() end
    engine:dispose()
    helpers.cleanup()
  end)

  local function kind_case(cls)
    return qs.case({{cls.kind:eq("EN"), "engineer"}, {cls.kind:eq("MA"), "manager"}}, {else_ = "employee"})
  end

  it("single-table inheritance: classes picked by a CASE, subclass queries filter by it", function()
    local Base = orm.declarative_base()
    local Employee = Base:model("Employee", {__tablename = "pe_employees",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30)), kind = orm.mapped_column(qs.String(2)),
      __mapper_args = {polymorphic_on = kind_case, polymorphic_identity = "employee"}})
    local Engineer = Employee:model("Engineer", {lang = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_identity = "engineer"}})
    local Manager = Employee:model("Manager", {__mapper_args = {polymorphic_identity = "manager"}})
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    -- the flush writes kind as given (the expression is read-only)
    s:add_all({Employee({name = "e", kind = "XX"}), Engineer({name = "g", kind = "EN", lang = "lua"}),
      Manager({name = "m", kind = "MA"})})
    s:commit()
    s:close()
    local all = s:scalars(qs.select(Employee):order_by(Employee.id)):all()
    assert.is_true(orm.inspect(all[1]).mapper == Employee.__mapper__)
    assert.is_true(orm.inspect(all[2]).mapper == Engineer.__mapper__)
    assert.is_true(orm.inspect(all[3]).mapper == Manager.__mapper__)
    assert.equal("lua", all[2].lang)
    s:close()
    local ms = s:scalars(qs.select(Manager)):all()
    assert.equal(1, #ms)
    assert.equal("m", ms[1].name)
    local gs = s:scalars(qs.select(Engineer)):all()
    assert.same({"g"}, {gs[1].name, gs[2] and gs[2].name})
    -- rows written outside the ORM: the CASE decides
    s:execute(qs.insert(Employee.__table__):values({id = 10, name = "raw", kind = "MA"}))
    s:commit()
    s:close()
    assert.is_true(orm.inspect(s:get(Employee, 10)).mapper == Manager.__mapper__)
    assert.is_nil(rawget(s:get(Employee, 10), "qs_discriminator"))
  end)

  it("joined-table inheritance with an expression discriminator", function()
    local Base = orm.declarative_base()
    local Employee = Base:model("Employee", {__tablename = "pj_employees",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30)), kind = orm.mapped_column(qs.String(2)),
      __mapper_args = {polymorphic_on = kind_case, polymorphic_identity = "employee"}})
    local Engineer = Employee:model("Engineer", {__tablename = "pj_engineers",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("pj_employees.id"), {primary_key = true}),
      lang = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_identity = "engineer"}})
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    s:add_all({Employee({name = "e", kind = "XX"}), Engineer({name = "g", kind = "EN", lang = "c"})})
    s:commit()
    s:close()
    local all = s:scalars(qs.select(Employee):order_by(Employee.id)):all()
    assert.is_true(orm.inspect(all[2]).mapper == Engineer.__mapper__)
    assert.equal("c", all[2].lang)
    s:close()
    local gs = s:scalars(qs.select(Engineer)):all()
    assert.equal(1, #gs)
    assert.equal("g", gs[1].name)
  end)

  it("refuses a polymorphic_on that is neither a column nor an expression", function()
    local err = raises(qs.exc.ArgumentError, function()
      local Base = orm.declarative_base()
      Base:model("Employee", {__tablename = "pb_employees", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        __mapper_args = {polymorphic_on = 42}})
    end)
    assert.matches("polymorphic_on", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function()
      local Base = orm.declarative_base()
      Base:model("Employee", {__tablename = "pb_employees2", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        __mapper_args = {polymorphic_on = "nosuch"}})
    end)
    assert.matches("nosuch", tostring(err), 1, true)
  end)
end)
