--- spec/support/reference_check.lua: docs/reference/*.md against the public
--- names of spec/support/api_names.lua (spec/reference_spec.lua).
---
--- Run from the repository root to list the gaps:
---   lua5.4 spec/support/reference_check.lua [AREA]
--- prints, per reference file, the public names without a row, the rows
--- naming nothing public, and the `###` sections without a runnable
--- ```lua block; exit status 1 when there is any.
---
--- A row is a Markdown table line whose first cell holds a name in
--- backticks: | `Session:execute(stmt, [params])` | meaning |. Its key is
--- the text in the backticks before the first `(` (the whole text when
--- there is none), trimmed. CLI rows: `quicksilver migrate upgrade [REV]`
--- keys its command words (`quicksilver migrate upgrade`); a row with
--- long options (`quicksilver migrate -d, --directory DIR`) keys each of
--- them instead (`quicksilver migrate --directory`; `quicksilver --x` for
--- the options of the other commands).
local M = {}

local format = string.format

local function script_root()
  local src = debug.getinfo(1, "S").source
  return src:match("^@(.*)/spec/support/[^/]*$") or "."
end

local api_names
local function names_module()
  if not api_names then
    local ok, mod = pcall(require, "spec.support.api_names")
    if not ok then
      ok, mod = pcall(dofile, script_root() .. "/spec/support/api_names.lua")
    end
    assert(ok, mod)
    api_names = mod
  end
  return api_names
end


-- The keys of a CLI cell (see the header).
local function cli_keys(cell)
  local words, keys, opts = {}, {}, {}
  for tok in cell:gmatch("[^%s,]+") do
    if tok:match("^%-%-?[%a]") then
      opts[#opts + 1] = tok:match("^(%-%-?[%w_-]+)")
    elseif #opts == 0 and tok:match("^[%l][%w_-]*$") then
      words[#words + 1] = tok
    end
  end
  local cmd = table.concat(words, " ")
  local long = {}
  for _, o in ipairs(opts) do
    if o:sub(1, 2) == "--" then long[#long + 1] = o end
  end
  if #long == 0 then
    if #words > 0 then keys[#keys + 1] = cmd end
    return keys
  end
  -- an option row: options belong to `quicksilver migrate` (or to
  -- `quicksilver`) whichever subcommand the row shows them with
  for _, o in ipairs(long) do
    keys[#keys + 1] = (cmd:match("^(quicksilver migrate)") or "quicksilver") .. " " .. o
  end
  return keys
end
M.cli_keys = cli_keys

--- The rows and sections of a reference file's text:
--- rows = {{key =, line =}}, sections = {{title =, line =, runnable = bool}}.
function M.parse(text, area)
  local rows, sections = {}, {}
  local section, fence, n = nil, nil, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local f, info = line:match("^%s*(```+)%s*(.-)%s*$")
    if fence then
      if f and #f >= #fence and info == "" then fence = nil end
    elseif f then
      fence = f
      local lang, rest = info:match("^(%S*)%s*(.-)$")
      if section and lang == "lua" and not rest:find("fragment", 1, true) then section.runnable = true end
    elseif line:match("^##") then
      section = nil
      local title = line:match("^###%s+(.-)%s*$")
      if title and not line:match("^####") then
        section = {title = title, line = n, runnable = false}
        sections[#sections + 1] = section
      end
    elseif line:match("^%s*|") then
      local cell = line:match("^%s*|([^|]*)|")
      local code = cell and cell:match("`([^`]+)`")
      if code and not cell:match("^%s*:?%-%-%-") then
        if area == "CLI" then
          for _, k in ipairs(cli_keys(code)) do rows[#rows + 1] = {key = k, line = n} end
        else
          local key = (code:match("^([^(]*)") or code):match("^%s*(.-)%s*$")
          rows[#rows + 1] = {key = key, line = n}
        end
      end
    end
  end
  return rows, sections
end

--- The check of one area: {file, exists, missing = {names}, unknown =
--- {{key, line}}, bare = {{title, line}}} (bare: sections without a runnable block).
function M.check(area, root)
  root = root or names_module().ROOT
  local file = "docs/reference/" .. area .. ".md"
  local out = {area = area, file = file, missing = {}, unknown = {}, bare = {}}
  local text = names_module().read_file(root .. "/" .. file)
  out.exists = text ~= nil
  local index = names_module().index()
  local have = {}
  if text then
    local rows, sections = M.parse(text, area)
    for _, r in ipairs(rows) do
      have[r.key] = true
      if not index[r.key] then out.unknown[#out.unknown + 1] = r end
    end
    for _, s in ipairs(sections) do
      if not s.runnable then out.bare[#out.bare + 1] = s end
    end
  end
  for _, name in ipairs(names_module().names(area)) do
    if not have[name] then out.missing[#out.missing + 1] = name end
  end
  return out
end

--- A report of one area's check, "" when it passes.
function M.report(r)
  local lines = {}
  if not r.exists then
    lines[#lines + 1] = format("%s does not exist: %d public names of %s to document", r.file, #r.missing, r.area)
  elseif #r.missing > 0 then
    lines[#lines + 1] = format("%s has no row for %d public name(s):", r.file, #r.missing)
  end
  if r.exists then
    for _, name in ipairs(r.missing) do lines[#lines + 1] = "  " .. name end
  end
  for _, u in ipairs(r.unknown) do
    lines[#lines + 1] = format("%s:%d: the row `%s` names nothing public (spec/support/api_names.lua lists the names)",
      r.file, u.line, u.key)
  end
  for _, s in ipairs(r.bare) do
    lines[#lines + 1] = format("%s:%d: the section \"%s\" has no runnable ```lua block", r.file, s.line, s.title)
  end
  return table.concat(lines, "\n")
end

-- Run as a program
if arg and arg[0] and arg[0]:match("reference_check%.lua$") and ... ~= "spec.support.reference_check" then
  local want = arg[1] and arg[1]:upper()
  local bad = false
  for _, area in ipairs(names_module().AREAS) do
    if want == nil or want == area then
      local rep = M.report(M.check(area))
      if rep ~= "" then
        bad = true
        io.write(rep, "\n")
      else
        io.write("docs/reference/", area, ".md: complete\n")
      end
    end
  end
  os.exit(bad and 1 or 0)
end

return M
