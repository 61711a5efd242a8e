-- busted_helper.lua: run once before any spec file, by make test's runs
-- (busted_main.lua) and by a plain `busted` (.busted's helper).
--
-- luv is loaded here, before busted's insulation: a spec file that loads it
-- (spec/support/api_names.lua reaches quicksilver.async.luv) would otherwise
-- have it unloaded after the file, its module table collected and its
-- default loop closed, and the next file's require("luv") crashes in
-- uv_timer_init on that closed loop. (Absent on LuaJIT builds: pcall.)
pcall(require, "luv")
