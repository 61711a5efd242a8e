/*
** cachekey.c: the structural cache key of a statement (SQLAlchemy 1.4's
** cache-key idea). Two statements built the same way (equal structure,
** different bound values) get the same key, so the second compiles from the
** cache. The walk goes over every field of every node in sorted key order;
** tables, table columns and types are keyed by identity (they are long-lived
** schema objects; see put_id); bind parameters contribute their shape, not their value,
** and are returned in walk order so their values can be collected.
**
** A key never leaves structure out: every field of every node is walked,
** however many there are. A statement the walk cannot key completely (a
** table with keys that are neither strings nor a 1..n sequence, or nodes
** nesting deeper than the compiler's own limit QS_MAX_DEPTH) gets no key: it
** is compiled without the cache, so the cache never refuses what the
** compiler takes (and the compiler names the limit when it is passed).
**
** core.cache_key(stmt [, prefix]) -> key, binds   (key nil: not cacheable;
** prefix, a string, starts the key: the caller's dialect and signature
** without a second string made per call)
**
** Frozen lists: a plain table given to core.cache_key_freeze(t) is one the
** SQL layer never changes again (a select(Model)'s shared columns list).
** Its part of the key is kept after the first walk (in a weak-keyed
** registry table) and written as it is by every later walk, when that part
** is self-contained: no bind nodes (their values are per statement), no
** node recorded for back-references (their ordinals depend on the walk).
** The depths it spans are kept with it, so a deep statement still gets no
** key exactly where the walk would have given none.
*/
#include "compile.h"

#include <stdlib.h>
#include <string.h>

/* Nodes nest at most QS_MAX_DEPTH deep, as in the compiler; the plain
** tables between them (lists, pairs) at most this many levels in all. */
#define MAX_TABLE_DEPTH (3 * QS_MAX_DEPTH)
#define SMALL_KEYS 64   /* field names sorted on the C stack; more grow a userdata */
#define KEY_SMALL 1024  /* key bytes on the C stack; a longer key moves to a buffer userdata */
#define SMALL_SEEN 16   /* nodes recorded on the C stack; more go to a table */

typedef struct walk {
  lua_State *L;
  /* the key: p is small (the C stack) until it outgrows it, then heap's */
  char *p;
  size_t len, cap;
  qs_buf *heap;
  int heap_slot;   /* the stack slot anchoring heap */
  int failed;      /* out of memory */
  char small[KEY_SMALL];
  const void *seen_small[SMALL_SEEN];   /* the first nodes recorded, ordinal = index + 1 */
  int binds;      /* list of BIND nodes, walk order */
  int nbinds;
  int depth;       /* tables */
  int ndepth;      /* nodes */
  int seen;       /* node -> ordinal past SMALL_SEEN (a table made when needed): a node
                  ** met again is written as a back-reference */
  int nseen;
  int uncacheable; /* something could not be keyed: the statement gets no key */
  int ids;         /* the weak table of serials for objects keyed by identity */
  int frozen;      /* the weak table of frozen lists: true, or their kept part */
  int backrefs;    /* back-references written */
  int maxdepth;    /* the deepest `depth` reached */
  int maxndepth;   /* the deepest `ndepth` checked against the limit (-1: none yet) */
} walk;

/* Room for n more key bytes: the key moves to a buffer userdata when it
** outgrows the C stack array. 0 when memory ran out (sticky). */
static int kgrow(walk *w, size_t n) {
  if (w->failed) return 0;
  if (w->heap == NULL) {
    w->heap = qsB_newbuf(w->L);
    lua_replace(w->L, w->heap_slot);
    if (qs_buf_append(w->heap, w->p, w->len) != QS_OK) {
      w->failed = 1;
      return 0;
    }
  }
  w->heap->len = w->len;
  if (qs_buf_reserve(w->heap, n) != QS_OK) {
    w->failed = 1;
    return 0;
  }
  w->p = w->heap->p;
  w->cap = w->heap->cap - 1;
  return 1;
}

