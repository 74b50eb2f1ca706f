/* Public override functions: the person's choices (stored with the
 * profile under its shard lock) and the business rule set. */
#include "engine.h"
#include "ops.h"

#include <math.h>
#include <string.h>

/* What a setter stores, before it is checked. */
typedef struct want {
  int kind;
  const char *target;
  double factor;
  int32_t pos;
  int64_t expires;
} want;

static int check_target(const pz_engine *e, want *w, pz__choice *c) {
  bool item = pz__choice_on_item(w->kind);
  size_t len;
  int rc = pz__check_str(w->target, item ? PZ_ID_MAX : PZ_FEATURE_MAX,
                         item ? "item id" : "feature", &len);
  if (rc) return rc;
  c->target = (char *)(uintptr_t)w->target; /* copied by pz__choices_put */
  c->tlen = (uint16_t)len;
  if (!item) {
    int sign;
    pz__feature_hash(&e->hid, w->target, len, &c->fidx, &sign);
    c->fsign = (int8_t)sign;
  }
  return PZ_OK;
}

/* An item a choice names must exist unless config accepts unknown ones. */
static int check_item(pz_engine *e, const char *id, size_t len) {
  if (e->ocfg.accept_unknown_items) return PZ_OK;
  pz__catalog_rdlock(&e->catalog);
  bool ok = pz__catalog_find_live(&e->catalog, id, len) != PZ__NO_ITEM;
  pz__catalog_unlock(&e->catalog);
  return ok ? PZ_OK
            : pz__fail(PZ_ENOTFOUND, "no item \"%s\" (overrides.unknown_items "
                       "is refuse)", id);
}

static int put(pz_engine *e, const char *user, want *w) {
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  pz__choice c;
  memset(&c, 0, sizeof c);
  int rc = pz__engine_user(&u, user);
  if (!rc) rc = check_target(e, w, &c);
  if (rc) return rc;
  if (w->kind == PZ_CHOICE_PIN &&
      (w->pos < -1 || (w->pos >= 0 && (uint32_t)w->pos >= e->rcfg.max_k)))
    return pz__fail(PZ_ERANGE, "pin position %d is not -1 or in 0..%u",
                    (int)w->pos, e->rcfg.max_k - 1);
  int64_t now = pz__engine_clock(e);
  if (w->expires < 0)
    return pz__fail(PZ_EINVAL, "expires_ms %lld is negative",
                    (long long)w->expires);
  if (w->expires && w->expires <= now)
    return pz__fail(PZ_ERANGE, "expires_ms %lld is not after now (%lld)",
                    (long long)w->expires, (long long)now);
  if (pz__choice_on_item(w->kind) && (rc = check_item(e, w->target, c.tlen)))
    return rc;
  c.kind = (uint8_t)w->kind;
  c.created = now > 0 ? now : 0;
  c.expires = w->expires;
  c.pos = w->pos;
  c.factor = w->factor;
  pz__shard_wrlock(&e->profiles, u.shard);
  pz__profile *p;
  bool created;
  rc = pz__profiles_obtain(&e->profiles, &u, &p, &created);
  if (!rc) rc = pz__choices_put(&e->profiles, p, &c, e->ocfg.max_choices, now);
  if (rc && created) pz__profiles_remove(&e->profiles, &u);
  pz__shard_unlock(&e->profiles, u.shard);
  return rc;
}

static int block_item_apply(pz_engine *e, const char *user,
                                  const char *item, int64_t expires_ms) {
  want w = {PZ_CHOICE_BLOCK_ITEM, item, 1, -1, expires_ms};
  return put(e, user, &w);
}

static int block_feature_apply(pz_engine *e, const char *user,
                                     const char *feature, int64_t expires_ms) {
  want w = {PZ_CHOICE_BLOCK_FEATURE, feature, 1, -1, expires_ms};
  return put(e, user, &w);
}

static int require_apply(pz_engine *e, const char *user,
                               const char *feature, int64_t expires_ms) {
  want w = {PZ_CHOICE_REQUIRE, feature, 1, -1, expires_ms};
  return put(e, user, &w);
}

static int pin_apply(pz_engine *e, const char *user, const char *item,
                           int32_t position, int64_t expires_ms) {
  want w = {PZ_CHOICE_PIN, item, 1, position, expires_ms};
  return put(e, user, &w);
}

