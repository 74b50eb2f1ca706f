/* The cluster model: spherical k-means over users' strongest interests.
 *
 * Each user contributes a point: their max_features largest interests (by
 * magnitude), normalized to length 1 and quantized to multiples of 2^-30.
 * A centroid is kept as (sum, count) with the sum in 64-bit integers, so
 * adding and removing a member's contribution is exact and order-free:
 * after an erase the centroid equals the sum of the remaining members,
 * bit for bit. Training works on dense float centroids over the features
 * that occur; serving uses an inverted index feature -> (cluster, sum). */
#include "segment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void pz__cluster_cfg_default(pz__cluster_cfg *cfg) {
  cfg->k = 20;
  cfg->max_iterations = 50;
  cfg->batch_size = 0;
  cfg->min_size = 20;
  cfg->max_features = 64;
  cfg->seed = 1;
}

int pz__cluster_cfg_read(pz__cluster_cfg *cfg, const pz__ydoc *d) {
  const pz__ynode *n = pz__y_get(d->root, "clusters");
  if (!n) return PZ_OK;
  static const char *const keys[] = {"k", "max_iterations", "batch_size",
                                     "min_size", "max_features", "seed",
                                     NULL};
  int rc = pz__y_map(d, n, "clusters", keys);
  const pz__ynode *v;
  uint64_t x;
  if (!rc && (v = pz__y_get(n, "k")) &&
      !(rc = pz__y_uint(d, v, "clusters.k", 1, PZ__CLUSTER_MAX, &x)))
    cfg->k = (uint32_t)x;
  if (!rc && (v = pz__y_get(n, "max_iterations")) &&
      !(rc = pz__y_uint(d, v, "clusters.max_iterations", 1, 100000, &x)))
    cfg->max_iterations = (uint32_t)x;
  if (!rc && (v = pz__y_get(n, "batch_size")) &&
      !(rc = pz__y_uint(d, v, "clusters.batch_size", 0, 100000000, &x)))
    cfg->batch_size = (uint32_t)x;
  if (!rc && (v = pz__y_get(n, "min_size")) &&
      !(rc = pz__y_uint(d, v, "clusters.min_size", 1, UINT32_MAX, &x)))
    cfg->min_size = (uint32_t)x;
  if (!rc && (v = pz__y_get(n, "max_features")) &&
      !(rc = pz__y_uint(d, v, "clusters.max_features", 1, 1024, &x)))
    cfg->max_features = (uint32_t)x;
  if (!rc && (v = pz__y_get(n, "seed")) &&
      !(rc = pz__y_uint(d, v, "clusters.seed", 0, UINT64_MAX, &x)))
    cfg->seed = x;
  return rc;
}

/* ---- a user's point --------------------------------------------------- */

static int cmp_qent(const void *a, const void *b) {
  uint32_t x = ((const pz__qent *)a)->i, y = ((const pz__qent *)b)->i;
  return (x > y) - (x < y);
}

uint32_t pz__clusters_point(const pz__profile *p, uint32_t max_features,
                            pz__qent *q, float *tmp_v, uint32_t *tmp_i) {
  const pz__sv *iv = &p->iv;
  pz__topk t;
  pz__topk_init(&t, tmp_v, tmp_i, max_features);
  for (uint32_t j = 0; j < iv->n; j++)
    if (iv->e[j].v != 0) pz__topk_push(&t, fabsf(iv->e[j].v), j);
  double n2 = 0;
  for (uint32_t j = 0; j < t.n; j++) {
    double v = iv->e[t.id[j]].v;
    n2 += v * v;
  }
  if (!(n2 > 0)) return 0;
  double inv = 1.0 / sqrt(n2);
  uint32_t n = 0;
  for (uint32_t j = 0; j < t.n; j++) {
    const pz__ent *e = &iv->e[t.id[j]];
    double v = nearbyint((double)e->v * inv * PZ__Q_ONE);
    if (v != 0) q[n++] = (pz__qent){e->i, (int32_t)v};
  }
  qsort(q, n, sizeof *q, cmp_qent);
  return n;
}

/* ---- the inverted index ------------------------------------------------ */

static uint32_t slot_of(const pz__clusters *m, uint32_t feature) {
  uint32_t mask = m->kcap - 1;
  uint32_t j = (uint32_t)((feature * 0x9E3779B1u) >> 7) & mask;
  while (m->key[j] != feature && m->key[j] != UINT32_MAX) j = (j + 1) & mask;
  return j;
}

