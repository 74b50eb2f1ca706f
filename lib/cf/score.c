/* Request time: fold a user in from their current history and score or
 * explain items. For ALS, x = A^-1 b with A = Y^T Y + reg I + sum over the
 * user's items of (c - 1) y y^T and b = sum c y, so an item's score
 * y_i . x = sum over the user's items j of c_j (A^-1 y_i) . y_j: that sum's
 * terms are the explanation. */
#include "cf.h"

#include <string.h>

static bool has_als(const pz__cfmodel *m) {
  return m->algorithm == PZ_CF_ALS || m->algorithm == PZ_CF_BOTH;
}

static bool has_knn(const pz__cfmodel *m) {
  return m->algorithm == PZ_CF_KNN || m->algorithm == PZ_CF_BOTH;
}

/* The user's own A when some confidence is not 1. */
static int own_factor(const pz__alloc *a, pz__cfuser *u) {
  const pz__cfmodel *m = u->m;
  uint32_t f = m->f, fs = m->fs;
  size_t bytes = (size_t)fs * fs * sizeof(float);
  float *A = pz__malloc(a, bytes);
  u->L = pz__malloc(a, (size_t)f * f * sizeof *u->L);
  if (!A || !u->L) {
    pz__free(a, A, bytes);
    pz__free(a, u->L, (size_t)f * f * sizeof *u->L);
    u->L = NULL;
    return PZ_ENOMEM;
  }
  u->own_L = true;
  memcpy(A, m->YtY, bytes);
  for (uint32_t k = 0; k < u->h->n; k++) {
    float c1 = (float)m->alpha * u->h->r[k];
    if (c1 != 0) pz__cf_syr(A, c1, m->Y + (size_t)u->h->item[k] * fs, fs);
  }
  for (uint32_t j = 0; j < f; j++) A[(size_t)j * fs + j] += (float)m->reg;
  bool ok = pz__cf_cholesky(A, fs, f, u->L);
  pz__free(a, A, bytes);
  if (!ok) { /* cannot happen with reg > 0; fall back to the shared one */
    pz__free(a, u->L, (size_t)f * f * sizeof *u->L);
    u->L = m->L0;
    u->own_L = false;
  }
  return PZ_OK;
}

int pz__cfuser_init(const pz__alloc *a, pz__cfuser *u, const pz__cfmodel *m,
                    const pz__cfhist *h) {
  memset(u, 0, sizeof *u);
  u->m = m;
  u->h = h;
  if (!has_als(m)) return PZ_OK;
  uint32_t f = m->f, fs = m->fs;
  u->x = pz__calloc(a, fs, sizeof *u->x);
  u->tmp = pz__calloc(a, f, sizeof *u->tmp);
  if (!u->x || !u->tmp) {
    pz__cfuser_free(a, u);
    return PZ_ENOMEM;
  }
  u->L = m->L0;
  bool all_one = true;
  for (uint32_t k = 0; k < h->n && all_one; k++)
    all_one = m->alpha * h->r[k] == 0;
  int rc = all_one ? PZ_OK : own_factor(a, u);
  if (rc) {
    pz__cfuser_free(a, u);
    return rc;
  }
  /* b = sum c y, then x = A^-1 b */
  for (uint32_t k = 0; k < h->n; k++) {
    const float *y = m->Y + (size_t)h->item[k] * fs;
    double c = 1 + m->alpha * h->r[k];
    for (uint32_t j = 0; j < f; j++) u->tmp[j] += c * y[j];
  }
  pz__cf_chol_solve(u->L, f, u->tmp);
  for (uint32_t j = 0; j < f; j++) u->x[j] = (float)u->tmp[j];
  return PZ_OK;
}

void pz__cfuser_free(const pz__alloc *a, pz__cfuser *u) {
  if (u->m && u->m->fs) {
    pz__free_wipe(a, u->x, u->m->fs * sizeof *u->x);
    pz__free_wipe(a, u->tmp, u->m->f * sizeof *u->tmp);
    if (u->own_L)
      pz__free_wipe(a, u->L, (size_t)u->m->f * u->m->f * sizeof *u->L);
  }
  memset(u, 0, sizeof *u);
}

void pz__cfuser_scores(const pz__cfuser *u, float *knn, float *als) {
  const pz__cfmodel *m = u->m;
  if (als && has_als(m)) {
    if (u->h->n) pz__cf_gemv(m->Y, m->n_items, u->x, als, m->fs);
    else memset(als, 0, m->n_items * sizeof *als);
  }
  if (knn && has_knn(m)) {
    memset(knn, 0, m->n_items * sizeof *knn);
    for (uint32_t k = 0; k < u->h->n; k++) {
      uint32_t j = u->h->item[k];
      float r = u->h->r[k];
      for (uint64_t q = m->nptr[j]; q < m->nptr[j + 1]; q++)
        knn[m->nidx[q]] += r * m->nsim[q];
    }
  }
}

void pz__cfuser_explain(const pz__cfuser *u, uint32_t i, double *knn,
                        double *als) {
  const pz__cfmodel *m = u->m;
  const pz__cfhist *h = u->h;
  if (knn && has_knn(m))
    for (uint32_t k = 0; k < h->n; k++)
      knn[k] = (double)h->r[k] * pz__cf_knn_sim(m, h->item[k], i);
  if (als && has_als(m) && h->n) {
    const float *yi = m->Y + (size_t)i * m->fs;
    for (uint32_t j = 0; j < m->f; j++) u->tmp[j] = yi[j];
    pz__cf_chol_solve(u->L, m->f, u->tmp); /* z = A^-1 y_i */
    for (uint32_t k = 0; k < h->n; k++) {
      const float *y = m->Y + (size_t)h->item[k] * m->fs;
      double s = 0;
      for (uint32_t j = 0; j < m->f; j++) s += u->tmp[j] * y[j];
      als[k] = (1 + m->alpha * h->r[k]) * s;
    }
  }
}
