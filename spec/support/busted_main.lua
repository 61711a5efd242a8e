-- busted_main.lua: runs busted inside this Lua ($LUA spec/support/busted_main.lua
-- ARGS), so sanitizers and valgrind see the process that loads quicksilver.core.
-- (/usr/bin/busted may start another Lua version, and --lua= re-executes.)

-- Keep C modules mapped until the process ends. Lua 5.2-5.4 dlclose() every C
-- module when the state closes (the __gc of the registry's _CLIBS table), before
-- LeakSanitizer and valgrind report: their stacks for leaks in quicksilver.core
-- then read "<unknown module>" / "???". Without the dlclose they name the file
-- and line. Every other finalizer still runs, so leaks in __gc paths still show.
local reg = debug.getregistry()
local clibs = type(reg._CLIBS) == "table" and getmetatable(reg._CLIBS)
if clibs and clibs.__gc then clibs.__gc = function() end end

local here = (arg[0] or ""):match("^(.*)/[^/]*$") or "."
dofile(here .. "/busted_helper.lua")

-- make test's own settings, never the top-level .busted (spec/support/busted_config.lua says why)
local has_config = false
for i = 1, #arg do
  if arg[i] == "-f" or arg[i]:find("^%-%-config%-file") then has_config = true end
end
if not has_config then
  table.insert(arg, 1, "--config-file=" .. here .. "/busted_config.lua")
end

require("busted.runner")({standalone = false})