static int build_index(pz__clusters *m) {
  const pz__alloc *a = m->a;
  uint32_t total = 0;
  for (uint32_t c = 0; c < m->k; c++) total += m->c[c].nsum;
  uint32_t cap = 16;
  while (cap < total * 2u) cap *= 2;
  m->kcap = cap;
  m->n_post = total;
  m->key = pz__malloc(a, cap * sizeof *m->key);
  m->kpos = pz__calloc(a, cap, sizeof *m->kpos);
  m->kcnt = pz__calloc(a, cap, sizeof *m->kcnt);
  m->post_c = pz__malloc(a, (total ? total : 1) * sizeof *m->post_c);
  m->post_v = pz__malloc(a, (total ? total : 1) * sizeof *m->post_v);
  if (!m->key || !m->kpos || !m->kcnt || !m->post_c || !m->post_v)
    return PZ_ENOMEM;
  memset(m->key, 0xff, cap * sizeof *m->key);
  for (uint32_t c = 0; c < m->k; c++)
    for (uint32_t j = 0; j < m->c[c].nsum; j++) {
      uint32_t s = slot_of(m, m->c[c].sum[j].i);
      m->key[s] = m->c[c].sum[j].i;
      m->kcnt[s]++;
    }
  uint32_t at = 0;
  for (uint32_t s = 0; s < cap; s++) {
    m->kpos[s] = at;
    at += m->kcnt[s];
    m->kcnt[s] = 0;
  }
  for (uint32_t c = 0; c < m->k; c++)
    for (uint32_t j = 0; j < m->c[c].nsum; j++) {
      uint32_t s = slot_of(m, m->c[c].sum[j].i);
      uint32_t p = m->kpos[s] + m->kcnt[s]++;
      m->post_c[p] = (uint16_t)c;
      m->post_v[p] = (float)((double)m->c[c].sum[j].s / PZ__Q_ONE);
    }
  return PZ_OK;
}

static void set_norm(pz__cluster *c) {
  double n2 = 0;
  for (uint32_t j = 0; j < c->nsum; j++) {
    double v = (double)c->sum[j].s / PZ__Q_ONE;
    n2 += v * v;
  }
  c->norm = sqrt(n2);
}

int pz__clusters_nearest(const pz__clusters *m, const pz__qent *q,
                         uint32_t n) {
  double score[PZ__CLUSTER_MAX];
  memset(score, 0, m->k * sizeof *score);
  for (uint32_t j = 0; j < n; j++) {
    uint32_t s = slot_of(m, q[j].i);
    if (m->key[s] == UINT32_MAX) continue;
    double x = (double)q[j].q / PZ__Q_ONE;
    for (uint32_t p = m->kpos[s], e = p + m->kcnt[s]; p < e; p++)
      score[m->post_c[p]] += x * m->post_v[p];
  }
  int best = -1;
  double top = 0;
  for (uint32_t c = 0; c < m->k; c++) {
    if (!m->c[c].count || !(m->c[c].norm > 0)) continue;
    double cs = score[c] / m->c[c].norm;
    if (cs > top) {
      top = cs;
      best = (int)c;
    }
  }
  return best;
}

bool pz__clusters_targetable(const pz__clusters *m, int32_t c) {
  return m && c >= 0 && (uint32_t)c < m->k && m->c[c].count >= m->min_size;
}

int32_t pz__clusters_by_name(const pz__clusters *m, const char *name,
                             size_t len) {
  if (!m) return -1;
  for (uint32_t c = 0; c < m->k; c++)
    if (m->c[c].name && m->c[c].nlen == len &&
        memcmp(m->c[c].name, name, len) == 0)
      return (int32_t)c;
  return -1;
}

/* ---- members ---------------------------------------------------------------- */

static const char *member_key(const void *ctx, uint32_t idx, size_t *len) {
  const pz__cmember *mb = ((const pz__clusters *)ctx)->m[idx];
  *len = mb->idlen;
  return mb->id;
}

static size_t member_size(uint32_t idlen) {
  return sizeof(pz__cmember) + idlen + 1u;
}

static void member_free(const pz__alloc *a, pz__cmember *mb) {
  if (!mb) return;
  pz__free_wipe(a, mb->q, mb->n * sizeof *mb->q);
  pz__free_wipe(a, mb, member_size(mb->idlen));
}

void pz__clusters_free(pz__clusters *m) {
  if (!m) return;
  const pz__alloc *a = m->a;
  for (uint32_t c = 0; c < m->k; c++) {
    pz__free_wipe(a, m->c[c].sum, m->c[c].nsum * sizeof *m->c[c].sum);
    if (m->c[c].name) pz__free(a, m->c[c].name, (size_t)m->c[c].nlen + 1);
  }
  pz__free(a, m->c, m->k * sizeof *m->c);
  for (uint32_t i = 0; i < m->n_m; i++) member_free(a, m->m[i]);
  pz__free(a, m->m, m->n_m * sizeof *m->m);
  pz__idmap_free(a, &m->map);
  pz__free(a, m->key, m->kcap * sizeof *m->key);
  pz__free(a, m->kpos, m->kcap * sizeof *m->kpos);
  pz__free(a, m->kcnt, m->kcap * sizeof *m->kcnt);
  uint32_t np = m->n_post ? m->n_post : 1;
  pz__free(a, m->post_c, np * sizeof *m->post_c);
  pz__free_wipe(a, m->post_v, np * sizeof *m->post_v);
  pz__free(a, m, sizeof *m);
}

