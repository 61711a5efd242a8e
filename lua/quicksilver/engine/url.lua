--- engine/url.lua: database URLs (SQLAlchemy's engine/url.py).
---
--- `dialect[+driver]://[user[:password]@][host][:port][/database][?query]`.
--- URL objects are immutable; `tostring` masks the password (and query keys
--- named like one), and no error message ever contains it.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local type, tostring, tonumber, setmetatable, pairs = type, tostring, tonumber, setmetatable, pairs
local format, concat, sort = string.format, table.concat, table.sort

local SECRET_KEYS = {password = true, passwd = true, pwd = true, secret = true}

---@class quicksilver.URL
---@field drivername string
---@field username string|nil
---@field password string|nil
---@field host string|nil
---@field port integer|nil
---@field database string|nil
---@field query table<string, string|string[]>
local URL = {}
URL.__name = "URL"
M.URL = URL

local FIELDS = {drivername = true, username = true, password = true, host = true, port = true,
  database = true, query = true}

URL.__index = function(self, k)
  local v = URL[k]
  if v ~= nil then return v end
  return rawget(self, "_f")[k]
end

URL.__newindex = function()
  exc.raise(exc.InvalidRequestError, "URL objects are immutable: use url:set({...})", nil, 2)
end

local function new(fields)
  local f = {}
  for k in pairs(FIELDS) do f[k] = fields[k] end
  f.query = f.query or {}
  return setmetatable({_f = f}, URL)
end

local function decode(s, what, masked)
  if s == nil then return nil end
  local bad
  local out = s:gsub("%%(.?.?)", function(hex)
    if not hex:match("^%x%x$") then bad = true; return "" end
    return string.char(tonumber(hex, 16))
  end)
  if bad then
    exc.raise(exc.ArgumentError, format("Could not parse URL: bad percent-escape in the %s of '%s'",
      what, masked), nil, 4)
  end
  return out
end

local function encode(s, keep)
  return (tostring(s):gsub("[^%w%-%._~" .. (keep or "") .. "]", function(c)
    return format("%%%02X", c:byte())
  end))
end

-- The input with any password replaced, for error messages.
local function mask(s)
  s = tostring(s)
  local scheme_end = s:find("://", 1, true)
  local rest_start = scheme_end and scheme_end + 3 or 1
  local at = s:find("@[^@]*$", rest_start)
  if at then
    local userinfo = s:sub(rest_start, at - 1)
    local colon = userinfo:find(":", 1, true)
    if colon then
      s = s:sub(1, rest_start - 1) .. userinfo:sub(1, colon) .. "***" .. s:sub(at)
    end
  end
  s = s:gsub("([?&])([^=&]*)=([^&]*)", function(sep, k, v)
    if SECRET_KEYS[k:lower()] then return sep .. k .. "=***" end
    return sep .. k .. "=" .. v
  end)
  return s
end
M.mask = mask

local function parse_query(q, masked)
  local query = {}
  if q == nil or q == "" then return query end
  for pair in q:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=(.*)$")
    if not k then k, v = pair, "" end
    k = decode(k, "query", masked)
    v = decode(v, "query", masked)
    local old = query[k]
    if old == nil then query[k] = v
    elseif type(old) == "table" then old[#old + 1] = v
    else query[k] = {old, v} end
  end
  return query
end

--- Parses a URL string (or returns a URL object unchanged).
---@param s string|quicksilver.URL
---@return quicksilver.URL
function M.make_url(s)
  if getmetatable(s) == URL then return s end
  if type(s) ~= "string" then
    exc.raise(exc.ArgumentError, "make_url: expected a URL string, got " .. type(s), nil, 2)
  end
  local masked = mask(s)
  local scheme, rest = s:match("^([%w%+%-%.]*)://(.*)$")
  if not scheme then
    exc.raise(exc.ArgumentError, format("Could not parse URL from string '%s'", masked), nil, 2)
  end
  if scheme == "" then
    exc.raise(exc.ArgumentError, format("Could not parse URL: no dialect name in '%s'", masked), nil, 2)
  end
  local query
  local qpos = rest:find("?", 1, true)
  if qpos then
    query = parse_query(rest:sub(qpos + 1), masked)
    rest = rest:sub(1, qpos - 1)
  else
    query = {}
  end
  local netloc, database
  local slash = rest:find("/", 1, true)
  if slash then
    netloc, database = rest:sub(1, slash - 1), rest:sub(slash + 1)
  else
    netloc = rest
  end
  if database == "" then database = nil end
  local username, password, host, port
  local at = netloc:find("@[^@]*$")
  local hostport = netloc
  if at then
    local userinfo = netloc:sub(1, at - 1)
    hostport = netloc:sub(at + 1)
    local colon = userinfo:find(":", 1, true)
    if colon then
      username, password = userinfo:sub(1, colon - 1), userinfo:sub(colon + 1)
    else
      username = userinfo
    end
  end
  if hostport:sub(1, 1) == "[" then               -- [ipv6]:port
    local h, p = hostport:match("^%[(.-)%](.*)$")
    if not h then
      exc.raise(exc.ArgumentError, format("Could not parse URL: bad IPv6 host in '%s'", masked), nil, 2)
    end
    host = h
    port = p:match("^:(.*)$")
    if p ~= "" and not port then
      exc.raise(exc.ArgumentError, format("Could not parse URL: bad host in '%s'", masked), nil, 2)
    end
  else
    local colon = hostport:find(":", 1, true)
    if colon then
      host, port = hostport:sub(1, colon - 1), hostport:sub(colon + 1)
    else
      host = hostport
    end
  end
  if port ~= nil then
    local n = port:match("^%d+$") and tonumber(port)
    if not n or n > 65535 then
      exc.raise(exc.ArgumentError, format("Could not parse URL: invalid port '%s' in '%s'",
        port, masked), nil, 2)
    end
    port = math.floor(n)
  end
  if host == "" then host = nil end
  return new({
    drivername = scheme,
    username = username ~= "" and decode(username, "user name", masked) or nil,
    password = password and decode(password, "password", masked) or nil,
    host = decode(host, "host", masked),
    port = port,
    database = decode(database, "database", masked),
    query = query,
  })
end

--- "postgresql" for "postgresql+libpq".
function URL:get_backend_name()
  return (self.drivername:match("^([^+]*)"))
end

--- "libpq" for "postgresql+libpq", nil without a driver part.
function URL:get_driver_name()
  return self.drivername:match("%+(.*)$")
end

--- The URL as a string; the password (and secret query values) as *** unless
--- hide_password is false.
---@param hide_password? boolean default true
---@return string
function URL:render_as_string(hide_password)
  local hide = hide_password ~= false
  local parts = {self.drivername, "://"}
  if self.username then
    parts[#parts + 1] = encode(self.username)
    if self.password then
      parts[#parts + 1] = ":" .. (hide and "***" or encode(self.password))
    end
    parts[#parts + 1] = "@"
  end
  if self.host then
    parts[#parts + 1] = self.host:find(":", 1, true) and ("[" .. self.host .. "]") or encode(self.host)
  end
  if self.port then parts[#parts + 1] = ":" .. self.port end
  if self.database then parts[#parts + 1] = "/" .. encode(self.database, "/:") end
  local keys = {}
  for k in pairs(self.query) do keys[#keys + 1] = k end
  if #keys > 0 then
    sort(keys)
    local q = {}
    for _, k in ipairs(keys) do
      local v = self.query[k]
      local vs = type(v) == "table" and v or {v}
      for _, one in ipairs(vs) do
        q[#q + 1] = encode(k) .. "=" .. ((hide and SECRET_KEYS[k:lower()]) and "***" or encode(one))
      end
    end
    parts[#parts + 1] = "?" .. concat(q, "&")
  end
  return concat(parts)
end

URL.__tostring = function(self) return self:render_as_string(true) end

--- A new URL with the given fields replaced (query replaces the whole query).
---@param fields table
---@return quicksilver.URL
function URL:set(fields)
  local f = util.copy(rawget(self, "_f"))
  for k, v in pairs(fields) do
    if not FIELDS[k] then
      exc.raise(exc.ArgumentError, "URL:set: unknown field '" .. tostring(k) .. "'", nil, 2)
    end
    f[k] = v
  end
  f.query = util.copy(f.query)
  return new(f)
end

--- A new URL with query entries added or replaced.
function URL:update_query(q)
  return self:set({query = util.merge(self.query, q)})
end

--- The connection arguments as a plain table.
function URL:translate_connect_args()
  return {host = self.host, port = self.port, username = self.username,
    password = self.password, database = self.database}
end

return M
