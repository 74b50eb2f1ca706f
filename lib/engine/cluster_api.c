/* Public cluster functions: training (copy the points out shard by shard,
 * train without locks, swap in), lookups and personas. */
#include "engine.h"
#include "ops.h"

#include <string.h>

PZ_API int pz_cluster_options_init(pz_cluster_options *opts,
                                   unsigned int version) {
  if (!opts) return pz__fail(PZ_EINVAL, "opts is NULL");
  if (version != PZ_CLUSTER_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "cluster options version %u is not %d",
                    version, PZ_CLUSTER_OPTIONS_VERSION);
  memset(opts, 0, sizeof *opts);
  opts->version = version;
  return PZ_OK;
}

static int options(pz__cluster_cfg *cfg, const pz_cluster_options *o) {
  if (!o) return PZ_OK;
  if (o->version != PZ_CLUSTER_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "cluster options version %u is not %d",
                    o->version, PZ_CLUSTER_OPTIONS_VERSION);
  if (o->k > PZ__CLUSTER_MAX)
    return pz__fail(PZ_ERANGE, "k must be at most %d, not %u",
                    PZ__CLUSTER_MAX, o->k);
  if (o->max_iterations > 100000)
    return pz__fail(PZ_ERANGE, "max_iterations must be at most 100000");
  if (o->batch_size > 100000000)
    return pz__fail(PZ_ERANGE, "batch_size must be at most 100000000");
  if ((uint64_t)o->batch_size * o->max_iterations > 1000000000ull)
    return pz__fail(PZ_ERANGE, "batch_size x max_iterations must be at most "
                               "1e9 samples");
  if (o->k) cfg->k = o->k;
  if (o->seed) cfg->seed = o->seed;
  if (o->max_iterations) cfg->max_iterations = o->max_iterations;
  if (o->batch_size) cfg->batch_size = o->batch_size;
  return PZ_OK;
}

typedef struct points {
  pz__cpoint *p;
  uint32_t n, cap;
} points;

static void points_free(const pz__alloc *a, points *ps) {
  for (uint32_t i = 0; i < ps->n; i++)
    pz__free_wipe(a, ps->p[i].q, ps->p[i].n * sizeof *ps->p[i].q);
  pz__free_wipe(a, ps->p, ps->cap * sizeof *ps->p);
}

typedef struct collector {
  const pz__alloc *a;
  const pz__profiles *ps;
  uint32_t m;
  pz__qent *q;
  float *tv;
  uint32_t *ti;
  points *out;
} collector;

static int collect_one(const pz__profile *p, void *ud) {
  collector *c = ud;
  if (!p->iv.n ||
      !pz__profile_personalized(c->ps, p))
    return PZ_OK;
  uint32_t n = pz__clusters_point(p, c->m, c->q, c->tv, c->ti);
  if (!n) return PZ_OK;
  points *out = c->out;
  if (pz__grow(c->a, (void **)&out->p, &out->cap, out->n + 1, sizeof *out->p))
    return PZ_ENOMEM;
  pz__cpoint *pt = &out->p[out->n];
  if (!(pt->q = pz__malloc(c->a, n * sizeof *pt->q))) return PZ_ENOMEM;
  memcpy(pt->q, c->q, n * sizeof *c->q);
  pt->n = n;
  pt->idlen = p->idlen;
  memcpy(pt->id, p->id, p->idlen);
  pt->id[p->idlen] = '\0';
  out->n++;
  return PZ_OK;
}

/* Every consenting user's point, shard by shard. */
static int collect(pz_engine *e, uint32_t m, points *out) {
  const pz__alloc *a = &e->alloc;
  collector c = {a, &e->profiles, m, pz__malloc(a, m * sizeof *c.q),
                 pz__malloc(a, m * sizeof *c.tv), pz__malloc(a, m * sizeof *c.ti),
                 out};
  int rc = c.q && c.tv && c.ti ? PZ_OK : PZ_ENOMEM;
  if (!rc) rc = pz__profiles_each(&e->profiles, collect_one, &c);
  pz__free(a, c.q, m * sizeof *c.q);
  pz__free(a, c.tv, m * sizeof *c.tv);
  pz__free(a, c.ti, m * sizeof *c.ti);
  return rc;
}

