--- bench/support.lua: what the benchmark runners share (bench/run.lua,
--- bench/async/run.lua, bench/streaming/run.lua), loaded with dofile (the runners are scripts, not
--- modules on the package path).
local M = {}

--- Runs cmd, returns its output; a failing contender stops the benchmark
--- with its output (a number from a broken run would be worse than none).
function M.run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  local ok = p:close()
  if not ok then error("benchmark failed: " .. cmd .. "\n" .. out) end
  return out
end

--- cmd's output without trailing white space, whatever its exit status.
function M.sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local s = p:read("*a"):gsub("%s+$", "")
  p:close()
  return s
end

--- The median of list (sorted in place), or nil for none.
function M.median(list)
  if not list or #list == 0 then return nil end
  table.sort(list)
  local n = #list
  if n % 2 == 1 then return list[(n + 1) / 2] end
  return (list[n / 2] + list[n / 2 + 1]) / 2
end

--- Seconds as "0.123 s", or a dash for none.
function M.fmt(s) return s and string.format("%.3f s", s) or "—" end

--- Writes lines (a list of strings) into the Markdown file doc as the section
--- between the markers first and last (both inside lines): the section there
--- is replaced, or the new one goes at the end; the rest of the file is kept.
---@param doc string
---@param first string
---@param last string
---@param lines string[]
function M.write_section(doc, first, last, lines)
  local f = assert(io.open(doc))
  local text = f:read("*a")
  f:close()
  local section = table.concat(lines, "\n")
  local a = text:find(first, 1, true)
  local z = text:find(last, 1, true)
  if a and z then
    text = text:sub(1, a - 1) .. section .. text:sub(z + #last)
  else
    text = text:gsub("%s+$", "") .. "\n\n" .. section .. "\n"
  end
  f = assert(io.open(doc, "w"))
  f:write(text)
  f:close()
end

return M
