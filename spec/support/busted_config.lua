-- busted_config.lua: the busted settings of make test's runs (busted_main.lua
-- passes this file): none beyond their command lines. The top-level .busted
-- is for a plain `busted` (re-run under lua5.4, the nginx and scale-out specs
-- left out); read here it would re-run the LuaJIT and sanitized passes under
-- the plain lua5.4 and drop the nginx specs from their own pass.
return {}
