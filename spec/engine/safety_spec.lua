-- Secrets and resources: a password never shows, garbage collection of
-- unclosed objects neither leaks nor crashes (run under ASan/valgrind too).
local qs = require("quicksilver")
local helpers = require("spec.helpers")

local CANARY = "Canary-Pw-7f3a9"

describe("passwords", function()
  local lines = {}

  local function check(s)
    s = tostring(s)
    lines[#lines + 1] = s
    assert.is_nil(s:find(CANARY, 1, true), "password leaked in: " .. s)
  end

  it("never appear in tostring of URLs and engines", function()
    local u = qs.make_url("postgresql://scott:" .. CANARY .. "@localhost:5432/test")
    check(u)
    check(u:render_as_string())
    assert.equal(CANARY, u.password)   -- still there for the driver
    local e = qs.create_engine("sqlite:///" .. helpers.tmpdb() .. "?password=" .. CANARY)
    check(e)
    check(e.url)
  end)

  it("never appear in errors about malformed URLs", function()
    for _, bad in ipairs({
      "postgresql://scott:" .. CANARY .. "@host:notaport/db",
      "postgresql://scott:" .. CANARY .. "@host:99999999/db",
      "nodialect-scott:" .. CANARY .. "@host/db",
      "://scott:" .. CANARY .. "@host/db",
    }) do
      local ok, err = pcall(qs.make_url, bad)
      assert.is_false(ok)
      check(err)
      check(err.message)
    end
  end)

  it("never appear in errors about unavailable dialects or connections", function()
    local ok, err = pcall(qs.create_engine, "oracle://scott:" .. CANARY .. "@host/db")
    assert.is_false(ok)
    check(err)
  end)

  it("never appear in echo output", function()
    local e = qs.create_engine("sqlite:///" .. helpers.tmpdb() .. "?password=" .. CANARY,
      {echo = true, logger = check})
    e:connect(function(c) c:execute(qs.text("SELECT 1")) end)
    check(e)
    assert.is_true(#lines > 0)
    helpers.cleanup()
  end)
end)

describe("garbage collection", function()
  it("collects unclosed connections, cursors and results without crashing", function()
    local e = qs.create_engine("sqlite:///" .. helpers.tmpdb())
    e:begin(function(c)
      c:execute(qs.text("CREATE TABLE t (x)"))
      c:execute(qs.text("INSERT INTO t VALUES (:x)"), {{x = 1}, {x = 2}, {x = 3}})
    end)
    for i = 1, 50 do
      local c = e:connect()
      local r = c:execute(qs.text("SELECT x FROM t"), nil, {stream_results = true, yield_per = 1})
      r:fetchone()   -- left open, cursor mid-way
      -- the file's pool holds 15 connections: the collector gives the
      -- forgotten ones back (a full collection frees every unreachable one)
      if i % 10 == 0 then collectgarbage(); collectgarbage() end
    end
    collectgarbage()
    collectgarbage()
    assert.equal(0, e.pool:status_table().checked_out)
    -- the file is not left locked by a forgotten reader
    e:begin(function(c) c:execute(qs.text("INSERT INTO t VALUES (4)")) end)
    assert.equal(4, e:connect(function(c) return c:execute(qs.text("SELECT count(*) FROM t")):scalar() end))
    helpers.cleanup()
  end)

  it("survives a cursor outliving its connection", function()
    local core = require("quicksilver.core")
    local c = assert(core.connect("sqlite", {database = ":memory:"}))
    local cur = assert(c:execute("SELECT 1 UNION ALL SELECT 2"))
    c:close()
    helpers.assert_raises_kind(qs.exc.ResourceClosedError, function() cur:fetch() end)
    cur:close()
    cur:close()
    c = nil
    collectgarbage()
  end)
end)