static void kput(walk *w, const void *s, size_t n) {
  if (n > w->cap - w->len && !kgrow(w, n)) return;
  memcpy(w->p + w->len, s, n);
  w->len += n;
}

static void kputc(walk *w, char c) {
  if (w->len == w->cap && !kgrow(w, 1)) return;
  w->p[w->len++] = c;
}

static void kputs(walk *w, const char *s) { kput(w, s, strlen(s)); }

/* Fields that are derived (from fields that are walked), back-references,
** or carried for the executor; skipped. */
static int skipped(const char *k) {
  /* by the first two characters: a field is out after at most three
  ** comparisons, most fields after none */
  switch (k[0]) {
    case '_':
      switch (k[1]) {
        case 'c': return strcmp(k, "_compiled") == 0;
        case 'r': return strcmp(k, "_root") == 0;
        case 'l': return strcmp(k, "_last_joined") == 0;
        case 'o': return strcmp(k, "_original") == 0 || strcmp(k, "_options") == 0;
        case 'p': return strcmp(k, "_proxied") == 0;
        case 'f': return strcmp(k, "_froms") == 0;
        /* what the ORM reads at execution; the SQL does not depend on them */
        case 'e': return strcmp(k, "_entities") == 0 || strcmp(k, "_execution_options") == 0 ||
                         strcmp(k, "_entity_class") == 0;
        default: return 0;
      }
    case 'c': return k[1] == '\0';
    case 'm': return strcmp(k, "metadata") == 0;
    case 'e': return strcmp(k, "excluded") == 0;
    case 'i': return strcmp(k, "inserted") == 0 || strcmp(k, "info") == 0;
    case 'f': return strcmp(k, "foreign_keys") == 0;
    default: return 0;
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void value(walk *w, int idx);

/* An object keyed by identity (schema table, column, type, function): tag
** and its serial number. Not its address: once the object is collected the
** allocator may give the address to another one, which would then share
** the cached entries of the first. Serials come from a weak-keyed registry
** table (object -> serial; its [0] holds the last serial given) and are
** never given twice. */
static void put_id(walk *w, char tag, int idx) {
  lua_State *L = w->L;
  lua_Integer id;
  if (lua_isnil(L, idx)) {
    kputc(w, tag);
    kputc(w, '~');
    return;
  }
  switch (lua_type(L, idx)) {
    case LUA_TTABLE: case LUA_TFUNCTION: case LUA_TUSERDATA: case LUA_TTHREAD: break;
    default:
      /* a number, string or boolean where an object belongs (a bind's type):
      ** not keyed by identity (NaN is no key; a weak table never drops
      ** a value): compiled without the cache, which says what is wrong */
      w->uncacheable = 1;
      return;
  }
  lua_pushvalue(L, idx);
  if (qsL_rawget(L, w->ids) == LUA_TNUMBER) {
    id = lua_tointeger(L, -1);
  } else {
    lua_rawgeti(L, w->ids, 0);
    id = lua_tointeger(L, -1) + 1;
    lua_pop(L, 1);
    lua_pushinteger(L, id);
    lua_rawseti(L, w->ids, 0);
    lua_pushvalue(L, idx);
    lua_pushinteger(L, id);
    lua_rawset(L, w->ids);
  }
  lua_pop(L, 1);
  kputc(w, tag);
  kput(w, (const char *)&id, sizeof id);
}

/* The registry's weak-keyed table of frozen lists, pushed. */
static void push_frozen(lua_State *L) {
  if (qsL_getfield(L, LUA_REGISTRYINDEX, "quicksilver.cachekey.frozen") == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "quicksilver.cachekey.frozen");
}

/* The registry's weak-keyed table of serials, pushed. */
static void push_ids(lua_State *L) {
  if (qsL_getfield(L, LUA_REGISTRYINDEX, "quicksilver.cachekey.ids") == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushinteger(L, 0);
  lua_rawseti(L, -2, 0);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "quicksilver.cachekey.ids");
}

/* Whether the key at the top of the stack is an integer in 1..n (the
** sequence part, walked in order). */
static int in_sequence(lua_State *L, int n) {
  lua_Integer i;
  if (lua_type(L, -1) != LUA_TNUMBER || !qsL_isinteger(L, -1)) return 0;
  i = lua_tointeger(L, -1);
  return i >= 1 && i <= n;
}

/* A node or plain table: its fields in sorted order (string keys), then
** its array part. Any other key (a hole in a list, a table as key) cannot
** be ordered by structure: the statement is marked uncacheable. */
static void table_fields_many(walk *w, int idx, int skip_columns) {
  lua_State *L = w->L;
  const char *small[SMALL_KEYS];
  const char **keys = small;
  int nkeys = 0, cap = SMALL_KEYS, anchors = 0, i, n;
  n = (int)lua_rawlen(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t klen;
      const char *k = lua_tolstring(L, -1, &klen);
      if (strlen(k) != klen) {   /* a NUL inside: written and read back by name, it would be cut */
        w->uncacheable = 1;
        continue;
      }
      if (skipped(k) || (skip_columns && strcmp(k, "columns") == 0)) continue;
      if (nkeys == cap) {
        /* more fields than the stack array holds: a bigger array in a
        ** userdata (collected even if the walk raises), kept below the key */
        const char **bigger;
        luaL_checkstack(L, 2, "cache key");
        bigger = (const char **)lua_newuserdata(L, sizeof *keys * (size_t)cap * 2);
        memcpy(bigger, keys, sizeof *keys * (size_t)nkeys);
        lua_insert(L, -2);
        anchors++;
        keys = bigger;
        cap *= 2;
      }
      keys[nkeys++] = k;   /* anchored by the table */
    } else if (!in_sequence(L, n)) {
      w->uncacheable = 1;
    }
  }
  qsort(keys, (size_t)nkeys, sizeof keys[0], cmp_str);
  for (i = 0; i < nkeys; i++) {
    kputs(w, keys[i]);
    kputc(w, '=');
    lua_getfield(L, idx, keys[i]);
    value(w, lua_gettop(L));
    lua_pop(L, 1);
    kputc(w, ';');
  }
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    value(w, lua_gettop(L));
    lua_pop(L, 1);
    kputc(w, ',');
  }
  lua_pop(L, anchors);
}

