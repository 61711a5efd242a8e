--- quicksilver.migrate: versioned schema changes (Alembic for Lua).
---
--- cfg = {dir = "migrations", url = "...", version_table = "alembic_version"}
--- (or the folder's env.lua: {url = ..., target_metadata = ..., version_table
--- = ...}; QS_DATABASE_URL overrides the url). cfg.progress, a
--- function(line), is told of long steps (each op.bulk_insert, the
--- comparison of autogenerate and check). The version table has Alembic's
--- layout (one column, version_num VARCHAR(32) primary key, a row
--- per current head) and changes in the same transaction as each revision,
--- so on databases with transactional DDL (SQLite, PostgreSQL) a revision
--- that fails leaves nothing behind. MySQL/MariaDB commit DDL implicitly: a
--- failed revision there can leave part of its changes.
local exc = require("quicksilver.exc")
local qs = require("quicksilver")
local util = require("quicksilver.util")
local script_mod = require("quicksilver.migrate.script")
local op_mod = require("quicksilver.migrate.op")
local batch = require("quicksilver.migrate.batch")
local offline = require("quicksilver.migrate.offline")
local autogenerate = require("quicksilver.migrate.autogenerate")
local extensions = require("quicksilver.migrate.extensions")
local targets_mod = require("quicksilver.migrate.targets")

local M = {}

local format, concat = string.format, table.concat
local now = require("quicksilver.core").now

-- The configuration: cfg's fields over the folder's env.lua.
-- The settings env.lua and the cfg table may hold; a misspelt one (an
-- include_objects that would let autogenerate drop tables) is refused.
local CONFIG_OPTIONS = util.set({"dir", "url", "engine", "target_metadata", "version_table",
  "render_as_batch", "compare_type", "include_object", "include_name", "compare_server_default",
  "process_revision_directives", "progress"})
local REVISION_OPTIONS = util.set({"message", "head", "parents", "rev_id", "autogenerate",
  "upgrade_body", "downgrade_body", "branch_label"})

--- The operations of revisions: migrate.op.register(name, spec) adds one
--- (migrate/op.lua, migrate/extensions.lua).
M.op = op_mod

--- Comparators adding registered operations to autogenerate's revisions:
--- migrate.comparators.register(fn(ctx, ops)).
M.comparators = {register = extensions.register_comparator, unregister = extensions.unregister_comparator}

local function config(cfg)
  cfg = util.check_options("migrate config", cfg, CONFIG_OPTIONS, 3)
  local dir = cfg.dir or "migrations"
  local env = {}
  local f = io.open(dir .. "/env.lua", "r")
  if f then
    f:close()
    local chunk, err = loadfile(dir .. "/env.lua")
    if not chunk then exc.raise(exc.ArgumentError, "migrations env.lua does not load: " .. tostring(err), nil, 3) end
    env = chunk() or {}
    util.check_options("migrations env.lua", env, CONFIG_OPTIONS, 3)
  end
  local out = {}
  for k, v in pairs(env) do out[k] = v end
  for k, v in pairs(cfg) do out[k] = v end
  out.dir = dir
  out.url = cfg.url or os.getenv("QS_DATABASE_URL") or env.url
  out.version_table = out.version_table or "alembic_version"
  return out
end
M.config = config

local function engine_of(c)
  if c.engine then return c.engine, false end
  if not c.url then
    exc.raise(exc.ArgumentError, "migrate: no database URL (env.lua url, QS_DATABASE_URL or --url)", nil, 4)
  end
  return qs.create_engine(c.url), true
end

local function version_table(c)
  return qs.Table(c.version_table, qs.MetaData(),
    qs.Column("version_num", qs.String(32), {primary_key = true}))
end

