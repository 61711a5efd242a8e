-- The completed language on every backend (the behaviour suite): windows,
-- set operations, CTEs (recursive too), upsert, RETURNING, UPDATE ... FROM,
-- multi-row VALUES; each in the backend's own form where forms differ.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("executing the completed language on " .. helpers.backend, function()
  local engine, emp, e

  before_each(function()
    engine = helpers.backend_engine()
    local md = qs.MetaData()
    emp = qs.Table("emp", md,
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(20), {nullable = false, unique = true}),
      qs.Column("dept", qs.String(20)),
      qs.Column("salary", qs.Integer),
      qs.Column("boss_id", qs.Integer, qs.ForeignKey("emp.id")))
    e = emp.c
    md:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(emp):values({
        -- ids 1..5 come from the database, in this order (explicit ids would
        -- leave PostgreSQL's sequence behind)
        {name = "ceo", dept = "x", salary = 300, boss_id = qs.null},
        {name = "cto", dept = "tech", salary = 200, boss_id = 1},
        {name = "dev1", dept = "tech", salary = 100, boss_id = 2},
        {name = "dev2", dept = "tech", salary = 120, boss_id = 2},
        {name = "cfo", dept = "fin", salary = 180, boss_id = 1},
      }))
    end)
  end)
  after_each(function()
    engine:begin(function(c) engine.dialect.drop_everything(c) end)
    engine:dispose()
    helpers.cleanup()
  end)

  -- rows of a statement that returns rows, else the result itself
  local function run(stmt, params)
    return engine:begin(function(c)
      local r = c:execute(stmt, params)
      if r.returns_rows then return r:all() end
      return r
    end)
  end

  it("ranks within partitions", function()
    local rows = run(qs.select(e.name, qs.func.rank():over({partition_by = e.dept, order_by = e.salary:desc()}):label("r"))
      :where(e.dept:eq("tech")):order_by(e.salary:desc()))
    assert.same({"cto", "dev2", "dev1"}, {rows[1].name, rows[2].name, rows[3].name})
    assert.same({1, 2, 3}, {rows[1].r, rows[2].r, rows[3].r})
  end)

  it("running totals with a rows frame", function()
    local rows = run(qs.select(e.id, qs.func.sum(e.salary):over({order_by = e.id, rows = {qs.unbounded, 0}}):label("t"))
      :order_by(e.id))
    assert.same({300, 500, 600, 720, 900}, {rows[1].t, rows[2].t, rows[3].t, rows[4].t, rows[5].t})
  end)

  it("union, union_all, intersect, except_", function()
    local a = qs.select(e.dept):where(e.salary:gt(150))
    local b = qs.select(e.dept):where(e.salary:lt(150))
    assert.equal(3, #run(qs.union(a, b)))          -- x, tech, fin
    assert.equal(5, #run(qs.union_all(a, b)))
    assert.same({"tech"}, {run(qs.intersect(a, b))[1].dept})
    local ex = run(qs.except_(a, b):order_by("dept"))
    assert.same({"fin", "x"}, {ex[1].dept, ex[2].dept})
  end)

  it("compound members with their own LIMIT", function()
    local top = qs.select(e.name):order_by(e.salary:desc()):limit(1)
    local bottom = qs.select(e.name):order_by(e.salary):limit(1)
    local rows = run(qs.union_all(top, bottom))
    assert.same({"ceo", "dev1"}, {rows[1].name, rows[2].name})
  end)

  it("a recursive CTE walks the hierarchy", function()
    local chain = qs.select(e.id, e.name, qs.literal(0):label("depth")):where(e.boss_id:eq(nil))
      :cte("chain", {recursive = true})
    chain = chain:union_all(qs.select(e.id, e.name, (chain.c.depth + 1):label("depth"))
      :join(chain, e.boss_id:eq(chain.c.id)))
    local rows = run(qs.select(chain.c.name, chain.c.depth):order_by(chain.c.depth, chain.c.name))
    assert.equal(5, #rows)
    assert.same({"ceo", 0}, {rows[1].name, rows[1].depth})
    assert.same({"dev2", 2}, {rows[5].name, rows[5].depth})
  end)

  it("a CTE in an UPDATE (CompileError on MariaDB, which has no WITH ... UPDATE)", function()
    local rich = qs.select(e.id):where(e.salary:gt(150)):cte("rich")
    if helpers.on("mysql") then
      raises(qs.exc.CompileError, function()
        engine:begin(function(c)
          c:execute(qs.update(emp):where(e.id:in_(qs.select(rich.c.id))):values({salary = e.salary + 1}))
        end)
      end)
      return
    end
    local r = engine:begin(function(c)
      return c:execute(qs.update(emp):where(e.id:in_(qs.select(rich.c.id))):values({salary = e.salary + 1}))
    end)
    assert.equal(3, r.rowcount)
  end)

  it("upserts with the proposed row's values", function()
    local stmt = qs.insert(emp):values({id = 3, name = "dev1", salary = 111})
    if helpers.on("mysql") then
      stmt = stmt:on_duplicate_key_update({salary = stmt.inserted.salary})
    else
      stmt = stmt:on_conflict_do_update({index_elements = {"id"}, set_ = {salary = stmt.excluded.salary}})
    end
    run(stmt)
    assert.equal(111, run(qs.select(e.salary):where(e.id:eq(3)))[1].salary)
    if not helpers.on("mysql") then
      run(qs.insert(emp):values({id = 9, name = "cto"}):on_conflict_do_nothing())
      assert.equal(5, #run(qs.select(e.id)))
    end
    raises(qs.exc.IntegrityError, function() run(qs.insert(emp):values({id = 9, name = "cto"})) end)
  end)

  it("upsert with a WHERE only updates matching rows", function()
    if helpers.on("mysql") then return end   -- ON DUPLICATE KEY UPDATE has no WHERE
    local stmt = qs.insert(emp):values({id = 4, name = "dev2", salary = 999})
    run(stmt:on_conflict_do_update({index_elements = {"id"}, set_ = {salary = stmt.excluded.salary},
      where = e.salary:gt(500)}))
    assert.equal(120, run(qs.select(e.salary):where(e.id:eq(4)))[1].salary)
  end)

  it("upsert from a select", function()
    local src = qs.select(e.id, (e.name .. "!"):label("name")):where(e.dept:eq("fin"))
    local ins = qs.insert(emp):from_select({"id", "name"}, src)
    if helpers.on("mysql") then
      run(ins:on_duplicate_key_update({name = ins.inserted.name}))
    else
      run(ins:on_conflict_do_update({index_elements = {"id"}, set_ = {name = ins.excluded.name}}))
    end
    assert.equal("cfo!", run(qs.select(e.name):where(e.id:eq(5)))[1].name)
  end)

  it("RETURNING from INSERT, UPDATE and DELETE", function()
    local r = run(qs.insert(emp):values({name = "new", salary = 1}):returning(e.id, e.name))
    assert.same({6, "new"}, {r[1].id, r[1].name})
    if not helpers.on("mysql") then   -- MariaDB: RETURNING for INSERT and DELETE only
      r = run(qs.update(emp):where(e.dept:eq("tech")):values({salary = e.salary * 2}):returning(e.id, e.salary))
      assert.equal(3, #r)
    end
    r = run(qs.delete(emp):where(e.id:eq(6)):returning(e.name))
    assert.equal("new", r[1].name)
  end)

  it("UPDATE ... FROM another table", function()
    local boss = emp:alias("boss")
    run(qs.update(emp):where(e.boss_id:eq(boss.c.id), boss.c.name:eq("cto")):values({salary = boss.c.salary}))
    local rows = run(qs.select(e.salary):where(e.boss_id:eq(2)))
    assert.same({200, 200}, {rows[1].salary, rows[2].salary})
  end)

  it("multi-row VALUES inserts every row in one statement", function()
    local rec = helpers.recorder(engine)
    local r = engine:begin(function(c)
      return c:execute(qs.insert(emp):values({{name = "a", salary = 1}, {name = "b"}, {name = "c", salary = 3}}))
    end)
    assert.equal(3, r.rowcount)
    assert.equal(1, #rec)
    assert.equal(8, #run(qs.select(e.id)))
  end)
end)
