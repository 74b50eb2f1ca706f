/* pz_recommend: validate the request, then run the pipeline. */
#include "engine.h"

#include <string.h>

PZ_API int pz_recommend_options_init(pz_recommend_options *opts,
                                     unsigned int version) {
  if (!opts) return pz__fail(PZ_EINVAL, "opts is NULL");
  if (version != PZ_RECOMMEND_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "recommend options version %u is not %d",
                    version, PZ_RECOMMEND_OPTIONS_VERSION);
  memset(opts, 0, sizeof *opts);
  opts->version = version;
  return PZ_OK;
}

PZ_API int pz_recommend(pz_recs **out, pz_engine *e, const char *user,
                        size_t k, const pz_recommend_options *opts) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  if (!e) return pz__fail(PZ_EINVAL, "engine is NULL");
  pz__uref u;
  int rc = pz__engine_user(&u, user);
  if (rc) return rc;
  if (k == 0) return pz__fail(PZ_EINVAL, "k is 0");
  if (k > e->rcfg.max_k)
    return pz__fail(PZ_ERANGE, "k = %zu is above ranking.max_k (%u)", k,
                    e->rcfg.max_k);
  pz_recommend_options defaults;
  if (!opts) {
    pz_recommend_options_init(&defaults, PZ_RECOMMEND_OPTIONS_VERSION);
    opts = &defaults;
  }
  if (opts->version != PZ_RECOMMEND_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "recommend options version %u is not %d",
                    opts->version, PZ_RECOMMEND_OPTIONS_VERSION);
  if (opts->include_seen != 0 && opts->include_seen != 1)
    return pz__fail(PZ_EINVAL, "include_seen must be 0 or 1");
  pz__rank_req req = {&u, (uint32_t)k, opts->include_seen == 1, 0};
  if ((rc = pz__engine_time(e, opts->now_ms, &req.now))) return rc;
  pz__rank_env env = {&e->alloc, &e->rcfg, &e->catalog, &e->profiles,
                      &e->pool, &e->seg, &e->cf};
  return pz__rank_recommend(&env, &req, out);
}
