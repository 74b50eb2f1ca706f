/*
 * profile.c - what the engine knows about a person: events, attributes,
 * consent, identity merge, erasure and export.
 *
 * Every method checks its engine first (a closed one raises before its
 * arguments are looked at) and takes the handle again with pzlua_live()
 * after its last allocation, right before the library call.
 */
#include "pzlua.h"

#include <string.h>

/* e:track(user, item, event_type [, value=1 [, ts_ms=0]]) */
static int l_track(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  const char *item = pzlua_check_str(L, 3);
  const char *type = pzlua_check_str(L, 4);
  double value = lua_isnoneornil(L, 5) ? 1.0 : pzlua_check_num(L, 5);
  int64_t ts = pzlua_opt_int(L, 6, 0);
  return pzlua_done(L, pz_track(e, user, item, type, value, ts));
}

/* e:set_attribute(user, name, value): the Lua type picks the setter. A
 * timestamp is a number to Lua, so it has its own method. */
static int l_set_attribute(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  const char *name = pzlua_check_str(L, 3);
  switch (lua_type(L, 4)) {
  case LUA_TSTRING:
    return pzlua_done(
        L, pz_profile_set_string(e, user, name, pzlua_check_str(L, 4)));
  case LUA_TNUMBER:
    return pzlua_done(
        L, pz_profile_set_number(e, user, name, pzlua_check_num(L, 4)));
  case LUA_TBOOLEAN:
    return pzlua_done(
        L, pz_profile_set_bool(e, user, name, lua_toboolean(L, 4)));
  default:
    return luaL_argerror(
        L, 4,
        lua_pushfstring(L, "string, number or boolean expected, got %s",
                        luaL_typename(L, 4)));
  }
}

/* e:set_timestamp(user, name, ms) */
static int l_set_timestamp(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  const char *name = pzlua_check_str(L, 3);
  return pzlua_done(
      L, pz_profile_set_timestamp(e, user, name, pzlua_check_int(L, 4)));
}

/* A string attribute: ask for its length first, then copy into a Lua
 * buffer. It may change between the two calls (another thread), so try a
 * few times. */
static int push_string_attr(lua_State *L, const char *user, const char *name) {
  char small[256];
  size_t len = 0;
  int rc = pz_profile_get_string(small, sizeof small, &len, pzlua_live(L),
                                 user, name);
  if (rc == PZ_OK) {
    lua_pushlstring(L, small, len);
    return 1;
  }
  for (int tries = 0; rc == PZ_EBUFS && tries < 4; tries++) {
    char *buf = (char *)lua_newuserdatauv(L, len + 1, 0);
    size_t cap = len + 1;
    rc = pz_profile_get_string(buf, cap, &len, pzlua_live(L), user, name);
    if (rc == PZ_OK) {
      lua_pushlstring(L, buf, len);
      return 1;
    }
    lua_pop(L, 1);
  }
  return pzlua_fail(L, rc == PZ_OK ? PZ_ERROR : rc);
}

/* e:get_attribute(user, name) -> value, type name
 * ("string", "number", "boolean", "timestamp": an integer of ms). */
static int l_get_attribute(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  const char *name = pzlua_check_str(L, 3);
  int type = 0, rc = pz_profile_get_type(&type, e, user, name);
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  switch (type) {
  case PZ_ATTR_STRING:
    if (push_string_attr(L, user, name) != 1) return 3;
    lua_pushliteral(L, "string");
    return 2;
  case PZ_ATTR_NUMBER: {
    double d = 0;
    if ((rc = pz_profile_get_number(&d, e, user, name))) break;
    lua_pushnumber(L, d);
    lua_pushliteral(L, "number");
    return 2;
  }
  case PZ_ATTR_BOOL: {
    int b = 0;
    if ((rc = pz_profile_get_bool(&b, e, user, name))) break;
    lua_pushboolean(L, b);
    lua_pushliteral(L, "boolean");
    return 2;
  }
  case PZ_ATTR_TIMESTAMP: {
    int64_t t = 0;
    if ((rc = pz_profile_get_timestamp(&t, e, user, name))) break;
    lua_pushinteger(L, (lua_Integer)t);
    lua_pushliteral(L, "timestamp");
    return 2;
  }
  default:
    rc = PZ_ERROR;
  }
  return pzlua_fail(L, rc);
}

