--- spec/support/doc_blocks.lua: the fenced code blocks of README.md, docs/
--- and examples/ as programs, and their runs (spec/docs_spec.lua).
---
--- The contract (docs/reference/README.md, "The examples", has the reader's
--- version):
--- - ```lua: a complete program, run in its own process (the interpreter
---   the specs run in: Lua 5.4, or LuaJIT in the LuaJIT pass) with a fresh
---   temporary directory as its working directory and quicksilver (only) on
---   its path; it must exit 0.
--- - ```lua continued: appended to the program of the previous runnable lua
---   block of the same file; the chain runs as one program.
--- - ```lua postgresql / ```lua mysql: run only in the pass against that
---   test server (QS_BACKEND=postgresql / mysql, with QS_PG_URL /
---   QS_MYSQL_URL), every "postgresql://..." / "mysql://..." string literal
---   replaced by the server's URL, on a database emptied first. Elsewhere
---   they are reported as not run (pending). Combinable with `continued`.
--- - ```lua fragment: compiled (load()), not run.
--- - `print(expr)  --> text` at the start of a line: what this print writes
---   must be exactly `text` (the program stops with a message otherwise).
--- - Any other language (```sh, ```text, ...) is not run; a fence without
---   a language, or a lua block with an unknown word, is an error.
local M = {}

local format, concat = string.format, table.concat

M.FLAGS = {continued = true, postgresql = true, mysql = true, fragment = true}

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end
M.read_file = read_file

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- The documentation files under root: README.md, docs/**/*.md,
--- examples/**/*.md (paths relative to root), sorted.
---@param root string
---@return string[]
function M.files(root)
  local out = {}
  if read_file(root .. "/README.md") then out[1] = "README.md" end
  local p = io.popen("cd " .. shell_quote(root) .. " && find docs examples -name '*.md' 2>/dev/null | LC_ALL=C sort")
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

--- The fenced blocks of a Markdown text: {path, line (of the opening
--- fence), info, lang, flags, code (indentation of the fence removed),
--- nlines, first (the first non-blank line), error (a contract breach)}.
---@param text string
---@param path string
---@return table[]
function M.parse(text, path)
  local blocks = {}
  local lines = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  if lines[#lines] == "" then lines[#lines] = nil end
  local i = 1
  while i <= #lines do
    local indent, fence, info = lines[i]:match("^(%s*)(```+)%s*(.-)%s*$")
    if fence and not info:find("`", 1, true) then
      local start = i
      local body = {}
      local closed = false
      i = i + 1
      while i <= #lines do
        local ind2, f2 = lines[i]:match("^(%s*)(```+)%s*$")
        if f2 and #f2 >= #fence then closed = true; break end
        local l = lines[i]
        if #indent > 0 and l:sub(1, #indent):match("^%s*$") then l = l:sub(#indent + 1) end
        body[#body + 1] = l
        i = i + 1
      end
      local b = {path = path, line = start, info = info, code = concat(body, "\n") .. "\n",
        nlines = #body, flags = {}}
      local words = {}
      for w in info:gmatch("[^%s,]+") do words[#words + 1] = w end
      b.lang = words[1] or ""
      for _, l in ipairs(body) do
        if l:match("%S") then b.first = l:match("^%s*(.-)%s*$"); break end
      end
      b.first = b.first or "(empty block)"
      if not closed then
        b.error = "the fence is never closed"
      elseif b.lang == "" then
        b.error = "the fence names no language: write ```lua, ```sh, ```text, ```sql ..."
      elseif b.lang == "lua" then
        for k = 2, #words do
          if M.FLAGS[words[k]] then b.flags[words[k]] = true
          else b.error = format("unknown word '%s' after ```lua (known: continued, postgresql, mysql, fragment)", words[k]) end
        end
        if b.flags.fragment and (b.flags.continued or b.flags.postgresql or b.flags.mysql) then
          b.error = "a fragment is only compiled: it takes no other word"
        end
        if b.flags.postgresql and b.flags.mysql then
          b.error = "a block runs against one server: postgresql or mysql, not both"
        end
      end
      blocks[#blocks + 1] = b
    end
    i = i + 1
  end
  return blocks
end

--- `print(expr)  --> text` lines made into checks: the line calls
--- __qs_doc_check("text", expr) (defined by the runner) on the same line.
---@param code string
---@return string code, integer checks
function M.rewrite_checks(code)
  local n = 0
  local out = {}
  for l in code:gmatch("([^\n]*)\n") do
    local ind, args, want = l:match("^(%s*)print(%b())%s*%-%->%s?(.-)%s*$")
    if ind then
      n = n + 1
      l = ind .. "__qs_doc_check(" .. format("%q", want) .. (args == "()" and ")" or (", " .. args:sub(2)))
    end
    out[#out + 1] = l
  end
  return concat(out, "\n") .. "\n", n
end

--- The programs of a file's blocks: each runnable lua block with the
--- continued blocks after it, each fragment alone. {path, line, first,
--- server ("postgresql"|"mysql"|nil), fragment, parts = {{block, from}},
--- source, error}. Blocks with a contract error become programs that fail.
---@param blocks table[]
---@return table[]
function M.programs(blocks)
  local progs, head = {}, nil
  for _, b in ipairs(blocks) do
    if b.error then
      progs[#progs + 1] = {path = b.path, line = b.line, first = b.first, error = b.error, parts = {}}
    elseif b.lang == "lua" then
      if b.flags.fragment then
        progs[#progs + 1] = {path = b.path, line = b.line, first = b.first, fragment = true,
          parts = {{block = b, from = 1}}}
      elseif b.flags.continued then
        local bserver = b.flags.postgresql and "postgresql" or b.flags.mysql and "mysql" or nil
        if not head then
          progs[#progs + 1] = {path = b.path, line = b.line, first = b.first, parts = {},
            error = "```lua continued with no runnable lua block before it in this file"}
        elseif bserver and bserver ~= head.server then
          progs[#progs + 1] = {path = b.path, line = b.line, first = b.first, parts = {},
            error = format("this continued block says %s, the block it continues (line %d) %s",
              bserver, head.line, head.server or "SQLite")}
        else
          head.parts[#head.parts + 1] = {block = b, from = 0}
        end
      else
        head = {path = b.path, line = b.line, first = b.first,
          server = b.flags.postgresql and "postgresql" or b.flags.mysql and "mysql" or nil,
          parts = {{block = b, from = 0}}}
        progs[#progs + 1] = head
      end
    end
  end
  for _, p in ipairs(progs) do
    local src, line = {}, 1
    for _, part in ipairs(p.parts) do
      part.from = line
      src[#src + 1] = part.block.code
      line = line + part.block.nlines
    end
    p.source = concat(src)
  end
  return progs
end

--- The Markdown position of a program line: "path:line".
function M.position(prog, pline)
  for k = #prog.parts, 1, -1 do
    local part = prog.parts[k]
    if pline >= part.from then
      return format("%s:%d", part.block.path, part.block.line + (pline - part.from) + 1)
    end
  end
  return format("%s:%d", prog.path, prog.line)
end

--- A program's source with the server URLs replaced by url.
---@param src string
---@param server string "postgresql"|"mysql"
---@param url string
function M.replace_urls(src, server, url)
  local schemes = server == "postgresql" and {"postgresql", "postgres"} or {"mysql", "mariadb"}
  for _, s in ipairs(schemes) do
    for _, q in ipairs({'"', "'"}) do
      src = src:gsub(q .. s .. "[%w+]*://[^" .. q .. "\n]*" .. q, function() return format("%q", url) end)
    end
  end
  return src
end

-- Defined before the program runs (lua -e): what a `print(x)  --> text`
-- line calls.
local PRELUDE = [[
function __qs_doc_check(want, ...)
  local t = {}
  for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
  local got = table.concat(t, "\t")
  print(got)
  if got ~= want then
    io.stdout:flush()
    local info = debug.getinfo(2, "Sl")
    io.stderr:write(string.format("%s:%d: print wrote [%s], the block says --> [%s]\n",
      info.short_src, info.currentline, got, want))
    os.exit(1)
  end
end]]

--- Compiles a fragment: nil, or the error with its Markdown position.
function M.compile(prog)
  local loadstring = loadstring or load   -- luacheck: ignore
  local _, err = loadstring(prog.source, "=doc_block.lua")
  if err then
    return (tostring(err):gsub("doc_block%.lua:(%d+):", function(l) return M.position(prog, tonumber(l)) .. ":" end))
  end
  return nil
end

-- A program's directory: the source (checks rewritten, server URLs
-- replaced) and run.sh, which writes the output to `out` and the exit
-- status to `rc`.
-- Programs' directories go to /dev/shm where there is one (their SQLite
-- files then touch no disk).
local TMP
local function make_dir()
  if TMP == nil then
    local ok = os.execute("test -d /dev/shm -a -w /dev/shm")
    TMP = (ok == true or ok == 0) and "/dev/shm" or (os.getenv("TMPDIR") or "/tmp")
  end
  local p = io.popen("mktemp -d " .. shell_quote(TMP .. "/qs-doc-XXXXXX"))
  local dir = p:read("*l")
  p:close()
  assert(dir and dir ~= "", "cannot make a directory in " .. TMP)
  return dir
end

local function prepare(prog, opts)
  local dir = make_dir()
  local src = M.rewrite_checks(prog.source)
  if prog.server then src = M.replace_urls(src, prog.server, opts.url) end
  local f = assert(io.open(dir .. "/doc_block.lua", "wb"))
  f:write(src)
  f:close()
  f = assert(io.open(dir .. "/run.sh", "wb"))
  f:write(format("cd %s && LUA_PATH=%s LUA_CPATH=%s timeout %d %s -e %s doc_block.lua > out 2>&1 </dev/null; echo $? > rc\n",
    shell_quote(dir), shell_quote(opts.lua_path), shell_quote(opts.lua_cpath), opts.timeout or 120,
    shell_quote(opts.interpreter), shell_quote(PRELUDE)))
  f:close()
  return dir
end

-- ok, output (positions rewritten to the Markdown lines), exit status; the
-- directory removed.
local function collect(prog, dir)
  local out = read_file(dir .. "/out") or ""
  local rc = tonumber((read_file(dir .. "/rc") or ""):match("%d+"))
  os.execute("rm -rf " .. shell_quote(dir))
  out = out:gsub("doc_block%.lua:(%d+):", function(l) return M.position(prog, tonumber(l)) .. ":" end)
  return rc == 0, out, rc
end

--- Runs a program in its own process: ok, output (positions rewritten to
--- the Markdown lines), exit status. opts: interpreter, lua_path,
--- lua_cpath, url (for a server program), timeout (seconds).
function M.run(prog, opts)
  local dir = prepare(prog, opts)
  os.execute("sh " .. shell_quote(dir .. "/run.sh"))
  return collect(prog, dir)
end

--- Runs programs, `jobs` processes at a time (they share nothing: each has
--- its own directory): a list of {ok, output, rc} in the programs' order.
function M.run_all(progs, opts, jobs)
  local dirs = {}
  for i, prog in ipairs(progs) do dirs[i] = prepare(prog, opts) end
  if #dirs > 0 then
    local list = os.tmpname()
    local f = assert(io.open(list, "wb"))
    for _, d in ipairs(dirs) do f:write(d, "/run.sh\n") end
    f:close()
    os.execute(format("xargs -P %d -n 1 sh < %s", jobs or 2, shell_quote(list)))
    os.remove(list)
  end
  local results = {}
  for i, prog in ipairs(progs) do results[i] = {collect(prog, dirs[i])} end
  return results
end

return M