/* table_fields for a table of at most STACK_FIELDS keyed fields (every
** node): the fields' names and values kept on the Lua stack as lua_next
** gives them (no look-up by name again), sorted by insertion. More fields,
** or deeper than STACK_DEPTH tables (the kept pairs stay on the stack below
** the walk of their values, and LuaJIT allows one C call 8,000 slots):
** table_fields_many. */
#define STACK_FIELDS 16
#define STACK_DEPTH 64

static void table_fields(walk *w, int idx, int skip_columns) {
  lua_State *L = w->L;
  struct {
    const char *k;   /* anchored by the key kept on the stack */
    int at;          /* the value's stack index */
  } kept[STACK_FIELDS], tmp;
  int nkept = 0, i, j, n, base = lua_gettop(L), overflow = 0;
  if (w->depth > STACK_DEPTH) {
    table_fields_many(w, idx, skip_columns);
    return;
  }
  n = (int)lua_rawlen(L, idx);
  luaL_checkstack(L, 2 * STACK_FIELDS + 4, "cache key");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      size_t klen;
      const char *k = lua_tolstring(L, -2, &klen);
      if (strlen(k) != klen) {   /* a NUL inside: written and read back by name, it would be cut */
        w->uncacheable = 1;
        lua_pop(L, 1);
        continue;
      }
      if (skipped(k) || (skip_columns && strcmp(k, "columns") == 0)) {
        lua_pop(L, 1);
        continue;
      }
      if (nkept == STACK_FIELDS) {
        overflow = 1;
        break;
      }
      kept[nkept].k = k;
      kept[nkept].at = lua_gettop(L);
      nkept++;
      lua_pushvalue(L, -2);   /* the key again, for lua_next; the pair stays */
    } else {
      lua_pop(L, 1);
      if (!in_sequence(L, n)) w->uncacheable = 1;
    }
  }
  if (overflow) {
    lua_settop(L, base);
    table_fields_many(w, idx, skip_columns);
    return;
  }
  for (i = 1; i < nkept; i++) {
    tmp = kept[i];
    for (j = i - 1; j >= 0 && strcmp(kept[j].k, tmp.k) > 0; j--) kept[j + 1] = kept[j];
    kept[j + 1] = tmp;
  }
  for (i = 0; i < nkept; i++) {
    kputs(w, kept[i].k);
    kputc(w, '=');
    value(w, kept[i].at);
    kputc(w, ';');
  }
  lua_settop(L, base);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    value(w, lua_gettop(L));
    lua_pop(L, 1);
    kputc(w, ',');
  }
}

