/*
 * args.c - argument checks. A script's mistake raises here, before the
 * library is called, so that no C resource is held when Lua longjmps.
 *
 * Strings must be real strings: Lua would coerce 42 to "42", which hides
 * a swapped argument. Numbers are never coerced from strings either.
 * Value checks that depend on the engine (UTF-8, lengths, max_k) are the
 * library's, and come back as nil, message, code.
 */
#include "pzlua.h"

#include <math.h>
#include <string.h>

static int type_error(lua_State *L, int arg, const char *expected) {
  const char *msg = lua_pushfstring(L, "%s expected, got %s", expected,
                                    luaL_typename(L, arg));
  return luaL_argerror(L, arg, msg);
}

pzlua_engine *pzlua_check_open(lua_State *L) {
  pzlua_engine *u = (pzlua_engine *)luaL_checkudata(L, 1, PZLUA_ENGINE);
  if (!u->e) luaL_error(L, "attempt to use a closed engine");
  return u;
}

pz_engine *pzlua_check_engine(lua_State *L) { return pzlua_check_open(L)->e; }

const char *pzlua_check_lstr(lua_State *L, int arg, size_t *len) {
  if (lua_type(L, arg) != LUA_TSTRING) type_error(L, arg, "string");
  return lua_tolstring(L, arg, len);
}

/* The library takes NUL-terminated strings: an embedded NUL would cut the
 * id short and silently name another user or item. */
const char *pzlua_check_str(lua_State *L, int arg) {
  size_t len = 0;
  const char *s = pzlua_check_lstr(L, arg, &len);
  if (strlen(s) != len) luaL_argerror(L, arg, "string contains a NUL byte");
  return s;
}

const char *pzlua_opt_str(lua_State *L, int arg) {
  return lua_isnoneornil(L, arg) ? NULL : pzlua_check_str(L, arg);
}

double pzlua_check_num(lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TNUMBER) type_error(L, arg, "number");
  double d = (double)lua_tonumber(L, arg);
  if (!isfinite(d)) luaL_argerror(L, arg, "number must be finite");
  return d;
}

/* Integers as int64_t. Floats count when they hold a whole number in
 * range, so 1e3 works and 2^63, NaN and 0.5 do not (and in Lua 5.1 every
 * number is a float). */
int64_t pzlua_check_int(lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TNUMBER) type_error(L, arg, "integer");
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(L, arg)) return (int64_t)lua_tointeger(L, arg);
#endif
  double d = (double)lua_tonumber(L, arg);
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) ||
      floor(d) != d)
    luaL_argerror(L, arg, "number has no integer representation");
  return (int64_t)d;
}

int64_t pzlua_opt_int(lua_State *L, int arg, int64_t def) {
  return lua_isnoneornil(L, arg) ? def : pzlua_check_int(L, arg);
}

size_t pzlua_check_k(lua_State *L, int arg) {
  int64_t k = pzlua_check_int(L, arg);
  if (k < 1 || k > PZLUA_K_MAX)
    luaL_argerror(L, arg, "k must be between 1 and 1000000");
  return (size_t)k;
}

int pzlua_check_bool(lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TBOOLEAN) type_error(L, arg, "boolean");
  return lua_toboolean(L, arg);
}

int pzlua_opt_bool(lua_State *L, int arg, int def) {
  return lua_isnoneornil(L, arg) ? def : pzlua_check_bool(L, arg);
}

/* An array of strings as a C array borrowed from the Lua strings. The
 * array is a userdata left on the stack top, so it is collected whatever
 * happens; the strings stay alive because the table holds them. nil gives
 * NULL; {} gives a non-NULL empty array ("restrict to nothing"). */
const char **pzlua_check_strings(lua_State *L, int arg, const char *what,
                                 size_t *n) {
  *n = 0;
  if (lua_isnoneornil(L, arg)) return NULL;
  if (lua_type(L, arg) != LUA_TTABLE) type_error(L, arg, "table of strings");
  size_t len = (size_t)lua_rawlen(L, arg);
  if (len > (size_t)1 << 24)
    luaL_error(L, "%s: too many entries", what);
  const char **v =
      (const char **)lua_newuserdatauv(L, (len ? len : 1) * sizeof *v, 0);
  for (size_t i = 0; i < len; i++) {
    lua_rawgeti(L, arg, (lua_Integer)(i + 1));
    size_t sl = 0;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &sl)
                                                    : NULL;
    if (!s || strlen(s) != sl)
      luaL_error(L, "%s[%d] must be a string without NUL bytes", what,
                 (int)(i + 1));
    v[i] = s;
    lua_pop(L, 1);
  }
  *n = len;
  return v;
}

/* Every key of an options table must be known: a typo such as
 * `include_sen` would otherwise be ignored without a word. */
void pzlua_check_keys(lua_State *L, int arg, const char *const *known) {
  if (lua_type(L, arg) != LUA_TTABLE) type_error(L, arg, "table");
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    lua_pop(L, 1);
    int ok = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (size_t i = 0; known[i] && !ok; i++)
        ok = strcmp(known[i], lua_tostring(L, -1)) == 0;
    if (!ok) {
      const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                        : luaL_typename(L, -1);
      luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'", key));
    }
  }
}

/* Push tbl[key] without metamethods; returns its type. */
int pzlua_field(lua_State *L, int tbl, const char *key) {
  lua_pushstring(L, key);
  lua_rawget(L, tbl);
  return lua_type(L, -1);
}

int64_t pzlua_field_int(lua_State *L, int tbl, const char *key,
                        int64_t def) {
  int64_t v = def;
  if (pzlua_field(L, tbl, key) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "option '%s': integer expected", key);
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, -1)) {
      v = (int64_t)lua_tointeger(L, -1);
      lua_pop(L, 1);
      return v;
    }
#endif
    double d = (double)lua_tonumber(L, -1);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) ||
        floor(d) != d)
      luaL_error(L, "option '%s': number has no integer representation",
                 key);
    v = (int64_t)d;
  }
  lua_pop(L, 1);
  return v;
}
