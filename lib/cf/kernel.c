/* Dense kernels of ALS: dot products and rank-1 updates over factor rows of
 * a multiple of 8 floats, conjugate-gradient row solves, Cholesky. Written
 * so that the compiler vectorizes them without reassociating floating
 * point (eight running sums); on x86-64 Linux with GCC the row-level
 * functions are also compiled for AVX2+FMA and picked at load time. */
#include "cf.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
#define PZ__CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define PZ__CLONES
#endif

PZ__HOT_INLINE float dot8(const float *a, const float *b, uint32_t f) {
  float acc[8] = {0};
  for (uint32_t j = 0; j < f; j += 8)
    for (uint32_t l = 0; l < 8; l++) acc[l] += a[j + l] * b[j + l];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
         ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

PZ__HOT_INLINE void axpy8(float *y, float a, const float *x, uint32_t f) {
  for (uint32_t j = 0; j < f; j++) y[j] += a * x[j];
}

PZ__HOT_INLINE void symv8(const float *A, const float *x, float *out,
                          uint32_t f) {
  for (uint32_t a = 0; a < f; a++) out[a] = dot8(A + (size_t)a * f, x, f);
}

float pz__cf_dot(const float *a, const float *b, uint32_t f) {
  return dot8(a, b, f);
}

void pz__cf_axpy(float *y, float a, const float *x, uint32_t f) {
  axpy8(y, a, x, f);
}

void pz__cf_symv(const float *A, const float *x, float *out, uint32_t f) {
  symv8(A, x, out, f);
}

PZ__CLONES void pz__cf_syr(float *A, float c, const float *y, uint32_t f) {
  for (uint32_t a = 0; a < f; a++)
    if (y[a] != 0) axpy8(A + (size_t)a * f, c * y[a], y, f);
}

PZ__CLONES void pz__cf_gemv(const float *Y, uint32_t n, const float *x,
                            float *out, uint32_t f) {
  for (uint32_t i = 0; i < n; i++) out[i] = dot8(Y + (size_t)i * f, x, f);
}

PZ__CLONES void pz__cf_gram(const float *Y, uint32_t from, uint32_t to,
                            float *G, uint32_t f) {
  /* the upper triangle in steps of 8 columns; pz__cf_gram_mirror fills
   * the rest once all blocks are summed */
  for (uint32_t i = from; i < to; i++) {
    const float *y = Y + (size_t)i * f;
    for (uint32_t a = 0; a < f; a++) {
      if (y[a] == 0) continue;
      uint32_t b0 = a & ~7u;
      axpy8(G + (size_t)a * f + b0, y[a], y + b0, f - b0);
    }
  }
}

void pz__cf_gram_mirror(float *G, uint32_t f) {
  for (uint32_t a = 0; a < f; a++)
    for (uint32_t b = 0; b < (a & ~7u); b++) G[(size_t)a * f + b] = G[(size_t)b * f + a];
}

PZ__CLONES void pz__cf_cg_row(const pz__cf_cg *g, const uint32_t *idx,
                              const float *r, uint32_t n, float *x,
                              float *work) {
  const uint32_t f = g->fs;
  float *res = work, *p = work + f, *Ap = work + 2 * f;
  /* res = b - A x, A = G + reg I + sum (c - 1) y y^T, b = sum c y */
  symv8(g->G, x, res, f);
  for (uint32_t j = 0; j < f; j++) res[j] = -res[j] - g->reg * x[j];
  for (uint32_t k = 0; k < n; k++) {
    const float *y = g->Y + (size_t)idx[k] * f;
    float c = 1.0f + g->alpha * r[k];
    axpy8(res, c - (c - 1.0f) * dot8(y, x, f), y, f);
  }
  memcpy(p, res, f * sizeof *p);
  float rs = dot8(res, res, f);
  for (uint32_t it = 0; it < g->steps && rs > 1e-20f; it++) {
    symv8(g->G, p, Ap, f);
    for (uint32_t j = 0; j < f; j++) Ap[j] += g->reg * p[j];
    for (uint32_t k = 0; k < n; k++) {
      const float *y = g->Y + (size_t)idx[k] * f;
      float c1 = g->alpha * r[k];
      if (c1 != 0) axpy8(Ap, c1 * dot8(y, p, f), y, f);
    }
    float pAp = dot8(p, Ap, f);
    if (!(pAp > 0)) break;
    float step = rs / pAp;
    axpy8(x, step, p, f);
    axpy8(res, -step, Ap, f);
    float rs2 = dot8(res, res, f);
    float beta = rs2 / rs;
    for (uint32_t j = 0; j < f; j++) p[j] = res[j] + beta * p[j];
    rs = rs2;
  }
}

PZ__CLONES double pz__cf_loss_row(const pz__cf_cg *g, const uint32_t *idx,
                                  const float *r, uint32_t n, const float *x,
                                  float *work) {
  /* sum over all items of c (p - x.y)^2, using G for the unobserved part:
   * x^T G x counts every item with weight 1 and target 0 */
  const uint32_t f = g->fs;
  symv8(g->G, x, work, f);
  double loss = dot8(x, work, f);
  for (uint32_t k = 0; k < n; k++) {
    double s = dot8(g->Y + (size_t)idx[k] * f, x, f);
    double c = 1.0 + (double)g->alpha * r[k];
    loss += c * (1 - s) * (1 - s) - s * s;
  }
  return loss;
}

bool pz__cf_cholesky(const float *A, uint32_t ld, uint32_t n, double *L) {
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t j = 0; j <= i; j++) {
      double s = A[(size_t)i * ld + j];
      for (uint32_t k = 0; k < j; k++)
        s -= L[(size_t)i * n + k] * L[(size_t)j * n + k];
      if (i == j) {
        if (!(s > 0)) return false;
        L[(size_t)i * n + i] = sqrt(s);
      } else {
        L[(size_t)i * n + j] = s / L[(size_t)j * n + j];
      }
    }
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t j = i + 1; j < n; j++) L[(size_t)i * n + j] = 0;
  return true;
}

void pz__cf_chol_solve(const double *L, uint32_t n, double *b) {
  for (uint32_t i = 0; i < n; i++) {
    double s = b[i];
    for (uint32_t k = 0; k < i; k++) s -= L[(size_t)i * n + k] * b[k];
    b[i] = s / L[(size_t)i * n + i];
  }
  for (uint32_t i = n; i-- > 0;) {
    double s = b[i];
    for (uint32_t k = i + 1; k < n; k++) s -= L[(size_t)k * n + i] * b[k];
    b[i] = s / L[(size_t)i * n + i];
  }
}
