-- orm/merge.lua: Session:merge, copying a detached or transient object's state
-- onto the session's persistent object with the same identity (loaded when
-- needed), or with load = false taking it as the database's current row.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local attributes = require("quicksilver.orm.attributes")
local identity = require("quicksilver.orm.identity")
local flush_finish = require("quicksilver.orm.flush_finish")
local unitofwork = require("quicksilver.orm.unitofwork")

local M = {}
local STATE = attributes.STATE

-- The value a merge-cascaded relationship takes on the merge target: src's
-- members (or member) each merged through merge_one.
local function merged_relationship(rel, v, merge_one)
  if rel.uselist then
    local list = {}
    for i, item in ipairs(v or {}) do list[i] = merge_one(item) end
    return list
  end
  return v ~= nil and merge_one(v) or nil
end

local MERGE_OPTIONS = {load = true}

-- merge(obj, {load = false}): src is taken as what the database has (no
-- SELECT, no INSERT), as SQLAlchemy's load=False. The target is the object
-- with src's identity in this session, else a new persistent object with
-- that identity (made without the class's constructor); src's loaded column
-- values are copied onto it without history, and the whole target is then
-- marked unchanged (SQLAlchemy's _commit_all after a merge without load).
local function merge_no_load(self, src, sst, memo, merge_one)
  if sst.key == nil then
    exc.raise(exc.InvalidRequestError, "merge() with load=False option does not support objects transient " ..
      "(i.e. unpersisted) objects. flush() all changes on mapped instances before merging with load=False.", nil, 4)
  end
  local m = sst.mapper
  local target = identity.get(self, m, sst.key)
  if target ~= nil and rawget(target, STATE).deleted_flushed then target = nil end
  local tst
  if target == nil then
    if unitofwork.has_changes(sst) then
      exc.raise(exc.InvalidRequestError, "merge() with load=False option does not support objects marked as " ..
        "'dirty'. flush() all changes on mapped instances before merging with load=False.", nil, 4)
    end
    target, tst = attributes.make_instance(m, {})
    tst.key = sst.key
    -- every column not copied below is loaded on first access
    local ex = {}
    for _, p in ipairs(m.column_props) do ex[p.key] = true end
    tst.expired = ex
    self:_attach(tst)
  else
    tst = rawget(target, STATE)
  end
  memo[sst] = target
  local dict = tst.dict
  for _, p in ipairs(m.column_props) do
    local k = p.key
    if not (sst.expired and sst.expired[k]) then
      local v = rawget(sst.dict, k)
      if tst.expired and tst.expired[k] then
        attributes.own_expired(tst)[k] = nil
        if next(tst.expired) == nil then tst.expired = nil end
      end
      dict[k] = v
    end
  end
  for _, rel in ipairs(m.relationships) do
    if rel.cascade.merge and sst.loaded[rel.key] then
      attributes.set_rel_value(tst, rel, merged_relationship(rel, attributes.rel_value(sst, rel), merge_one))
      tst.loaded[rel.key] = true
      if rel.uselist or rel.direction == "ONETOMANY" then self._collections[tst] = true end
    end
  end
  flush_finish.commit_all(tst)
  self._modified[tst] = nil
  return target
end

--- Session:merge (installed on the Session class). Copies the state of obj onto the persistent object with the same
--- identity (loaded when needed, created when none exists) and returns it;
--- relationships with the merge cascade are merged too. opts.load = false:
--- obj is taken as the database's current row (no SQL is sent); it must be
--- persistent or detached and unchanged, as in SQLAlchemy.
---@param self quicksilver.Session
---@param obj table
---@param opts? {load: boolean}
---@return table
function M.merge(self, obj, opts)
  util.check_options("Session:merge", opts, MERGE_OPTIONS)
  if opts ~= nil and opts.load ~= nil and type(opts.load) ~= "boolean" then
    exc.raise(exc.ArgumentError, "Session:merge: load must be a boolean", nil, 2)
  end
  local load = not (opts and opts.load == false)
  local memo = {}
  local merge_one
  merge_one = function(src)
    local sst = attributes.instance_state(src, "Session:merge")
    if sst.session == self then return src end
    if memo[sst] then return memo[sst] end
    if not load then return merge_no_load(self, src, sst, memo, merge_one) end
    local m = sst.mapper
    m.registry:configure()
    local vals, complete = {}, true
    for i, k in ipairs(m.pk_keys) do
      vals[i] = rawget(sst.dict, k)
      if vals[i] == nil then complete = false end
    end
    local target
    if complete then
      target = self:_identity_lookup(m, vals)
      if target == nil then target = self:get(m.class, vals) end
    end
    if target == nil then
      target = m.class()
      self:add(target)
    end
    memo[sst] = target
    local tst = rawget(target, STATE)
    for _, p in ipairs(m.column_props) do
      local k = p.key
      local v = rawget(sst.dict, k)
      local known = v ~= nil or (sst.key ~= nil and not (sst.expired and sst.expired[k]))
      if known and not rawequal(rawget(tst.dict, k), v) then attributes.set_column(tst, k, v) end
    end
    for _, rel in ipairs(m.relationships) do
      if rel.cascade.merge and sst.loaded[rel.key] then
        target[rel.key] = merged_relationship(rel, attributes.rel_value(sst, rel), merge_one)
      end
    end
    return target
  end
  return merge_one(obj)
end

return M
