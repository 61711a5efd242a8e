/*
** layout.h: the ORM's Lua table layout that the accelerators (uow.c,
** load.c, finish.c) read and write, in one list: the fields of an instance state
** (orm/attributes.lua InstanceState), of a mapper, and of the load spec
** orm/loading.lua hands to core.load_objects.
**
** X(name, carriers, form, meaning)
**   carriers  state (an InstanceState), mapper (a Mapper), load_spec (the
**             spec argument of core.load_objects); space-separated
**   form      table, string, number, any
**   meaning   what it is, and which C function reads or writes it
**
** Exported to Lua as core.orm_fields[name] = {carriers = "...", form = ...,
** meaning = ...}. spec/contract_spec.lua fails when this list drifts from
** the field names uow.c, load.c and finish.c use, or from the tables the ORM makes.
*/
#ifndef QS_ORM_LAYOUT_H
#define QS_ORM_LAYOUT_H

#define QS_ORM_FIELDS(X)                                                                           \
  X(mapper, "state load_spec", "table", "the object's mapper (changed_collections reads it, load_objects writes it)") \
  X(obj, "state", "table", "the instance a state belongs to (load_objects writes it)")              \
  X(dict, "state", "table", "attribute -> current value, read raw; also the instance's metatable, holding the instance_mt metamethods and __index = itself, its own metatable the state (load_objects fills and lays it out; changed_collections reads one-to-ones' places from it)") \
  X(__index, "state", "any", "the mapper's miss function (instance_mt.__index), raw in the state, which is its value table's metatable: a key the value table lacks (load_objects writes it; on the value table __index is the table itself)") \
  X(key, "state", "any", "the identity key of a persistent object, its key in the session's map of its base mapper (orm/identity.lua; load_objects writes it): the primary-key value, a string for a composite key") \
  X(session, "state", "table", "the session the object is in, held weakly: read and written through InstanceState's metamethods (changed_collections compares it)") \
  X(_sid, "state", "number", "the id of the session the object is in, in attributes.lua's weak registry (load_objects writes it, read raw from the session)") \
  X(expired, "state", "table", "expired attributes: load_objects leaves such rows to Lua")          \
  X(loaded, "state", "table", "relationship -> true once loaded (changed_collections; made lazily by InstanceState.__index)") \
  X(snap, "state", "table", "collection -> the list as loaded or flushed (changed_collections; lazy too)") \
  X(_coll_rels, "mapper", "table", "the {key, uselist} list of collections the flush diffs (changed_collections)") \
  X(pk, "load_spec", "number", "the primary-key column's position in the entity's columns")        \
  X(keys, "load_spec", "table", "the attribute names loaded from the row")                         \
  X(positions, "load_spec", "table", "their column positions (parallel to keys)")                 \
  X(state_mt, "load_spec", "table", "the metatable of a new state (InstanceState)")                \
  X(instance_mt, "load_spec", "table", "the mapper's instance metamethods (__newindex, __tostring, __index: the miss function), copied into each value table") \
  X(state_key, "load_spec", "any", "the key under which an instance holds its state (attributes.STATE)") \
  /* finish.c (the flush's finish, the commit's expiry); what a mapper gives   \
  ** it, and the bookkeeping fields a full expiry drops, come from one list per \
  ** mapper made by orm/state_spec.lua */                                        \
  X(committed, "state", "table", "attribute -> its value before it changed since load or flush, only for changed ones (attributes.lua; finish_snapshots and expire_all forget entries, and drop the table when empty)") \
  X(modified, "state", "any", "true while the object has unflushed changes (finish_snapshots and expire_all set false)") \
  X(m2o_set, "state", "table", "many-to-one relationships set since the last flush (finish_snapshots clears it)") \
  X(colls, "state", "table", "collection (uselist) -> its loaded list, out of the value table so that every read runs the miss function (orm/autoflush.lua's read set); read raw by changed_collections, absent when none is loaded")

/*
** The insert spec of a mapper for one of its tables (c/orm/insert_rows.c
** reads it; orm/flush_insert.lua builds it once per mapper and table): a
** list, each field at its position. X(name, position, form, meaning);
** exported as core.insert_spec_fields[name] = position. Column numbers are
** positions in cols (1-based, at most 50 columns).
*/
#define QS_INSERT_SPEC(X)                                                                          \
  X(cols, 1, "table", "the attribute keys of the table's columns, each also its column key (the binder reads rawget(value table, key))") \
  X(defaults, 2, "table", "column number -> its scalar default, written into the value table when the object has no value") \
  X(pk, 3, "table", "the column numbers of the primary key")                                      \
  X(expire, 4, "table", "the column numbers the database fills in when not given (server or SQL defaults): expired after the flush") \
  X(defaulted, 5, "table", "the column numbers that have a scalar default (defaults)")          \
  X(last, 6, "boolean", "the mapper's last table: its objects count as inserted after it")       \
  X(poly_key, 7, "any", "the polymorphic identity's attribute key (nil: none)")                    \
  X(poly_value, 8, "any", "the polymorphic identity")                                              \
  X(version_key, 9, "any", "the version counter's attribute key (nil: none), 1 when not set")

/*
** The constructor spec of a mapper (c/orm/construct.c reads it; orm/mapper.lua
** builds it once per mapper and generation of properties, validators and
** __init): a list, each field at its position. X(name, position, form,
** meaning); exported as core.construct_spec_fields[name] = position.
*/
#define QS_CONSTRUCT_SPEC(X)                                                                       \
  X(mapper, 1, "table", "the mapper: each new state's mapper field")                              \
  X(state_mt, 2, "table", "the metatable of a new state (InstanceState)")                          \
  X(state_key, 3, "any", "the key under which an instance holds its state (attributes.STATE)")     \
  X(index, 4, "function", "the mapper's miss function (instance_mt.__index): each state's raw __index") \
  X(newindex, 5, "function", "instance_mt.__newindex, copied into each value table")              \
  X(tostring, 6, "function", "instance_mt.__tostring, copied into each value table")              \
  X(direct, 7, "table", "attribute -> true for the keys a constructor writes straight into the value table (columns, not read-only, without a validator)") \
  X(null, 8, "any", "elements.null: a field given as it is left out of the value table")           \
  X(dict_size, 9, "number", "the value table's hash size hint (its metamethods and the mapper's attributes)") \
  X(state_size, 10, "number", "the state's hash size hint")                                       \
  X(poly_key, 11, "any", "the polymorphic identity's attribute key (nil: none)")                   \
  X(poly_value, 12, "any", "the polymorphic identity written there")

#endif
