-- Where an error came from: err.where (the user's line that led to a raise
-- inside quicksilver), shown by qs.traceback (xpcall) and in what the
-- standalone interpreter prints for an uncaught error, while tostring from
-- Lua code reads as it always did; and what placing an error costs.
local qs = require("quicksilver")
local exc = qs.exc

-- This file as the errors name it (short_src).
local SRC = debug.getinfo(1, "S").short_src

local function line_of(fn)
  -- the line after this call is where fn runs the raising code
  return debug.getinfo(fn, "S").linedefined
end

local function catch(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error")
  return err
end

describe("error positions", function()
  it("record the user's line for an error raised inside quicksilver (Lua side)", function()
    local engine = qs.create_engine("sqlite://")
    local function bad() qs.create_engine("sqlite://", {pool_sise = 3}) end
    local err = catch(bad)
    assert.is_true(err:is_a(exc.ArgumentError))
    assert.equal(SRC .. ":" .. line_of(bad), err.where)
    -- Lua code asking for the text gets it unchanged (docs print errors)
    assert.equal("ArgumentError: " .. err.message, tostring(err))
    assert.equal("ArgumentError: " .. err.message, string.format("%s", err))
    assert.equal("x ArgumentError: " .. err.message, "x " .. err)
    engine:dispose()
  end)

  it("record the user's line for a driver error made by the C core", function()
    local engine = qs.create_engine("sqlite://")
    local conn = engine:connect()
    local function bad()
      conn:exec_driver_sql("SELEC 1")
    end
    local err = catch(bad)
    assert.is_true(err:is_a(exc.ProgrammingError))
    assert.equal(SRC .. ":" .. (line_of(bad) + 1), err.where)
    assert.equal("ProgrammingError: " .. err.message .. "\n[SQL: SELEC 1]", tostring(err))
    -- in a report, the position ends the message line; [SQL: ...] stays last
    local text = qs.traceback(err)
    assert.equal("ProgrammingError: " .. err.message .. " (at " .. err.where .. ")\n[SQL: SELEC 1]\nstack traceback:",
      text:match("^(.-stack traceback:)"))
    conn:close()
    engine:dispose()
  end)

  it("point at qs.exc.raise's caller", function()
    local function bad() qs.exc.raise(exc.InvalidRequestError, "nope") end
    local err = catch(bad)
    assert.equal(SRC .. ":" .. line_of(bad), err.where)
    assert.equal("InvalidRequestError: nope", tostring(err))
    assert.truthy(qs.traceback(err):find("^InvalidRequestError: nope %(at " .. err.where:gsub("%p", "%%%0") .. "%)\n"))
  end)

  it("point at a listener's line when the listener raises through quicksilver", function()
    local engine = qs.create_engine("sqlite://")
    local listener = function() qs.exc.raise(exc.InvalidRequestError, "refused") end
    qs.event.listen(engine, "before_execute", listener)
    local conn = engine:connect()
    local err = catch(function() conn:execute(qs.text("SELECT 1")) end)
    assert.equal(SRC .. ":" .. line_of(listener), err.where)
    conn:close()
    engine:dispose()
  end)

  it("leave errors the user's code constructs itself alone", function()
    local e = exc.IntegrityError("dup")
    assert.is_nil(e.where)
    assert.equal("IntegrityError: dup", tostring(e))
    local e2 = exc.DataError("x", {params = {1}})
    assert.equal("DataError: x\n[parameters: {1}]", tostring(e2))
  end)

  it("take a where given in the fields", function()
    local err = catch(function() qs.exc.raise(exc.ArgumentError, "m", {where = "config.lua:3"}) end)
    assert.equal("config.lua:3", err.where)
    assert.truthy(qs.traceback(err):find("^ArgumentError: m %(at config%.lua:3%)\nstack traceback:"))
  end)

  it("record nothing when no level outside quicksilver is on the stack", function()
    -- exc.new tail-calls the class: the coroutine's only frame is the library's
    local e = coroutine.wrap(exc.new)("ArgumentError", "x")
    assert.is_nil(e.where)
    assert.equal("ArgumentError: x", tostring(e))
    assert.truthy(qs.traceback(e):find("^ArgumentError: x\nstack traceback:"))
  end)

  it("cost one stack read per level between the raise and the user's code", function()
    local before = exc._stack_reads
    local e = exc.ArgumentError("mine")   -- user-made: one read says so
    assert.is_nil(e.where)
    assert.equal(before + 1, exc._stack_reads)
    before = exc._stack_reads
    -- exc.raise (level 3), then this function: two reads
    local function bad() qs.exc.raise(exc.ArgumentError, "x") end
    catch(bad)
    assert.equal(before + 2, exc._stack_reads)
    -- a caught error inside a loop: the same count every time (no growth)
    before = exc._stack_reads
    for _ = 1, 100 do catch(bad) end
    assert.equal(before + 200, exc._stack_reads)
  end)
end)

describe("qs.traceback", function()
  it("is xpcall's handler: the error's text with its position, then a traceback", function()
    local engine = qs.create_engine("sqlite://")
    local function run_query()
      engine:connect():exec_driver_sql("SELECT * FROM missing_table")
    end
    local ok, text = xpcall(run_query, qs.traceback)
    assert.is_false(ok)
    assert.equal("string", type(text))
    assert.truthy(text:find("^%a+Error: no such table: missing_table %(at " ..
      SRC:gsub("%p", "%%%0") .. ":%d+%)\n%[SQL: SELECT %* FROM missing_table%]\nstack traceback:\n"))
    -- the traceback runs through the user's line
    assert.truthy(text:find(SRC .. ":" .. (line_of(run_query) + 1) .. ": in", 1, true), text)
    engine:dispose()
  end)

  it("handles string errors as debug.traceback does, and any other value", function()
    local ok, text = xpcall(function() error("plain", 0) end, qs.traceback)
    assert.is_false(ok)
    assert.truthy(text:find("^plain\nstack traceback:\n"))
    ok, text = xpcall(function() error(nil) end, qs.traceback)
    assert.truthy(text:find("^nil\nstack traceback:"))
    ok, text = xpcall(function() error({}) end, qs.traceback)
    assert.truthy(text:find("^table: "))
    local bad = setmetatable({}, {__tostring = function() error("boom") end})
    ok, text = xpcall(function() error(bad) end, qs.traceback)
    assert.truthy(text:find("^<table>\nstack traceback:"))
  end)

  it("still gives text for an error object with a broken field", function()
    local e = exc.new("ArgumentError", "x")
    e.params = setmetatable({}, {__index = function() error("boom") end})
    e.where = "w.lua:1"
    local ok, text = xpcall(function() error(e) end, qs.traceback)
    assert.is_false(ok)
    assert.truthy(text:find("^ArgumentError: x %(at w%.lua:1%)\n%[parameters: {}%]\nstack traceback:"), text)
  end)

  it("takes a level like debug.traceback", function()
    local text = qs.traceback("m", 1)
    assert.truthy(text:find("^m\nstack traceback:\n"))
    -- level 1 is the caller of qs.traceback: this spec's function comes first
    local first = text:match("stack traceback:\n%s*([^\n]*)")
    assert.truthy(first:find(SRC, 1, true), first)
  end)
end)

describe("an uncaught error in a standalone script", function()
  -- The interpreter running these specs, on the same package paths.
  local interp = arg and arg[-1]
  local function run(script)
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local f = assert(io.open(dir .. "/app.lua", "w"))
    f:write(script)
    f:close()
    local cmd = string.format("cd %s && LUA_PATH=%q LUA_CPATH=%q %s app.lua 2>&1; echo rc=$?", dir,
      package.path, package.cpath, interp)
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    os.execute("rm -rf " .. dir)
    return out
  end

  it("names the script's line (Lua 5.4 prints no traceback for error objects)", function()
    if not interp then return pending("no interpreter path in arg[-1]") end
    local out = run([[
local qs = require("quicksilver")
local engine = qs.create_engine("sqlite://")
local function f()
  engine:connect():exec_driver_sql("SELEC 1")
end
f()
]])
    assert.truthy(out:find('ProgrammingError: near "SELEC": syntax error (at app.lua:4)', 1, true), out)
    assert.truthy(out:find("rc=1", 1, true), out)
  end)

  it("prints a full traceback with xpcall(main, qs.traceback)", function()
    if not interp then return pending("no interpreter path in arg[-1]") end
    local out = run([[
local qs = require("quicksilver")
local function main()
  qs.create_engine("sqlite://", {poolsize = 5})
end
local ok, err = xpcall(main, qs.traceback)
if not ok then io.stderr:write(err, "\n") os.exit(1) end
]])
    assert.truthy(out:find("ArgumentError: create_engine: unknown option 'poolsize' (at app.lua:3)", 1, true), out)
    assert.truthy(out:find("stack traceback:", 1, true), out)
    assert.truthy(out:find("app.lua:3: in", 1, true), out)
    assert.truthy(out:find("rc=1", 1, true), out)
  end)
end)
