/*
** ljson.c: JSON for JSON columns, in C (no rock dependency, and no Lua call
** per value on the way in or out).
**
** Lua -> JSON: tables marked with the json_array metatable, or non-empty
** sequences, become arrays; other tables objects (string keys; integer keys
** outside a proper sequence are refused rather than guessed at);
** the json_null sentinel (and qs.null) is null; integers stay integers;
** NaN/inf, functions, userdata, and nesting deeper than 128 are refused.
** JSON -> Lua: arrays come back marked (so [] stays an array), null as the
** json_null sentinel, integers as Lua integers when they fit (other
** numbers, of any length, as the nearest double: decode_number).
*/
#include "lbinding.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>

#define QS_REG_JSON_NULL "quicksilver.json.null"
#define QS_REG_JSON_ARRAY "quicksilver.json.array_mt"
#define MAX_DEPTH 128

typedef struct enc {
  lua_State *L;
  qs_buf *b;
  int jnull, amt, sqlnull;   /* stack indexes of the sentinels */
  const char *err;
} enc;

static void put_string(qs_buf *b, const char *s, size_t n) {
  size_t i;
  qs_buf_putc(b, '"');
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
      case '"': qs_buf_puts(b, "\\\""); break;
      case '\\': qs_buf_puts(b, "\\\\"); break;
      case '\n': qs_buf_puts(b, "\\n"); break;
      case '\r': qs_buf_puts(b, "\\r"); break;
      case '\t': qs_buf_puts(b, "\\t"); break;
      case '\b': qs_buf_puts(b, "\\b"); break;
      case '\f': qs_buf_puts(b, "\\f"); break;
      default:
        if (c < 0x20) qs_buf_printf(b, "\\u%04x", c);
        else qs_buf_putc(b, (char)c);
    }
  }
  qs_buf_putc(b, '"');
}

/* The length of the sequence at idx when it is a proper one (keys 1..n and
** nothing else), else -1. */
static int sequence_length(lua_State *L, int idx) {
  lua_Integer n = 0, max = 0;   /* keys compared whole: 2^32 + 1 is not 1 */
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TNUMBER || !qsL_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
      lua_pop(L, 1);
      return -1;
    }
    if (lua_tointeger(L, -1) > max) max = lua_tointeger(L, -1);
    n++;
  }
  return n == max && n <= INT_MAX ? (int)n : -1;
}

/* A float in the fewest digits that read back as the same double (0.1, not
** 0.10000000000000001), always with a fraction or exponent so that it reads
** back a float: 2.0 stays 2.0 (Lua 5.4 keeps the subtype), -0.0 keeps its sign. */
static void put_double(qs_buf *b, double x) {
  char tmp[40];
  int prec;
  for (prec = 15; prec < 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, x);
    if (strtod(tmp, NULL) == x) break;
  }
  if (prec == 17) snprintf(tmp, sizeof tmp, "%.17g", x);
  qs_buf_puts(b, tmp);
  if (strpbrk(tmp, ".eE") == NULL) qs_buf_puts(b, ".0");
}

/* Whether s is a number as JSON writes one: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static int json_number_text(const char *s, size_t n) {
  size_t i = 0, d;
  if (i < n && s[i] == '-') i++;
  if (i >= n || s[i] < '0' || s[i] > '9') return 0;
  if (s[i] == '0') i++;
  else while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  if (i < n && s[i] == '.') {
    for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {}
    if (i == d) return 0;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {}
    if (i == d) return 0;
  }
  return i == n;
}

/* A decimal (sql/decimal.lua) is a JSON number of its exact text. */
static int encode_decimal(enc *e, int idx) {
  size_t n = 0;
  const char *s = qsB_decimal_text(e->L, idx, &n);
  if (s == NULL || !json_number_text(s, n)) {
    e->err = "a decimal whose text is not a JSON number (1.5, not 1. or .5 or +1)";
    return -1;
  }
  qs_buf_append(e->b, s, n);
  return 0;
}

