/* The public face of collaborative filtering: training and swapping the
 * model, describing it, importing files, similar items. */
#include "../rank/recs.h"
#include "engine.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PZ_API int pz_cf_options_init(pz_cf_options *opts, unsigned int version) {
  if (!opts) return pz__fail(PZ_EINVAL, "opts is NULL");
  if (version != PZ_CF_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "cf options version %u is not %d", version,
                    PZ_CF_OPTIONS_VERSION);
  memset(opts, 0, sizeof *opts);
  opts->version = version;
  opts->regularization = opts->alpha = opts->bm25_k1 = opts->bm25_b =
      opts->als_share = -1;
  return PZ_OK;
}

/* CF state write-locked: take out of the new model the users erased
 * while it was built. False if that list is incomplete. */
static bool drop_gone(pz_engine *e, pz__cfmodel *m) {
  const pz__gone *g;
  uint32_t n;
  if (!pz__builds_gone(&e->cf.builds, &g, &n)) return false;
  for (uint32_t i = 0; i < n; i++) {
    pz__uref u;
    pz__uref_make(&u, g[i].id, g[i].len);
    pz__cfmodel_forget(m, u.hash, true);
  }
  return true;
}

static int cf_train_apply(pz_engine *e, const pz_cf_options *opts) {
  PZ__ENGINE_CHECK(e);
  pz__cf_cfg cfg = e->cf.cfg;
  if (opts) {
    if (opts->version != PZ_CF_OPTIONS_VERSION)
      return pz__fail(PZ_EVERSION, "cf options version %u is not %d",
                      opts->version, PZ_CF_OPTIONS_VERSION);
    int rc = pz__cf_cfg_apply(&cfg, opts);
    if (rc) return rc;
  }
  pz__builds_begin(&e->cf.builds);
  pz__cfmodel *m = NULL;
  int rc = PZ_OK;
  if (cfg.algorithm != PZ_CF_OFF) {
    pz__cfmat mat;
    rc = pz__cfmat_build(&e->alloc, &e->profiles, &e->catalog, &mat);
    if (!rc) {
      rc = pz__cfmodel_train(&e->alloc, &cfg, &mat, &m);
      pz__cfmat_free(&e->alloc, &mat);
    }
  }
  pz__cfmodel *old = NULL;
  if (!rc) {
    pz__cfstate_wrlock(&e->cf);
    if (m && !drop_gone(e, m)) {
      rc = pz__fail(PZ_ENOMEM, "out of memory while noting erasures");
    } else {
      if (m) m->trained_at = pz__engine_clock(e);
      e->cf.gen++;
      old = e->cf.model;
      e->cf.model = m;
      m = NULL;
    }
    pz__cfstate_unlock(&e->cf);
  }
  pz__builds_end(&e->cf.builds);
  pz__cfmodel_free(m);
  pz__cfmodel_free(old);
  if (!rc && cfg.algorithm != PZ_CF_OFF) {
    /* the people trained on get their serving state now, not on their
     * first request */
    pz__rank_env env = {&e->alloc, &e->rcfg, &e->catalog, &e->profiles,
                        &e->pool,  &e->seg,  &e->cf,      &e->ov,
                        &e->ocfg,  &e->uc};
    pz__cfstate_rdlock(&e->cf);
    pz__rank_warm(&env);
    pz__cfstate_unlock(&e->cf);
  }
  return rc;
}

