/*
** ldecimal.c: the C side of the exact decimal value (lua/quicksilver/sql/
** decimal.lua): Numeric results made as decimals without calling Lua, their
** text read for binds and JSON, the check of a decimal string bound to a
** Numeric, and equality by value for the unit of work's dirty check.
**
** A decimal is a full userdata holding its text (NUL-terminated; the text
** is the block less its last byte) with the metatable decimal.lua registers
** through core.set_decimal. One allocation per value: a table holding a
** string took three and cost twice the instructions per fetched value. The
** metatable sits in the registry under the address of a static byte, a
** look-up without a string hash per value.
*/
#include "lbinding.h"

#include <string.h>

static const char decimal_key = 0;

/* Pushes the registered metatable (nil before decimal.lua is loaded). */
static void push_mt(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&decimal_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

/* core.set_decimal(metatable) */
static int l_set_decimal(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushlightuserdata(L, (void *)&decimal_key);
  lua_pushvalue(L, 1);
  lua_rawset(L, LUA_REGISTRYINDEX);
  return 0;
}

void qsB_push_decimal(lua_State *L, const char *p, size_t n) {
  char *u;
  push_mt(L);
  if (!lua_istable(L, -1)) {   /* no decimal module: the text, as before decimals existed */
    lua_pop(L, 1);
    lua_pushlstring(L, p, n);
    return;
  }
#if LUA_VERSION_NUM >= 504
  u = (char *)lua_newuserdatauv(L, n + 1, 0);
#else
  u = (char *)lua_newuserdata(L, n + 1);
#endif
  memcpy(u, p, n);
  u[n] = '\0';
  lua_insert(L, -2);
  lua_setmetatable(L, -2);
}

int qsB_is_decimal(lua_State *L, int idx) {
  int same;
  if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return 0;
  push_mt(L);
  same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

const char *qsB_decimal_text(lua_State *L, int idx, size_t *n) {
  const char *p;
  if (!qsB_is_decimal(L, idx)) return NULL;
  p = (const char *)lua_touserdata(L, idx);
  *n = (size_t)lua_rawlen(L, idx) - 1;
  return p;
}

/* core.decimal_new(text) -> a decimal holding text (decimal.lua checks it) */
static int l_decimal_new(lua_State *L) {
  size_t n;
  const char *p = luaL_checklstring(L, 1, &n);
  push_mt(L);
  if (!lua_istable(L, -1)) return luaL_error(L, "decimal_new: the decimal module is not loaded");
  lua_pop(L, 1);
  qsB_push_decimal(L, p, n);
  return 1;
}

/* core.decimal_text(d) -> its text (also the metatable's __tostring) */
static int l_decimal_text(lua_State *L) {
  size_t n;
  const char *p = qsB_decimal_text(L, 1, &n);
  if (p == NULL) return luaL_argerror(L, 1, "a decimal expected");
  lua_pushlstring(L, p, n);
  return 1;
}

/* The parts of a decimal's text: sign, the digits without the point, where
** the point was, the exponent. Leading and trailing zeros are dropped so
** that equal values give equal parts ("10.40" and "1.04e1": digits "104",
** exponent 1). Returns 0 when the text is not a decimal number. */
typedef struct dec_parts {
  int neg;
  const char *p;      /* first significant digit in the text */
  size_t n;           /* significant digits, point skipped */
  long exp;           /* the value is 0.DIGITS * 10^exp */
} dec_parts;

static int split(const char *s, size_t len, dec_parts *d) {
  size_t i = 0, digits = 0, before = 0;
  int seen_point = 0, seen_digit = 0;
  long e = 0, lead = 0;
  d->neg = 0;
  d->p = NULL;
  d->n = 0;
  if (i < len && (s[i] == '+' || s[i] == '-')) d->neg = s[i++] == '-';
  for (; i < len; i++) {
    char c = s[i];
    if (c == '.') {
      if (seen_point) return 0;
      seen_point = 1;
    } else if (c >= '0' && c <= '9') {
      seen_digit = 1;
      if (d->p == NULL && c == '0') {   /* a leading zero */
        if (seen_point) lead++;
        continue;
      }
      if (d->p == NULL) d->p = s + i;
      digits++;
      if (!seen_point) before++;
    } else {
      break;
    }
  }
  if (!seen_digit) return 0;
  if (i < len) {   /* an exponent */
    int eneg = 0, edigits = 0;
    if (s[i] != 'e' && s[i] != 'E') return 0;
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    for (; i < len; i++) {
      if (s[i] < '0' || s[i] > '9') return 0;
      if (e < 100000) e = e * 10 + (s[i] - '0');
      edigits++;
    }
    if (!edigits) return 0;
    if (eneg) e = -e;
  }
  d->n = digits;
  d->exp = (long)before - lead + e;
  if (digits == 0) d->neg = 0;   /* zero, whatever its sign and scale */
  return 1;
}

/* The significant digit k (0-based) from cur (at: digits passed), the point skipped. */
static char digit_at(size_t k, const char **cur, size_t *at) {
  while (*at < k || **cur == '.') {
    if (**cur != '.') (*at)++;
    (*cur)++;
  }
  return **cur;
}

/* Whether two decimal texts hold the same value (not parsable: the same
** text). */
int qsB_decimal_text_equal(const char *a, size_t na, const char *b, size_t nb) {
  dec_parts x, y;
  size_t nx, ny, k;
  const char *ca, *cb;
  size_t ia = 0, ib = 0;
  if (na == nb && memcmp(a, b, na) == 0) return 1;
  if (!split(a, na, &x) || !split(b, nb, &y)) return 0;
  if (x.n == 0 || y.n == 0) return x.n == y.n;
  if (x.neg != y.neg || x.exp != y.exp) return 0;
  /* trailing zeros do not count */
  nx = x.n;
  ny = y.n;
  {
    const char *c = x.p;
    size_t at = 0, last = 0;
    for (at = 0; at < x.n; c++) {
      if (*c == '.') continue;
      if (*c != '0') last = at + 1;
      at++;
    }
    nx = last;
    c = y.p;
    last = 0;
    for (at = 0; at < y.n; c++) {
      if (*c == '.') continue;
      if (*c != '0') last = at + 1;
      at++;
    }
    ny = last;
  }
  if (nx != ny) return 0;
  ca = x.p;
  cb = y.p;
  for (k = 0; k < nx; k++) {
    if (digit_at(k, &ca, &ia) != digit_at(k, &cb, &ib)) return 0;
  }
  return 1;
}

int qsB_decimal_equal(lua_State *L, int a, int b) {
  const char *x, *y;
  size_t nx = 0, ny = 0;
  x = qsB_decimal_text(L, a, &nx);
  y = x ? qsB_decimal_text(L, b, &ny) : NULL;
  return x && y && qsB_decimal_text_equal(x, nx, y, ny);
}

int qsB_decimal_text_ok(const char *s, size_t n) {
  dec_parts d;
  return n > 0 && split(s, n, &d);
}

void qsB_open_decimal(lua_State *L) {
  static const luaL_Reg f[] = {{"set_decimal", l_set_decimal}, {"decimal_new", l_decimal_new},
                               {"decimal_text", l_decimal_text}, {NULL, NULL}};
  luaL_setfuncs(L, f, 0);
}
