-- qs.desc(col), qs.asc(col), qs.nulls_first(expr), qs.nulls_last(expr):
-- SQLAlchemy's standalone ORDER BY modifiers, compiling as col:desc() and
-- its kin do on every dialect.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("qs.desc, qs.asc, qs.nulls_first, qs.nulls_last", function()
  local md, t
  before_each(function()
    md = qs.MetaData()
    t = qs.Table("t", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("name", qs.String(20)))
  end)

  for _, d in ipairs({"sqlite", "postgresql", "mysql"}) do
    it("compile as the methods do on " .. d, function()
      local a = qs.select(t.c.id):order_by(qs.desc(t.c.name), qs.asc(t.c.id), qs.nulls_last(qs.desc(t.c.name)),
        qs.nulls_first(t.c.id))
      local b = qs.select(t.c.id):order_by(t.c.name:desc(), t.c.id:asc(), t.c.name:desc():nulls_last(),
        t.c.id:nulls_first())
      local sa, sb = tostring(a:compile({dialect = d})), tostring(b:compile({dialect = d}))
      assert.equal(sb, sa)
      assert.matches("ORDER BY t.name DESC, t.id ASC, t.name DESC NULLS LAST, t.id NULLS FIRST", sa, 1, true)
    end)
  end

  it("take expressions, ORM attributes and names", function()
    local Base = orm.declarative_base()
    local U = Base:model("U", {__tablename = "u", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      age = orm.mapped_column(qs.Integer)})
    assert.matches("ORDER BY u.age DESC NULLS FIRST$", tostring(qs.select(U):order_by(qs.nulls_first(qs.desc(U.age)))))
    assert.matches("ORDER BY lower%(t.name%) DESC$", tostring(qs.select(t):order_by(qs.desc(qs.func.lower(t.c.name)))))
    assert.matches("ORDER BY n DESC$", tostring(qs.select(t.c.name:label("n")):order_by(qs.desc("n"))))
  end)

  it("refuse what is not an expression, naming the function", function()
    local err = raises(qs.exc.ArgumentError, function() return qs.desc(5) end)
    assert.matches("^qs.desc: expects a column", err.message)
    raises(qs.exc.ArgumentError, function() return qs.nulls_last(t) end)
    raises(qs.exc.ArgumentError, function() return qs.asc(nil) end)
  end)

  it("order rows on SQLite", function()
    local engine = qs.create_engine("sqlite://")
    md:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(t), {{id = 1, name = "b"}, {id = 2, name = qs.null}, {id = 3, name = "a"}})
      local ids = c:execute(qs.select(t.c.id):order_by(qs.nulls_first(qs.desc(t.c.name)))):scalars():all()
      assert.same({2, 1, 3}, {ids[1], ids[2], ids[3]})
      ids = c:execute(qs.select(t.c.id):order_by(qs.nulls_last(qs.asc(t.c.name)))):scalars():all()
      assert.same({3, 1, 2}, {ids[1], ids[2], ids[3]})
    end)
    engine:dispose()
  end)
end)
