--- stream.lua: ORM results of a streamed select (yield_per / stream_results).
---
--- A select of mapped classes executed with yield_per reads its rows from a
--- streaming Core result a batch at a time: each batch becomes objects
--- (through the identity map) and gets its after-load strategies (selectin
--- and the like) when the ORM Result asks for it, so memory holds one batch
--- and the objects the caller keeps, as SQLAlchemy's yield_per does. Joined
--- eager loads need every row of an object together and are not streamed
--- (session.lua buffers those).
local loading = require("quicksilver.orm.loading")
local strategies = require("quicksilver.orm.strategies")
local result_mod = require("quicksilver.engine.result")

local M = {}

-- The source a streaming ORM Result reads from (Result's cursor protocol).
local Source = {}
Source.__index = Source

function Source:fetch(n)
  local raw = self.res:fetchmany(n)
  local rows, keys, row_of = loading.rows(self.session, raw, self.ents, self.colkeys, self.nout)
  strategies.apply(self.session, self.stmt, rows, keys, row_of ~= nil)
  return rows
end

function Source:close()
  self.res:close()
end

--- The ORM Result over the streaming Core result res of stmt (its entities
--- ents, nout columns of its own before any the ORM added).
---@param session table
---@param res quicksilver.Result a streaming Core result
---@param stmt table
---@param ents table
---@param nout integer
---@return quicksilver.Result
function M.result(session, res, stmt, ents, nout)
  local colkeys = res:keys()
  local _, keys, row_of = loading.rows(session, {}, ents, colkeys, nout)
  local src = setmetatable({session = session, res = res, stmt = stmt, ents = ents,
    colkeys = colkeys, nout = nout}, Source)
  return result_mod.Result.new({keys = keys, cursor = src, returns_rows = true,
    yield_per = res._yield, row_of = row_of})
end

return M