bool pz__clusters_remove(pz__clusters *m, const char *id, size_t len,
                         uint64_t hash) {
  uint32_t at = pz__idmap_find(&m->map, hash, id, len, member_key, m);
  if (at == UINT32_MAX) return false;
  pz__cmember *mb = m->m[at];
  pz__cluster *c = &m->c[mb->cluster];
  for (uint32_t j = 0; j < mb->n; j++) {
    /* the member's features are all in the sum: it was built from them */
    uint32_t lo = 0, hi = c->nsum;
    while (lo < hi) {
      uint32_t mid = (lo + hi) / 2;
      if (c->sum[mid].i < mb->q[j].i) lo = mid + 1;
      else hi = mid;
    }
    if (lo == c->nsum || c->sum[lo].i != mb->q[j].i) continue; /* cannot */
    c->sum[lo].s -= mb->q[j].q;
    uint32_t s = slot_of(m, mb->q[j].i);
    for (uint32_t p = m->kpos[s], e = p + m->kcnt[s]; p < e; p++)
      if (m->post_c[p] == mb->cluster)
        m->post_v[p] = (float)((double)c->sum[lo].s / PZ__Q_ONE);
  }
  c->count--;
  set_norm(c);
  pz__idmap_remove(&m->map, hash, at);
  member_free(m->a, mb);
  m->m[at] = NULL;
  return true;
}

/* ---- training ---------------------------------------------------------------- */

typedef struct rng {
  uint64_t s;
} rng;

static uint64_t next64(rng *r) { /* splitmix64 */
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double uniform(rng *r) { return (double)(next64(r) >> 11) * 0x1p-53; }

static uint32_t below(rng *r, uint32_t n) {
  return (uint32_t)(uniform(r) * n);
}

/* Training data: points over compact feature ids 0..D-1. */
typedef struct tdata {
  const pz__alloc *a;
  uint32_t n, d, k;
  uint32_t *off; /* point i: entries off[i]..off[i+1] */
  uint32_t *dim;
  float *val;
  float *cen;    /* centroids, dimension-major: cen[j * k + c] */
  double *cnorm; /* |centroid c| */
  uint32_t *asg;
  double *sim; /* similarity to the assigned centroid */
  double *score;
  uint32_t *feat; /* compact id -> feature index */
} tdata;

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Feature index -> compact id, by open addressing (indices are below
 * 2^28, so UINT32_MAX marks an empty slot). */
typedef struct fmap {
  uint32_t *key, *val;
  uint32_t cap, n;
} fmap;

static uint32_t fmap_slot(const fmap *m, uint32_t key) {
  uint32_t j = (key * 0x9E3779B1u) & (m->cap - 1);
  while (m->key[j] != key && m->key[j] != UINT32_MAX) j = (j + 1) & (m->cap - 1);
  return j;
}

static void fmap_free(const pz__alloc *a, fmap *m) {
  pz__free(a, m->key, m->cap * sizeof *m->key);
  pz__free(a, m->val, m->cap * sizeof *m->val);
}

static int fmap_add(const pz__alloc *a, fmap *m, uint32_t key) {
  if ((m->n + 1u) * 2u > m->cap) {
    fmap g = {NULL, NULL, m->cap ? m->cap * 2 : 1024, 0};
    g.key = pz__malloc(a, g.cap * sizeof *g.key);
    g.val = pz__malloc(a, g.cap * sizeof *g.val);
    if (!g.key || !g.val) {
      fmap_free(a, &g);
      return PZ_ENOMEM;
    }
    memset(g.key, 0xff, g.cap * sizeof *g.key);
    for (uint32_t j = 0; j < m->cap; j++)
      if (m->key[j] != UINT32_MAX) g.key[fmap_slot(&g, m->key[j])] = m->key[j];
    g.n = m->n;
    fmap_free(a, m);
    *m = g;
  }
  uint32_t j = fmap_slot(m, key);
  if (m->key[j] == UINT32_MAX) {
    m->key[j] = key;
    m->n++;
  }
  return PZ_OK;
}

static int tdata_build(tdata *t, const pz__cpoint *pts, uint32_t n,
                       uint32_t k) {
  const pz__alloc *a = t->a;
  t->n = n;
  t->k = k;
  size_t nnz = 0;
  for (uint32_t i = 0; i < n; i++) nnz += pts[i].n;
  if (nnz > UINT32_MAX / 2) return pz__fail(PZ_ERANGE, "too many features");
  t->off = pz__malloc(a, ((size_t)n + 1) * sizeof *t->off);
  t->dim = pz__malloc(a, (nnz ? nnz : 1) * sizeof *t->dim);
  t->val = pz__malloc(a, (nnz ? nnz : 1) * sizeof *t->val);
  t->feat = pz__malloc(a, (nnz ? nnz : 1) * sizeof *t->feat);
  t->asg = pz__calloc(a, n, sizeof *t->asg);
  t->sim = pz__calloc(a, n, sizeof *t->sim);
  t->score = pz__calloc(a, k, sizeof *t->score);
  t->cnorm = pz__calloc(a, k, sizeof *t->cnorm);
  if (!t->off || !t->dim || !t->val || !t->feat || !t->asg || !t->sim ||
      !t->score || !t->cnorm)
    return PZ_ENOMEM;
  /* the distinct features, sorted, give compact ids in index order */
  fmap fm = {NULL, NULL, 0, 0};
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t j = 0; j < pts[i].n; j++)
      if (fmap_add(a, &fm, pts[i].q[j].i)) {
        fmap_free(a, &fm);
        return PZ_ENOMEM;
      }
  uint32_t d = 0;
  for (uint32_t j = 0; j < fm.cap; j++)
    if (fm.key[j] != UINT32_MAX) t->feat[d++] = fm.key[j];
  qsort(t->feat, d, sizeof *t->feat, cmp_u32);
  for (uint32_t j = 0; j < d; j++) fm.val[fmap_slot(&fm, t->feat[j])] = j;
  t->d = d;
  size_t at = 0;
  for (uint32_t i = 0; i < n; i++) {
    t->off[i] = (uint32_t)at;
    for (uint32_t j = 0; j < pts[i].n; j++, at++) {
      t->dim[at] = fm.val[fmap_slot(&fm, pts[i].q[j].i)];
      t->val[at] = (float)((double)pts[i].q[j].q / PZ__Q_ONE);
    }
  }
  fmap_free(a, &fm);
  t->off[n] = (uint32_t)at;
  if ((size_t)d * k > (size_t)1 << 31)
    return pz__fail(PZ_ERANGE, "%u features x %u clusters is too large", d,
                    k);
  t->cen = pz__calloc(a, (size_t)d * k, sizeof *t->cen);
  return t->cen ? PZ_OK : PZ_ENOMEM;
}

