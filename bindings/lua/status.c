/*
 * status.c - how results and failures reach Lua, and the box that guards
 * a library result while Lua tables are built from it.
 */
#include "pzlua.h"

static const struct {
  int code;
  const char *name;
} names[] = {
    {PZ_OK, "OK"},           {PZ_ERROR, "ERROR"},
    {PZ_ENOMEM, "ENOMEM"},   {PZ_EINVAL, "EINVAL"},
    {PZ_ENOTFOUND, "ENOTFOUND"}, {PZ_EEXISTS, "EEXISTS"},
    {PZ_EBUFS, "EBUFS"},     {PZ_ERANGE, "ERANGE"},
    {PZ_EVERSION, "EVERSION"}, {PZ_ECONFIG, "ECONFIG"},
    {PZ_EIO, "EIO"},         {PZ_EFORMAT, "EFORMAT"},
    {PZ_ECORRUPT, "ECORRUPT"}, {PZ_ECONSENT, "ECONSENT"},
    {PZ_ETYPE, "ETYPE"},     {PZ_ELIMIT, "ELIMIT"},
    {PZ_EFORK, "EFORK"},
    {PZ_EUSER, "EUSER"},
};

const char *pzlua_status_name(int rc) {
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (names[i].code == rc) return names[i].name;
  return "EUNKNOWN";
}

/* personalize.status: name -> number, for scripts that compare codes. */
void pzlua_push_status_table(lua_State *L) {
  lua_newtable(L);
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    lua_pushinteger(L, names[i].code);
    lua_setfield(L, -2, names[i].name);
  }
}

/* The Lua convention for an expected failure: nil, message, code. The
 * message is copied first: nothing between here and the failing call may
 * call the library, and pz_errmsg() is a thread-local buffer that a Lua
 * finalizer (run by any allocation below) could overwrite by a failing
 * call of its own. The library keeps at most 511 bytes of it. */
int pzlua_fail(lua_State *L, int rc) {
  char msg[512];
  const char *m = pz_errmsg();
  size_t i = 0;
  for (; m && m[i] && i + 1 < sizeof msg; i++) msg[i] = m[i];
  msg[i] = '\0';
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", pz_strerror(rc), msg);
  lua_pushstring(L, pzlua_status_name(rc));
  return 3;
}

int pzlua_done(lua_State *L, int rc) {
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- the box ---- */

static int box_gc(lua_State *L) {
  pzlua_box_release((pzlua_box *)luaL_checkudata(L, 1, PZLUA_BOX));
  return 0;
}

void pzlua_box_register(lua_State *L) {
  luaL_newmetatable(L, PZLUA_BOX);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}

/* Push an empty box. Create it before the library call that fills it, so
 * that nothing can raise between the call and the guard. */
pzlua_box *pzlua_box_new(lua_State *L, void (*free_fn)(void *)) {
  pzlua_box *b = (pzlua_box *)lua_newuserdatauv(L, sizeof *b, 0);
  b->p = NULL;
  b->free = free_fn;
  luaL_setmetatable(L, PZLUA_BOX);
  return b;
}

void pzlua_box_release(pzlua_box *b) {
  if (b->p) b->free(b->p);
  b->p = NULL;
}

/* ---- building result tables (the table is on the stack top) ---- */

void pzlua_set_str(lua_State *L, const char *key, const char *value) {
  if (!value) return;
  lua_pushstring(L, value);
  lua_setfield(L, -2, key);
}

void pzlua_set_num(lua_State *L, const char *key, double value) {
  lua_pushnumber(L, value);
  lua_setfield(L, -2, key);
}

void pzlua_set_int(lua_State *L, const char *key, int64_t value) {
  lua_pushinteger(L, (lua_Integer)value);
  lua_setfield(L, -2, key);
}

/* A pz_list as an array of texts, or as a map text -> value. */
int pzlua_push_list(lua_State *L, int rc, pzlua_box *b, int with_values) {
  if (rc != PZ_OK) return pzlua_fail(L, rc);
  const pz_list *l = (const pz_list *)b->p;
  size_t n = pz_list_count(l);
  lua_createtable(L, with_values ? 0 : (int)n, with_values ? (int)n : 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, pz_list_text(l, i));
    if (with_values) {
      lua_pushnumber(L, pz_list_value(l, i));
      lua_rawset(L, -3);
    } else {
      lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
  }
  pzlua_box_release(b);
  return 1;
}
