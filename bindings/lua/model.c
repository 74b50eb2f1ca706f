/*
 * model.c - the catalogue and the trained models (collaborative filtering,
 * clusters).
 */
#include "pzlua.h"

#include <math.h>
#include <string.h>

/* e:put_item(item, {"genre=jazz", ...} [, {1.0, ...}]) */
static int l_put_item(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *item = pzlua_check_str(L, 2);
  lua_settop(L, 4);
  size_t n = 0;
  const char **features = pzlua_check_strings(L, 3, "features", &n);
  double *w = NULL;
  if (!lua_isnil(L, 4)) {
    if (lua_type(L, 4) != LUA_TTABLE || (size_t)lua_rawlen(L, 4) != n)
      return luaL_argerror(L, 4, "weights: a table of numbers, one per feature, "
                                 "expected");
    w = (double *)lua_newuserdatauv(L, (n ? n : 1) * sizeof *w, 0);
    for (size_t i = 0; i < n; i++) {
      lua_rawgeti(L, 4, (lua_Integer)(i + 1));
      if (lua_type(L, -1) != LUA_TNUMBER)
        return luaL_argerror(L, 4, "weights must be numbers");
      w[i] = (double)lua_tonumber(L, -1);
      if (!isfinite(w[i])) return luaL_argerror(L, 4, "weights must be finite");
      lua_pop(L, 1);
    }
  }
  e = pzlua_live(L); /* a finalizer run by an allocation may have closed it */
  return pzlua_done(L, pz_item_put(e, item, features, w, n));
}

static int l_remove_item(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  return pzlua_done(L, pz_item_remove(e, pzlua_check_str(L, 2)));
}

static int l_item_count(lua_State *L) {
  size_t n = 0;
  int rc = pz_item_count(&n, pzlua_check_engine(L));
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/* e:popularity(item [, now_ms]) -> decayed score, event count */
static int l_popularity(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *item = pzlua_check_str(L, 2);
  int64_t now = pzlua_opt_int(L, 3, 0);
  double score = 0;
  uint64_t events = 0;
  int rc = pz_item_popularity(&score, &events, e, item, now);
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  lua_pushnumber(L, score);
  lua_pushinteger(L, (lua_Integer)events);
  return 2;
}

/* An unsigned option field, 0 (the config's value) when absent. */
static uint64_t field_unsigned(lua_State *L, int tbl, const char *key,
                               uint64_t max) {
  int64_t v = pzlua_field_int(L, tbl, key, 0);
  if (v < 0 || (uint64_t)v > max)
    luaL_error(L, "option '%s' out of range", key);
  return (uint64_t)v;
}

/* A real option field, -1 (the config's value) when absent. */
static double field_real(lua_State *L, int tbl, const char *key) {
  double v = -1;
  if (pzlua_field(L, tbl, key) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER || isnan((double)lua_tonumber(L, -1)))
      luaL_error(L, "option '%s': a number expected", key);
    v = (double)lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static int field_option(lua_State *L, int tbl, const char *key,
                        const char *const *names) {
  int v = 0;
  if (pzlua_field(L, tbl, key) != LUA_TNIL) {
    size_t sl = 0;
    const char *s =
        lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &sl) : "";
    v = -1;
    for (int i = 0; names[i]; i++) /* "knn\0x" is not "knn" */
      if (strlen(names[i]) == sl && memcmp(names[i], s, sl) == 0) v = i + 1;
    if (v < 0) luaL_error(L, "option '%s': invalid value", key);
  }
  lua_pop(L, 1);
  return v;
}

/* e:train([{algorithm="knn"|"als"|"both"|"off", weighting=, neighbours=,
 * factors=, iterations=, cg_steps=, threads=, seed=, regularization=,
 * alpha=, bm25_k1=, bm25_b=, als_share=}]): train the CF model. */
static int l_train(lua_State *L) {
  static const char *const keys[] = {
      "algorithm", "weighting", "neighbours",     "factors", "iterations",
      "cg_steps",  "threads",   "seed",           "regularization",
      "alpha",     "bm25_k1",   "bm25_b",         "als_share", NULL};
  static const char *const algorithms[] = {"off", "knn", "als", "both", NULL};
  static const char *const weightings[] = {"none", "tfidf", "bm25", NULL};
  pz_engine *e = pzlua_check_engine(L);
  pz_cf_options o;
  if (pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION) != PZ_OK)
    return luaL_error(L, "pz_cf_options_init: %s", pz_errmsg());
  if (!lua_isnoneornil(L, 2)) {
    pzlua_check_keys(L, 2, keys);
    int a = field_option(L, 2, "algorithm", algorithms);
    o.algorithm = a ? a : PZ_CF_CONFIG; /* off=1 knn=2 als=3 both=4 */
    o.weighting = field_option(L, 2, "weighting", weightings);
    o.neighbours = (uint32_t)field_unsigned(L, 2, "neighbours", UINT32_MAX);
    o.factors = (uint32_t)field_unsigned(L, 2, "factors", UINT32_MAX);
    o.iterations = (uint32_t)field_unsigned(L, 2, "iterations", UINT32_MAX);
    o.cg_steps = (uint32_t)field_unsigned(L, 2, "cg_steps", UINT32_MAX);
    o.threads = (uint32_t)field_unsigned(L, 2, "threads", UINT32_MAX);
    o.seed = field_unsigned(L, 2, "seed", INT64_MAX);
    o.regularization = field_real(L, 2, "regularization");
    o.alpha = field_real(L, 2, "alpha");
    o.bm25_k1 = field_real(L, 2, "bm25_k1");
    o.bm25_b = field_real(L, 2, "bm25_b");
    o.als_share = field_real(L, 2, "als_share");
  }
  e = pzlua_live(L); /* pushing option keys may have run a finalizer */
  return pzlua_done(L, pz_cf_train(e, &o));
}

/* e:train_clusters([{k=, seed=, max_iterations=, batch_size=}]) */
static int l_train_clusters(lua_State *L) {
  static const char *const keys[] = {"k", "seed", "max_iterations",
                                     "batch_size", NULL};
  pz_engine *e = pzlua_check_engine(L);
  pz_cluster_options o;
  if (pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION) != PZ_OK)
    return luaL_error(L, "pz_cluster_options_init: %s", pz_errmsg());
  if (!lua_isnoneornil(L, 2)) {
    pzlua_check_keys(L, 2, keys);
    o.k = (uint32_t)field_unsigned(L, 2, "k", UINT32_MAX);
    o.seed = field_unsigned(L, 2, "seed", INT64_MAX);
    o.max_iterations =
        (uint32_t)field_unsigned(L, 2, "max_iterations", UINT32_MAX);
    o.batch_size = (uint32_t)field_unsigned(L, 2, "batch_size", UINT32_MAX);
  }
  e = pzlua_live(L);
  return pzlua_done(L, pz_cluster_train(e, &o));
}

/* e:cluster_of(user) -> cluster id, or false */
static int l_cluster_of(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  int c = -1, rc = pz_cluster_of(&c, e, pzlua_check_str(L, 2));
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  if (c < 0)
    lua_pushboolean(L, 0);
  else
    lua_pushinteger(L, c);
  return 1;
}

const luaL_Reg pzlua_model_methods[] = {{"put_item", l_put_item},
                                        {"remove_item", l_remove_item},
                                        {"item_count", l_item_count},
                                        {"popularity", l_popularity},
                                        {"train", l_train},
                                        {"train_clusters", l_train_clusters},
                                        {"cluster_of", l_cluster_of},
                                        {NULL, NULL}};
