-- insertmanyvalues repeats an INSERT's VALUES group: the compiler says where
-- the group sits, so quoted names that look like SQL (a table named
-- 't VALUES (x', a column named 'a)b') do not move it. Scanning the SQL
-- text for " VALUES (" found it inside the quoted table name and sent
-- broken SQL.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local compiler = require("quicksilver.sql.compiler")
local helpers = require("spec.helpers")

describe("multi-row VALUES with names that look like SQL on " .. helpers.backend, function()
  local engine, md, t

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    t = qs.Table("vg VALUES (x", md,
      qs.Column("id", qs.Integer, {primary_key = true, autoincrement = true}),
      qs.Column("a)b", qs.String(20)),
      qs.Column("n$1", qs.Integer))
    md:create_all(engine)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function sets(n)
    local out = {}
    for i = 1, n do out[i] = {["a)b"] = "v" .. i, ["n$1"] = i} end
    return out
  end

  local function stored()
    return engine:connect(function(c)
      return c:execute(qs.select(t.c["a)b"], t.c["n$1"]):order_by(t.c["n$1"])):all()
    end)
  end

  it("the compiled INSERT says where its VALUES group is", function()
    local c = compiler.compile_dml(qs.insert(t), engine.dialect.name, {["a)b"] = true, ["n$1"] = true})
    local head, group, tail = compiler.values_group(c)
    assert.is_string(head)
    assert.truthy(head:find("vg VALUES (x", 1, true))
    assert.equal(c.sql, head .. " VALUES (" .. group .. ")" .. tail)
    assert.is_nil(group:find("VALUES", 1, true))
  end)

  it("an executemany of 50 rows stores every row", function()
    engine:begin(function(c) c:execute(qs.insert(t), sets(50)) end)
    local rows = stored()
    assert.equal(50, #rows)
    for i, r in ipairs(rows) do
      assert.equal("v" .. i, r[1])
      assert.equal(i, r[2])
    end
  end)

  it("with RETURNING: a row per set, in order", function()
    if not engine.dialect.caps.insert_returning then return end
    local got = engine:begin(function(c)
      return c:execute(qs.insert(t):returning(t.c.id, t.c["n$1"]), sets(30)):all()
    end)
    assert.equal(30, #got)
    for i, r in ipairs(got) do assert.equal(i, r[2]) end
  end)

  it("an ORM flush of 40 new objects", function()
    local Base = orm.declarative_base()
    local Item = Base:model("Item", {__table = t})
    local s = orm.Session(engine)
    for i = 1, 40 do s:add(Item({["a)b"] = "o" .. i, ["n$1"] = i})) end
    s:commit()
    s:close()
    local rows = stored()
    assert.equal(40, #rows)
    assert.equal("o40", rows[40][1])
  end)
end)