static void node(walk *w, int idx, int kind) {
  lua_State *L = w->L;
  switch (kind) {
    case QSK_TABLE:
      put_id(w, 'T', idx);
      return;
    case QSK_COLUMN:
      /* a schema table's column is long-lived: its identity is its key */
      lua_getfield(L, idx, "table");
      if (qsC_kind(L, -1) == QSK_TABLE) {
        lua_pop(L, 1);
        put_id(w, 'C', idx);
        return;
      }
      lua_pop(L, 1);
      break;
    case QSK_BIND: {
      /* shape only: anonymous or named, the key, the type; the value is data */
      const char *key;
      size_t klen = 0;
      lua_getfield(L, idx, "anon");
      kputs(w, lua_toboolean(L, -1) ? "Ba" : "Bn");
      lua_getfield(L, idx, "expanding");   /* a list per execution (expand.c) */
      if (lua_toboolean(L, -1)) kputc(w, 'e');
      lua_pop(L, 1);
      lua_getfield(L, idx, "key");
      key = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &klen) : NULL;
      if (key == NULL && !lua_isnil(L, -1)) w->uncacheable = 1;   /* the compiler says what is wrong */
      kput(w, (const char *)&klen, sizeof klen);   /* length first: no ambiguity */
      if (key) kput(w, key, klen);
      lua_getfield(L, idx, "type");
      put_id(w, ':', lua_gettop(L));
      lua_pop(L, 3);
      lua_pushvalue(L, idx);
      lua_rawseti(L, w->binds, ++w->nbinds);
      return;
    }
    default:
      break;
  }
  /* a node met again (an alias referred to by each of its columns) */
  {
    const void *ptr = lua_topointer(L, idx);   /* the node is anchored by the tree */
    int ord = 0, i, n = w->nseen < SMALL_SEEN ? w->nseen : SMALL_SEEN;
    for (i = 0; i < n; i++) {
      if (w->seen_small[i] == ptr) {
        ord = i + 1;
        break;
      }
    }
    if (ord == 0 && w->nseen > SMALL_SEEN) {
      lua_pushvalue(L, idx);
      if (qsL_rawget(L, w->seen) == LUA_TNUMBER) ord = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    if (ord) {
      kputc(w, '@');
      kput(w, (const char *)&ord, sizeof ord);
      w->backrefs++;
      return;
    }
    if (w->nseen < SMALL_SEEN) {
      w->seen_small[w->nseen++] = ptr;
    } else {
      if (w->nseen == SMALL_SEEN) {
        lua_newtable(L);
        lua_replace(L, w->seen);
      }
      lua_pushvalue(L, idx);
      lua_pushinteger(L, ++w->nseen);
      lua_rawset(L, w->seen);
    }
  }
  kputc(w, '(');
  kputc(w, (char)kind);
  /* the columns of an alias, CTE or join follow from its element */
  table_fields(w, idx, kind == QSK_ALIAS || kind == QSK_CTE || kind == QSK_JOIN);
  kputc(w, ')');
}