static int adjust_apply(pz_engine *e, const char *user,
                              const char *feature, double factor,
                              int64_t expires_ms) {
  PZ__ENGINE_CHECK(e);
  int rc = pz__check_finite(factor, "factor");
  if (rc) return rc;
  if (factor == 1 || factor < e->ocfg.min_factor || factor > e->ocfg.max_factor)
    return pz__fail(PZ_ERANGE, "factor %g must lie in [%g, %g] and not be 1",
                    factor, e->ocfg.min_factor, e->ocfg.max_factor);
  want w = {PZ_CHOICE_ADJUST, feature, factor, -1, expires_ms};
  return put(e, user, &w);
}

PZ_API int pz_override_more(pz_engine *e, const char *user,
                            const char *feature, int64_t expires_ms) {
  PZ__ENGINE_CHECK(e);
  pz__arg a[] = {PZ__STR(user), PZ__STR(feature), PZ__F64(e->ocfg.more_factor),
                 PZ__I64(expires_ms)};
  return pz__op_call(e, PZ__OP_ADJUST, a);
}

PZ_API int pz_override_less(pz_engine *e, const char *user,
                            const char *feature, int64_t expires_ms) {
  PZ__ENGINE_CHECK(e);
  pz__arg a[] = {PZ__STR(user), PZ__STR(feature), PZ__F64(e->ocfg.less_factor),
                 PZ__I64(expires_ms)};
  return pz__op_call(e, PZ__OP_ADJUST, a);
}

static int not_interested_apply(pz_engine *e, const char *user,
                                      const char *item, int64_t ts_ms) {
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  size_t len;
  int rc = pz__engine_user(&u, user);
  if (!rc) rc = pz__check_str(item, PZ_ID_MAX, "item id", &len);
  if (!rc && ts_ms < 0)
    rc = pz__fail(PZ_EINVAL, "timestamp %lld is negative", (long long)ts_ms);
  if (!rc) rc = check_item(e, item, len);
  if (rc) return rc;
  pz__shard_rdlock(&e->profiles, u.shard);
  bool learn = pz__profile_personalized(&e->profiles,
                                        pz__profiles_find(&e->profiles, &u));
  pz__shard_unlock(&e->profiles, u.shard);
  int64_t now = pz__engine_clock(e);
  if (ts_ms > now + PZ__FUTURE_MAX_MS)
    return pz__fail(PZ_ERANGE, "timestamp %lld is more than 366 days after "
                    "the engine's clock", (long long)ts_ms);
  /* the event first, so that a refused event stores nothing; an opt-out
   * or withdrawal since the check above only means nothing is learnt */
  if (learn) {
    const char *type = e->pcfg.types[e->ocfg.not_interested_type].name;
    rc = pz_track(e, user, item, type, 1, ts_ms);
    if (rc && rc != PZ_ECONSENT) return rc;
  }
  want w = {PZ_CHOICE_BLOCK_ITEM, item, 1, -1, 0};
  return put(e, user, &w);
}

static int opt_out_apply(pz_engine *e, const char *user, int opted_out) {
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  int rc = pz__engine_user(&u, user);
  if (rc) return rc;
  if (opted_out != 0 && opted_out != 1)
    return pz__fail(PZ_EINVAL, "opted_out must be 0 or 1, not %d", opted_out);
  int64_t now = pz__engine_clock(e);
  pz__engine_derived_wrlock(e);
  pz__shard_wrlock(&e->profiles, u.shard);
  pz__profile *p = NULL;
  bool created = false;
  /* opting in someone the engine does not know changes nothing */
  if (opted_out || pz__profiles_find(&e->profiles, &u))
    rc = pz__profiles_obtain(&e->profiles, &u, &p, &created);
  if (!rc && p) rc = pz__choices_opt(&e->profiles, p, opted_out == 1, now);
  /* no profiling: out of every derived model now; the data stays */
  if (!rc && opted_out) pz__engine_forget(e, &u, NULL);
  if (rc && created) pz__profiles_remove(&e->profiles, &u);
  pz__shard_unlock(&e->profiles, u.shard);
  pz__engine_derived_unlock(e);
  return rc;
}

