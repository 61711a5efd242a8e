-- examples/blog_project (a model author's project: models in their own module,
-- migrations made by `quicksilver migrate`) run the way its README says: the
-- README's command block for this backend, line by line, in a copy of the
-- directory; only the URL of its `export QS_DATABASE_URL=` line is the test
-- server's. SQLite in the plain runs; PostgreSQL and MariaDB in the backend
-- runs (QS_BACKEND, with QS_PG_URL / QS_MYSQL_URL from spec/support/servers.sh).
local helpers = require("spec.helpers")
local ex = require("spec.support.examples")

local README = "examples/blog_project/README.md"
local BLOCK = {sqlite = 1, postgresql = 2, mysql = 3}

describe("examples/blog_project on " .. helpers.backend, function()
  local url_var = ({postgresql = "QS_PG_URL", mysql = "QS_MYSQL_URL"})[helpers.backend]
  if url_var and (os.getenv(url_var) or "") == "" then
    it("is not run: " .. url_var .. " is not set (start the servers with spec/support/servers.sh)", function()
      pending(url_var .. " is not set")
    end)
    return
  end

  local dir, url

  setup(function()
    dir = ex.scratch_copy("examples/blog_project")
    if url_var then
      url = os.getenv(url_var)
      -- the test database holds other specs' tables (and version table): start empty
      helpers.backend_engine():dispose()
    end
  end)

  teardown(function()
    ex.remove(dir)
    helpers.cleanup()
  end)

  -- The README's block as a shell script run in the copy, with the checkout's
  -- quicksilver and the server's URL.
  local function script(lines)
    local out = {"cd " .. string.format("%q", dir), "set -e", "export " .. ex.lua_env()}
    for _, line in ipairs(lines) do
      local var = line:match("^export (QS_DATABASE_URL)=")
      if var then
        assert(url, "a URL line in the SQLite block")
        line = string.format("export %s=%q", var, url)
      end
      out[#out + 1] = ex.command(line)
    end
    return table.concat(out, "\n")
  end

  it("runs the README's commands: upgrade head, then app.lua printing what the README shows", function()
    local block = ex.blocks(README, "sh")[BLOCK[helpers.backend]]
    assert.is_truthy(block, "no command block for " .. helpers.backend .. " in " .. README)
    local rc, out = ex.sh(script(block.lines))
    assert.equal(0, rc, out)
    assert.matches("upgrade %x+ authors and posts", out)
    assert.matches("upgrade %x+ tags on posts", out)
    local expected = ex.blocks(README, "text")[1].text
    assert.equal(expected, out:sub(-#expected - 1, -2))
  end)

  it("finds the models and the migrated database in agreement (migrate check), and runs app.lua again", function()
    local block = ex.blocks(README, "sh")[BLOCK[helpers.backend]]
    local lines = {}
    for _, line in ipairs(block.lines) do
      if line:match("^export ") then lines[#lines + 1] = line end
    end
    lines[#lines + 1] = "quicksilver migrate check"
    lines[#lines + 1] = "quicksilver migrate current"
    lines[#lines + 1] = "lua5.4 app.lua"
    local rc, out = ex.sh(script(lines))
    assert.equal(0, rc, out)
    assert.matches("no differences between the models and the database", out, 1, true)
    assert.matches("10e4ab30fa53", out, 1, true)
    -- the second run finds the first run's posts instead of writing them again
    assert.matches("ada wrote 2 posts", out, 1, true)
    local _, n = out:gsub("A tick per frame, by linus", "")
    assert.equal(1, n)
  end)
end)
