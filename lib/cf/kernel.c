/* Dense kernels of ALS: dot products and rank-1 updates over factor rows of
 * a multiple of 8 floats, conjugate-gradient row solves, Cholesky. Written
 * so that the compiler vectorizes them without reassociating floating
 * point (eight running sums). On x86-64 the row-level functions are also
 * compiled for AVX2 with FMA and chosen per call when the CPU has both
 * (results then differ from the baseline build in the last bits, as FMA
 * rounds once). */
#include "cf.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PZ__AVX2 1
#define PZ__AVX2_FN __attribute__((target("avx2,fma")))
static bool avx2(void) {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define PZ__AVX2 0
#endif

/* Define NAME as the dispatcher of NAME_impl (an always-inline body) over
 * a baseline and an AVX2 build. */
#if PZ__AVX2
#define DISPATCH(RET, NAME, PARAMS, ARGS)                         \
  static RET NAME##_base PARAMS { return NAME##_impl ARGS; }      \
  PZ__AVX2_FN static RET NAME##_avx2 PARAMS {                     \
    return NAME##_impl ARGS;                                      \
  }                                                               \
  RET NAME PARAMS { return (avx2() ? NAME##_avx2 : NAME##_base)ARGS; }
#else
#define DISPATCH(RET, NAME, PARAMS, ARGS) \
  RET NAME PARAMS { return NAME##_impl ARGS; }
#endif

#if defined(__GNUC__) || defined(__clang__)
/* Eight floats as one value: one AVX register, or two SSE ones. Loads and
 * stores go through memcpy, so rows need no particular alignment. */
typedef float v8 __attribute__((vector_size(32)));

PZ__HOT_INLINE v8 ld8(const float *p) {
  v8 v;
  memcpy(&v, p, sizeof v);
  return v;
}

PZ__HOT_INLINE void st8(float *p, v8 v) { memcpy(p, &v, sizeof v); }

PZ__HOT_INLINE float dot8(const float *a, const float *b, uint32_t f) {
  v8 acc = {0};
  for (uint32_t j = 0; j < f; j += 8) acc += ld8(a + j) * ld8(b + j);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
         ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

PZ__HOT_INLINE void axpy8(float *y, float a, const float *x, uint32_t f) {
  v8 av = {a, a, a, a, a, a, a, a};
  for (uint32_t j = 0; j < f; j += 8) st8(y + j, ld8(y + j) + av * ld8(x + j));
}
#else
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
#endif

/* out = A x for symmetric A, as a sum of rows (no horizontal sums), 32
 * columns at a time so the partial sums stay in registers. */
#if defined(__GNUC__) || defined(__clang__)
PZ__HOT_INLINE void symv8(const float *A, const float *x, float *out,
                          uint32_t f) {
  uint32_t c = 0;
  for (; c + 32 <= f; c += 32) {
    v8 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    for (uint32_t a = 0; a < f; a++) {
      const float *row = A + (size_t)a * f + c;
      float xa = x[a];
      v8 xv = {xa, xa, xa, xa, xa, xa, xa, xa};
      s0 += xv * ld8(row);
      s1 += xv * ld8(row + 8);
      s2 += xv * ld8(row + 16);
      s3 += xv * ld8(row + 24);
    }
    st8(out + c, s0);
    st8(out + c + 8, s1);
    st8(out + c + 16, s2);
    st8(out + c + 24, s3);
  }
  for (; c < f; c += 8) {
    v8 s0 = {0};
    for (uint32_t a = 0; a < f; a++) {
      float xa = x[a];
      v8 xv = {xa, xa, xa, xa, xa, xa, xa, xa};
      s0 += xv * ld8(A + (size_t)a * f + c);
    }
    st8(out + c, s0);
  }
}
#else
PZ__HOT_INLINE void symv8(const float *A, const float *x, float *out,
                          uint32_t f) {
  memset(out, 0, f * sizeof *out);
  for (uint32_t a = 0; a < f; a++)
    if (x[a] != 0) axpy8(out, x[a], A + (size_t)a * f, f);
}
#endif

float pz__cf_dot(const float *a, const float *b, uint32_t f) {
  return dot8(a, b, f);
}

void pz__cf_axpy(float *y, float a, const float *x, uint32_t f) {
  axpy8(y, a, x, f);
}

void pz__cf_symv(const float *A, const float *x, float *out, uint32_t f) {
  symv8(A, x, out, f);
}


/* Row a of A, from column b0 on, gets c_k y_k[a] y_k[b] added for each k
 * in turn: 32 columns at a time held in registers over the whole history
 * and stored once, instead of one pass over A per history item. Each
 * entry sees the same additions in the same order as h rank-1 updates
 * would make, so the result is the same to the bit. */
#if defined(__GNUC__) || defined(__clang__)
PZ__HOT_INLINE void pz__cf_syrk_impl(float *A, const float *Y,
                                     const uint32_t *idx, const float *c,
                                     uint32_t h, uint32_t f) {
  for (uint32_t a = 0; a < f; a++) {
    float *row = A + (size_t)a * f;
    uint32_t b = a & ~7u;
    for (; b + 32 <= f; b += 32) {
      v8 s0 = ld8(row + b), s1 = ld8(row + b + 8), s2 = ld8(row + b + 16),
         s3 = ld8(row + b + 24);
      for (uint32_t k = 0; k < h; k++) {
        const float *y = Y + (size_t)idx[k] * f;
        float w = c[k] * y[a];
        v8 wv = {w, w, w, w, w, w, w, w};
        s0 += wv * ld8(y + b);
        s1 += wv * ld8(y + b + 8);
        s2 += wv * ld8(y + b + 16);
        s3 += wv * ld8(y + b + 24);
      }
      st8(row + b, s0);
      st8(row + b + 8, s1);
      st8(row + b + 16, s2);
      st8(row + b + 24, s3);
    }
    for (; b < f; b += 8) {
      v8 s0 = ld8(row + b);
      for (uint32_t k = 0; k < h; k++) {
        const float *y = Y + (size_t)idx[k] * f;
        float w = c[k] * y[a];
        v8 wv = {w, w, w, w, w, w, w, w};
        s0 += wv * ld8(y + b);
      }
      st8(row + b, s0);
    }
  }
}
#else
PZ__HOT_INLINE void pz__cf_syrk_impl(float *A, const float *Y,
                                     const uint32_t *idx, const float *c,
                                     uint32_t h, uint32_t f) {
  for (uint32_t k = 0; k < h; k++) {
    const float *y = Y + (size_t)idx[k] * f;
    for (uint32_t a = 0; a < f; a++) {
      uint32_t b0 = a & ~7u;
      axpy8(A + (size_t)a * f + b0, c[k] * y[a], y + b0, f - b0);
    }
  }
}
#endif

PZ__HOT_INLINE void pz__cf_gemv_impl(const float *Y, uint32_t n,
                                     const float *x, float *out, uint32_t f) {
  for (uint32_t i = 0; i < n; i++) out[i] = dot8(Y + (size_t)i * f, x, f);
}

PZ__HOT_INLINE void pz__cf_gram_impl(const float *Y, uint32_t from,
                                     uint32_t to, float *G, uint32_t f) {
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

PZ__HOT_INLINE void pz__cf_cg_row_impl(const pz__cf_cg *g,
                                       const uint32_t *idx, const float *r,
                                       uint32_t n, float *x, float *work) {
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

PZ__HOT_INLINE double pz__cf_loss_row_impl(const pz__cf_cg *g,
                                           const uint32_t *idx, const float *r,
                                           uint32_t n, const float *x,
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

/* sum of z[j] y[j] in double, four vector sums (f a multiple of 8). */
#if defined(__GNUC__) || defined(__clang__)
typedef float v4f __attribute__((vector_size(16)));
PZ__HOT_INLINE double pz__cf_dot_fd_impl(const double *z, const float *y,
                                         uint32_t f) {
  typedef double v4dd __attribute__((vector_size(32)));
  v4dd s0 = {0}, s1 = {0};
  for (uint32_t j = 0; j < f; j += 8) {
    v4f a, b;
    memcpy(&a, y + j, sizeof a);
    memcpy(&b, y + j + 4, sizeof b);
    v4dd za, zb;
    memcpy(&za, z + j, sizeof za);
    memcpy(&zb, z + j + 4, sizeof zb);
    s0 += za * __builtin_convertvector(a, v4dd);
    s1 += zb * __builtin_convertvector(b, v4dd);
  }
  v4dd t = s0 + s1;
  return (t[0] + t[1]) + (t[2] + t[3]);
}
#else
PZ__HOT_INLINE double pz__cf_dot_fd_impl(const double *z, const float *y,
                                         uint32_t f) {
  double s[4] = {0, 0, 0, 0};
  for (uint32_t j = 0; j < f; j += 4)
    for (uint32_t l = 0; l < 4; l++) s[l] += z[j + l] * y[j + l];
  return (s[0] + s[1]) + (s[2] + s[3]);
}
#endif

DISPATCH(double, pz__cf_dot_fd, (const double *z, const float *y, uint32_t f),
         (z, y, f))
DISPATCH(void, pz__cf_syrk,
         (float *A, const float *Y, const uint32_t *idx, const float *c,
          uint32_t h, uint32_t f),
         (A, Y, idx, c, h, f))
DISPATCH(void, pz__cf_gemv,
         (const float *Y, uint32_t n, const float *x, float *out, uint32_t f),
         (Y, n, x, out, f))
DISPATCH(void, pz__cf_gram,
         (const float *Y, uint32_t from, uint32_t to, float *G, uint32_t f),
         (Y, from, to, G, f))
DISPATCH(void, pz__cf_cg_row,
         (const pz__cf_cg *g, const uint32_t *idx, const float *r, uint32_t n,
          float *x, float *work),
         (g, idx, r, n, x, work))
DISPATCH(double, pz__cf_loss_row,
         (const pz__cf_cg *g, const uint32_t *idx, const float *r, uint32_t n,
          const float *x, float *work),
         (g, idx, r, n, x, work))

/* Double-precision dot product of n entries with four independent
 * vector sums: the row operations of the Cholesky factorization and its
 * solves are chains of these, and one running sum would make each of them
 * wait on the latency of every multiply-add. */
#if defined(__GNUC__) || defined(__clang__)
typedef double v4d __attribute__((vector_size(32)));

PZ__HOT_INLINE v4d ld4d(const double *p) {
  v4d v;
  memcpy(&v, p, sizeof v);
  return v;
}

PZ__HOT_INLINE double dotd(const double *a, const double *b, uint32_t n) {
  v4d s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
  uint32_t k = 0;
  for (; k + 16 <= n; k += 16) {
    s0 += ld4d(a + k) * ld4d(b + k);
    s1 += ld4d(a + k + 4) * ld4d(b + k + 4);
    s2 += ld4d(a + k + 8) * ld4d(b + k + 8);
    s3 += ld4d(a + k + 12) * ld4d(b + k + 12);
  }
  for (; k + 4 <= n; k += 4) s0 += ld4d(a + k) * ld4d(b + k);
  v4d s = (s0 + s1) + (s2 + s3);
  double t = (s[0] + s[1]) + (s[2] + s[3]);
  for (; k < n; k++) t += a[k] * b[k];
  return t;
}

PZ__HOT_INLINE void axpyd(double *y, double a, const double *x, uint32_t n) {
  v4d av = {a, a, a, a};
  uint32_t k = 0;
  for (; k + 4 <= n; k += 4) {
    v4d r = ld4d(y + k) + av * ld4d(x + k);
    memcpy(y + k, &r, sizeof r);
  }
  for (; k < n; k++) y[k] += a * x[k];
}
#else
PZ__HOT_INLINE double dotd(const double *a, const double *b, uint32_t n) {
  double s[4] = {0, 0, 0, 0};
  uint32_t k = 0;
  for (; k + 4 <= n; k += 4)
    for (uint32_t l = 0; l < 4; l++) s[l] += a[k + l] * b[k + l];
  double t = (s[0] + s[1]) + (s[2] + s[3]);
  for (; k < n; k++) t += a[k] * b[k];
  return t;
}

PZ__HOT_INLINE void axpyd(double *y, double a, const double *x, uint32_t n) {
  for (uint32_t k = 0; k < n; k++) y[k] += a * x[k];
}
#endif

/* Left-looking, row by row of L: entry (i, j) is A's (j, i) less the dot
 * product of the two rows' first j entries, taken four rows j at a time
 * so that each load of row i serves four sums, and scaled by the
 * reciprocal of L's diagonal (no division in the chain). */
#if defined(__GNUC__) || defined(__clang__)
PZ__HOT_INLINE bool pz__cf_cholesky_impl(const float *A, uint32_t ld,
                                         uint32_t n, double *L) {
  double inv[PZ__CF_MAX_FACTORS];
  assert(n <= PZ__CF_MAX_FACTORS);
  for (uint32_t i = 0; i < n; i++) {
    double *li = L + (size_t)i * n;
    uint32_t j = 0;
    for (; j + 4 <= i; j += 4) {
      const double *l0 = L + (size_t)j * n, *l1 = l0 + n, *l2 = l1 + n,
                   *l3 = l2 + n;
      v4d s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
      uint32_t k = 0;
      for (; k + 4 <= j; k += 4) {
        v4d x = ld4d(li + k);
        s0 += x * ld4d(l0 + k);
        s1 += x * ld4d(l1 + k);
        s2 += x * ld4d(l2 + k);
        s3 += x * ld4d(l3 + k);
      }
      double t0 = (s0[0] + s0[1]) + (s0[2] + s0[3]),
             t1 = (s1[0] + s1[1]) + (s1[2] + s1[3]),
             t2 = (s2[0] + s2[1]) + (s2[2] + s2[3]),
             t3 = (s3[0] + s3[1]) + (s3[2] + s3[3]);
      for (; k < j; k++) {
        t0 += li[k] * l0[k];
        t1 += li[k] * l1[k];
        t2 += li[k] * l2[k];
        t3 += li[k] * l3[k];
      }
      li[j] = (A[(size_t)j * ld + i] - t0) * inv[j];
      t1 += li[j] * l1[j];
      li[j + 1] = (A[(size_t)(j + 1) * ld + i] - t1) * inv[j + 1];
      t2 += li[j] * l2[j] + li[j + 1] * l2[j + 1];
      li[j + 2] = (A[(size_t)(j + 2) * ld + i] - t2) * inv[j + 2];
      t3 += li[j] * l3[j] + li[j + 1] * l3[j + 1] + li[j + 2] * l3[j + 2];
      li[j + 3] = (A[(size_t)(j + 3) * ld + i] - t3) * inv[j + 3];
    }
    for (; j <= i; j++) {
      const double *lj = L + (size_t)j * n;
      double s = A[(size_t)j * ld + i] - dotd(li, lj, j);
      if (i == j) {
        if (!(s > 0)) return false;
        li[i] = sqrt(s);
        inv[i] = 1 / li[i];
      } else {
        li[j] = s * inv[j];
      }
    }
    for (j = i + 1; j < n; j++) li[j] = 0;
  }
  return true;
}
#else
PZ__HOT_INLINE bool pz__cf_cholesky_impl(const float *A, uint32_t ld,
                                         uint32_t n, double *L) {
  for (uint32_t i = 0; i < n; i++) {
    double *li = L + (size_t)i * n;
    for (uint32_t j = 0; j <= i; j++) {
      const double *lj = L + (size_t)j * n;
      double s = A[(size_t)j * ld + i] - dotd(li, lj, j);
      if (i == j) {
        if (!(s > 0)) return false;
        li[i] = sqrt(s);
      } else {
        li[j] = s / lj[j];
      }
    }
    for (uint32_t j = i + 1; j < n; j++) li[j] = 0;
  }
  return true;
}
#endif

/* Forward substitution by rows (dot products), back substitution by
 * columns of L^T, which are rows of L (a multiply-add over each row). */
PZ__HOT_INLINE void pz__cf_chol_solve_impl(const double *L, uint32_t n,
                                           double *b) {
  for (uint32_t i = 0; i < n; i++) {
    const double *li = L + (size_t)i * n;
    b[i] = (b[i] - dotd(li, b, i)) / li[i];
  }
  for (uint32_t i = n; i-- > 0;) {
    const double *li = L + (size_t)i * n;
    b[i] /= li[i];
    axpyd(b, -b[i], li, i);
  }
}

/* The same for m right-hand sides (B: m vectors of n), each with the very
 * operations of pz__cf_chol_solve, two at a time: their chains of
 * dependent sums overlap. */
PZ__HOT_INLINE void pz__cf_chol_solve_many_impl(const double *L, uint32_t n,
                                                double *B, uint32_t ld,
                                                uint32_t m) {
  uint32_t r = 0;
  for (; r + 2 <= m; r += 2) {
    double *b0 = B + (size_t)r * ld, *b1 = b0 + ld;
    for (uint32_t i = 0; i < n; i++) {
      const double *li = L + (size_t)i * n;
      double d0 = dotd(li, b0, i), d1 = dotd(li, b1, i);
      b0[i] = (b0[i] - d0) / li[i];
      b1[i] = (b1[i] - d1) / li[i];
    }
    for (uint32_t i = n; i-- > 0;) {
      const double *li = L + (size_t)i * n;
      b0[i] /= li[i];
      b1[i] /= li[i];
      axpyd(b0, -b0[i], li, i);
      axpyd(b1, -b1[i], li, i);
    }
  }
  if (r < m) pz__cf_chol_solve_impl(L, n, B + (size_t)r * ld);
}

DISPATCH(bool, pz__cf_cholesky,
         (const float *A, uint32_t ld, uint32_t n, double *L), (A, ld, n, L))
DISPATCH(void, pz__cf_chol_solve, (const double *L, uint32_t n, double *b),
         (L, n, b))
DISPATCH(void, pz__cf_chol_solve_many,
         (const double *L, uint32_t n, double *B, uint32_t ld, uint32_t m),
         (L, n, B, ld, m))
