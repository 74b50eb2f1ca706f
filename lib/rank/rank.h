/*
 * lib/rank/rank.h - internal: the recommendation pipeline and its result.
 */
#ifndef PZ_RANK_H
#define PZ_RANK_H

#include "../cf/cf.h"
#include "../override/override.h"
#include "../segment/segment.h"
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
} pz__rank_cfg;

void pz__rank_cfg_default(pz__rank_cfg *cfg);
int pz__rank_cfg_read(pz__rank_cfg *cfg, const pz__ydoc *d);

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