local function read_heads(conn, vt)
  if not qs.inspect(conn):has_table(vt.name) then return {} end
  local out = {}
  for _, r in ipairs(conn:execute(qs.select(vt.c.version_num)):all()) do out[#out + 1] = r[1] end
  table.sort(out)
  return out
end

local function write_heads(conn, vt, heads)
  conn:execute(qs.delete(vt))
  if #heads > 0 then
    local rows = {}
    for i, h in ipairs(heads) do rows[i] = {version_num = h} end
    conn:execute(qs.insert(vt), rows)
  end
end

local function ensure_version_table(engine, vt)
  engine:begin(function(conn)
    if not qs.inspect(conn):has_table(vt.name) then vt:create(conn) end
  end)
end

-- The set of target revisions: "head", "heads", "base", an id, a prefix,
-- a label, or relative "+n"/"-n" from the current heads.
local function resolve(script, target, current)
  local relative = targets_mod.resolve(script, target, current)
  if relative then return relative end
  if target == nil or target == "head" then return {script:head()} end
  if target == "heads" then return script:heads() end
  if target == "base" then return {} end
  local sign, n = tostring(target):match("^([+-])(%d+)$")
  if sign then
    n = tonumber(n)
    if #current > 1 then
      exc.raise(exc.InvalidRequestError, "relative targets need one current head; there are " ..
        concat(current, ", "), nil, 4)
    end
    if sign == "+" then
      local cur = current[1]
      local applied = cur and script:ancestors({cur}) or {}
      local order = script:ordered(script:ancestors(script:heads()))
      local pos = cur
      for _ = 1, n do
        local nxt
        for _, id in ipairs(order) do
          local rev = script.revisions[id]
          local parents = rev.parents
          if not applied[id] and ((pos == nil and #parents == 0) or (pos ~= nil and parents[1] == pos)) then
            nxt = id
            break
          end
        end
        if not nxt then
          exc.raise(exc.InvalidRequestError, format("cannot go %s%d from %s: not that many revisions above it",
            sign, n, tostring(cur or "base")), nil, 4)
        end
        applied[nxt] = true
        pos = nxt
      end
      return {pos}
    else
      local pos = current[1]
      for step = 1, n do
        if pos == nil then
          exc.raise(exc.InvalidRequestError, format("cannot go -%d: not that many revisions applied", n), nil, 4)
        end
        local parents = script.revisions[pos].parents
        if #parents > 1 then
          -- undoing a merge leaves its parents as the heads
          if step == n then return parents end
          exc.raise(exc.InvalidRequestError, format("cannot go -%d: the merge %s has several parents; name " ..
            "the revision to reach", n, pos), nil, 4)
        end
        pos = parents[1]
      end
      return pos and {pos} or {}
    end
  end
  return {script:get(target).revision}
end

-- Runs the revisions in order, one transaction each, the version table
-- with them; prints a line per revision.
local function apply(engine, script, vt, ids, direction, log, applied, progress)
  for _, id in ipairs(ids) do
    local rev = script.revisions[id]
    local t0 = now()
    local ok, err = pcall(batch.run_revision, engine, function(conn)
      local op = op_mod.new(conn, {progress = progress})
      if direction == "up" then
        rev.upgrade(op)
        applied[id] = true
      else
        rev.downgrade(op)
        applied[id] = nil
      end
      write_heads(conn, vt, script:heads_of(applied))
    end)
    if not ok then
      if direction == "up" then applied[id] = nil else applied[id] = true end
      local msg = format("revision %s (%s) failed during %s: %s", id, rev.file,
        direction == "up" and "upgrade" or "downgrade", tostring(err))
      if exc.is_error(err) then
        err.message = msg
        error(err, 0)
      end
      exc.raise(exc.InvalidRequestError, msg, nil, 3)
    end
    if log then
      log(format("%s %s %s%s (%.3f s)", direction == "up" and "upgrade" or "downgrade", id,
        rev.message and (rev.message .. " ") or "", direction == "up" and
        ("-> " .. concat(script:heads_of(applied), ", ")) or "", now() - t0))
    end
  end
end

local function with_engine(cfg, fn)
  local c = config(cfg)
  local script = script_mod.load(c.dir)
  local engine, own = engine_of(c)
  local ok, res = pcall(fn, c, script, engine)
  if own then engine:dispose() end
  if not ok then error(res, 0) end
  return res
end

--- The current heads recorded in the database.
function M.current(cfg)
  return with_engine(cfg, function(c, _, engine)
    return engine:connect(function(conn) return read_heads(conn, version_table(c)) end)
  end)
end

--- The heads of the revision graph.
function M.heads(cfg)
  local c = config(cfg)
  return script_mod.load(c.dir):heads()
end

--- The revisions, newest first: {revision, down_revision, message}.
--- range "A:B" limits them to B and what it builds on down to A (either
--- side may be left out: ":B", "A:").
function M.history(cfg, range)
  local c = config(cfg)
  local script = script_mod.load(c.dir)
  local lower, upper
  if range then
    lower, upper = tostring(range):match("^([^:]*):([^:]*)$")
    if not lower then
      exc.raise(exc.ArgumentError, "history: a range is written FROM:TO (either may be empty)", nil, 2)
    end
  end
  local keep
  if upper and upper ~= "" then keep = script:ancestors({script:get(upper).revision}) end
  local below
  if lower and lower ~= "" then
    below = script:ancestors({script:get(lower).revision})
    below[script:get(lower).revision] = nil
  end
  local out = {}
  for _, rev in ipairs(script:walk()) do
    local id = rev.revision
    if (not keep or keep[id]) and not (below and below[id]) then
      out[#out + 1] = {revision = id, down_revision = rev.down_revision, message = rev.message}
    end
  end
  return out
end

--- The branch points: revisions that more than one revision builds on,
--- with those children.
function M.branches(cfg)
  local c = config(cfg)
  local script = script_mod.load(c.dir)
  local children = {}
  for _, id in ipairs(script.order) do
    for _, p in ipairs(script.revisions[id].parents) do
      children[p] = children[p] or {}
      table.insert(children[p], id)
    end
  end
  local out = {}
  for _, id in ipairs(script.order) do
    if children[id] and #children[id] > 1 then out[#out + 1] = {revision = id, children = children[id]} end
  end
  return out
end

--- Upgrades to target ("head" by default); returns the revisions applied.
function M.upgrade(cfg, target, log)
  return with_engine(cfg, function(c, script, engine)
    local vt = version_table(c)
    ensure_version_table(engine, vt)
    local current = engine:connect(function(conn) return read_heads(conn, vt) end)
    for _, h in ipairs(current) do
      if not script.revisions[h] then
        exc.raise(exc.InvalidRequestError, format("the database is at revision %s, which is not in %s/versions",
          h, c.dir), nil, 3)
      end
    end
    local targets = resolve(script, target, current)
    local applied = script:ancestors(current)
    local want = script:ancestors(targets)
    local todo = {}
    for id in pairs(want) do if not applied[id] then todo[id] = true end end
    local ids = script:ordered(todo)
    apply(engine, script, vt, ids, "up", log, applied, c.progress)
    return ids
  end)
end

--- Downgrades to target (a revision, "-n" or "base"); returns the
--- revisions undone.
function M.downgrade(cfg, target, log)
  return with_engine(cfg, function(c, script, engine)
    local vt = version_table(c)
    ensure_version_table(engine, vt)
    local current = engine:connect(function(conn) return read_heads(conn, vt) end)
    local targets = resolve(script, target, current)
    local applied = script:ancestors(current)
    local keep = script:ancestors(targets)
    local undo = {}
    for id in pairs(applied) do if not keep[id] then undo[id] = true end end
    local order = script:ordered(undo)
    local ids = {}
    for i = #order, 1, -1 do ids[#ids + 1] = order[i] end
    apply(engine, script, vt, ids, "down", log, applied, c.progress)
    return ids
  end)
end

local function dialect_name(c)
  if not c.url then
    exc.raise(exc.ArgumentError, "migrate --sql: the URL names the dialect (env.lua url or --url)", nil, 4)
  end
  local name = qs.make_url(c.url):get_backend_name()
  if name == "postgres" then name = "postgresql" end
  return name
end

--- The SQL an upgrade from `from` (base by default) to target would run,
--- without a database: values inline, version table rows included.
function M.upgrade_sql(cfg, target, from)
  local c = config(cfg)
  local script = script_mod.load(c.dir)
  local current = type(from) == "table" and from or (from and resolve(script, from, {}) or {})
  local targets = resolve(script, target, current)
  local applied = script:ancestors(current)
  local todo = {}
  for id in pairs(script:ancestors(targets)) do if not applied[id] then todo[id] = true end end
  return offline.render(script, script:ordered(todo), "up", dialect_name(c),
    c.version_table, current)
end

--- The SQL a downgrade from `from` (the heads by default) to target would run.
function M.downgrade_sql(cfg, target, from)
  local c = config(cfg)
  local script = script_mod.load(c.dir)
  local current = type(from) == "table" and from or (from and resolve(script, from, {}) or script:heads())
  local targets = resolve(script, target, current)
  local keep = script:ancestors(targets)
  local undo = {}
  for id in pairs(script:ancestors(current)) do if not keep[id] then undo[id] = true end end
  local order = script:ordered(undo)
  local ids = {}
  for i = #order, 1, -1 do ids[#ids + 1] = order[i] end
  return offline.render(script, ids, "down", dialect_name(c), c.version_table,
    current)
end

--- The SQL `upgrade` to target would run now: the offline SQL (as
--- upgrade_sql) from the revisions the database is at, read from it;
--- nothing is changed. `upgrade --dry-run T` and `upgrade --sql CUR:T`
--- print the same text.
function M.upgrade_dry_run(cfg, target)
  return M.upgrade_sql(cfg, target or "head", M.current(cfg))
end

--- The SQL `downgrade` to target would run now (see upgrade_dry_run).
function M.downgrade_dry_run(cfg, target)
  return M.downgrade_sql(cfg, target, M.current(cfg))
end

--- Records revisions as current without running them.
function M.stamp(cfg, target)
  return with_engine(cfg, function(c, script, engine)
    local vt = version_table(c)
    ensure_version_table(engine, vt)
    local targets = resolve(script, target, {})
    engine:begin(function(conn) write_heads(conn, vt, targets) end)
    return targets
  end)
end

--- A migrations folder: dir/env.lua and dir/versions/.
function M.init(dir, url)
  dir = dir or "migrations"
  if io.open(dir .. "/env.lua", "r") then
    exc.raise(exc.InvalidRequestError, dir .. "/env.lua exists already", nil, 2)
  end
  os.execute(format("mkdir -p %q", dir .. "/versions"))
  local f = assert(io.open(dir .. "/env.lua", "w"))
  f:write("-- The migrations environment: the database, and the models autogenerate compares with.\n",
    "return {\n",
    "  url = ", format("%q", url or "sqlite:///app.db"), ",  -- QS_DATABASE_URL or --url override it\n",
    "  -- target_metadata = require(\"models\").Base.metadata,\n",
    "  version_table = \"alembic_version\",\n",
    "}\n")
  f:close()
  return dir
end

-- A new revision id: 12 hex digits.
local function new_id()
  local t = {}
  local seed = tostring({}):match("0x(%x+)") or "0"
  math.randomseed(os.time() + tonumber(seed:sub(-6), 16))
  for i = 1, 12 do t[i] = format("%x", math.random(0, 15)) end
  return concat(t)
end

-- The differences between the database and target_metadata.
local function differences(c)
  local md = c.target_metadata
  if type(md) ~= "table" or not md.sorted_tables then
    exc.raise(exc.ArgumentError, "migrate: autogenerate and check need target_metadata (env.lua)", nil, 4)
  end
  local engine, own = engine_of(c)
  local t0 = now()
  local ok, diffs = pcall(engine.connect, engine, function(conn)
    return autogenerate.compare(conn, md, {version_table = c.version_table,
      compare_type = c.compare_type, include_object = c.include_object, include_name = c.include_name,
      compare_server_default = c.compare_server_default})
  end)
  if own then engine:dispose() end
  if not ok then error(diffs, 0) end
  if c.progress then
    c.progress(format("compare: %d tables of the models with the database, %d differences, %.3f s",
      #md:sorted_tables(), #diffs, now() - t0))
  end
  return diffs, engine.dialect.caps
end

--- The differences between the database and the models, a line each
--- (empty when they agree).
---@return string[]
function M.differences(cfg)
  local diffs = differences(config(cfg))
  local lines = {}
  for i, d in ipairs(diffs) do lines[i] = autogenerate.describe(d) end
  return lines
end

--- Fails (InvalidRequestError listing them) when the models and the
--- database differ; returns true when they agree.
function M.check(cfg)
  local lines = M.differences(cfg)
  if #lines > 0 then
    exc.raise(exc.InvalidRequestError, "the database does not match the models: " .. concat(lines, "; "), nil, 2)
  end
  return true
end

--- Writes a new revision file on the current head(s) (several: a merge);
--- returns its id and path. opts.autogenerate fills it from the
--- differences between the database and target_metadata.
function M.revision(cfg, opts)
  opts = util.copy(util.check_options("migrate.revision", opts, REVISION_OPTIONS, 2))
  local c = config(cfg)
  local hook = c.process_revision_directives
  if hook ~= nil and type(hook) ~= "function" then
    exc.raise(exc.ArgumentError, "migrate: process_revision_directives must be a function", nil, 2)
  end
  local up_ops, down_ops, batch = {}, {}, c.render_as_batch
  if opts.autogenerate then
    local diffs, caps = differences(c)
    -- where ALTER TABLE cannot change columns and constraints, batch_alter_table rebuilds
    batch = c.render_as_batch or not caps.alter_table
    up_ops, down_ops = autogenerate.operations(diffs)
  end
  local script = script_mod.load(c.dir)
  local parents = opts.parents
  if not parents and opts.head == "base" then parents = {}
  elseif not parents and opts.head then parents = resolve(script, opts.head, {})
  elseif not parents then parents = script:heads() end
  if not opts.parents and #parents > 1 then
    exc.raise(exc.InvalidRequestError, "multiple heads (" .. concat(parents, ", ") .. "): give one, or merge them",
      nil, 2)
  end
  -- the revision as Alembic's MigrationScript, for process_revision_directives
  local directive = {rev_id = opts.rev_id or new_id(), message = opts.message or "", head = parents[1],
    parents = parents, branch_labels = opts.branch_label and {opts.branch_label} or nil,
    upgrade_ops = up_ops, downgrade_ops = down_ops, autogenerate = opts.autogenerate and true or false}
  if hook then
    local directives = {directive}
    hook({config = c, autogenerate = directive.autogenerate}, parents, directives)
    directive = directives[1]
    -- emptied (or an autogenerated revision left without operations): no file
    if directive == nil or (directive.autogenerate and #directive.upgrade_ops == 0) then return nil, nil end
  end
  if #directive.upgrade_ops > 0 or #directive.downgrade_ops > 0 or opts.autogenerate then
    opts.upgrade_body = autogenerate.render_operations(directive.upgrade_ops, {render_as_batch = batch})
    opts.downgrade_body = autogenerate.render_operations(directive.downgrade_ops, {render_as_batch = batch})
  end
  parents = directive.parents or parents
  local id = directive.rev_id
  local message = directive.message or ""
  local slug = message:lower():gsub("[^%w]+", "_"):gsub("^_+", ""):gsub("_+$", ""):sub(1, 40)
  local path = format("%s/versions/%s_%s.lua", c.dir, id, slug ~= "" and slug or "revision")
  local down
  if #parents == 0 then down = "nil"
  elseif #parents == 1 then down = format("%q", parents[1])
  else
    local q = {}
    for i, p in ipairs(parents) do q[i] = format("%q", p) end
    down = "{" .. concat(q, ", ") .. "}"
  end
  local labels = ""
  if directive.branch_labels and #directive.branch_labels > 0 then
    local q = {}
    for i, l in ipairs(directive.branch_labels) do q[i] = format("%q", l) end
    labels = "  branch_labels = {" .. concat(q, ", ") .. "},\n"
  end
  local f = assert(io.open(path, "w"))
  f:write(format("-- %s\n", message ~= "" and message or "revision " .. id),
    "local qs = require(\"quicksilver\")\n\n",
    "return {\n",
    format("  revision = %q,\n", id),
    format("  down_revision = %s,\n", down),
    labels,
    format("  message = %q,\n", message),
    "  upgrade = function(op)\n", opts.upgrade_body or "", "  end,\n",
    "  downgrade = function(op)\n", opts.downgrade_body or "", "  end,\n",
    "}\n")
  f:close()
  local _ = qs
  return id, path
end

--- A revision merging heads (all current heads when none are named).
function M.merge(cfg, heads, message)
  local c = config(cfg)
  local script = script_mod.load(c.dir)
  heads = heads or script:heads()
  if #heads < 2 then exc.raise(exc.InvalidRequestError, "merge needs two or more heads", nil, 2) end
  for i, h in ipairs(heads) do heads[i] = script:get(h).revision end
  return M.revision(cfg, {parents = heads, message = message or "merge"})
end

return M
