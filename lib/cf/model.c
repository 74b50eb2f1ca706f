/* The CF model: training from a matrix, the users it was trained on, and
 * the engine's swappable state. */
#include "cf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return (a > b) - (a < b);
}

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int pz__cfmodel_train(const pz__alloc *a, const pz__cf_cfg *cfg,
                      pz__cfmat *m, pz__cfmodel **out) {
  *out = NULL;
  double t0 = seconds();
  pz__cfmodel *md = pz__calloc(a, 1, sizeof *md);
  if (!md) return PZ_ENOMEM;
  md->a = a;
  md->algorithm = cfg->algorithm;
  md->weighting = cfg->weighting;
  md->n_items = m->n_items;
  md->n_users = m->n_users;
  md->nnz = m->nnz;
  md->threads = cfg->threads;
  md->als_share = cfg->als_share;
  int rc = PZ_OK;
  if (cfg->algorithm == PZ_CF_KNN || cfg->algorithm == PZ_CF_BOTH)
    rc = pz__cf_knn_build(a, cfg, m, md);
  if (!rc && (cfg->algorithm == PZ_CF_ALS || cfg->algorithm == PZ_CF_BOTH)) {
    rc = pz__cf_als_train(a, cfg, m, md);
    if (!rc) rc = pz__cfmodel_norms(a, md);
  }
  if (!rc) {
    md->who = pz__malloc(a, (size_t)m->n_users * sizeof *md->who);
    md->users_of = pz__malloc(a, (size_t)m->n_items * sizeof *md->users_of);
    if (!md->who || !md->users_of) rc = PZ_ENOMEM;
  }
  if (rc) {
    pz__cfmodel_free(md);
    return rc;
  }
  memcpy(md->who, m->uhash, (size_t)m->n_users * sizeof *md->who);
  for (uint32_t i = 0; i < m->n_items; i++)
    md->users_of[i] = (uint32_t)(m->iptr[i + 1] - m->iptr[i]);
  qsort(md->who, m->n_users, sizeof *md->who, cmp_u64);
  md->n_who = m->n_users;
  md->train_seconds = seconds() - t0;
  *out = md;
  return PZ_OK;
}

void pz__cfmodel_free(pz__cfmodel *m) {
  if (!m) return;
  const pz__alloc *a = m->a;
  size_t ni = m->n_items;
  if (m->nptr) {
    uint64_t total = m->nptr[ni];
    pz__free(a, m->nidx, (total ? total : 1) * sizeof *m->nidx);
    pz__free(a, m->nsim, (total ? total : 1) * sizeof *m->nsim);
    pz__free(a, m->nptr, (ni + 1) * sizeof *m->nptr);
  }
  pz__free(a, m->Y, ni * m->fs * sizeof *m->Y);
  pz__free(a, m->ynorm, (ni ? ni : 1) * sizeof *m->ynorm);
  pz__free(a, m->YtY, (size_t)m->fs * m->fs * sizeof *m->YtY);
  pz__free(a, m->L0, (size_t)m->f * m->f * sizeof *m->L0);
  pz__free(a, m->loss, (size_t)m->iterations * sizeof *m->loss);
  pz__free_wipe(a, m->who, (size_t)m->n_users * sizeof *m->who);
  pz__free(a, m->users_of, ni * sizeof *m->users_of);
  pz__free(a, m, sizeof *m);
}

int pz__cfmodel_norms(const pz__alloc *a, pz__cfmodel *m) {
  m->ynorm = pz__malloc(a, ((size_t)m->n_items ? m->n_items : 1) *
                               sizeof *m->ynorm);
  if (!m->ynorm) return PZ_ENOMEM;
  for (uint32_t j = 0; j < m->n_items; j++) {
    const float *y = m->Y + (size_t)j * m->fs;
    m->ynorm[j] = sqrtf(pz__cf_dot(y, y, m->fs));
  }
  return PZ_OK;
}

