/* lib/rank/recs.h - internal: layout of the pz_recs result object. */
#ifndef PZ_RECS_H
#define PZ_RECS_H

#include "../core/core.h"
#include "personalize/cf.h"
#include "personalize/rank.h"

#define PZ__N_SIGNALS 4 /* pz_signal values 1..N */
#define PZ__N_BECAUSE 3

typedef struct pz__rec {
  const char *item;
  const char *reason;
  double score;
  double contrib[PZ__N_SIGNALS];
  double factor[2]; /* pz_factor_source - 1 */
  const char *rule; /* or NULL */
  unsigned int flags;
  int code;
  uint32_t n_because;
  const char *because[PZ__N_BECAUSE]; /* history items behind the CF score */
  double because_share[PZ__N_BECAUSE];
} pz__rec;

struct pz_recs {
  pz__alloc alloc;
  size_t size; /* bytes of this block */
  uint32_t n;
  pz__rec *rec;
};

/* Copy n records, and the strings they point to, into one new block. */
int pz__recs_build(const pz__alloc *a, uint32_t n, const pz__rec *src,
                   pz_recs **out);

#endif /* PZ_RECS_H */
