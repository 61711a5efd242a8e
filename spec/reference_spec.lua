-- The API reference (docs/reference/<AREA>.md) is complete and true to the
-- code: every public name that spec/support/api_names.lua finds has a row,
-- every row names something public, and every `###` section has a runnable
-- ```lua block (spec/docs_spec.lua runs it). The gaps, without busted:
-- `lua5.4 spec/support/reference_check.lua [AREA]`.
local api_names = require("spec.support.api_names")
local check = require("spec.support.reference_check")

describe("docs/reference", function()
  for _, area in ipairs(api_names.AREAS) do
    it(area .. ".md has a row for every public name, each row names one, each section has an example", function()
      local rep = check.report(check.check(area))
      if rep ~= "" then error(rep, 0) end
    end)
  end

  it("the index docs/reference/README.md links every reference file", function()
    local f = assert(io.open(api_names.ROOT .. "/docs/reference/README.md", "rb"))
    local text = f:read("*a")
    f:close()
    for _, area in ipairs(api_names.AREAS) do
      assert.truthy(text:find("(" .. area .. ".md)", 1, true), "docs/reference/README.md does not link " .. area .. ".md")
    end
  end)
end)

describe("the reference checker", function()
  it("keys a row by the name before its arguments", function()
    local rows = check.parse("| Name | Meaning |\n|---|---|\n| `Session:execute(stmt, [params])` | runs |\n" ..
      "| `qs.exc.NoResultFound` | none |\n| `\"before_execute\"` | event |\n", "ORM")
    assert.same({"Session:execute", "qs.exc.NoResultFound", '"before_execute"'},
      {rows[1].key, rows[2].key, rows[3].key})
  end)

  it("keys CLI rows by their command words and options", function()
    assert.same({"quicksilver migrate upgrade"}, check.cli_keys("quicksilver migrate upgrade [REV]"))
    assert.same({"quicksilver migrate --sql"}, check.cli_keys("quicksilver migrate upgrade [REV] --sql"))
    assert.same({"quicksilver migrate --directory"}, check.cli_keys("quicksilver migrate -d, --directory DIR"))
    assert.same({"quicksilver --version"}, check.cli_keys("quicksilver --version"))
  end)

  it("finds sections without a runnable block", function()
    local _, sections = check.parse("### A\n```lua\nx = 1\n```\n### B\n```lua fragment\nx\n```\n", "ORM")
    assert.is_true(sections[1].runnable)
    assert.is_false(sections[2].runnable)
  end)
end)
