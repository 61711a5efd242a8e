--- orm/session.lua: the Session (SQLAlchemy's orm/session.py): the identity
--- map, the objects to flush, the transaction, and ORM-enabled execution.
---
--- The identity map is weak-valued, as in SQLAlchemy: an unmodified object
--- nobody references may be collected. Pending, modified and deleted
--- objects are held strongly until flushed, and so are objects whose
--- collections are loaded (a table.insert into a plain Lua list is only seen
--- by comparing at flush, so the owner must survive until then).
local K = require("quicksilver.core").kinds
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local result_mod = require("quicksilver.engine.result")
local retry = require("quicksilver.engine.retry")
local attributes = require("quicksilver.orm.attributes")
local nplusone = require("quicksilver.orm.nplusone")
local identity = require("quicksilver.orm.identity")
local expiry = require("quicksilver.orm.expiry")
local mapper_mod = require("quicksilver.orm.mapper")
local loading = require("quicksilver.orm.loading")
local session_events = require("quicksilver.orm.session_events")
local event = require("quicksilver.event")
local unitofwork = require("quicksilver.orm.unitofwork")
local bulk = require("quicksilver.orm.bulk")
local query = require("quicksilver.orm.query")
local merge = require("quicksilver.orm.merge")
local session_id = attributes.session_id
local get_fast = require("quicksilver.orm.get")
local select_rows = require("quicksilver.orm.select_rows")
local session_binds = require("quicksilver.orm.session_binds")
local session_transaction = require("quicksilver.orm.session_transaction")

local M = {}

local type, rawget, rawset, setmetatable, getmetatable, pairs, ipairs, next, format, tostring, error, pcall =
  type, rawget, rawset, setmetatable, getmetatable, pairs, ipairs, next, string.format, tostring, error, pcall
local STATE = attributes.STATE
local expire_state = expiry.expire_state
local unpack, pack = table.unpack or unpack, util.pack

---@class quicksilver.orm.Session
---@field bind table|nil
---@field autoflush boolean
---@field expire_on_commit boolean
local Session = {}
M.Session = Session
Session.__name = "Session"

--- Session events: on one session, on a sessionmaker (its sessions), or on
--- orm.Session (every session).
Session._event_names = session_events.NAMES

-- session.new / dirty / deleted / identity_map are computed when read
local computed = {}
Session.__index = function(self, k)
  local m = Session[k]
  if m ~= nil then return m end
  local f = computed[k]
  if f then return f(self) end
  return nil
end

-- class_, twophase and join_transaction_mode are not supported: refused
-- by name rather than ignored.
local OPTIONS = util.set({"bind", "binds", "autoflush", "expire_on_commit", "autobegin", "info", "_maker",
  "warn_lazy"})
local EXECUTE_OPTIONS = util.set({"execution_options"})
local GET_OPTIONS = util.set({"execution_options", "options", "populate_existing"})

-- A session dropped without close() (unreachable: its objects hold it
-- weakly, attributes.lua) gives its connection back when it is collected,
-- as SQLAlchemy's does: the transaction is rolled back and the connection
-- returned to the pool. The connection sits in a holder that the session
-- and a finalizer share; the finalizer sits on a sentinel only the session
-- holds (a table with __gc on 5.2+, newproxy on 5.1/LuaJIT, whose tables
-- have no __gc), so it runs when the session goes. It closes the Connection
-- as Connection.__gc does: no SQL reaches a connection another coroutine is
-- in the middle of using (the C connection refuses it and the pool closes
-- it on checkin rather than reuse it), and a rollback that would have to
-- wait (a non-blocking connection: finalizers cannot yield) fails and the
-- pool closes that connection instead.
local newproxy = rawget(_G, "newproxy")   -- 5.1/LuaJIT only
local function sentinel(holder)
  local function gc()
    local conns = holder.conns
    holder.conns = nil
    for i = 1, conns and #conns or 0 do pcall(conns[i].close, conns[i]) end
  end
  if newproxy then
    local p = newproxy(true)
    getmetatable(p).__gc = gc
    return p
  end
  return setmetatable({}, {__gc = gc})
end

--- orm.Session(engine, {options}) or orm.Session({bind = engine, ...}).
---@return quicksilver.orm.Session
function M.new(bind, opts)
  if type(bind) == "table" and getmetatable(bind) == nil and opts == nil then
    opts, bind = bind, bind.bind
  end
  opts = util.check_options("Session", opts, OPTIONS, 3)
  if opts.bind ~= nil then bind = opts.bind end
  local self = setmetatable({
    bind = bind,
    binds = opts.binds ~= nil and session_binds.check(opts.binds, 3) or nil,
    autoflush = opts.autoflush ~= false,
    expire_on_commit = opts.expire_on_commit ~= false,
    autobegin = opts.autobegin ~= false,
    info = opts.info or {},
    _imaps = {},   -- base mapper -> weak map of primary-key value -> object (orm/identity.lua)
    _new = {}, _new_set = {},
    _deleted = {}, _deleted_set = {},
    _modified = {}, _collections = {},
    _stack = {},
    _conns = {}, _conn_of = {},   -- the transaction's connections, one per bind, in begin order
    _event_parent = opts._maker or Session,
    -- the N+1 detector (orm/nplusone.lua); false, not nil: read raw, never through __index
    _warn_lazy = nplusone.check_mode(opts.warn_lazy, 3) or false,
  }, Session)
  self._holder = {}
  self._sentinel = sentinel(self._holder)
  attributes.session_id(self)   -- the id its objects refer to it by
  M._all[self] = true
  return self
end

-- every session alive, for close_all_sessions (weak: no session is kept)
M._all = setmetatable({}, {__mode = "k"})

--- Closes every session in this Lua state (SQLAlchemy's
--- close_all_sessions): their connections go back to their pools.
function M.close_all_sessions()
  local list = {}
  for s in pairs(M._all) do list[#list + 1] = s end
  for _, s in ipairs(list) do s:close() end
end

-- orm.Session(engine, opts) constructs; orm.Session is also the event
-- target for every session.
setmetatable(Session, {__call = function(_, bind, opts) return M.new(bind, opts) end,
  __tostring = function() return "orm.Session" end})

-- object states ------------------------------------------------------------------------

local function unlink_new(self, st)
  if self._new_set[st] then
    self._new_set[st] = nil
    for i = #self._new, 1, -1 do
      if self._new[i] == st then table.remove(self._new, i); break end
    end
  end
end

local function unlink_deleted(self, st)
  if self._deleted_set[st] then
    self._deleted_set[st] = nil
    for i = #self._deleted, 1, -1 do
      if self._deleted[i] == st then table.remove(self._deleted, i); break end
    end
  end
end

-- A state taken into the session: its loaded collections are tracked
-- (compared at flush), and its lists may be held from before
-- (attributes.note_read).
-- (read raw: a state that never tracked a collection has no snap table)
local function track_lists(self, st)
  local snap, loaded = rawget(st, "snap"), rawget(st, "loaded")
  if snap and loaded then
    local colls = self._collections
    for k in pairs(snap) do
      if loaded[k] then colls[st] = true end
    end
    if colls[st] then attributes.note_read(st) end
  end
end

-- Takes st into this session: pending when it has no identity, else
-- persistent again (a detached object).
-- The state's fields are read raw here: an absent one read by name calls
-- InstanceState's __index (a function), and adding a graph of new objects
-- reads several per object.
local function attach(self, st)
  -- checked first: a deleted object stays in its session until commit
  if rawget(st, "deleted_flushed") then
    exc.raise(exc.InvalidRequestError, format("Instance %s has been deleted. Use the make_transient() " ..
      "function to send this object back to the transient state", tostring(st.obj)), nil, 4)
  end
  if rawget(st, "_sid") ~= nil then
    local owner = st.session
    if owner == self then return end
    if owner ~= nil then
      exc.raise(exc.InvalidRequestError, format("Object %s is already attached to another Session",
        tostring(st.obj)), nil, 4)
    end
  end
  local key = rawget(st, "key")
  if key ~= nil then
    local other = identity.get(self, st.mapper, key)
    if other ~= nil and not rawequal(other, st.obj) then
      exc.raise(exc.InvalidRequestError, format("Can't attach instance %s; another instance with key %s " ..
        "is already present in this session", tostring(st.obj), tostring(st.obj)), nil, 4)
    end
    st.session = self
    identity.put(self, st)
    if rawget(st, "modified") then self._modified[st] = true end
  else
    rawset(st, "_sid", session_id(self))   -- st.session = self
    local new = self._new
    new[#new + 1] = st
    self._new_set[st] = true
  end
  track_lists(self, st)
end
Session._attach = attach

-- The states of the objects reachable through loaded relationships with
-- the given cascade, breadth first, starting from (and including) st: a
-- list (no iterator closures: Session:add walks every graph it is given).
local function cascade_states(st, cascade)
  local seen, queue, i = {[st] = true}, {st}, 1
  local cur = st
  while cur do
    i = i + 1
    -- only loaded relationships cascade (read raw: nothing loaded, no table)
    -- (an object's STATE is its own field: read plainly)
    local loaded = rawget(cur, "loaded")
    if loaded then
      local rels = cur.mapper.relationships
      for r = 1, #rels do
        local rel = rels[r]
        local key = rel.key
        if loaded[key] and rel.cascade[cascade] then
          if rel.uselist then
            local c = rawget(cur, "colls")
            local v = c and c[key]
            if v ~= nil then
              for j = 1, #v do
                local ost = v[j][STATE]
                if ost and not seen[ost] then seen[ost] = true; queue[#queue + 1] = ost end
              end
            end
          else
            local v = rawget(cur.dict, key)
            if v ~= nil then
              local ost = v[STATE]
              if ost and not seen[ost] then seen[ost] = true; queue[#queue + 1] = ost end
            end
          end
        end
      end
    end
    cur = queue[i]
  end
  return queue
end

--- Places an object in the session (pending, or persistent again when it
--- was detached), with what it reaches through save-update cascades.
function Session:add(obj)
  local st = attributes.instance_state(obj, "Session:add")
  st.mapper.registry:configure()
  -- every object reached is attached, save those this session holds already
  local sid = session_id(self)
  local states = cascade_states(st, "save-update")
  local new, new_set = self._new, self._new_set
  for i = 1, #states do
    local cur = states[i]
    local csid = rawget(cur, "_sid")
    if csid == nil and rawget(cur, "key") == nil and not rawget(cur, "deleted_flushed") then
      -- a transient object becomes pending (attach's last branch, inline:
      -- most of what add takes in)
      rawset(cur, "_sid", sid)
      new[#new + 1] = cur
      new_set[cur] = true
      track_lists(self, cur)
    elseif csid ~= sid or rawget(cur, "deleted_flushed") then
      attach(self, cur)
    end
  end
end

function Session:add_all(list)
  if type(list) ~= "table" or rawget(list, STATE) then
    exc.raise(exc.ArgumentError, format("Session:add_all: expected a list of objects, got %s",
      type(list) == "table" and "one instance (use Session:add)" or type(list)), nil, 2)
  end
  for i = 1, #list do self:add(list[i]) end
end

--- Marks a persistent object to be deleted at the next flush (a pending one
--- is simply expunged, as SQLAlchemy does).
function Session:delete(obj)
  local st = attributes.instance_state(obj, "Session:delete")
  if not st.key then
    if st.session == self then
      self:expunge(obj)
      return
    end
    exc.raise(exc.InvalidRequestError, format("Instance %s is not persisted", tostring(obj)), nil, 2)
  end
  if st.deleted_flushed then return end
  self:_attach(st)
  if not self._deleted_set[st] then
    self._deleted_set[st] = true
    self._deleted[#self._deleted + 1] = st
  end
end

--- Removes the object (and what it reaches through expunge cascades) from
--- the session: pending ones become transient, persistent ones detached.
function Session:expunge(obj)
  local st = attributes.instance_state(obj, "Session:expunge")
  if st.session ~= self then
    exc.raise(exc.InvalidRequestError, format("Instance %s is not present in this Session", tostring(obj)), nil, 2)
  end
  for _, s in ipairs(cascade_states(st, "expunge")) do
    if s.session == self then self:_detach(s) end
  end
end

function Session:_detach(st)
  unlink_new(self, st)
  unlink_deleted(self, st)
  self._modified[st] = nil
  self._collections[st] = nil
  identity.remove(self, st)
  st.session = nil
end

--- Every object leaves the session.
function Session:expunge_all()
  identity.each(self, function(obj) rawget(obj, STATE).session = nil end)
  for _, st in ipairs(self._new) do st.session = nil end
  for st in pairs(self._deleted_set) do st.session = nil end
  self._imaps = {}
  self._new, self._new_set, self._deleted, self._deleted_set = {}, {}, {}, {}
  self._modified, self._collections = {}, {}
end

-- expiry -------------------------------------------------------------------------------

--- Expires the object's attributes (all, or the names listed): the next
--- access loads them. Unflushed changes to them are discarded.
function Session:expire(obj, names)
  local st = attributes.instance_state(obj, "Session:expire")
  if st.session ~= self or not st.key then
    exc.raise(exc.InvalidRequestError, format("Instance %s is not persistent within this Session", tostring(obj)), nil, 2)
  end
  local keys
  if names ~= nil then
    keys = {}
    for _, n in ipairs(names) do
      if not st.mapper.props[n] then
        exc.raise(exc.ArgumentError, format("Session:expire: %s has no mapped attribute '%s'",
          st.mapper.class_name, tostring(n)), nil, 2)
      end
      keys[n] = true
    end
  end
  for _, s in ipairs(cascade_states(st, "refresh-expire")) do
    if s.session == self and s.key then expire_state(self, s, s == st and keys or nil) end
  end
end

function Session:expire_all()
  expiry.expire_all(self)
end

--- Loads the object's attributes again from the database now.
function Session:refresh(obj, names)
  local st = attributes.instance_state(obj, "Session:refresh")
  if st.session ~= self or not st.key then
    exc.raise(exc.InvalidRequestError, format("Instance %s is not persistent within this Session", tostring(obj)), nil, 2)
  end
  self:expire(obj, names)
  loading.load_expired(st)
end

-- transactions: orm/session_transaction.lua ---------------------------------------------
session_transaction.install(Session)
M.SessionTransaction = session_transaction.SessionTransaction
local routes = session_transaction.routes
local pcall_packed = session_transaction.pcall_packed

-- flush ----------------------------------------------------------------------------------

--- Writes pending changes to the database (in the session's transaction).
function Session:flush()
  unitofwork.flush(self)
end

-- The autoflush before a query; rel: the relationship a lazy load reads
-- (its loaded collections of unrelated tables are left for a later flush:
-- orm/autoflush.lua), nil for any other statement.
function Session:_autoflush(rel)
  if self.autoflush and not self._no_autoflush and not self._flushing then
    if rel == nil then self:flush() else unitofwork.flush(self, rel) end
  end
end

--- Runs fn(session) with autoflush off, returning its results.
function Session:no_autoflush(fn)
  local prev = self._no_autoflush
  self._no_autoflush = true
  local res = pcall_packed(fn, self)
  self._no_autoflush = prev
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, res.n)
end

-- queries ---------------------------------------------------------------------------------

--- Executes a statement in the session's transaction. A select of mapped
--- classes returns rows of objects (through the identity map); anything
--- else runs as Core does. opts: {execution_options = {...}}.
function Session:execute(stmt, params, opts)
  if type(stmt) ~= "table" or not stmt._executable then
    exc.raise(exc.ObjectNotExecutableError, "Session:execute: not an executable object: " ..
      util.repr(stmt, 60), nil, 2)
  end
  if opts ~= nil then util.check_options("Session:execute", opts, EXECUTE_OPTIONS, 2) end
  if event.has(self, "do_orm_execute") then
    stmt, params, opts = session_events.orm_execute(self, stmt, params, opts)
  end
  -- the methods themselves: a method looked up on self is a call of
  -- Session.__index (a function, for the computed fields);
  -- execution_options({autoflush = false}) skips it for this statement
  local sx = stmt._execution_options
  if not ((sx and sx.autoflush == false) or (opts and opts.execution_options and
      opts.execution_options.autoflush == false)) then
    Session._autoflush(self)
  end
  return Session._run(self, stmt, params, opts)
end

-- Session:execute after its checks and autoflush.
function Session:_run(stmt, params, opts)
  local conn = routes(self) and self:_connection_for(session_binds.statement_mapper(stmt), stmt) or
    Session._connection(self)
  local eopts = opts and opts.execution_options
  if stmt._dml then
    local res
    if stmt._entity_class then
      res = bulk.execute(self, conn, stmt, params, eopts)
    else
      res = conn:execute(stmt, params, eopts)
    end
    local ents = stmt._entities
    if not ents then return res end
    -- returning(Model): each row's columns of the model made into its
    -- object (through the identity map), as a select of it
    local deleted = res._deleted_targets
    -- the columns beside the entities keep their own names (the Result's
    -- keys count the entity's columns when disambiguating: name_1)
    local colkeys = res:keys()
    for i, c in ipairs(stmt._returning) do
      if type(c.name) == "string" and (c._k == K.COLUMN or c._k == K.LABEL) then colkeys[i] = c.name end
    end
    local raw = res:all()
    local rows, keys, row_of = loading.rows(self, raw, ents, colkeys, #stmt._returning)
    if stmt._dml == "delete" then bulk.forget_returned(self, rows, deleted)
    elseif stmt._dml == "update" and row_of and #ents == 1 then bulk.refresh_returned(raw, ents, rows) end
    return result_mod.Result.new({keys = keys, rows = rows, returns_rows = true, row_of = row_of})
  end
  if not stmt._entities then return conn:execute(stmt, params, eopts) end
  local res, rows, keys, row_of, repeats = select_rows.select_objects(self, conn, stmt, params, eopts)
  if res then return res end
  return result_mod.Result._of_rows(keys, rows, row_of, repeats or nil)
end

--- execute(...):scalars()
function Session:scalars(stmt, params, opts)
  return self:execute(stmt, params, opts):scalars()
end

--- The first column of the first row.
function Session:scalar(stmt, params, opts)
  return self:execute(stmt, params, opts):scalar()
end

-- Objects of a select of one entity (lazy loads: rel, the relationship
-- loaded, bounds the autoflush).
function Session:_load_objects(stmt, params, rel)
  self:_autoflush(rel)
  if not stmt._entities then return self:_run(stmt, params):scalars():all() end
  local conn = routes(self) and self:_connection_for(rel and rel.target or session_binds.statement_mapper(stmt),
    stmt) or self:_connection()
  local res, rows, keys, row_of, repeats = select_rows.select_objects(self, conn, stmt, params, nil)
  -- the objects themselves (one entity, rows not repeated): no Result
  if res == nil and row_of and not repeats then return rows end
  res = res or result_mod.Result.new({keys = keys, rows = rows, returns_rows = true,
    require_unique = repeats or nil, row_of = row_of})
  return res:scalars():all()
end

-- Core execution in the session's transaction, without ORM rows (refresh);
-- mapper: whose rows these are (for get_bind).
function Session:_execute_core(stmt, params, mapper)
  local conn = self:_connection_for(mapper, stmt)
  return conn:execute(select_rows.orm_statement(stmt), params)
end

--- Loads st's expired attributes (one SELECT in this session's
--- transaction): how reading an expired attribute reaches the database
--- (attributes.get_column holds the state, not this module).
function Session:_load_expired(st)
  loading.load_expired(st)
end

--- The object with these primary-key values in the identity map, or nil.
function Session:_identity_lookup(m, vals)
  local obj = identity.get(self, m, identity.key(m, vals, #vals))
  if obj == nil then return nil end
  local st = rawget(obj, STATE)
  if st.deleted_flushed or not st.mapper:isa(m) then return nil end
  return obj
end

-- The primary-key values of an identifier: a value, a list in key order,
-- or a table of attribute = value.
local function ident_values(m, ident)
  local n = #m.pk_keys
  local vals
  if type(ident) ~= "table" then
    vals = {ident}
  elseif ident[1] ~= nil then
    vals = ident
  else
    vals = {}
    for i, k in ipairs(m.pk_keys) do vals[i] = ident[k] end
    for k in pairs(ident) do
      local known = false
      for _, pk in ipairs(m.pk_keys) do if pk == k then known = true end end
      if not known then
        exc.raise(exc.ArgumentError, format("get: '%s' is not a primary key attribute of %s", tostring(k),
          m.class_name), nil, 4)
      end
    end
  end
  local count = 0
  for i = 1, n do if vals[i] ~= nil then count = count + 1 end end
  if count ~= n or (type(ident) == "table" and ident[1] ~= nil and #ident ~= n) then
    exc.raise(exc.InvalidRequestError, format("Incorrect number of values in identifier formed for " ..
      "argument 'ident'; primary key for %s is %d column(s)", m.class_name, n), nil, 4)
  end
  return vals
end

--- The object of this class with this primary key: from the identity map
--- when there, else one SELECT; nil when no row has it. opts (SQLAlchemy's
--- get() parameters): execution_options; options = {loader options};
--- populate_existing = true (past the identity map: the row overwrites the
--- object's loaded attributes, after the autoflush wrote its changes).
--- with_for_update is refused (spec/options_refused_spec.lua).
---@param cls table
---@param ident any
---@param opts? {execution_options: table, options: table, populate_existing: boolean}
---@return table|nil
function Session:get(cls, ident, opts)
  util.check_options("Session:get", opts, GET_OPTIONS, 2)
  local m = mapper_mod.class_mapper(cls, "Session:get")
  local vals = ident_values(m, ident)
  local populate = opts and opts.populate_existing
  if opts and opts.options ~= nil and type(opts.options) ~= "table" then
    exc.raise(exc.ArgumentError, "Session:get: options must be a list of loader options, got " ..
      type(opts.options), nil, 2)
  end
  local obj = self:_identity_lookup(m, vals)
  if obj ~= nil and not populate then
    local st = rawget(obj, STATE)
    if st.expired then
      local ok, err = pcall(loading.load_expired, st)
      if not ok then
        if exc.is_error(err, exc.ObjectDeletedError) then return nil end
        error(err, 0)
      end
    end
    return obj
  end
  self:_autoflush()
  if opts == nil then
    -- the statement built and compiled once per mapper, the row made into
    -- its object without a Result (orm/get.lua); else the same statement
    -- the general way
    local served, found = get_fast.load(self, m, vals)
    if served then return found end
  end
  local stmt = get_fast.statement(m)
  local params = {}
  for i = 1, #m.pk_cols do params[mapper_mod.PK_PARAMS[i]] = vals[i] end
  if opts and opts.options then stmt = stmt:options(unpack(opts.options)) end
  if populate and obj ~= nil then
    -- everything the row has is taken again (loading fills expired attributes)
    expire_state(self, rawget(obj, STATE), nil)
  end
  local res = self:_run(stmt, params, opts and opts.execution_options and
    {execution_options = opts.execution_options})
  -- a joined eager load of a collection repeats the row per child
  if res._require_unique then res = res:unique() end
  return res:scalars():first()
end

--- get() that raises NoResultFound instead of returning nil.
function Session:get_one(cls, ident, opts)
  local obj = self:get(cls, ident, opts)
  if obj == nil then
    exc.raise(exc.NoResultFound, "No row was found when one was required", nil, 2)
  end
  return obj
end

--- Copies the state of obj onto the persistent object with the same
--- identity (loaded when needed, created when none exists) and returns it;
--- relationships with the merge cascade are merged too. opts.load = false:
--- obj is taken as the database's current row (no SQL is sent); it must be
--- persistent or detached and unchanged, as in SQLAlchemy.
---@param obj table
---@param opts? {load: boolean}
---@return table
Session.merge = merge.merge

--- Whether the object has changes a flush would write.
function Session:is_modified(obj)
  local st = attributes.instance_state(obj, "Session:is_modified")
  return unitofwork.has_changes(st)
end

--- The legacy Query: session:query(User):filter(...):all().
function Session:query(...)
  return query.new(self, ...)
end

-- computed fields ---------------------------------------------------------------------------

local function with_members(list)
  for i = 1, #list do list[list[i]] = true end
  return list
end

function computed.new(self)
  local out = {}
  for i, st in ipairs(self._new) do out[i] = st.obj end
  return with_members(out)
end

function computed.dirty(self)
  local out = {}
  for st in pairs(self._modified) do
    if st.key and st.session == self and not self._deleted_set[st] then out[#out + 1] = st.obj end
  end
  return with_members(out)
end

function computed.deleted(self)
  local out = {}
  for i, st in ipairs(self._deleted) do out[i] = st.obj end
  return with_members(out)
end

-- the objects by their string keys (orm.inspect(obj).key), made on read
-- from the per-mapper maps: a weak table, one entry per object
function computed.identity_map(self) return identity.snapshot(self) end

-- bulk_save_objects, bulk_insert_mappings, bulk_update_mappings (orm/bulk_save.lua)
local bulk_save = require("quicksilver.orm.bulk_save")
Session.bulk_save_objects = bulk_save.save_objects
Session.bulk_insert_mappings = bulk_save.insert_mappings
Session.bulk_update_mappings = bulk_save.update_mappings

-- sessionmaker ---------------------------------------------------------------------------

---@class quicksilver.orm.sessionmaker
local Maker = {}
M.Maker = Maker   -- for factories of sessions of their own (ext.replicas)
Maker.__index = Maker
Maker.__name = "sessionmaker"
Maker.__call = function(self, overrides)
  local o = util.merge(self.kw, overrides)
  o._maker = self
  return M.new(o.bind, o)
end
Maker._event_names = Session._event_names
Maker._event_parent = Session

--- orm.sessionmaker({bind = engine, autoflush, expire_on_commit}): calling
--- it makes a Session with those options.
function M.sessionmaker(opts)
  opts = util.check_options("sessionmaker", opts, OPTIONS, 2)
  return setmetatable({kw = util.copy(opts)}, Maker)
end

--- Changes the options of later sessions (e.g. the bind).
function Maker:configure(opts)
  util.check_options("sessionmaker:configure", opts, OPTIONS, 2)
  for k, v in pairs(opts) do self.kw[k] = v end
end

--- A new session in a transaction: with fn, runs fn(session), commits and
--- closes it. opts {retries = n, ...}: a new session per try (Engine:begin).
function Maker:begin(fn, opts)
  if opts ~= nil then return retry.rerun("sessionmaker:begin", self, fn, opts, self.kw.bind) end
  local s = self()
  if fn then
    local res = pack(pcall(s.begin, s, fn))
    s:close()
    if not res[1] then error(res[2], 0) end
    return unpack(res, 2, res.n)
  end
  s:begin()
  return s
end

return M