static int l_remove_attribute(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  return pzlua_done(
      L, pz_profile_remove_attribute(e, user, pzlua_check_str(L, 3)));
}

/* e:set_consent(user, purpose, granted) */
static int l_set_consent(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  const char *purpose = pzlua_check_str(L, 3);
  int granted = pzlua_check_bool(L, 4);
  return pzlua_done(L, pz_profile_set_consent(e, user, purpose, granted));
}

/* e:consent(user, purpose) -> boolean */
static int l_consent(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  const char *purpose = pzlua_check_str(L, 3);
  int granted = 0, rc = pz_profile_get_consent(&granted, e, user, purpose);
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  lua_pushboolean(L, granted);
  return 1;
}

/* e:merge(from, into): the anonymous visitor logs in. */
static int l_merge(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *from = pzlua_check_str(L, 2);
  return pzlua_done(L, pz_profile_merge(e, from, pzlua_check_str(L, 3)));
}

static int l_erase(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  return pzlua_done(L, pz_profile_erase(e, pzlua_check_str(L, 2)));
}

/* e:export(user) -> the JSON document (a string), as pz_profile_export(3)
 * defines it: a binding without a JSON parser can still hand it on. */
static int l_export(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  char small[1024];
  size_t len = 0;
  int rc = pz_profile_export(small, sizeof small, &len, e, user);
  if (rc == PZ_OK) {
    lua_pushlstring(L, small, len);
    return 1;
  }
  for (int tries = 0; rc == PZ_EBUFS && tries < 4; tries++) {
    size_t cap = len + 1;
    char *buf = (char *)lua_newuserdatauv(L, cap, 0);
    rc = pz_profile_export(buf, cap, &len, pzlua_live(L), user);
    if (rc == PZ_OK) {
      lua_pushlstring(L, buf, len);
      return 1;
    }
    lua_pop(L, 1);
  }
  return pzlua_fail(L, rc == PZ_OK ? PZ_ERROR : rc);
}

static void free_interests(void *p) { pz_interests_free((pz_interests *)p); }

/* e:interests(user, k [, now_ms]) -> {{feature=, score=}, ...} */
static int l_interests(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  size_t k = pzlua_check_k(L, 3);
  int64_t now = pzlua_opt_int(L, 4, 0);
  pzlua_box *b = pzlua_box_new(L, free_interests);
  e = pzlua_live(L);
  int rc = pz_profile_interests((pz_interests **)&b->p, e, user, k, now);
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  const pz_interests *l = (const pz_interests *)b->p;
  size_t n = pz_interests_count(l);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_createtable(L, 0, 2);
    pzlua_set_str(L, "feature", pz_interests_feature(l, i));
    pzlua_set_num(L, "score", pz_interests_score(l, i));
    lua_rawseti(L, -2, (lua_Integer)(i + 1));
  }
  pzlua_box_release(b);
  return 1;
}

static int l_event_count(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  size_t n = 0;
  int rc = pz_profile_event_count(&n, e, pzlua_check_str(L, 2));
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static int l_profile_count(lua_State *L) {
  size_t n = 0;
  int rc = pz_profile_count(&n, pzlua_check_engine(L));
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

const luaL_Reg pzlua_profile_methods[] = {
    {"track", l_track},
    {"set_attribute", l_set_attribute},
    {"set_timestamp", l_set_timestamp},
    {"get_attribute", l_get_attribute},
    {"remove_attribute", l_remove_attribute},
    {"set_consent", l_set_consent},
    {"consent", l_consent},
    {"merge", l_merge},
    {"erase", l_erase},
    {"export", l_export},
    {"interests", l_interests},
    {"event_count", l_event_count},
    {"profile_count", l_profile_count},
    {NULL, NULL}};
