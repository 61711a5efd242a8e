-- spec/support/c_scan.lua: reads C sources for the contract specs. It finds
-- the calls of named functions and their arguments (string literals,
-- nested parentheses and comments understood), so a spec can list every
-- field name a C file reads from a Lua table by the functions it reads with.
local M = {}

-- The index of the quote that closes the C string or character literal
-- opening at i (escapes skipped), or #src.
local function literal_end(src, i)
  local q, j, n = src:sub(i, i), i + 1, #src
  while j <= n and src:sub(j, j) ~= q do
    if src:sub(j, j) == "\\" then j = j + 1 end
    j = j + 1
  end
  return j
end

--- The text of path with comments blanked out (string literals kept).
---@param path string
---@return string
function M.source(path)
  local f = assert(io.open(path, "rb"))
  local src = f:read("*a")
  f:close()
  local out, i, n = {}, 1, #src
  while i <= n do
    local c, c2 = src:sub(i, i), src:sub(i, i + 1)
    if c2 == "/*" then
      local j = src:find("*/", i + 2, true) or n - 1
      out[#out + 1] = src:sub(i, j + 1):gsub("[^\n]", " ")
      i = j + 2
    elseif c2 == "//" then
      local j = src:find("\n", i, true) or n + 1
      out[#out + 1] = string.rep(" ", j - i)
      i = j
    elseif c == '"' or c == "'" then
      local j = literal_end(src, i)
      out[#out + 1] = src:sub(i, j)
      i = j + 1
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return table.concat(out)
end

-- The index just after the parenthesis that closes the one at open, and the
-- arguments in between split at top-level commas (trimmed).
local function arguments(src, open)
  local args, depth, start, i, n = {}, 0, open + 1, open, #src
  while i <= n do
    local c = src:sub(i, i)
    if c == '"' or c == "'" then
      i = literal_end(src, i)
    elseif c == "(" or c == "[" or c == "{" then
      depth = depth + 1
    elseif c == ")" or c == "]" or c == "}" then
      depth = depth - 1
      if depth == 0 then
        args[#args + 1] = src:sub(start, i - 1):match("^%s*(.-)%s*$")
        return i + 1, args
      end
    elseif c == "," and depth == 1 then
      args[#args + 1] = src:sub(start, i - 1):match("^%s*(.-)%s*$")
      start = i + 1
    end
    i = i + 1
  end
  return n + 1, args
end

--- Every call of the function fname in src: {args = {...}, line = n}. A
--- definition or declaration (an argument that declares a parameter) is left out.
---@param src string
---@param fname string
---@return table[]
function M.calls(src, fname)
  local found, init = {}, 1
  while true do
    local s, e = src:find(fname .. "%s*%(", init)
    if not s then break end
    local before = s > 1 and src:sub(s - 1, s - 1) or " "
    local close, args = arguments(src, e)
    if not before:match("[%w_]") then
      local declares = false
      for _, a in ipairs(args) do
        -- "const char *name", "qsC *c", "int idx": a parameter, not a value
        if a:match("^[%a_][%w_ ]*[%s%*]%s*[%a_][%w_]*$") and a:match("[%w_][%s%*]+[%a_][%w_]*$") then
          declares = true
        end
      end
      if not declares then
        local _, lines = src:sub(1, s):gsub("\n", "")
        found[#found + 1] = {args = args, line = lines + 1}
      end
    end
    init = close > e and e + 1 or close
  end
  return found
end

--- The string literals in a piece of C (an argument), unescaped simply.
---@param text string
---@return string[]
function M.literals(text)
  local list = {}
  for s in text:gmatch('"([^"]*)"') do list[#list + 1] = s end
  return list
end

--- Whether the piece of C is one string literal.
function M.is_literal(text)
  return text:match('^"[^"]*"$') ~= nil
end

--- The function definitions of src: {name = ..., params = {"const char *name", ...},
--- body = "...", line = n}, the body with its braces.
---@param src string
---@return table[]
function M.functions(src)
  local list, init = {}, 1
  while true do
    local s, e, name, params = src:find("\n[%a_][%w_ %*]-[%s%*]([%a_][%w_]*)%s*(%b())%s*{", init)
    if not s then break end
    local depth, i = 0, e
    while i <= #src do
      local c = src:sub(i, i)
      if c == '"' or c == "'" then
        i = literal_end(src, i)
      elseif c == "{" then depth = depth + 1
      elseif c == "}" then
        depth = depth - 1
        if depth == 0 then break end
      end
      i = i + 1
    end
    local plist = {}
    for p in params:sub(2, -2):gmatch("[^,]+") do plist[#plist + 1] = p:match("^%s*(.-)%s*$") end
    local _, lines = src:sub(1, s + 1):gsub("\n", "")
    list[#list + 1] = {name = name, params = plist, body = src:sub(e, i), line = lines + 1}
    init = i + 1
  end
  return list
end

--- The C files of a directory, sorted.
---@param dir string
---@return string[]
function M.files(dir)
  local list = {}
  local p = io.popen("ls " .. dir .. "/*.c 2>/dev/null")
  for f in p:lines() do list[#list + 1] = f end
  p:close()
  table.sort(list)
  return list
end

return M
