-- spec/support/orm_corpus.lua: the ORM tables the C accelerators (c/orm/)
-- meet. Run as a program of its own (spec/contract_spec.lua starts it), so
-- core.load_objects and core.changed_collections can be wrapped before the
-- ORM keeps references to them. A small ORM session on SQLite loads, expires,
-- changes and flushes objects with a collection; every load spec, state and
-- mapper that reaches C is recorded, and so are the states Lua made itself.
-- Prints "CARRIER<TAB>field" for each field of core.orm_fields present
-- (carriers: state, mapper, load_spec), and "state_by_c<TAB>state_mt_same"
-- when the states load_objects made have the metatable Lua's states have.
local core = require("quicksilver.core")

local specs, tracked_sets = {}, {}
local real_load, real_changed = core.load_objects, core.changed_collections
core.load_objects = function(raw, from, base, spec, imap, session, out, last)
  specs[#specs + 1] = spec
  return real_load(raw, from, base, spec, imap, session, out, last)
end
core.changed_collections = function(tracked, session, rels_of)
  local copy = {}
  for st in pairs(tracked) do copy[#copy + 1] = st end
  tracked_sets[#tracked_sets + 1] = copy
  return real_changed(tracked, session, rels_of)
end

local qs = require("quicksilver")
local orm = require("quicksilver.orm")

local Base = orm.declarative_base()
local Parent = Base:model("Parent", {
  __tablename = "parents",
  id = orm.mapped_column(qs.Integer, {primary_key = true}),
  name = orm.mapped_column(qs.String(30)),
  children = orm.relationship("Child", {back_populates = "parent", cascade = "all, delete-orphan"}),
})
local Child = Base:model("Child", {
  __tablename = "children",
  id = orm.mapped_column(qs.Integer, {primary_key = true}),
  parent_id = orm.mapped_column(qs.ForeignKey("parents.id")),
  parent = orm.relationship("Parent", {back_populates = "children"}),
})

local engine = qs.create_engine("sqlite://")
Base.metadata:create_all(engine)

local made_by_lua = {}
local s = orm.Session(engine)
local p = Parent({name = "a", children = {Child({}), Child({})}})
s:add(p)
s:commit()
made_by_lua[#made_by_lua + 1] = p
s:close()

local s2 = orm.Session(engine)
local loaded = s2:execute(qs.select(Parent)):scalars():all()
local first = loaded[1]
local _ = #first.children              -- a loaded collection
first.children[#first.children + 1] = Child({})
s2:flush()                              -- the collection diff (changed_collections)
s2:expire(first)
-- unflushed changes: kept old values (committed), a many-to-one set (m2o_set)
local changed = s2:execute(qs.select(Child)):scalars():all()[1]
changed.parent = Parent({name = "b"})
first.name = "c"

local out = {}
local function record(carrier, t)
  for name, f in pairs(core.orm_fields) do
    if (" " .. f.carriers .. " "):find(" " .. carrier .. " ", 1, true) then
      local ok, v = pcall(function() return t[name] end)
      if ok and v ~= nil then out[#out + 1] = carrier .. "\t" .. name end
    end
  end
end

local state_key
for _, spec in ipairs(specs) do
  record("load_spec", spec)
  state_key = spec.state_key
end
local lua_mt
for _, obj in ipairs(made_by_lua) do
  local st = rawget(obj, state_key)
  record("state", st)
  lua_mt = getmetatable(st)
end
for _, obj in ipairs(loaded) do
  local st = rawget(obj, state_key)
  record("state", st)
  if getmetatable(st) == lua_mt then out[#out + 1] = "state_by_c\tstate_mt_same" end
end
record("state", rawget(changed, state_key))
record("state", rawget(first, state_key))
for _, set in ipairs(tracked_sets) do
  for _, st in ipairs(set) do
    record("state", st)
    record("mapper", st.mapper)
  end
end
s2:close()
engine:dispose()

local uniq, lines = {}, {}
for _, l in ipairs(out) do
  if not uniq[l] then uniq[l] = true; lines[#lines + 1] = l end
end
table.sort(lines)
io.write(table.concat(lines, "\n"), "\n")
