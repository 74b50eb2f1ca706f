/* The cf: config section and the training options laid over it. */
#include "cf.h"

#include <math.h>
#include <stdio.h>

/* Chosen on validation splits carved out of the MovieLens training files
 * (see README.md, "Collaborative filtering"); never on test rows. */
void pz__cf_cfg_default(pz__cf_cfg *cfg) {
  cfg->algorithm = PZ_CF_BOTH;
  cfg->weighting = PZ_CF_WEIGHT_BM25;
  cfg->neighbours = 300;
  cfg->factors = 128;
  cfg->iterations = 15;
  cfg->cg_steps = 3;
  cfg->threads = 1;
  cfg->seed = 1;
  cfg->regularization = 50;
  cfg->alpha = 9;
  cfg->bm25_k1 = 1.2;
  cfg->bm25_b = 0.25;
  cfg->als_share = 0.75;
}

static const char *const algorithms[] = {"off", "knn", "als", "both", NULL};
static const char *const weightings[] = {"none", "tfidf", "bm25", NULL};

typedef struct ukey {
  const char *key;
  uint64_t lo, hi;
  size_t off;
} ukey;

typedef struct dkey {
  const char *key;
  double lo, hi;
  size_t off;
} dkey;

#define U(k, lo, hi) {#k, lo, hi, offsetof(pz__cf_cfg, k)}
static const ukey ukeys[] = {
    U(neighbours, 1, PZ__CF_MAX_NEIGHBOURS), U(factors, 1, PZ__CF_MAX_FACTORS),
    U(iterations, 1, PZ__CF_MAX_ITERATIONS), U(cg_steps, 1, PZ__CF_MAX_CG),
    U(threads, 1, PZ__CF_MAX_THREADS)};
#undef U
#define D(k, lo, hi) {#k, lo, hi, offsetof(pz__cf_cfg, k)}
static const dkey dkeys[] = {D(regularization, 0, 1e9), D(alpha, 0, 1e9),
                             D(bm25_k1, 0, 1e9), D(bm25_b, 0, 1),
                             D(als_share, 0, 1)};
#undef D

int pz__cf_cfg_read(pz__cf_cfg *cfg, const pz__ydoc *d) {
  const pz__ynode *n = pz__y_get(d->root, "cf");
  if (!n) return PZ_OK;
  static const char *const keys[] = {
      "algorithm", "weighting", "neighbours", "factors", "iterations",
      "cg_steps",  "threads",   "seed",       "regularization", "alpha",
      "bm25_k1",   "bm25_b",    "als_share",  NULL};
  int rc = pz__y_map(d, n, "cf", keys);
  const pz__ynode *v;
  char what[64];
  int x;
  if (!rc && (v = pz__y_get(n, "algorithm")) &&
      !(rc = pz__y_enum(d, v, "cf.algorithm", algorithms, &x)))
    cfg->algorithm = PZ_CF_OFF + x;
  if (!rc && (v = pz__y_get(n, "weighting")) &&
      !(rc = pz__y_enum(d, v, "cf.weighting", weightings, &x)))
    cfg->weighting = PZ_CF_WEIGHT_NONE + x;
  for (size_t i = 0; !rc && i < sizeof ukeys / sizeof *ukeys; i++) {
    uint64_t u;
    snprintf(what, sizeof what, "cf.%s", ukeys[i].key);
    if ((v = pz__y_get(n, ukeys[i].key)) &&
        !(rc = pz__y_uint(d, v, what, ukeys[i].lo, ukeys[i].hi, &u)))
      *(uint32_t *)((char *)cfg + ukeys[i].off) = (uint32_t)u;
  }
  if (!rc && (v = pz__y_get(n, "seed")))
    rc = pz__y_uint(d, v, "cf.seed", 0, UINT64_MAX, &cfg->seed);
  for (size_t i = 0; !rc && i < sizeof dkeys / sizeof *dkeys; i++) {
    snprintf(what, sizeof what, "cf.%s", dkeys[i].key);
    if ((v = pz__y_get(n, dkeys[i].key)))
      rc = pz__y_double(d, v, what, dkeys[i].lo, dkeys[i].hi,
                        (double *)((char *)cfg + dkeys[i].off));
  }
  return rc;
}

int pz__cf_cfg_apply(pz__cf_cfg *cfg, const pz_cf_options *o) {
  if (o->algorithm < PZ_CF_CONFIG || o->algorithm > PZ_CF_BOTH)
    return pz__fail(PZ_EINVAL, "unknown algorithm %d", o->algorithm);
  if (o->weighting < PZ_CF_WEIGHT_CONFIG || o->weighting > PZ_CF_WEIGHT_BM25)
    return pz__fail(PZ_EINVAL, "unknown weighting %d", o->weighting);
  if (o->algorithm) cfg->algorithm = o->algorithm;
  if (o->weighting) cfg->weighting = o->weighting;
  const uint32_t ov[] = {o->neighbours, o->factors, o->iterations,
                         o->cg_steps, o->threads};
  for (size_t i = 0; i < sizeof ukeys / sizeof *ukeys; i++) {
    if (!ov[i]) continue;
    if (ov[i] > ukeys[i].hi)
      return pz__fail(PZ_ERANGE, "%s = %u is above %llu", ukeys[i].key, ov[i],
                      (unsigned long long)ukeys[i].hi);
    *(uint32_t *)((char *)cfg + ukeys[i].off) = ov[i];
  }
  if (o->seed) cfg->seed = o->seed;
  const double dv[] = {o->regularization, o->alpha, o->bm25_k1, o->bm25_b,
                       o->als_share};
  for (size_t i = 0; i < sizeof dkeys / sizeof *dkeys; i++) {
    if (isnan(dv[i])) return pz__fail(PZ_EINVAL, "%s is NaN", dkeys[i].key);
    if (dv[i] == -1) continue; /* the config's value */
    if (dv[i] < dkeys[i].lo || dv[i] > dkeys[i].hi)
      return pz__fail(PZ_ERANGE, "%s = %g is outside [%g, %g] (-1: config)",
                      dkeys[i].key, dv[i], dkeys[i].lo, dkeys[i].hi);
    *(double *)((char *)cfg + dkeys[i].off) = dv[i];
  }
  return PZ_OK;
}
