/* lib/rank/recs.h - internal: layout of the pz_recs result object. */
#ifndef PZ_RECS_H
#define PZ_RECS_H

#include "../core/core.h"
#include "personalize/rank.h"

#define PZ__N_SIGNALS 3 /* pz_signal values 1..N */

typedef struct pz__rec {
  const char *item;
  const char *reason;
  double score;
  double contrib[PZ__N_SIGNALS];
  int code;
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
