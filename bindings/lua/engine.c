/*
 * engine.c - the module's entry point and the engine's life: open, load,
 * close (explicit, __close and __gc), clock, save.
 */
#include "pzlua.h"

/* The userdata is created (closed) before the library opens the engine,
 * so that a Lua error can never strand an open engine: once opened, the
 * pointer is in a collectable object. */
static pzlua_engine *new_engine(lua_State *L) {
  pzlua_engine *u = (pzlua_engine *)lua_newuserdatauv(L, sizeof *u, 0);
  u->e = NULL;
  u->clock_ms = 0;
  u->fixed = 0;
  luaL_setmetatable(L, PZLUA_ENGINE);
  return u;
}

static int64_t fixed_clock(void *ud) {
  return ((const pzlua_engine *)ud)->clock_ms;
}

/* A fixed clock is a time the library's arithmetic can take: 0 (the
 * epoch) up to the end of year 9999. A negative time or one near
 * INT64_MAX is a script's mistake (and made the library overflow). */
static int64_t check_clock(lua_State *L, int64_t ms, int arg) {
  if (ms < 0 || ms > PZLUA_CLOCK_MAX) {
    if (arg) luaL_argerror(L, arg, "clock out of range (0 .. year 9999 in ms)");
    luaL_error(L, "option 'clock': out of range (0 .. year 9999 in ms)");
  }
  return ms;
}

/* Options of open/open_string/load: {clock = ms, config = yaml}. The
 * config text is only checked here: l_load reads it again, onto the stack,
 * just before the call (a finalizer run by an allocation could otherwise
 * replace it in the table and let the collector free it). */
static void read_open_options(lua_State *L, int arg, pz_engine_options *o,
                              pzlua_engine *u, int allow_config) {
  static const char *const keys[] = {"clock", "config", NULL};
  static const char *const clock_only[] = {"clock", NULL};
  if (lua_isnoneornil(L, arg)) return;
  pzlua_check_keys(L, arg, allow_config ? keys : clock_only);
  if (pzlua_field(L, arg, "clock") != LUA_TNIL) {
    u->clock_ms = check_clock(L, pzlua_field_int(L, arg, "clock", 0), 0);
    u->fixed = 1;
    o->clock = fixed_clock;
    o->clock_ud = u;
  }
  lua_pop(L, 1);
  if (!allow_config) return;
  if (pzlua_field(L, arg, "config") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "option 'config': string (YAML text) expected");
  }
  lua_pop(L, 1);
}

static int opened(lua_State *L, pzlua_engine *u, int rc) {
  if (rc != PZ_OK) {
    u->e = NULL; /* the library sets *out to NULL on failure anyway */
    return pzlua_fail(L, rc);
  }
  return 1; /* the userdata, below the options' leftovers, is pushed last */
}

static void init_options(lua_State *L, pz_engine_options *o) {
  if (pz_engine_options_init(o, PZ_ENGINE_OPTIONS_VERSION) != PZ_OK)
    luaL_error(L, "pz_engine_options_init: %s", pz_errmsg());
}

/* personalize.open([config_path [, {clock=ms}]]) */
static int l_open(lua_State *L) {
  const char *path = pzlua_opt_str(L, 1);
  pz_engine_options o;
  init_options(L, &o);
  lua_settop(L, 2);
  pzlua_engine *u = new_engine(L); /* index 3 */
  read_open_options(L, 2, &o, u, 0);
  o.config_path = path;
  lua_settop(L, 3);
  return opened(L, u, pz_engine_open_with(&u->e, &o));
}

/* personalize.open_string(yaml [, {clock=ms}]) */
static int l_open_string(lua_State *L) {
  size_t len = 0;
  const char *yaml = pzlua_check_lstr(L, 1, &len);
  pz_engine_options o;
  init_options(L, &o);
  lua_settop(L, 2);
  pzlua_engine *u = new_engine(L);
  read_open_options(L, 2, &o, u, 0);
  o.config_text = yaml;
  o.config_len = len;
  lua_settop(L, 3);
  return opened(L, u, pz_engine_open_with(&u->e, &o));
}

