--- engine/row_batches.lua: the ORM's batched read of a SELECT (RowBatches),
--- made by base.lua's Connection:_execute with raw "batches".
local exc = require("quicksilver.exc")

local M = {}

local EMPTY = {}

-- The ORM's batched read (Connection:_execute with raw "batches"): the
-- cursor's rows handed out a batch at a time as the driver gives them, no
-- Result made (a Result per small select costs a fifth of its time). It is
-- one of the connection's streams like a streaming Result: it ends when
-- the connection goes back (a later fetch raises ResourceClosedError), and
-- its rest is read into memory when another statement needs the driver
-- connection.
local RowBatches = {}
RowBatches.__index = RowBatches
M.RowBatches = RowBatches

--- The next up to n rows ({} once read to the end).
function RowBatches:fetch(n)
  local rest = self._rest
  if rest then
    self._rest = nil
    return rest
  end
  local src = self._src
  if src == nil then
    if self._why then
      exc.raise(exc.ResourceClosedError, "This result is closed: " .. self._why .. " before its " ..
        "rows were read", nil, 2)
    end
    return EMPTY
  end
  local rows = src:fetch(n)
  if #rows < n then self:close() end
  return rows
end

--- Ends the read: the cursor goes, the connection forgets the stream.
function RowBatches:close()
  local src = self._src
  if src then
    self._src = nil
    local streams = self._conn._streams
    if streams then streams[self] = nil end
    src:close()
  end
end

function RowBatches:_end_stream(why)
  if self._src then
    self:close()
    self._why = why
  end
end

function RowBatches:_buffer_rest()
  local src = self._src
  if src then
    local more = src:fetch(nil)
    local rest = self._rest
    if rest then
      -- the batch read ahead, then the rest after it
      local n = #rest
      for i = 1, #more do rest[n + i] = more[i] end
    else
      rest = more
    end
    self._rest = rest
    self:close()
  end
end

return M