PZ_API int pz_override_opted_out(int *out, pz_engine *e, const char *user) {
  if (out) *out = 0;
  if (!out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  int rc = pz__engine_user(&u, user);
  if (rc) return rc;
  pz__shard_rdlock(&e->profiles, u.shard);
  const pz__profile *p = pz__profiles_find(&e->profiles, &u);
  *out = p && p->ch && p->ch->opted_out;
  pz__shard_unlock(&e->profiles, u.shard);
  return PZ_OK;
}

/* The user's profile, returned with its shard write-locked. */
static int with_profile(pz_engine *e, const char *user, pz__uref *u,
                        pz__profile **p) {
  PZ__ENGINE_CHECK(e);
  int rc = pz__engine_user(u, user);
  if (rc) return rc;
  pz__shard_wrlock(&e->profiles, u->shard);
  if ((*p = pz__profiles_find(&e->profiles, u))) return PZ_OK;
  pz__shard_unlock(&e->profiles, u->shard);
  return pz__fail(PZ_ENOTFOUND, "no user \"%s\"", user);
}

static int clear_apply(pz_engine *e, const char *user, int kind,
                             const char *target) {
  PZ__ENGINE_CHECK(e);
  if (kind < PZ_CHOICE_BLOCK_ITEM || kind > PZ_CHOICE_ADJUST)
    return pz__fail(PZ_EINVAL, "kind %d is not a choice kind (1..5)", kind);
  bool item = pz__choice_on_item(kind);
  size_t len;
  int rc = pz__check_str(target, item ? PZ_ID_MAX : PZ_FEATURE_MAX,
                         item ? "item id" : "feature", &len);
  pz__uref u;
  pz__profile *p;
  if (!rc) rc = with_profile(e, user, &u, &p);
  if (rc) return rc;
  rc = pz__choices_remove(&e->profiles, p, kind, target, len);
  pz__shard_unlock(&e->profiles, u.shard);
  return rc;
}

static int clear_all_apply(pz_engine *e, const char *user) {
  pz__uref u;
  pz__profile *p;
  int rc = with_profile(e, user, &u, &p);
  if (rc) return rc;
  pz__choices_clear(&e->profiles, p);
  pz__shard_unlock(&e->profiles, u.shard);
  return PZ_OK;
}

PZ_API int pz_override_list(pz_choices **out, pz_engine *e, const char *user,
                            int64_t now_ms) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  int64_t now;
  int rc = pz__engine_user(&u, user);
  if (!rc) rc = pz__engine_time(e, now_ms, &now);
  if (rc) return rc;
  pz__shard_rdlock(&e->profiles, u.shard);
  const pz__profile *p = pz__profiles_find(&e->profiles, &u);
  rc = p ? pz__choices_list(&e->alloc, p->ch, now, out)
         : pz__fail(PZ_ENOTFOUND, "no user \"%s\"", user);
  pz__shard_unlock(&e->profiles, u.shard);
  return rc;
}

/* ---- business rules ------------------------------------------------------ */

static int rules_load_apply(pz_engine *e, const char *yaml, size_t len) {
  PZ__ENGINE_CHECK(e);
  if (!yaml && len) return pz__fail(PZ_EINVAL, "yaml is NULL");
  if (pz__over_limit(len, 0, e->lim_doc))
    return pz__fail(PZ_ELIMIT,
                    "a rules document of %zu bytes; limits.document_bytes is "
                    "%zu", len, e->lim_doc);
  pz__ydoc d;
  int rc = pz__yaml_parse(&d, &e->alloc, yaml ? yaml : "", len, "rules");
  if (rc) return rc;
  static const char *const keys[] = {"rules", NULL};
  pz__brules *r = NULL;
  rc = pz__y_map(&d, d.root, "a rules document", keys);
  /* segments are read-locked from the check to the swap, so a rule never
   * lands naming a segment a concurrent load just removed */
  pz__segstate_rdlock(&e->seg);
  if (!rc) {
    pz__brules_env env = {&e->alloc, &e->ocfg, e->hid, e->seg.rules,
                          e->rcfg.max_k};
    rc = pz__brules_compile(&r, &env, &d);
  }
  pz__yaml_free(&d);
  pz__brules *old = NULL;
  pz__text src = {NULL, 0};
  if (!rc && (rc = pz__text_set(&e->alloc, &src, yaml, len))) {
    pz__brules_free(r);
    r = NULL;
  }
  if (!rc) {
    pz__ovstate_wrlock(&e->ov);
    old = e->ov.rules;
    e->ov.rules = r;
    pz__text t = e->ov.src;
    e->ov.src = src;
    src = t;
    pz__ovstate_unlock(&e->ov);
  }
  pz__segstate_unlock(&e->seg);
  pz__brules_free(old);
  pz__text_free(&e->alloc, &src);
  return rc;
}

