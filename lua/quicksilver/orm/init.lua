--- quicksilver.orm: the ORM facade (`local orm = require("quicksilver.orm")`).
--- Declarative models, the Session and unit of work, relationships, loader
--- options, hybrid attributes and inspection. The layers: orm -> engine ->
--- sql -> core; nothing below requires this.
local exc = require("quicksilver.exc")
local attributes = require("quicksilver.orm.attributes")
local identity = require("quicksilver.orm.identity")
local mapper_mod = require("quicksilver.orm.mapper")
local decl = require("quicksilver.orm.decl")
local relationships = require("quicksilver.orm.relationships")
local session = require("quicksilver.orm.session")
local strategies = require("quicksilver.orm.strategies")
local hybrid = require("quicksilver.orm.hybrid")
local history = require("quicksilver.orm.history")
require("quicksilver.orm.attribute_events")

local M = {}

local rawget, type, setmetatable, tostring = rawget, type, setmetatable, tostring

M.declarative_base = decl.declarative_base
M.registry = decl.registry
M.mapped_column = decl.mapped_column
M.column_property = decl.column_property
M.validates = decl.validates
M.synonym = decl.synonym
M.deferred = decl.deferred
M.association_proxy = decl.association_proxy
M.relationship = relationships.relationship
M.backref = relationships.backref
M.foreign = require("quicksilver.orm.annotations").foreign
M.remote = require("quicksilver.orm.annotations").remote
M.polymorphic_union = require("quicksilver.orm.concrete").polymorphic_union
M.attribute_keyed_dict = require("quicksilver.orm.collections").attribute_keyed_dict
M.column_keyed_dict = require("quicksilver.orm.collections").column_keyed_dict
M.keyfunc_mapping = require("quicksilver.orm.collections").keyfunc_mapping
M.Session = session.Session
M.sessionmaker = session.sessionmaker
M.close_all_sessions = session.close_all_sessions
M.hybrid_property = hybrid.hybrid_property
M.hybrid_method = hybrid.hybrid_method
M.selectinload = strategies.selectinload
M.lazyload = strategies.lazyload
M.raiseload = strategies.raiseload
M.noload = strategies.noload
M.joinedload = strategies.joinedload
M.subqueryload = strategies.subqueryload
M.defaultload = strategies.defaultload
M.contains_eager = strategies.contains_eager
M.defer = strategies.defer
M.undefer = strategies.undefer
M.load_only = strategies.load_only
M.undefer_group = strategies.undefer_group
M.aliased = require("quicksilver.orm.aliased").aliased
M.with_polymorphic = require("quicksilver.orm.polymorphic").with_polymorphic
M.selectin_polymorphic = require("quicksilver.orm.polymorphic").selectin_polymorphic
M.declared_attr = require("quicksilver.orm.mixins").declared_attr
M.composite = require("quicksilver.orm.composite").composite
M.scoped_session = require("quicksilver.orm.scoping").scoped_session
-- change history (orm/history.lua)
M.get_history = history.get_history
M.History = history.History
M.NO_VALUE = history.NO_VALUE
M.with_loader_criteria = require("quicksilver.orm.criteria").with_loader_criteria
M.set_lazy_warning = require("quicksilver.orm.nplusone").set_handler   -- warn_lazy = "warn" reports

-- inspection ------------------------------------------------------------------------------

---@class quicksilver.orm.InstanceInspection
local Inspection = {}
local computed = {}
Inspection.__name = "InstanceState"
Inspection.__index = function(self, k)
  local f = computed[k]
  if f then return f(rawget(self, "_st")) end
  return nil
end
Inspection.__tostring = function(self) return "<InstanceState of " .. tostring(rawget(self, "_st").obj) .. ">" end

function computed.transient(st) return st.session == nil and st.key == nil end
function computed.pending(st) return st.session ~= nil and st.key == nil end
function computed.persistent(st)
  return st.session ~= nil and st.key ~= nil and not st.deleted_flushed
end
function computed.deleted(st) return st.session ~= nil and st.deleted_flushed == true end
function computed.detached(st) return st.session == nil and st.key ~= nil end
function computed.was_deleted(st) return st.deleted_flushed == true end
function computed.modified(st) return st.modified == true end
function computed.mapper(st) return st.mapper end
-- per attribute: history, value, loaded_value (orm/history.lua)
function computed.attrs(st) return history.attrs(st) end
function computed.unmodified(st) return history.unmodified(st) end
-- A shard's session of quicksilver.ext.horizontal_shard's ShardedSession
-- answers as the ShardedSession (its `_sharded`), its shard (`shard_id`)
-- being the identity token; a detached object keeps the shard it left.
local function identity_token(st)
  local s = st.session
  if s then return rawget(s, "shard_id") end
  return st.key ~= nil and rawget(st, "_identity_token") or nil
end
function computed.identity_token(st) return identity_token(st) end
function computed.session(st)
  local s = st.session
  return s and rawget(s, "_sharded") or s
end
function computed.object(st) return st.obj end
-- the string form, made when asked for (st.key is the per-mapper key)
function computed.key(st)
  local key = identity.global_key(st.mapper, st.key)
  if key == nil then return nil end
  local s = st.session
  local tok = s and rawget(s, "shard_id")
  if tok == nil and s == nil then tok = rawget(st, "_identity_token") end
  if tok then return key .. "\0" .. tok end   -- the key carries the shard
  return key
end
function computed.identity(st)
  if not st.key then return nil end
  local out = {}
  for i, k in ipairs(st.mapper.pk_keys) do
    local v = attributes.committed_of(st, k)
    if v == nil or v == attributes.UNKNOWN then v = rawget(st.dict, k) end
    out[i] = v
  end
  return out
end
function computed.expired_attributes(st)
  local out = {}
  for k in pairs(st.expired or {}) do out[k] = true end
  return out
end
function computed.unloaded(st)
  local out = {}
  for k in pairs(st.expired or {}) do out[k] = true end
  for _, rel in ipairs(st.mapper.relationships) do
    if not st.loaded[rel.key] then out[rel.key] = true end
  end
  return out
end

--- orm.inspect(Model) -> its Mapper (columns, relationships, attrs,
--- local_table, class, primary_key); orm.inspect(obj) -> its state (transient,
--- pending, persistent, detached, deleted, modified, mapper, session,
--- identity, identity_token: the shard of a ShardedSession's object).
--- Anything else: NoInspectionAvailable.
function M.inspect(x)
  if type(x) == "table" then
    local st = rawget(x, attributes.STATE)
    if st then return setmetatable({_st = st}, Inspection) end
    local m = rawget(x, "__mapper__")
    if m then
      m.registry:configure()
      return m
    end
    if getmetatable(x) == mapper_mod.Mapper then return x end
  end
  exc.raise(exc.NoInspectionAvailable, "No inspection system is available for object of type " ..
    (type(x) == "table" and tostring(x) or type(x)), nil, 2)
end

--- The session an object belongs to, or nil.
function M.object_session(obj)
  local st = attributes.state_of(obj)
  local s = st and st.session
  return s and rawget(s, "_sharded") or s or nil
end

--- The mapper of a class (UnmappedClassError otherwise).
function M.class_mapper(cls) return mapper_mod.class_mapper(cls, "class_mapper") end

--- An object back to transient: no session, no identity.
function M.make_transient(obj)
  local st = attributes.instance_state(obj, "make_transient")
  if st.session then st.session:_detach(st) end
  st.key = nil
  st.expired = nil
  st.deleted_flushed = nil   -- a deleted object may be added again as a new row
end

return M
