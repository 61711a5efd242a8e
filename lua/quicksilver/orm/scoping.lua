--- orm/scoping.lua: scoped_session (SQLAlchemy's orm/scoping.py): one
--- session per scope, made on first use by a factory (a sessionmaker).
---
--- The scope is the current coroutine by default (the main thread is one
--- scope of its own), or what `scopefunc()` returns (ngx.ctx of a request,
--- a thread id). Sessions are kept in a table weak in its keys: a finished
--- coroutine's session goes with it (call remove() to close it at once).
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local type, rawget, setmetatable, select, format, tostring = type, rawget, setmetatable, select, string.format,
  tostring
local running = coroutine.running

local OPTIONS = util.set({"scopefunc"})

-- Lua 5.1 and LuaJIT answer nil for the main thread: it gets this key.
local MAIN = {}

local function default_scope()
  return running() or MAIN
end

---@class quicksilver.orm.ScopedSession
local Scoped = {}
M.ScopedSession = Scoped
Scoped.__name = "scoped_session"

-- methods of the scoped object itself (the rest goes to the session)
local OWN = {}

-- The key of the current scope (an error when the scope function gives nil).
local function scope_key(self)
  local key = self.scopefunc()
  if key == nil then
    exc.raise(exc.InvalidRequestError, "scoped_session: the scope function returned nil", nil, 4)
  end
  return key
end

-- A method called as Session:m(...) or Session.m(...): the scoped object
-- as the first argument is dropped.
local function args_of(self, first, ...)
  if first == self then return ... end
  return first, ...
end

--- Session() (or Session(overrides) before the scope has one): the current
--- scope's session, made by the factory on first call.
Scoped.__call = function(self, overrides)
  local key = scope_key(self)
  local s = self._sessions[key]
  if s ~= nil then
    if overrides ~= nil then
      exc.raise(exc.InvalidRequestError, "scoped_session: a session is already present in this scope; no " ..
        "new arguments may be given", nil, 2)
    end
    return s
  end
  s = self.session_factory(overrides)
  self._sessions[key] = s
  return s
end

-- Everything else reads from the current scope's session: its methods
-- bound to it (Session:add(obj) or Session.add(obj)), its fields (new,
-- dirty, deleted, identity_map, bind, info, autoflush) as they are now.
Scoped.__index = function(self, k)
  local own = OWN[k]
  if own ~= nil then return own end
  local s = Scoped.__call(self)
  local v = s[k]
  if type(v) ~= "function" then return v end
  local proxies = rawget(self, "_proxies")
  local p = proxies[k]
  if p == nil then
    p = function(...)
      local sess = Scoped.__call(self)
      return sess[k](sess, args_of(self, ...))
    end
    proxies[k] = p
  end
  return p
end

Scoped.__newindex = function(_, k)
  exc.raise(exc.InvalidRequestError, format("scoped_session: cannot set '%s' (set it on Session() instead)",
    tostring(k)), nil, 2)
end

Scoped.__tostring = function() return "<scoped_session>" end

--- Session.remove() / Session:remove(): closes the current scope's session
--- (if any) and forgets it; the next Session() makes a new one.
---@param self quicksilver.orm.ScopedSession
function OWN.remove(self)
  local key = scope_key(self)
  local s = self._sessions[key]
  if s ~= nil then
    self._sessions[key] = nil
    s:close()
  end
end

--- Whether the current scope has a session.
function OWN.has(self)
  return self._sessions[scope_key(self)] ~= nil
end

--- Changes the factory's options for sessions made later (SQLAlchemy warns
--- when the current scope already has one; here it is simply not changed).
function OWN.configure(self, opts)
  local f = self.session_factory
  if type(f) ~= "table" or type(f.configure) ~= "function" then
    exc.raise(exc.InvalidRequestError, "scoped_session:configure: the factory is not a sessionmaker", nil, 2)
  end
  f:configure(opts)
end

local function bind_own(self)
  -- each OWN method callable with . or :
  local out = {}
  for name, fn in pairs(OWN) do
    out[name] = function(...)
      if select("#", ...) > 0 and (...) == self then return fn(self, select(2, ...)) end
      return fn(self, ...)
    end
  end
  return out
end

--- orm.scoped_session(factory, {scopefunc = fn}): factory is a
--- sessionmaker (or any function(overrides) returning a session).
---@param factory table|function
---@param opts? {scopefunc?: fun(): any}
---@return quicksilver.orm.ScopedSession
function M.scoped_session(factory, opts)
  local ok = type(factory) == "function" or (type(factory) == "table" and getmetatable(factory) and
    getmetatable(factory).__call ~= nil)
  if not ok then
    exc.raise(exc.ArgumentError, "scoped_session: expected a sessionmaker (or a function making a session)", nil, 2)
  end
  opts = util.check_options("scoped_session", opts, OPTIONS, 2)
  if opts.scopefunc ~= nil and type(opts.scopefunc) ~= "function" then
    exc.raise(exc.ArgumentError, "scoped_session: scopefunc must be a function returning the scope's key", nil, 2)
  end
  local self = {session_factory = factory, scopefunc = opts.scopefunc or default_scope,
    _sessions = setmetatable({}, {__mode = "k"}), _proxies = {}}
  setmetatable(self, Scoped)
  local own = bind_own(self)
  for k, v in pairs(own) do rawset(self, k, v) end
  return self
end

return M
