-- __mapper_args with_polymorphic on a base class: select(Base) loads the
-- subclasses' columns in the same query (joined inheritance: outer joins;
-- a concrete base: the polymorphic union given).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("__mapper_args with_polymorphic", function()
  local engine, s

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    orm.close_all_sessions()
    if s then s:close() end
    engine:dispose()
    helpers.cleanup()
  end)

  local function joined(wp)
    local Base = orm.declarative_base()
    local Employee = Base:model("Employee", {__tablename = "wp_employees",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30)), kind = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "employee", with_polymorphic = wp}})
    local Manager = Employee:model("Manager", {__tablename = "wp_managers",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("wp_employees.id"), {primary_key = true}),
      manager_name = orm.mapped_column(qs.String(30)),
      __mapper_args = {polymorphic_identity = "manager"}})
    local Engineer = Employee:model("Engineer", {__tablename = "wp_engineers",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("wp_employees.id"), {primary_key = true}),
      lang = orm.mapped_column(qs.String(30)),
      __mapper_args = {polymorphic_identity = "engineer"}})
    Base.metadata:create_all(engine)
    return Employee, Manager, Engineer
  end

  it("joined inheritance, \"*\": the subclasses' columns come with the base query", function()
    local Employee, Manager, Engineer = joined("*")
    s = orm.Session(engine)
    s:add_all({Employee({name = "e"}), Manager({name = "m", manager_name = "boss"}),
      Engineer({name = "g", lang = "lua"})})
    s:commit()
    s:close()
    local all = s:scalars(qs.select(Employee):order_by(Employee.id)):all()
    s:close()   -- detached: only what the query loaded is there
    assert.equal("boss", all[2].manager_name)
    assert.equal("lua", all[3].lang)
    assert.is_true(orm.inspect(all[2]).mapper == Manager.__mapper__)
  end)

  it("joined inheritance, a list of subclass names: only those are joined", function()
    local Employee = joined({"Manager"})
    s = orm.Session(engine)
    local Manager = Employee.__mapper__.registry.classes.Manager
    local Engineer = Employee.__mapper__.registry.classes.Engineer
    s:add_all({Manager({name = "m", manager_name = "boss"}), Engineer({name = "g", lang = "lua"})})
    s:commit()
    s:close()
    local all = s:scalars(qs.select(Employee):order_by(Employee.id)):all()
    s:close()
    assert.equal("boss", all[1].manager_name)
    raises(qs.exc.DetachedInstanceError, function() return all[2].lang end)
  end)

  it("a concrete base loads through the union it is given", function()
    local Base = orm.declarative_base()
    local Employee, Manager
    Employee = Base:model("Employee", {__tablename = "wpc_employees",
      id = orm.mapped_column(qs.Integer, {primary_key = true}), name = orm.mapped_column(qs.String(30)),
      __mapper_args = {concrete_base = "discriminator", polymorphic_identity = "employee",
        with_polymorphic = {"*", function()
          return orm.polymorphic_union({employee = Employee.__table__, manager = Manager.__table__},
            "discriminator", "u")
        end}}})
    Manager = Employee:model("Manager", {__tablename = "wpc_managers",
      id = orm.mapped_column(qs.Integer, {primary_key = true}), name = orm.mapped_column(qs.String(30)),
      manager_data = orm.mapped_column(qs.String(30)),
      __mapper_args = {concrete = true, polymorphic_identity = "manager"}})
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    s:add_all({Employee({id = 1, name = "e"}), Manager({id = 1, name = "m", manager_data = "x"})})
    s:commit()
    s:close()
    local all = s:scalars(qs.select(Employee):order_by(Employee.name)):all()
    assert.equal(2, #all)
    assert.is_true(orm.inspect(all[2]).mapper == Manager.__mapper__)
    assert.equal("x", all[2].manager_data)
  end)

  it("refuses bad values by name", function()
    local err = raises(qs.exc.ArgumentError, function() joined(42) end)
    assert.matches("with_polymorphic", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function()
      local Base = orm.declarative_base()
      Base:model("X", {__tablename = "wp_x", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        __mapper_args = {with_polymorphic = "*"}})
    end)
    assert.matches("polymorphic_on", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function()
      local Base = orm.declarative_base()
      Base:model("Y", {__tablename = "wp_y", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        __mapper_args = {concrete_base = true, with_polymorphic = "*"}})
    end)
    assert.matches("polymorphic_union", tostring(err), 1, true)
  end)
end)
