/* Item-item kNN: the matrix's item columns are weighted (plain cosine,
 * TF-IDF or BM25 over users, as implicit's ItemItemRecommender does), every
 * pair of items sharing a user gets the dot product of their weighted
 * columns, and each item keeps its k largest positive similarities
 * (itself included). score(u, i) = sum over the user's items j of
 * r_uj * sim(j, i). */
#include "cf.h"

#include <math.h>
#include <string.h>

#define ITEMS_PER_TASK 16

typedef struct nb {
  uint32_t idx;
  float sim;
} nb;

typedef struct knn {
  const pz__cfmat *m;
  uint32_t k, threads;
  float *wu;   /* weighted values in user-major order */
  float *wi;   /* and in item-major order */
  float **acc; /* per worker: n_items sums */
  uint32_t **stamp; /* per worker: the item whose sums acc[j] holds, + 1 */
  uint32_t **touched;
  nb *out;     /* n_items x k */
  uint32_t *count;
} knn;

/* Weights of the cells, per weighting. */
static int weigh(const pz__alloc *a, const pz__cf_cfg *cfg, const pz__cfmat *m,
                 float *wu, float *wi) {
  double n_items = m->n_items;
  double *item_norm = pz__calloc(a, m->n_items, sizeof *item_norm);
  if (!item_norm) return PZ_ENOMEM;
  double avg = 0;
  for (uint32_t i = 0; i < m->n_items; i++) {
    for (uint64_t k = m->iptr[i]; k < m->iptr[i + 1]; k++)
      item_norm[i] += cfg->weighting == PZ_CF_WEIGHT_NONE
                          ? (double)m->ival[k] * m->ival[k]
                          : m->ival[k];
    avg += item_norm[i];
  }
  avg /= n_items;
  for (uint32_t u = 0; u < m->n_users; u++) {
    double idf = log(n_items) - log1p((double)(m->uptr[u + 1] - m->uptr[u]));
    for (uint64_t k = m->uptr[u]; k < m->uptr[u + 1]; k++) {
      uint32_t i = m->uidx[k];
      double r = m->uval[k], w;
      if (cfg->weighting == PZ_CF_WEIGHT_NONE) {
        w = r / sqrt(item_norm[i]);
      } else if (cfg->weighting == PZ_CF_WEIGHT_TFIDF) {
        w = sqrt(r) * idf;
      } else {
        double len = (1 - cfg->bm25_b) + cfg->bm25_b * item_norm[i] / avg;
        w = r * (cfg->bm25_k1 + 1) / (cfg->bm25_k1 * len + r) * idf;
      }
      wu[k] = (float)w;
    }
  }
  pz__free(a, item_norm, m->n_items * sizeof *item_norm);
  /* the same weights in item-major order: walk users in row order, as the
   * transpose did */
  uint64_t *at = pz__malloc(a, ((size_t)m->n_items + 1) * sizeof *at);
  if (!at) return PZ_ENOMEM;
  memcpy(at, m->iptr, ((size_t)m->n_items + 1) * sizeof *at);
  for (uint32_t u = 0; u < m->n_users; u++)
    for (uint64_t k = m->uptr[u]; k < m->uptr[u + 1]; k++)
      wi[at[m->uidx[k]]++] = wu[k];
  pz__free(a, at, ((size_t)m->n_items + 1) * sizeof *at);
  return PZ_OK;
}

/* Is (s, j) a better neighbour than (t, l)? Larger, then smaller index. */
static bool better(float s, uint32_t j, float t, uint32_t l) {
  return s > t || (s == t && j < l);
}

/* Keep the k best of the touched items in a min-heap at out. */
static uint32_t top_k(const float *acc, const uint32_t *touched, uint32_t nt,
                      uint32_t k, nb *out) {
  uint32_t n = 0;
  for (uint32_t t = 0; t < nt; t++) {
    uint32_t j = touched[t];
    float s = acc[j];
    if (!(s > 0)) continue;
    if (n < k) {
      uint32_t c = n++;
      while (c && better(out[(c - 1) / 2].sim, out[(c - 1) / 2].idx, s, j)) {
        out[c] = out[(c - 1) / 2];
        c = (c - 1) / 2;
      }
      out[c] = (nb){j, s};
    } else if (better(s, j, out[0].sim, out[0].idx)) {
      /* replace the worst (the root) and sift down */
      nb v = {j, s};
      uint32_t c = 0;
      for (;;) {
        uint32_t l = 2 * c + 1, r = l + 1, w = c;
        nb wv = v;
        if (l < n && better(wv.sim, wv.idx, out[l].sim, out[l].idx))
          wv = out[w = l];
        if (r < n && better(wv.sim, wv.idx, out[r].sim, out[r].idx))
          wv = out[w = r];
        if (w == c) break;
        out[c] = out[w];
        c = w;
      }
      out[c] = v;
    }
  }
  return n;
}

/* Shell sort (Ciura's gaps) by item index: inline and quick for lists of a
 * few hundred, where qsort's calls cost more than the comparisons. */
static void sort_by_idx(nb *v, uint32_t n) {
  static const uint32_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
  for (size_t g = 0; g < sizeof gaps / sizeof *gaps; g++) {
    uint32_t h = gaps[g];
    for (uint32_t i = h; i < n; i++) {
      nb t = v[i];
      uint32_t j = i;
      for (; j >= h && v[j - h].idx > t.idx; j -= h) v[j] = v[j - h];
      v[j] = t;
    }
  }
}

