--- quicksilver: SQLAlchemy 2.0 for Lua on a C core. This facade re-exports
--- the Core: `local qs = require("quicksilver")`.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local event = require("quicksilver.event")
local types = require("quicksilver.sql.types")
local elements = require("quicksilver.sql.elements")
local selectable = require("quicksilver.sql.selectable")
local dml = require("quicksilver.sql.dml")
local values = require("quicksilver.sql.values")
local schema = require("quicksilver.sql.schema")
local ddl = require("quicksilver.sql.ddl")
local url = require("quicksilver.engine.url")
local create = require("quicksilver.engine.create")
local base = require("quicksilver.engine.base")
local result = require("quicksilver.engine.result")
local reflection = require("quicksilver.engine.reflection")
local ddl_statement = require("quicksilver.sql.ddl_statement")
local waiting = require("quicksilver.waiting")
local pg_types = require("quicksilver.sql.pg_types")
local pg_ops = require("quicksilver.sql.pg_ops")

local M = {}

-- The C layer builds its error objects through qs.exc and binds qs.null as
-- SQL NULL; both are registered once, here.
core.set_error_factory(exc.new)
core.set_null(elements.null)

M.version = core.version
M.exc = exc
M.event = event
-- xpcall's message handler with the error's text (qs.exc objects included)
-- and a stack traceback: `xpcall(main, qs.traceback)`
M.traceback = exc.traceback

-- engine
M.create_engine = create.create_engine
M.make_url = url.make_url
M.Engine = base.Engine
M.Connection = base.Connection
M.Result = result.Result

--- Sets the process-wide waiter (nil removes it): W(fd, "r"|"w"|"rw",
--- timeout_seconds) suspends the calling coroutine until the socket is
--- ready (returns true) or the time ran out (false). Connections of engines
--- without a `waiter` option then wait through it when used from a
--- coroutine (not the main thread); elsewhere they block, as without one.
--- docs/ASYNC.md has the contract.
---@param W fun(fd: integer, events: string, timeout: number|nil): boolean|nil
M.set_waiter = waiting.set_default
--- The process-wide waiter, or nil.
---@return function|nil
M.get_waiter = waiting.default

-- types (qs.Integer, qs.String(50), ...)
for _, name in ipairs({"TypeEngine", "Integer", "BigInteger", "SmallInteger", "Float", "Numeric",
    "String", "Text", "Unicode", "UnicodeText", "Boolean", "Date", "DateTime", "Time", "Interval",
    "LargeBinary", "Enum", "Uuid", "NullType", "TypeDecorator", "JSON"}) do
  M[name] = types[name]
end

-- PostgreSQL's own types (qs.postgresql.INET, CIDR, MACADDR)
M.postgresql = require("quicksilver.dialects.postgresql_types")
-- PostgreSQL's ARRAY and JSONB, also under qs.postgresql (as SQLAlchemy's
-- sqlalchemy.dialects.postgresql); any_/all_ are standard SQL
M.ARRAY = pg_types.ARRAY
M.JSONB = pg_types.JSONB
M.any_ = pg_ops.any_
M.all_ = pg_ops.all_
M.array = pg_ops.array
M.postgresql = M.postgresql or {}
M.postgresql.ARRAY = pg_types.ARRAY
M.postgresql.JSONB = pg_types.JSONB
M.postgresql.array = pg_ops.array
M.postgresql.any_ = pg_ops.any_
M.postgresql.all_ = pg_ops.all_

-- schema
M.MetaData = schema.metadata
M.Table = schema.table
M.Column = schema.column
M.ForeignKey = schema.foreign_key
M.ForeignKeyConstraint = schema.ForeignKeyConstraint
M.PrimaryKeyConstraint = schema.PrimaryKeyConstraint
M.UniqueConstraint = schema.UniqueConstraint
M.CheckConstraint = schema.CheckConstraint
M.Index = schema.index
M.Sequence = require("quicksilver.sql.sequence").sequence
M.schema = {CreateTable = ddl.CreateTable, DropTable = ddl.DropTable, CreateIndex = ddl.CreateIndex,
  DropIndex = ddl.DropIndex, CreateSequence = ddl.CreateSequence, DropSequence = ddl.DropSequence,
  CreateEnum = ddl.CreateEnum, DropEnum = ddl.DropEnum,
  -- COMMENT ON (PostgreSQL), as SQLAlchemy's SetTableComment / SetColumnComment
  SetTableComment = function(t) return ddl.SetComment(t, nil, t.comment) end,
  SetColumnComment = function(col) return ddl.SetComment(col.table, col.name, col.comment) end}

-- exact decimals (Numeric values): qs.Decimal("10.40"), qs.is_decimal(v)
local decimal = require("quicksilver.sql.decimal")
M.Decimal = function(v) return decimal.new(v, 3) end
M.decimal = M.Decimal
M.is_decimal = decimal.is_decimal
--- qs.DDL(sql, {context}): SQL text run as DDL, directly or as a listener
--- of a Table's or MetaData's create/drop events (also qs.ddl.DDL).
M.DDL = ddl_statement.new
M.ddl = {DDL = ddl_statement.new}

-- expressions and statements
M.json_null = types.json_null
M.json_array = types.json_array
M.text = elements.text
M.null = elements.null
M.true_ = elements.true_
M.false_ = elements.false_
M.and_ = elements.and_
M.or_ = elements.or_
M.not_ = elements.not_
M.case = elements.case
M.op = elements.op   -- qs.op(expr, "<->")(x): expr:op() for any expression
M.cast = elements.cast
M.func = elements.func
M.literal = elements.literal
M.type_coerce = elements.type_coerce
M.tuple_ = require("quicksilver.sql.tuple").tuple_
M.literal_column = elements.literal_column
M.bindparam = elements.bindparam
M.column = elements.column
M.table = selectable.table
M.select = selectable.select
M.exists = selectable.exists
M.union = selectable.union
M.union_all = selectable.union_all
M.intersect = selectable.intersect
M.intersect_all = selectable.intersect_all
M.except_ = selectable.except_
M.except_all = selectable.except_all
M.lateral = selectable.lateral
M.tablesample = selectable.tablesample
M.values = values.values
M.unbounded = elements.unbounded
-- ORDER BY modifiers as functions (SQLAlchemy's desc(), asc(), nullsfirst...)
local ordering = require("quicksilver.sql.ordering")
M.desc = ordering.desc
M.asc = ordering.asc
M.nulls_first = ordering.nulls_first
M.nulls_last = ordering.nulls_last
M.insert = dml.insert
M.update = dml.update
M.delete = dml.delete

--- qs.inspect(engine or connection) -> Inspector.
function M.inspect(x)
  if type(x) == "table" and x.dialect and (getmetatable(x) == base.Engine or getmetatable(x) == base.Connection) then
    return reflection.inspector(x)
  end
  exc.raise(exc.NoInspectionAvailable, "No inspection system is available for " .. tostring(x), nil, 2)
end

return M
