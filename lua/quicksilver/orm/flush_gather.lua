--- orm/flush_gather.lua: the flush's first step (orm/unitofwork.lua runs
--- it): the save-update cascade from everything the session holds, delete
--- cascades, and what changed in relationships (collection members added
--- and removed, many-to-ones set): which foreign keys follow which objects,
--- which rows become orphans, which association rows come and go.
local exc = require("quicksilver.exc")
local attributes = require("quicksilver.orm.attributes")
local EMPTY = {}
local in_session, session_of = attributes.in_session, attributes.session_of

local M = {}

local rawget, pairs, ipairs, format, tostring =
  rawget, pairs, ipairs, string.format, tostring
local STATE = attributes.STATE
local rel_value, set_rel_value = attributes.rel_value, attributes.set_rel_value
local ONETOMANY = "ONETOMANY"

local flush_common = require("quicksilver.orm.flush_common")
local list_of = flush_common.list_of
local pk_changed = flush_common.pk_changed

local function new_uow(session)
  return {
    session = session,
    deletes = {}, delete_set = {},   -- states to DELETE, in marking order
    syncs = {},                      -- child state -> parent state, rel, parent, rel, ... (fk from parent)
    linked = {},                     -- states syncs, nulls or post may name that may be persistent
                                     -- (repeats allowed): UPDATE candidates (flush_plan.rows_to_write)
    nulls = {},                      -- child state -> list of rel (fk to NULL)
    assoc_add = {}, assoc_del = {},  -- many-to-many rows: {rel, a, b} (canonical side)
    assoc_seen = {},
    assoc_clear = {},                -- {rel, state}: every row of a deleted object
    post = {}, post_order = {},      -- state -> {{rel, parent state | false}}: post_update foreign keys
    post_o2m_deleted = {},           -- {rel, child state}: members of a deleted parent's post_update collection
    touched = {}, ntouched = 0,      -- state, key, value before: what the flush overwrote, for undo
  }
end

