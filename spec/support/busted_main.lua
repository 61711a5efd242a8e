-- busted_main.lua: runs busted inside this Lua ($LUA spec/support/busted_main.lua
-- ARGS), so sanitizers and valgrind see the process that loads quicksilver.core.
-- (/usr/bin/busted may start another Lua version, and --lua= re-executes.)
require("busted.runner")({standalone = false})