static void tdata_free(tdata *t, size_t nnz) {
  const pz__alloc *a = t->a;
  size_t z = nnz ? nnz : 1;
  pz__free(a, t->off, ((size_t)t->n + 1) * sizeof *t->off);
  pz__free(a, t->dim, z * sizeof *t->dim);
  pz__free(a, t->val, z * sizeof *t->val);
  pz__free(a, t->feat, z * sizeof *t->feat);
  pz__free(a, t->asg, t->n * sizeof *t->asg);
  pz__free(a, t->sim, t->n * sizeof *t->sim);
  pz__free(a, t->score, t->k * sizeof *t->score);
  pz__free(a, t->cnorm, t->k * sizeof *t->cnorm);
  pz__free(a, t->cen, (size_t)t->d * t->k * sizeof *t->cen);
}

/* Cosine of point i with every centroid into t->score; returns the best
 * (ties to the lower id). Centroids with zero norm score 0... never win
 * unless all do. */
static uint32_t nearest(tdata *t, uint32_t i, double *best_sim) {
  uint32_t k = t->k;
  memset(t->score, 0, k * sizeof *t->score);
  for (uint32_t e = t->off[i]; e < t->off[i + 1]; e++) {
    const float *row = t->cen + (size_t)t->dim[e] * k;
    double x = t->val[e];
    for (uint32_t c = 0; c < k; c++) t->score[c] += x * row[c];
  }
  uint32_t best = 0;
  double top = -2;
  for (uint32_t c = 0; c < k; c++) {
    double s = t->cnorm[c] > 0 ? t->score[c] / t->cnorm[c] : -1;
    if (s > top) {
      top = s;
      best = c;
    }
  }
  *best_sim = top;
  return best;
}

static void set_centroid_to_point(tdata *t, uint32_t c, uint32_t i) {
  uint32_t k = t->k;
  for (uint32_t j = 0; j < t->d; j++) t->cen[(size_t)j * k + c] = 0;
  double n2 = 0;
  for (uint32_t e = t->off[i]; e < t->off[i + 1]; e++) {
    t->cen[(size_t)t->dim[e] * k + c] = t->val[e];
    n2 += (double)t->val[e] * t->val[e];
  }
  t->cnorm[c] = sqrt(n2);
}

/* Point i's cosine with centroid c alone. */
static double sim_one(const tdata *t, uint32_t i, uint32_t c) {
  double s = 0;
  for (uint32_t e = t->off[i]; e < t->off[i + 1]; e++)
    s += (double)t->val[e] * t->cen[(size_t)t->dim[e] * t->k + c];
  return t->cnorm[c] > 0 ? s / t->cnorm[c] : 0;
}

/* k-means++ for the sphere: distance 1 - cosine, sampled by its square. */
static void seed_plus_plus(tdata *t, rng *r) {
  double *dist = t->sim; /* reused as d(x)^2 */
  set_centroid_to_point(t, 0, below(r, t->n));
  for (uint32_t i = 0; i < t->n; i++) {
    double d = 1 - sim_one(t, i, 0);
    dist[i] = d > 0 ? d * d : 0;
  }
  for (uint32_t c = 1; c < t->k; c++) {
    double total = 0;
    for (uint32_t i = 0; i < t->n; i++) total += dist[i];
    uint32_t pick = t->n - 1;
    if (total > 0) {
      double x = uniform(r) * total;
      for (uint32_t i = 0; i < t->n; i++) {
        if (x < dist[i]) {
          pick = i;
          break;
        }
        x -= dist[i];
      }
    } else {
      pick = below(r, t->n);
    }
    set_centroid_to_point(t, c, pick);
    for (uint32_t i = 0; i < t->n; i++) {
      double d = 1 - sim_one(t, i, c);
      d = d > 0 ? d * d : 0;
      if (d < dist[i]) dist[i] = d;
    }
  }
}

