--- engine/result.lua: Result, ScalarResult and MappingResult (SQLAlchemy's
--- engine/result.py), over rows buffered in one list or fetched from a
--- streaming cursor a chunk at a time.
---
--- States, as SQLAlchemy: a result that has handed out its last row is
--- soft-closed (fetches return nothing); close() hard-closes it (fetches
--- raise ResourceClosedError), and so do first(), one(), one_or_none() and
--- the scalar forms (they read one row and discard the rest); a result of a
--- statement without rows raises on every fetch.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local setmetatable, type, select, tostring, pairs = setmetatable, type, select, tostring, pairs
local raise = exc.raise

---------------------------------------------------------------------------------------------
-- the row source: a buffer over a list or a cursor
---------------------------------------------------------------------------------------------

---@class quicksilver.Result
---@field rowcount integer
---@field inserted_primary_key table|nil
---@field lastrowid integer|nil
---@field returns_rows boolean
---@field closed boolean
local Result = util.class("Result")
M.Result = Result

--- opts: keys, returns_rows, rows (buffered list) or cursor (fetch(n), close())
--- with yield_per, rowcount, inserted_primary_key, lastrowid, on_close.
---@param opts table
---@return quicksilver.Result
function Result.new(opts)
  local rows = opts.rows
  local self = setmetatable({
    _keys = opts.keys or {},
    returns_rows = opts.returns_rows ~= false and (opts.returns_rows or (opts.keys and #opts.keys > 0)) or false,
    rowcount = opts.rowcount or -1,
    inserted_primary_key = opts.inserted_primary_key,
    lastrowid = opts.lastrowid,
    closed = false,
    _soft = false,
    _buf = rows or {},
    _pos = 1,
    _n = rows and (rows.n or #rows) or 0,
    _cursor = opts.cursor,
    _yield = opts.yield_per or 1000,
    _on_close = opts.on_close,
    _require_unique = opts.require_unique,
  }, Result)
  -- rows given as bare values (the ORM's objects of a one-entity select):
  -- a Row is made only when a row is asked for, scalars() hands them as they are
  if opts.row_of then
    self._transform = opts.row_of
    self._bare = true
  end
  return self
end

--- A buffered Result of rows the ORM made (Session:execute of entities):
--- what Result.new makes of {keys, rows, returns_rows = true,
--- require_unique, row_of}, without the options table.
---@return quicksilver.Result
function Result._of_rows(keys, rows, row_of, require_unique)
  return setmetatable({_keys = keys or {}, returns_rows = true, rowcount = -1, closed = false, _soft = false,
    _buf = rows, _pos = 1, _n = rows.n or #rows, _yield = 1000, _require_unique = require_unique,
    _transform = row_of, _bare = row_of and true or nil}, Result)
end

local function release(self)
  local cur = self._cursor
  if cur then
    -- closed first: a cursor converting a row of this result refuses
    -- (InvalidRequestError), and then the result is left as it was
    cur:close()
    self._cursor = nil
  end
  local cb = self._on_close
  if cb then
    self._on_close = nil
    cb()
  end
end

-- Soft close: no rows left; resources go back at once.
local function soft_close(self)
  if not self._soft then
    release(self)
    self._soft = true
    self._buf, self._pos, self._n = {}, 1, 0
  end
end

local function check_rows(self)
  if not self.returns_rows then
    raise(exc.ResourceClosedError,
      "This result object does not return rows. It has been closed automatically.", nil, 4)
  end
  if self.closed then
    local by = self._closed_by
    raise(exc.ResourceClosedError, self._closed_why and ("This result object is closed: " ..
      self._closed_why .. " before its rows were read (a streaming result reads from its " ..
      "connection; read it first, or do not stream)") or
      by and ("This result object is closed. " .. by .. " closed it: first(), one(), " ..
      "one_or_none() and the scalar forms read one row and close the result (take all() or " ..
      "iter() to read more than one; execute the statement again to read it again)") or
      "This result object is closed.", nil, 4)
  end
end

-- What first() and one() leave: closed, as close() does, saying which did it.
local function hard_close(self, by)
  soft_close(self)
  self.closed = true
  self._closed_by = by .. "()"
end

-- Refills the buffer from the cursor; false when nothing is left.
local function fill(self)
  local cur = self._cursor
  if not cur then return false end
  local want = self._yield
  local rows = cur:fetch(want)
  local n = #rows
  if n < want then
    self._cursor = nil
    cur:close()
  end
  self._buf, self._pos, self._n = rows, 1, n
  return n > 0
end

-- The next raw row or nil (soft-closing at the end).
local function next_row(self)
  local pos = self._pos
  if pos > self._n then
    if self._soft or not fill(self) then
      soft_close(self)
      return nil
    end
    pos = 1
  end
  self._pos = pos + 1
  return self._buf[pos]
end

-- Up to n rows (all when n is nil) as a list with field n.
local function take(self, n)
  local out, k = {}, 0
  while n == nil or k < n do
    local pos, last = self._pos, self._n
    if pos > last then
      if self._soft or not fill(self) then
        if n == nil or k < n then soft_close(self) end
        break
      end
      pos, last = 1, self._n
    end
    local buf = self._buf
    local stop = last
    if n ~= nil and stop - pos + 1 > n - k then stop = pos + (n - k) - 1 end
    for i = pos, stop do
      k = k + 1
      out[k] = buf[i]
    end
    self._pos = stop + 1
  end
  out.n = k
  return out
end

-- The filters (scalars, mappings, unique, columns) turn raw rows into what
-- the caller sees. A Result with no filter hands rows out as they are.
local function apply(self, row)
  local f = self._transform
  if f then return f(row) end
  return row
end

local function unique_key(self, v)
  local kf = self._unique_fn
  if kf then return kf(v) end
  local tv = type(v)
  -- objects (ORM instances) are unique by identity; no field is read from
  -- them (an instance's __index may be costly or load something)
  if tv == "table" and getmetatable(v) ~= nil then return v end
  if tv == "userdata" then   -- a Row: by its values
    local t = v:_tuple()
    local parts = {}
    for i = 1, t.n do
      local x = t[i]
      parts[i] = type(x) .. ":" .. tostring(x)
    end
    return table.concat(parts, "\0")
  end
  if tv == "table" then   -- a mapping: by its keys and values
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    local parts = {}
    for i, k in ipairs(keys) do parts[i] = k .. "=" .. type(v[k]) .. ":" .. tostring(v[k]) end
    return table.concat(parts, "\0")
  end
  return v == nil and "\0nil" or v
end

-- A result whose rows repeat objects (the ORM's joined eager loads of
-- collections) must be made unique before rows are taken.
local function need_unique(self)
  if self._require_unique and not self._seen then
    raise(exc.InvalidRequestError, "The unique() method must be invoked on this Result, as it " ..
      "contains results that include joined eager loads against collections", nil, 5)
  end
end

-- Next filtered value; second return false when exhausted.
local function next_value(self)
  need_unique(self)
  while true do
    local row = next_row(self)
    if row == nil then return nil, false end
    local v = apply(self, row)
    local seen = self._seen
    if not seen then return v, true end
    local key = unique_key(self, v)
    if not seen[key] then
      seen[key] = true
      return v, true
    end
  end
end

local function take_values(self, n)
  need_unique(self)
  if not self._transform and not self._seen then return take(self, n) end
  local out, k = {}, 0
  while n == nil or k < n do
    local v, ok = next_value(self)
    if not ok then break end
    k = k + 1
    out[k] = v
  end
  out.n = k
  return out
end

--- The column names.
---@return string[]
function Result:keys()
  local out = {}
  for i = 1, #self._keys do out[i] = self._keys[i] end
  return out
end

--- All remaining rows (a list with field n); the result is then exhausted.
function Result:all()
  check_rows(self)
  local out = take_values(self, nil)
  soft_close(self)
  return out
end
Result.fetchall = Result.all

--- The next row, or nil when there are no more.
function Result:fetchone()
  check_rows(self)
  local v = next_value(self)
  return v
end

--- Up to n rows (default 1) as a list with field n.
---@param n? integer
function Result:fetchmany(n)
  check_rows(self)
  n = n or 1
  if n <= 0 then return {n = 0} end
  return take_values(self, n)
end

--- The first row or nil; the rest is discarded and the result closed
--- (a later read raises ResourceClosedError, as SQLAlchemy's).
local function first_of(self, by)
  check_rows(self)
  local v = next_value(self)
  hard_close(self, by)
  return v
end

function Result:first() return first_of(self, "first") end

-- by: the public method, for the closed error's message
local function only(self, required, by)
  check_rows(self)
  local v, ok = next_value(self)
  if not ok then
    hard_close(self, by)
    if required then raise(exc.NoResultFound, "No row was found when one was required", nil, 3) end
    return nil
  end
  local _, more = next_value(self)
  hard_close(self, by)
  if more then
    raise(exc.MultipleResultsFound, required and
      "Multiple rows were found when exactly one was required" or
      "Multiple rows were found when one or none was required", nil, 3)
  end
  return v
end

--- Exactly one row, else NoResultFound / MultipleResultsFound.
function Result:one() return only(self, true, "one") end

--- One row or nil; MultipleResultsFound when there are more.
function Result:one_or_none() return only(self, false, "one_or_none") end

local function first_col(row)
  if row == nil then return nil end
  return row[1]
end

-- scalar(), scalar_one(), scalar_one_or_none() of rows given as bare
-- values (the ORM's objects of a one-entity select): the first column is
-- the value itself, taken without making its Row (as scalars() does).

--- The first column of the first row, or nil; the rest is discarded.
function Result:scalar()
  if self._bare then
    self._transform = nil
    return first_of(self, "scalar")
  end
  return first_col(first_of(self, "scalar"))
end

--- The first column of exactly one row.
function Result:scalar_one()
  if self._bare then
    self._transform = nil
    local v = only(self, true, "scalar_one")   -- not a tail call: the error's level counts this frame
    return v
  end
  return first_col(only(self, true, "scalar_one"))
end

--- The first column of one row, or nil when there is none.
function Result:scalar_one_or_none()
  if self._bare then
    self._transform = nil
    local v = only(self, false, "scalar_one_or_none")   -- not a tail call: the error's level counts this frame
    return v
  end
  return first_col(only(self, false, "scalar_one_or_none"))
end

--- Iterator over the rows: `for row in result:iter() do`.
function Result:iter()
  check_rows(self)
  if self._transform == nil and self._unique_fn == nil and self._seen == nil and not self._require_unique then
    -- rows as they come: the generic for calls next_row(self) itself (a
    -- loop over 100,000 rows pays one call per row, not the filter chain's)
    return next_row, self
  end
  return function()
    local v = next_value(self)
    return v
  end
end

--- Iterator over lists of up to n rows.
---@param n? integer default yield_per
function Result:partitions(n)
  check_rows(self)
  n = n or self._yield
  return function()
    local part = take_values(self, n)
    if part.n == 0 then return nil end
    return part
  end
end

--- Hard close: every later fetch raises ResourceClosedError.
function Result:close()
  if self.closed then return end
  soft_close(self)
  self.closed = true
end

-- The connection a streaming result reads from went away (closed, given
-- back to the pool, invalidated): its cursor ends and every later fetch
-- raises, naming why. A result already read to its end keeps nothing to
-- lose and is left as it is.
function Result:_end_stream(why)
  if self.closed or self._soft or (self._cursor == nil and not self._stream_buffered) then return end
  self._closed_why = why
  self:close()
end

-- True while rows are left to read from a streaming source (stream_results,
-- yield_per): the ORM then makes its objects a batch at a time.
function Result:_streaming()
  return self._cursor ~= nil and not self.closed
end

-- Another statement is about to run on the connection this streaming
-- result reads from: the rows it has not handed out yet are read into its
-- buffer (the connection runs one statement at a time). It still ends with
-- its connection or transaction, as if it were streaming (_end_stream).
function Result:_buffer_rest()
  local cur = self._cursor
  if self.closed or cur == nil then return end
  local rest = cur:fetch(nil)
  local buf, n, old = {}, 0, self._buf
  for i = self._pos, self._n do
    n = n + 1
    buf[n] = old[i]
  end
  for i = 1, #rest do
    n = n + 1
    buf[n] = rest[i]
  end
  self._buf, self._pos, self._n = buf, 1, n
  self._cursor = nil
  self._stream_buffered = true
  cur:close()
end

--- Filters out rows equal to one already returned (or with an equal key fn(row)).
---@param fn? fun(row:any):any
---@return quicksilver.Result
function Result:unique(fn)
  self._seen = {}
  self._unique_fn = fn
  return self
end

local function column_index(self, c)
  if type(c) == "number" then return c end
  for i = 1, #self._keys do
    if self._keys[i] == c then return i end
  end
  raise(exc.InvalidRequestError, "Result: no column '" .. tostring(c) .. "'", nil, 4)
end

--- Restricts rows to the given columns (indexes or names), in that order.
function Result:columns(...)
  local idx, names, keymap = {}, {}, {}
  for i = 1, select("#", ...) do
    local c = select(i, ...)
    idx[i] = column_index(self, c)
    names[i] = self._keys[idx[i]] or tostring(c)
    keymap[i] = names[i]
    if keymap[names[i]] == nil then keymap[names[i]] = i end
  end
  local n = #idx
  local prev = self._transform
  local make_row = core.row
  self._transform = function(row)
    if prev then row = prev(row) end
    local v = {}
    for i = 1, n do v[i] = row[idx[i]] end
    return make_row(keymap, v, n)
  end
  self._keys = names
  return self
end

--- The result itself (rows are already tuples).
function Result:tuples() return self end

---------------------------------------------------------------------------------------------
-- ScalarResult and MappingResult: views that share the underlying result
---------------------------------------------------------------------------------------------

local function view(cls, parent, transform)
  parent._transform = transform
  return setmetatable({_r = parent}, cls)
end

---@class quicksilver.ScalarResult
local ScalarResult = util.class("ScalarResult")
M.ScalarResult = ScalarResult

--- Values of one column (default the first; an index or a name).
---@param col? integer|string
---@return quicksilver.ScalarResult
function Result:scalars(col)
  check_rows(self)
  local i = column_index(self, col or 1)
  if self._bare and i == 1 then
    self._transform = nil
    return setmetatable({_r = self}, ScalarResult)
  end
  if self._bare then
    local make = self._transform
    return view(ScalarResult, self, function(v) return make(v)[i] end)
  end
  return view(ScalarResult, self, function(row) return row[i] end)
end

---@class quicksilver.MappingResult
local MappingResult = util.class("MappingResult")
M.MappingResult = MappingResult

--- Rows as plain tables of name = value.
---@return quicksilver.MappingResult
function Result:mappings()
  check_rows(self)
  if self._bare then
    local make = self._transform
    return view(MappingResult, self, function(v) return make(v):_tomap() end)
  end
  return view(MappingResult, self, function(row) return row:_tomap() end)
end

for _, cls in ipairs({ScalarResult, MappingResult}) do
  for _, name in ipairs({"all", "fetchall", "fetchmany", "first", "one", "one_or_none",
      "partitions", "close", "keys"}) do
    cls[name] = function(self, ...) return Result[name](self._r, ...) end
  end
  cls.fetchone = function(self) return Result.fetchone(self._r) end
  cls.unique = function(self, fn)
    Result.unique(self._r, fn)
    return self
  end
end

--- Iterator yielding i, value, so a NULL (nil) does not end the loop.
function ScalarResult:iter()
  local r = self._r
  check_rows(r)
  local i = 0
  return function()
    local v, ok = next_value(r)
    if not ok then return nil end
    i = i + 1
    return i, v
  end
end

--- Iterator over the mappings.
function MappingResult:iter()
  return Result.iter(self._r)
end

return M