PZ_API int pz_cf_stats_get(pz_cf_stats *out, pz_engine *e) {
  if (!out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  if (out->version != PZ_CF_STATS_VERSION)
    return pz__fail(PZ_EVERSION, "cf stats version %u is not %d",
                    out->version, PZ_CF_STATS_VERSION);
  pz__cfstate_rdlock(&e->cf);
  const pz__cfmodel *m = e->cf.model;
  if (m) {
    bool als = m->algorithm != PZ_CF_KNN, knn = m->algorithm != PZ_CF_ALS;
    *out = (pz_cf_stats){PZ_CF_STATS_VERSION,
                         m->algorithm,
                         m->n_who,
                         m->n_items,
                         m->nnz,
                         als ? m->f : 0,
                         knn ? m->k : 0,
                         als ? m->iterations : 0,
                         m->threads,
                         m->erased,
                         m->train_seconds,
                         m->trained_at};
  }
  pz__cfstate_unlock(&e->cf);
  return m ? PZ_OK : pz__fail(PZ_ENOTFOUND, "no CF model: call pz_cf_train");
}

PZ_API int pz_cf_loss(double *buf, size_t cap, size_t *n_out, pz_engine *e) {
  if (!n_out || !e || (!buf && cap))
    return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  int rc = PZ_OK;
  pz__cfstate_rdlock(&e->cf);
  const pz__cfmodel *m = e->cf.model;
  if (!m || m->algorithm == PZ_CF_KNN) {
    rc = pz__fail(PZ_ENOTFOUND, "no ALS model");
  } else {
    *n_out = m->iterations;
    if (cap < m->iterations)
      rc = pz__fail(PZ_EBUFS, "%u sweeps need a buffer of %u", m->iterations,
                    m->iterations);
    else
      memcpy(buf, m->loss, m->iterations * sizeof *buf);
  }
  pz__cfstate_unlock(&e->cf);
  return rc;
}

/* ---- import -------------------------------------------------------------- */

PZ_API int pz_cf_import_options_init(pz_cf_import_options *opts,
                                     unsigned int version) {
  if (!opts) return pz__fail(PZ_EINVAL, "opts is NULL");
  if (version != PZ_CF_IMPORT_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "import options version %u is not %d",
                    version, PZ_CF_IMPORT_OPTIONS_VERSION);
  memset(opts, 0, sizeof *opts);
  opts->version = version;
  opts->min_value = -INFINITY;
  opts->use_timestamps = 1;
  return PZ_OK;
}

typedef struct importer {
  pz_engine *e;
  const pz_cf_import_options *o;
  const char *type;
  const char *path;
  uint64_t rows;
} importer;

static int import_row(const pz__irow *row, void *ud) {
  importer *im = ud;
  if (row->value < im->o->min_value) return PZ_OK;
  char user[PZ_ID_MAX + 1], item[PZ_ID_MAX + 1];
  memcpy(user, row->user, row->ulen);
  user[row->ulen] = '\0';
  memcpy(item, row->item, row->ilen);
  item[row->ilen] = '\0';
  int64_t ts = im->o->use_timestamps && row->has_ts ? row->ts_ms
                                                    : im->o->now_ms;
  if (ts == 0 && im->o->use_timestamps && row->has_ts) ts = 1; /* 0 = now */
  int rc = pz_track(im->e, user, item, im->type,
                    im->o->binary ? 1.0 : row->value, ts);
  if (rc) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", pz_errmsg());
    return pz__fail(rc, "%s:%llu: %s", im->path,
                    (unsigned long long)row->line, msg);
  }
  im->rows++;
  return PZ_OK;
}

PZ_API int pz_cf_import(pz_engine *e, const char *path,
                        const pz_cf_import_options *opts, uint64_t *rows_out) {
  if (rows_out) *rows_out = 0;
  PZ__ENGINE_CHECK(e);
  pz_cf_import_options defaults;
  if (!opts) {
    pz_cf_import_options_init(&defaults, PZ_CF_IMPORT_OPTIONS_VERSION);
    opts = &defaults;
  }
  if (opts->version != PZ_CF_IMPORT_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "import options version %u is not %d",
                    opts->version, PZ_CF_IMPORT_OPTIONS_VERSION);
  if (opts->binary != 0 && opts->binary != 1)
    return pz__fail(PZ_EINVAL, "binary must be 0 or 1");
  if (opts->use_timestamps != 0 && opts->use_timestamps != 1)
    return pz__fail(PZ_EINVAL, "use_timestamps must be 0 or 1");
  if (isnan(opts->min_value)) return pz__fail(PZ_EINVAL, "min_value is NaN");
  if (opts->now_ms < 0) return pz__fail(PZ_EINVAL, "now_ms is negative");
  const char *type = opts->event_type;
  if (type) {
    int rc = pz__check_str(type, 63, "event type", NULL);
    if (rc) return rc;
    if (pz__profile_event_type(&e->pcfg, type) < 0)
      return pz__fail(PZ_ENOTFOUND, "no event type \"%s\"", type);
  } else {
    type = e->pcfg.types[0].name;
  }
  int format;
  int rc = pz__cf_read_file(&e->alloc, path, opts->format, NULL, NULL, &format);
  if (rc) return rc;
  importer im = {e, opts, type, path, 0};
  rc = pz__cf_read_file(&e->alloc, path, format, import_row, &im, NULL);
  if (rows_out) *rows_out = im.rows;
  return rc;
}

/* ---- similar items ------------------------------------------------------ */

typedef struct similar {
  const pz__cfmodel *m;
  const pz__catalog *c;
  uint32_t of;
  pz__topk top;
} similar;

static void by_neighbours(similar *q) {
  const pz__cfmodel *m = q->m;
  for (uint64_t k = m->nptr[q->of]; k < m->nptr[q->of + 1]; k++) {
    uint32_t j = m->nidx[k];
    if (j != q->of && q->c->items[j]->alive)
      pz__topk_push(&q->top, m->nsim[k], j);
  }
}

static void by_factors(similar *q) {
  const pz__cfmodel *m = q->m;
  const float *yi = m->Y + (size_t)q->of * m->fs;
  float ni = m->ynorm[q->of];
  for (uint32_t j = 0; ni > 0 && j < m->n_items; j++) {
    /* an item nobody interacted with has only its initial noise */
    if (j == q->of || !pz__catalog_live(q->c, j) || !m->users_of[j]) continue;
    const float *yj = m->Y + (size_t)j * m->fs;
    float nj = m->ynorm[j];
    float cos = nj > 0 ? pz__cf_dot(yi, yj, m->fs) / (ni * nj) : 0;
    if (cos > 0) pz__topk_push(&q->top, cos, j);
  }
}

