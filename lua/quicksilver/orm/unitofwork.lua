--- orm/unitofwork.lua: the flush (SQLAlchemy's orm/unitofwork.py and
--- persistence.py).
---
--- 1. Gather: cascade save-update from everything in the session, cascade
---    deletes (loading collections unless passive_deletes), compare loaded
---    collections with their snapshots (members added get their foreign key,
---    members removed are orphans: deleted or their key nulled), and note
---    which foreign keys follow from which objects. Without a pending
---    delete, the cascade and the comparison are one walk.
--- 2. Plan (C: core.toposort): tables in dependency order (parents before
---    children), rows of a self-referential table in levels; changed columns
---    per object (C: core.changed_keys).
--- 3. Write, in the session's transaction: INSERTs per table in batches of
---    equal column sets (one executemany, or multi-row INSERT ... RETURNING
---    for new keys), UPDATEs of changed columns only (batched the same way,
---    rowcounts checked), then DELETEs children first.
--- 4. Only when every statement succeeded do objects change state; on any
---    error their attributes are put back, the transaction is rolled back,
---    and the session raises PendingRollbackError until rollback().
---
--- This module runs the steps (run, flush) and answers what changed
--- (has_changes, the autoflush's collection check); the steps themselves are
--- orm/flush_gather.lua (1), flush_plan.lua (2), flush_write.lua (3, and the
--- undo list) and flush_finish.lua (4), with flush_common.lua's helpers.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local event = require("quicksilver.event")
local fire = require("quicksilver.orm.session_events").fire
local autoflush = require("quicksilver.orm.autoflush")

local pairs, ipairs, next, tostring, error =
  pairs, ipairs, next, tostring, error
local changed_keys = require("quicksilver.orm.attributes").changed_keys
local changed_collections = core.changed_collections
local collections_changed = autoflush.collections_changed

local M = {}
local flush_common = require("quicksilver.orm.flush_common")
local column_keys = flush_common.column_keys
local flush_gather = require("quicksilver.orm.flush_gather")
local session_binds = require("quicksilver.orm.session_binds")
local new_uow = flush_gather.new_uow
local gather = flush_gather.gather
local flush_plan = require("quicksilver.orm.flush_plan")
local rows_to_write = flush_plan.rows_to_write
local tables_to_write = flush_plan.tables_to_write
local row_levels = flush_plan.row_levels
local delete_batches = flush_plan.delete_batches
local flush_write = require("quicksilver.orm.flush_write")
local do_inserts = flush_write.do_inserts
local do_updates = flush_write.do_updates
local do_deletes = flush_write.do_deletes
local do_assoc_deletes = flush_write.do_assoc_deletes
local do_assoc_inserts = flush_write.do_assoc_inserts
local do_post_updates = flush_write.do_post_updates
local do_post_nulls = flush_write.do_post_nulls
local undo = flush_write.undo
local reset_listening = flush_write.reset_listening
local flush_finish = require("quicksilver.orm.flush_finish")
local collections = require("quicksilver.orm.collections")
local collections_tracked = collections.tracked
local snapshot = flush_finish.snapshot
local finish = flush_finish.finish

-- A mapper's tracked collections for core.changed_collections: {key,
-- uselist} of each relationship the flush diffs (orm/autoflush.lua).
local collection_rels = autoflush.collection_rels

-- The session's states whose loaded collections changed since the last
-- flush (those of states it let go of are forgotten here). In C: every
-- autoflush asks it over every loaded collection.
local function changed_collection_states(session)
  return changed_collections(session._collections, session, collection_rels)
end

--- Whether st has something to write (columns, collections, many-to-ones).
function M.has_changes(st)
  if not st.key then return st.session ~= nil end
  if #changed_keys(st, column_keys(st.mapper)) > 0 then return true end
  if st.m2o_set and next(st.m2o_set) then return true end
  return #changed_collections({[st] = true}, st.session, collection_rels) > 0
end

-- Nothing to write: no row to insert, update or delete, no association
-- row, no post_update.
local function nothing_to_write(uow)
  return #uow.inserts == 0 and #uow.updates == 0 and #uow.deletes == 0 and #uow.assoc_add == 0 and
    #uow.assoc_del == 0 and #uow.post_order == 0
end

