--- spec/support/nginx.lua: a real nginx (Debian's nginx-light with
--- libnginx-mod-http-lua) for the OpenResty specs and bench/openresty, and
--- the HTTP client that drives it. Runs in Lua 5.4 with cqueues.
---
--- `start{...}` writes a temporary prefix (conf/nginx.conf, logs/, temp
--- paths: nothing outside it is written), starts nginx on a loopback port
--- with one worker and the worktree's lua/ and build/jit/ on the Lua paths,
--- and waits until the port answers. `server:stop()` stops it and removes
--- the prefix. A missing nginx or a server that does not come up raises:
--- the caller's test fails, it is never skipped.
local cqueues = require("cqueues")
local csocket = require("cqueues.socket")

local M = {}

local ROOT = os.getenv("PWD") or "."
local MODULES = os.getenv("QS_NGINX_MODULES") or "/usr/lib/nginx/modules"
local NGINX = os.getenv("QS_NGINX") or "nginx"
-- where nginx finds quicksilver/core.so: the LuaJIT build
local CPATH = os.getenv("QS_NGINX_CPATH") or (ROOT .. "/build/jit")

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  local ok, _, code = p:close()
  return ok, out, code
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function read(path)
  local f = io.open(path, "r")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

--- The nginx.conf text for opts (see start).
function M.conf(prefix, opts)
  local env = {}
  for _, name in ipairs(opts.env or {}) do env[#env + 1] = "env " .. name .. ";" end
  local lua_path = table.concat({ROOT .. "/lua/?.lua", ROOT .. "/lua/?/init.lua",
    (opts.app_dir or ROOT .. "/spec/openresty/app") .. "/?.lua", ";"}, ";")
  local init = opts.init and ("init_by_lua_block {\n" .. opts.init .. "\n}") or ""
  local init_worker = opts.init_worker and ("init_worker_by_lua_block {\n" .. opts.init_worker .. "\n}") or ""
  return table.concat({
    "load_module " .. MODULES .. "/ndk_http_module.so;",
    "load_module " .. MODULES .. "/ngx_http_lua_module.so;",
    "worker_processes " .. (opts.workers or 1) .. ";",
    "daemon on;",
    "master_process on;",
    "user root root;",   -- the specs run as root: workers must read the worktree
    "pid " .. prefix .. "/logs/nginx.pid;",
    "error_log " .. prefix .. "/logs/error.log " .. (opts.log_level or "warn") .. ";",
    table.concat(env, "\n"),
    "events { worker_connections 1024; }",
    "http {",
    "  access_log off;",
    "  client_body_temp_path " .. prefix .. "/tmp/body;",
    "  proxy_temp_path " .. prefix .. "/tmp/proxy;",
    "  fastcgi_temp_path " .. prefix .. "/tmp/fastcgi;",
    "  uwsgi_temp_path " .. prefix .. "/tmp/uwsgi;",
    "  scgi_temp_path " .. prefix .. "/tmp/scgi;",
    "  lua_package_path '" .. lua_path .. "';",
    "  lua_package_cpath '" .. CPATH .. "/?.so;;';",
    "  lua_socket_log_errors off;",
    "  keepalive_requests 100000;",
    opts.http or "",
    init,
    init_worker,
    "  server {",
    "    listen 127.0.0.1:" .. opts.port .. ";",
    opts.server or "",
    "  }",
    "}",
  }, "\n") .. "\n"
end

local Server = {}
Server.__index = Server

-- Whether something accepts on 127.0.0.1:port now.
local function answers(port)
  local ok = pcall(function()
    local s = csocket.connect({host = "127.0.0.1", port = port})
    s:settimeout(0.5)
    assert(s:connect(0.5))
    s:close()
  end)
  return ok
end

-- Starts nginx on prefix (conf/nginx.conf written) and waits for port.
local function launch(prefix, port, level)
  local started, sout = sh(string.format("%s -p %s -c conf/nginx.conf -e %s/logs/error.log",
    NGINX, prefix, prefix))
  local self = setmetatable({prefix = prefix, port = port}, Server)
  if not started then
    local log = self:log()
    sh("rm -rf " .. prefix)
    error("nginx did not start: " .. sout .. "\n" .. log, level + 1)
  end
  for _ = 1, 100 do
    if answers(port) then return self end
    cqueues.sleep(0.05)
  end
  local log = self:log()
  self:stop()
  error("nginx started but port " .. port .. " does not answer:\n" .. log, level + 1)
end

-- A new temporary prefix with conf/, logs/ and tmp/.
local function new_prefix(port, level)
  local ok, out = sh("command -v " .. NGINX)
  if not ok then error("nginx.start: nginx is not installed (" .. out .. ")", level + 1) end
  if answers(port) then
    error("nginx.start: port " .. port .. " is already taken", level + 1)
  end
  local prefix = os.tmpname()
  os.remove(prefix)
  assert(sh("mkdir -p " .. prefix .. "/conf " .. prefix .. "/logs " .. prefix .. "/tmp"))
  return prefix
end

--- Starts nginx. opts: port (required), server (location blocks), http
--- (http-level directives), init (init_by_lua code), init_worker, env (names
--- of environment variables the workers see), workers (1), log_level,
--- app_dir (where the application's modules are: spec/openresty/app).
---@return table server with stop(), log(), pid(), prefix, port
function M.start(opts)
  assert(opts.port, "nginx.start: a port is required")
  local prefix = new_prefix(opts.port, 2)
  write(prefix .. "/conf/nginx.conf", M.conf(prefix, opts))
  return launch(prefix, opts.port, 2)
end

--- Starts nginx with a whole nginx.conf of the caller's (relative paths
--- are the prefix's: logs/, tmp/), which must listen on port.
function M.start_conf(text, port)
  local prefix = new_prefix(port, 2)
  write(prefix .. "/conf/nginx.conf", text)
  return launch(prefix, port, 2)
end

--- The worktree (absolute), for configuration texts.
M.ROOT = ROOT

--- error.log so far.
function Server:log()
  return read(self.prefix .. "/logs/error.log")
end

--- The master's pid.
function Server:pid()
  return tonumber((read(self.prefix .. "/logs/nginx.pid"):match("%d+")))
end

--- Stops nginx (waits for its processes to leave) and removes the prefix.
function Server:stop()
  if self.stopped then return end
  self.stopped = true
  local pid = self:pid()
  if pid then
    sh("kill -QUIT " .. pid)
    for _ = 1, 100 do
      if not sh("kill -0 " .. pid) then break end
      cqueues.sleep(0.05)
    end
    if sh("kill -0 " .. pid) then sh("kill -KILL " .. pid) end
  end
  sh("rm -rf " .. self.prefix)
end

--- A keep-alive HTTP/1.1 client of one connection to 127.0.0.1:port.
local Client = {}
Client.__index = Client

function M.client(port, timeout)
  return setmetatable({port = port, timeout = timeout or 30}, Client)
end

function Client:_connect()
  local s = csocket.connect({host = "127.0.0.1", port = self.port})
  s:setmode("b", "b")
  s:settimeout(self.timeout)
  local ok, err = s:connect(self.timeout)
  if not ok then error("http: cannot connect to port " .. self.port .. ": " .. tostring(err), 0) end
  self.sock = s
  return s
end

-- Reads one response from s: status, headers (lower-case names), body.
local function read_response(s)
  local line, err = s:read("*l")
  if not line then return nil, "no response (" .. tostring(err) .. ")" end
  local status = tonumber(line:match("^HTTP/1%.%d (%d%d%d)"))
  if not status then return nil, "bad status line: " .. line end
  local headers = {}
  while true do
    local h = s:read("*l")
    if not h then return nil, "headers cut short" end
    h = h:gsub("\r$", "")
    if h == "" then break end
    local k, v = h:match("^([^:]+):%s*(.-)%s*$")
    if k then headers[k:lower()] = v end
  end
  local body
  if headers["content-length"] then
    local n = tonumber(headers["content-length"])
    body = n > 0 and s:read(n) or ""
  elseif (headers["transfer-encoding"] or ""):lower():find("chunked") then
    local parts = {}
    while true do
      local size = s:read("*l")
      if not size then return nil, "chunked body cut short" end
      local n = tonumber(size:gsub("\r$", ""):match("^%x+"), 16)
      if not n then return nil, "bad chunk size: " .. size end
      if n == 0 then
        repeat local t = s:read("*l") until not t or t:gsub("\r$", "") == ""
        break
      end
      parts[#parts + 1] = s:read(n)
      s:read("*l")
    end
    body = table.concat(parts)
  else
    body = s:read("*a")
  end
  return status, headers, body or ""
end

--- GET path: status, body, headers. Reconnects once when a kept connection
--- was closed by the server.
function Client:get(path)
  for attempt = 1, 2 do
    local s = self.sock or self:_connect()
    local ok = s:write("GET " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    local status, headers, body
    if ok then status, headers, body = read_response(s) end
    if status then
      if (headers.connection or ""):lower() == "close" then s:close(); self.sock = nil end
      return status, body, headers
    end
    pcall(s.close, s)
    self.sock = nil
    if attempt == 2 then error("http: GET " .. path .. ": " .. tostring(headers), 0) end
  end
end

function Client:close()
  if self.sock then pcall(self.sock.close, self.sock); self.sock = nil end
end

--- One GET on a fresh client: status, body, headers.
function M.get(port, path)
  local c = M.client(port)
  local status, body, headers = c:get(path)
  c:close()
  return status, body, headers
end

--- Runs fns concurrently (each in its own coroutine of one controller, so
--- their sockets overlap); returns when all finished, raising the first
--- error.
function M.concurrently(fns)
  local cq = cqueues.new()
  local errs = {}
  for i, fn in ipairs(fns) do
    cq:wrap(function()
      local ok, err = pcall(fn, i)
      if not ok then errs[#errs + 1] = err end
    end)
  end
  assert(cq:loop())
  if #errs > 0 then error(errs[1], 0) end
end

--- Seconds on a monotonic clock.
M.now = cqueues.monotime

return M
