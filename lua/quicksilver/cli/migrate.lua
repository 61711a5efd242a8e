--- cli/migrate.lua: `quicksilver migrate <command>` over quicksilver.migrate.
--- Options anywhere: -d DIR (default migrations), --url URL, -m MESSAGE.
--- Exit codes (M.EXIT): 0 done, 1 an error (the database, a revision, the
--- configuration), 2 a usage error (an unknown command or option, a
--- missing argument), 3 `check` found differences.
local exc = require("quicksilver.exc")
local migrate = require("quicksilver.migrate")

local M = {}

--- The exit codes, stable for CI.
M.EXIT = {ok = 0, error = 1, usage = 2, differences = 3}

local USAGE = [[
usage: quicksilver migrate <command> [-d DIR] [--url URL]
  init [DIR]                 a migrations folder: DIR/env.lua and DIR/versions/
  revision -m MSG [--head R] a new revision file on the head (or R: an id, label@head, base);
                             --autogenerate fills it from the models (env.lua target_metadata);
                             --branch-label L labels it
  check                      exit 3 listing the differences when the models and the database differ
  merge -m MSG [R1 R2 ...]   a revision merging heads (all current heads by default)
  upgrade [REV]              to REV (default head; heads, an id, +N, REV+N, label@head, label@+N)
  upgrade --sql [FROM:]TO    print the SQL instead of running it (from base by default)
  upgrade --dry-run [REV]    print the SQL upgrade would run from where the database is (as --sql CUR:REV)
  downgrade --sql FROM:TO    the same for a downgrade
  downgrade --dry-run REV    the same for a downgrade from where the database is
  downgrade REV              to REV (an id, -N, REV-N, label@-N, label@base, base)
  current                    the revisions the database is at
  heads                      the heads of the revision graph
  history [-r FROM:TO]       the revisions, newest first (a range of them)
  branches                   the revisions more than one builds on
  stamp REV                  record REV as current without running anything
  --progress | --quiet       progress lines on stderr (bulk_insert: rows, seconds); default: only
                             when stderr is a terminal
exit codes: 0 ok, 1 error, 2 usage, 3 check found differences
]]

-- A usage error: raised as an ArgumentError marked so M.run exits with 2.
local function usage_error(msg)
  local ok, err = pcall(exc.raise, exc.ArgumentError, msg)
  assert(not ok)
  if type(err) == "table" then err.usage = true end
  error(err, 0)
end

