--- spec/async/support.lua: what the async specs share. The schedulers
--- available in this Lua (the built-in loop everywhere; cqueues and luv
--- where installed), each behind one shape, and pipes
--- to wait on (luv's on Lua 5.4, LuaJIT's FFI on LuaJIT).
local core = require("quicksilver.core")

-- luv is loaded once per process, on the main thread (it runs its callbacks
-- on the thread that loads it). Busted insulates each spec file: it drops
-- what the file loaded from package.loaded, and a second require of luv
-- opens it again while the first loop's handles live on (a crash in
-- uv_timer_init once the first module is collected). So the first one is
-- kept in the registry and handed back to every file.
local REG_KEY = "quicksilver.spec.async.luv"
local registry = debug.getregistry()
if registry[REG_KEY] == nil then
  local ok, uv = pcall(require, "luv")
  registry[REG_KEY] = ok and uv or false
end
package.loaded.luv = registry[REG_KEY] or nil
local has_luv = registry[REG_KEY] ~= false

local M = {}

local function has(name)
  local ok = pcall(require, name)
  return ok
end

-- Runs fns[i]() in a coroutine each, on a scheduler whose spawn(f) starts
-- f in a coroutine and whose drive() runs them all to the end; every fn
-- runs under pcall (an error is kept, never raised out of a callback).
-- Returns {ok = , value = } per fn, in order.
local function runner(spawn, drive)
  return function(fns)
    local results = {}
    for i, fn in ipairs(fns) do
      spawn(function()
        local ok, v = pcall(fn, i)
        results[i] = {ok = ok, value = v}
      end)
    end
    drive()
    for i = 1, #fns do
      assert(results[i], "coroutine " .. i .. " did not finish")
    end
    return results
  end
end

--- The schedulers: {name, waiter, run(fns) -> results, sleep(s)}: the
--- built-in loop, then cqueues and luv when installed (always on Lua 5.4:
--- make deps installs them; Debian builds them for LuaJIT's 5.1 too).
function M.schedulers()
  local list = {}
  local loop = require("quicksilver.async.loop")
  local l
  list[#list + 1] = {
    name = "built-in loop",
    waiter = loop.waiter,
    run = runner(function(f) l = l or loop.new(); l:spawn(f) end,
      function() if l then l:run() end; l = nil end),
    sleep = loop.sleep,
  }
  if has("cqueues") then
    local cqueues = require("cqueues")
    local cq
    list[#list + 1] = {
      name = "cqueues",
      waiter = require("quicksilver.async.cqueues").waiter,
      run = runner(function(f) cq = cq or cqueues.new(); cq:wrap(f) end,
        function() if cq then assert(cq:loop()) end; cq = nil end),
      sleep = cqueues.sleep,
    }
  end
  if has_luv then
    local uv = require("luv")
    local a = require("quicksilver.async.luv")
    list[#list + 1] = {
      name = "luv",
      waiter = a.waiter,
      run = runner(a.spawn, function() uv.run() end),
      sleep = a.sleep,
    }
  end
  return list
end

--- Whether the schedulers of Lua 5.4 (cqueues, luv) are expected here.
M.lua54 = _VERSION == "Lua 5.4"

--- A pipe: {read = fd, write = fd, send(s), recv(n), close_write(), close()}.
function M.pipe()
  if jit then
    local ffi = require("ffi")
    if not M.ffi_ready then
      ffi.cdef([[
        int pipe(int fds[2]);
        long write(int fd, const void *buf, unsigned long n);
        long read(int fd, void *buf, unsigned long n);
        int close(int fd);
      ]])
      M.ffi_ready = true
    end
    local fds = ffi.new("int[2]")
    assert(ffi.C.pipe(fds) == 0, "pipe() failed")
    local p = {read = fds[0], write = fds[1]}
    function p.send(s) assert(ffi.C.write(p.write, s, #s) == #s) end
    function p.recv(n)
      local buf = ffi.new("char[?]", n)
      local got = ffi.C.read(p.read, buf, n)
      return ffi.string(buf, got)
    end
    function p.close_write()
      if p.write then ffi.C.close(p.write); p.write = nil end
    end
    function p.close() ffi.C.close(p.read); p.close_write() end
    return p
  end
  local uv = require("luv")
  local fds = assert(uv.pipe())
  local p = {read = fds.read, write = fds.write}
  function p.send(s) assert(uv.fs_write(p.write, s) == #s) end
  function p.recv(n) return uv.fs_read(p.read, n) end
  function p.close_write()
    if p.write then uv.fs_close(p.write); p.write = nil end
  end
  function p.close() uv.fs_close(p.read); p.close_write() end
  return p
end

M.now = core.now

return M
