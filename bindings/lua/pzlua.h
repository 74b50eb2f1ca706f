/*
 * pzlua.h - internals shared by the files of the Lua module `personalize`.
 *
 * Conventions of every method (README.md):
 *   - misuse (a wrong type, a closed engine, NaN, a size that cannot be
 *     one, a string with an embedded NUL) raises a Lua error;
 *   - a status from the library returns nil, pz_errmsg(), "ENAME";
 *   - success returns a value, or true when there is nothing to return.
 *
 * Lua errors longjmp. No C resource of the library is ever held across a
 * Lua call that may raise without a guard: results are owned by a `box`
 * userdata (with __gc) before the first Lua call that could raise.
 *
 * Lua calls that allocate may run finalizers, i.e. arbitrary Lua code,
 * which may close the very engine a method is working on. So the engine
 * pointer is taken again with pzlua_live() after a method's last
 * allocation, right before the library call; strings handed to the
 * library are on the stack or anchored in a table on it, never only in a
 * caller's table that such code could empty.
 */
#ifndef PZLUA_H
#define PZLUA_H

#include <personalize.h>

#include <lauxlib.h>
#include <lua.h>

#include <stddef.h>
#include <stdint.h>

/* ---- Lua 5.1 / LuaJIT compatibility (the module is written for 5.4) ---- */
#if LUA_VERSION_NUM < 502
#define lua_absindex(L, i)                                                  \
  ((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) : lua_gettop(L) + (i) + 1)
#define lua_rawlen(L, i) lua_objlen(L, (i))
#define luaL_setfuncs(L, l, n) luaL_register(L, NULL, (l))
#define luaL_newlib(L, l) (lua_newtable(L), luaL_register(L, NULL, (l)))
#define luaL_setmetatable(L, t) (luaL_getmetatable(L, (t)), lua_setmetatable(L, -2))
#endif
#if LUA_VERSION_NUM < 504
#define lua_newuserdatauv(L, sz, nuv) lua_newuserdata(L, (sz))
#endif

#define PZLUA_ENGINE "personalize.engine"
#define PZLUA_BOX "personalize.box"

/* The largest k any configuration allows (ranking.max_k's range). A larger
 * k is a programming error, not a condition of the engine's state. */
#define PZLUA_K_MAX 1000000

/* The longest array of strings taken (exclude, restrict_to, context,
 * features). The library refuses more than 100000 anyway; a longer table
 * (or a sparse one whose border is huge) is a programming error. */
#define PZLUA_LIST_MAX 1000000

/* The range of a fixed clock: 0 (the epoch) .. the end of year 9999 in
 * ms. Outside it the time arithmetic of the library could overflow. */
#define PZLUA_CLOCK_MAX INT64_C(253402300799999)

/* The engine userdata. `clock_ms` lives in the userdata, which Lua never
 * moves, so the library's clock can point at it. */
typedef struct pzlua_engine {
  pz_engine *e;     /* NULL once closed */
  int64_t clock_ms; /* the fixed time when `fixed` */
  int fixed;
} pzlua_engine;

/* A guard for a C resource while Lua tables are built from it. */
typedef struct pzlua_box {
  void *p;
  void (*free)(void *p);
} pzlua_box;

/* ---- args.c: argument checks (raise on misuse) ---- */
pz_engine *pzlua_check_engine(lua_State *L);
pzlua_engine *pzlua_check_open(lua_State *L);
pz_engine *pzlua_live(lua_State *L);
const char *pzlua_check_str(lua_State *L, int arg);
const char *pzlua_opt_str(lua_State *L, int arg);
const char *pzlua_check_lstr(lua_State *L, int arg, size_t *len);
double pzlua_check_num(lua_State *L, int arg);
int64_t pzlua_check_int(lua_State *L, int arg);
int64_t pzlua_opt_int(lua_State *L, int arg, int64_t def);
size_t pzlua_check_k(lua_State *L, int arg);
int pzlua_check_bool(lua_State *L, int arg);
int pzlua_opt_bool(lua_State *L, int arg, int def);
const char **pzlua_check_strings(lua_State *L, int arg, const char *what,
                                 size_t *n);
void pzlua_check_keys(lua_State *L, int arg, const char *const *known);
int pzlua_field(lua_State *L, int tbl, const char *key);
int64_t pzlua_field_int(lua_State *L, int tbl, const char *key,
                        int64_t def);

/* ---- status.c: results and failures ---- */
int pzlua_fail(lua_State *L, int rc);
int pzlua_done(lua_State *L, int rc);
const char *pzlua_status_name(int rc);
void pzlua_push_status_table(lua_State *L);
pzlua_box *pzlua_box_new(lua_State *L, void (*free_fn)(void *));
void pzlua_box_release(pzlua_box *b);
void pzlua_box_register(lua_State *L);
void pzlua_set_str(lua_State *L, const char *key, const char *value);
void pzlua_set_num(lua_State *L, const char *key, double value);
void pzlua_set_int(lua_State *L, const char *key, int64_t value);
int pzlua_push_list(lua_State *L, int rc, pzlua_box *b, int with_values);

/* ---- method tables of the engine, one per file ---- */
extern const luaL_Reg pzlua_engine_methods[];  /* engine.c */
extern const luaL_Reg pzlua_profile_methods[]; /* profile.c */
extern const luaL_Reg pzlua_rank_methods[];    /* rank.c */
extern const luaL_Reg pzlua_override_methods[];/* override.c */
extern const luaL_Reg pzlua_segment_methods[]; /* segment.c */
extern const luaL_Reg pzlua_model_methods[];   /* model.c */

#endif /* PZLUA_H */
