--- quicksilver.ngx: what an OpenResty handler uses besides the ordinary API
--- (docs/OPENRESTY.md). The engine needs nothing from here: under ngx_lua
--- it picks the cosocket pool by itself (quicksilver.ngx.pool).
---
--- ngx_lua logs an error that is not a string as "unknown reason", whatever
--- its __tostring: an uncaught quicksilver error (a table) would leave no
--- trace in error.log. `run` / `handler` catch it and log its class,
--- message, SQL, parameters and traceback, then end the request with 500;
--- `try` is the `nil, err` form OpenResty code is used to.
local exc = require("quicksilver.exc")

local M = {}

local traceback = debug.traceback
local unpack = table.unpack or unpack
local select = select

-- The results of a pcall/xpcall, nils included.
local function pack(...) return {n = select("#", ...), ...} end
local function results(t) return unpack(t, 2, t.n) end

-- The text of any error value: quicksilver errors through their
-- __tostring (class, message, [SQL: ...], [parameters: ...]).
local function describe(err)
  if exc.is_error(err) then return "qs.exc." .. tostring(err) end
  if type(err) == "string" then return err end
  local ok, s = pcall(tostring, err)
  return ok and type(s) == "string" and s or ("<" .. type(err) .. " error>")
end
M.describe = describe

-- xpcall's handler: the error with the traceback of where it was raised.
local function catch(err)
  return {err = err, traceback = traceback("", 2)}
end

-- The phases with a request to answer (the others, init and timers among
-- them, have no response to end).
local REQUEST_PHASES = {rewrite = true, server_rewrite = true, access = true, content = true}

-- Logs a caught error and ends the request: 500 when the response has not
-- started, else the connection is cut (the client sees a short response).
-- Outside a request (init_by_lua, a timer) the error goes on as a string,
-- which nginx logs in full where a table would read "unknown error".
local function fail(caught)
  local ngx = rawget(_G, "ngx")
  local text = describe(caught.err)
  if not ngx or not REQUEST_PHASES[ngx.get_phase()] then
    error("quicksilver: " .. text .. caught.traceback, 0)
  end
  ngx.log(ngx.ERR, "quicksilver: unhandled error in ", ngx.var.request_uri or "?",
    ": ", text, caught.traceback)
  if not ngx.headers_sent then
    return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
  end
  return ngx.exit(ngx.ERROR)
end

--- Runs fn(...) as a request handler: its results, or, when it raises, the
--- error logged with ngx.log(ngx.ERR) (class, message, SQL, parameters,
--- traceback) and the request ended with 500 (unless headers were sent:
--- then the connection is cut). ngx.exit and ngx.redirect inside fn work as
--- usual. Outside a request phase (init_by_lua, init_worker, a timer) the
--- error is raised again as a string with the same text, so nginx's own
--- log line shows it.
---@param fn function
---@return any ...
function M.run(fn, ...)
  local res = pack(xpcall(fn, catch, ...))
  if res[1] then return results(res) end
  return fail(res[2])
end

--- `run` as a function to call later: `content_by_lua_block {
--- require("app").handler() }` with `M.handler = qsngx.handler(fn)`.
---@param fn function
---@return function
function M.handler(fn)
  return function(...) return M.run(fn, ...) end
end

--- Calls f(...): its results, or nil and the error (a quicksilver error
--- object, or whatever else was raised) when it raises. The `nil, err`
--- style alongside the raising API.
---@param f function
---@return any ...
function M.try(f, ...)
  local res = pack(pcall(f, ...))
  if res[1] then return results(res) end
  return nil, res[2]
end

return M
