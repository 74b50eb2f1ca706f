/* Public segment and experiment functions. Lock order: segment state,
 * catalogue, then user shards. */
#include "engine.h"
#include "ops.h"

#include <string.h>

/* A read of the segment state with the catalogue, ready to evaluate. */
static int read_begin(pz_engine *e, pz__segctx *x) {
  int64_t now = pz__engine_clock(e);
  pz__segstate_rdlock(&e->seg);
  pz__catalog_rdlock(&e->catalog);
  int rc = pz__segctx_init(x, &e->alloc, e->seg.rules, e->seg.clusters,
                           &e->profiles, &e->catalog, now < 0 ? 0 : now);
  if (rc) {
    pz__catalog_unlock(&e->catalog);
    pz__segstate_unlock(&e->seg);
  }
  return rc;
}

static void read_end(pz_engine *e, pz__segctx *x) {
  pz__segctx_free(x, &e->alloc);
  pz__catalog_unlock(&e->catalog);
  pz__segstate_unlock(&e->seg);
}

static int segment_index(pz_engine *e, const char *segment, uint32_t *out) {
  size_t len;
  int rc = pz__check_str(segment, PZ_ID_MAX, "segment name", &len);
  if (rc) return rc;
  int32_t s = pz__rules_segment(e->seg.rules, segment, len);
  if (s < 0) return pz__fail(PZ_ENOTFOUND, "no segment \"%s\"", segment);
  *out = (uint32_t)s;
  return PZ_OK;
}

static int segment_load_apply(pz_engine *e, const char *yaml, size_t len) {
  PZ__ENGINE_CHECK(e);
  if (!yaml && len) return pz__fail(PZ_EINVAL, "yaml is NULL");
  if (pz__over_limit(len, 0, e->lim_doc))
    return pz__fail(PZ_ELIMIT,
                    "a segment document of %zu bytes; limits.document_bytes is "
                    "%zu", len, e->lim_doc);
  pz__ydoc d;
  int rc = pz__yaml_parse(&d, &e->alloc, yaml ? yaml : "", len, "segments");
  if (rc) return rc;
  static const char *const keys[] = {"segments", "experiments", NULL};
  pz__rules *r = NULL;
  rc = pz__y_map(&d, d.root, "a segment document", keys);
  if (!rc) {
    pz__rules_env env = {&e->alloc, &e->pcfg, e->hid};
    rc = pz__rules_compile(&r, &env, &d);
  }
  pz__yaml_free(&d);
  pz__text src = {NULL, 0};
  if (!rc) rc = pz__text_set(&e->alloc, &src, yaml, len);
  if (rc) {
    pz__rules_free(r);
    return rc;
  }
  pz__segstate_wrlock(&e->seg);
  pz__rules *old = e->seg.rules;
  pz__text old_src = e->seg.src;
  e->seg.rules = r;
  e->seg.src = src;
  pz__segstate_unlock(&e->seg);
  pz__rules_free(old);
  pz__text_free(&e->alloc, &old_src);
  return PZ_OK;
}

/* Evaluate with the user's shard read-locked; fn sees the context. */
typedef int (*user_fn)(pz__segctx *x, void *ud);

static int with_user(pz_engine *e, const char *user, user_fn fn, void *ud) {
  pz__uref u;
  int rc = pz__engine_user(&u, user);
  if (rc) return rc;
  pz__segctx x;
  if ((rc = read_begin(e, &x))) return rc;
  pz__shard_rdlock(&e->profiles, u.shard);
  pz__segctx_user(&x, pz__profiles_find(&e->profiles, &u));
  rc = fn(&x, ud);
  pz__shard_unlock(&e->profiles, u.shard);
  read_end(e, &x);
  return rc;
}

typedef struct test_arg {
  const char *segment;
  int in;
} test_arg;

static int test_fn(pz__segctx *x, void *ud) {
  test_arg *t = ud;
  size_t len = strlen(t->segment);
  int32_t s = pz__rules_segment(x->r, t->segment, len);
  if (s < 0) return pz__fail(PZ_ENOTFOUND, "no segment \"%s\"", t->segment);
  t->in = pz__seg_eval(x, (uint32_t)s);
  return PZ_OK;
}