local function parse(args)
  local o = {pos = {}}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "-d" or a == "--directory" then o.dir = args[i + 1]; i = i + 2
    elseif a == "--url" then o.url = args[i + 1]; i = i + 2
    elseif a == "-m" or a == "--message" then o.message = args[i + 1]; i = i + 2
    elseif a == "--head" then o.head = args[i + 1]; i = i + 2
    elseif a == "--sql" then o.sql = true; i = i + 1
    elseif a == "--dry-run" then o.dry_run = true; i = i + 1
    elseif a == "--branch-label" then o.branch_label = args[i + 1]; i = i + 2
    elseif a == "--autogenerate" then o.autogenerate = true; i = i + 1
    elseif a == "-r" or a == "--rev-range" then o.range = args[i + 1]; i = i + 2
    elseif a == "--help" or a == "-h" then o.pos[#o.pos + 1] = "help"; i = i + 1
    elseif a == "--progress" then o.progress = "on"; i = i + 1
    elseif a == "--quiet" or a == "-q" then o.progress = "off"; i = i + 1
    elseif a:match("^%-%-?%a") then
      -- a flag this command does not know (a misspelt --autogenerate) is refused, not taken as a revision
      usage_error("quicksilver migrate: unknown option '" .. a .. "'")
    else o.pos[#o.pos + 1] = a; i = i + 1 end
    if i > #args + 1 then usage_error("quicksilver migrate: " .. a .. " needs a value") end
  end
  if o.sql and o.dry_run then usage_error("quicksilver migrate: --sql and --dry-run exclude each other") end
  return o
end

--- Runs a migrate command; returns the text to print and the exit code.
function M.main(args)
  local o = parse(args)
  local cmd = table.remove(o.pos, 1)
  -- progress lines (op.bulk_insert's rows and seconds) go to stderr as they happen
  local cfg = {dir = o.dir, url = o.url, progress = require("quicksilver.cli.progress").new(o.progress):sink()}
  local out = {}
  local function say(s) out[#out + 1] = s end
  if cmd == "help" then
    return USAGE, 0
  elseif cmd == "init" then
    local dir = migrate.init(o.pos[1] or o.dir or "migrations", o.url)
    say("created " .. dir .. "/env.lua and " .. dir .. "/versions/")
  elseif cmd == "revision" then
    local id, path = migrate.revision(cfg, {message = o.message, head = o.head, autogenerate = o.autogenerate,
      branch_label = o.branch_label})
    say(id and (id .. "  " .. path) or "no revision written (process_revision_directives left it empty)")
  elseif cmd == "merge" then
    local heads = #o.pos > 0 and o.pos or nil
    local id, path = migrate.merge(cfg, heads, o.message)
    say(id .. "  " .. path)
  elseif cmd == "upgrade" and o.sql then
    -- [FROM:]TO, as Alembic's offline range
    local from, to = (o.pos[1] or "head"):match("^([^:]+):(.+)$")
    return migrate.upgrade_sql(cfg, to or o.pos[1] or "head", from), 0
  elseif cmd == "downgrade" and o.sql then
    local from, to = (o.pos[1] or ""):match("^([^:]+):(.+)$")
    if not to then return USAGE, 2 end
    return migrate.downgrade_sql(cfg, to, from), 0
  elseif cmd == "upgrade" and o.dry_run then
    return migrate.upgrade_dry_run(cfg, o.pos[1] or "head"), 0
  elseif cmd == "downgrade" and o.dry_run then
    if not o.pos[1] then return USAGE, 2 end
    return migrate.downgrade_dry_run(cfg, o.pos[1]), 0
  elseif cmd == "upgrade" then
    local done = migrate.upgrade(cfg, o.pos[1] or "head", say)
    if #done == 0 then say("already at " .. (o.pos[1] or "head")) end
  elseif cmd == "downgrade" then
    if not o.pos[1] then return USAGE, 2 end
    local done = migrate.downgrade(cfg, o.pos[1], say)
    if #done == 0 then say("nothing to downgrade") end
  elseif cmd == "current" then
    local cur = migrate.current(cfg)
    say(#cur > 0 and table.concat(cur, "\n") or "(base)")
  elseif cmd == "heads" then
    say(table.concat(migrate.heads(cfg), "\n"))
  elseif cmd == "history" then
    for _, r in ipairs(migrate.history(cfg, o.range)) do
      local down = type(r.down_revision) == "table" and ("(" .. table.concat(r.down_revision, ", ") .. ")")
        or (r.down_revision or "<base>")
      say(string.format("%s -> %s, %s", down, r.revision, r.message or ""))
    end
  elseif cmd == "branches" then
    for _, b in ipairs(migrate.branches(cfg)) do
      say(string.format("%s -> %s", b.revision, table.concat(b.children, ", ")))
    end
  elseif cmd == "check" then
    local lines = migrate.differences(cfg)
    if #lines > 0 then
      return "the database does not match the models:\n  " .. table.concat(lines, "\n  ") .. "\n", M.EXIT.differences
    end
    say("no differences between the models and the database")
  elseif cmd == "stamp" then
    if not o.pos[1] then return USAGE, 2 end
    local t = migrate.stamp(cfg, o.pos[1])
    say("stamped " .. (#t > 0 and table.concat(t, ", ") or "base"))
  else
    return USAGE, 2
  end
  return table.concat(out, "\n") .. "\n", 0
end

--- Runs a migrate command as the command line does: returns the text, the
--- exit code (M.EXIT) and the stream it belongs on ("stdout" for 0,
--- "stderr" otherwise). An error becomes its message, ending with a newline.
---@param args string[]
---@return string, integer, string
function M.run(args)
  local ok, out, code = pcall(M.main, args)
  if not ok then
    local msg = type(out) == "table" and out.message or tostring(out)
    code = (type(out) == "table" and out.usage) and M.EXIT.usage or M.EXIT.error
    -- "migrate: ..." from the library is not said twice ("quicksilver migrate: migrate: ...")
    msg = tostring(msg):gsub("^migrate: ", "")
    out = msg:find("^quicksilver migrate: ") and msg or ("quicksilver migrate: " .. msg)
    if code == M.EXIT.usage then out = out .. "\n" .. USAGE end
  end
  if out:sub(-1) ~= "\n" then out = out .. "\n" end
  return out, code, code == 0 and "stdout" or "stderr"
end

return M