-- Every statement of the flush, in the plan's order: per table INSERTs
-- (in levels) and UPDATEs, then post_update keys, association rows, the
-- post_update NULLs, and DELETEs children's tables first.
-- conn: the connection, or (a session with binds) the router for the
-- writes that span tables, with conn_for(table) giving each table's.
local function write_all(uow, conn, order, by_table, done, conn_for)
  for _, t in ipairs(order) do
    local b = by_table[t]
    local c = conn_for and conn_for(t) or conn
    for _, batch in ipairs(row_levels(b.ins, uow, t)) do do_inserts(uow, c, t, batch, done) end
    if #b.upd > 0 then do_updates(uow, c, t, b.upd, done) end
  end
  do_post_updates(uow, conn, done)
  do_assoc_deletes(uow, conn)
  do_assoc_inserts(uow, conn)
  do_post_nulls(uow, conn)
  for i = #order, 1, -1 do
    local t = order[i]
    local rows = by_table[t].del
    if #rows > 0 then
      local c = conn_for and conn_for(t) or conn
      for _, batch in ipairs(delete_batches(t, rows)) do do_deletes(c, t, batch) end
    end
  end
end

local function run(session, colls)
  local uow = new_uow(session)
  uow.colls = colls
  reset_listening()
  if event.has(session, "before_flush") then
    fire(session, "before_flush", uow, nil)
    -- a listener may have changed collections
    colls = changed_collection_states(session)
    uow.colls = colls
  end
  gather(uow, colls)
  uow.inserts, uow.updates = rows_to_write(session, uow, colls)
  if nothing_to_write(uow) then
    for st in pairs(session._modified) do snapshot(st) end
    session._modified = {}
    return
  end
  local order, by_table = tables_to_write(uow)
  local conn_for, router = session_binds.flush_routing(session, order, by_table, uow)
  local conn = router or session:_connection()
  local done = {inserted = {}, updated = {}, expire = {}, posted = {}, changed = {}, new = {}, rekeyed = {}}
  local ok, err = pcall(write_all, uow, conn, order, by_table, done, conn_for)
  if ok then ok, err = pcall(fire, session, "after_flush", uow) end
  if not ok then
    undo(uow)
    error(err, 0)
  end
  finish(uow, done)
  fire(session, "after_flush_postexec", uow)
end

--- Functions fn(session, st) that find changes made inside values (a JSON
--- table edited in place: quicksilver.ext.mutable) and record them as
--- changes (attributes.modified) before the flush decides whether anything
--- changed; st: look at that one state only (orm/history.lua), nil: at the
--- whole session. Empty unless such a module is used: one length test per flush.
M.change_finders = {}
local change_finders = M.change_finders

--- Session:flush(): writes everything pending, in one transaction. rel:
--- the relationship a lazy load is about to read, for its autoflush: when
--- the session's only changes can be in loaded collections, those that
--- cannot write what rel reads are not looked at (orm/autoflush.lua).
function M.flush(session, rel)
  if session._flushing then
    exc.raise(exc.InvalidRequestError, "Session is already flushing", nil, 3)
  end
  if session._pending_rollback then
    exc.raise(exc.PendingRollbackError, "This Session's transaction has been rolled back due to a " ..
      "previous exception during flush. To begin a new transaction with this Session, first issue " ..
      "Session:rollback(). Original exception was: " .. tostring(session._pending_rollback),
      {orig_error = session._pending_rollback}, 3)
  end
  -- sets and keyed dicts: their lists take the program's changes first
  if next(collections_tracked) ~= nil then collections.sync_session(session) end
  for i = 1, #change_finders do change_finders[i](session, nil) end
  local clean = #session._new == 0 and #session._deleted == 0 and next(session._modified) == nil
  -- nothing but collections to look at: a comparison that stops at the
  -- first change, over the collections rel could see (all without rel)
  if clean and not collections_changed(session, rel) then return end
  local colls = changed_collection_states(session)
  if clean and #colls == 0 then return end
  -- autobegin = false and no transaction: refused before the flush starts,
  -- so the session is not left waiting for a rollback (SQLAlchemy raises
  -- it from _autobegin_t, outside the flush's rollback too)
  if session.autobegin == false and #session._stack == 0 then
    exc.raise(exc.InvalidRequestError, "Autobegin is disabled on this Session; call Session:begin()", nil, 3)
  end
  session._flushing = true
  local ok, err = pcall(run, session, colls)
  session._flushing = false
  if not ok then
    session:_flush_failed(err)
    error(err, 0)
  end
end

return M

