--- quicksilver.ext.horizontal_shard: one Session over several databases
--- holding the same tables (shards), after SQLAlchemy's
--- sqlalchemy.ext.horizontal_shard:
---
---   local hs = require("quicksilver.ext.horizontal_shard")
---   local s = hs.ShardedSession({
---     shards = {eu = eu_engine, us = us_engine},
---     shard_chooser = function(mapper, obj, clause) return obj.region end,
---     identity_chooser = function(mapper, pk_values) return {"eu", "us"} end,
---     execute_chooser = function(ctx) return {"eu", "us"} end,
---   })
---
--- A ShardedSession is a facade over one orm.Session per shard, each bound to
--- its shard's engine. An object belongs to its shard's session, so its
--- identity is (shard, primary key) by construction: the same key on two
--- shards is two objects, and everything that follows an object (lazy and
--- expired loads, refresh, its cascades) runs on its shard.
--- - add(obj) places obj (and what it cascades to) on a shard: the shard of
---   an object of its save-update graph that is already on one, else
---   shard_chooser(mapper, obj, nil)'s answer. It runs at add, not at flush:
---   the object's attributes that choose the shard must be set by then.
--- - get(cls, pk) looks in the shards identity_chooser(mapper, pk_values)
---   names, their identity maps first, then one SELECT per shard in order;
---   the first found is returned (none: nil).
--- - execute / scalars / scalar run a statement given set_shard(name) on that
---   shard, any other on each shard execute_chooser(ctx) names (ctx:
---   {mapper, statement, params, session}); the rows are merged
---   (ext/horizontal_shard_merge.lua: in ORDER BY order, then LIMIT/OFFSET).
--- - flush, commit, rollback, close, expire_all run on every shard in the
---   order of their names (sorted). commit flushes every shard, then commits
---   each in turn; there is no two-phase commit: a shard whose commit fails
---   is rolled back with those after it, the ones before stay committed.
--- - new / dirty / deleted / identity_map are the union of the shards'
---   (identity_map's keys carry the shard: orm.inspect(obj).key);
---   orm.object_session(obj) and orm.inspect(obj).session answer the
---   ShardedSession, orm.inspect(obj).identity_token the shard's name.
--- - events listened on a ShardedSession (or on hs.ShardedSession, for all)
---   reach every shard's session; a listener gets the shard's session,
---   whose `shard_id` field names the shard.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local statement = require("quicksilver.sql.statement")
local attributes = require("quicksilver.orm.attributes")
local mapper_mod = require("quicksilver.orm.mapper")
local session_mod = require("quicksilver.orm.session")
local session_binds = require("quicksilver.orm.session_binds")
local identity = require("quicksilver.orm.identity")
local query = require("quicksilver.orm.query")
local session_transaction = require("quicksilver.orm.session_transaction")
local shard_merge = require("quicksilver.ext.horizontal_shard_merge")

local M = {}

local type, rawget, rawset, pairs, ipairs, pcall, setmetatable, format, tostring, error, next =
  type, rawget, rawset, pairs, ipairs, pcall, setmetatable, string.format, tostring, error, next
local STATE = attributes.STATE
local Session = session_mod.Session

local OPTIONS = util.set({"shards", "shard_chooser", "identity_chooser", "execute_chooser",
  "autoflush", "expire_on_commit", "autobegin", "info"})
local CHOOSERS = {"shard_chooser", "identity_chooser", "execute_chooser"}

---@class quicksilver.ext.horizontal_shard.ShardedSession
---@field shards table<string, table> shard name -> engine
---@field shard_names string[] the shards' names, sorted: the order of flush, commit, rollback
---@field info table
local ShardedSession = {}
ShardedSession.__name = "ShardedSession"
-- session events: on one ShardedSession, on hs.ShardedSession (all of them),
-- or on orm.Session (every session)
ShardedSession._event_names = Session._event_names
ShardedSession._event_parent = Session

local computed = {}
ShardedSession.__index = function(self, k)
  local m = ShardedSession[k]
  if m ~= nil then return m end
  local f = computed[k]
  if f then return f(self) end
  return nil
end

-- Checks the constructor's options (ArgumentError naming what is wrong).
local function check(opts)
  opts = util.check_options("ShardedSession", opts, OPTIONS, 4)
  local shards = opts.shards
  if type(shards) ~= "table" or next(shards) == nil then
    exc.raise(exc.ArgumentError, "ShardedSession: shards must be a non-empty table of {name = engine}, got " ..
      (type(shards) == "table" and "an empty table" or type(shards)), nil, 4)
  end
  for name, e in pairs(shards) do
    if type(name) ~= "string" or name == "" then
      exc.raise(exc.ArgumentError, format("ShardedSession: shard names must be non-empty strings, got %s",
        util.repr(name, 30)), nil, 4)
    end
    if type(e) ~= "table" or type(e.connect) ~= "function" then
      exc.raise(exc.ArgumentError, format("ShardedSession: shards['%s'] must be an Engine, got %s", name,
        type(e)), nil, 4)
    end
  end
  for _, c in ipairs(CHOOSERS) do
    if type(opts[c]) ~= "function" then
      exc.raise(exc.ArgumentError, format("ShardedSession: %s is required (a function), got %s", c,
        type(opts[c])), nil, 4)
    end
  end
  return opts
end

-- A shard's session: objects leaving it (expunge, close) keep their shard
-- as their identity token (orm.inspect(obj).identity_token; add() takes a
-- detached object back to it).
local function detach(self, st)
  if rawget(st, "key") ~= nil then rawset(st, "_identity_token", rawget(self, "shard_id")) end
  return Session._detach(self, st)
end

local function expunge_all(self)
  local tok = rawget(self, "shard_id")
  identity.each(self, function(obj) rawset(rawget(obj, STATE), "_identity_token", tok) end)
  return Session.expunge_all(self)
end

--- A ShardedSession over opts.shards ({name = engine}) with the three
--- choosers; autoflush, expire_on_commit, autobegin and info are those of
--- an orm.Session (given to each shard's session).
---@param opts table {shards = {name = engine}, shard_chooser, identity_chooser, execute_chooser, autoflush?, ...}
---@return quicksilver.ext.horizontal_shard.ShardedSession
local function new(opts)
  opts = check(opts)
  local self = setmetatable({
    shards = {}, shard_names = {},
    shard_chooser = opts.shard_chooser,
    identity_chooser = opts.identity_chooser,
    execute_chooser = opts.execute_chooser,
    autobegin = opts.autobegin ~= false,
    info = opts.info or {},
    _sessions = {},     -- shard name -> its orm.Session
    _event_parent = ShardedSession,
  }, ShardedSession)
  for name, e in pairs(opts.shards) do
    self.shards[name] = e
    self.shard_names[#self.shard_names + 1] = name
  end
  table.sort(self.shard_names)
  for _, name in ipairs(self.shard_names) do
    local s = session_mod.new(self.shards[name], {autoflush = opts.autoflush, expire_on_commit =
      opts.expire_on_commit, autobegin = opts.autobegin, info = self.info, _maker = self})
    rawset(s, "shard_id", name)
    rawset(s, "_sharded", self)   -- orm.object_session / inspect answer the ShardedSession
    rawset(s, "_detach", detach)
    rawset(s, "expunge_all", expunge_all)
    self._sessions[name] = s
  end
  return self
end

M.ShardedSession = setmetatable(ShardedSession, {
  __call = function(_, opts) return new(opts) end,
  __tostring = function() return "horizontal_shard.ShardedSession" end,
})

-- shards -----------------------------------------------------------------------------

-- The session of a shard a chooser named; InvalidRequestError for a name
-- that is no shard.
local function session_named(self, name, who, level)
  local s = type(name) == "string" and self._sessions[name]
  if not s then
    exc.raise(exc.InvalidRequestError, format("ShardedSession: %s returned %s, which is not a shard " ..
      "(shards: %s)", who, type(name) == "string" and "'" .. name .. "'" or util.repr(name, 30),
      table.concat(self.shard_names, ", ")), nil, level + 1)
  end
  return s
end

-- The sessions of the shards a chooser's list names, in its order.
local function sessions_named(self, list, who, level)
  if type(list) ~= "table" then
    exc.raise(exc.InvalidRequestError, format("ShardedSession: %s must return a list of shard names, got %s",
      who, type(list)), nil, level + 1)
  end
  local out = {}
  for i = 1, #list do out[i] = session_named(self, list[i], who, level + 1) end
  return out
end

-- The shard's session st is in when it is one of ours, else nil.
local function own_session(self, st)
  local s = st.session
  if s ~= nil and rawget(s, "_sharded") == self then return s end
  return nil
end

-- The shard's session of an object of this ShardedSession (what expire,
-- refresh, expunge... act through); InvalidRequestError otherwise.
local function session_of(self, obj, what)
  local st = attributes.instance_state(obj, "ShardedSession:" .. what)
  local s = own_session(self, st)
  if not s then
    exc.raise(exc.InvalidRequestError, format("Instance %s is not present in this Session", tostring(obj)),
      nil, 3)
  end
  return s
end

-- The shard of an object being added: that of an object of its
-- save-update graph already on one of ours (the parent a child is
-- cascaded from, or the parent a new child points to), else the
-- shard_chooser's. Two shards in one graph: relationships do not cross shards.
local function shard_for(self, st)
  local seen, queue, i = {[st] = true}, {st}, 1
  local found, found_obj
  while queue[i] do
    local cur = queue[i]
    i = i + 1
    local s = own_session(self, cur)
    if s then
      if found and found ~= s then
        exc.raise(exc.InvalidRequestError, format("ShardedSession: %s is on shard '%s' and %s on shard '%s': " ..
          "related objects must be on one shard", tostring(found_obj), found.shard_id, tostring(cur.obj),
          s.shard_id), nil, 4)
      end
      found, found_obj = s, cur.obj
    end
    local loaded = rawget(cur, "loaded")
    if loaded then
      for _, rel in ipairs(cur.mapper.relationships) do
        if rel.cascade["save-update"] and loaded[rel.key] then
          local v = attributes.rel_value(cur, rel)
          if v ~= nil then
            local list = rel.uselist and v or {v}
            for j = 1, #list do
              local ost = rawget(list[j], STATE)
              if ost and not seen[ost] then seen[ost] = true; queue[#queue + 1] = ost end
            end
          end
        end
      end
    end
  end
  if found then return found end
  return session_named(self, self.shard_chooser(st.mapper, st.obj, nil), "shard_chooser", 3)
end

-- objects -----------------------------------------------------------------------------

--- Places obj on its shard (see the header): pending, or persistent again
--- when it was detached from one of this session's shards.
function ShardedSession:add(obj)
  local st = attributes.instance_state(obj, "ShardedSession:add")
  local s = own_session(self, st)
  if not s then
    local tok = rawget(st, "key") ~= nil and rawget(st, "_identity_token")
    s = tok and self._sessions[tok] or shard_for(self, st)
  end
  s:add(obj)
end

function ShardedSession:add_all(list)
  if type(list) ~= "table" or rawget(list, STATE) then
    exc.raise(exc.ArgumentError, format("ShardedSession:add_all: expected a list of objects, got %s",
      type(list) == "table" and "one instance (use add)" or type(list)), nil, 2)
  end
  for i = 1, #list do self:add(list[i]) end
end

--- Marks a persistent object to be deleted (on its shard) at the next flush.
function ShardedSession:delete(obj)
  local st = attributes.instance_state(obj, "ShardedSession:delete")
  local s = own_session(self, st)
  if not s then
    local tok = rawget(st, "key") ~= nil and rawget(st, "_identity_token")
    s = tok and self._sessions[tok]
    if not s then
      exc.raise(exc.InvalidRequestError, format("Instance %s is not persisted", tostring(obj)), nil, 2)
    end
  end
  s:delete(obj)
end

function ShardedSession:expunge(obj) session_of(self, obj, "expunge"):expunge(obj) end
function ShardedSession:expire(obj, names) session_of(self, obj, "expire"):expire(obj, names) end
function ShardedSession:refresh(obj, names) session_of(self, obj, "refresh"):refresh(obj, names) end
function ShardedSession:is_modified(obj) return session_of(self, obj, "is_modified"):is_modified(obj) end

--- The shard obj belongs to (its identity token), or nil.
---@param obj table
---@return string|nil
function ShardedSession:shard_of(obj)
  local st = attributes.instance_state(obj, "ShardedSession:shard_of")
  local s = own_session(self, st)
  if s then return s.shard_id end
  return rawget(st, "key") ~= nil and rawget(st, "_identity_token") or nil
end

--- The shard's orm.Session (what runs that shard's work).
---@param name string
---@return table
function ShardedSession:shard_session(name)
  return session_named(self, name, "shard_session", 2)
end

-- Calls method on every shard's session, in order.
local function each(self, method, ...)
  for _, name in ipairs(self.shard_names) do
    local s = self._sessions[name]
    s[method](s, ...)
  end
end

function ShardedSession:expunge_all() each(self, "expunge_all") end
function ShardedSession:expire_all() each(self, "expire_all") end

--- Copies obj's state onto the persistent object of its identity on its
--- shard (its identity token's; else the first shard identity_chooser names
--- that has the row; else the shard_chooser's) and returns that object.
function ShardedSession:merge(obj, opts)
  local st = attributes.instance_state(obj, "ShardedSession:merge")
  local s = own_session(self, st)
  if not s then
    local tok = rawget(st, "key") ~= nil and rawget(st, "_identity_token")
    s = tok and self._sessions[tok]
  end
  if not s then
    local m = st.mapper
    local vals, complete = {}, true
    for i, k in ipairs(m.pk_keys) do
      vals[i] = rawget(st.dict, k)
      if vals[i] == nil then complete = false end
    end
    if complete and not (opts and opts.load == false) then
      for _, cand in ipairs(sessions_named(self, self.identity_chooser(m, vals), "identity_chooser", 2)) do
        if cand:get(m.class, vals) ~= nil then s = cand; break end
      end
    end
    s = s or session_named(self, self.shard_chooser(m, obj, nil), "shard_chooser", 2)
  end
  return s:merge(obj, opts)
end

-- transactions ---------------------------------------------------------------------------

--- Writes every shard's pending changes (in each shard's transaction).
function ShardedSession:flush() each(self, "flush") end

--- Flushes every shard, then commits each in order. No two-phase commit:
--- a shard whose commit fails is rolled back with the shards after it (the
--- error is raised), the shards before it stay committed.
function ShardedSession:commit()
  self:flush()
  local names = self.shard_names
  for i, name in ipairs(names) do
    local s = self._sessions[name]
    local ok, err = pcall(s.commit, s)
    if not ok then
      for j = i + 1, #names do pcall(self._sessions[names[j]].rollback, self._sessions[names[j]]) end
      rawset(self, "_tx", nil)
      error(err, 0)
    end
  end
  rawset(self, "_tx", nil)
end

--- Rolls back every shard's transaction.
function ShardedSession:rollback()
  local first
  for _, name in ipairs(self.shard_names) do
    local ok, err = pcall(self._sessions[name].rollback, self._sessions[name])
    if not ok and first == nil then first = err end
  end
  rawset(self, "_tx", nil)
  if first ~= nil then error(first, 0) end
end

--- Rolls back and expunges everything on every shard.
function ShardedSession:close()
  local first
  for _, name in ipairs(self.shard_names) do
    local ok, err = pcall(self._sessions[name].close, self._sessions[name])
    if not ok and first == nil then first = err end
  end
  rawset(self, "_tx", nil)
  if first ~= nil then error(first, 0) end
end
ShardedSession.__close = function(self) self:close() end

function ShardedSession:in_transaction()
  for _, s in pairs(self._sessions) do if s:in_transaction() then return true end end
  return rawget(self, "_tx") ~= nil
end

function ShardedSession:in_nested_transaction()
  for _, s in pairs(self._sessions) do if s:in_nested_transaction() then return true end end
  return false
end

-- A transaction over the shards (what begin / begin_nested return): its
-- commit and rollback are the shards'.
---@class quicksilver.ext.horizontal_shard.ShardedTransaction
local ShardedTransaction = {}
ShardedTransaction.__index = ShardedTransaction
ShardedTransaction.__name = "ShardedTransaction"

function ShardedTransaction:commit()
  if not self.active then
    exc.raise(exc.InvalidRequestError, "This transaction is inactive", nil, 2)
  end
  self.active = false
  if self.nested then
    self.session:flush()
    for _, tx in ipairs(self.txs) do tx:commit() end
  else
    self.session:commit()
  end
end

function ShardedTransaction:rollback()
  if not self.active then return end
  self.active = false
  if self.nested then
    for _, tx in ipairs(self.txs) do pcall(tx.rollback, tx) end
  else
    self.session:rollback()
  end
end

-- close and the scope's end as a session's own transaction has them
ShardedTransaction.close = session_transaction.SessionTransaction.close
ShardedTransaction.__close = session_transaction.SessionTransaction.__close
local run_scope = session_transaction.run_scope

--- Begins the transaction: each shard's joins when first used (with
--- autobegin = false, every shard's begins now). With fn, runs fn(session)
--- and commits (rolls back and re-raises on error), returning its results.
function ShardedSession:begin(fn)
  if self:in_transaction() then
    exc.raise(exc.InvalidRequestError, "A transaction is already begun on this Session", nil, 2)
  end
  if not self.autobegin then each(self, "begin") end
  local tx = setmetatable({session = self, nested = false, active = true}, ShardedTransaction)
  rawset(self, "_tx", tx)
  if fn then return run_scope(tx, fn, self) end
  return tx
end

--- A SAVEPOINT on every shard (each shard's transaction begins).
function ShardedSession:begin_nested(fn)
  self:flush()
  local txs = {}
  for _, name in ipairs(self.shard_names) do
    local ok, tx = pcall(self._sessions[name].begin_nested, self._sessions[name])
    if not ok then
      for _, done in ipairs(txs) do pcall(done.rollback, done) end
      error(tx, 0)
    end
    txs[#txs + 1] = tx
  end
  local tx = setmetatable({session = self, nested = true, active = true, txs = txs}, ShardedTransaction)
  if fn then return run_scope(tx, fn, self) end
  return tx
end

--- Runs fn(session) with autoflush off on every shard, returning its results.
function ShardedSession:no_autoflush(fn)
  local sessions, outer = {}, self
  for i, name in ipairs(self.shard_names) do sessions[i] = self._sessions[name] end
  local function nest(i)
    if i > #sessions then return fn(outer) end
    return sessions[i]:no_autoflush(function() return nest(i + 1) end)
  end
  return nest(1)
end

--- The engine of a shard: shard_id's, else the shard_chooser's for mapper,
--- clause (SQLAlchemy's ShardedSession.get_bind).
function ShardedSession:get_bind(mapper, clause, shard_id)
  if shard_id ~= nil then return session_named(self, shard_id, "get_bind", 2).bind end
  local m = session_binds.mapper_of(mapper)
  return session_named(self, self.shard_chooser(m, nil, clause), "shard_chooser", 2).bind
end

--- The Connection of a shard's transaction: shard_id's, else the
--- shard_chooser's for mapper, clause.
function ShardedSession:connection(mapper, clause, shard_id)
  local s
  if shard_id ~= nil then
    s = session_named(self, shard_id, "connection", 2)
  else
    s = session_named(self, self.shard_chooser(session_binds.mapper_of(mapper), nil, clause), "shard_chooser", 2)
  end
  return s:connection()
end

-- queries ---------------------------------------------------------------------------------

local GET_OPTIONS = util.set({"execution_options", "options", "populate_existing", "identity_token"})

--- The object of cls with primary key ident on the first shard that has it
--- among those identity_chooser(mapper, pk_values) names (opts.identity_token:
--- that shard only): each shard's identity map first, then one SELECT per
--- shard in order. nil when none has it. Other opts as orm.Session:get's.
function ShardedSession:get(cls, ident, opts)
  util.check_options("ShardedSession:get", opts, GET_OPTIONS, 2)
  local m = mapper_mod.class_mapper(cls, "ShardedSession:get")
  local sopts = opts
  local list
  if opts and opts.identity_token ~= nil then
    list = {session_named(self, opts.identity_token, "identity_token", 2)}
    sopts = util.copy(opts)
    sopts.identity_token = nil
    if next(sopts) == nil then sopts = nil end
  else
    local vals = type(ident) == "table" and ident or {ident}
    if type(ident) == "table" and ident[1] == nil then
      vals = {}
      for i, k in ipairs(m.pk_keys) do vals[i] = ident[k] end
    end
    list = sessions_named(self, self.identity_chooser(m, vals), "identity_chooser", 2)
  end
  if #list > 1 and not (sopts and sopts.populate_existing) then
    -- an object one of the shards holds already: no SELECT on the others
    local vals = type(ident) == "table" and ident[1] ~= nil and ident or nil
    if vals or type(ident) ~= "table" then
      vals = vals or {ident}
      for _, s in ipairs(list) do
        if #vals == #m.pk_keys and s:_identity_lookup(m, vals) ~= nil then return s:get(cls, ident, sopts) end
      end
    end
  end
  for _, s in ipairs(list) do
    local obj = s:get(cls, ident, sopts)
    if obj ~= nil then return obj end
  end
  return nil
end

function ShardedSession:get_one(cls, ident, opts)
  local obj = self:get(cls, ident, opts)
  if obj == nil then
    exc.raise(exc.NoResultFound, "No row was found when one was required", nil, 2)
  end
  return obj
end

--- Runs stmt on its shard (set_shard) or on each shard execute_chooser
--- names, the rows merged (ext/horizontal_shard_merge.lua). opts as
--- orm.Session:execute's.
function ShardedSession:execute(stmt, params, opts)
  if type(stmt) ~= "table" or not stmt._executable then
    exc.raise(exc.ObjectNotExecutableError, "ShardedSession:execute: not an executable object: " ..
      util.repr(stmt, 60), nil, 2)
  end
  local list
  local name = statement.shard(stmt)
  if name ~= nil then
    list = {session_named(self, name, "set_shard", 2)}
  else
    local ctx = {mapper = session_binds.statement_mapper(stmt), statement = stmt, params = params, session = self}
    list = sessions_named(self, self.execute_chooser(ctx), "execute_chooser", 2)
  end
  if #list == 1 then return list[1]:execute(stmt, params, opts) end
  local each_stmt, limit, offset = shard_merge.per_shard(stmt)
  local results = {}
  for i, s in ipairs(list) do results[i] = s:execute(each_stmt, params, opts) end
  return shard_merge.merge(stmt, results, list[1] and list[1].bind.dialect, limit, offset)
end

function ShardedSession:scalars(stmt, params, opts) return self:execute(stmt, params, opts):scalars() end
function ShardedSession:scalar(stmt, params, opts) return self:execute(stmt, params, opts):scalar() end

--- The legacy Query over this session (its statements run as execute's).
function ShardedSession:query(...) return query.new(self, ...) end

-- computed fields ---------------------------------------------------------------------------

-- The shards' lists joined (objects also as keys, as orm.Session's are).
local function union(self, field)
  local out = {}
  for _, name in ipairs(self.shard_names) do
    local list = self._sessions[name][field]
    for i = 1, #list do out[#out + 1] = list[i]; out[list[i]] = true end
  end
  return out
end

function computed.new(self) return union(self, "new") end
function computed.dirty(self) return union(self, "dirty") end
function computed.deleted(self) return union(self, "deleted") end

-- the objects of every shard by their keys, which carry the shard
-- (orm.inspect(obj).key): the same primary key on two shards is two entries
function computed.identity_map(self)
  local out = setmetatable({}, {__mode = "v"})
  for _, name in ipairs(self.shard_names) do
    for key, obj in pairs(self._sessions[name].identity_map) do out[key .. "\0" .. name] = obj end
  end
  return out
end

return M
