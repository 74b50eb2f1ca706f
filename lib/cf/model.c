/* The CF model: training from a matrix, the users it was trained on, and
 * the engine's swappable state. */
#include "cf.h"

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
  if (!rc && (cfg->algorithm == PZ_CF_ALS || cfg->algorithm == PZ_CF_BOTH))
    rc = pz__cf_als_train(a, cfg, m, md);
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
  pz__free(a, m->YtY, (size_t)m->fs * m->fs * sizeof *m->YtY);
  pz__free(a, m->L0, (size_t)m->f * m->f * sizeof *m->L0);
  pz__free(a, m->loss, (size_t)m->iterations * sizeof *m->loss);
  pz__free_wipe(a, m->who, (size_t)m->n_users * sizeof *m->who);
  pz__free(a, m->users_of, ni * sizeof *m->users_of);
  pz__free(a, m, sizeof *m);
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
