--- orm/session_events.lua: the Session's events, their names and how one is
--- fired. Below both the Session (orm/session.lua) and the flush
--- (orm/unitofwork.lua), which fires before_flush / after_flush /
--- after_flush_postexec on the session it writes: the flush needs the
--- session object, never the session module.
local event = require("quicksilver.event")

local M = {}

--- The events a session (a sessionmaker, or orm.Session for every session)
--- can be listened on for.
M.NAMES = {before_flush = true, after_flush = true, after_flush_postexec = true,
  after_begin = true, after_commit = true, after_rollback = true, after_soft_rollback = true,
  do_orm_execute = true}

--- Fires event `name` of session with (session, ...) when anything listens.
---@param session table
---@param name string
function M.fire(session, name, ...)
  if event.has(session, name) then event.fire(session, name, session, ...) end
end

--- do_orm_execute (SQLAlchemy's ORMExecuteState): listeners of a
--- Session:execute get a state whose `statement` (and `parameters`,
--- `execution_options`) they may replace, e.g. with
--- `state.statement:options(orm.with_loader_criteria(...))`; is_select,
--- is_insert/is_update/is_delete, is_relationship_load (a load a loader
--- strategy runs: the criteria of the statement that started it reach it
--- already). Returns the statement, parameters and options to run.
---@param session table
---@param stmt table
---@param params table|nil
---@param opts table|nil
function M.orm_execute(session, stmt, params, opts)
  local dml = stmt._dml
  local state = {session = session, statement = stmt, parameters = params,
    execution_options = opts and opts.execution_options or {},
    is_select = dml == nil and stmt._entities ~= nil or (dml == nil and stmt.columns ~= nil),
    is_insert = dml == "insert", is_update = dml == "update", is_delete = dml == "delete",
    is_orm_statement = stmt._entities ~= nil,
    is_relationship_load = rawget(session, "_load_ctx") ~= nil}
  event.fire(session, "do_orm_execute", state)
  local eo = state.execution_options
  if eo ~= (opts and opts.execution_options or nil) and next(eo) ~= nil then
    opts = {execution_options = eo}
  end
  return state.statement, state.parameters, opts
end

return M