static int cluster_train_apply(pz_engine *e, const pz_cluster_options *opts) {
  PZ__ENGINE_CHECK(e);
  pz__cluster_cfg cfg = e->seg.ccfg;
  int rc = options(&cfg, opts);
  if (rc) return rc;
  pz__builds_begin(&e->seg.builds);
  points pts = {0};
  pz__clusters *m = NULL;
  rc = collect(e, cfg.max_features, &pts);
  if (!rc) rc = pz__clusters_train(&m, &e->alloc, &cfg, pts.p, pts.n);
  if (!rc) {
    pz__segstate_wrlock(&e->seg);
    const pz__gone *g;
    uint32_t ng;
    if (!pz__builds_gone(&e->seg.builds, &g, &ng))
      rc = pz__fail(PZ_ENOMEM, "out of memory recording an erasure during "
                               "training; the old model is kept");
    for (uint32_t i = 0; !rc && i < ng; i++) {
      pz__uref u;
      pz__uref_make(&u, g[i].id, g[i].len);
      pz__clusters_remove(m, u.id, u.len, u.hash);
    }
    if (!rc) rc = pz__clusters_inherit_names(m, e->seg.clusters);
    if (!rc) {
      pz__clusters *old = e->seg.clusters;
      e->seg.clusters = m;
      m = old;
    }
    pz__segstate_unlock(&e->seg);
  }
  pz__builds_end(&e->seg.builds);
  pz__clusters_free(m);
  points_free(&e->alloc, &pts);
  return rc;
}