PZ_API int pz_segment_test(int *in_out, pz_engine *e, const char *segment,
                           const char *user) {
  if (!in_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  *in_out = 0;
  int rc = pz__check_str(segment, PZ_ID_MAX, "segment name", NULL);
  if (rc) return rc;
  test_arg t = {segment, 0};
  rc = with_user(e, user, test_fn, &t);
  if (!rc) *in_out = t.in;
  return rc;
}

static int of_fn(pz__segctx *x, void *ud) {
  pz__listb *b = ud;
  for (uint32_t s = 0; x->r && s < x->r->n_seg; s++)
    if (pz__seg_eval(x, s)) pz__listb_add(b, x->r->seg[s].name, x->r->seg[s].nlen, 1);
  return PZ_OK;
}

PZ_API int pz_segment_of(pz_list **out, pz_engine *e, const char *user) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  PZ__ENGINE_CHECK(e);
  pz__listb b;
  pz__listb_init(&b, &e->alloc);
  int rc = with_user(e, user, of_fn, &b);
  if (rc) {
    pz__listb_free(&b);
    return rc;
  }
  return pz__listb_finish(&b, out);
}

/* Visit every profile with the evaluation context pointed at it. */
typedef void (*visit_fn)(pz__segctx *x, const pz__profile *p, void *ud);
typedef struct visit {
  pz__segctx *x;
  visit_fn fn;
  void *ud;
} visit;

static int visit_one(const pz__profile *p, void *ud) {
  visit *v = ud;
  pz__segctx_user(v->x, p);
  v->fn(v->x, p, v->ud);
  return 0;
}

static void visit_all(pz_engine *e, pz__segctx *x, visit_fn fn, void *ud) {
  visit v = {x, fn, ud};
  pz__profiles_each(&e->profiles, visit_one, &v);
}

typedef struct members_arg {
  uint32_t seg;
  pz__listb *b;
} members_arg;

static void members_fn(pz__segctx *x, const pz__profile *p, void *ud) {
  members_arg *m = ud;
  if (pz__seg_eval(x, m->seg)) pz__listb_add(m->b, p->id, p->idlen, 1);
}

PZ_API int pz_segment_members(pz_list **out, pz_engine *e,
                              const char *segment) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  PZ__ENGINE_CHECK(e);
  int rc = pz__check_str(segment, PZ_ID_MAX, "segment name", NULL);
  if (rc) return rc;
  pz__segctx x;
  if ((rc = read_begin(e, &x))) return rc;
  members_arg m = {0, NULL};
  pz__listb b;
  pz__listb_init(&b, &e->alloc);
  m.b = &b;
  rc = segment_index(e, segment, &m.seg);
  if (!rc) visit_all(e, &x, members_fn, &m);
  read_end(e, &x);
  if (rc) {
    pz__listb_free(&b);
    return rc;
  }
  return pz__listb_finish(&b, out);
}

static void counts_fn(pz__segctx *x, const pz__profile *p, void *ud) {
  (void)p;
  double *n = ud;
  for (uint32_t s = 0; s < x->r->n_seg; s++) n[s] += pz__seg_eval(x, s);
}

PZ_API int pz_segment_counts(pz_list **out, pz_engine *e) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  PZ__ENGINE_CHECK(e);
  pz__segctx x;
  int rc = read_begin(e, &x);
  if (rc) return rc;
  const pz__rules *r = e->seg.rules;
  uint32_t ns = r ? r->n_seg : 0;
  double *n = pz__calloc(&e->alloc, ns ? ns : 1, sizeof *n);
  pz__listb b;
  pz__listb_init(&b, &e->alloc);
  if (!n) {
    rc = PZ_ENOMEM;
  } else {
    if (ns) visit_all(e, &x, counts_fn, n);
    for (uint32_t s = 0; s < ns; s++)
      pz__listb_add(&b, r->seg[s].name, r->seg[s].nlen, n[s]);
  }
  read_end(e, &x);
  pz__free(&e->alloc, n, (ns ? ns : 1) * sizeof *n);
  if (rc) {
    pz__listb_free(&b);
    return rc;
  }
  return pz__listb_finish(&b, out);
}

static int segment_refresh_apply(pz_engine *e) {
  PZ__ENGINE_CHECK(e);
  pz__builds_begin(&e->seg.builds);
  pz__segctx x;
  int rc = read_begin(e, &x);
  pz__segpop *sp = NULL;
  if (!rc) {
    pz__segpop_env env = {&e->alloc, e->seg.rules, &e->profiles, &e->pcfg,
                          e->catalog.n, e->rcfg.segment_min_members, x.now};
    rc = pz__segpop_build(&sp, &env, &x);
    read_end(e, &x);
  }
  if (!rc) {
    pz__segstate_wrlock(&e->seg);
    const pz__gone *g;
    uint32_t ng;
    if (!pz__builds_gone(&e->seg.builds, &g, &ng)) {
      rc = pz__fail(PZ_ENOMEM, "out of memory recording an erasure during "
                               "the refresh; the old tables are kept");
    } else {
      /* whoever left during the build takes their tables with them */
      for (uint32_t i = 0; i < ng; i++) {
        pz__uref u;
        pz__uref_make(&u, g[i].id, g[i].len);
        for (uint32_t t = 0; t < sp->n; t++)
          if (sp->t[t].name && pz__segpop_counts(&sp->t[t], u.hash))
            pz__segpop_table_drop(&e->alloc, &sp->t[t]);
      }
      pz__segpop *old = e->seg.segpop;
      e->seg.segpop = sp;
      sp = old;
    }
    pz__segstate_unlock(&e->seg);
  }
  pz__builds_end(&e->seg.builds);
  pz__segpop_free(sp);
  return rc;
}

