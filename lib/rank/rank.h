/*
 * lib/rank/rank.h - internal: the recommendation pipeline and its result.
 */
#ifndef PZ_RANK_H
#define PZ_RANK_H

#include "../cf/cf.h"
#include "../segment/segment.h"
#include "personalize/rank.h"

typedef struct pz__rank_cfg {
  double content_weight;
  double popularity_weight;
  double segment_weight;
  double cf_weight;
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
} pz__rank_env;

typedef struct pz__rank_req {
  const pz__uref *user;
  uint32_t k;
  bool include_seen;
  int64_t now;
} pz__rank_req;

int pz__rank_recommend(const pz__rank_env *env, const pz__rank_req *req,
                       pz_recs **out);

#endif /* PZ_RANK_H */
