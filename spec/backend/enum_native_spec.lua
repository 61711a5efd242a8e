-- qs.Enum's native_enum = false (SQLAlchemy's native_enum=False): a named
-- enum stored as a VARCHAR as long as its longest value on every database,
-- no CREATE TYPE on PostgreSQL, no ENUM(...) on MySQL; values still checked
-- on bind; reflected back as a string column.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("Enum with native_enum = false on " .. helpers.backend, function()
  local engine, md, t

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    t = qs.Table("en_plain", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("mood", qs.Enum("happy", "sad", {name = "en_mood", native_enum = false})))
    md:create_all(engine)
  end)

  after_each(function()
    if md and engine then md:drop_all(engine) end
    engine:dispose()
    helpers.cleanup()
  end)

  it("is a VARCHAR of the longest value in DDL on every dialect", function()
    for _, d in ipairs({"sqlite", "postgresql", "mysql", "mariadb"}) do
      local sql = qs.schema.CreateTable(t):compile({dialect = d}).sql
      assert.matches("mood VARCHAR(5)", sql, 1, true)
      assert.is_nil(sql:find("ENUM", 1, true))
    end
    assert.is_nil(qs.schema.CreateTable(t):compile({dialect = "postgresql"}).sql:find("en_mood", 1, true))
  end)

  it("stores and reads the values, refuses others, and reflects as a string", function()
    engine:begin(function(conn)
      conn:execute(qs.insert(t), {{id = 1, mood = "sad"}, {id = 2, mood = "happy"}})
      assert.same({"sad", "happy", n = 2},
        conn:execute(qs.select(t.c.mood):order_by(t.c.id)):scalars():all())
      local err = helpers.assert_raises_kind(qs.exc.ArgumentError, function()
        conn:execute(qs.insert(t):values({id = 3, mood = "angry"}))
      end)
      assert.matches("'angry' is not among the defined enum values", tostring(err), 1, true)
    end)
    local insp = qs.inspect(engine)
    local cols = insp:get_columns("en_plain")
    assert.equal("mood", cols[2].name)
    assert.is_truthy(tostring(cols[2].type):match("String") or tostring(cols[2].type):match("VARCHAR"))
    if engine.dialect.caps.enum_types then
      assert.is_false(engine:connect(function(c) return c.dialect.has_type(c, "en_mood") end))
    end
  end)

  it("refuses a native_enum that is not a boolean", function()
    local err = helpers.assert_raises_kind(qs.exc.ArgumentError, function() qs.Enum("a", {native_enum = "no"}) end)
    assert.matches("native_enum must be a boolean", err.message, 1, true)
  end)
end)
