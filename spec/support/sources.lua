--- spec/support/sources.lua: reading the project's own sources, for the
--- specs that check rules on them (layering, dialect questions).
local M = {}

--- The files a find command lists (run from the repository root), sorted.
---@param cmd string e.g. "find lua/quicksilver -name '*.lua'"
---@return string[]
function M.find(cmd)
  local list = {}
  local p = io.popen(cmd .. " | sort")
  for f in p:lines() do list[#list + 1] = f end
  p:close()
  return list
end

--- The text of a file.
---@param path string
---@return string
function M.read(path)
  local f = assert(io.open(path))
  local s = f:read("*a")
  f:close()
  return s
end

--- The module name of a file under lua/ (lua/quicksilver/sql/init.lua ->
--- quicksilver.sql).
---@param path string
---@return string
function M.modname(path)
  return (path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", "."))
end

return M
