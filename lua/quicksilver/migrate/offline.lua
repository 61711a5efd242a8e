--- migrate/offline.lua: `upgrade --sql`. Revisions run against a stand-in
--- connection that prints each statement instead of executing it, values
--- written inline by the audited literal renderer. Nothing is read from a
--- database: offline runs start at a given revision (base by default), and
--- operations that must look at the database (MySQL's alter_column without
--- existing_type, batch_alter_table on SQLite) say so.
local exc = require("quicksilver.exc")
local qs = require("quicksilver")
local dialects = require("quicksilver.dialects")
local ddl = require("quicksilver.sql.ddl")
local op_mod = require("quicksilver.migrate.op")

local M = {}

local Offline = {}
Offline.__index = Offline
M.Offline = Offline

--- A stand-in connection for a dialect name; its output in self.lines.
function M.new(dialect_name)
  local d = dialects.load(dialect_name)
  return setmetatable({dialect = d, lines = {}, offline = true}, Offline)
end

local function emit(self, sql) self.lines[#self.lines + 1] = sql .. ";" end

local function render(self, stmt)
  return stmt:compile({dialect = self.dialect.name, literal_binds = true}).sql
end

function Offline:execute(stmt, params)
  if params ~= nil and type(params[1]) == "table" then
    for _, row in ipairs(params) do self:execute(stmt, row) end
    return
  end
  if params ~= nil and next(params) ~= nil then
    if stmt._dml == "insert" or stmt._dml == "update" then stmt = stmt:values(params)
    elseif stmt.bindparams then stmt = stmt:bindparams(params)
    else
      exc.raise(exc.ArgumentError, "offline SQL: parameters for this statement cannot be written inline", nil, 3)
    end
  end
  emit(self, render(self, stmt))
end

function Offline:exec_driver_sql(sql)
  emit(self, sql)
end

function Offline:commit() end

--- For operations that would read the database.
function Offline:_reflect_table()
  exc.raise(exc.NotSupportedError, "offline SQL (--sql) cannot read the database: this operation needs " ..
    "an online run", nil, 3)
end

--- The SQL of the revisions ids, in order, with the version table kept.
function M.render(script, ids, direction, dialect_name, vt_name, from_heads)
  local conn = M.new(dialect_name)
  local vt = qs.Table(vt_name, qs.MetaData(), qs.Column("version_num", qs.String(32), {primary_key = true}))
  -- BEGIN/COMMIT around a revision only where DDL is transactional (on
  -- MySQL each DDL statement commits by itself)
  local transactional = conn.dialect.caps.transactional_ddl
  if #from_heads == 0 and direction == "up" then
    conn:execute(ddl.CreateTable(vt))
  end
  local applied = script:ancestors(from_heads)
  local op = op_mod.new(conn)
  for _, id in ipairs(ids) do
    local rev = script.revisions[id]
    conn.lines[#conn.lines + 1] = string.format("-- %s %s%s", direction == "up" and "upgrade" or "downgrade",
      id, rev.message and (": " .. rev.message) or "")
    if transactional then conn.lines[#conn.lines + 1] = "BEGIN;" end
    if direction == "up" then rev.upgrade(op); applied[id] = true
    else rev.downgrade(op); applied[id] = nil end
    conn:execute(qs.delete(vt))
    for _, h in ipairs(script:heads_of(applied)) do conn:execute(qs.insert(vt), {version_num = h}) end
    if transactional then conn.lines[#conn.lines + 1] = "COMMIT;" end
  end
  return table.concat(conn.lines, "\n") .. "\n"
end

return M
