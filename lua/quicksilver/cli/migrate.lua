--- cli/migrate.lua: `quicksilver migrate <command>` over quicksilver.migrate.
--- Options anywhere: -d DIR (default migrations), --url URL, -m MESSAGE.
local exc = require("quicksilver.exc")
local migrate = require("quicksilver.migrate")

local M = {}

local USAGE = [[
usage: quicksilver migrate <command> [-d DIR] [--url URL]
  init [DIR]                 a migrations folder: DIR/env.lua and DIR/versions/
  revision -m MSG [--head R] a new revision file on the head (or R); --autogenerate
                             fills it from the models (env.lua target_metadata)
  check                      fail when the models and the database differ
  merge -m MSG [R1 R2 ...]   a revision merging heads (all current heads by default)
  upgrade [REV]              to REV (default head; heads, an id, +N)
  upgrade --sql [FROM:]TO    print the SQL instead of running it (from base by default)
  downgrade --sql FROM:TO    the same for a downgrade
  downgrade REV              to REV (an id, -N, base)
  current                    the revisions the database is at
  heads                      the heads of the revision graph
  history [-r FROM:TO]       the revisions, newest first (a range of them)
  branches                   the revisions more than one builds on
  stamp REV                  record REV as current without running anything
]]

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
    elseif a == "--autogenerate" then o.autogenerate = true; i = i + 1
    elseif a == "-r" or a == "--rev-range" then o.range = args[i + 1]; i = i + 2
    elseif a:match("^%-%-?%a") then
      -- a flag this command does not know (a misspelt --autogenerate) is refused, not taken as a revision
      exc.raise(exc.ArgumentError, "quicksilver migrate: unknown option '" .. a .. "'", nil, 2)
    else o.pos[#o.pos + 1] = a; i = i + 1 end
  end
  return o
end

--- Runs a migrate command; returns the text to print and the exit code.
function M.main(args)
  local o = parse(args)
  local cmd = table.remove(o.pos, 1)
  local cfg = {dir = o.dir, url = o.url}
  local out = {}
  local function say(s) out[#out + 1] = s end
  if cmd == "init" then
    local dir = migrate.init(o.pos[1] or o.dir or "migrations", o.url)
    say("created " .. dir .. "/env.lua and " .. dir .. "/versions/")
  elseif cmd == "revision" then
    local id, path = migrate.revision(cfg, {message = o.message, head = o.head, autogenerate = o.autogenerate})
    say(id .. "  " .. path)
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
    migrate.check(cfg)
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

return M
