--- quicksilver: SQLAlchemy 2.0 for Lua on a C core. This facade re-exports
--- the Core: `local qs = require("quicksilver")`.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local event = require("quicksilver.event")
local elements = require("quicksilver.sql.elements")
local url = require("quicksilver.engine.url")
local create = require("quicksilver.engine.create")
local base = require("quicksilver.engine.base")
local result = require("quicksilver.engine.result")

local M = {}

-- The C layer builds its error objects through qs.exc and binds qs.null as
-- SQL NULL; both are registered once, here.
core.set_error_factory(exc.new)
core.set_null(elements.null)

M.version = core.version
M.exc = exc
M.event = event

M.create_engine = create.create_engine
M.make_url = url.make_url
M.Engine = base.Engine
M.Connection = base.Connection
M.Result = result.Result

M.text = elements.text
M.null = elements.null

return M