bool pz__cfmodel_forget(pz__cfmodel *m, uint64_t hash, bool erased) {
  uint32_t lo = 0, hi = m->n_who;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (m->who[mid] < hash) lo = mid + 1;
    else hi = mid;
  }
  if (lo >= m->n_who || m->who[lo] != hash) return false;
  memmove(m->who + lo, m->who + lo + 1,
          (m->n_who - lo - 1) * sizeof *m->who);
  m->who[--m->n_who] = 0;
  if (erased) m->erased++;
  return true;
}

int pz__cfstate_init(pz__cfstate *s, const pz__alloc *a) {
  memset(s, 0, sizeof *s);
  s->a = a;
  pz__cf_cfg_default(&s->cfg);
  if (pz__rwlock_init(&s->lock)) return pz__oom();
  if (pz__builds_init(&s->builds)) {
    pthread_rwlock_destroy(&s->lock);
    return pz__oom();
  }
  return PZ_OK;
}

void pz__cfstate_free(pz__cfstate *s) {
  pz__cfmodel_free(s->model);
  pz__builds_free(s->a, &s->builds);
  pthread_rwlock_destroy(&s->lock);
}

void pz__cfstate_rdlock(pz__cfstate *s) { pthread_rwlock_rdlock(&s->lock); }
void pz__cfstate_wrlock(pz__cfstate *s) { pthread_rwlock_wrlock(&s->lock); }
void pz__cfstate_unlock(pz__cfstate *s) { pthread_rwlock_unlock(&s->lock); }

void pz__cfstate_forget(pz__cfstate *s, const pz__uref *u, bool erased) {
  if (s->model) pz__cfmodel_forget(s->model, u->hash, erased);
  pz__builds_note(s->a, &s->builds, u->id, u->len);
}

/* ---- snapshot section ------------------------------------------------------ */

void pz__cfmodel_save(const pz__cfmodel *m, pz__buf *b) {
  pz__buf_u8(b, m != NULL);
  if (!m) return;
  pz__buf_u32(b, (uint32_t)m->algorithm);
  pz__buf_u32(b, (uint32_t)m->weighting);
  pz__buf_u32(b, m->n_items);
  pz__buf_u32(b, m->n_users);
  pz__buf_u32(b, m->threads);
  pz__buf_u64(b, m->nnz);
  pz__buf_f64(b, m->train_seconds);
  pz__buf_i64(b, m->trained_at);
  pz__buf_f64(b, m->als_share);
  pz__buf_array(b, m->users_of, m->n_items, sizeof *m->users_of);
  pz__buf_u8(b, m->nptr != NULL);
  if (m->nptr) {
    pz__buf_u32(b, m->k);
    pz__buf_array(b, m->nptr, (uint64_t)m->n_items + 1, sizeof *m->nptr);
    pz__buf_array(b, m->nidx, m->nptr[m->n_items], sizeof *m->nidx);
    pz__buf_array(b, m->nsim, m->nptr[m->n_items], sizeof *m->nsim);
  }
  pz__buf_u8(b, m->Y != NULL);
  if (m->Y) {
    pz__buf_u32(b, m->f);
    pz__buf_u32(b, m->fs);
    pz__buf_u32(b, m->iterations);
    pz__buf_f64(b, m->reg);
    pz__buf_f64(b, m->alpha);
    pz__buf_array(b, m->Y, (uint64_t)m->n_items * m->fs, sizeof *m->Y);
    pz__buf_array(b, m->YtY, (uint64_t)m->fs * m->fs, sizeof *m->YtY);
    pz__buf_array(b, m->L0, (uint64_t)m->f * m->f, sizeof *m->L0);
    pz__buf_array(b, m->loss, m->iterations, sizeof *m->loss);
  }
  pz__buf_u32(b, m->n_who);
  pz__buf_u32(b, m->erased);
  pz__buf_array(b, m->who, m->n_who, sizeof *m->who);
}

static bool finite_d(const double *v, uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    if (!isfinite(v[i])) return false;
  return true;
}

static bool total_ok(pz__rd *r, uint64_t total) {
  return pz__rd_count(r, total, sizeof(uint32_t) + sizeof(float), UINT64_MAX);
}