static int encode(enc *e, int idx, int depth) {
  lua_State *L = e->L;
  idx = lua_absindex(L, idx);
  if (depth > MAX_DEPTH) { e->err = "nested too deeply (or a cycle)"; return -1; }
  switch (lua_type(L, idx)) {
    case LUA_TNIL: qs_buf_puts(e->b, "null"); return 0;
    case LUA_TBOOLEAN: qs_buf_puts(e->b, lua_toboolean(L, idx) ? "true" : "false"); return 0;
    case LUA_TNUMBER:
      /* -0.0 is an integral value to LuaJIT's test: kept a float for its sign */
      if (qsL_isinteger(L, idx) && !(lua_tonumber(L, idx) == 0 && signbit(lua_tonumber(L, idx)))) {
        qs_buf_printf(e->b, "%lld", (long long)qsL_toint64(L, idx));
      } else {
        double x = lua_tonumber(L, idx);
        if (!isfinite(x)) { e->err = "NaN and infinity have no JSON form"; return -1; }
        put_double(e->b, x);
      }
      return 0;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      put_string(e->b, s, n);
      return 0;
    }
    case LUA_TTABLE: {
      int is_array, n, i, first = 1;
      if (lua_rawequal(L, idx, e->jnull) || lua_rawequal(L, idx, e->sqlnull)) {
        qs_buf_puts(e->b, "null");
        return 0;
      }
      luaL_checkstack(L, 6, "JSON nesting");
      is_array = 0;
      if (lua_getmetatable(L, idx)) {
        is_array = lua_rawequal(L, -1, e->amt);
        lua_pop(L, 1);
      }
      n = sequence_length(L, idx);
      if (is_array || n > 0) {
        if (n < 0) { e->err = "an array has keys other than 1..n"; return -1; }
        qs_buf_putc(e->b, '[');
        for (i = 1; i <= n; i++) {
          if (i > 1) qs_buf_putc(e->b, ',');
          lua_rawgeti(L, idx, i);
          if (encode(e, -1, depth + 1) < 0) return -1;
          lua_pop(L, 1);
        }
        qs_buf_putc(e->b, ']');
        return 0;
      }
      qs_buf_putc(e->b, '{');
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        size_t kn;
        const char *k;
        int kt = lua_type(L, -2);
        if (kt != LUA_TSTRING && (kt != LUA_TNUMBER || qsL_isinteger(L, -2))) {
          lua_pop(L, 2);
          e->err = kt == LUA_TNUMBER ? "an array has holes, or integer keys mixed with others"
                                     : "object keys must be strings";
          return -1;
        }
        lua_pushvalue(L, -2);
        k = lua_tolstring(L, -1, &kn);   /* on the copy: keeps lua_next's key intact */
        if (!first) qs_buf_putc(e->b, ',');
        first = 0;
        put_string(e->b, k, kn);
        qs_buf_putc(e->b, ':');
        lua_pop(L, 1);
        if (encode(e, -1, depth + 1) < 0) { lua_pop(L, 2); return -1; }
        lua_pop(L, 1);
      }
      qs_buf_putc(e->b, '}');
      return 0;
    }
    case LUA_TUSERDATA:
      if (qsB_is_decimal(L, idx)) return encode_decimal(e, idx);
      e->err = "functions, userdata and threads have no JSON form";
      return -1;
    default:
      e->err = "functions, userdata and threads have no JSON form";
      return -1;
  }
}

/* Encodes the value at idx, leaving the JSON string on the stack; returns
** NULL, or the reason on failure (nothing pushed). Used by bind checks. */
const char *qsB_json_encode(lua_State *L, int idx) {
  enc e;
  idx = lua_absindex(L, idx);
  lua_getfield(L, LUA_REGISTRYINDEX, QS_REG_JSON_NULL);
  e.jnull = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, QS_REG_JSON_ARRAY);
  e.amt = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_NULL);
  e.sqlnull = lua_gettop(L);
  e.L = L;
  e.err = NULL;
  e.b = qsB_newbuf(L);
  if (encode(&e, idx, 0) < 0) {
    lua_settop(L, e.jnull - 1);
    return e.err;
  }
  lua_pushlstring(L, e.b->p ? e.b->p : "", e.b->len);
  lua_replace(L, e.jnull);
  lua_settop(L, e.jnull);
  return NULL;
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct dec {
  lua_State *L;
  const char *p, *end;
  int jnull, amt;
  const char *err;
} dec;

static void skip_ws(dec *d) {
  while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r')) d->p++;
}

