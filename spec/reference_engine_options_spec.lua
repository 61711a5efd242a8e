-- docs/reference/ENGINE.md's options table against what create_engine
-- accepts (engine/create.lua's list): an option added to the code without a
-- row, or a row for an option the code does not take, fails here, so the
-- table cannot drift.
local create = require("quicksilver.engine.create")
local qs = require("quicksilver")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- The first cells of the table under "### create_engine options".
local function documented_options(text)
  local out, inside = {}, false
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:match("^###") then
      inside = line:match("^###%s+create_engine options%s*$") ~= nil
    elseif inside then
      local cell = line:match("^|%s*([^|]-)%s*|")
      if cell and cell ~= "Option" and not cell:match("^:?%-+:?$") then
        out[#out + 1] = cell
      end
    end
  end
  return out
end

describe("docs/reference/ENGINE.md create_engine options", function()
  local rows = documented_options(read("docs/reference/ENGINE.md"))
  local accepted = create.option_names()

  it("finds the table", function()
    assert.is_true(#rows > 10, "no options table under '### create_engine options'")
    assert.is_true(#accepted > 10)
  end)

  it("has a row for every option create_engine accepts", function()
    local have = {}
    for _, r in ipairs(rows) do have[r] = true end
    local missing = {}
    for _, k in ipairs(accepted) do
      if not have[k] then missing[#missing + 1] = k end
    end
    assert.same({}, missing)
  end)

  it("has no row for an option create_engine refuses", function()
    local known = {}
    for _, k in ipairs(accepted) do known[k] = true end
    local extra = {}
    for _, r in ipairs(rows) do
      if not known[r] then extra[#extra + 1] = r end
    end
    assert.same({}, extra)
  end)

  it("lists each option once", function()
    local seen, twice = {}, {}
    for _, r in ipairs(rows) do
      if seen[r] then twice[#twice + 1] = r end
      seen[r] = true
    end
    assert.same({}, twice)
  end)

  it("reads the list create_engine checks against (an unlisted name is refused)", function()
    local ok, err = pcall(qs.create_engine, "sqlite://", {not_an_option = 1})
    assert.is_false(ok)
    assert.equal("create_engine: unknown option 'not_an_option'", err.message)
    -- every listed name gets past the unknown-option check (it may fail later,
    -- on its value or its database, but never as unknown)
    for _, k in ipairs(accepted) do
      local _, e = pcall(qs.create_engine, "sqlite://", {[k] = "?"})
      if e ~= nil then
        assert.is_nil(tostring(e.message or e):find("unknown option", 1, true), k)
      end
    end
  end)
end)