static int restore_knn(const pz__alloc *a, pz__rd *r, pz__cfmodel *m) {
  int rc = PZ_OK;
  m->k = pz__rd_u32(r);
  if (r->err) return r->err;
  if (m->k < 1 || m->k > PZ__CF_MAX_NEIGHBOURS)
    return pz__rd_bad(r, "kNN model with %u neighbours", m->k);
  uint32_t n = m->n_items;
  if (!(m->nptr = pz__rd_take(r, a, (uint64_t)n + 1, sizeof *m->nptr, &rc)))
    return rc;
  if (!total_ok(r, m->nptr[n])) return r->err;
  if (m->nptr[0] != 0) return pz__rd_bad(r, "neighbour lists do not start at 0");
  for (uint32_t i = 0; i < n; i++)
    if (m->nptr[i + 1] < m->nptr[i] || m->nptr[i + 1] - m->nptr[i] > m->k)
      return pz__rd_bad(r, "neighbour list %u has a bad length", i);
  uint64_t total = m->nptr[n];
  /* the free below sizes the lists by total: keep nptr[n] honest even
   * when a list fails to load */
  /* empty lists still get one entry each, as the kNN build makes them */
  m->nidx = pz__rd_take(r, a, total, sizeof *m->nidx, &rc);
  if (!rc) m->nsim = pz__rd_take(r, a, total, sizeof *m->nsim, &rc);
  if (!rc && !total) {
    m->nidx = pz__malloc(a, sizeof *m->nidx);
    m->nsim = pz__malloc(a, sizeof *m->nsim);
    if (!m->nidx || !m->nsim) rc = PZ_ENOMEM;
  }
  if (rc) {
    pz__free(a, m->nsim, (total ? total : 1) * sizeof *m->nsim);
    m->nsim = NULL;
    pz__free(a, m->nidx, (total ? total : 1) * sizeof *m->nidx);
    m->nidx = NULL;
    pz__free(a, m->nptr, ((size_t)n + 1) * sizeof *m->nptr);
    m->nptr = NULL;
    return rc;
  }
  for (uint32_t i = 0; i < n; i++)
    for (uint64_t q = m->nptr[i]; q < m->nptr[i + 1]; q++)
      if (m->nidx[q] >= n || (q > m->nptr[i] && m->nidx[q] <= m->nidx[q - 1]) ||
          !isfinite(m->nsim[q]) || fabsf(m->nsim[q]) > 1e15f)
        return pz__rd_bad(r, "neighbour list %u is out of order or range", i);
  return PZ_OK;
}

static int restore_als(const pz__alloc *a, pz__rd *r, pz__cfmodel *m) {
  int rc = PZ_OK;
  uint32_t f = pz__rd_u32(r), fs = pz__rd_u32(r), it = pz__rd_u32(r);
  m->reg = pz__rd_f64(r);
  m->alpha = pz__rd_f64(r);
  if (r->err) return r->err;
  if (f < 1 || f > PZ__CF_MAX_FACTORS || fs != ((f + 7) & ~7u) ||
      it > PZ__CF_MAX_ITERATIONS || !isfinite(m->reg) || m->reg < 0 ||
      !isfinite(m->alpha) || m->alpha < 0)
    return pz__rd_bad(r, "ALS model with bad parameters");
  uint64_t ys = (uint64_t)m->n_items * fs;
  if (!pz__rd_count(r, ys, sizeof(float), UINT64_MAX)) return r->err;
  /* sizes first, as pz__cfmodel_free reads them */
  float *Y = pz__rd_take(r, a, ys, sizeof *Y, &rc);
  if (rc) return rc;
  m->f = f;
  m->fs = fs;
  m->iterations = it;
  m->Y = Y;
  m->YtY = pz__rd_take(r, a, (uint64_t)fs * fs, sizeof *m->YtY, &rc);
  if (!rc) m->L0 = pz__rd_take(r, a, (uint64_t)f * f, sizeof *m->L0, &rc);
  if (!rc) m->loss = pz__rd_take(r, a, it, sizeof *m->loss, &rc);
  if (rc) return rc;
  for (uint64_t q = 0; q < ys; q++) /* training's factors are O(1) */
    if (fabsf(m->Y[q]) > 1e6f)
      return pz__rd_bad(r, "item factor %llu is out of range",
                        (unsigned long long)q);
  if (!pz__rd_finite_f32(r, m->Y, ys, "item factor") ||
      !pz__rd_finite_f32(r, m->YtY, (uint64_t)fs * fs, "Gram entry"))
    return r->err;
  if (!finite_d(m->L0, (uint64_t)f * f))
    return pz__rd_bad(r, "the fold-in matrix is not finite");
  for (uint32_t j = 0; j < f; j++)
    if (!(m->L0[(size_t)j * f + j] > 0))
      return pz__rd_bad(r, "the fold-in matrix is not a Cholesky factor");
  return pz__cfmodel_norms(a, m);
}