/* personalize.load(snapshot_path [, {clock=ms, config=yaml}]) */
static int l_load(lua_State *L) {
  const char *path = pzlua_check_str(L, 1);
  pz_engine_options o;
  init_options(L, &o);
  lua_settop(L, 2);
  pzlua_engine *u = new_engine(L);
  read_open_options(L, 2, &o, u, 1);
  lua_settop(L, 3);
  /* index 4: the config text (or nil), kept on the stack during the call */
  if (lua_istable(L, 2)) {
    int t = pzlua_field(L, 2, "config");
    if (t == LUA_TSTRING)
      o.config_text = lua_tolstring(L, 4, &o.config_len);
    else if (t != LUA_TNIL)
      return luaL_error(L, "option 'config': string (YAML text) expected");
  }
  lua_pushvalue(L, 3); /* the engine on top, as opened() returns it */
  return opened(L, u, pz_engine_load(&u->e, path, &o));
}

/* Closing twice is harmless: `local e <close>` and an explicit close may
 * both run. Any other use of a closed engine raises. */
static int l_close(lua_State *L) {
  pzlua_engine *u = (pzlua_engine *)luaL_checkudata(L, 1, PZLUA_ENGINE);
  pz_engine_free(u->e);
  u->e = NULL;
  lua_pushboolean(L, 1);
  return 1;
}

static int l_gc(lua_State *L) {
  pzlua_engine *u = (pzlua_engine *)luaL_checkudata(L, 1, PZLUA_ENGINE);
  pz_engine_free(u->e);
  u->e = NULL;
  return 0;
}

static int l_tostring(lua_State *L) {
  pzlua_engine *u = (pzlua_engine *)luaL_checkudata(L, 1, PZLUA_ENGINE);
  if (u->e)
    lua_pushfstring(L, "personalize.engine (%p)", (void *)u->e);
  else
    lua_pushliteral(L, "personalize.engine (closed)");
  return 1;
}

/* e:set_clock(ms) fixes "now" (tests, kiosks replaying a day);
 * e:set_clock(nil) gives the system clock back. A Lua function as the
 * clock is not offered: the library calls its clock under its own locks,
 * where a Lua error must not longjmp. */
static int l_set_clock(lua_State *L) {
  pzlua_engine *u = pzlua_check_open(L);
  if (lua_isnoneornil(L, 2)) {
    u->fixed = 0;
    return pzlua_done(L, pz_engine_set_clock(u->e, NULL, NULL));
  }
  u->clock_ms = check_clock(L, pzlua_check_int(L, 2), 2);
  u->fixed = 1;
  return pzlua_done(L, pz_engine_set_clock(u->e, fixed_clock, u));
}

static int l_now(lua_State *L) {
  int64_t now = 0;
  int rc = pz_engine_now(&now, pzlua_check_engine(L));
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  lua_pushinteger(L, (lua_Integer)now);
  return 1;
}

static int l_save(lua_State *L) {
  pzlua_check_open(L);
  const char *path = pzlua_opt_str(L, 2);
  return pzlua_done(L, pz_engine_save(pzlua_live(L), path));
}

static int l_sync(lua_State *L) {
  return pzlua_done(L, pz_engine_sync(pzlua_check_engine(L)));
}

const luaL_Reg pzlua_engine_methods[] = {
    {"close", l_close},   {"set_clock", l_set_clock}, {"now", l_now},
    {"save", l_save},     {"sync", l_sync},           {NULL, NULL}};

static const luaL_Reg module_functions[] = {{"open", l_open},
                                            {"open_string", l_open_string},
                                            {"load", l_load},
                                            {NULL, NULL}};

static void register_engine(lua_State *L) {
  static const luaL_Reg *const tables[] = {
      pzlua_engine_methods,   pzlua_profile_methods, pzlua_rank_methods,
      pzlua_override_methods, pzlua_segment_methods, pzlua_model_methods};
  luaL_newmetatable(L, PZLUA_ENGINE);
  lua_newtable(L);
  for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
    luaL_setfuncs(L, tables[i], 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, l_gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, l_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, PZLUA_ENGINE);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

__attribute__((visibility("default"))) int luaopen_personalize(lua_State *L);

int luaopen_personalize(lua_State *L) {
  /* The module was built against major 1: refuse another at run time. */
  if (pz_version_number() / 10000 != PZ_VERSION_MAJOR)
    return luaL_error(L, "personalize: libpersonalize %s loaded, major %d "
                         "expected", pz_version_string(), PZ_VERSION_MAJOR);
  pzlua_box_register(L);
  register_engine(L);
  luaL_newlib(L, module_functions);
  lua_pushstring(L, pz_version_string());
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, (lua_Integer)pz_version_number());
  lua_setfield(L, -2, "version_number");
  pzlua_push_status_table(L);
  lua_setfield(L, -2, "status");
  return 1;
}
