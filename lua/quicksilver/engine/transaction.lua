--- engine/transaction.lua: RootTransaction and NestedTransaction (SAVEPOINT),
--- as SQLAlchemy 2.0's engine/base.py has them. A transaction object is a
--- handle on the connection's state; the connection does the talking.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

---@class quicksilver.Transaction
---@field connection quicksilver.Connection
---@field is_active boolean
---@field nested boolean
local Transaction = util.class("Transaction")
M.Transaction = Transaction

local function check_active(self, what)
  if not self.is_active then
    exc.raise(exc.InvalidRequestError, string.format(
      "Transaction:%s: this transaction is inactive (already committed or rolled back)", what), nil, 3)
  end
end

--- Commits (a root transaction) or releases the savepoint (a nested one).
function Transaction:commit()
  check_active(self, "commit")
  self.connection:_end_transaction(self, true)
end

--- Rolls back to where the transaction (or savepoint) began.
function Transaction:rollback()
  if not self.is_active then return end   -- as SQLAlchemy: a no-op when ended
  self.connection:_end_transaction(self, false)
end

--- Rolls back if still active; never raises for an ended transaction.
function Transaction:close()
  if self.is_active then self.connection:_end_transaction(self, false) end
end

--- `local tx <close> = conn:begin()`: commit on normal exit, roll back when
--- the scope exits by error.
function Transaction.__close(self, err)
  if not self.is_active then return end
  if err ~= nil then
    self.connection:_end_transaction(self, false)
  else
    self.connection:_end_transaction(self, true)
  end
end

Transaction.__tostring = function(self)
  return string.format("<%s %s>", self.nested and "NestedTransaction" or "RootTransaction",
    self.is_active and "active" or "inactive")
end

---@return quicksilver.Transaction
function M.root(conn)
  return setmetatable({connection = conn, is_active = true, nested = false}, Transaction)
end

---@return quicksilver.Transaction
function M.nested(conn, name, parent)
  return setmetatable({connection = conn, is_active = true, nested = true, name = name,
    parent = parent}, Transaction)
end

return M
