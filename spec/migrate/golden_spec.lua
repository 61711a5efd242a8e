-- What the migration tools write, pinned whole: the revision source
-- autogenerate writes, the models `quicksilver models` writes, the SQL each
-- op writes offline on every dialect (spec/migrate/golden_cases.lua). A
-- change to any of them shows here as a diff of the golden file; after a
-- change that is meant, QS_WRITE_GOLDEN=1 rewrites the files (read the diff).
local cases = require("spec.migrate.golden_cases")

local function golden(name, text)
  local path = "spec/migrate/golden/" .. name .. ".txt"
  if os.getenv("QS_WRITE_GOLDEN") == "1" then
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
  end
  local f = assert(io.open(path))
  local want = f:read("*a")
  f:close()
  if want ~= text then
    -- the first line that differs, so the failure says where
    local n, i = 1, 1
    while i <= #want and want:sub(i, i) == text:sub(i, i) do
      if want:sub(i, i) == "\n" then n = n + 1 end
      i = i + 1
    end
    error(string.format("%s differs from %s at line %d:\n  want: %s\n  got:  %s", name, path, n,
      (want:sub(i):match("^[^\n]*")), (text:sub(i):match("^[^\n]*"))), 2)
  end
end

describe("what the migration tools write", function()
  it("autogenerate's revision source for every kind of difference, plain and batch", function()
    golden("revision", cases.render())
  end)

  it("quicksilver models and inspect for every shape of table", function()
    golden("models", cases.models())
  end)

  it("each op's SQL and refusals, offline, on every dialect", function()
    golden("op_offline", cases.op())
  end)
end)
