--- orm/finish_jit.lua: core.finish_inserted and core.finish_snapshots
--- (c/orm/finish.c) written in Lua, for LuaJIT: there its traces read and
--- write plain tables for fewer instructions than the C API does (each
--- lua_rawget a call, each field name interned), so the flush's finish
--- runs these on LuaJIT and the C on PUC Lua. Same arguments, same
--- results, same order of work (spec/orm/flush_finish_spec.lua runs both).
local M = {}

local rawget, rawset, type = rawget, rawset, type

-- flush_finish.snapshot for st (spec: its mapper's, orm/state_spec.lua);
-- changed nil: every kept old value forgotten, else those of changed[st].
local function snapshot_state(st, spec, changed, modified, snap_colls)
  if changed == nil then
    rawset(st, "committed", nil)
  else
    local committed = rawget(st, "committed")
    local keys = committed and changed[st]
    if keys then
      for i = 1, #keys do committed[keys[i]] = nil end
      if next(committed) == nil then rawset(st, "committed", nil) end
    end
  end
  if spec[4] and type(rawget(st, "loaded")) == "table" then snap_colls(st) end
  if rawget(st, "modified") ~= false then rawset(st, "modified", false) end
  if rawget(st, "m2o_set") ~= nil then rawset(st, "m2o_set", nil) end
  modified[st] = nil
end

-- Whether st is in session (its id sid, or nil: then st.session is asked).
local function in_session(st, session, sid)
  if sid ~= nil then return rawget(st, "_sid") == sid end
  return st.session == session
end

--- See c/orm/finish.c core.finish_inserted.
function M.finish_inserted(states, imaps, nan, tx_new, spec_of, key_of, map_of, expire_exprs,
                           session, delete_set, modified, snap_colls)
  local ntx = #tx_new
  local last_m, spec, last_base, map
  local sid = rawget(session, "_sid")
  for i = 1, #states do
    local st = states[i]
    local m = rawget(st, "mapper")
    if m ~= last_m then
      spec = spec_of(m)
      last_m = m
    end
    local pkk = spec[1]
    local key
    if #pkk == 1 then
      local v = rawget(rawget(st, "dict"), pkk[1])
      local t = type(v)
      if t == "number" then
        if v ~= v then key = nan else key = v end
      elseif t == "string" then
        key = v
      elseif v ~= nil then
        key = key_of(st)
      end
    else
      key = key_of(st)
    end
    if key == nil then return i end
    -- the snapshot first: the fields it drops make room for the key
    if delete_set[st] == nil and in_session(st, session, sid) then
      snapshot_state(st, spec, nil, modified, snap_colls)
    end
    rawset(st, "key", key)
    local base = spec[2]
    if base ~= last_base then
      last_base = base
      map = rawget(imaps, base)
      if map == nil then map = map_of(st) end
    end
    map[key] = rawget(st, "obj")
    ntx = ntx + 1
    tx_new[ntx] = st
    if spec[3] then expire_exprs(st) end
  end
  return 0
end

--- See c/orm/finish.c core.finish_snapshots.
function M.finish_snapshots(states, session, delete_set, modified, changed, spec_of, snap_colls, keyless)
  local last_m, spec
  local sid = rawget(session, "_sid")
  if changed == false then changed = nil end
  for i = 1, #states do
    local st = states[i]
    if not (keyless and rawget(st, "key") ~= nil) and delete_set[st] == nil and in_session(st, session, sid) then
      local m = rawget(st, "mapper")
      if m ~= last_m then
        spec = spec_of(m)
        last_m = m
      end
      snapshot_state(st, spec, changed, modified, snap_colls)
    end
  end
end

return M
