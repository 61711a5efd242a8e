---@meta
--- core.d.lua: LuaLS description of the C module `quicksilver.core` (not a
--- module itself: a file named core.lua would shadow the C module).

---@class quicksilver.core
---@field version string
---@field driver_version integer the qs_driver table layout drivers must match
---@field sqlite_version_number integer the linked SQLite library's sqlite3_libversion_number() (3045000 for 3.45.0)
---@field driver_registry_key string registry key of the driver table
---@field node_fields table<string, quicksilver.core.ContractField> the field names the SQL compiler reads from node tables (c/compiler/fields.h)
---@field orm_fields table<string, quicksilver.core.ContractField> the ORM state, mapper and load-spec fields c/orm reads and writes (c/orm/layout.h)
---@field txn_states {none: integer, begun: integer, sent: integer} Connection:txn_state()'s numbers
---@field WAIT userdata the sentinel a Connection method returns first when, in non-blocking mode, it would block: `core.WAIT, fd, events, timeout` (lua/quicksilver/waiting.lua drives it)
local core = {}

---@class quicksilver.core.ContractField
---@field carriers string where the field sits, space-separated (node kinds or named tables)
---@field form string what it holds (node, nodes, string, boolean, table, ...)
---@field meaning string what it is

--- Opens a driver connection. Options are strings, numbers or booleans.
---@param driver string "sqlite" (built in) or a registered driver name
---@param options? table<string, string|number|boolean>
---@return quicksilver.core.Connection|nil conn
---@return table|nil err a qs.exc error object
function core.connect(driver, options) end

--- Makes a driver connection and starts connecting without waiting; finish
--- with conn:connect() (which may ask to wait: core.WAIT).
---@param driver string
---@param options? table<string, string|number|boolean>
---@return quicksilver.core.Connection|nil conn
---@return table|nil err
function core.connect_start(driver, options) end

--- The process-wide waiter (nil removes it): what connections without one of
--- their own wait through when called from a coroutine (qs.set_waiter).
---@param W fun(fd: integer, events: string, timeout: number|nil): boolean|nil
function core.set_default_waiter(W) end

--- The process-wide waiter, or nil.
---@return function|nil
function core.default_waiter() end

--- Renders qs.text() SQL for a dialect.
---@param dialect string
---@param sql string
---@return string sql with the dialect's placeholders
---@return string[] keys bind names in placeholder order
function core.compile_text(dialect, sql) end

---@param sentinel any the value that binds as SQL NULL
function core.set_null(sentinel) end

---@param factory fun(class_name: string, message: string, fields: table): table
function core.set_error_factory(factory) end

---@return string[]
function core.drivers() end

---@return table<string, string> code name -> qs.exc class name
function core.code_classes() end

--- The C pool's defaults for what a pool conf leaves out (a new table each
--- call): the Lua QueuePool reads its defaults from here.
---@return {size: integer, overflow: integer, timeout: number, recycle: number, lifo: boolean, pre_ping: boolean, reset_on_return: boolean}
function core.pool_defaults() end

--- An identifier as the compiler writes it (quoted only when needed).
---@param dialect string
---@param name string
---@return string
function core.ident(dialect, name) end

--- Compiles a statement tree (c/compiler/nodes.h) for a dialect.
---@param stmt table
---@param dialect string
---@param opts? {literal_binds?: boolean}
---@return table compiled {sql, keys, values, checks, procs, npos, result_names, result_types, result_unknown}
function core.compile(stmt, dialect, opts) end

