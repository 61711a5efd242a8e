--- engine/url.lua: database URLs (SQLAlchemy's engine/url.py).
---
--- `dialect[+driver]://[user[:password]@][host][:port][/database][?query]`,
--- with SQLite's forms: `sqlite://` (memory), `sqlite:///rel.db`,
--- `sqlite:////abs/path.db`. User, password, host, database and query are
--- percent-decoded; rendering encodes them again. URL objects are immutable:
--- `set` and `update_query` return new ones.
---
--- Passwords: tostring masks them (and query values whose key names a
--- password), and no error raised here contains one. A malformed URL may hide
--- where its password ends, so error messages mask generously: everything
--- between the first ':' of the credentials and the last '@' of the string.
--- The dialect name is not checked here; create_engine does that.
---
--- Several hosts (PostgreSQL's failover lists, as libpq and SQLAlchemy read
--- them): in the authority, `postgresql://u@h1:5432,h2:5433/db` (the `hosts`
--- field, host and port then nil), or as repeated query `host` values,
--- `postgresql://u@/db?host=h1:5432&host=h2:5433` (kept in the query, as
--- SQLAlchemy keeps them); `URL:get_hosts()` reads either form. A dialect
--- that connects to one server (sqlite, mysql, mariadb) refuses a host list,
--- and a PostgreSQL URL's `target_session_attrs` must be one of libpq's
--- values: both ArgumentError when the URL is made.
local exc = require("quicksilver.exc")

local M = {}

local type, tostring, tonumber, setmetatable, getmetatable, rawget, next, error =
  type, tostring, tonumber, setmetatable, getmetatable, rawget, next, error
local format, concat, sort, floor = string.format, table.concat, table.sort, math.floor

-- Query keys whose values tostring and error messages hide.
local SECRET_KEYS = {password = true, passwd = true, pwd = true, secret = true,
  sslpassword = true}

local FIELDS = {"drivername", "username", "password", "host", "port", "database", "query", "hosts"}
local IS_FIELD = {}
for _, f in next, FIELDS do IS_FIELD[f] = true end

---@class quicksilver.URL
---@field drivername string "postgresql" or "postgresql+libpq"
---@field username string|nil
---@field password string|nil
---@field host string|nil
---@field port integer|nil
---@field database string|nil
---@field query table<string, string|string[]> a copy on every read: URLs do not change
---@field hosts {host: string|nil, port: integer|nil}[]|nil the authority's host list (2 or more), a copy
local URL = {}            -- the methods
M.URL = URL

local meta = {}           -- the metatable of URL objects

local function copy_hosts(l)
  local r = {}
  for i = 1, #l do r[i] = {host = l[i].host, port = l[i].port} end
  return r
end

local function copy_query(q)
  local r = {}
  for k, v in next, q do
    if type(v) == "table" then
      local l = {}
      for i = 1, #v do l[i] = v[i] end
      r[k] = l
    else
      r[k] = v
    end
  end
  return r
end

meta.__index = function(self, k)
  local m = URL[k]
  if m ~= nil then return m end
  local v = rawget(self, "_f")[k]
  -- a copy, so that `u.query.x = 1` cannot change a URL an engine holds
  if k == "query" then return copy_query(v) end
  if k == "hosts" and v ~= nil then return copy_hosts(v) end
  return v
end

meta.__newindex = function(_, k)
  error(exc.InvalidRequestError(format(
    "URL objects are immutable (assigning '%s'): use url:set({...})", tostring(k))), 2)
end

---------------------------------------------------------------------------
-- Masking

-- The input with anything that may be a password replaced by ***, and the
-- texts replaced (so a fragment of the input can be checked before an error
-- message quotes it).
local function mask(s)
  local secrets = {}
  -- credentials start after "scheme://", or at the beginning when the
  -- scheme is missing or mangled
  local start = s:match("^[^:/?#@]*://()") or 1
  local at
  local p = s:find("@", start, true)
  while p do at = p; p = s:find("@", p + 1, true) end
  local colon = s:find(":", start, true)
  if at and colon and colon < at then
    secrets[#secrets + 1] = s:sub(colon + 1, at - 1)
    s = s:sub(1, colon) .. "***" .. s:sub(at)
  elseif not at then
    -- "user:password/db" with the "@host" forgotten reads as host:port; a
    -- "port" that is not a number may well be the password
    local auth = s:match("^[^/?]*", start)
    local before, secret = auth:match("^([^:%[]*:)(.+)$")
    if secret and not secret:match("^%d+$") and not secret:match("^%d*,") then
      secrets[#secrets + 1] = secret
      s = s:sub(1, start - 1) .. before .. "***" .. s:sub(start + #auth)
    end
  end
  s = s:gsub("([?&])([^=&]*)=([^&]*)", function(sep, k, v)
    if SECRET_KEYS[k:lower()] then
      secrets[#secrets + 1] = v
      return sep .. k .. "=***"
    end
  end)
  return s, secrets
end

--- The URL string with its password (and password-like query values)
--- replaced by ***: for messages and logs that must quote a URL string.
---@param s string
---@return string
function M.mask(s)
  return (mask(tostring(s)))
end

---------------------------------------------------------------------------
-- Parsing

-- A NUL byte would cut the value where a driver hands it to C (libpq's and
-- MariaDB's connect strings), so a component holding one, encoded as %00 or
-- not, is refused rather than silently shortened.
local function decode_with(s, fail, what)
  local bad = false
  local out = s:gsub("%%(.?.?)", function(hex)
    if not hex:match("^%x%x$") then bad = true; return "" end
    return string.char(tonumber(hex, 16))
  end)
  if bad then fail("bad percent-escape in the " .. what) end
  if out:find("\0", 1, true) then fail("a NUL byte (%00) in the " .. what) end
  return out
end

local function parse_query(q, fail)
  local query = {}
  for pair in q:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=(.*)$")
    if not k then k, v = pair, "" end
    -- '+' is a space in a query string (SQLAlchemy reads it with parse_qsl)
    k = decode_with((k:gsub("%+", " ")), fail, "query")
    v = decode_with((v:gsub("%+", " ")), fail, "query")
    local old = query[k]
    if old == nil then query[k] = v
    elseif type(old) == "table" then old[#old + 1] = v
    else query[k] = {old, v} end
  end
  return query
end

local NAME = "^[%w_%.%-]+$"

-- One "host[:port]" ("[v6]:port") of the authority or of a query host
-- list: the host text (undecoded) and the port (an integer, or nil).
-- show(fragment) is what an error may quote of it. plain_path: a query
-- value starting with '/' is a socket directory, whose ':' is no port.
local function split_host_port(item, fail, show, plain_path)
  local host, port
  if item:sub(1, 1) == "[" then                            -- [IPv6]:port
    local h, after = item:match("^%[([^%]]*)%](.*)$")
    if not h then fail("unclosed '[' in the host") end
    host = h
    if after ~= "" then
      port = after:match("^:(.*)$")
      if not port then fail(format("unexpected '%s' after the IPv6 host", show(after))) end
    end
  elseif plain_path and item:sub(1, 1) == "/" then
    host = item
  else
    local colon = item:find(":", 1, true)
    if colon and plain_path and item:find(":", colon + 1, true) then
      host = item                                           -- an IPv6 literal, no port
    elseif colon then
      host, port = item:sub(1, colon - 1), item:sub(colon + 1)
    else
      host = item
    end
  end
  if port == "" then
    port = nil                                             -- "host:" (SQLAlchemy allows it)
  elseif port ~= nil then
    local n = port:match("^%d+$") and tonumber(port)
    if not n or n > 65535 then
      local shown = show(port)
      if shown == "***" then
        fail("invalid port (not shown: it may be a password, and credentials go before '@host')")
      end
      fail(format("invalid port '%s'", shown))
    end
    port = floor(n)
  end
  return host, port
end

local function same(x) return x end

-- The hosts of a query's `host` values (each "h", "h:port", or libpq's
-- comma list "h1,h2"), with the query's `port` ("p", or one per host) for
-- those without one. nil without a `host` key.
local function query_hosts(query, fail)
  local hv = query.host
  if hv == nil then return nil end
  local items = {}
  for _, v in next, type(hv) == "table" and hv or {hv} do
    for item in (v .. ","):gmatch("([^,]*),") do items[#items + 1] = item end
  end
  local hosts = {}
  for i = 1, #items do
    local h, p = split_host_port(items[i], fail, same, true)
    hosts[i] = {host = h ~= "" and h or nil, port = p}
  end
  local pv = query.port
  if pv ~= nil then
    if type(pv) == "table" then fail("more than one port key in the query (give one list: port=p1,p2)") end
    local ports = {}
    for item in (pv .. ","):gmatch("([^,]*),") do
      local n = item:match("^%d+$") and tonumber(item)
      if item ~= "" and (not n or n > 65535) then fail(format("invalid port '%s' in the query", item)) end
      ports[#ports + 1] = n and floor(n) or false
    end
    if #ports ~= 1 and #ports ~= #hosts then
      fail(format("%d ports in the query for %d hosts (give one port, or one per host)", #ports, #hosts))
    end
    for i = 1, #hosts do
      local p = ports[#ports == 1 and 1 or i]
      if hosts[i].port == nil and p then hosts[i].port = p end
    end
  end
  return hosts
end

-- Dialects that connect to one server: a host list is refused by name.
local SINGLE_HOST = {sqlite = true, mysql = true, mariadb = true}
-- URL schemes whose query carries libpq's connection keywords (host and
-- port lists, target_session_attrs): URL grammar, as SINGLE_HOST above.
local LIBPQ_QUERY = {postgresql = true}
-- libpq's target_session_attrs values (PostgreSQL 14+).
local SESSION_ATTRS = {any = true, ["read-write"] = true, ["read-only"] = true, primary = true,
  standby = true, ["prefer-standby"] = true}

-- Whether the fields make a URL its dialect can use: nil, or what is wrong.
local function check_hosts(f)
  local backend = f.drivername:match("^([^+]*)")
  local q = f.query
  local qhost = q.host
  if SINGLE_HOST[backend] then
    if f.hosts or type(qhost) == "table" or (type(qhost) == "string" and qhost:find(",", 1, true)) then
      return format("the %s dialect connects to one server: a host list is for PostgreSQL " ..
        "(postgresql://u@h1:5432,h2:5433/db)", backend)
    end
    return nil
  end
  if f.hosts and (f.host ~= nil or f.port ~= nil) then
    return "a URL has host and port or a host list (hosts), not both"
  end
  if not LIBPQ_QUERY[backend] then return nil end
  if qhost ~= nil and (f.hosts or f.host ~= nil or f.port ~= nil) then
    return "host given both in the authority and in the query (use one form)"
  end
  if qhost == nil and q.port ~= nil then
    return "port in the query needs host in the query (or give host:port before the database)"
  end
  local detail
  if qhost ~= nil then
    local ok, err = pcall(query_hosts, q, function(d) detail = d; error(d, 0) end)
    if not ok then return detail or tostring(err) end
  end
  local tsa = q.target_session_attrs
  if tsa ~= nil and (type(tsa) ~= "string" or not SESSION_ATTRS[tsa]) then
    return format("invalid target_session_attrs '%s' (libpq's values: any, read-write, read-only, " ..
      "primary, standby, prefer-standby)", type(tsa) == "string" and tsa or concat(tsa, "', '"))
  end
  return nil
end

local function new(f)
  return setmetatable({_f = f}, meta)
end

-- The position of the last '@' in s (plain), or nil.
local function last_at(s)
  local at
  local p = s:find("@", 1, true)
  while p do at = p; p = s:find("@", p + 1, true) end
  return at
end

local function parse(s)
  local masked, secrets = mask(s)
  -- a fragment of the input, unless it could be (part of) a password
  local function show(fragment)
    for i = 1, #secrets do
      local secret = secrets[i]
      if secret ~= "" and (secret:find(fragment, 1, true) or fragment:find(secret, 1, true)) then
        return "***"
      end
    end
    return fragment
  end
  local function fail(detail)
    error(exc.ArgumentError(format("Could not parse URL: %s in '%s'", detail, masked)), 0)
  end

  local scheme, rest = s:match("^([^:/?#@]*)://(.*)$")
  if not scheme then
    error(exc.ArgumentError(format("Could not parse URL from string '%s'", masked)), 0)
  end
  local dialect, driver = scheme:match("^([^+]*)%+(.*)$")
  if not dialect then dialect = scheme end
  if dialect == "" then fail("no dialect name") end
  if not dialect:match(NAME) then fail(format("invalid dialect name '%s'", show(dialect))) end
  if driver == "" then fail("no driver name after '+'") end
  if driver and not driver:match(NAME) then fail(format("invalid driver name '%s'", show(driver))) end

  -- The authority runs to the first '/' or '?' (RFC 3986); its last '@'
  -- ends the credentials, so an unencoded '@' in a password still parses.
  local auth_end = rest:find("[/?]")
  local authority = auth_end and rest:sub(1, auth_end - 1) or rest
  local tail = auth_end and rest:sub(auth_end) or ""
  local userinfo
  local at = last_at(authority)
  if at then
    userinfo, authority = authority:sub(1, at - 1), authority:sub(at + 1)
  else
    -- "user:pa/ss@host": a '/' or '?' in the password cut the authority
    -- short. A non-numeric "port" with an '@' further on means exactly that
    -- (a numeric one is host:port, with '@' in the database or query).
    local after = authority:match("^[^:%[]*:(.*)$")
    local at2 = after and not after:match("^%d*$") and not after:match("^%d*,") and
      rest:find("@", #authority + 1, true)
    if at2 then
      local seg_end = rest:find("[/?]", at2 + 1) or (#rest + 1)
      local more = last_at(rest:sub(at2 + 1, seg_end - 1))
      if more then at2 = at2 + more end
      userinfo = rest:sub(1, at2 - 1)
      authority = rest:sub(at2 + 1, seg_end - 1)
      tail = rest:sub(seg_end)
    end
  end

  local username, password
  if userinfo then
    username, password = userinfo:match("^([^:]*):(.*)$")
    if not username then username = userinfo end
  end

  local host, port, hosts
  if authority:find(",", 1, true) then
    -- a host list: "h1:5432,h2:5433" (each decoded like a single host)
    hosts = {}
    for item in (authority .. ","):gmatch("([^,]*),") do
      local h, p = split_host_port(item, fail, show)
      hosts[#hosts + 1] = {host = h ~= "" and decode_with(h, fail, "host") or nil, port = p}
    end
  else
    host, port = split_host_port(authority, fail, show)
  end

  local database, query_string
  local first = tail:sub(1, 1)
  if first == "/" then
    local q = tail:find("?", 2, true)
    database = q and tail:sub(2, q - 1) or tail:sub(2)
    query_string = q and tail:sub(q + 1)
  elseif first == "?" then
    query_string = tail:sub(2)
  end

  if username == "" and password == nil then username = nil end
  if host == "" then host = nil end
  if database == "" then database = nil end
  local f = {
    drivername = scheme,
    username = username and decode_with(username, fail, "user name"),
    password = password and decode_with(password, fail, "password"),
    host = host and decode_with(host, fail, "host"),
    port = port,
    database = database and decode_with(database, fail, "database"),
    query = query_string and parse_query(query_string, fail) or {},
    hosts = hosts,
  }
  local wrong = check_hosts(f)
  if wrong then error(exc.ArgumentError(format("%s, in URL '%s'", wrong, masked)), 0) end
  return new(f)
end

--- Parses a URL string; a URL object is returned as it is. ArgumentError
--- naming the bad part (never quoting the password) when s does not parse.
---@param s string|quicksilver.URL
---@return quicksilver.URL
function M.make_url(s)
  if getmetatable(s) == meta then return s end
  if type(s) ~= "string" then
    error(exc.ArgumentError("make_url: expected a URL string or URL object, got " .. type(s)), 2)
  end
  return parse(s)
end

--- True for URL objects.
---@param x any
---@return boolean
function M.is_url(x)
  return getmetatable(x) == meta
end

---------------------------------------------------------------------------
-- Building

-- Checks one field value for set/create; false clears a field (nil cannot
-- sit in a Lua table). Values are never quoted: one may be a password.
local function check_field(what, k, v)
  if not IS_FIELD[k] then
    error(exc.ArgumentError(format("%s: unknown URL field '%s'", what, tostring(k))), 4)
  end
  if v == false then
    if k == "drivername" then
      error(exc.ArgumentError(what .. ": drivername cannot be removed"), 4)
    end
    return nil
  end
  if k == "port" then
    if type(v) ~= "number" or v % 1 ~= 0 or v < 0 or v > 65535 then
      error(exc.ArgumentError(format("%s: port must be an integer from 0 to 65535, got %s", what,
        type(v) == "number" and tostring(v) or type(v))), 4)
    end
    return floor(v)
  elseif k == "query" then
    if type(v) ~= "table" then
      error(exc.ArgumentError(what .. ": query must be a table, got " .. type(v)), 4)
    end
    return v
  elseif k == "hosts" then
    if type(v) ~= "table" then
      error(exc.ArgumentError(what .. ": hosts must be a list of {host =, port =}, got " .. type(v)), 4)
    end
    local l = {}
    for i = 1, #v do
      local e = v[i]
      local h, p = type(e) == "table" and e.host, type(e) == "table" and e.port
      if type(e) ~= "table" or (h and (type(h) ~= "string" or h:find("\0", 1, true))) or
          (p and (type(p) ~= "number" or p % 1 ~= 0 or p < 0 or p > 65535)) then
        error(exc.ArgumentError(format("%s: hosts[%d] must be {host = string, port = integer " ..
          "from 0 to 65535}", what, i)), 4)
      end
      l[i] = {host = h ~= "" and h or nil, port = p and floor(p) or nil}
    end
    return l
  elseif type(v) ~= "string" then
    error(exc.ArgumentError(format("%s: %s must be a string, got %s", what, k, type(v))), 4)
  elseif v:find("\0", 1, true) then
    -- the value itself is never quoted: it may be a password
    error(exc.ArgumentError(format("%s: %s holds a NUL byte", what, k)), 4)
  elseif k == "drivername" then
    local dialect, driver = v:match("^([^+]*)%+(.*)$")
    if not ((dialect and dialect:match(NAME) and driver:match(NAME)) or v:match(NAME)) then
      error(exc.ArgumentError(format("%s: invalid drivername '%s'", what, v)), 4)
    end
  end
  return v
end

-- A query table with string keys and string (or list of strings) values;
-- numbers are accepted and turned into strings.
local function normalize_query(q, what)
  local r = {}
  for k, v in next, q do
    if type(k) ~= "string" then
      error(exc.ArgumentError(format("%s: query keys must be strings, got %s", what, type(k))), 4)
    end
    if type(v) == "number" then v = tostring(v) end
    if type(v) == "table" then
      local l = {}
      for i = 1, #v do
        local one = v[i]
        if type(one) == "number" then one = tostring(one) end
        if type(one) ~= "string" then
          error(exc.ArgumentError(format("%s: query value '%s' holds a %s", what, k, type(one))), 4)
        end
        if one:find("\0", 1, true) then
          error(exc.ArgumentError(format("%s: query value '%s' holds a NUL byte", what, k)), 4)
        end
        l[i] = one
      end
      v = l
    elseif type(v) ~= "string" then
      error(exc.ArgumentError(format("%s: query value '%s' must be a string or a list, got %s",
        what, k, type(v))), 4)
    elseif v:find("\0", 1, true) then
      error(exc.ArgumentError(format("%s: query value '%s' holds a NUL byte", what, k)), 4)
    end
    if k:find("\0", 1, true) then
      error(exc.ArgumentError(format("%s: a query key holds a NUL byte", what)), 4)
    end
    r[k] = v
  end
  return r
end

-- The fields as parsing a rendered URL gives them back, so that every URL
-- round-trips through render_as_string(false) and make_url: an empty host
-- or database is none; an empty user name without a password is none, and a
-- password without a user name has the empty one (":pw@host").
local function canonical(f)
  if f.hosts and #f.hosts < 2 then
    -- one entry is the ordinary host and port (no list of one)
    local e = f.hosts[1]
    f.hosts = nil
    if e and (f.host ~= nil or f.port ~= nil) then
      return f, "a URL has host and port or a host list (hosts), not both"
    end
    if e then f.host, f.port = e.host, e.port end
  end
  if f.host == "" then f.host = nil end
  if f.database == "" then f.database = nil end
  if f.password == nil and f.username == "" then f.username = nil end
  if f.password ~= nil and f.username == nil then f.username = "" end
  return f, check_hosts(f)
end

-- A URL from checked fields; what check_hosts finds wrong is an ArgumentError.
local function new_checked(f, what)
  local fields, wrong = canonical(f)
  if wrong then error(exc.ArgumentError(what .. ": " .. wrong), 3) end
  return new(fields)
end

--- A URL from its parts (SQLAlchemy's URL.create): {drivername = "postgresql",
--- username =, password =, host =, port =, database =, query = {}}.
---@param fields table
---@return quicksilver.URL
function M.create(fields)
  if type(fields) ~= "table" then
    error(exc.ArgumentError("url.create: expected a table of fields, got " .. type(fields)), 2)
  end
  local f = {}
  for k, v in next, fields do f[k] = check_field("url.create", k, v) end
  if f.drivername == nil then
    error(exc.ArgumentError("url.create: drivername is required"), 2)
  end
  f.query = normalize_query(f.query or {}, "url.create")
  return new_checked(f, "url.create")
end

---------------------------------------------------------------------------
-- Methods

--- "postgresql" for "postgresql+libpq".
---@return string
function URL:get_backend_name()
  return (self.drivername:match("^([^+]*)"))
end

--- "libpq" for "postgresql+libpq", nil without a driver part.
---@return string|nil
function URL:get_driver_name()
  return self.drivername:match("%+(.*)$")
end

local function encode(s, keep)
  return (tostring(s):gsub("[^%w%-%._~" .. (keep or "") .. "]", function(c)
    return format("%%%02X", c:byte())
  end))
end

--- The URL as a string that make_url reads back. The password (and query
--- values whose key names a password) shows as *** unless hide_password is
--- false.
---@param hide_password? boolean default true
---@return string
function URL:render_as_string(hide_password)
  local hide = hide_password ~= false
  local f = rawget(self, "_f")
  local parts = {f.drivername, "://"}
  if f.username ~= nil or f.password ~= nil then
    parts[#parts + 1] = encode(f.username or "")
    if f.password ~= nil then
      parts[#parts + 1] = ":" .. (hide and "***" or encode(f.password))
    end
    parts[#parts + 1] = "@"
  end
  local hosts = f.hosts or {{host = f.host, port = f.port}}
  for i = 1, #hosts do
    local h = hosts[i]
    if i > 1 then parts[#parts + 1] = "," end
    if h.host and h.host:find(":", 1, true) then
      -- an IPv6 literal, or any host with a ':' (a socket path given as the
      -- host): in brackets, everything but ':' percent-encoded, so a '/',
      -- '@', '?' or ']' inside cannot end the authority or the host
      parts[#parts + 1] = "[" .. encode(h.host, ":") .. "]"
    elseif h.host then
      parts[#parts + 1] = encode(h.host)
    end
    if h.port then parts[#parts + 1] = ":" .. format("%d", h.port) end
  end
  if f.database then parts[#parts + 1] = "/" .. encode(f.database, "/:") end
  local keys = {}
  for k in next, f.query do keys[#keys + 1] = k end
  if #keys > 0 then
    sort(keys)
    local q = {}
    for _, k in next, keys do
      local v = f.query[k]
      local vs = type(v) == "table" and v or {v}
      local secret = hide and SECRET_KEYS[k:lower()]
      for i = 1, #vs do
        q[#q + 1] = encode(k) .. "=" .. (secret and "***" or encode(vs[i]))
      end
    end
    parts[#parts + 1] = "?" .. concat(q, "&")
  end
  return concat(parts)
end

meta.__tostring = function(self) return self:render_as_string(true) end

-- Two URLs are equal when every part is (the query in any key order).
meta.__eq = function(a, b)
  return a:render_as_string(false) == b:render_as_string(false)
end

--- A new URL with the given fields replaced; `false` removes a field, and
--- query replaces the whole query.
---@param fields table
---@return quicksilver.URL
function URL:set(fields)
  if type(fields) ~= "table" then
    error(exc.ArgumentError("URL:set: expected a table of fields, got " .. type(fields)), 2)
  end
  local f = {}
  local old = rawget(self, "_f")
  for i = 1, #FIELDS do f[FIELDS[i]] = old[FIELDS[i]] end
  for k, v in next, fields do f[k] = check_field("URL:set", k, v) end
  f.query = f.query and normalize_query(f.query, "URL:set") or {}
  return new_checked(f, "URL:set")
end

--- A new URL with query entries added or replaced; with append, a key
--- already there keeps its values and gains the new ones.
---@param q table<string, string|string[]>
---@param append? boolean
---@return quicksilver.URL
function URL:update_query(q, append)
  if type(q) ~= "table" then
    error(exc.ArgumentError("URL:update_query: expected a table, got " .. type(q)), 2)
  end
  local query = copy_query(rawget(self, "_f").query)
  local add = normalize_query(q, "URL:update_query")
  for k, v in next, add do
    local old = query[k]
    if append and old ~= nil then
      local l = type(old) == "table" and old or {old}
      if type(v) == "table" then
        for i = 1, #v do l[#l + 1] = v[i] end
      else
        l[#l + 1] = v
      end
      query[k] = l
    else
      query[k] = v
    end
  end
  return self:set({query = query})
end

--- A new URL with the query entries of a query string ("a=1&b=2") added.
---@param s string
---@param append? boolean
---@return quicksilver.URL
function URL:update_query_string(s, append)
  if type(s) ~= "string" then
    error(exc.ArgumentError("URL:update_query_string: expected a string, got " .. type(s)), 2)
  end
  local function fail(detail)
    error(exc.ArgumentError("URL:update_query_string: " .. detail), 0)
  end
  return self:update_query(parse_query((s:gsub("^%?", "")), fail), append)
end

--- A new URL without the named query keys.
---@param names string[]
---@return quicksilver.URL
function URL:difference_update_query(names)
  if type(names) ~= "table" then
    error(exc.ArgumentError("URL:difference_update_query: expected a list, got " .. type(names)), 2)
  end
  local query = copy_query(rawget(self, "_f").query)
  for i = 1, #names do query[names[i]] = nil end
  return self:set({query = query})
end

--- The hosts to try, in order, as {host =, port =} entries (either may be
--- nil: the driver's default): the authority's list, the query's `host`
--- values (with the query's `port`), or the one host and port; an empty
--- list when the URL names none.
---@return {host: string|nil, port: integer|nil}[]
function URL:get_hosts()
  local f = rawget(self, "_f")
  if f.hosts then return copy_hosts(f.hosts) end
  local hosts = query_hosts(f.query, function(detail)
    error(exc.ArgumentError("URL:get_hosts: " .. detail), 0)
  end)
  if hosts then return hosts end
  if f.host == nil and f.port == nil then return {} end
  return {{host = f.host, port = f.port}}
end

local CONNECT_ARGS = {host = true, port = true, username = true, password = true, database = true}

--- The connection arguments as a plain table: host, port, username,
--- password, database (only those set). rename maps a field to the key a
--- driver wants: `u:translate_connect_args({username = "user"})`.
---@param rename? table<string, string>
---@return table
function URL:translate_connect_args(rename)
  if rename ~= nil and type(rename) ~= "table" then
    error(exc.ArgumentError("URL:translate_connect_args: expected a table, got " .. type(rename)), 2)
  end
  rename = rename or {}
  for k in next, rename do
    if not CONNECT_ARGS[k] then
      error(exc.ArgumentError(format("URL:translate_connect_args: no field '%s' to rename",
        tostring(k))), 2)
    end
  end
  local f = rawget(self, "_f")
  local out = {}
  for k in next, CONNECT_ARGS do
    if f[k] ~= nil then out[rename[k] or k] = f[k] end
  end
  return out
end

return M
