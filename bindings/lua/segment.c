/*
 * segment.c - audiences: rule segments and experiments.
 */
#include "pzlua.h"

static void free_list(void *p) { pz_list_free((pz_list *)p); }

/* e:segments_of(user) -> {"name", ...} in definition order */
static int l_segments_of(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  pzlua_box *b = pzlua_box_new(L, free_list);
  e = pzlua_live(L); /* a finalizer run by an allocation may have closed it */
  return pzlua_push_list(L, pz_segment_of((pz_list **)&b->p, e, user), b, 0);
}

/* e:segment_members(segment) -> {"user", ...} */
static int l_segment_members(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *seg = pzlua_check_str(L, 2);
  pzlua_box *b = pzlua_box_new(L, free_list);
  e = pzlua_live(L);
  return pzlua_push_list(L, pz_segment_members((pz_list **)&b->p, e, seg), b,
                         0);
}

/* e:segment_counts() -> {name = count, ...} */
static int l_segment_counts(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  pzlua_box *b = pzlua_box_new(L, free_list);
  e = pzlua_live(L);
  return pzlua_push_list(L, pz_segment_counts((pz_list **)&b->p, e), b, 1);
}

/* e:in_segment(segment, user) -> boolean */
static int l_in_segment(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *seg = pzlua_check_str(L, 2);
  const char *user = pzlua_check_str(L, 3);
  int in = 0, rc = pz_segment_test(&in, e, seg, user);
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  lua_pushboolean(L, in);
  return 1;
}

static int l_load_segments(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  size_t len = 0;
  const char *yaml = pzlua_check_lstr(L, 2, &len);
  return pzlua_done(L, pz_segment_load(e, yaml, len));
}

static int l_refresh_segments(lua_State *L) {
  return pzlua_done(L, pz_segment_refresh(pzlua_check_engine(L)));
}

/* e:assign(experiment, user) -> variant name, or false when the user is
 * outside the experiment (coverage, targeting). false, not nil, so that
 * it cannot be taken for a failure. */
static int l_assign(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *exp = pzlua_check_str(L, 2);
  const char *user = pzlua_check_str(L, 3);
  char small[256];
  size_t len = 0;
  int rc = pz_experiment_assign(small, sizeof small, &len, e, exp, user);
  const char *v = small;
  for (int tries = 0; rc == PZ_EBUFS && tries < 4; tries++) {
    char *buf = (char *)lua_newuserdatauv(L, len + 1, 0);
    e = pzlua_live(L);
    rc = pz_experiment_assign(buf, len + 1, &len, e, exp, user);
    v = buf;
  }
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  if (len == 0)
    lua_pushboolean(L, 0);
  else
    lua_pushlstring(L, v, len);
  return 1;
}

const luaL_Reg pzlua_segment_methods[] = {
    {"segments_of", l_segments_of},
    {"segment_members", l_segment_members},
    {"segment_counts", l_segment_counts},
    {"in_segment", l_in_segment},
    {"load_segments", l_load_segments},
    {"refresh_segments", l_refresh_segments},
    {"assign", l_assign},
    {NULL, NULL}};
