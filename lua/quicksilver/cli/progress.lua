--- cli/progress.lua: the progress lines of long command-line work (a
--- migration's bulk_insert of many rows, inspect of a large schema): a line
--- per step on stderr with its counts and elapsed time, shown when stderr is
--- a terminal and quiet otherwise (a CI log, a pipe); --progress forces them,
--- --quiet silences them.
local now = require("quicksilver.core").now

local M = {}

--- How many progress lines were written (specs count them).
M.counters = {lines = 0}

-- Whether stderr is a terminal. Plain Lua has no isatty and the C module has
-- none either; `test -t 2` asks the shell, whose stderr is ours (TERM alone
-- says nothing: it is set in a terminal whose output is piped).
local tty
function M.stderr_is_terminal()
  if tty == nil then
    local r = os.execute("test -t 2")
    -- Lua 5.1/LuaJIT return the status (0), 5.2+ return true
    tty = (r == true or r == 0)
  end
  return tty
end

---@class quicksilver.cli.Progress
---@field enabled boolean
local Progress = {}
Progress.__index = Progress

--- A reporter. mode: "on" (--progress), "off" (--quiet) or nil (on when
--- stderr is a terminal). stream defaults to io.stderr.
---@param mode? string
---@param stream? file*
---@return quicksilver.cli.Progress
function M.new(mode, stream)
  local enabled
  if mode == "on" then enabled = true
  elseif mode == "off" then enabled = false
  else enabled = M.stderr_is_terminal() end
  return setmetatable({enabled = enabled, stream = stream or io.stderr, t0 = now()}, Progress)
end

--- Writes one line (a newline added), when enabled.
---@param line string
function Progress:line(line)
  if not self.enabled then return end
  M.counters.lines = M.counters.lines + 1
  self.stream:write(line, "\n")
  if self.stream.flush then self.stream:flush() end
end

--- The line writer as a plain function (nil when disabled), for the
--- libraries' `progress` options.
---@return fun(line: string)|nil
function Progress:sink()
  if not self.enabled then return nil end
  return function(line) self:line(line) end
end

--- Seconds since t (or since the reporter was made).
---@param t? number
---@return number
function Progress:elapsed(t) return now() - (t or self.t0) end

--- "%.1f s" / "%.3f s": the elapsed time as the lines print it.
---@param seconds number
---@return string
function M.seconds(seconds)
  if seconds >= 10 then return string.format("%.1f s", seconds) end
  return string.format("%.3f s", seconds)
end

return M