/* Centroids = normalized sums of their members; an emptied cluster takes
 * the point farthest from its own centroid. */
static void recompute(tdata *t, uint32_t *count) {
  uint32_t k = t->k;
  memset(t->cen, 0, (size_t)t->d * k * sizeof *t->cen);
  memset(count, 0, k * sizeof *count);
  for (uint32_t i = 0; i < t->n; i++) {
    uint32_t c = t->asg[i];
    count[c]++;
    for (uint32_t e = t->off[i]; e < t->off[i + 1]; e++)
      t->cen[(size_t)t->dim[e] * k + c] += t->val[e];
  }
  for (uint32_t c = 0; c < k; c++) {
    if (count[c]) continue;
    uint32_t far = 0;
    for (uint32_t i = 1; i < t->n; i++)
      if (t->sim[i] < t->sim[far]) far = i;
    uint32_t from = t->asg[far];
    if (count[from] < 2) continue;
    for (uint32_t e = t->off[far]; e < t->off[far + 1]; e++) {
      t->cen[(size_t)t->dim[e] * k + from] -= t->val[e];
      t->cen[(size_t)t->dim[e] * k + c] += t->val[e];
    }
    count[from]--;
    count[c]++;
    t->asg[far] = c;
    t->sim[far] = 2; /* not picked again */
  }
  memset(t->cnorm, 0, k * sizeof *t->cnorm);
  for (uint32_t j = 0; j < t->d; j++)
    for (uint32_t c = 0; c < k; c++) {
      double v = t->cen[(size_t)j * k + c];
      t->cnorm[c] += v * v;
    }
  for (uint32_t c = 0; c < k; c++) t->cnorm[c] = sqrt(t->cnorm[c]);
}

static void lloyd(tdata *t, uint32_t rounds, uint32_t *count) {
  for (uint32_t i = 0; i < t->n; i++) t->asg[i] = UINT32_MAX;
  for (uint32_t it = 0; it < rounds; it++) {
    uint32_t moved = 0;
    for (uint32_t i = 0; i < t->n; i++) {
      uint32_t c = nearest(t, i, &t->sim[i]);
      moved += c != t->asg[i];
      t->asg[i] = c;
    }
    if (!moved) break;
    recompute(t, count);
  }
}

/* Sculley's mini-batch k-means, on the sphere: per-centroid learning rate
 * 1/n_c. A centroid is kept as scale * w (w in t->cen, |w| in t->cnorm,
 * which is all the cosine needs), so the (1 - eta) shrink costs O(1). */
static void mini_batch(tdata *t, rng *r, uint32_t rounds, uint32_t batch,
                       uint32_t *count, double *scale) {
  uint32_t k = t->k;
  memset(count, 0, k * sizeof *count);
  for (uint32_t c = 0; c < k; c++) scale[c] = 1;
  for (uint32_t it = 0; it < rounds; it++) {
    for (uint32_t b = 0; b < batch; b++) {
      uint32_t i = below(r, t->n);
      double s;
      uint32_t c = nearest(t, i, &s);
      if (++count[c] == 1) { /* eta = 1: the centroid becomes the point */
        set_centroid_to_point(t, c, i);
        scale[c] = 1;
        continue;
      }
      double eta = 1.0 / count[c];
      scale[c] *= 1 - eta;
      double add = eta / scale[c], n2 = t->cnorm[c] * t->cnorm[c];
      for (uint32_t e = t->off[i]; e < t->off[i + 1]; e++) {
        float *w = &t->cen[(size_t)t->dim[e] * k + c];
        double old = *w, nw = old + add * t->val[e];
        n2 += nw * nw - old * old;
        *w = (float)nw;
      }
      t->cnorm[c] = sqrt(n2 > 0 ? n2 : 0);
    }
  }
  /* the final assignment needs only directions: scale does not matter */
  for (uint32_t i = 0; i < t->n; i++) t->asg[i] = nearest(t, i, &t->sim[i]);
}

