-- url_fuzz.lua: random and hostile URLs through quicksilver's URL parser
-- (lua/quicksilver/engine/url.lua), run by `make fuzz` as
--   lua spec/fuzz/url_fuzz.lua --seconds N [--seed S] [--verbose]
-- with the specs' LUA_PATH/LUA_CPATH. Exit 0: no finding; 1: a finding,
-- printed with the seed and the input (as a Lua string) so it can be
-- replayed and turned into a spec.
--
-- Three generators, each checked for the same properties:
--   strings  URL-shaped strings assembled from hostile pieces, and mutations
--            of valid URLs (bytes flipped, inserted, cut);
--   fields   url.create with hostile field values;
-- Properties: make_url / create either give a URL or raise a qs.exc error
-- (never a Lua error of another kind); a URL they accepted holds no NUL
-- byte in any component; it renders (render_as_string(false)) to a string
-- make_url reads back to the same components (an empty user name, host or
-- database taken as absent), and rendering the parsed URL is a fixed point.
local exc = require("quicksilver.exc")
local url = require("quicksilver.engine.url")

local seconds, seed, verbose = 10, os.time(), false
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    if a == "--seconds" then seconds = assert(tonumber(arg[i + 1]), "--seconds N"); i = i + 1
    elseif a == "--seed" then seed = assert(tonumber(arg[i + 1]), "--seed S"); i = i + 1
    elseif a == "--verbose" then verbose = true
    else io.stderr:write("url_fuzz.lua: unknown argument " .. a .. "\n"); os.exit(2) end
    i = i + 1
  end
end
math.randomseed(seed)
local random = math.random

