/* Sorted sparse vectors of (uint32 index, float value). */
#include "svec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void pz__sv_free(const pz__alloc *a, pz__sv *v, bool wipe) {
  size_t bytes = (size_t)v->cap * sizeof *v->e;
  if (wipe) pz__free_wipe(a, v->e, bytes);
  else pz__free(a, v->e, bytes);
  v->e = NULL;
  v->n = v->cap = 0;
}

size_t pz__sv_bytes(const pz__sv *v) { return (size_t)v->cap * sizeof *v->e; }

int64_t pz__sv_find(const pz__ent *e, uint32_t n, uint32_t i) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (e[mid].i < i) lo = mid + 1;
    else hi = mid;
  }
  return (lo < n && e[lo].i == i) ? (int64_t)lo : -1;
}

/* Lower bound of index i in e[lo, n): a binary search without branches
 * on the data (the comparison selects the half with a conditional move),
 * so its cost is log2(n - lo) dependent loads and no mispredictions.
 * Feature hashes are uniform, so a galloping search from the previous
 * position (src is sorted) saves little and mispredicts on every step. */
static uint32_t lower_bound(const pz__ent *e, uint32_t lo, uint32_t n,
                            uint32_t i) {
  if (lo >= n) return n;
  const pz__ent *base = e + lo;
  uint32_t len = n - lo;
  while (len > 1) {
    uint32_t half = len / 2;
    base = base[half - 1].i < i ? base + half : base;
    len -= half;
  }
  return (uint32_t)(base - e) + (base->i < i);
}

static void drop_zeros(pz__sv *v) {
  uint32_t w = 0;
  for (uint32_t i = 0; i < v->n; i++)
    if (v->e[i].v != 0.0f) v->e[w++] = v->e[i];
  v->n = w;
}

/* Common case first: every index of src is already present, so values are
 * updated in place (src is sorted, so each search starts where the last
 * one ended). Otherwise grow once and merge from the back: O(n + m) with
 * no per-entry memmove. Only entries that changed can have become zero. */
int pz__sv_axpy(const pz__alloc *a, pz__sv *v, const pz__ent *src,
                uint32_t m, double scale, float *max_touched) {
  float top = 0;
  bool zero = false;
  uint32_t fresh = 0, lo = 0;
  /* positions found by the counting pass are reused by the update pass
   * (items have few features; the rare larger ones search again) */
  uint32_t pos[64];
  /* The vector is usually cold (one of many profiles): ask for all of its
   * lines at once, so the searches' dependent loads wait for one memory
   * latency rather than one each. */
  if (m > 1 && v->n && v->n <= 1024) {
    const char *c = (const char *)v->e, *end = (const char *)(v->e + v->n);
    for (; c < end; c += 64) PZ__PREFETCH(c);
  }
  for (uint32_t j = 0; j < m; j++) {
    lo = lower_bound(v->e, lo, v->n, src[j].i);
    if (lo == v->n || v->e[lo].i != src[j].i) fresh++;
    if (j < 64) pos[j] = lo;
  }
  if (!fresh) {
    lo = 0;
    for (uint32_t j = 0; j < m; j++) {
      lo = j < 64 ? pos[j] : lower_bound(v->e, lo, v->n, src[j].i);
      float x = (float)(v->e[lo].v + scale * src[j].v);
      v->e[lo].v = x;
      zero |= x == 0.0f;
      if (fabsf(x) > top) top = fabsf(x);
    }
  } else {
    if ((uint64_t)v->n + fresh > UINT32_MAX)
      return pz__fail(PZ_ELIMIT, "sparse vector too large");
    /* grow by an eighth: profiles are many and long-lived, so slack costs
     * more than the occasional copy */
    uint32_t need = v->n + fresh;
    if (need > v->cap) {
      uint64_t ncap = (uint64_t)need + need / 8 + 2;
      if (ncap > UINT32_MAX) ncap = UINT32_MAX;
      pz__ent *p = pz__realloc(a, v->e, (size_t)v->cap * sizeof *p,
                               (size_t)ncap * sizeof *p);
      if (!p) return PZ_ENOMEM;
      v->e = p;
      v->cap = (uint32_t)ncap;
    }
    int64_t i = (int64_t)v->n - 1, j = (int64_t)m - 1,
            w = (int64_t)need - 1;
    /* from the back: move the run of entries above each new index up in
     * one piece, then write the new (or merged) entry below it */
    for (; j >= 0; j--) {
      /* pos[] holds positions in the original entries, which are exactly
       * the ones not yet moved (e[0..i]) */
      uint32_t p = j < 64 ? pos[j]
                          : lower_bound(v->e, 0, (uint32_t)(i + 1), src[j].i);
      bool match = p <= i && v->e[p].i == src[j].i;
      int64_t start = (int64_t)p + match, count = i + 1 - start;
      if (count > 0) {
        memmove(&v->e[w - count + 1], &v->e[start],
                (size_t)count * sizeof *v->e);
        w -= count;
      }
      float x = (float)((match ? v->e[p].v : 0.0) + scale * src[j].v);
      v->e[w].i = src[j].i;
      v->e[w--].v = x;
      i = (int64_t)p - 1;
      zero |= x == 0.0f;
      if (fabsf(x) > top) top = fabsf(x);
    }
    v->n = need;
  }
  if (zero) drop_zeros(v); /* an event cancelled by its opposite */
  if (max_touched) *max_touched = top;
  return PZ_OK;
}

