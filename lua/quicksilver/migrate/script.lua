--- migrate/script.lua: the revision files of a migrations folder and the
--- graph they form (Alembic's script directory). A revision is a Lua file in
--- versions/ returning {revision, down_revision (nil, an id, or a list at a
--- merge), branch_labels, depends_on, message, upgrade(op), downgrade(op)}.
local exc = require("quicksilver.exc")

local M = {}

local format, concat, sort = string.format, table.concat, table.sort

---@class quicksilver.migrate.Script
local Script = {}
Script.__index = Script
M.Script = Script

local function fail(msg, level) exc.raise(exc.InvalidRequestError, msg, nil, level or 3) end

local function list_of(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  return {v}
end

local function lua_files(dir)
  local out = {}
  local p = io.popen(format("ls -1 %q 2>/dev/null", dir))
  if p then
    for f in p:lines() do
      if f:match("%.lua$") then out[#out + 1] = f end
    end
    p:close()
  end
  sort(out)
  return out
end

--- Loads every revision of dir/versions and checks the graph: unique ids,
--- parents that exist.
function M.load(dir)
  local self = setmetatable({dir = dir, revisions = {}, order = {}}, Script)
  local vdir = dir .. "/versions"
  for _, f in ipairs(lua_files(vdir)) do
    local chunk, err = loadfile(vdir .. "/" .. f)
    if not chunk then fail(format("revision file %s does not load: %s", f, tostring(err))) end
    local ok, rev = pcall(chunk)
    if not ok then fail(format("revision file %s failed: %s", f, tostring(rev))) end
    if type(rev) ~= "table" or type(rev.revision) ~= "string" or rev.revision == "" then
      fail(format("revision file %s must return a table with a revision id", f))
    end
    if type(rev.upgrade) ~= "function" or type(rev.downgrade) ~= "function" then
      fail(format("revision %s (%s) needs upgrade(op) and downgrade(op) functions", rev.revision, f))
    end
    if self.revisions[rev.revision] then
      fail(format("revision id %s appears in %s and %s", rev.revision, self.revisions[rev.revision].file, f))
    end
    rev.file = f
    rev.parents = list_of(rev.down_revision)
    self.revisions[rev.revision] = rev
    self.order[#self.order + 1] = rev.revision
  end
  for _, id in ipairs(self.order) do
    local rev = self.revisions[id]
    for _, p in ipairs(rev.parents) do
      if not self.revisions[p] then
        fail(format("revision %s names down_revision %s, which does not exist", id, tostring(p)))
      end
    end
    for _, d in ipairs(list_of(rev.depends_on)) do
      if not self.revisions[d] then
        fail(format("revision %s depends on %s, which does not exist", id, tostring(d)))
      end
    end
  end
  return self
end

--- The revisions no other revision builds on.
function Script:heads()
  local child = {}
  for _, id in ipairs(self.order) do
    for _, p in ipairs(self.revisions[id].parents) do child[p] = true end
  end
  local out = {}
  for _, id in ipairs(self.order) do
    if not child[id] then out[#out + 1] = id end
  end
  return out
end

--- The revisions without a parent.
function Script:bases()
  local out = {}
  for _, id in ipairs(self.order) do
    if #self.revisions[id].parents == 0 then out[#out + 1] = id end
  end
  return out
end

--- id and everything below it (parents and depends_on), as a set.
function Script:ancestors(ids, out)
  out = out or {}
  local stack = {}
  for _, id in ipairs(ids) do stack[#stack + 1] = id end
  while #stack > 0 do
    local id = table.remove(stack)
    if not out[id] then
      out[id] = true
      local rev = self.revisions[id]
      for _, p in ipairs(rev.parents) do stack[#stack + 1] = p end
      for _, d in ipairs(list_of(rev.depends_on)) do stack[#stack + 1] = d end
    end
  end
  return out
end

--- The revisions of set in an order where parents come first.
function Script:ordered(set)
  local out, done = {}, {}
  local function visit(id)
    if done[id] or not set[id] then return end
    done[id] = true
    local rev = self.revisions[id]
    for _, p in ipairs(rev.parents) do visit(p) end
    for _, d in ipairs(list_of(rev.depends_on)) do visit(d) end
    out[#out + 1] = id
  end
  for _, id in ipairs(self.order) do visit(id) end
  return out
end

--- The heads of a set of applied revisions (those no applied one builds on).
function Script:heads_of(set)
  local child = {}
  for id in pairs(set) do
    for _, p in ipairs(self.revisions[id].parents) do child[p] = true end
  end
  local out = {}
  for _, id in ipairs(self.order) do
    if set[id] and not child[id] then out[#out + 1] = id end
  end
  return out
end

--- A revision by id, a unique prefix of one, or a branch label.
function Script:get(id)
  if self.revisions[id] then return self.revisions[id] end
  local found
  for _, rid in ipairs(self.order) do
    local rev = self.revisions[rid]
    local labels = list_of(rev.branch_labels)
    local labelled = false
    for _, l in ipairs(labels) do if l == id then labelled = true end end
    if labelled or (#id >= 4 and rid:sub(1, #id) == id) then
      if found then fail(format("revision %s is ambiguous: %s and %s", id, found.revision, rid), 4) end
      found = rev
    end
  end
  if not found then fail(format("no revision %s in %s/versions", tostring(id), self.dir), 4) end
  return found
end

--- The single head; an error naming them when there are several.
function Script:head()
  local heads = self:heads()
  if #heads > 1 then
    fail(format("multiple heads (%s): merge them, or name the one to reach", concat(heads, ", ")), 4)
  end
  return heads[1]
end

--- Revisions from head to base (each with its parents), for history.
function Script:walk()
  local out = {}
  local ordered = self:ordered(self:ancestors(self:heads()))
  for i = #ordered, 1, -1 do out[#out + 1] = self.revisions[ordered[i]] end
  return out
end

return M