/* A frozen list (see the top): its kept part written, or walked and kept
** when self-contained; returns 0 for any other table (walked as usual). */
static int frozen_list(walk *w, int idx) {
  lua_State *L = w->L;
  int t;
  lua_pushvalue(L, idx);
  t = qsL_rawget(L, w->frozen);
  if (t == LUA_TSTRING) {
    /* kept: two bytes of depths it spans, then the part */
    size_t n;
    const char *p = lua_tolstring(L, -1, &n);
    int rel_t = (unsigned char)p[0], rel_n = (unsigned char)p[1];   /* 255: no node inside */
    if (w->depth + rel_t > MAX_TABLE_DEPTH || (rel_n != 255 && w->ndepth + rel_n > QS_MAX_DEPTH)) {
      w->uncacheable = 1;   /* where the walk would have stopped too */
    } else {
      if (w->depth + rel_t > w->maxdepth) w->maxdepth = w->depth + rel_t;
      if (rel_n != 255 && w->ndepth + rel_n > w->maxndepth) w->maxndepth = w->ndepth + rel_n;
      kput(w, p + 2, n - 2);
    }
    lua_pop(L, 1);
    return 1;
  }
  lua_pop(L, 1);
  if (t == LUA_TNIL) return 0;
  {
    size_t start = w->len;
    int nbinds = w->nbinds, nseen = w->nseen, backrefs = w->backrefs;
    int maxdepth = w->maxdepth, maxndepth = w->maxndepth, rel_t, rel_n;
    w->maxdepth = w->depth;
    w->maxndepth = -1;
    kputc(w, '{');
    table_fields(w, idx, 0);
    kputc(w, '}');
    rel_t = w->maxdepth - w->depth;
    rel_n = w->maxndepth < 0 ? 255 : w->maxndepth - w->ndepth;
    if (!w->uncacheable && !w->failed && nbinds == w->nbinds && nseen == w->nseen &&
        backrefs == w->backrefs && rel_t < 256 && (rel_n == 255 || rel_n < 254)) {
      luaL_Buffer kb;
      char depths[2];
      depths[0] = (char)rel_t;
      depths[1] = (char)rel_n;
      luaL_checkstack(L, 4, "cache key");
      lua_pushvalue(L, idx);
      luaL_buffinit(L, &kb);
      luaL_addlstring(&kb, depths, 2);
      luaL_addlstring(&kb, w->p + start, w->len - start);
      luaL_pushresult(&kb);
      lua_rawset(L, w->frozen);
    }
    if (maxdepth > w->maxdepth) w->maxdepth = maxdepth;
    if (maxndepth > w->maxndepth) w->maxndepth = maxndepth;
  }
  return 1;
}

