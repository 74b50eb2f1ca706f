/*
 * lib/svec/svec.h - internal: the hashed sparse-vector core.
 */
#ifndef PZ_SVEC_H
#define PZ_SVEC_H

#include "../core/core.h"
#include "personalize/svec.h"

#include <pthread.h>

/* Hash identity: function is always XXH3_64bits_withSeed. */
typedef struct pz__hashid {
  uint64_t seed;
  unsigned int bits;
} pz__hashid;

/* One nonzero of a sparse vector. */
typedef struct pz__ent {
  uint32_t i;
  float v;
} pz__ent;

/* A growable sparse vector sorted by index. */
typedef struct pz__sv {
  pz__ent *e;
  uint32_t n, cap;
} pz__sv;

/* index = low bits of the hash, sign = top bit. len bytes of s. */
void pz__feature_hash(const pz__hashid *h, const char *s, size_t len,
                      uint32_t *index, int *sign);

void pz__sv_free(const pz__alloc *a, pz__sv *v, bool wipe);
size_t pz__sv_bytes(const pz__sv *v);
/* Position of index i, or -1. */
int64_t pz__sv_find(const pz__ent *e, uint32_t n, uint32_t i);
/* v += scale * src (src sorted by index, n entries). Exact zeros removed.
 * *max_touched (may be NULL) gets the largest magnitude among the entries
 * written. On PZ_ENOMEM v is unchanged. */
int pz__sv_axpy(const pz__alloc *a, pz__sv *v, const pz__ent *src,
                uint32_t n, double scale, float *max_touched);
void pz__sv_scale(pz__sv *v, double f);
double pz__sv_dot(const pz__ent *a, uint32_t na, const pz__ent *b,
                  uint32_t nb);
double pz__sv_norm(const pz__ent *e, uint32_t n);
/* Sort entries by index and merge duplicates (summing). Returns new n. */
uint32_t pz__ent_normalize(pz__ent *e, uint32_t n);

/* ---- top-k by score, ties by smaller id ------------------------------- */
typedef struct pz__topk {
  float *score;
  uint32_t *id;
  uint32_t n, k;
} pz__topk;
/* Arrays of k elements owned by the caller. */
void pz__topk_init(pz__topk *t, float *score, uint32_t *id, uint32_t k);
void pz__topk_push(pz__topk *t, float score, uint32_t id);
/* Sort the kept entries best first. */
void pz__topk_sort(pz__topk *t);

/* ---- scratch for scoring many items against one user vector ----------- */
/* Dense (2^bits floats, bits <= PZ__DENSE_BITS) or, for wider hash spaces,
 * an open-addressing table sized to the user vector. Cleared sparsely
 * after use, so it is allocated once and reused through a pool. */
#define PZ__DENSE_BITS 22
typedef struct pz__scratch {
  unsigned int bits;
  float *dense;      /* dense mode */
  uint32_t *keys;    /* hashed mode: index + 1, 0 = empty */
  float *vals;       /* hashed mode */
  uint32_t hcap;     /* hashed mode capacity (power of two) */
  uint32_t *touched; /* indices loaded, in the vector's (increasing) order */
  uint32_t n_touched, touched_cap;
  /* a request's working memory, kept for the next one: the plan's, the
   * CF scores', and the CF scores' that are zero between requests */
  void *mem[4];
  size_t mem_size[4];
  struct pz__scratch *next; /* pool link */
} pz__scratch;
enum { PZ__MEM_PLAN, PZ__MEM_CF, PZ__MEM_CF_ZERO, PZ__MEM_CONTENT_ZERO };

int pz__scratch_new(const pz__alloc *a, unsigned int bits, pz__scratch **out);
void pz__scratch_free(const pz__alloc *a, pz__scratch *s);
/* Load a vector (replacing what was loaded). */
int pz__scratch_load(const pz__alloc *a, pz__scratch *s, const pz__ent *e,
                     uint32_t n);
void pz__scratch_clear(pz__scratch *s);
/* At least size bytes of working memory kept with the scratch for the
 * requests that take it next, in slot (PZ__MEM_*); NULL without memory.
 * Contents undefined, except in the _ZERO slots: zero, which the user
 * must restore before it gives the scratch back. */
void *pz__scratch_mem(const pz__alloc *a, pz__scratch *s, int slot,
                      size_t size);
/* Value at index i (0 when absent). */
static inline float pz__scratch_get(const pz__scratch *s, uint32_t i) {
  if (s->dense) return s->dense[i];
  uint32_t mask = s->hcap - 1;
  for (uint32_t h = (i * 2654435761u) & mask;; h = (h + 1) & mask) {
    uint32_t k = s->keys[h];
    if (k == i + 1) return s->vals[h];
    if (k == 0) return 0.0f;
  }
}
/* Gather-dot of a scratch-loaded vector with n entries. */
static inline double pz__scratch_dot(const pz__scratch *s, const pz__ent *e,
                                     uint32_t n) {
  double acc = 0;
  if (s->dense) {
    for (uint32_t j = 0; j < n; j++) acc += (double)s->dense[e[j].i] * e[j].v;
  } else {
    for (uint32_t j = 0; j < n; j++)
      acc += (double)pz__scratch_get(s, e[j].i) * e[j].v;
  }
  return acc;
}

/* A pool of scratch buffers: each call takes one and gives it back, so
 * no buffer is ever shared by two threads at once. */
typedef struct pz__scratch_pool {
  pthread_mutex_t lock;
  const pz__alloc *a;
  unsigned int bits;
  pz__scratch *free;
} pz__scratch_pool;
int pz__scratch_pool_init(pz__scratch_pool *p, const pz__alloc *a,
                          unsigned int bits);
void pz__scratch_pool_free(pz__scratch_pool *p);
int pz__scratch_take(pz__scratch_pool *p, pz__scratch **out);
void pz__scratch_give(pz__scratch_pool *p, pz__scratch *s);
/* Wipe what the pooled scratches kept of past requests (a person's CF
 * scores, plan multipliers): erasure calls it. Scratches in use are left
 * to their requests. */
void pz__scratch_pool_wipe(pz__scratch_pool *p);

/* ---- forward decay ------------------------------------------------------
 * An event at t adds w * 2^((t - L) / h); reading at now divides by
 * 2^((now - L) / h). half_life_ms == 0 means no decay. */
double pz__decay_gain(int64_t t, int64_t landmark, int64_t half_life_ms);
/* Factor that turns a stored value into its value read at now:
 * 2^-((now - L) / h), with the exponent clamped so that reading long after
 * the landmark gives 0 and reading before it stays finite. */
double pz__decay_factor(int64_t now, int64_t landmark, int64_t half_life_ms);
/* Exponent beyond which a landmark is moved forward (values are floats). */
#define PZ__DECAY_MAX_EXP 48.0
/* Largest magnitude a stored float may reach (far below FLT_MAX, so sums
 * of many values stay finite). */
#define PZ__FLOAT_SAFE 1e36

#endif /* PZ_SVEC_H */
