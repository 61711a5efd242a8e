--- migrate/targets.lua: Alembic's branch-relative and revision-relative
--- targets: "label@head" (the head of the branch a label starts),
--- "label@+n" / "label@-n" (n revisions up or down that branch from where
--- the database is on it), "label@base" (below the branch), "label@REV",
--- and "REV+n" / "REV-n" (n revisions up or down from REV, an id, prefix,
--- label or head). A branch is the labelled revision and every revision
--- built on it. Targets on a branch keep the other branches' current heads,
--- so a downgrade of one branch leaves the others applied.
local exc = require("quicksilver.exc")

local M = {}

local format = string.format

local function fail(msg) exc.raise(exc.InvalidRequestError, msg, nil, 5) end

-- The labelled revision and its descendants, as a set.
local function branch(script, label)
  local root = script:get(label)
  local children = {}
  for _, id in ipairs(script.order) do
    for _, p in ipairs(script.revisions[id].parents) do
      children[p] = children[p] or {}
      table.insert(children[p], id)
    end
  end
  local members, stack = {}, {root.revision}
  while #stack > 0 do
    local id = table.remove(stack)
    if not members[id] then
      members[id] = true
      for _, c in ipairs(children[id] or {}) do stack[#stack + 1] = c end
    end
  end
  return root, members
end

-- n steps from pos (nil: below everything) up or down, within members
-- (nil: anywhere).
local function step(script, pos, sign, n, members, what)
  if sign == "-" then
    for i = 1, n do
      if pos == nil or (members and not members[pos]) then
        fail(format("cannot go %s-%d: not that many revisions applied", what, n))
      end
      local parents = script.revisions[pos].parents
      if #parents > 1 then
        if i == n then return parents end
        fail(format("cannot go %s-%d: the merge %s has several parents; name the revision to reach", what, n, pos))
      end
      pos = parents[1]
    end
    return pos and {pos} or {}
  end
  local applied = pos and script:ancestors({pos}) or {}
  local order = script:ordered(script:ancestors(script:heads()))
  for _ = 1, n do
    local nxt
    for _, id in ipairs(order) do
      local parents = script.revisions[id].parents
      if not applied[id] and (not members or members[id]) and
          ((pos == nil and #parents == 0) or (pos ~= nil and parents[1] == pos) or
            (pos == nil and members and #parents > 0 and not members[parents[1]])) then
        nxt = id
        break
      end
    end
    if not nxt then
      fail(format("cannot go %s+%d from %s: not that many revisions above it", what, n, tostring(pos or "base")))
    end
    applied[nxt] = true
    pos = nxt
  end
  return {pos}
end

-- The list with the current heads outside members added.
local function with_others(list, current, members)
  local out, seen = {}, {}
  for _, id in ipairs(list) do
    if not seen[id] then seen[id] = true; out[#out + 1] = id end
  end
  for _, h in ipairs(current) do
    if not members[h] and not seen[h] then seen[h] = true; out[#out + 1] = h end
  end
  return out
end

--- The targets of a branch- or revision-relative target, or nil when
--- target is not one (init.lua resolves the rest).
---@param script table the Script
---@param target string|nil
---@param current string[] the database's current heads
---@return string[]|nil
function M.resolve(script, target, current)
  if type(target) ~= "string" then return nil end
  -- a label or id that merely contains "@", "+" or "-" is itself
  if script.revisions[target] or pcall(script.get, script, target) then return nil end
  local label, rest = target:match("^([^@]+)@(.+)$")
  if label then
    local root, members = branch(script, label)
    if rest == "head" then
      local heads = {}
      for _, h in ipairs(script:heads()) do if members[h] then heads[#heads + 1] = h end end
      if #heads > 1 then fail(format("%s has several heads (%s): name one", target, table.concat(heads, ", "))) end
      return with_others(heads, current, members)
    end
    if rest == "base" then return with_others(root.parents, current, members) end
    local sign, n = rest:match("^([+-])(%d+)$")
    if sign then
      local mine = {}
      for _, h in ipairs(current) do if members[h] then mine[#mine + 1] = h end end
      if #mine > 1 then fail(format("%s: the branch has several current heads (%s)", target, table.concat(mine, ", "))) end
      return with_others(step(script, mine[1], sign, tonumber(n), members, label .. "@"), current, members)
    end
    local rev = script:get(rest)
    if not members[rev.revision] then fail(format("%s: revision %s is not on the branch %s", target, rev.revision, label)) end
    return with_others({rev.revision}, current, members)
  end
  local base, sign, n = target:match("^(.+)([+-])(%d+)$")
  if base and base ~= "" then
    local from = base == "head" and script:head() or script:get(base).revision
    return step(script, from, sign, tonumber(n), nil, base)
  end
  return nil
end

return M
