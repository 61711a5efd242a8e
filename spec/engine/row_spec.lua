-- Rows from the C layer: by name, by index, #row with NULLs, own methods.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("Row", function()
  local engine, row

  setup(function()
    engine = qs.create_engine("sqlite://")
    row = engine:connect(function(conn)
      return conn:execute(qs.text("SELECT 1 AS id, 'ann' AS name, NULL AS note, 2.5 AS score, x'00ff' AS raw, 'dup' AS name")):one()
    end)
  end)

  teardown(function() engine:dispose() end)

  it("answers by name and by index", function()
    assert.equal(1, row.id)
    assert.equal("ann", row[2])
    assert.equal(2.5, row.score)
    assert.equal("\0\255", row.raw)
  end)

  it("counts NULL columns in #row", function()
    assert.is_nil(row.note)
    assert.is_nil(row[3])
    assert.equal(6, #row)
  end)

  it("gives the first of two equal names by name, both by index", function()
    assert.equal("ann", row.name)
    assert.equal("dup", row[6])
  end)

  it("returns nil out of range and raises for an unknown name", function()
    assert.is_nil(row[0])
    assert.is_nil(row[7])
    local err = helpers.assert_raises_kind(qs.exc.InvalidRequestError, function() return row.nope end)
    assert.matches("nope", err.message)
  end)

  it("has _tomap, _keys and _tuple", function()
    local m = row:_tomap()
    assert.equal(1, m.id)
    assert.equal("ann", m.name)
    assert.is_nil(m.note)
    assert.same({"id", "name", "note", "score", "raw", "name"}, row:_keys())
    local t = row:_tuple()
    assert.equal(6, t.n)
    assert.equal("dup", t[6])
  end)

  it("renders like a tuple", function()
    assert.equal('(1, "ann", NULL, 2.5, ' .. string.format("%q", "\0\255") .. ', "dup")', tostring(row))
  end)

  it("iterates names in order with pairs, skipping repeated names (5.2+)", function()
    if _VERSION == "Lua 5.1" then return end
    local names = {}
    for k in pairs(row) do names[#names + 1] = k end
    assert.same({"id", "name", "note", "score", "raw"}, names)   -- NULL columns too, as nil
  end)

  it("keeps a column named like a method reachable", function()
    local r = engine:connect(function(conn)
      return conn:execute(qs.text("SELECT 5 AS _keys")):one()
    end)
    assert.equal(5, r._keys)
  end)
end)