int pz__cfmodel_restore(const pz__alloc *a, pz__rd *r, uint32_t n_items,
                        pz__cfmodel **out) {
  *out = NULL;
  uint8_t present = pz__rd_u8(r);
  if (r->err || !present) return r->err;
  if (present != 1) return pz__rd_bad(r, "bad model flag");
  pz__cfmodel *m = pz__calloc(a, 1, sizeof *m);
  if (!m) return PZ_ENOMEM;
  m->a = a;
  m->algorithm = (int)pz__rd_u32(r);
  m->weighting = (int)pz__rd_u32(r);
  uint32_t ni = pz__rd_u32(r), nu = pz__rd_u32(r);
  m->threads = pz__rd_u32(r);
  m->nnz = pz__rd_u64(r);
  m->train_seconds = pz__rd_f64(r);
  m->trained_at = pz__rd_i64(r);
  m->als_share = pz__rd_f64(r);
  int rc = r->err;
  if (!rc && (m->algorithm < PZ_CF_KNN || m->algorithm > PZ_CF_BOTH ||
              m->weighting < PZ_CF_WEIGHT_NONE ||
              m->weighting > PZ_CF_WEIGHT_BM25 || ni > n_items ||
              m->threads < 1 || m->threads > PZ__CF_MAX_THREADS ||
              !(m->als_share >= 0 && m->als_share <= 1)))
    rc = pz__rd_bad(r, "CF model header out of range");
  /* the model's arrays are sized by these: set them only once the users
   * and items arrays can be allocated */
  if (!rc && !pz__rd_count(r, nu, 0, UINT32_MAX - 1)) rc = r->err;
  if (!rc && (uint64_t)nu * sizeof(uint64_t) > r->len)
    rc = pz__rd_bad(r, "CF model claims %u users", nu);
  if (!rc) m->users_of = pz__rd_take(r, a, ni, sizeof *m->users_of, &rc);
  if (!rc) {
    m->n_items = ni;
    if (nu && !(m->who = pz__malloc(a, (size_t)nu * sizeof *m->who)))
      rc = PZ_ENOMEM;
    else
      m->n_users = nu;
  }
  uint8_t knn = rc ? 0 : pz__rd_u8(r);
  if (!rc && knn > 1) rc = pz__rd_bad(r, "bad kNN flag");
  if (!rc && knn != (m->algorithm != PZ_CF_ALS))
    rc = pz__rd_bad(r, "the kNN part does not match the algorithm");
  if (!rc && knn) rc = restore_knn(a, r, m);
  uint8_t als = rc ? 0 : pz__rd_u8(r);
  if (!rc && als != (m->algorithm != PZ_CF_KNN))
    rc = pz__rd_bad(r, "the ALS part does not match the algorithm");
  if (!rc && als) rc = restore_als(a, r, m);
  if (!rc) {
    m->n_who = pz__rd_u32(r);
    m->erased = pz__rd_u32(r);
    const void *who = pz__rd_array(r, m->n_who, sizeof *m->who);
    if (!who) rc = r->err;
    else if (m->n_who > nu)
      rc = pz__rd_bad(r, "more trained users than the model had");
    else if (m->n_who) memcpy(m->who, who, (size_t)m->n_who * sizeof *m->who);
    for (uint32_t i = 1; !rc && i < m->n_who; i++)
      if (m->who[i] <= m->who[i - 1])
        rc = pz__rd_bad(r, "trained users out of order");
  }
  if (rc) {
    pz__cfmodel_free(m);
    return rc;
  }
  *out = m;
  return PZ_OK;
}
