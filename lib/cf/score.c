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

/* The user's own Cholesky factor when some confidence is not 1; *L is
 * left alone when A is not positive definite (cannot happen with
 * reg > 0: the shared factor is used then). */
static int own_factor(const pz__alloc *a, const pz__cfmodel *m,
                      const pz__cfhist *h, double **L) {
  uint32_t f = m->f, fs = m->fs;
  size_t bytes = (size_t)fs * fs * sizeof(float);
  float *A = pz__malloc(a, bytes);
  double *own = pz__malloc(a, (size_t)f * f * sizeof *own);
  if (!A || !own) {
    pz__free(a, A, bytes);
    pz__free(a, own, (size_t)f * f * sizeof *own);
    return PZ_ENOMEM;
  }
  float *c1 = pz__malloc(a, (size_t)h->n * sizeof *c1);
  if (!c1) {
    pz__free(a, A, bytes);
    pz__free(a, own, (size_t)f * f * sizeof *own);
    return PZ_ENOMEM;
  }
  for (uint32_t k = 0; k < h->n; k++) c1[k] = (float)m->alpha * h->r[k];
  memcpy(A, m->YtY, bytes);
  pz__cf_syrk(A, m->Y, h->item, c1, h->n, fs);
  pz__free(a, c1, (size_t)h->n * sizeof *c1);
  for (uint32_t j = 0; j < f; j++) A[(size_t)j * fs + j] += (float)m->reg;
  bool ok = pz__cf_cholesky(A, fs, f, own);
  pz__free(a, A, bytes);
  if (ok) *L = own;
  else pz__free(a, own, (size_t)f * f * sizeof *own);
  return PZ_OK;
}

static bool all_one(const pz__cfmodel *m, const pz__cfhist *h) {
  for (uint32_t k = 0; k < h->n; k++)
    if (m->alpha * h->r[k] != 0) return false;
  return true;
}

/* The factor of the user's A: their own, or the model's shared one. */
static int factor(const pz__alloc *a, const pz__cfmodel *m,
                  const pz__cfhist *h, double **L, bool *own) {
  *L = m->L0;
  *own = false;
  if (all_one(m, h)) return PZ_OK;
  int rc = own_factor(a, m, h, L);
  *own = *L != m->L0;
  return rc;
}

int pz__cf_fold(const pz__alloc *a, const pz__cfmodel *m, const pz__cfhist *h,
                float *x) {
  uint32_t f = m->f, fs = m->fs;
  memset(x, 0, fs * sizeof *x);
  if (!has_als(m) || !h->n) return PZ_OK;
  double *tmp = pz__calloc(a, f, sizeof *tmp);
  if (!tmp) return PZ_ENOMEM;
  double *L;
  bool own;
  int rc = factor(a, m, h, &L, &own);
  if (!rc) {
    /* b = sum c y, then x = A^-1 b */
    for (uint32_t k = 0; k < h->n; k++) {
      const float *y = m->Y + (size_t)h->item[k] * fs;
      double c = 1 + m->alpha * h->r[k];
      for (uint32_t j = 0; j < f; j++) tmp[j] += c * y[j];
    }
    pz__cf_chol_solve(L, f, tmp);
    for (uint32_t j = 0; j < f; j++) x[j] = (float)tmp[j];
  }
  if (own) pz__free_wipe(a, L, (size_t)f * f * sizeof *L);
  pz__free_wipe(a, tmp, f * sizeof *tmp);
  return rc;
}

void pz__cfuser_init(pz__cfuser *u, const pz__cfmodel *m, const pz__cfhist *h,
                     const float *x) {
  memset(u, 0, sizeof *u);
  u->m = m;
  u->h = h;
  u->x = x;
}

int pz__cfuser_factor(const pz__alloc *a, pz__cfuser *u) {
  const pz__cfmodel *m = u->m;
  if (!has_als(m) || u->L) return PZ_OK;
  u->tmp = pz__calloc(a, m->fs, sizeof *u->tmp); /* zero past f */
  if (!u->tmp) return PZ_ENOMEM;
  int rc = factor(a, m, u->h, &u->L, &u->own_L);
  if (rc) {
    pz__free(a, u->tmp, m->fs * sizeof *u->tmp);
    u->tmp = NULL;
    u->L = NULL;
  }
  return rc;
}

void pz__cfuser_free(const pz__alloc *a, pz__cfuser *u) {
  if (u->m && u->m->fs) {
    pz__free_wipe(a, u->tmp, u->m->fs * sizeof *u->tmp);
    if (u->own_L)
      pz__free_wipe(a, u->L, (size_t)u->m->f * u->m->f * sizeof *u->L);
  }
  memset(u, 0, sizeof *u);
}

void pz__cfuser_als(const pz__cfuser *u, float *als) {
  const pz__cfmodel *m = u->m;
  if (u->h->n) pz__cf_gemv(m->Y, m->n_items, u->x, als, m->fs);
  else memset(als, 0, m->n_items * sizeof *als);
}

uint32_t pz__cfuser_knn(const pz__cfuser *u, float *knn, uint64_t *tbits,
                        uint32_t *touched) {
  const pz__cfmodel *m = u->m;
  /* no branch on whether an item was reached before: its score starts at
   * 0 either way, and the bits say which were */
  for (uint32_t k = 0; k < u->h->n; k++) {
    uint32_t j = u->h->item[k];
    float r = u->h->r[k];
    const uint32_t *idx = m->nidx;
    const float *sim = m->nsim;
    for (uint64_t q = m->nptr[j], e = m->nptr[j + 1]; q < e; q++) {
      uint32_t i = idx[q];
      tbits[i >> 6] |= (uint64_t)1 << (i & 63);
      knn[i] += r * sim[q];
    }
  }
  uint32_t n = 0;
  for (size_t w = 0; w < pz__live_words(m->n_items); w++)
    for (uint64_t b = tbits[w]; b; b &= b - 1)
      touched[n++] = (uint32_t)(w * 64) + (uint32_t)__builtin_ctzll(b);
  return n;
}

void pz__cfuser_solve(const pz__cfuser *u, const uint32_t *items, uint32_t n,
                      double *Z) {
  const pz__cfmodel *m = u->m;
  for (uint32_t r = 0; r < n; r++) {
    const float *yi = m->Y + (size_t)items[r] * m->fs;
    double *z = Z + (size_t)r * m->fs;
    for (uint32_t j = 0; j < m->f; j++) z[j] = yi[j];
    for (uint32_t j = m->f; j < m->fs; j++) z[j] = 0;
  }
  pz__cf_chol_solve_many(u->L, m->f, Z, m->fs, n);
}

void pz__cfuser_explain(const pz__cfuser *u, uint32_t i, const double *z,
                        double *knn, double *als) {
  const pz__cfmodel *m = u->m;
  const pz__cfhist *h = u->h;
  if (knn && has_knn(m))
    for (uint32_t k = 0; k < h->n; k++)
      knn[k] = (double)h->r[k] * pz__cf_knn_sim(m, h->item[k], i);
  if (als && has_als(m) && h->n) {
    if (!z) {
      const float *yi = m->Y + (size_t)i * m->fs;
      for (uint32_t j = 0; j < m->f; j++) u->tmp[j] = yi[j];
      pz__cf_chol_solve(u->L, m->f, u->tmp); /* z = A^-1 y_i */
      z = u->tmp;
    }
    for (uint32_t k = 0; k < h->n; k++) {
      const float *y = m->Y + (size_t)h->item[k] * m->fs;
      als[k] = (1 + m->alpha * h->r[k]) * pz__cf_dot_fd(z, y, m->fs);
    }
  }
}