/* The exact (sum, count) model from the final assignment. */
static int build_model(pz__clusters *m, const tdata *t, pz__cpoint *pts) {
  const pz__alloc *a = m->a;
  uint32_t k = t->k;
  int64_t *acc = pz__calloc(a, t->d ? t->d : 1, sizeof *acc);
  uint32_t *touched = pz__malloc(a, (t->d ? t->d : 1) * sizeof *touched);
  uint8_t *mark = pz__calloc(a, t->d ? t->d : 1, 1);
  int rc = acc && touched && mark ? PZ_OK : PZ_ENOMEM;
  for (uint32_t c = 0; !rc && c < k; c++) {
    uint32_t nt = 0;
    for (uint32_t i = 0; i < t->n; i++) {
      if (t->asg[i] != c) continue;
      m->c[c].count++;
      for (uint32_t j = 0; j < pts[i].n; j++) {
        uint32_t dj = t->dim[t->off[i] + j];
        acc[dj] += pts[i].q[j].q;
        if (!mark[dj]) {
          mark[dj] = 1;
          touched[nt++] = dj;
        }
      }
    }
    qsort(touched, nt, sizeof *touched, cmp_u32);
    if (nt && !(m->c[c].sum = pz__malloc(a, nt * sizeof *m->c[c].sum)))
      rc = PZ_ENOMEM;
    for (uint32_t j = 0; j < nt; j++) {
      if (!rc) m->c[c].sum[j] = (pz__csum){t->feat[touched[j]], acc[touched[j]]};
      acc[touched[j]] = 0;
      mark[touched[j]] = 0;
    }
    if (!rc) {
      m->c[c].nsum = nt;
      set_norm(&m->c[c]);
    }
  }
  pz__free(a, acc, (t->d ? t->d : 1) * sizeof *acc);
  pz__free(a, touched, (t->d ? t->d : 1) * sizeof *touched);
  pz__free(a, mark, t->d ? t->d : 1);
  return rc;
}

static int add_members(pz__clusters *m, const tdata *t, pz__cpoint *pts) {
  const pz__alloc *a = m->a;
  if (!(m->m = pz__calloc(a, t->n, sizeof *m->m))) return PZ_ENOMEM;
  m->n_m = t->n;
  for (uint32_t i = 0; i < t->n; i++) {
    pz__cmember *mb = pz__calloc(a, 1, member_size(pts[i].idlen));
    if (!mb) return PZ_ENOMEM;
    mb->cluster = t->asg[i];
    mb->idlen = pts[i].idlen;
    memcpy(mb->id, pts[i].id, pts[i].idlen);
    mb->q = pts[i].q; /* taken over */
    mb->n = pts[i].n;
    pts[i].q = NULL;
    pts[i].n = 0;
    m->m[i] = mb;
    if (pz__idmap_reserve(a, &m->map, member_key, m)) return PZ_ENOMEM;
    pz__uref u;
    pz__uref_make(&u, mb->id, mb->idlen);
    pz__idmap_insert(&m->map, u.hash, i);
  }
  return PZ_OK;
}

int pz__clusters_train(pz__clusters **out, const pz__alloc *a,
                       const pz__cluster_cfg *cfg, pz__cpoint *pts,
                       uint32_t n) {
  *out = NULL;
  uint32_t k = cfg->k;
  if (n < k)
    return pz__fail(PZ_ERANGE, "%u users with interests are too few for "
                               "%u clusters",
                    n, k);
  tdata t = {.a = a};
  size_t nnz = 0;
  for (uint32_t i = 0; i < n; i++) nnz += pts[i].n;
  int rc = tdata_build(&t, pts, n, k);
  uint32_t *count = rc ? NULL : pz__calloc(a, k, sizeof *count);
  double *scale = count ? pz__calloc(a, k, sizeof *scale) : NULL;
  if (!rc && !scale) rc = PZ_ENOMEM;
  pz__clusters *m = NULL;
  if (!rc) {
    rng r = {cfg->seed};
    seed_plus_plus(&t, &r);
    if (cfg->batch_size)
      mini_batch(&t, &r, cfg->max_iterations, cfg->batch_size, count, scale);
    else
      lloyd(&t, cfg->max_iterations, count);
    m = pz__calloc(a, 1, sizeof *m);
    if (!m) rc = PZ_ENOMEM;
  }
  if (!rc) {
    m->a = a;
    m->max_features = cfg->max_features;
    m->min_size = cfg->min_size;
    pz__idmap_init(&m->map);
    if (!(m->c = pz__calloc(a, k, sizeof *m->c))) rc = PZ_ENOMEM;
    else m->k = k; /* only with the clusters to free */
    if (!rc) rc = build_model(m, &t, pts);
    if (!rc) rc = add_members(m, &t, pts);
    if (!rc) rc = build_index(m);
    if (rc) {
      /* give the points back their vectors so the caller frees them once */
      for (uint32_t i = 0; m->m && i < m->n_m; i++)
        if (m->m[i]) {
          pts[i].q = m->m[i]->q;
          pts[i].n = m->m[i]->n;
          m->m[i]->q = NULL;
          m->m[i]->n = 0;
        }
      pz__clusters_free(m);
      m = NULL;
    }
  }
  pz__free(a, count, k * sizeof *count);
  pz__free(a, scale, k * sizeof *scale);
  tdata_free(&t, nnz);
  if (!rc) *out = m;
  return rc;
}

/* ---- names across retraining ---------------------------------------------------- */

static double centroid_cos(const pz__cluster *x, const pz__cluster *y) {
  if (!(x->norm > 0) || !(y->norm > 0)) return 0;
  double dot = 0;
  uint32_t i = 0, j = 0;
  while (i < x->nsum && j < y->nsum) {
    if (x->sum[i].i < y->sum[j].i) i++;
    else if (x->sum[i].i > y->sum[j].i) j++;
    else {
      dot += ((double)x->sum[i].s / PZ__Q_ONE) *
             ((double)y->sum[j].s / PZ__Q_ONE);
      i++, j++;
    }
  }
  return dot / (x->norm * y->norm);
}

