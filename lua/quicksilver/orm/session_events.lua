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
  after_begin = true, after_commit = true, after_rollback = true, after_soft_rollback = true}

--- Fires event `name` of session with (session, ...) when anything listens.
---@param session table
---@param name string
function M.fire(session, name, ...)
  if event.has(session, name) then event.fire(session, name, session, ...) end
end

return M
