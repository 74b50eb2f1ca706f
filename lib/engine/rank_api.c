/* pz_recommend: validate the request, then run the pipeline. */
#include "engine.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define LIST_MAX 100000 /* exclude and restrict entries per request */
#define CONTEXT_MAX 1000

/* Bytes of each options version: a caller built against 0.3 passes the
 * shorter struct, so nothing past its end is read. */
static size_t opts_size(unsigned int version) {
  return version == 1 ? offsetof(pz_recommend_options, offset)
                      : sizeof(pz_recommend_options);
}

PZ_API int pz_recommend_options_init(pz_recommend_options *opts,
                                     unsigned int version) {
  if (!opts) return pz__fail(PZ_EINVAL, "opts is NULL");
  if (version != 1 && version != PZ_RECOMMEND_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "recommend options version %u is not 1 or %d",
                    version, PZ_RECOMMEND_OPTIONS_VERSION);
  memset(opts, 0, opts_size(version));
  opts->version = version;
  if (version >= 2) opts->diversity = -1;
  return PZ_OK;
}

static int check_ids(const char *const *ids, size_t n, const char *what) {
  if (!ids && n) return pz__fail(PZ_EINVAL, "%s is NULL but its count is %zu",
                                 what, n);
  if (n > LIST_MAX)
    return pz__fail(PZ_ERANGE, "%s has %zu entries; at most %d", what, n,
                    LIST_MAX);
  for (size_t i = 0; i < n; i++) {
    if (pz__check_str(ids[i], PZ_ID_MAX, what, NULL) == PZ_OK) continue;
    char w[48]; /* checked again to name the entry in the message */
    snprintf(w, sizeof w, "%s[%zu]", what, i);
    return pz__check_str(ids[i], PZ_ID_MAX, w, NULL);
  }
  return PZ_OK;
}

/* Context features hashed into sorted, merged entries (caller frees
 * n_ctx entries). */
static int hash_context(const pz_engine *e, const pz_recommend_options *o,
                        pz__ent **out, uint32_t *n_out) {
  *out = NULL;
  *n_out = 0;
  size_t n = o->n_context;
  if (!n) return PZ_OK;
  if (!o->context)
    return pz__fail(PZ_EINVAL, "context is NULL but n_context is %zu", n);
  if (n > CONTEXT_MAX)
    return pz__fail(PZ_ERANGE, "%zu context features; at most %d", n,
                    CONTEXT_MAX);
  for (size_t i = 0; i < n; i++) {
    double w = o->context_weights ? o->context_weights[i] : 1.0;
    int rc = pz__check_finite(w, "context weight");
    if (!rc && !(w > 0 && w <= 100))
      rc = pz__fail(PZ_ERANGE, "context weight %g is outside (0, 100]", w);
    if (rc) return rc;
  }
  pz__ent *ents;
  uint32_t m;
  int rc = pz__catalog_hash_features(&e->catalog, o->context,
                                     o->context_weights, n, &ents, &m);
  if (rc) return rc;
  uint32_t k = pz__ent_normalize(ents, m);
  *out = ents;
  *n_out = k; /* the block keeps its size: freed as n_context entries */
  return PZ_OK;
}

PZ_API int pz_recommend(pz_recs **out, pz_engine *e, const char *user,
                        size_t k, const pz_recommend_options *opts) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  int rc = pz__engine_user(&u, user);
  if (rc) return rc;
  if (k == 0) return pz__fail(PZ_EINVAL, "k is 0");
  pz_recommend_options o;
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  if (opts) {
    if (opts->version != 1 && opts->version != PZ_RECOMMEND_OPTIONS_VERSION)
      return pz__fail(PZ_EVERSION, "recommend options version %u is not 1 or "
                      "%d", opts->version, PZ_RECOMMEND_OPTIONS_VERSION);
    memcpy(&o, opts, opts_size(opts->version));
  }
  if (k > e->rcfg.max_k || o.offset > e->rcfg.max_k - k)
    return pz__fail(PZ_ERANGE, "offset %zu + k %zu is above ranking.max_k (%u)",
                    o.offset, k, e->rcfg.max_k);
  if (o.include_seen != 0 && o.include_seen != 1)
    return pz__fail(PZ_EINVAL, "include_seen must be 0 or 1");
  if (o.terse != 0 && o.terse != 1)
    return pz__fail(PZ_EINVAL, "terse must be 0 or 1");
  if (!isfinite(o.diversity))
    return pz__fail(PZ_EINVAL, "diversity is %g", o.diversity);
  if (o.diversity > 1)
    return pz__fail(PZ_ERANGE, "diversity %g is above 1", o.diversity);
  if ((rc = check_ids(o.exclude, o.n_exclude, "exclude"))) return rc;
  if (!o.restrict_to && o.n_restrict)
    return pz__fail(PZ_EINVAL, "restrict_to is NULL but n_restrict is %zu",
                    o.n_restrict);
  if ((rc = check_ids(o.restrict_to, o.n_restrict, "restrict_to"))) return rc;
  pz__rank_req req = {&u, (uint32_t)k, (uint32_t)o.offset,
                      o.include_seen == 1, o.terse == 0, 0,
                      o.diversity < 0 ? e->rcfg.diversity : o.diversity,
                      o.exclude, o.n_exclude, o.restrict_to, o.n_restrict,
                      NULL, 0};
  if ((rc = pz__engine_time(e, o.now_ms, &req.now))) return rc;
  pz__ent *ctx;
  uint32_t n_ctx;
  if ((rc = hash_context(e, &o, &ctx, &n_ctx))) return rc;
  req.ctx = ctx;
  req.n_ctx = n_ctx;
  pz__rank_env env = {&e->alloc, &e->rcfg,  &e->catalog, &e->profiles,
                      &e->pool,  &e->seg,   &e->cf,      &e->ov,
                      &e->ocfg,  &e->uc};
  rc = pz__rank_recommend(&env, &req, out);
  pz__free(&e->alloc, ctx, o.n_context * sizeof *ctx);
  return rc;
}