PZ_API int pz_cluster_count(size_t *n_out, pz_engine *e) {
  if (!n_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  pz__segstate_rdlock(&e->seg);
  *n_out = e->seg.clusters ? e->seg.clusters->k : 0;
  pz__segstate_unlock(&e->seg);
  return PZ_OK;
}

PZ_API int pz_cluster_of(int *cluster_out, pz_engine *e, const char *user) {
  if (!cluster_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  *cluster_out = -1;
  pz__uref u;
  int rc = pz__engine_user(&u, user);
  if (rc) return rc;
  pz__segstate_rdlock(&e->seg);
  const pz__clusters *m = e->seg.clusters;
  if (m) {
    pz__segctx x;
    rc = pz__segctx_init(&x, &e->alloc, e->seg.rules, m, &e->profiles,
                         &e->catalog, 0);
    if (!rc) {
      pz__shard_rdlock(&e->profiles, u.shard);
      pz__segctx_user(&x, pz__profiles_find(&e->profiles, &u));
      *cluster_out = pz__segctx_cluster(&x);
      pz__shard_unlock(&e->profiles, u.shard);
      pz__segctx_free(&x, &e->alloc);
    }
  }
  pz__segstate_unlock(&e->seg);
  return rc;
}

/* The cluster, with the state lock held; the caller unlocks. */
static int cluster_at(pz_engine *e, int c, pz__cluster **out) {
  pz__clusters *m = e->seg.clusters;
  if (!m || c < 0 || (uint32_t)c >= m->k)
    return pz__fail(PZ_ENOTFOUND, "no cluster %d (the model has %u)", c,
                    m ? m->k : 0);
  *out = &m->c[c];
  return PZ_OK;
}

PZ_API int pz_cluster_size(size_t *n_out, pz_engine *e, int cluster) {
  if (!n_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  pz__segstate_rdlock(&e->seg);
  pz__cluster *c;
  int rc = cluster_at(e, cluster, &c);
  if (!rc) *n_out = c->count;
  pz__segstate_unlock(&e->seg);
  return rc;
}

PZ_API int pz_cluster_describe(pz_list **out, pz_engine *e, int cluster,
                               size_t k) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  PZ__ENGINE_CHECK(e);
  if (k == 0) return pz__fail(PZ_EINVAL, "k is 0");
  if (k > 10000) return pz__fail(PZ_ERANGE, "k must be at most 10000");
  const pz__alloc *a = &e->alloc;
  float *score = pz__malloc(a, k * sizeof *score);
  uint32_t *id = pz__malloc(a, k * sizeof *id);
  pz__listb b;
  pz__listb_init(&b, a);
  int rc = score && id ? PZ_OK : PZ_ENOMEM;
  if (!rc) {
    pz__segstate_rdlock(&e->seg);
    pz__catalog_rdlock(&e->catalog);
    pz__cluster *c;
    rc = cluster_at(e, cluster, &c);
    if (!rc) {
      pz__topk t;
      pz__topk_init(&t, score, id, (uint32_t)k);
      for (uint32_t j = 0; j < c->nsum; j++) {
        const pz__fname *f = pz__catalog_fname(&e->catalog, c->sum[j].i);
        double v = f ? (double)c->sum[j].s * f->sign : 0;
        if (v > 0) pz__topk_push(&t, (float)v, j);
      }
      pz__topk_sort(&t);
      for (uint32_t r = 0; r < t.n; r++) {
        const pz__csum *s = &c->sum[t.id[r]];
        const pz__fname *f = pz__catalog_fname(&e->catalog, s->i);
        pz__listb_add(&b, f->text, f->len,
                      (double)s->s * f->sign / PZ__Q_ONE / c->norm);
      }
    }
    pz__catalog_unlock(&e->catalog);
    pz__segstate_unlock(&e->seg);
  }
  pz__free(a, score, k * sizeof *score);
  pz__free(a, id, k * sizeof *id);
  if (rc) {
    pz__listb_free(&b);
    return rc;
  }
  return pz__listb_finish(&b, out);
}

static int cluster_set_name_apply(pz_engine *e, int cluster, const char *name) {
  PZ__ENGINE_CHECK(e);
  size_t len = 0;
  char *copy = NULL;
  if (name) {
    int rc = pz__check_str(name, PZ_ID_MAX, "cluster name", &len);
    if (rc) return rc;
    if (name[0] >= '0' && name[0] <= '9')
      return pz__fail(PZ_EINVAL, "a cluster name may not start with a digit "
                                 "(rules read that as a cluster id)");
    if (!(copy = pz__strndup(&e->alloc, name, len))) return PZ_ENOMEM;
  }
  pz__segstate_wrlock(&e->seg);
  pz__cluster *c;
  int rc = cluster_at(e, cluster, &c);
  if (!rc) {
    pz__clusters *m = e->seg.clusters;
    int32_t had = name ? pz__clusters_by_name(m, name, len) : -1;
    if (had >= 0 && had != cluster) { /* names are unique: move it */
      pz__free(&e->alloc, m->c[had].name, (size_t)m->c[had].nlen + 1);
      m->c[had].name = NULL;
      m->c[had].nlen = 0;
    }
    if (c->name) pz__free(&e->alloc, c->name, (size_t)c->nlen + 1);
    c->name = copy;
    c->nlen = (uint32_t)len;
    copy = NULL;
  }
  pz__segstate_unlock(&e->seg);
  if (copy) pz__free(&e->alloc, copy, len + 1);
  return rc;
}

PZ_API int pz_cluster_name(char *buf, size_t cap, size_t *len_out,
                           pz_engine *e, int cluster) {
  if (!len_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  if (!buf && cap) return pz__fail(PZ_EINVAL, "buf is NULL");
  *len_out = 0;
  pz__segstate_rdlock(&e->seg);
  pz__cluster *c;
  int rc = cluster_at(e, cluster, &c);
  if (!rc) {
    *len_out = c->nlen;
    if (cap <= c->nlen)
      rc = pz__fail(PZ_EBUFS, "%u bytes and a NUL do not fit in %zu", c->nlen,
                    cap);
    else {
      if (c->nlen) memcpy(buf, c->name, c->nlen);
      buf[c->nlen] = '\0';
    }
  }
  pz__segstate_unlock(&e->seg);
  return rc;
}

/* ---- entry points into the table of writes (ops.h) ---- */

int pz__ap_cluster_train(pz_engine *e, const pz__arg *a) {
  return cluster_train_apply(e, a[0].opt);
}

PZ_API int pz_cluster_train(pz_engine *e, const pz_cluster_options *opts) {
  pz__arg a[] = {PZ__OPTS(opts)};
  return pz__op_call(e, PZ__OP_CLUSTER_TRAIN, a);
}

int pz__ap_cluster_name(pz_engine *e, const pz__arg *a) {
  return cluster_set_name_apply(e, (int)a[0].i, a[1].s);
}

PZ_API int pz_cluster_set_name(pz_engine *e, int cluster, const char *name) {
  pz__arg a[] = {PZ__INT(cluster), PZ__STR(name)};
  return pz__op_call(e, PZ__OP_CLUSTER_NAME, a);
}