int pz__clusters_inherit_names(pz__clusters *to, const pz__clusters *from) {
  if (!from) return PZ_OK;
  for (uint32_t o = 0; o < from->k; o++) {
    const pz__cluster *oc = &from->c[o];
    if (!oc->name) continue;
    int32_t best = -1;
    double top = 0.5;
    for (uint32_t c = 0; c < to->k; c++) {
      if (to->c[c].name) continue;
      double s = centroid_cos(oc, &to->c[c]);
      if (s >= top) {
        top = s;
        best = (int32_t)c;
      }
    }
    if (best < 0) continue;
    char *nm = pz__strndup(to->a, oc->name, oc->nlen);
    if (!nm) return PZ_ENOMEM;
    to->c[best].name = nm;
    to->c[best].nlen = oc->nlen;
  }
  return PZ_OK;
}

/* ---- snapshot section ------------------------------------------------------ */

void pz__clusters_save(const pz__clusters *m, pz__buf *b) {
  pz__buf_u8(b, m != NULL);
  if (!m) return;
  pz__buf_u32(b, m->k);
  pz__buf_u32(b, m->max_features);
  pz__buf_u32(b, m->min_size);
  for (uint32_t c = 0; c < m->k; c++) {
    const pz__cluster *cl = &m->c[c];
    pz__buf_u32(b, cl->count);
    pz__buf_u8(b, cl->name != NULL);
    if (cl->name) pz__buf_str(b, cl->name, cl->nlen);
    pz__buf_u32(b, cl->nsum);
    for (uint32_t j = 0; j < cl->nsum; j++) {
      pz__buf_u32(b, cl->sum[j].i);
      pz__buf_i64(b, cl->sum[j].s);
    }
  }
  uint32_t live = 0;
  for (uint32_t i = 0; i < m->n_m; i++) live += m->m[i] != NULL;
  pz__buf_u32(b, live);
  for (uint32_t i = 0; i < m->n_m; i++) {
    const pz__cmember *mb = m->m[i];
    if (!mb) continue;
    pz__buf_str(b, mb->id, mb->idlen);
    pz__buf_u32(b, mb->cluster);
    pz__buf_u8(b, mb->gone);
    pz__buf_u32(b, mb->n);
    pz__buf_array(b, mb->q, mb->n, sizeof *mb->q);
  }
}

static int restore_cluster(pz__clusters *m, pz__rd *r, pz__cluster *cl,
                           unsigned bits) {
  cl->count = pz__rd_u32(r);
  uint8_t named = pz__rd_u8(r);
  if (!r->err && named > 1) return pz__rd_bad(r, "bad cluster name flag");
  if (named) {
    size_t len;
    const char *s = pz__rd_str(r, PZ_ID_MAX, &len, false, "cluster name");
    if (!s) return r->err;
    if (!(cl->name = pz__strndup(m->a, s, len))) return PZ_ENOMEM;
    cl->nlen = (uint32_t)len;
  }
  uint32_t n = pz__rd_u32(r);
  if (!pz__rd_count(r, n, 12, UINT32_MAX)) return r->err;
  if (n && !(cl->sum = pz__malloc(m->a, (size_t)n * sizeof *cl->sum)))
    return PZ_ENOMEM;
  cl->nsum = n;
  for (uint32_t j = 0; j < n; j++) {
    cl->sum[j].i = pz__rd_u32(r);
    cl->sum[j].s = pz__rd_i64(r);
    if (r->err) return r->err;
    if (cl->sum[j].i >> bits || (j && cl->sum[j].i <= cl->sum[j - 1].i))
      return pz__rd_bad(r, "a centroid is out of order or range");
  }
  set_norm(cl);
  return PZ_OK;
}

static int restore_member(pz__clusters *m, pz__rd *r, uint32_t at,
                          unsigned bits) {
  size_t len;
  const char *id = pz__rd_str(r, PZ_ID_MAX, &len, false, "member id");
  uint32_t cluster = pz__rd_u32(r);
  uint8_t gone = pz__rd_u8(r);
  uint32_t n = pz__rd_u32(r);
  if (!id || !pz__rd_count(r, n, sizeof(pz__qent), m->max_features))
    return r->err;
  const void *q = pz__rd_array(r, n, sizeof(pz__qent));
  if (!q) return r->err;
  if (cluster >= m->k || gone > 1)
    return pz__rd_bad(r, "member %u is out of range", at);
  pz__uref u;
  pz__uref_make(&u, id, len);
  if (pz__idmap_find(&m->map, u.hash, id, len, member_key, m) != UINT32_MAX)
    return pz__rd_bad(r, "member \"%.*s\" appears twice", (int)len, id);
  pz__cmember *mb = pz__calloc(m->a, 1, member_size((uint32_t)len));
  if (!mb) return PZ_ENOMEM;
  mb->cluster = cluster;
  mb->gone = gone;
  mb->idlen = (uint8_t)len;
  memcpy(mb->id, id, len);
  m->m[at] = mb;
  if (n) {
    if (!(mb->q = pz__malloc(m->a, (size_t)n * sizeof *mb->q))) return PZ_ENOMEM;
    memcpy(mb->q, q, (size_t)n * sizeof *mb->q);
    mb->n = n;
    for (uint32_t j = 0; j < n; j++)
      if (mb->q[j].i >> bits || (j && mb->q[j].i <= mb->q[j - 1].i))
        return pz__rd_bad(r, "member %u's vector is out of order or range",
                          at);
  }
  if (pz__idmap_reserve(m->a, &m->map, member_key, m)) return PZ_ENOMEM;
  pz__idmap_insert(&m->map, u.hash, at);
  return PZ_OK;
}

