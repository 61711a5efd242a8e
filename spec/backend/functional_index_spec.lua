-- Functional (expression) indexes on every backend: created, used, reflected
-- with SQLAlchemy 2.0's `expressions` (PostgreSQL, SQLite), no false
-- difference in autogenerate; MariaDB refuses them with a CompileError.
local qs = require("quicksilver")
local autogenerate = require("quicksilver.migrate.autogenerate")
local helpers = require("spec.helpers")

describe("functional indexes on " .. helpers.backend, function()
  local engine

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  local function model()
    local md = qs.MetaData()
    local t = qs.Table("fx_people", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(50)), qs.Column("x", qs.Integer))
    qs.Index("ix_fx_lower", qs.func.lower(t.c.name), t.c.x)
    qs.Index("ix_fx_plain", t.c.x)
    return md, t
  end

  it("are created, enforce uniqueness on the expression, and reflect", function()
    local md, t = model()
    qs.Index("ux_fx_lower", qs.func.lower(t.c.name), {unique = true})
    -- MariaDB learns it is MariaDB at the first connection
    engine:connect(function() end)
    if not engine.dialect.caps.expression_index then
      local err = helpers.assert_raises_kind(qs.exc.CompileError, function() md:create_all(engine) end)
      assert.truthy(tostring(err):find("expression index", 1, true), tostring(err))
      return
    end
    md:create_all(engine)
    engine:begin(function(c) c:execute(qs.insert(t), {id = 1, name = "Ann", x = 1}) end)
    helpers.assert_raises_kind(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:execute(qs.insert(t), {id = 2, name = "ANN", x = 2}) end)
    end)
    local ixs = qs.inspect(engine):get_indexes("fx_people")
    local by = {}
    for _, ix in ipairs(ixs) do by[ix.name] = ix end
    assert.same({"x"}, by.ix_fx_plain.column_names)
    assert.is_nil(by.ix_fx_plain.expressions)
    local f = by.ix_fx_lower
    if helpers.on("mysql") then
      -- MySQL 8 reports no expression text through the catalog read here
      return
    end
    assert.same({false, "x"}, f.column_names)
    assert.equal(2, #f.expressions)
    assert.truthy(f.expressions[1]:lower():find("lower%(.*name"), f.expressions[1])
    assert.equal("x", f.expressions[2])
    assert.is_true(by.ux_fx_lower.unique)
  end)

  it("reflected into a Table that can create them again", function()
    local md = model()
    engine:connect(function() end)
    if not engine.dialect.caps.expression_index then return end
    md:create_all(engine)
    local md2 = qs.MetaData()
    local t2 = qs.Table("fx_people", md2, {autoload_with = engine})
    local found
    for _, ix in ipairs(t2.indexes) do if ix.name == "ix_fx_lower" then found = ix end end
    assert.truthy(found)
    assert.equal(2, #found.expressions)
    engine:begin(function(c)
      c:execute(qs.schema.DropIndex(found))
      c:execute(qs.schema.CreateIndex(found))
    end)
  end)

  it("are written by autogenerate as qs.text key parts, both ways", function()
    local md, t = model()
    engine:connect(function() end)
    if not engine.dialect.caps.expression_index then return end
    -- the table without its functional index: autogenerate adds it
    local bare = qs.MetaData()
    qs.Table("fx_people", bare, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(50)), qs.Column("x", qs.Integer))
    bare:create_all(engine)
    local diffs = engine:connect(function(c) return autogenerate.compare(c, md) end)
    local up = autogenerate.render(diffs)
    assert.truthy(up:find('create_index("ix_fx_lower", "fx_people", {qs.text("lower(name)"), "x"}', 1, true), up)
    -- and the database's functional index, absent from a model: dropped, made again on downgrade
    engine:begin(function(c)
      for _, ix in ipairs(t.indexes) do
        if ix.name == "ix_fx_lower" then c:execute(qs.schema.CreateIndex(ix)) end
      end
    end)
    local diffs2 = engine:connect(function(c) return autogenerate.compare(c, bare) end)
    local up2, down2 = autogenerate.render(diffs2)
    assert.truthy(up2:find('drop_index("ix_fx_lower"', 1, true), up2)
    assert.truthy(down2:find('create_index("ix_fx_lower", "fx_people", {qs.text(', 1, true), down2)
    assert.truthy(down2:find('"x"}', 1, true), down2)
    assert.is_not_nil(t)
  end)

  it("give autogenerate no difference once created", function()
    local md = model()
    engine:connect(function() end)
    if not engine.dialect.caps.expression_index then return end
    md:create_all(engine)
    local out = engine:connect(function(c) return autogenerate.compare(c, md) end)
    local seen = {}
    for _, d in ipairs(out) do seen[#seen + 1] = autogenerate.describe(d) end
    assert.same({}, seen)
  end)
end)