void pz__sv_scale(pz__sv *v, double f) {
  uint32_t w = 0;
  for (uint32_t i = 0; i < v->n; i++) {
    float x = (float)(v->e[i].v * f);
    if (x != 0.0f) {
      v->e[w].i = v->e[i].i;
      v->e[w++].v = x;
    }
  }
  v->n = w;
}

double pz__sv_dot(const pz__ent *a, uint32_t na, const pz__ent *b,
                  uint32_t nb) {
  double acc = 0;
  uint32_t i = 0, j = 0;
  while (i < na && j < nb) {
    if (a[i].i < b[j].i) i++;
    else if (a[i].i > b[j].i) j++;
    else acc += (double)a[i++].v * b[j++].v;
  }
  return acc;
}

double pz__sv_norm(const pz__ent *e, uint32_t n) {
  double acc = 0;
  for (uint32_t i = 0; i < n; i++) acc += (double)e[i].v * e[i].v;
  return sqrt(acc);
}

static int ent_cmp(const void *x, const void *y) {
  const pz__ent *a = x, *b = y;
  return (a->i > b->i) - (a->i < b->i);
}

uint32_t pz__ent_normalize(pz__ent *e, uint32_t n) {
  if (n == 0) return 0;
  qsort(e, n, sizeof *e, ent_cmp);
  uint32_t w = 0;
  for (uint32_t r = 0; r < n; r++) {
    if (w > 0 && e[w - 1].i == e[r].i) e[w - 1].v += e[r].v;
    else e[w++] = e[r];
  }
  uint32_t z = 0;
  for (uint32_t r = 0; r < w; r++)
    if (e[r].v != 0.0f) e[z++] = e[r];
  return z;
}

double pz__decay_factor(int64_t now, int64_t landmark, int64_t half_life_ms) {
  if (half_life_ms <= 0) return 1.0;
  double x = (double)(now - landmark) / (double)half_life_ms;
  if (x < -PZ__DECAY_MAX_EXP) x = -PZ__DECAY_MAX_EXP;
  return exp2(-x); /* underflows to 0 far past the landmark: fully decayed */
}

double pz__decay_gain(int64_t t, int64_t landmark, int64_t half_life_ms) {
  if (half_life_ms <= 0) return 1.0;
  return exp2((double)(t - landmark) / (double)half_life_ms);
}