static int by_features(similar *q, const pz__alloc *a, pz__scratch *s) {
  const pz__item *it = q->c->items[q->of];
  if (!it->nf || !(it->norm > 0)) return PZ_OK;
  int rc = pz__scratch_load(a, s, it->f, it->nf);
  for (uint32_t j = 0; !rc && j < q->c->n; j++) {
    const pz__item *o = q->c->items[j];
    if (j == q->of || !o->alive || !o->nf || !(o->norm > 0)) continue;
    double cos = pz__scratch_dot(s, o->f, o->nf) / (it->norm * o->norm);
    if (cos > 0) pz__topk_push(&q->top, (float)cos, j);
  }
  pz__scratch_clear(s);
  return rc;
}

/* The list, with the reason each way of finding it gives. */
static int similar_recs(const pz__alloc *a, const similar *q, int code,
                        const char *why, pz_recs **out) {
  uint32_t n = q->top.n;
  pz__rec *rec = pz__calloc(a, n ? n : 1, sizeof *rec);
  pz__buf text;
  pz__buf_init(&text, a);
  if (!rec) return PZ_ENOMEM;
  pz__buf_puts(&text, why);
  pz__buf_puts(&text, q->c->items[q->of]->id);
  int rc = text.err;
  for (uint32_t r = 0; !rc && r < n; r++) {
    rec[r].item = q->c->items[q->top.id[r]]->id;
    rec[r].reason = text.p;
    rec[r].code = code;
    rec[r].score = q->top.score[r];
    rec[r].factor[0] = rec[r].factor[1] = 1; /* no multiplier applies */
    rec[r].contrib[(code == PZ_REASON_CF ? PZ_SIGNAL_CF : PZ_SIGNAL_CONTENT) -
                   1] = rec[r].score;
  }
  if (!rc) rc = pz__recs_build(a, n, rec, out);
  pz__buf_free(&text);
  pz__free(a, rec, (n ? n : 1) * sizeof *rec);
  return rc;
}

PZ_API int pz_similar_items(pz_recs **out, pz_engine *e, const char *item,
                            size_t k) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  PZ__ENGINE_CHECK(e);
  size_t len;
  int rc = pz__check_str(item, PZ_ID_MAX, "item id", &len);
  if (rc) return rc;
  if (k == 0) return pz__fail(PZ_EINVAL, "k is 0");
  if (k > e->rcfg.max_k)
    return pz__fail(PZ_ERANGE, "k = %zu is above ranking.max_k (%u)", k,
                    e->rcfg.max_k);
  float *score = pz__malloc(&e->alloc, k * sizeof *score);
  uint32_t *id = score ? pz__malloc(&e->alloc, k * sizeof *id) : NULL;
  pz__scratch *s = NULL;
  if (!id || (rc = pz__scratch_take(&e->pool, &s))) {
    pz__free(&e->alloc, score, k * sizeof *score);
    return id ? rc : PZ_ENOMEM;
  }
  pz__cfstate_rdlock(&e->cf);
  pz__catalog_rdlock(&e->catalog);
  similar q = {e->cf.model, &e->catalog, 0, {0}};
  pz__topk_init(&q.top, score, id, (uint32_t)k);
  q.of = pz__catalog_find(&e->catalog, item, len);
  /* the model knows an item only if someone interacted with it */
  bool known = q.of != PZ__NO_ITEM && q.m && q.of < q.m->n_items &&
               q.m->users_of[q.of] > 0;
  if (q.of == PZ__NO_ITEM || !e->catalog.items[q.of]->alive) {
    rc = pz__fail(PZ_ENOTFOUND, "no item \"%s\"", item);
  } else if (known && q.m->nptr && q.m->nptr[q.of + 1] > q.m->nptr[q.of]) {
    by_neighbours(&q);
    pz__topk_sort(&q.top);
    rc = similar_recs(&e->alloc, &q, PZ_REASON_CF,
                      "people who interacted with it also interacted with ",
                      out);
  } else if (known && q.m->Y) {
    by_factors(&q);
    pz__topk_sort(&q.top);
    rc = similar_recs(&e->alloc, &q, PZ_REASON_CF,
                      "liked by the same people as ", out);
  } else if (!(rc = by_features(&q, &e->alloc, s))) {
    pz__topk_sort(&q.top);
    rc = similar_recs(&e->alloc, &q, PZ_REASON_CONTENT, "shares features with ",
                      out);
  }
  pz__catalog_unlock(&e->catalog);
  pz__cfstate_unlock(&e->cf);
  pz__scratch_give(&e->pool, s);
  pz__free(&e->alloc, score, k * sizeof *score);
  pz__free(&e->alloc, id, k * sizeof *id);
  return rc;
}

/* ---- entry points into the table of writes (ops.h) ---- */

int pz__ap_cf_train(pz_engine *e, const pz__arg *a) {
  return cf_train_apply(e, a[0].opt);
}

PZ_API int pz_cf_train(pz_engine *e, const pz_cf_options *opts) {
  pz__arg a[] = {PZ__OPTS(opts)};
  return pz__op_call(e, PZ__OP_CF_TRAIN, a);
}
