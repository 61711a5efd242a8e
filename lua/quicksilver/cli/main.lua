--- cli/main.lua: the `quicksilver` command (bin/quicksilver calls M.run):
--- version, help, inspect, models, diagram, migrate. Every command's output
--- and error pass through M.run, so each error is one message on stderr
--- ending with a newline, and the exit codes are M.EXIT's.
local M = {}

local format = string.format

--- The exit codes, stable for scripts and CI (the same as `quicksilver migrate`'s).
M.EXIT = {ok = 0, error = 1, usage = 2, differences = 3}

M.USAGE = [[
usage: quicksilver <command> [options]

commands:
  version              print the quicksilver version
  inspect URL          print the database's schema: tables, columns, keys, indexes, views
  models URL           print Lua model definitions (orm) for the database's tables
                       (the migrations' version table left out: --include-version-table)
  diagram SOURCE       an entity-relationship diagram of a database URL or a models.lua
                       (Graphviz DOT; -o schema.svg|png|pdf runs Graphviz's dot, -o x.dot writes DOT)
  migrate CMD ...      versioned schema changes: init, revision, merge, upgrade, downgrade,
                       current, heads, history, stamp (quicksilver migrate help)
  help                 this text

options (inspect, models, diagram):
  --progress | --quiet       progress lines on stderr (default: only when stderr is a terminal)
  -d DIR                     the migrations folder whose env.lua names the version table (migrations)
  --version-table NAME       the version table's name (default: env.lua's, else alembic_version)
  --include-version-table    keep the version table (models, diagram)
  -o FILE                    diagram: write to FILE (.svg, .png, .pdf through dot; .dot as text)
  --schema NAME              diagram: reflect the tables of this schema
  --include T1,T2            diagram: only these tables
  --exclude T1,T2            diagram: not these tables
exit codes: 0 ok, 1 error, 2 usage, 3 migrate check found differences
environment: QS_DATABASE_URL (migrate's URL when --url is not given)
]]

-- An error with an exit code: raised by the commands, caught by M.run.
local function fail(msg, code) error({cli_message = msg, cli_code = code}, 0) end

-- The options of inspect, models and diagram.
local VALUED = {["-o"] = "output", ["--output"] = "output", ["-d"] = "dir", ["--directory"] = "dir",
  ["--version-table"] = "version_table", ["--schema"] = "schema", ["--include"] = "include",
  ["--exclude"] = "exclude"}
local FLAGS = {["--progress"] = "progress", ["--quiet"] = "quiet", ["-q"] = "quiet",
  ["--include-version-table"] = "include_version_table"}
local ALLOWED = {
  inspect = {progress = true, quiet = true},
  models = {progress = true, quiet = true, dir = true, version_table = true, include_version_table = true},
  diagram = {progress = true, quiet = true, dir = true, version_table = true, include_version_table = true,
    output = true, schema = true, include = true, exclude = true},
}

local function parse(cmd, args)
  local o = {pos = {}}
  local i = 1
  while i <= #args do
    local a = args[i]
    local key = VALUED[a] or FLAGS[a]
    if key then
      if not ALLOWED[cmd][key] then fail(format("quicksilver %s: the option %s is not one of %s's", cmd, a, cmd), 2) end
      if VALUED[a] then
        if args[i + 1] == nil then fail(format("quicksilver %s: %s needs a value", cmd, a), 2) end
        -- --include a --include b adds up
        if (key == "include" or key == "exclude") and o[key] then o[key] = o[key] .. "," .. args[i + 1]
        else o[key] = args[i + 1] end
        i = i + 2
      else
        o[key] = true
        i = i + 1
      end
    elseif a:match("^%-%-?%a") then
      fail(format("quicksilver %s: unknown option '%s'", cmd, a), 2)
    else
      o.pos[#o.pos + 1] = a
      i = i + 1
    end
  end
  if o.progress and o.quiet then fail(format("quicksilver %s: --progress and --quiet exclude each other", cmd), 2) end
  return o
end

-- The progress reporter the options ask for.
local function reporter(o)
  return require("quicksilver.cli.progress").new(o.progress and "on" or (o.quiet and "off" or nil))
end

--- The version table's name: --version-table, else the migrations env.lua's
--- (-d DIR, default migrations) when there is one, else alembic_version.
---@param o table parsed options {version_table?, dir?}
---@return string
function M.version_table(o)
  if o.version_table then return o.version_table end
  local dir = o.dir or "migrations"
  local f = io.open(dir .. "/env.lua", "r")
  if not f then
    if o.dir then fail(format("quicksilver: -d %s: there is no %s/env.lua", o.dir, o.dir), 1) end
    return "alembic_version"
  end
  f:close()
  local migrate = require("quicksilver.migrate")
  local ok, c = pcall(migrate.config, {dir = dir})
  if not ok then
    -- an env.lua that cannot load here (its models elsewhere) names no table: say so, go on
    io.stderr:write(format("quicksilver: %s/env.lua does not load (%s); taking the version table " ..
      "as alembic_version\n", dir, tostring(type(c) == "table" and c.message or c)))
    return "alembic_version"
  end
  return c.version_table
end

local function need_source(cmd, o, what)
  local src = o.pos[1]
  if not src then fail(format("quicksilver %s: give %s\n%s", cmd, what, M.USAGE), 2) end
  if o.pos[2] then fail(format("quicksilver %s: one %s only, got also '%s'", cmd, what, o.pos[2]), 2) end
  return src
end

local commands = {}

function commands.version()
  local ok, qs = pcall(require, "quicksilver")
  if not ok then fail("quicksilver: cannot load the library: " .. tostring(qs), 1) end
  return format("quicksilver %s (%s)\n", qs.version, _VERSION)
end

function commands.help() return M.USAGE end

function commands.inspect(args)
  local o = parse("inspect", args)
  local url = need_source("inspect", o, "the database URL")
  return require("quicksilver.cli.schema").inspect(url, {progress = reporter(o):sink()})
end

function commands.models(args)
  local o = parse("models", args)
  local url = need_source("models", o, "the database URL")
  return require("quicksilver.cli.schema").models(url, {progress = reporter(o):sink(),
    version_table = M.version_table(o), include_version_table = o.include_version_table})
end

function commands.diagram(args)
  local o = parse("diagram", args)
  local src = need_source("diagram", o, "a database URL or a models file")
  local diagram = require("quicksilver.cli.diagram")
  local progress = reporter(o)
  local md = diagram.metadata(src, {schema = o.schema, progress = progress:sink()})
  local dot = diagram.dot(md, {include = o.include, exclude = o.exclude,
    version_table = M.version_table(o), include_version_table = o.include_version_table})
  if not o.output then return dot end
  local t0 = require("quicksilver.core").now()
  diagram.write(dot, o.output)
  progress:line(format("diagram %s: %d tables, %.3f s", o.output, #diagram.tables(md, {include = o.include,
    exclude = o.exclude, version_table = M.version_table(o), include_version_table = o.include_version_table}),
    require("quicksilver.core").now() - t0))
  return ""
end

function commands.migrate(args)
  local ok, cli = pcall(require, "quicksilver.cli.migrate")
  if not ok then fail("quicksilver migrate: " .. tostring(cli), 1) end
  local out, code = cli.run(args)
  if code ~= 0 then error({cli_message = out, cli_code = code}, 0) end
  return out
end

-- An error's text: an exc error's message, or what tostring gives.
local function message_of(err)
  if type(err) == "table" then
    if err.cli_message then return err.cli_message end
    if err.message then return tostring(err.message) end
  end
  return tostring(err)
end

--- Runs the command line args (arg[1] the command); returns the text, the
--- exit code (M.EXIT) and the stream it belongs on ("stdout" for 0, else
--- "stderr"). The text ends with a newline unless it is empty.
---@param args string[]
---@return string, integer, string
function M.run(args)
  local cmd = args[1]
  local rest = {}
  for i = 2, #args do rest[#rest + 1] = args[i] end
  local out, code
  if cmd == nil then
    out, code = M.USAGE, M.EXIT.usage
  else
    local name = ({["--help"] = "help", ["-h"] = "help", ["--version"] = "version"})[cmd] or cmd
    local fn = commands[name]
    if not fn then
      out, code = format("quicksilver: unknown command '%s'\n%s", tostring(cmd), M.USAGE), M.EXIT.usage
    else
      local ok, res = pcall(fn, rest)
      if ok then
        out, code = res, M.EXIT.ok
      else
        code = type(res) == "table" and res.cli_code or M.EXIT.error
        out = message_of(res)
        if not (type(res) == "table" and res.cli_message) then out = format("quicksilver %s: %s", name, out) end
      end
    end
  end
  if out ~= "" and out:sub(-1) ~= "\n" then out = out .. "\n" end
  return out, code, code == M.EXIT.ok and "stdout" or "stderr"
end

return M