static void value(walk *w, int idx) {
  lua_State *L = w->L;
  if (w->uncacheable) return;   /* the key is not used: stop walking */
  if (w->depth + 1 > MAX_TABLE_DEPTH) {
    w->uncacheable = 1;   /* compiled without the cache instead */
    return;
  }
  w->depth++;
  if (w->depth > w->maxdepth) w->maxdepth = w->depth;
  luaL_checkstack(L, 8, "cache key");
  switch (lua_type(L, idx)) {
    case LUA_TNIL: kputc(w, '~'); break;
    case LUA_TBOOLEAN: kputc(w, lua_toboolean(L, idx) ? 'T' : 'F'); break;
    case LUA_TNUMBER:
      if (qsL_isinteger(L, idx)) {   /* operator codes and kinds: no string made */
        int64_t v = qsL_toint64(L, idx);
        kputc(w, '#');
        kput(w, (const char *)&v, sizeof v);
      } else {
        lua_Number x = lua_tonumber(L, idx);
        kputc(w, '%');
        kput(w, (const char *)&x, sizeof x);
      }
      break;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      kputc(w, '\'');
      kput(w, (const char *)&n, sizeof n);   /* length first: no ambiguity */
      kput(w, s, n);
      break;
    }
    case LUA_TTABLE: {
      int kind = qsC_kind(L, idx);
      /* a type is keyed by identity; a type is never a node (no `_k`), so
      ** nodes skip the look-up (a miss up their whole class chain) */
      if (!kind) {
        lua_getfield(L, idx, "_is_type");
        if (lua_toboolean(L, -1)) {
          lua_pop(L, 1);
          put_id(w, 'Y', idx);
          break;
        }
        lua_pop(L, 1);
      }
      if (kind) {
        if (w->ndepth > w->maxndepth) w->maxndepth = w->ndepth;
        if (w->ndepth > QS_MAX_DEPTH) {   /* the root and QS_MAX_DEPTH levels below it */
          w->uncacheable = 1;   /* the compiler will name its limit */
          break;
        }
        w->ndepth++;
        node(w, idx, kind);
        w->ndepth--;
      } else if (frozen_list(w, idx)) {
        break;
      } else {
        /* a plain table (lists, options) or a sentinel with a metatable */
        if (lua_getmetatable(L, idx)) {
          lua_pop(L, 1);
          lua_getfield(L, idx, "_is_clause");
          if (!lua_toboolean(L, -1) && lua_rawlen(L, idx) == 0) {
            lua_pop(L, 1);
            put_id(w, 'S', idx);   /* qs.null, qs.unbounded, ... */
            break;
          }
          lua_pop(L, 1);
        }
        kputc(w, '{');
        table_fields(w, idx, 0);
        kputc(w, '}');
      }
      break;
    }
    default:
      put_id(w, 'F', idx);
  }
  w->depth--;
}

static int l_cache_key(lua_State *L) {
  walk w;
  size_t plen = 0;
  const char *prefix;
  luaL_checktype(L, 1, LUA_TTABLE);
  prefix = luaL_optlstring(L, 2, NULL, &plen);
  lua_settop(L, 2);
  w.L = L;
  w.p = w.small;
  w.len = 0;
  w.cap = KEY_SMALL;
  w.heap = NULL;
  w.failed = 0;
  lua_pushnil(L);   /* the slot of the key's buffer, if it outgrows w.small */
  w.heap_slot = lua_gettop(L);
  if (prefix) kput(&w, prefix, plen);
  lua_createtable(L, 4, 0);
  w.binds = lua_gettop(L);
  w.nbinds = 0;
  lua_pushnil(L);   /* the slot of the seen table, if more than SMALL_SEEN nodes */
  w.seen = lua_gettop(L);
  push_ids(L);
  w.ids = lua_gettop(L);
  push_frozen(L);
  w.frozen = lua_gettop(L);
  w.backrefs = 0;
  w.maxdepth = 0;
  w.maxndepth = -1;
  w.nseen = 0;
  w.depth = 0;
  w.ndepth = 0;
  w.uncacheable = 0;
  value(&w, 1);
  if (w.failed) return qsB_raise(L, QS_NOMEM, "out of memory");
  if (w.uncacheable) lua_pushnil(L);
  else lua_pushlstring(L, w.p, w.len);
  lua_pushvalue(L, w.binds);
  return 2;
}

/* core.cache_key_freeze(t): t, a plain table, is never changed again; its
** part of every key is kept after its first walk. Returns t. */
static int l_cache_key_freeze(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  push_frozen(L);
  lua_pushvalue(L, 1);
  if (qsL_rawget(L, 2) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushvalue(L, 1);
    lua_pushboolean(L, 1);
    lua_rawset(L, 2);
  }
  lua_settop(L, 1);
  return 1;
}

void qsB_open_cachekey(lua_State *L) {
  lua_pushcfunction(L, l_cache_key);
  lua_setfield(L, -2, "cache_key");
  lua_pushcfunction(L, l_cache_key_freeze);
  lua_setfield(L, -2, "cache_key_freeze");
}