static void item_task(void *ud, uint32_t t, uint32_t worker) {
  knn *x = ud;
  const pz__cfmat *m = x->m;
  float *acc = x->acc[worker];
  uint32_t *stamp = x->stamp[worker], *touched = x->touched[worker];
  uint32_t from = t * ITEMS_PER_TASK,
           to = PZ__MIN(m->n_items, from + ITEMS_PER_TASK);
  for (uint32_t i = from; i < to; i++) {
    uint32_t nt = 0, tag = i + 1;
    for (uint64_t k = m->iptr[i]; k < m->iptr[i + 1]; k++) {
      uint32_t u = m->iidx[k];
      float w = x->wi[k];
      for (uint64_t l = m->uptr[u]; l < m->uptr[u + 1]; l++) {
        /* without branches: a fresh item starts its sum and is listed */
        uint32_t j = m->uidx[l];
        bool fresh = stamp[j] != tag;
        touched[nt] = j;
        nt += fresh;
        stamp[j] = tag;
        acc[j] = (fresh ? 0.0f : acc[j]) + w * x->wu[l];
      }
    }
    nb *out = x->out + (size_t)i * x->k;
    x->count[i] = top_k(acc, touched, nt, x->k, out);
    sort_by_idx(out, x->count[i]);
  }
}

int pz__cf_knn_build(const pz__alloc *a, const pz__cf_cfg *cfg,
                     const pz__cfmat *m, pz__cfmodel *out) {
  uint32_t threads = PZ__MIN(cfg->threads, (m->n_items + ITEMS_PER_TASK - 1) /
                                               ITEMS_PER_TASK);
  uint32_t k = PZ__MIN(cfg->neighbours, m->n_items);
  knn x = {m, k, threads, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  size_t per = (size_t)m->n_items;
  int rc = PZ_ENOMEM;
  x.wu = pz__malloc(a, m->nnz * sizeof *x.wu);
  x.wi = pz__malloc(a, m->nnz * sizeof *x.wi);
  x.acc = pz__calloc(a, threads, sizeof *x.acc);
  x.stamp = pz__calloc(a, threads, sizeof *x.stamp);
  x.touched = pz__calloc(a, threads, sizeof *x.touched);
  x.out = pz__malloc(a, per * k * sizeof *x.out);
  x.count = pz__malloc(a, per * sizeof *x.count);
  if (!x.wu || !x.wi || !x.acc || !x.stamp || !x.touched || !x.out ||
      !x.count)
    goto done;
  for (uint32_t w = 0; w < threads; w++) {
    x.acc[w] = pz__malloc(a, per * sizeof **x.acc);
    x.stamp[w] = pz__calloc(a, per, sizeof **x.stamp);
    /* one spare: the branch-free loop writes touched[nt] before it
     * knows whether the item is new */
    x.touched[w] = pz__malloc(a, (per + 1) * sizeof **x.touched);
    if (!x.acc[w] || !x.stamp[w] || !x.touched[w]) goto done;
  }
  if ((rc = weigh(a, cfg, m, x.wu, x.wi))) goto done;
  pz__cf_parallel(threads, (m->n_items + ITEMS_PER_TASK - 1) / ITEMS_PER_TASK,
                  item_task, &x);
  /* compact into CSR */
  rc = PZ_ENOMEM;
  out->nptr = pz__malloc(a, (per + 1) * sizeof *out->nptr);
  if (!out->nptr) goto done;
  out->nptr[0] = 0;
  for (uint32_t i = 0; i < m->n_items; i++)
    out->nptr[i + 1] = out->nptr[i] + x.count[i];
  uint64_t total = out->nptr[m->n_items];
  out->nidx = pz__malloc(a, (total ? total : 1) * sizeof *out->nidx);
  out->nsim = pz__malloc(a, (total ? total : 1) * sizeof *out->nsim);
  if (!out->nidx || !out->nsim) goto done;
  for (uint32_t i = 0; i < m->n_items; i++)
    for (uint32_t q = 0; q < x.count[i]; q++) {
      out->nidx[out->nptr[i] + q] = x.out[(size_t)i * k + q].idx;
      out->nsim[out->nptr[i] + q] = x.out[(size_t)i * k + q].sim;
    }
  out->k = cfg->neighbours;
  rc = PZ_OK;
done:
  for (uint32_t w = 0; w < threads; w++) {
    if (x.acc) pz__free(a, x.acc[w], per * sizeof **x.acc);
    if (x.stamp) pz__free(a, x.stamp[w], per * sizeof **x.stamp);
    if (x.touched) pz__free(a, x.touched[w], (per + 1) * sizeof **x.touched);
  }
  pz__free(a, x.acc, threads * sizeof *x.acc);
  pz__free(a, x.stamp, threads * sizeof *x.stamp);
  pz__free(a, x.touched, threads * sizeof *x.touched);
  pz__free(a, x.wu, m->nnz * sizeof *x.wu);
  pz__free(a, x.wi, m->nnz * sizeof *x.wi);
  pz__free(a, x.out, per * k * sizeof *x.out);
  pz__free(a, x.count, per * sizeof *x.count);
  return rc;
}

float pz__cf_knn_sim(const pz__cfmodel *m, uint32_t a, uint32_t b) {
  if (!m->nptr || a >= m->n_items) return 0;
  uint64_t lo = m->nptr[a], n = m->nptr[a + 1] - lo;
  if (!n) return 0;
  /* the last index <= b (the list increases), without a branch per step */
  const uint32_t *p = m->nidx + lo;
  while (n > 1) {
    uint64_t half = n / 2;
    p = p[half] <= b ? p + half : p;
    n -= half;
  }
  return *p == b ? m->nsim[p - m->nidx] : 0;
}
