--- spec/support/fixtures.lua: the ORM models the specs share, made fresh on
--- every call (on a new declarative base unless one is given), so that no
--- spec copies them and each test maps its own classes.
---
--- `fixtures.user_address(opts)` gives SQLAlchemy's tutorial pair: User
--- (id, name) with a one-to-many `addresses` to Address (id, email,
--- user_id) and its many-to-one `user`, back_populates both ways. What a
--- spec needs beyond that is said in opts, never by copying the models:
---
---   base        the declarative base to map on (default: a new one)
---   tables      {users, addresses}: the table names (default {"users", "addresses"})
---   strict      true: the tutorial's constraints (User.name NOT NULL UNIQUE,
---               the email NOT NULL)
---   email       the Address's email attribute and column name (default "email")
---   email_column  a column name for the email apart from its attribute name
---   addresses   options of User.addresses besides back_populates (cascade, order_by, ...)
---   user, address  extra entries of each model's spec (columns, relationships,
---               methods): a table, or a function returning one, called
---               after the model's own columns are made so that its columns
---               follow them in CREATE TABLE (mapped_columns keep the order
---               they were made in)
---
--- Returns {Base = ..., User = ..., Address = ...}.
---
--- `fixtures.node(opts)` gives a self-referential tree: Node (id, name,
--- parent_id) with `parent` (many-to-one, remote_side Node.id) and
--- `children` (one-to-many), back_populates both ways. opts: base, table
--- (default "nodes"), children (options of Node.children besides
--- back_populates: cascade, order_by, ...).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")

local M = {}

local OPTIONS = {base = true, tables = true, strict = true, email = true, email_column = true,
  addresses = true, user = true, address = true}

-- extra spec entries, made now (a function) or given (a table)
local function extras(x)
  if type(x) == "function" then return x() end
  return x or {}
end

local function merged(into, from)
  for k, v in pairs(from) do into[k] = v end
  return into
end

--- User and Address on a fresh (or the given) declarative base; see above.
---@param opts? table
---@return {Base: table, User: table, Address: table}
function M.user_address(opts)
  opts = opts or {}
  for k in pairs(opts) do
    if not OPTIONS[k] then error("fixtures.user_address: unknown option '" .. tostring(k) .. "'", 2) end
  end
  local Base = opts.base or orm.declarative_base()
  local tables = opts.tables or {"users", "addresses"}
  local strict = opts.strict and {nullable = false} or {}
  local email = opts.email or "email"
  local rel = merged({back_populates = "user"}, opts.addresses or {})
  local user = {
    __tablename = tables[1],
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(30), opts.strict and {nullable = false, unique = true} or {}),
    addresses = orm.relationship("Address", rel),
  }
  merged(user, extras(opts.user))
  local User = Base:model("User", user)
  local address = {
    __tablename = tables[2],
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
  }
  if opts.email_column then
    address[email] = orm.mapped_column(opts.email_column, qs.String(50), strict)
  else
    address[email] = orm.mapped_column(qs.String(50), strict)
  end
  address.user_id = orm.mapped_column(qs.ForeignKey(tables[1] .. ".id"))
  address.user = orm.relationship("User", {back_populates = "addresses"})
  merged(address, extras(opts.address))
  local Address = Base:model("Address", address)
  return {Base = Base, User = User, Address = Address}
end

local NODE_OPTIONS = {base = true, table = true, children = true}

--- Node, a tree on one table, on a fresh (or the given) declarative base.
---@param opts? table
---@return {Base: table, Node: table}
function M.node(opts)
  opts = opts or {}
  for k in pairs(opts) do
    if not NODE_OPTIONS[k] then error("fixtures.node: unknown option '" .. tostring(k) .. "'", 2) end
  end
  local Base = opts.base or orm.declarative_base()
  local tname = opts.table or "nodes"
  local Node = Base:model("Node", {
    __tablename = tname,
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(20)),
    parent_id = orm.mapped_column(qs.ForeignKey(tname .. ".id")),
    parent = orm.relationship("Node", {back_populates = "children", remote_side = "Node.id"}),
    children = orm.relationship("Node", merged({back_populates = "parent"}, opts.children or {})),
  })
  return {Base = Base, Node = Node}
end

return M