---poll(2) over fds (the built-in scheduler's wait). ready[i] is what fds[i] saw.
---@param fds integer[]
---@param events ("r"|"w"|"rw")[]
---@param timeout? number seconds; nil or < 0: until one is ready
---@return integer count, table<integer, "r"|"w"|"rw"> ready
function core.poll(fds, events, timeout) end

---@param v any
---@return string
function core.json_encode(v) end

---@param s string
---@return any
function core.json_decode(s) end

--- Registers the decimal metatable (sql/decimal.lua) C gives its decimals.
---@param mt table
function core.set_decimal(mt) end

--- A decimal holding text (a userdata; the text is not checked here).
---@param text string
---@return quicksilver.Decimal
function core.decimal_new(text) end

--- The text of a decimal.
---@param d quicksilver.Decimal
---@return string
function core.decimal_text(d) end

--- The flush order: a stable topological sort (of the ready nodes the
--- smallest goes first). Self-edges are ignored. On a cycle returns nil and
--- the sorted nodes in or behind it. Bad input raises an ArgumentError.
---@param n integer the node count; nodes are 1..n
---@param edges integer[] flat pairs {a1, b1, a2, b2, ...}: a before b
---@return integer[]|nil order the n nodes, or nil on a cycle
---@return integer[] levels_or_cycle levels[node] (1 without predecessors, else 1 + the largest of theirs), or the nodes a cycle held back
function core.toposort(n, edges) end

--- The keys, in the order of `keys`, whose values differ between `dict` and
--- `committed` (raw gets, raw equality: 1 == 1.0, tables by identity).
---@param dict table
---@param committed table
---@param keys string[]
---@param was_null? any when given, committed holds only changed attributes' old values (this one for NULL)
---@return string[] changed a new table, empty when nothing changed
function core.changed_keys(dict, committed, keys, was_null) end

--- An ORM object's value table from row: keys[j] = the value of column
--- base + positions[j] (NULLs left out), sized for the instance metamethods too.
---@param row userdata
---@param base integer
---@param keys string[]
---@param positions integer[]
---@return table dict
function core.row_dict(row, base, keys, positions) end

---@class quicksilver.core.Connection
--- In non-blocking mode (called from a coroutine other than the main thread
--- while a waiter applies) the methods that talk to the server (connect,
--- execute, executemany, exec, begin, commit, rollback, savepoint, release,
--- rollback_to, set_timeout) may return `core.WAIT, fd, "r"|"w"|"rw",
--- timeout_seconds|nil` instead of their results: wait through the waiter,
--- then call resume. waiting.drive does this.
local Connection = {}

--- Completes a connection made by core.connect_start. May ask to wait.
---@return boolean|nil ok
---@return table|nil err
function Connection:connect() end

--- Goes on with the operation that asked to wait, after the wait: ready is
--- true when the socket was ready, false when the wait's time ran out.
--- Returns what the operation returns, or core.WAIT, ... again.
---@param ready boolean
---@return any ...
function Connection:resume(ready) end

--- Gives the connection up in the middle of an operation (its waiter
--- raised): closed, and never reused by a pool.
function Connection:abandon() end

--- This connection's own waiter (nil: the process default applies).
---@param W function|nil
function Connection:set_waiter(W) end

--- The waiter that applies: its own, else the process default, or nil.
---@return function|nil
function Connection:waiter() end

--- Whether an operation waits on this connection (asked to wait, not yet resumed to its end).
---@return boolean
function Connection:pending() end

--- Prepares (or reuses) and runs a statement to its first row.
---@param sql string
---@param params? table values; read as params[keys[i]], or params[1..n]
---@param keys? any[] keys in placeholder order
---@return quicksilver.core.Cursor|nil
---@return table|nil err
function Connection:execute(sql, params, keys) end

---@param sql string
---@param list table[] parameter sets
---@param keys? any[]
---@return integer|nil rows changed, summed
---@return table|nil err
function Connection:executemany(sql, list, keys) end

---@param sql string
---@return boolean|nil ok
---@return table|nil err
function Connection:exec(sql) end

---@return boolean|nil, table|nil
function Connection:begin() end
---@return boolean|nil, table|nil
function Connection:commit() end
---@return boolean|nil, table|nil
function Connection:rollback() end
---@param name string
---@return boolean|nil, table|nil
function Connection:savepoint(name) end
---@param name string
---@return boolean|nil, table|nil
function Connection:release(name) end
---@param name string
---@return boolean|nil, table|nil
function Connection:rollback_to(name) end
---@return integer core.txn_states.none (0), .begun (1: BEGIN unsent) or .sent (2)
function Connection:txn_state() end
---@param sql string|nil BEGIN text
---@param mode "eager"|"lazy"|"write"
function Connection:set_begin(sql, mode) end
---@return integer
function Connection:changes() end
---@return integer
function Connection:last_insert_id() end
---@return integer hits, integer misses, integer size
function Connection:cache_stats() end
---@param n integer
function Connection:set_cache_size(n) end
---@param seconds number|nil limit per statement; 0 or nil for none
---@return boolean|nil ok, table|nil err
function Connection:set_timeout(seconds) end
---@return number seconds the current limit (0: none)
function Connection:timeout() end
---@return boolean|nil ok, table|nil err
function Connection:cancel() end
---@return string
function Connection:driver() end
---@return boolean
function Connection:closed() end
function Connection:close() end
--- Ends every statement still open on this connection: their cursors raise
--- ResourceClosedError from then on (the pools call it at checkin).
function Connection:end_statements() end

---@class quicksilver.core.Cursor
local Cursor = {}
---@param n? integer
---@return quicksilver.Row[]|nil rows
---@return table|nil err
function Cursor:fetch(n) end
---@return string[]
function Cursor:columns() end
---@return table
function Cursor:keymap() end
---@return integer
function Cursor:rowcount() end
---@return integer
function Cursor:lastrowid() end
---@return boolean
function Cursor:done() end
function Cursor:close() end

---@class quicksilver.Row
---@field [integer] any
---@field [string] any
local Row = {}
---@return table<string, any>
function Row:_tomap() end
---@return string[]
function Row:_keys() end
---@return table
function Row:_tuple() end

return core
