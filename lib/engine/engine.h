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
#include "../store/store.h"
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
  pz__ucache uc; /* per-person serving cache */
  pz__text config;    /* the configuration text it was opened with */
  pz__store_cfg scfg; /* section store */
  pz__journal *jr;    /* NULL: no journal */
  /* the order of writes (lib/engine/ops.c): shared by a person's write,
   * with the stripe of their shard; exclusive for the others and saves */
  pthread_rwlock_t order;
  pthread_mutex_t stripe[PZ__SHARDS];
  pthread_mutex_t create_mu; /* from an item's creation to its record */
  pz__buf jrec[PZ__SHARDS];  /* the record being written, per stripe */
  pthread_mutex_t save_mu; /* one pz_engine_save at a time */
  /* limits (config section limits; 0: none) */
  uint64_t lim_profiles;
  uint64_t lim_choices; /* limits.choices */
  uint32_t lim_items, lim_names;
  size_t lim_doc; /* bytes of a rules or segment document */
  uint32_t forks; /* pz__forks when it was opened */
  int pid;        /* the process that opened it (messages only) */
};

/* fork()s this process has made children by (a pthread_atfork handler
 * counts them in the child): an engine whose count differs was opened by
 * an ancestor. */
extern _Atomic uint32_t pz__forks;
int pz__engine_forked(const pz_engine *e);
/* The first check of every public function with an engine: not NULL, and
 * owned by this process (an atomic load, no system call). */
static inline int pz__engine_usable(const pz_engine *e) {
  if (!e) return pz__fail(PZ_EINVAL, "engine is NULL");
  if (__builtin_expect(
          atomic_load_explicit(&pz__forks, memory_order_relaxed) != e->forks,
          0))
    return pz__engine_forked(e);
  return PZ_OK;
}
#define PZ__ENGINE_CHECK(e)                                                    \
  do {                                                                         \
    int usable_ = pz__engine_usable(e);                                        \
    if (usable_) return usable_;                                               \
  } while (0)

/* Create an engine from options without the store (no snapshot, no
 * journal). With no configuration in opts, `fallback` (may be NULL) is
 * the configuration text. */
int pz__engine_create(pz_engine **out, const pz_engine_options *opts,
                      const pz__text *fallback);
/* Load the store's snapshot (when configured and present) and replay the
 * journal (when configured); on failure the caller frees e. */
int pz__engine_attach_store(pz_engine *e);
/* The clock, or the reading fixed for the current journaled write. */
int64_t pz__engine_clock(const pz_engine *e);

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