local function pick(list) return list[random(#list)] end

local DRIVERS = {"sqlite", "postgresql", "postgresql+wire", "postgresql+libpq", "mysql", "mysql+wire",
  "mariadb", "mysql+pymysql", "a.b-c", "x1", "", "+", "pg+", "1x", "p g", "é", "post:gres"}
local PIECES = {"", "a", "user", "pass", "host", "db", "localhost", "127.0.0.1", "::1", "fe80::1%eth0",
  "/tmp/.s.PGSQL.5432", "/var/run/mysqld/mysqld.sock", ":", "@", "/", "?", "#", "%", "%00", "%zz", "%2",
  "%25", "%40", "%3A", "%2F", "[", "]", "[::1]", "&", "=", "+", " ", "\t", "\0", "\n", "é", "\255",
  "***", "p@ss:w/rd?x", "a=b&c=d", "5432", "65535", "65536", "-1", "0x10", string.rep("x", 300)}

local function piece()
  local n, t = random(0, 3), {}
  for i = 1, n do t[i] = pick(PIECES) end
  return table.concat(t)
end

-- a URL-shaped string: driver://[user[:pass]@][host][:port][/db][?query]
local function assembled()
  local t = {pick(DRIVERS), pick({"://", "://", "://", ":/", ":", ""})}
  if random() < 0.6 then
    t[#t + 1] = piece()
    if random() < 0.6 then t[#t + 1] = ":" .. piece() end
    t[#t + 1] = "@"
  end
  t[#t + 1] = random() < 0.2 and "[" .. piece() .. "]" or piece()
  if random() < 0.4 then t[#t + 1] = ":" .. pick({"5432", "0", "65535", "65536", "", "x", piece()}) end
  if random() < 0.6 then t[#t + 1] = "/" .. piece() end
  if random() < 0.5 then
    local q = {}
    for i = 1, random(1, 3) do q[i] = piece() .. "=" .. piece() end
    t[#t + 1] = "?" .. table.concat(q, pick({"&", ";", "&&"}))
  end
  return table.concat(t)
end

local VALID = {"sqlite://", "sqlite:///rel.db", "sqlite:////abs/path.db", "postgresql://u:p@h:5432/db",
  "postgresql+wire://scott:tiger@[::1]:5433/test?sslmode=disable&application_name=x",
  "mysql+wire://root@localhost/db?charset=utf8mb4", "mysql://u:p%40ss@host/db?unix_socket=%2Ftmp%2Fs"}

local function mutated()
  local s = pick(VALID)
  for _ = 1, random(1, 4) do
    local op, p = random(3), random(#s + 1)
    if op == 1 then s = s:sub(1, p - 1) .. string.char(random(0, 255)) .. s:sub(p + 1)
    elseif op == 2 then s = s:sub(1, p - 1) .. pick(PIECES) .. s:sub(p)
    else s = s:sub(1, p - 1) .. s:sub(p + random(0, 4)) end
  end
  return s
end

local function fields()
  local f = {drivername = pick(DRIVERS)}
  if random() < 0.6 then f.username = piece() end
  if random() < 0.5 then f.password = piece() end
  if random() < 0.7 then f.host = piece() end
  if random() < 0.4 then f.port = pick({0, 1, 5432, 65535, 65536, -1, 1.5, "5432"}) end
  if random() < 0.6 then f.database = piece() end
  if random() < 0.5 then
    local q = {}
    for _ = 1, random(1, 3) do
      local k = piece()
      if k ~= "" then q[k] = random() < 0.3 and {piece(), piece()} or piece() end
    end
    f.query = q
  end
  return f
end

local findings = 0
local function finding(what, input, detail)
  findings = findings + 1
  io.stdout:write(string.format("url_fuzz: FINDING (seed %d): %s\n  input: %s\n  %s\n", seed, what,
    type(input) == "string" and string.format("%q", input) or input, tostring(detail)))
end

local function describe_fields(f)
  local keys, t = {}, {}
  for k in pairs(f) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = f[k]
    if type(v) == "table" then v = "{" .. describe_fields(v) .. "}"
    elseif type(v) == "string" then v = string.format("%q", v) end
    t[#t + 1] = tostring(k) .. " = " .. tostring(v)
  end
  return table.concat(t, ", ")
end

-- The components of u with "" and nil taken as one (what rendering cannot tell apart).
local function components(u)
  local function s(v) if v == "" then return nil end return v end
  local q, keys = u.query, {}
  for k in pairs(q) do keys[#keys + 1] = k end
  table.sort(keys)
  local qs = {}
  for _, k in ipairs(keys) do
    local v = q[k]
    qs[#qs + 1] = string.format("%q=", k) .. (type(v) == "table" and
      ("{" .. table.concat((function() local r = {} for i, x in ipairs(v) do r[i] = string.format("%q", x) end return r end)(), ",") .. "}")
      or string.format("%q", v))
  end
  -- "//:pw@" parses with the user name "", which create() may have had as nil
  local user = s(u.username)
  return string.format("driver=%q user=%s password=%s host=%s port=%s database=%s query=%s",
    u.drivername, string.format("%q", tostring(user)), string.format("%q", tostring(u.password)),
    string.format("%q", tostring(s(u.host))), tostring(u.port), string.format("%q", tostring(s(u.database))),
    table.concat(qs, "&"))
end

local function has_nul(u)
  for _, k in ipairs({"drivername", "username", "password", "host", "database"}) do
    local v = u[k]
    if type(v) == "string" and v:find("\0", 1, true) then return k end
  end
  for k, v in pairs(u.query) do
    if k:find("\0", 1, true) then return "query key" end
    for _, x in ipairs(type(v) == "table" and v or {v}) do
      if x:find("\0", 1, true) then return "query value" end
    end
  end
end

-- a refusal must be a qs.exc error; returns the URL or nil
local function attempt(what, input, fn, ...)
  local ok, u = pcall(fn, ...)
  if ok then return u end
  if not exc.is_error(u) then finding(what .. " raised a non-qs.exc error", input, u) end
  return nil
end

local function check_url(u, input)
  local nul = has_nul(u)
  if nul then
    finding("an accepted URL holds a NUL byte in its " .. nul, input, components(u))
    return
  end
  local ok, s = pcall(u.render_as_string, u, false)
  if not ok then finding("render_as_string failed", input, s) return end
  local back = attempt("make_url of a rendered URL", input, url.make_url, s)
  if back == nil then
    finding("a rendered URL does not parse back", input, s)
    return
  end
  if components(back) ~= components(u) then
    finding("a URL that does not survive render_as_string and make_url", input,
      "rendered " .. string.format("%q", s) .. "\n  before " .. components(u) .. "\n  after  " .. components(back))
    return
  end
  -- the rendering of a parsed URL reads back to itself ("" and nil may
  -- differ once: "//@host" parses without a user name)
  local s2 = back:render_as_string(false)
  local again = attempt("make_url of a rendered URL", input, url.make_url, s2)
  if again == nil or again:render_as_string(false) ~= s2 then
    finding("rendering is not a fixed point", input, s2 .. " then " .. (again and again:render_as_string(false) or "refused"))
  end
end

local deadline = os.clock() + seconds
local runs, parsed = 0, 0
while os.clock() < deadline and findings < 20 do
  for _ = 1, 200 do
    runs = runs + 1
    local kind = random(3)
    if kind == 3 then
      local f = fields()
      local u = attempt("url.create", describe_fields(f), url.create, f)
      if u then parsed = parsed + 1; check_url(u, "url.create{" .. describe_fields(f) .. "}") end
    else
      local s = kind == 1 and assembled() or mutated()
      local u = attempt("make_url", s, url.make_url, s)
      if u then parsed = parsed + 1; check_url(u, s) end
    end
  end
end
io.stdout:write(string.format("url_fuzz: %d inputs (%d accepted), %d finding(s), seed %d\n", runs, parsed,
  findings, seed))
os.exit(findings == 0 and 0 or 1)
