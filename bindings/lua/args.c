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

/* The engine's handle again, right before the library call. Any Lua call
 * that allocates (a box, an options array, pushing a key) may run a Lua
 * finalizer, and a finalizer may close this very engine: a pointer read
 * before such a call may be dangling by now. Self (index 1) was checked
 * by pzlua_check_open; this reads the field without allocating. */
pz_engine *pzlua_live(lua_State *L) {
  pzlua_engine *u = (pzlua_engine *)lua_touserdata(L, 1);
  if (!u || !u->e)
    luaL_error(L, "the engine was closed during the call (by a finalizer?)");
  return u->e;
}

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

/* Pass over tbl[1..len]: each must be a string without NUL bytes. With
 * `anchor`/`v`, also keep each string in the anchor table and its address
 * in v. Neither pass allocates, so no finalizer runs in between. */
static void strings_pass(lua_State *L, int tbl, size_t len, const char *what,
                         int anchor, const char **v) {
  for (size_t i = 0; i < len; i++) {
    lua_rawgeti(L, tbl, (lua_Integer)(i + 1));
    size_t sl = 0;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &sl)
                                                    : NULL;
    if (!s || strlen(s) != sl)
      luaL_error(L, "%s[%d] must be a string without NUL bytes", what,
                 (int)(i + 1));
    if (v) {
      v[i] = s;
      lua_rawseti(L, anchor, (lua_Integer)(i + 1)); /* pops; preallocated */
    } else {
      lua_pop(L, 1);
    }
  }
}

/* An array of strings as a C array of pointers to the Lua strings. Two
 * values are left on the stack top, so they are collected whatever
 * happens: the pointer array (a userdata) and an anchor table holding
 * every string. The anchor matters: the caller's table stays reachable,
 * but a Lua finalizer run by a later allocation could empty it, and the
 * strings must outlive the library call. nil gives NULL; {} gives a
 * non-NULL empty array ("restrict to nothing"). Returns NULL with *n == 0
 * for nil (two nils are pushed then, to keep the stack shape). */
const char **pzlua_check_strings(lua_State *L, int arg, const char *what,
                                 size_t *n) {
  *n = 0;
  arg = lua_absindex(L, arg);
  if (lua_isnoneornil(L, arg)) {
    lua_pushnil(L);
    lua_pushnil(L);
    return NULL;
  }
  if (lua_type(L, arg) != LUA_TTABLE) type_error(L, arg, "table of strings");
  size_t len = (size_t)lua_rawlen(L, arg);
  if (len > PZLUA_LIST_MAX)
    luaL_error(L, "%s: more than %d entries", what, PZLUA_LIST_MAX);
  strings_pass(L, arg, len, what, 0, NULL); /* fail before allocating */
  const char **v =
      (const char **)lua_newuserdatauv(L, (len ? len : 1) * sizeof *v, 0);
  lua_createtable(L, (int)len, 0);
  /* A finalizer may have run while allocating: read the table again. */
  if ((size_t)lua_rawlen(L, arg) != len)
    luaL_error(L, "%s: the table changed while it was read", what);
  strings_pass(L, arg, len, what, lua_gettop(L), v);
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
    if (lua_type(L, -1) == LUA_TSTRING) {
      /* compared with its length: "terse\0x" is not "terse" */
      size_t kl = 0;
      const char *k = lua_tolstring(L, -1, &kl);
      for (size_t i = 0; known[i] && !ok; i++)
        ok = strlen(known[i]) == kl && memcmp(known[i], k, kl) == 0;
    }
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