/* ---- experiments ----------------------------------------------------------- */

typedef struct assign_arg {
  const char *exp, *user;
  size_t ulen;
  int variant; /* -1: none */
  char name[PZ_ID_MAX + 1];
  size_t nlen;
} assign_arg;

static void pick_variant(assign_arg *a, const pz__experiment *ex) {
  a->variant = pz__experiment_variant(ex, a->user, a->ulen);
  if (a->variant >= 0) {
    a->nlen = ex->v[a->variant].nlen;
    memcpy(a->name, ex->v[a->variant].name, a->nlen);
  }
}

static int assign_fn(pz__segctx *x, void *ud) {
  assign_arg *a = ud;
  int32_t i = pz__rules_experiment(x->r, a->exp, strlen(a->exp));
  if (i < 0) return pz__fail(PZ_ENOTFOUND, "no experiment \"%s\"", a->exp);
  const pz__experiment *ex = &x->r->exp[i];
  a->variant = -1;
  if (ex->segment >= 0 && !pz__seg_eval(x, (uint32_t)ex->segment))
    return PZ_OK;
  pick_variant(a, ex);
  return PZ_OK;
}

PZ_API int pz_experiment_assign(char *variant, size_t cap, size_t *len_out,
                                pz_engine *e, const char *experiment,
                                const char *user) {
  if (!len_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  if (!variant && cap) return pz__fail(PZ_EINVAL, "variant is NULL");
  *len_out = 0;
  size_t ulen;
  int rc = pz__check_str(experiment, PZ_ID_MAX, "experiment name", NULL);
  if (!rc) rc = pz__check_str(user, PZ_ID_MAX, "user id", &ulen);
  if (rc) return rc;
  assign_arg a = {experiment, user, ulen, -1, {0}, 0};
  /* without a targeting segment the variant depends on the id alone: no
   * profile, catalogue or clock is read */
  pz__segstate_rdlock(&e->seg);
  int32_t i = pz__rules_experiment(e->seg.rules, experiment, strlen(experiment));
  bool targeted = i >= 0 && e->seg.rules->exp[i].segment >= 0;
  if (i >= 0 && !targeted) pick_variant(&a, &e->seg.rules->exp[i]);
  pz__segstate_unlock(&e->seg);
  if (i < 0) return pz__fail(PZ_ENOTFOUND, "no experiment \"%s\"", experiment);
  /* rules may be replaced in between: assign_fn looks the name up again */
  if (targeted && (rc = with_user(e, user, assign_fn, &a))) return rc;
  *len_out = a.nlen;
  if (cap <= a.nlen)
    return pz__fail(PZ_EBUFS, "%zu bytes and a NUL do not fit in %zu", a.nlen,
                    cap);
  memcpy(variant, a.name, a.nlen);
  variant[a.nlen] = '\0';
  return PZ_OK;
}

PZ_API int pz_experiment_bucket(double *bucket_out, const char *user,
                                uint64_t seed) {
  if (!bucket_out) return pz__fail(PZ_EINVAL, "bucket_out is NULL");
  size_t len;
  int rc = pz__check_str(user, PZ_ID_MAX, "user id", &len);
  if (rc) return rc;
  *bucket_out = pz__experiment_bucket(user, len, seed);
  return PZ_OK;
}

/* ---- entry points into the table of writes (ops.h) ---- */

int pz__ap_segment_load(pz_engine *e, const pz__arg *a) {
  return segment_load_apply(e, a[0].s, a[0].n);
}

PZ_API int pz_segment_load(pz_engine *e, const char *yaml, size_t len) {
  pz__arg a[] = {PZ__DOC(yaml, len)};
  return pz__op_call(e, PZ__OP_SEGMENT_LOAD, a);
}

int pz__ap_segment_refresh(pz_engine *e, const pz__arg *a) {
  return (void)a, segment_refresh_apply(e);
}

PZ_API int pz_segment_refresh(pz_engine *e) {
  pz__arg a[] = {PZ__STR(NULL)};
  return pz__op_call(e, PZ__OP_SEGMENT_REFRESH, a);
}
