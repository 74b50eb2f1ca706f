/*
 * lib/engine/engine.h - internal: the root handle, the only place that
 * wires modules together.
 */
#ifndef PZ_ENGINE_H
#define PZ_ENGINE_H

#include "../cf/cf.h"
#include "../override/override.h"
#include "../rank/rank.h"
#include "../segment/segment.h"
#include "personalize.h"

struct pz_engine {
  pz__alloc alloc;
  pz_clock_fn clock;
  void *clock_ud;
  pz__hashid hid;
  bool refuse_unknown_items;
  pz__profile_cfg pcfg;
  pz__rank_cfg rcfg;
  pz__catalog catalog;
  pz__profiles profiles;
  pz__scratch_pool pool;
  pz__ovr_cfg ocfg;
  pz__segstate seg; /* lock order: seg, ov, cf, catalogue, shards */
  pz__ovstate ov;
  pz__cfstate cf;
};

/* Builder of a pz_list: add entries, then finish (which frees the
 * builder whatever happens). */
typedef struct pz__listb {
  const pz__alloc *a;
  pz__buf text;
  size_t *off;
  double *val;
  uint32_t n, off_cap, val_cap;
  int err;
} pz__listb;
void pz__listb_init(pz__listb *b, const pz__alloc *a);
void pz__listb_add(pz__listb *b, const char *s, size_t len, double v);
int pz__listb_finish(pz__listb *b, pz_list **out);
void pz__listb_free(pz__listb *b);

void pz__engine_svec_params(const pz_engine *e, pz__alloc *a, pz__hashid *h);
/* ts 0 means now; negative is invalid. */
int pz__engine_time(const pz_engine *e, int64_t ts, int64_t *out);
/* Write-lock the derived models' states (segments, then CF), which comes
 * before the catalogue and shard locks. */
void pz__engine_derived_wrlock(pz_engine *e);
void pz__engine_derived_unlock(pz_engine *e);
/* Derived states write-locked: take a user out of every derived model;
 * `into` (may be NULL) is the account a merge moved their data to. */
void pz__engine_forget(pz_engine *e, const pz__uref *u, const pz__uref *into);
/* Validate a user id and resolve its shard. */
int pz__engine_user(pz__uref *u, const char *id);

#endif /* PZ_ENGINE_H */
