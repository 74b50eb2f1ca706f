/*
 * rank.c - recommendations and similar items, copied into plain tables:
 *
 *   { item = "id", score = 0.42,
 *     reasons = { text = "matches your interest in genre=jazz",
 *                 code = "CONTENT", rule = "winter_menu" or nil,
 *                 flags = { boosted = true, ... },
 *                 contributions = { content =, popularity =, segment =, cf = },
 *                 factors = { person =, rules = },
 *                 because = { { item = "id", share = 0.6 }, ... } } }
 *
 * The tables hold copies, so they outlive the engine.
 */
#include "pzlua.h"

#include <math.h>

static const char *const reason_names[] = {
    NULL,      "POPULAR",  "CONTENT",   "FALLBACK", "SEGMENT",
    "CF",      "PINNED",   "EDITORIAL", "PROMOTED"};

static const char *const flag_names[] = {
    "more",     "less",     "boosted",   "buried",  "pinned",
    "editorial", "promoted", "diversity", "context", "not_personalized"};

/* contribution[] of a pz_recs_entry is indexed by pz_signal - 1 */
static const char *const signal_names[] = {"content", "popularity", "segment",
                                           "cf"};

/* Entries copied per pz_recs_entries() call: a list of up to 32 items (k = 10
 * by default) takes one call, a longer one pages through the same buffer. */
#define ENTRY_PAGE 32

/* The tables are created with their final size, which spares Lua the
 * rehashes (and the garbage) of growing them field by field. */
static void push_flags(lua_State *L, unsigned int bits) {
  int n = 0;
  for (unsigned int b = bits; b; b &= b - 1) n++;
  lua_createtable(L, 0, n);
  for (unsigned int i = 0; i < sizeof flag_names / sizeof *flag_names; i++)
    if (bits & (1u << i)) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, flag_names[i]);
    }
  lua_setfield(L, -2, "flags");
}

static void push_because(lua_State *L, const pz_recs_entry *e) {
  lua_createtable(L, (int)e->n_because, 0);
  for (size_t j = 0; j < e->n_because; j++) {
    lua_createtable(L, 0, 2);
    pzlua_set_str(L, "item", e->because[j]);
    pzlua_set_num(L, "share", e->because_share[j]);
    lua_rawseti(L, -2, (lua_Integer)(j + 1));
  }
  lua_setfield(L, -2, "because");
}

static void push_reasons(lua_State *L, const pz_recs_entry *e) {
  lua_createtable(L, 0, 8);
  pzlua_set_str(L, "text", e->reason);
  int code = e->reason_code;
  pzlua_set_str(L, "code",
                code >= 1 && code <= 8 ? reason_names[code] : "UNKNOWN");
  pzlua_set_str(L, "rule", e->rule);
  pzlua_set_int(L, "flag_bits", e->flags);
  push_flags(L, e->flags);
  lua_createtable(L, 0, 4);
  for (size_t s = 0; s < sizeof signal_names / sizeof *signal_names; s++)
    if (!isnan(e->contribution[s]))
      pzlua_set_num(L, signal_names[s], e->contribution[s]);
  lua_setfield(L, -2, "contributions");
  lua_createtable(L, 0, 2);
  pzlua_set_num(L, "person", e->factor[PZ_FACTOR_PERSON - 1]);
  pzlua_set_num(L, "rules", e->factor[PZ_FACTOR_RULES - 1]);
  lua_setfield(L, -2, "factors");
  push_because(L, e);
  lua_setfield(L, -2, "reasons");
}

/* Builds the array from the boxed list, then frees it. */
static int push_recs(lua_State *L, pzlua_box *b) {
  const pz_recs *r = (const pz_recs *)b->p;
  size_t n = pz_recs_count(r);
  luaL_checkstack(L, 12, "building recommendations"); /* 6 levels deep */
  lua_createtable(L, (int)n, 0);
  pz_recs_entry page[ENTRY_PAGE];
  int rc = pz_recs_entry_init(&page[0], PZ_RECS_ENTRY_VERSION);
  for (size_t from = 0, got = 0; rc == PZ_OK && from < n; from += got) {
    rc = pz_recs_entries(page, ENTRY_PAGE, &got, r, from);
    for (size_t j = 0; rc == PZ_OK && j < got; j++) {
      lua_createtable(L, 0, 3);
      pzlua_set_str(L, "item", page[j].item);
      pzlua_set_num(L, "score", page[j].score);
      push_reasons(L, &page[j]);
      lua_rawseti(L, -2, (lua_Integer)(from + j + 1));
    }
    if (!got) break; /* cannot happen while from < n; never loop forever */
  }
  if (rc != PZ_OK) return pzlua_fail(L, rc); /* the box frees the list */
  pzlua_box_release(b);
  return 1;
}