/* Each cluster is exactly the sum of its members (erasures subtract a
 * member exactly): its count is its members, its sums theirs. Erasing a
 * member later relies on it. */
static int check_sums(pz__clusters *m, pz__rd *r) {
  uint32_t *count = pz__calloc(m->a, m->k, sizeof *count);
  int64_t **acc = count ? pz__calloc(m->a, m->k, sizeof *acc) : NULL;
  int rc = acc ? PZ_OK : PZ_ENOMEM;
  for (uint32_t c = 0; !rc && c < m->k; c++)
    if (m->c[c].nsum &&
        !(acc[c] = pz__calloc(m->a, m->c[c].nsum, sizeof **acc)))
      rc = PZ_ENOMEM;
  for (uint32_t i = 0; !rc && i < m->n_m; i++) {
    const pz__cmember *mb = m->m[i];
    const pz__cluster *cl = &m->c[mb->cluster];
    count[mb->cluster]++;
    for (uint32_t j = 0, at = 0; !rc && j < mb->n; j++) {
      if (mb->q[j].q < -(int32_t)PZ__Q_ONE || mb->q[j].q > (int32_t)PZ__Q_ONE) {
        rc = pz__rd_bad(r, "member %u has a value beyond 1", i);
        break;
      }
      while (at < cl->nsum && cl->sum[at].i < mb->q[j].i) at++;
      if (at == cl->nsum || cl->sum[at].i != mb->q[j].i)
        rc = pz__rd_bad(r, "member %u has a feature its cluster lacks", i);
      else
        acc[mb->cluster][at] += mb->q[j].q;
    }
  }
  for (uint32_t c = 0; !rc && c < m->k; c++) {
    if (count[c] != m->c[c].count)
      rc = pz__rd_bad(r, "cluster %u counts %u members, not %u", c,
                      m->c[c].count, count[c]);
    for (uint32_t j = 0; !rc && j < m->c[c].nsum; j++)
      if (acc[c][j] != m->c[c].sum[j].s)
        rc = pz__rd_bad(r, "cluster %u is not the sum of its members", c);
  }
  for (uint32_t c = 0; acc && c < m->k; c++)
    pz__free(m->a, acc[c], m->c[c].nsum * sizeof **acc);
  if (acc) pz__free(m->a, acc, m->k * sizeof *acc);
  pz__free(m->a, count, m->k * sizeof *count);
  return rc;
}

int pz__clusters_restore(pz__clusters **out, const pz__alloc *a, pz__rd *r,
                         unsigned bits) {
  *out = NULL;
  uint8_t present = pz__rd_u8(r);
  if (r->err || !present) return r->err;
  if (present != 1) return pz__rd_bad(r, "bad cluster model flag");
  uint32_t k = pz__rd_u32(r), maxf = pz__rd_u32(r), mins = pz__rd_u32(r);
  if (r->err) return r->err;
  if (k < 1 || k > PZ__CLUSTER_MAX || maxf < 1 || maxf > 1024)
    return pz__rd_bad(r, "cluster model with bad parameters");
  pz__clusters *m = pz__calloc(a, 1, sizeof *m);
  if (!m) return PZ_ENOMEM;
  m->a = a;
  m->max_features = maxf;
  m->min_size = mins;
  pz__idmap_init(&m->map);
  int rc = PZ_OK;
  if (!(m->c = pz__calloc(a, k, sizeof *m->c))) rc = PZ_ENOMEM;
  else m->k = k;
  for (uint32_t c = 0; !rc && c < k; c++)
    rc = restore_cluster(m, r, &m->c[c], bits);
  uint32_t nm = rc ? 0 : pz__rd_u32(r);
  if (!rc && !pz__rd_count(r, nm, 13, UINT32_MAX)) rc = r->err;
  if (!rc && nm) {
    if (!(m->m = pz__calloc(a, nm, sizeof *m->m))) rc = PZ_ENOMEM;
    else m->n_m = nm;
  }
  for (uint32_t i = 0; !rc && i < nm; i++) rc = restore_member(m, r, i, bits);
  if (!rc) rc = check_sums(m, r);
  if (!rc) rc = build_index(m);
  if (rc) {
    pz__clusters_free(m);
    return rc;
  }
  *out = m;
  return PZ_OK;
}