local function add_sync(uow, child, parent, rel)
  local list = uow.syncs[child]
  if not list then
    uow.syncs[child] = {parent, rel}   -- pairs in one flat list: no table per link
    if rawget(child, "key") ~= nil then uow.linked[#uow.linked + 1] = child end
    return
  end
  for i = 1, #list, 2 do
    local r = list[i + 1]
    if r == rel then list[i] = parent; return end
    -- the other side of the same link (a collection and its many-to-one)
    -- writes the same foreign key from the same parent: once is enough
    if list[i] == parent and rel.reverse ~= nil and r == rel.reverse then return end
  end
  list[#list + 1] = parent
  list[#list + 1] = rel
end

-- A post_update foreign key: written by an UPDATE after every row exists
-- (parent false: set to NULL).
local function add_post(uow, child, parent, rel)
  local list = uow.post[child]
  if not list then
    list = {}
    uow.post[child] = list
    uow.linked[#uow.linked + 1] = child
    uow.post_order[#uow.post_order + 1] = child
  end
  list[#list + 1] = {rel, parent}
end

local function add_null(uow, child, rel)
  local list = uow.nulls[child]
  if not list then
    list = {}
    uow.nulls[child] = list
    uow.linked[#uow.linked + 1] = child
  end
  list[#list + 1] = rel
end

-- One association row, whichever side's collection changed: the pair is
-- recorded from the side with the lower id, so both sides of a
-- bidirectional many-to-many produce one row.
local function add_assoc(uow, list, rel, a, b)
  local rev = rel.reverse
  if rev and rev.id < rel.id then rel, a, b = rev, b, a end
  local seen = uow.assoc_seen
  local k1 = seen[rel] or {}
  seen[rel] = k1
  local k2 = k1[a] or {}
  k1[a] = k2
  local tag = list == uow.assoc_add and "add" or "del"
  if k2[b] == tag then return end
  k2[b] = tag
  list[#list + 1] = {rel, a, b}
end

local function mark_delete(uow, st)
  if uow.delete_set[st] then return false end
  uow.delete_set[st] = true
  uow.deletes[#uow.deletes + 1] = st
  return true
end

-- Save-update cascade from every state the session holds: one walk over
-- the graph (each object visited once, however many starts reach it).
local function cascade_saves(session, colls)
  local seen, queue = {}, {}
  local function visit(st)
    if not seen[st] then
      seen[st] = true
      queue[#queue + 1] = st
    end
  end
  -- starts: what the session still holds (a state it let go of may linger
  -- in these sets until the next flush)
  local function start(st)
    if in_session(st, session) then visit(st) end
  end
  for _, st in ipairs(session._new) do start(st) end
  for st in pairs(session._modified) do start(st) end
  for _, st in ipairs(colls) do start(st) end
  local i = 1
  while queue[i] do
    local st = queue[i]
    i = i + 1
    if not in_session(st, session) then
      local owner = session_of(st)
      if owner == nil then
        session:_attach(st)
      elseif owner ~= session then
        exc.raise(exc.InvalidRequestError, format("Object %s is already attached to another Session",
          tostring(st.obj)), nil, 5)
      end
    end
    local loaded = rawget(st, "loaded") or EMPTY
    for _, rel in ipairs(st.mapper.relationships) do
      if rel.cascade["save-update"] and loaded[rel.key] then
        local v = rel_value(st, rel)
        if v ~= nil then
          if rel.uselist then
            for j = 1, #v do visit(rawget(v[j], STATE)) end
          else
            visit(rawget(v, STATE))
          end
        end
      end
    end
  end
end

-- Deletes and what they cascade to: collections are loaded (unless
-- passive_deletes) so children are deleted or have their key nulled.
local function cascade_deletes(uow)
  local session = uow.session
  for _, st in ipairs(session._deleted) do mark_delete(uow, st) end
  local i = 1
  while uow.deletes[i] do
    local st = uow.deletes[i]
    i = i + 1
    for _, rel in ipairs(st.mapper.relationships) do
      if not rel.viewonly then
        local loaded = st.loaded[rel.key]
        local v
        if rel.direction == ONETOMANY then
          -- (a write_only / dynamic list holds only queued additions)
          if loaded and not rel.wo then
            v = rel_value(st, rel)
          elseif not rel.passive_deletes then
            v = rel:lazy_load(st)
          end
          for _, child in ipairs(list_of(rel, v)) do
            local cst = rawget(child, STATE)
            -- a member deleted too still points at the parent: its key is
            -- cleared by UPDATE before the DELETEs (flush_write.do_post_nulls)
            if rel.post_update then
              local l = uow.post_o2m_deleted
              l[#l + 1] = {rel, cst}
            end
            if rel.cascade.delete then
              if cst.key then mark_delete(uow, cst) elseif cst.session == session then session:_detach(cst) end
            elseif not uow.delete_set[cst] and cst.key then
              add_null(uow, cst, rel.reverse or {pairs = rel.pairs, key = nil, o2m = rel})
            end
          end
        elseif rel.secondary then
          uow.assoc_clear[#uow.assoc_clear + 1] = {rel, st}
          if rel.cascade.delete then
            v = loaded and not rel.wo and rel_value(st, rel) or rel:lazy_load(st)
            for _, o in ipairs(list_of(rel, v)) do
              local tst = rawget(o, STATE)
              if tst.key then mark_delete(uow, tst) end
            end
          end
        elseif rel.cascade.delete then
          v = loaded and rel_value(st, rel) or rel:lazy_load(st)
          if v ~= nil then
            local tst = rawget(v, STATE)
            if tst.key then mark_delete(uow, tst) end
          end
        end
      end
    end
  end
end

local function set_of(list)
  local set = {}
  for i = 1, #list do set[list[i]] = true end
  return set
end

-- A many-to-many collection: association rows for members added and removed.
local function secondary_changes(uow, st, rel, v)
  local list, snap = list_of(rel, v), st.snap[rel.key] or {}
  local inlist, insnap = set_of(list), set_of(snap)
  for _, o in ipairs(list) do
    if not insnap[o] then add_assoc(uow, uow.assoc_add, rel, st, rawget(o, STATE)) end
  end
  for _, o in ipairs(snap) do
    if not inlist[o] then add_assoc(uow, uow.assoc_del, rel, st, rawget(o, STATE)) end
  end
end

-- A one-to-many collection: members that joined it take the parent's key
-- (all members do when that key changes); those that left are collected
-- for after every collection was seen. reach (the fused walk's, or nil):
-- each member is handed to the save-update cascade in the same loop.
-- A member that joined is noted in joined only when no many-to-one on its
-- side says where it went (member_left reads that many-to-one, which
-- this loop sets).
local function collection_changes(uow, st, rel, v, joined, left, reach)
  local list = list_of(rel, v)
  local snaps = rawget(st, "snap")
  local snap = snaps and snaps[rel.key]
  -- (a new object's snapshot is empty: every member joined, none left)
  local insnap = snap and #snap > 0 and set_of(snap) or nil
  local rekeyed = rawget(st, "key") ~= nil and pk_changed(st)
  local rev = rel.reverse
  local m2o = rev ~= nil and not rev.uselist
  local came
  if not m2o then
    came = joined[rel]
    if not came then came = {}; joined[rel] = came end
  end
  local post, obj, syncs = rel.post_update, st.obj, uow.syncs
  for j = 1, #list do
    local o = list[j]
    local cst = rawget(o, STATE)
    local new = not (insnap and insnap[o])
    if new or rekeyed then
      if post then
        add_post(uow, cst, st, rel)
      elseif syncs[cst] == nil then
        syncs[cst] = {st, rel}
        if rawget(cst, "key") ~= nil then uow.linked[#uow.linked + 1] = cst end
      else
        add_sync(uow, cst, st, rel)
      end
    end
    if new then
      if m2o then
        if not rawequal(rel_value(cst, rev), obj) then
          set_rel_value(cst, rev, obj)
          cst.loaded[rev.key] = true
        end
      else
        came[cst] = st
      end
    end
    if reach then reach(cst) end
  end
  if insnap then
    local inlist = set_of(list)
    for _, o in ipairs(snap) do
      if not inlist[o] then left[#left + 1] = {rel, st, rawget(o, STATE)} end
    end
  end
end

-- A member that left a collection: gone (delete-orphan) or its key NULLed,
-- unless it moved to another parent (its many-to-one, or another
-- collection of the same relationship, says so).
local function member_left(uow, rel, st, cst, joined)
  local session = uow.session
  local rev = rel.reverse
  -- moved to another collection of rel: joined says so when no
  -- many-to-one does (collection_changes)
  local to = joined[rel] and joined[rel][cst]
  if to and to ~= st then return end
  local moved = rev and cst.loaded[rev.key] and rel_value(cst, rev) ~= nil and
    not rawequal(rel_value(cst, rev), st.obj)
  if moved or uow.delete_set[cst] then return end
  if rel.cascade["delete-orphan"] then
    if cst.key then mark_delete(uow, cst) elseif cst.session == session then session:_detach(cst) end
  elseif cst.key then
    add_null(uow, cst, rev or {pairs = rel.pairs, o2m = rel})
    if rev and not rev.uselist and rawequal(rel_value(cst, rev), st.obj) then
      set_rel_value(cst, rev, nil)
    end
  end
end

-- A many-to-one: the foreign key follows the target when the reference was
-- set (or the target is new, or its key changes).
local function reference_changes(uow, st, rel, v)
  local m2o = rawget(st, "m2o_set")
  local set = m2o and m2o[rel.key]
  if v ~= nil then
    local tst = rawget(v, STATE)
    if set or rawget(tst, "key") == nil or pk_changed(tst) then
      if rel.post_update then
        add_post(uow, st, tst, rel)
      else
        -- the usual case: the target's collection recorded this link
        -- already (add_sync's first test, without the call)
        local l = uow.syncs[st]
        if not (l and l[1] == tst and l[2] == rel.reverse and rel.reverse ~= nil) then
          add_sync(uow, st, tst, rel)
        end
      end
    end
  elseif set then
    if rel.post_update then add_post(uow, st, false, rel) else add_null(uow, st, rel) end
    local rev = rel.reverse
    if rev and rev.cascade["delete-orphan"] and st.key then mark_delete(uow, st) end
  end
end

-- What changed in relationships: collection members added and removed,
-- many-to-ones set. As SQLAlchemy's dependency processors, only changes
-- are synchronised: a foreign key set directly on an unchanged member
-- is written as set.
local function relationship_changes(uow)
  local session = uow.session
  local states, seen = {}, {}
  local function note(st)
    if not seen[st] and in_session(st, session) and not uow.delete_set[st] then
      seen[st] = true
      states[#states + 1] = st
    end
  end
  for _, st in ipairs(session._new) do note(st) end
  for st in pairs(session._modified) do note(st) end
  for _, st in ipairs(uow.colls) do note(st) end
  local joined, left = {}, {}
  for _, st in ipairs(states) do
    -- (read raw: a state with nothing loaded has no loaded table)
    local loaded = rawget(st, "loaded") or EMPTY
    for _, rel in ipairs(st.mapper.relationships) do
      if not rel.viewonly and loaded[rel.key] then
        local v = rel_value(st, rel)
        if rel.secondary then
          secondary_changes(uow, st, rel, v)
        elseif rel.direction == ONETOMANY then
          collection_changes(uow, st, rel, v, joined, left)
        else
          reference_changes(uow, st, rel, v)
        end
      end
    end
  end
  for _, l in ipairs(left) do member_left(uow, l[1], l[2], l[3], joined) end
end

-- The fused gather's figures for the last flush that took it (a spec
-- reads them): states walked (each once), states its cascade reached
-- that were not among the session's new objects (those add already took
-- in are not discovered again), and how many walks over the graph ran.
local counters = {walked = 0, reached = 0, walks = 0}
M.counters = counters

-- The flush's gather when no delete is pending: the save-update cascade
-- and the relationship changes in one walk, each state's relationships
-- looked at once. The order is the three passes' (cascade_saves,
-- cascade_deletes, relationship_changes) with cascade_deletes empty: the
-- session's new objects first (with those the cascade attaches, as they
-- join session._new), then its modified objects and changed collections;
-- only these have their changes gathered, as relationship_changes does,
-- while other states of the session the cascade reaches only carry it on.
-- A new object needs no seen mark: session._new_set says it is walked.
-- The usual shapes of a new object are inline (a collection whose members
-- all joined, a many-to-one its target's collection already linked); the
-- rest goes to the functions the three passes use.
local function fused(uow, colls)
  local session = uow.session
  local sid = rawget(session, "_sid")
  local new, new_set, modified = session._new, session._new_set, session._modified
  local syncs, linked = uow.syncs, uow.linked
  local seen = {}             -- walked or queued states that are not new
  local changed = {}          -- persistent states whose changes are gathered
  local carry = {}            -- states of the session that only carry the cascade on
  local joined, left = {}, {}
  local reached = 0
  -- members whose whole walk joined_all did: their mapper's only
  -- relationship is the many-to-one back, now pointing at the parent whose
  -- link they got (reference_changes would add nothing, the cascade reach
  -- a new object)
  local done = {}

  -- A state a save-update cascade reaches that is not new (callers test
  -- new_set and seen first): one not in the session is attached (new: it
  -- joins session._new, walked in its turn)
  local function reach(cst)
    seen[cst] = true
    reached = reached + 1
    if rawget(cst, "_sid") ~= sid then
      if session_of(cst) ~= nil then
        exc.raise(exc.InvalidRequestError, format("Object %s is already attached to another Session",
          tostring(cst.obj)), nil, 6)
      end
      session:_attach(cst)
      if new_set[cst] then return end
      -- a detached object again persistent: changed, its changes too
      if modified[cst] then changed[#changed + 1] = cst; return end
    end
    carry[#carry + 1] = cst
  end
  local function reach_any(cst)
    if not new_set[cst] and not seen[cst] then reach(cst) end
  end

  -- A new object's one-to-many collection whose snapshot is empty (every
  -- member joined) and whose members have a many-to-one back: each
  -- member's key follows st, its many-to-one points at st, it is handed
  -- to the cascade.
  local function joined_all(st, rel, list, cascade)
    local rev, obj = rel.reverse, st.obj
    local revkey = rev.key
    local only = rev.reverse == rel and not rev.post_update
    for j = 1, #list do
      local cst = list[j][STATE]
      if syncs[cst] == nil then
        syncs[cst] = {st, rel}
        if not new_set[cst] then linked[#linked + 1] = cst end
        if only then
          local rels = cst.mapper.relationships
          if rels[1] == rev and rels[2] == nil then done[cst] = true end
        end
      else
        add_sync(uow, cst, st, rel)
      end
      -- (objects have no __eq: ~= compares identities)
      if rawget(cst.dict, revkey) ~= obj then
        set_rel_value(cst, rev, obj)
        cst.loaded[revkey] = true
      end
      if cascade and not new_set[cst] and not seen[cst] then reach(cst) end
    end
  end

  -- st's loaded relationships, once: the changes (when gather) and the
  -- cascade (a one-to-many collection hands its members on from its own
  -- loop). isnew: st is one of session._new (no key).
  local function walk(st, gather, isnew)
    local rels = st.mapper.relationships
    if rels[1] == nil then return end
    local loaded = rawget(st, "loaded")
    if not loaded then return end
    for r = 1, #rels do
      local rel = rels[r]
      local key = rel.key
      if loaded[key] then
        local cascade = rel.cascade["save-update"]
        local changes = gather and not rel.viewonly
        if rel.uselist then
          local c = rawget(st, "colls")
          local v = c and c[key]
          if changes then
            if rel.secondary then
              secondary_changes(uow, st, rel, v)
            elseif rel.direction == ONETOMANY then
              local rev = rel.reverse
              local snaps = isnew and rev and not rev.uselist and not rel.post_update and rawget(st, "snap")
              local snap = snaps and snaps[key]
              if snaps and (snap == nil or snap[1] == nil) then
                if v ~= nil then joined_all(st, rel, v, cascade) end
              else
                collection_changes(uow, st, rel, v, joined, left, cascade and reach_any or nil)
              end
              cascade = false
            end
          end
          if cascade and v ~= nil then
            for j = 1, #v do
              local cst = v[j][STATE]
              if not new_set[cst] and not seen[cst] then reach(cst) end
            end
          end
        else
          local v = rawget(st.dict, key)
          if changes then
            if rel.secondary then
              secondary_changes(uow, st, rel, v)
            elseif rel.direction == ONETOMANY then
              collection_changes(uow, st, rel, v, joined, left, cascade and reach_any or nil)
              cascade = false
            else
              -- a many-to-one whose target's collection linked st already
              -- (reference_changes would find add_sync's first test true)
              local l = v ~= nil and not rel.post_update and syncs[st]
              local rev = rel.reverse
              if not (l and rev and l[1] == v[STATE] and l[2] == rev) then
                reference_changes(uow, st, rel, v)
              end
            end
          end
          if cascade and v ~= nil then
            local tst = v[STATE]
            if not new_set[tst] and not seen[tst] then reach(tst) end
          end
        end
      end
    end
  end

  -- the persistent starts (new ones are new_set's)
  for st in pairs(modified) do
    if not new_set[st] and not seen[st] and rawget(st, "_sid") == sid then
      seen[st] = true
      changed[#changed + 1] = st
    end
  end
  for i = 1, #colls do
    local st = colls[i]
    if not new_set[st] and not seen[st] and rawget(st, "_sid") == sid then
      seen[st] = true
      changed[#changed + 1] = st
    end
  end
  local ia, ib, ic = 1, 1, 1
  while true do
    local st = new[ia]
    if st ~= nil then
      ia = ia + 1
      -- (a new state always has its _sid: read plainly)
      if st._sid == sid and not done[st] then walk(st, true, true) end
    else
      st = changed[ib]
      if st ~= nil then
        ib = ib + 1
        if not done[st] then walk(st, true, false) end
      else
        st = carry[ic]
        if st == nil then break end
        ic = ic + 1
        if not done[st] then walk(st, false, false) end
      end
    end
  end
  for _, l in ipairs(left) do member_left(uow, l[1], l[2], l[3], joined) end
  counters.walked, counters.reached, counters.walks = ia - 1 + ib - 1 + ic - 1, reached, 1
end

--- The flush's first step: the save-update cascade, the delete cascades
--- and what changed in relationships, into uow. colls: the session's
--- states whose collections changed (orm/unitofwork.lua). Without a
--- pending delete, one walk (fused); with one, the three passes in turn
--- (a delete cascade must be known before the changes are gathered).
---@param uow table
---@param colls table
function M.gather(uow, colls)
  if #uow.session._deleted == 0 then return fused(uow, colls) end
  cascade_saves(uow.session, colls)
  cascade_deletes(uow)
  relationship_changes(uow)
  counters.walks = 3
end

M.new_uow = new_uow
M.cascade_saves = cascade_saves
M.cascade_deletes = cascade_deletes
M.relationship_changes = relationship_changes

return M
