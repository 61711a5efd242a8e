--- spec/support/examples.lua: what the specs of examples/ share: a shell
--- command's exit status and output, the fenced blocks of an example's
--- README (so a spec runs the commands a user types, as written), a scratch
--- copy of an example's directory, and the command line running the
--- checkout's quicksilver (library and command) in the specs' own Lua.
local helpers = require("spec.helpers")

local M = {}

--- The checkout's root (the specs run from it).
M.ROOT = os.getenv("PWD") or "."

--- Runs a shell command; returns its exit status and its output (stdout and
--- stderr). The status is echoed: Lua 5.1's popen:close() does not give it.
--- Subprocesses run without the sanitizer preload of `make test SANITIZE=1`
--- when `plain` is set (a compiler, a shell tool: not ours to check).
---@param cmd string
---@param plain boolean|nil
---@return integer, string
function M.sh(cmd, plain)
  local p = io.popen((plain and "unset LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS; " or "") ..
    "{ " .. cmd .. "\n} 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc, (out:gsub("rc=%d+%s*$", ""))
end

--- The fenced blocks of a Markdown file whose info string is `lang`, in order:
--- a list of {text, lines}, lines without blank ones and comments (# ...).
---@param path string
---@param lang string
---@return table[]
function M.blocks(path, lang)
  local f = assert(io.open(path))
  local md = f:read("*a")
  f:close()
  local out = {}
  for info, body in md:gmatch("\n```([^\n]*)\n(.-)\n```") do
    if info == lang then
      local lines = {}
      for line in body:gmatch("[^\n]+") do
        local code = line:gsub("%s+#.*$", "")
        if not code:match("^%s*#") and code:match("%S") then lines[#lines + 1] = code end
      end
      out[#out + 1] = {text = body, lines = lines}
    end
  end
  return out
end

--- The environment prefix that makes a subprocess load this checkout's
--- quicksilver in the specs' interpreter (Lua 5.4, LuaJIT or the sanitized one).
---@return string
function M.lua_env()
  return string.format("LUA_PATH=%q LUA_CPATH=%q", package.path, package.cpath)
end

--- The specs' interpreter, as a command word.
---@return string
function M.lua()
  return string.format("%q", helpers.interpreter())
end

--- A user's command line from a README, made runnable here: `quicksilver`
--- is the checkout's bin/quicksilver and `lua5.4` the specs' interpreter.
---@param line string
---@return string
function M.command(line)
  return (line:gsub("^quicksilver ", function()
    return M.lua() .. " " .. string.format("%q", M.ROOT .. "/bin/quicksilver") .. " "
  end):gsub("^lua5%.4 ", function() return M.lua() .. " " end))
end

--- A fresh copy of an example's directory (its generated files left out), in a
--- temporary directory the caller removes with M.remove.
---@param dir string the example's directory, from the checkout's root
---@return string
function M.scratch_copy(dir)
  local tmp = os.tmpname()
  os.remove(tmp)
  local rc, out = M.sh(string.format("mkdir -p %q && cp -R %q/. %q && rm -f %q/*.db", tmp, M.ROOT .. "/" .. dir, tmp, tmp), true)
  assert(rc == 0, out)
  return tmp
end

--- Removes a directory scratch_copy made.
---@param tmp string
function M.remove(tmp)
  if tmp and tmp:match("^/tmp/") then M.sh(string.format("rm -rf %q", tmp), true) end
end

return M
