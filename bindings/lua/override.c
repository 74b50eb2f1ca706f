/*
 * override.c - customization: the person's own choices (block, pin, more,
 * less, require, not interested, opt out) and the business's rules.
 * `expires_ms` is optional everywhere (nil or 0: never).
 */
#include "pzlua.h"

static const char *const kind_names[] = {NULL,      "block_item",
                                         "block_feature", "require",
                                         "pin",     "adjust",
                                         "opt_out"};

typedef int (*feature_fn)(pz_engine *, const char *, const char *, int64_t);

/* The setters of shape (e, user, target, expires_ms). */
static int target_choice(lua_State *L, feature_fn fn) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  const char *target = pzlua_check_str(L, 3);
  return pzlua_done(L, fn(e, user, target, pzlua_opt_int(L, 4, 0)));
}

static int l_block(lua_State *L) {
  return target_choice(L, pz_override_block_item);
}
static int l_block_feature(lua_State *L) {
  return target_choice(L, pz_override_block_feature);
}
static int l_require(lua_State *L) {
  return target_choice(L, pz_override_require);
}
static int l_more(lua_State *L) { return target_choice(L, pz_override_more); }
static int l_less(lua_State *L) { return target_choice(L, pz_override_less); }

/* e:not_interested(user, item [, ts_ms]) */
static int l_not_interested(lua_State *L) {
  return target_choice(L, pz_override_not_interested);
}

/* e:pin(user, item [, position=-1 [, expires_ms]]) */
static int l_pin(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  const char *item = pzlua_check_str(L, 3);
  int64_t pos = pzlua_opt_int(L, 4, -1);
  if (pos < INT32_MIN || pos > INT32_MAX)
    return luaL_argerror(L, 4, "position out of range");
  int64_t expires = pzlua_opt_int(L, 5, 0);
  return pzlua_done(L, pz_override_pin(e, user, item, (int32_t)pos, expires));
}

/* e:adjust(user, feature, factor [, expires_ms]) */
static int l_adjust(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  const char *feature = pzlua_check_str(L, 3);
  double factor = pzlua_check_num(L, 4);
  int64_t expires = pzlua_opt_int(L, 5, 0);
  return pzlua_done(L, pz_override_adjust(e, user, feature, factor, expires));
}

/* e:opt_out(user [, opted_out=true]) */
static int l_opt_out(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  return pzlua_done(L, pz_override_opt_out(e, user, pzlua_opt_bool(L, 3, 1)));
}

static int l_opted_out(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  int out = 0, rc = pz_override_opted_out(&out, e, pzlua_check_str(L, 2));
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  lua_pushboolean(L, out);
  return 1;
}

/* e:clear(user, kind, target); kind is a name of kind_names (not
 * "opt_out": that one is undone with opt_out(user, false)). */
static int l_clear(lua_State *L) {
  static const char *const kinds[] = {"block_item", "block_feature",
                                      "require",    "pin",
                                      "adjust",     NULL};
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  pzlua_check_str(L, 3);
  int kind = luaL_checkoption(L, 3, NULL, kinds) + 1;
  const char *target = pzlua_check_str(L, 4);
  return pzlua_done(L, pz_override_clear(e, user, kind, target));
}

static int l_clear_all(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  return pzlua_done(L, pz_override_clear_all(e, pzlua_check_str(L, 2)));
}

static void free_choices(void *p) { pz_choices_free((pz_choices *)p); }

/* e:choices(user [, now_ms]) -> {{kind=, target=, factor=, position=,
 * created=, expires=}, ...}, oldest first. */
static int l_choices(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  const char *user = pzlua_check_str(L, 2);
  int64_t now = pzlua_opt_int(L, 3, 0);
  pzlua_box *b = pzlua_box_new(L, free_choices);
  e = pzlua_live(L); /* a finalizer run by an allocation may have closed it */
  int rc = pz_override_list((pz_choices **)&b->p, e, user, now);
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  const pz_choices *c = (const pz_choices *)b->p;
  size_t n = pz_choices_count(c);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    int kind = pz_choices_kind(c, i);
    lua_createtable(L, 0, 6);
    pzlua_set_str(L, "kind", kind >= 1 && kind <= 6 ? kind_names[kind] : "?");
    pzlua_set_str(L, "target", pz_choices_target(c, i));
    pzlua_set_num(L, "factor", pz_choices_factor(c, i));
    pzlua_set_int(L, "position", pz_choices_position(c, i));
    pzlua_set_int(L, "created", pz_choices_created(c, i));
    pzlua_set_int(L, "expires", pz_choices_expires(c, i));
    lua_rawseti(L, -2, (lua_Integer)(i + 1));
  }
  pzlua_box_release(b);
  return 1;
}

/* e:load_rules(yaml): replace the business rules. */
static int l_load_rules(lua_State *L) {
  pz_engine *e = pzlua_check_engine(L);
  size_t len = 0;
  const char *yaml = pzlua_check_lstr(L, 2, &len);
  return pzlua_done(L, pz_override_rules_load(e, yaml, len));
}

static void free_list(void *p) { pz_list_free((pz_list *)p); }

/* e:rules() -> {{name=, kind=}, ...} in precedence order */
static int l_rules(lua_State *L) {
  static const char *const rule_kinds[] = {"?",       "filter", "boost",
                                           "bury",    "promote", "pin"};
  pz_engine *e = pzlua_check_engine(L);
  pzlua_box *b = pzlua_box_new(L, free_list);
  e = pzlua_live(L);
  int rc = pz_override_rules((pz_list **)&b->p, e);
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  const pz_list *l = (const pz_list *)b->p;
  size_t n = pz_list_count(l);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    double v = pz_list_value(l, i);
    int k = v >= 1 && v <= 5 ? (int)v : 0;
    lua_createtable(L, 0, 2);
    pzlua_set_str(L, "name", pz_list_text(l, i));
    pzlua_set_str(L, "kind", rule_kinds[k]);
    lua_rawseti(L, -2, (lua_Integer)(i + 1));
  }
  pzlua_box_release(b);
  return 1;
}

const luaL_Reg pzlua_override_methods[] = {
    {"block", l_block},
    {"block_feature", l_block_feature},
    {"require", l_require},
    {"pin", l_pin},
    {"more", l_more},
    {"less", l_less},
    {"adjust", l_adjust},
    {"not_interested", l_not_interested},
    {"opt_out", l_opt_out},
    {"opted_out", l_opted_out},
    {"clear", l_clear},
    {"clear_all", l_clear_all},
    {"choices", l_choices},
    {"load_rules", l_load_rules},
    {"rules", l_rules},
    {NULL, NULL}};
