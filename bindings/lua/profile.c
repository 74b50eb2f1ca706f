/*
 * profile.c - what the engine knows about a person: events, attributes,
 * consent, identity merge, erasure and export.
 *
 * Every method checks its engine first (a closed one raises before its
 * arguments are looked at) and takes the handle again with pzlua_live()
 * after its last allocation, right before the library call.
 */
#include "pzlua.h"

#include <math.h>
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

/* ---- e:track_many: a batch of events in pz_track_batch calls ---- */

static const char *const event_fields[] = {"user", "item", "event_type",
                                           "value", "ts"};

static int event_error(lua_State *L, lua_Integer i, int field,
                       const char *what) {
  return luaL_argerror(
      L, 2,
      field ? lua_pushfstring(L, "events[%d]: %s: %s", (int)i,
                              event_fields[field - 1], what)
            : lua_pushfstring(L, "events[%d]: %s", (int)i, what));
}

static int event_type_error(lua_State *L, lua_Integer i, int field,
                            const char *expected) {
  return event_error(L, i, field,
                     lua_pushfstring(L, "%s expected, got %s", expected,
                                     luaL_typename(L, -1)));
}

/* events[i], read raw (a metamethod is never called), checked as e:track
 * checks its arguments: {user, item, event_type [, value=1 [, ts_ms=0]]}.
 * Raises on misuse, naming events[i]; fills *ev when ev is not NULL.
 * Allocates nothing unless it raises, so no finalizer runs meanwhile and
 * the strings *ev points to stay as they are in the events table. */
static void read_event(lua_State *L, int tbl, lua_Integer i, pz_event *ev) {
  const char *s[3];
  double value = 1.0;
  int64_t ts = 0;
  lua_rawgeti(L, tbl, i);
  if (lua_type(L, -1) != LUA_TTABLE) event_type_error(L, i, 0, "table");
  int t = lua_gettop(L);
  if (lua_rawlen(L, t) > 5)
    event_error(L, i, 0, "more than 5 fields {user, item, event_type, value, ts}");
  for (int f = 1; f <= 3; f++) {
    lua_rawgeti(L, t, f);
    size_t len = 0;
    if (lua_type(L, -1) != LUA_TSTRING) event_type_error(L, i, f, "string");
    s[f - 1] = lua_tolstring(L, -1, &len);
    if (strlen(s[f - 1]) != len)
      event_error(L, i, f, "string contains a NUL byte");
    lua_pop(L, 1); /* the table holds it */
  }
  lua_rawgeti(L, t, 4);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER) event_type_error(L, i, 4, "number");
    value = (double)lua_tonumber(L, -1);
    if (!isfinite(value)) event_error(L, i, 4, "number must be finite");
  }
  lua_pop(L, 1);
  lua_rawgeti(L, t, 5);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER) event_type_error(L, i, 5, "integer");
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, -1)) {
      ts = (int64_t)lua_tointeger(L, -1);
    } else
#endif
    {
      double d = (double)lua_tonumber(L, -1);
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) ||
          floor(d) != d)
        event_error(L, i, 5, "number has no integer representation");
      ts = (int64_t)d;
    }
  }
  lua_pop(L, 2);
  if (ev) {
    ev->version = PZ_EVENT_VERSION;
    ev->user = s[0];
    ev->item = s[1];
    ev->event_type = s[2];
    ev->value = value;
    ev->ts_ms = ts;
  }
}

/* pz_errmsg() names the event that stopped a batch "event N: ", N from 0
 * in that call's array: is that how msg starts? */
static int numbered(const char *msg) {
  if (strncmp(msg, "event ", 6) != 0) return 0;
  size_t k = 6;
  while (msg[k] >= '0' && msg[k] <= '9') k++;
  return k > 6 && msg[k] == ':' && msg[k + 1] == ' ';
}

/* The library refused events[applied + 1]: nil, message, code, applied,
 * the message naming the event by its place in the Lua table. pz_errmsg
 * is copied first, as pzlua_fail does. */
static int batch_fail(lua_State *L, int rc, size_t applied) {
  char msg[512];
  const char *m = pz_errmsg();
  size_t k = 0;
  for (; m && m[k] && k + 1 < sizeof msg; k++) msg[k] = m[k];
  msg[k] = '\0';
  const char *rest = msg;
  if (numbered(msg)) rest = strchr(msg, ':') + 2;
  lua_pushnil(L);
  if (rest != msg)
    lua_pushfstring(L, "%s: events[%d]: %s", pz_strerror(rc),
                    (int)(applied + 1), rest);
  else
    lua_pushfstring(L, "%s: %s", pz_strerror(rc), msg);
  lua_pushstring(L, pzlua_status_name(rc));
  lua_pushinteger(L, (lua_Integer)applied);
  return 4;
}

/* e:track_many({{user, item, event_type [, value=1 [, ts_ms=0]]}, ...})
 * -> the number of events recorded (all of them). Recorded in order, as
 * that many e:track calls would, with one pz_track_batch call per
 * PZ_BATCH_MAX events. A misuse in any event raises before anything is
 * recorded. When the library refuses an event: nil, message, code,
 * applied: the `applied` events before it are recorded, it
 * (events[applied + 1], as the message says) and the later ones are not.
 * A batch whose journal record would pass the journal's limit (PZ_ELIMIT
 * naming no event; nothing applied) is sent again in halves. */
static int l_track_many(lua_State *L) {
  pzlua_check_open(L);
  if (lua_type(L, 2) != LUA_TTABLE)
    luaL_argerror(L, 2,
                  lua_pushfstring(L, "table of events expected, got %s",
                                  luaL_typename(L, 2)));
  lua_settop(L, 2);
  size_t n = (size_t)lua_rawlen(L, 2);
  for (size_t i = 1; i <= n; i++) read_event(L, 2, (lua_Integer)i, NULL);
  if (n == 0) {
    lua_pushinteger(L, 0);
    return 1;
  }
  size_t cap = n < PZ_BATCH_MAX ? n : PZ_BATCH_MAX;
  pz_event *ev = (pz_event *)lua_newuserdatauv(L, cap * sizeof *ev, 0);
  /* A finalizer may have run while allocating and changed the table:
   * check it all again. From here to the end nothing allocates, so
   * nothing runs that could change it before the library has read it. */
  if ((size_t)lua_rawlen(L, 2) != n)
    luaL_error(L, "events: the table changed while it was read");
  for (size_t i = 1; i <= n; i++) read_event(L, 2, (lua_Integer)i, NULL);
  size_t done = 0;
  while (done < n) {
    size_t m = n - done < cap ? n - done : cap;
    for (size_t k = 0; k < m; k++)
      read_event(L, 2, (lua_Integer)(done + k + 1), &ev[k]);
    size_t sent = 0, step = m;
    while (sent < m) {
      size_t part = m - sent < step ? m - sent : step, got = 0;
      int rc = pz_track_batch(pzlua_live(L), ev + sent, part, &got);
      sent += got;
      if (rc == PZ_OK) continue;
      if (rc == PZ_ELIMIT && got == 0 && part > 1 && !numbered(pz_errmsg())) {
        step = (part + 1) / 2;
        continue;
      }
      return batch_fail(L, rc, done + sent);
    }
    done += m;
  }
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
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
    {"track_many", l_track_many},
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