static int fail(dec *d, const char *msg) {
  if (!d->err) d->err = msg;
  return -1;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static void put_utf8(qs_buf *b, unsigned cp) {
  if (cp < 0x80) qs_buf_putc(b, (char)cp);
  else if (cp < 0x800) {
    qs_buf_putc(b, (char)(0xC0 | (cp >> 6)));
    qs_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    qs_buf_putc(b, (char)(0xE0 | (cp >> 12)));
    qs_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    qs_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
  } else {
    qs_buf_putc(b, (char)(0xF0 | (cp >> 18)));
    qs_buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
    qs_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    qs_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
  }
}

static int decode_string(dec *d) {
  qs_buf *b;
  d->p++;   /* the opening quote */
  b = qsB_newbuf(d->L);
  while (d->p < d->end && *d->p != '"') {
    char c = *d->p++;
    if ((unsigned char)c < 0x20) return fail(d, "control character in a string");
    if (c != '\\') { qs_buf_putc(b, c); continue; }
    if (d->p >= d->end) return fail(d, "unterminated escape");
    c = *d->p++;
    switch (c) {
      case '"': qs_buf_putc(b, '"'); break;
      case '\\': qs_buf_putc(b, '\\'); break;
      case '/': qs_buf_putc(b, '/'); break;
      case 'b': qs_buf_putc(b, '\b'); break;
      case 'f': qs_buf_putc(b, '\f'); break;
      case 'n': qs_buf_putc(b, '\n'); break;
      case 'r': qs_buf_putc(b, '\r'); break;
      case 't': qs_buf_putc(b, '\t'); break;
      case 'u': {
        unsigned cp, lo;
        if (d->end - d->p < 4 || hex4(d->p, &cp) < 0) return fail(d, "bad \\u escape");
        d->p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {   /* a surrogate pair */
          if (d->end - d->p < 6 || d->p[0] != '\\' || d->p[1] != 'u' || hex4(d->p + 2, &lo) < 0 ||
              lo < 0xDC00 || lo > 0xDFFF)
            return fail(d, "unpaired surrogate");
          d->p += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        put_utf8(b, cp);
        break;
      }
      default: return fail(d, "bad escape");
    }
  }
  if (d->p >= d->end) return fail(d, "unterminated string");
  d->p++;
  lua_pushlstring(d->L, b->p ? b->p : "", b->len);
  lua_remove(d->L, -2);   /* the buffer */
  return 0;
}

/* A number of any length (valid JSON has no limit): an integer that fits
** 64 bits is a Lua integer; anything else (a fraction, an exponent, or an
** integer beyond 64 bits) is the nearest double, as cjson and LuaJIT's
** decoders do: a huge integer loses digits rather than being refused.
** Short numbers are copied to the stack; longer ones to the heap, freed
** before anything can raise. */
static int decode_number(dec *d) {
  const char *s = d->p;
  int is_float = 0, bad = 0;
  char tmp[64], *num = tmp;
  size_t n;
  if (d->p < d->end && *d->p == '-') d->p++;
  while (d->p < d->end && ((*d->p >= '0' && *d->p <= '9') || *d->p == '.' || *d->p == 'e' ||
                           *d->p == 'E' || *d->p == '+' || *d->p == '-')) {
    if (*d->p == '.' || *d->p == 'e' || *d->p == 'E') is_float = 1;
    d->p++;
  }
  n = (size_t)(d->p - s);
  if (n == 0) return fail(d, "bad number");
  if (n >= sizeof tmp) {
    num = (char *)malloc(n + 1);
    if (!num) return fail(d, "out of memory");
  }
  memcpy(num, s, n);
  num[n] = '\0';
  if (!is_float) {
    char *endp;
    long long v;
    errno = 0;
    v = strtoll(num, &endp, 10);
    if (errno == 0 && *endp == '\0') {
      if (num != tmp) free(num);
      qsL_pushint64(d->L, v);
      return 0;
    }
  }
  {
    char *endp;
    double x = strtod(num, &endp);
    bad = *endp != '\0';
    if (num != tmp) free(num);
    if (bad) return fail(d, "bad number");
    lua_pushnumber(d->L, x);
  }
  return 0;
}

static int decode_value(dec *d, int depth) {
  lua_State *L = d->L;
  skip_ws(d);
  if (d->p >= d->end) return fail(d, "unexpected end of JSON");
  if (depth > MAX_DEPTH) return fail(d, "nested too deeply");
  luaL_checkstack(L, 6, "JSON nesting");
  switch (*d->p) {
    case '{': {
      d->p++;
      lua_newtable(L);
      skip_ws(d);
      if (d->p < d->end && *d->p == '}') { d->p++; return 0; }
      for (;;) {
        skip_ws(d);
        if (d->p >= d->end || *d->p != '"') return fail(d, "expected a string key");
        if (decode_string(d) < 0) return -1;
        skip_ws(d);
        if (d->p >= d->end || *d->p != ':') return fail(d, "expected ':'");
        d->p++;
        if (decode_value(d, depth + 1) < 0) return -1;
        lua_rawset(L, -3);
        skip_ws(d);
        if (d->p < d->end && *d->p == ',') { d->p++; continue; }
        if (d->p < d->end && *d->p == '}') { d->p++; return 0; }
        return fail(d, "expected ',' or '}'");
      }
    }
    case '[': {
      int i = 0;
      d->p++;
      lua_newtable(L);
      lua_pushvalue(L, d->amt);
      lua_setmetatable(L, -2);
      skip_ws(d);
      if (d->p < d->end && *d->p == ']') { d->p++; return 0; }
      for (;;) {
        if (decode_value(d, depth + 1) < 0) return -1;
        lua_rawseti(L, -2, ++i);
        skip_ws(d);
        if (d->p < d->end && *d->p == ',') { d->p++; continue; }
        if (d->p < d->end && *d->p == ']') { d->p++; return 0; }
        return fail(d, "expected ',' or ']'");
      }
    }
    case '"': return decode_string(d);
    case 't':
      if (d->end - d->p >= 4 && memcmp(d->p, "true", 4) == 0) { d->p += 4; lua_pushboolean(L, 1); return 0; }
      return fail(d, "bad literal");
    case 'f':
      if (d->end - d->p >= 5 && memcmp(d->p, "false", 5) == 0) { d->p += 5; lua_pushboolean(L, 0); return 0; }
      return fail(d, "bad literal");
    case 'n':
      if (d->end - d->p >= 4 && memcmp(d->p, "null", 4) == 0) { d->p += 4; lua_pushvalue(L, d->jnull); return 0; }
      return fail(d, "bad literal");
    default:
      if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9')) return decode_number(d);
      return fail(d, "unexpected character");
  }
}

/* Decodes JSON text s into a Lua value pushed on the stack; returns NULL or
** the reason (with nothing pushed). */
const char *qsB_json_decode(lua_State *L, const char *s, size_t n) {
  dec d;
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, QS_REG_JSON_NULL);
  d.jnull = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, QS_REG_JSON_ARRAY);
  d.amt = lua_gettop(L);
  d.L = L;
  d.p = s;
  d.end = s + n;
  d.err = NULL;
  if (decode_value(&d, 0) == 0) {
    skip_ws(&d);
    if (d.p != d.end) d.err = "trailing characters after JSON";
  }
  if (d.err) {
    lua_settop(L, top);
    return d.err;
  }
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
  return NULL;
}

/* core.json_encode(v) -> string; raises ArgumentError naming the problem. */
static int l_encode(lua_State *L) {
  const char *err;
  luaL_checkany(L, 1);
  err = qsB_json_encode(L, 1);
  if (err) {
    lua_pushfstring(L, "cannot encode as JSON: %s", err);
    return qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
  }
  return 1;
}

/* core.json_decode(s) -> value; raises DataError on invalid JSON. */
static int l_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *err = qsB_json_decode(L, s, n);
  if (err) {
    lua_pushfstring(L, "invalid JSON: %s", err);
    return qsB_raise(L, QS_DATA, lua_tostring(L, -1));
  }
  return 1;
}

/* core.set_json(json_null, array_metatable) */
static int l_set_json(lua_State *L) {
  luaL_checkany(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_pushvalue(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, QS_REG_JSON_NULL);
  lua_pushvalue(L, 2);
  lua_setfield(L, LUA_REGISTRYINDEX, QS_REG_JSON_ARRAY);
  return 0;
}

void qsB_open_json(lua_State *L) {
  static const luaL_Reg f[] = {{"json_encode", l_encode}, {"json_decode", l_decode},
                               {"set_json", l_set_json}, {NULL, NULL}};
  luaL_setfuncs(L, f, 0);
}
