/*
 * lib/rank/rank.h - internal: the recommendation pipeline and its result.
 */
#ifndef PZ_RANK_H
#define PZ_RANK_H

#include "../cf/cf.h"
#include "../override/override.h"
#include "personalize/rank.h"

typedef struct pz__rank_cfg {
  double content_weight;
  double popularity_weight;
  double segment_weight;
  double cf_weight;
  double diversity; /* MMR weight of a request that does not set one */
  uint32_t diversity_pool; /* how many of the best MMR re-orders */
  uint32_t segment_min_members;
  uint32_t max_k;
  uint64_t user_cache; /* bytes of the per-person serving cache; 0: off */
  bool fill_none; /* ranking.fill: none (lists leave out items without a
                     positive signal) */
} pz__rank_cfg;

#define PZ__USER_CACHE_DEFAULT ((uint64_t)64 << 20)
#define PZ__USER_CACHE_MAX ((uint64_t)1 << 40)

void pz__rank_cfg_default(pz__rank_cfg *cfg);
int pz__rank_cfg_read(pz__rank_cfg *cfg, const pz__ydoc *d);

/* ---- the per-person serving cache (ucache.c) ---------------------------- */

/* What one history version of one person determines for a request:
 * immutable once built; reference-counted. */
typedef struct pz__uentry {
  _Atomic uint32_t refs;
  uint64_t uhash; /* the user id's hash (the table's key) */
  uint64_t hver;  /* the profile's history version it was built from */
  uint64_t gen;   /* the CF state's generation (pz__cfstate.gen) it was
                     built in: hist and x belong to that model */
  struct pz__uentry *hnext, *prev, *next; /* chain, LRU list */
  size_t bytes;                           /* what it holds, for the budget */
  uint32_t *seen; /* the history's items, sorted, unique */
  uint32_t n_seen, seen_cap;
  pz__cfhist hist; /* history summed per model item (model set) */
  uint32_t hist_cap;
  float *x; /* the folded-in ALS vector (fs floats), or NULL */
  uint32_t fs;
} pz__uentry;

typedef struct pz__ucache {
  const pz__alloc *a;
  size_t budget; /* bytes per stripe */
  struct pz__ushard *sh; /* PZ__SHARDS stripes; NULL when off */
} pz__ucache;

size_t pz__uentry_bytes(uint32_t n_seen, uint32_t hist_cap, uint32_t fs);
/* Drop one reference (NULL is ignored); the last one frees, wiping. */
void pz__uentry_release(const pz__alloc *a, pz__uentry *e);
/* bytes 0: a cache that holds nothing. */
int pz__ucache_init(pz__ucache *c, const pz__alloc *a, uint64_t bytes);
void pz__ucache_free(pz__ucache *c);
/* The entry of u built from history version hver, with a reference for
 * the caller, or NULL. */
pz__uentry *pz__ucache_get(pz__ucache *c, const pz__uref *u, uint64_t hver);
/* Keep e (the cache takes its own reference) unless an entry of a newer
 * history or model is there, it is larger than a stripe's budget, or
 * (evict false) room would have to be made. True if kept. */
bool pz__ucache_put(pz__ucache *c, const pz__uref *u, pz__uentry *e,
                    bool evict);
/* Bytes stripe `shard` can still take without evicting. */
size_t pz__ucache_room(pz__ucache *c, uint32_t shard);
/* Forget u's entry (erasure, merge). */
void pz__ucache_drop(pz__ucache *c, const pz__uref *u);
void pz__ucache_stats(pz__ucache *c, uint64_t *entries, uint64_t *bytes);

typedef struct pz__rank_env { /* what the pipeline reads */
  const pz__alloc *a;
  const pz__rank_cfg *cfg;
  pz__catalog *catalog;
  pz__profiles *profiles;
  pz__scratch_pool *pool;
  pz__segstate *seg;
  pz__cfstate *cf;
  pz__ovstate *ov;
  const pz__ovr_cfg *ocfg;
  pz__ucache *uc;
} pz__rank_env;

typedef struct pz__rank_req {
  const pz__uref *user;
  uint32_t k, offset;
  bool include_seen;
  bool explain;
  int64_t now;
  double diversity; /* resolved: in [0, 1] */
  const char *const *exclude;
  size_t n_exclude;
  const char *const *restrict_to; /* NULL: no restriction */
  size_t n_restrict;
  const pz__ent *ctx; /* context features, sorted by index, merged */
  uint32_t n_ctx;
} pz__rank_req;

int pz__rank_recommend(const pz__rank_env *env, const pz__rank_req *req,
                       pz_recs **out);
/* CF state read-locked, right after a model was swapped in: cache entries
 * (and folded-in ALS vectors) for the people with a history, as far as
 * the cache's budget goes without evicting, so that a person's first
 * request after a training is served like the next one. On the calling
 * thread: an engine used from one thread may have an allocator that is
 * not thread-safe. Best effort: what cannot be had is left to the
 * request. */
void pz__rank_warm(const pz__rank_env *env);

/* ---- placement (place.c) ------------------------------------------------ */

enum { PZ__HOW_ORGANIC = 0, PZ__HOW_PIN, PZ__HOW_EDITORIAL, PZ__HOW_PROMO };

typedef struct pz__placed {
  uint32_t item;
  uint8_t how;
  int32_t rule;  /* placing rule, or -1 */
  bool diverse;  /* ranked above a higher-scored item for variety */
} pz__placed;

/* Arrange the first len slots of the list: pins, promotions (promo[j]
 * holds promotion j's candidates, best first), then the organic order of
 * top (its best div_pool re-ordered by maximal marginal relevance when
 * diversity > 0).
 * *out (len entries allocated; free with len) gets the filled slots,
 * closed up, *n_out of them. */
int pz__rank_place(const pz__alloc *a, const pz__catalog *c,
                   const pz__plan *pl, uint32_t len, const pz__topk *top,
                   const pz__topk *promo, double diversity, uint32_t div_pool,
                   pz__placed **out, uint32_t *n_out);

#endif /* PZ_RANK_H */
