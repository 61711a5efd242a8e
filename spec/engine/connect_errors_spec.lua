-- Every connect failure names where it tried: a SQLite file that cannot be
-- opened names its path and why (a missing directory, a path through a
-- file), and a server driver's failure names host:port (libpq and the
-- PostgreSQL wire driver, the MariaDB connector and the MySQL wire driver)
-- when the driver's own message does not.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local function connect_error(url)
  local engine = qs.create_engine(url)
  local err = raises(qs.exc.DBAPIError, function() engine:connect(function() end) end)
  engine:dispose()
  return err
end

describe("a SQLite file that cannot be opened", function()
  it("names the path and the missing directory", function()
    local err = connect_error("sqlite:////nonexistent-qs-dir/sub/app.db")
    assert.is_true(qs.exc.is_error(err, qs.exc.OperationalError))
    assert.equal("unable to open database file '/nonexistent-qs-dir/sub/app.db': No such file or directory " ..
      "(the directory '/nonexistent-qs-dir/sub' does not exist: create it first)", err.message)
  end)

  it("names a relative path as given", function()
    local err = connect_error("sqlite:///no-such-qs-dir/app.db")
    assert.matches("'no-such-qs-dir/app.db'", err.message, 1, true)
    assert.matches("the directory 'no-such-qs-dir' does not exist", err.message, 1, true)
  end)

  it("says when the directory is a file", function()
    local f = helpers.tmpdb()
    local h = assert(io.open(f, "w"))
    h:write("x")
    h:close()
    local err = connect_error("sqlite:///" .. f .. "/app.db")
    assert.matches("'" .. f .. "' is not a directory", err.message, 1, true)
    helpers.cleanup()
  end)

  it("says when the path is a directory", function()
    local err = connect_error("sqlite:////tmp")
    assert.matches("unable to open database file '/tmp': Is a directory", err.message, 1, true)
  end)
end)

describe("a server connect failure", function()
  -- port 1 on the loopback: refused at once
  local URLS = {
    {"postgresql://u:p@127.0.0.1:1/db", "127.0.0.1", "1"},
    {"postgresql+wire://u:p@127.0.0.1:1/db", "127.0.0.1:1"},
    {"mysql://u:p@127.0.0.1:1/db", "127.0.0.1:1"},
    {"mysql+wire://u:p@127.0.0.1:1/db", "127.0.0.1:1"},
  }
  for _, case in ipairs(URLS) do
    it("names host and port: " .. case[1], function()
      local ok, engine = pcall(qs.create_engine, case[1])
      if not ok then return pending("its driver is not built here: " .. tostring(engine)) end
      local err = raises(qs.exc.OperationalError, function() engine:connect(function() end) end)
      engine:dispose()
      for i = 2, #case do assert.matches(case[i], err.message, 1, true) end
    end)
  end

  it("names the port MariaDB's connector leaves out", function()
    local ok, engine = pcall(qs.create_engine, "mysql://u:p@127.0.0.1:1/db")
    if not ok then return pending("the MariaDB connector is not built here") end
    local err = raises(qs.exc.OperationalError, function() engine:connect(function() end) end)
    assert.matches("(connecting to 127.0.0.1:1)", err.message, 1, true)
    engine:dispose()
  end)

  it("names host and the default port when the URL gives none", function()
    local err = raises(qs.exc.OperationalError, function()
      qs.create_engine("mysql+wire://u:p@nonexistent-host.invalid/db"):connect(function() end)
    end)
    assert.matches("nonexistent-host.invalid:3306", err.message, 1, true)
  end)

  it("is not repeated when the driver's message names host and port already", function()
    local err = raises(qs.exc.OperationalError, function()
      qs.create_engine("postgresql+wire://u:p@127.0.0.1:1/db"):connect(function() end)
    end)
    assert.is_nil(err.message:find("(connecting to", 1, true))
  end)
end)