PZ_API int pz_override_rules(pz_list **out, pz_engine *e) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  PZ__ENGINE_CHECK(e);
  pz__listb b;
  pz__listb_init(&b, &e->alloc);
  pz__ovstate_rdlock(&e->ov);
  const pz__brules *r = e->ov.rules;
  for (uint32_t i = 0; r && i < r->n; i++)
    pz__listb_add(&b, r->r[i].name, r->r[i].nlen, r->r[i].kind);
  pz__ovstate_unlock(&e->ov);
  return pz__listb_finish(&b, out);
}

/* ---- entry points into the table of writes (ops.h) ---- */

int pz__ap_block_item(pz_engine *e, const pz__arg *a) {
  return block_item_apply(e, a[0].s, a[1].s, a[2].i);
}

PZ_API int pz_override_block_item(pz_engine *e, const char *user,
                                  const char *item, int64_t expires_ms) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(item), PZ__I64(expires_ms)};
  return pz__op_call(e, PZ__OP_BLOCK_ITEM, a);
}

int pz__ap_block_feature(pz_engine *e, const pz__arg *a) {
  return block_feature_apply(e, a[0].s, a[1].s, a[2].i);
}

PZ_API int pz_override_block_feature(pz_engine *e, const char *user,
                                     const char *feature, int64_t expires_ms) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(feature), PZ__I64(expires_ms)};
  return pz__op_call(e, PZ__OP_BLOCK_FEATURE, a);
}

int pz__ap_require(pz_engine *e, const pz__arg *a) {
  return require_apply(e, a[0].s, a[1].s, a[2].i);
}

PZ_API int pz_override_require(pz_engine *e, const char *user,
                               const char *feature, int64_t expires_ms) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(feature), PZ__I64(expires_ms)};
  return pz__op_call(e, PZ__OP_REQUIRE, a);
}

int pz__ap_pin(pz_engine *e, const pz__arg *a) {
  return pin_apply(e, a[0].s, a[1].s, (int32_t)a[2].i, a[3].i);
}

PZ_API int pz_override_pin(pz_engine *e, const char *user, const char *item,
                           int32_t position, int64_t expires_ms) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(item), PZ__INT(position),
                 PZ__I64(expires_ms)};
  return pz__op_call(e, PZ__OP_PIN, a);
}

int pz__ap_adjust(pz_engine *e, const pz__arg *a) {
  return adjust_apply(e, a[0].s, a[1].s, a[2].f, a[3].i);
}

PZ_API int pz_override_adjust(pz_engine *e, const char *user,
                              const char *feature, double factor,
                              int64_t expires_ms) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(feature), PZ__F64(factor),
                 PZ__I64(expires_ms)};
  return pz__op_call(e, PZ__OP_ADJUST, a);
}

int pz__ap_not_interested(pz_engine *e, const pz__arg *a) {
  return not_interested_apply(e, a[0].s, a[1].s, a[2].i);
}

PZ_API int pz_override_not_interested(pz_engine *e, const char *user,
                                      const char *item, int64_t ts_ms) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(item), PZ__I64(ts_ms)};
  return pz__op_call(e, PZ__OP_NOT_INTERESTED, a);
}

int pz__ap_opt_out(pz_engine *e, const pz__arg *a) {
  return opt_out_apply(e, a[0].s, (int)a[1].i);
}

PZ_API int pz_override_opt_out(pz_engine *e, const char *user, int opted_out) {
  pz__arg a[] = {PZ__STR(user), PZ__INT(opted_out)};
  return pz__op_call(e, PZ__OP_OPT_OUT, a);
}

int pz__ap_clear(pz_engine *e, const pz__arg *a) {
  return clear_apply(e, a[0].s, (int)a[1].i, a[2].s);
}

PZ_API int pz_override_clear(pz_engine *e, const char *user, int kind,
                             const char *target) {
  pz__arg a[] = {PZ__STR(user), PZ__INT(kind), PZ__STR(target)};
  return pz__op_call(e, PZ__OP_CLEAR, a);
}

int pz__ap_clear_all(pz_engine *e, const pz__arg *a) {
  return clear_all_apply(e, a[0].s);
}

PZ_API int pz_override_clear_all(pz_engine *e, const char *user) {
  pz__arg a[] = {PZ__STR(user)};
  return pz__op_call(e, PZ__OP_CLEAR_ALL, a);
}

int pz__ap_rules_load(pz_engine *e, const pz__arg *a) {
  return rules_load_apply(e, a[0].s, a[0].n);
}

PZ_API int pz_override_rules_load(pz_engine *e, const char *yaml, size_t len) {
  pz__arg a[] = {PZ__DOC(yaml, len)};
  return pz__op_call(e, PZ__OP_RULES_LOAD, a);
}
