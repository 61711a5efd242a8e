-- Statements of 100+ columns and values on every backend: the compiled-
-- statement cache keys all of their structure (a statement differing from
-- another only past the 64th field gets its own compiled form and result
-- types), and Boolean columns past position 64 read back as true/false.
local qs = require("quicksilver")
local compiler = require("quicksilver.sql.compiler")
local helpers = require("spec.helpers")

local N = 120

local function names()
  local out = {}
  for i = 1, N do out[i] = string.format("c%03d", i) end
  return out
end

-- the field a walk over map meets last (the old key kept the first 64 met)
local function last_field(map)
  local last
  for k in pairs(map) do last = k end
  return last
end

-- text():columns() of every column, `odd` typed Boolean and the rest Integer
local function typed_text(sql, odd)
  local cols = {}
  for i, name in ipairs(names()) do cols[i] = qs.column(name, name == odd and qs.Boolean or qs.Integer) end
  return qs.text(sql):columns(table.unpack(cols))
end

describe("wide statements on " .. helpers.backend, function()
  local engine, md, wide, odd, sql

  before_each(function()
    compiler.clear_cache()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    sql = "SELECT " .. table.concat(names(), ", ") .. " FROM wide ORDER BY id"
    -- the Boolean column: position 100, and the one the old key walk dropped
    odd = last_field(typed_text(sql, nil)._columns)
    local cols = {}
    for i, name in ipairs(names()) do
      cols[i] = qs.Column(name, (i == 100 or name == odd) and qs.Boolean or qs.Integer)
    end
    wide = qs.Table("wide", md, qs.Column("id", qs.Integer, {primary_key = true}), table.unpack(cols))
    md:create_all(engine)
    local rows = {}
    for r = 1, 2 do
      local row = {id = r}
      for i, name in ipairs(names()) do
        if i == 100 or name == odd then row[name] = (r == 1) else row[name] = i * 10 + r end
      end
      rows[r] = row
    end
    engine:begin(function(c) c:execute(qs.insert(wide), rows) end)   -- executemany of 121 values
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("reads a Boolean column past position 64 as true/false", function()
    local rows = engine:connect(function(c) return c:execute(qs.select(wide):order_by(wide.c.id)):all() end)
    assert.equal(true, rows[1].c100)
    assert.equal(false, rows[2].c100)
    for r = 1, 2 do
      for i, name in ipairs(names()) do
        local want = i * 10 + r
        if i == 100 or name == odd then want = (r == 1) end
        assert.equal(want, rows[r][name], name)
      end
    end
  end)

  it("gives two text():columns() statements differing past the 64th column their own result types", function()
    local as_int, as_bool = typed_text(sql, nil), typed_text(sql, odd)
    engine:connect(function(c)
      local r1 = c:execute(as_int):all()
      local r2 = c:execute(as_bool):all()
      assert.equal(true, r2[1][odd])    -- typed Boolean: not the Integer typing of the first
      assert.equal(false, r2[2][odd])
      assert.equal(2, #r1)   -- compiled (and cached) first
    end)
  end)

  it("updates 120 columns in one statement and keeps each column's value", function()
    local vals = {}
    for i, name in ipairs(names()) do
      if i == 100 or name == odd then vals[name] = false else vals[name] = -i end
    end
    engine:begin(function(c) c:execute(qs.update(wide):where(wide.c.id:eq(1)):values(vals)) end)
    local row = engine:connect(function(c) return c:execute(qs.select(wide):where(wide.c.id:eq(1))):one() end)
    assert.equal(false, row.c100)
    for name, v in pairs(vals) do assert.equal(v, row[name], name) end
  end)

  it("selects with IN of 150 values", function()
    local v = {}
    for i = 1, 150 do v[i] = i end
    local n = engine:connect(function(c)
      return c:execute(qs.select(qs.func.count()):select_from(wide):where(wide.c.id:in_(v))):scalar()
    end)
    assert.equal(2, n)
  end)
end)