static void free_recs(void *p) { pz_recs_free((pz_recs *)p); }

/* context_weights: an array of numbers as long as `context`. */
static const double *check_weights(lua_State *L, int opts, size_t n) {
  if (pzlua_field(L, opts, "context_weights") == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  int t = lua_gettop(L);
  if (lua_type(L, t) != LUA_TTABLE || (size_t)lua_rawlen(L, t) != n)
    luaL_error(L, "option 'context_weights': a table of numbers, one per "
                  "context feature, expected");
  double *w = (double *)lua_newuserdatauv(L, (n ? n : 1) * sizeof *w, 0);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, t, (lua_Integer)(i + 1));
    if (lua_type(L, -1) != LUA_TNUMBER ||
        isnan((double)lua_tonumber(L, -1)))
      luaL_error(L, "context_weights[%d] must be a number", (int)(i + 1));
    w[i] = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return w; /* the table and the array stay on the stack */
}

static int field_bool(lua_State *L, int tbl, const char *key) {
  int t = pzlua_field(L, tbl, key), v = lua_toboolean(L, -1);
  if (t != LUA_TNIL && t != LUA_TBOOLEAN)
    luaL_error(L, "option '%s': boolean expected", key);
  lua_pop(L, 1);
  return v;
}

static void read_options(lua_State *L, int arg, pz_recommend_options *o) {
  static const char *const keys[] = {
      "include_seen", "now",         "offset",  "exclude",   "restrict_to",
      "context",      "context_weights", "diversity", "terse", NULL};
  if (lua_isnoneornil(L, arg)) return;
  luaL_checkstack(L, 16, "recommend options"); /* 3 arrays of 3, weights */
  pzlua_check_keys(L, arg, keys);
  o->include_seen = field_bool(L, arg, "include_seen");
  o->terse = field_bool(L, arg, "terse");
  if (pzlua_field(L, arg, "diversity") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER || isnan((double)lua_tonumber(L, -1)))
      luaL_error(L, "option 'diversity': a number expected");
    o->diversity = (double)lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  o->now_ms = pzlua_field_int(L, arg, "now", 0);
  int64_t offset = pzlua_field_int(L, arg, "offset", 0);
  if (offset < 0 || offset > PZLUA_K_MAX)
    luaL_error(L, "option 'offset': must be between 0 and 1000000");
  o->offset = (size_t)offset;
  /* Each array is left on the stack (pushed above the fields). */
  pzlua_field(L, arg, "exclude");
  o->exclude = pzlua_check_strings(L, lua_gettop(L), "exclude", &o->n_exclude);
  pzlua_field(L, arg, "restrict_to");
  o->restrict_to =
      pzlua_check_strings(L, lua_gettop(L), "restrict_to", &o->n_restrict);
  pzlua_field(L, arg, "context");
  o->context = pzlua_check_strings(L, lua_gettop(L), "context", &o->n_context);
  o->context_weights = check_weights(L, arg, o->n_context);
}

/* e:recommend(user, k [, options]) -> array of recommendations */
static int l_recommend(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  size_t k = pzlua_check_k(L, 3);
  pz_recommend_options o;
  if (pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION) != PZ_OK)
    return luaL_error(L, "pz_recommend_options_init: %s", pz_errmsg());
  read_options(L, 4, &o);
  pzlua_box *b = pzlua_box_new(L, free_recs);
  e = pzlua_live(L); /* a finalizer run by an allocation may have closed it */
  int rc = pz_recommend((pz_recs **)&b->p, e, user, k, &o);
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  return push_recs(L, b);
}

/* e:similar_items(item, k) -> the same shape as recommend() */
static int l_similar_items(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *item = pzlua_check_str(L, 2);
  size_t k = pzlua_check_k(L, 3);
  pzlua_box *b = pzlua_box_new(L, free_recs);
  e = pzlua_live(L);
  int rc = pz_similar_items((pz_recs **)&b->p, e, item, k);
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  return push_recs(L, b);
}

const luaL_Reg pzlua_rank_methods[] = {{"recommend", l_recommend},
                                       {"similar_items", l_similar_items},
                                       {NULL, NULL}};
