/* Opening, configuring and freeing an engine. */
#include "engine.h"
#include "ops.h"

#include <string.h>
#include <unistd.h>

/* ---- fork -------------------------------------------------------------- */

_Atomic uint32_t pz__forks;

static void count_fork(void) {
  atomic_fetch_add_explicit(&pz__forks, 1, memory_order_relaxed);
}
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
/* glibc drops the handler when a dlopen()ed library is unloaded */
static void watch_forks(void) { (void)pthread_atfork(NULL, NULL, count_fork); }

int pz__engine_forked(const pz_engine *e) {
  return pz__fail(PZ_EFORK,
                  "this engine was opened by process %d and this process "
                  "(%d) is a fork() of it: an engine cannot be shared across "
                  "fork(); open a new engine in this process (servers that "
                  "fork workers: open engines after the fork)",
                  e->pid, (int)getpid());
}

static int read_hashing(pz_engine *e, const pz__ydoc *d) {
  const pz__ynode *n = pz__y_get(d->root, "hashing");
  if (!n) return PZ_OK;
  static const char *const keys[] = {"seed", "bits", NULL};
  int rc = pz__y_map(d, n, "hashing", keys);
  const pz__ynode *v;
  uint64_t x;
  if (!rc && (v = pz__y_get(n, "seed")) &&
      !(rc = pz__y_uint(d, v, "hashing.seed", 0, UINT64_MAX, &x)))
    e->hid.seed = x;
  if (!rc && (v = pz__y_get(n, "bits")) &&
      !(rc = pz__y_uint(d, v, "hashing.bits", PZ_HASH_BITS_MIN,
                        PZ_HASH_BITS_MAX, &x)))
    e->hid.bits = (unsigned int)x;
  return rc;
}

static int read_catalog(pz_engine *e, const pz__ydoc *d) {
  const pz__ynode *n = pz__y_get(d->root, "catalog");
  if (!n) return PZ_OK;
  static const char *const keys[] = {"unknown_items", NULL};
  int rc = pz__y_map(d, n, "catalog", keys);
  const pz__ynode *v;
  if (!rc && (v = pz__y_get(n, "unknown_items"))) {
    static const char *const words[] = {"create", "refuse", NULL};
    int w;
    if (!(rc = pz__y_enum(d, v, "catalog.unknown_items", words, &w)))
      e->refuse_unknown_items = w == 1;
  }
  return rc;
}

#define CONFIG_TEXT_MAX ((size_t)16 << 20) /* as for files (core/yaml.c) */

static void limits_default(pz_engine *e) {
  e->lim_profiles = 10000000;
  e->lim_items = 10000000;
  e->lim_names = 10000000;
  e->lim_doc = (size_t)16 << 20;
  e->lim_choices = 10000000;
}

static int read_limits(pz_engine *e, const pz__ydoc *d) {
  const pz__ynode *n = pz__y_get(d->root, "limits");
  if (!n) return PZ_OK;
  static const char *const keys[] = {"profiles", "items", "feature_names",
                                     "choices", "document_bytes", NULL};
  int rc = pz__y_map(d, n, "limits", keys);
  const pz__ynode *v;
  uint64_t x;
  if (!rc && (v = pz__y_get(n, "profiles")) &&
      !(rc = pz__y_uint(d, v, "limits.profiles", 0, UINT32_MAX - 1, &x)))
    e->lim_profiles = x;
  if (!rc && (v = pz__y_get(n, "items")) &&
      !(rc = pz__y_uint(d, v, "limits.items", 0, UINT32_MAX - 2, &x)))
    e->lim_items = (uint32_t)x;
  if (!rc && (v = pz__y_get(n, "feature_names")) &&
      !(rc = pz__y_uint(d, v, "limits.feature_names", 0, 1u << 29, &x)))
    e->lim_names = (uint32_t)x;
  if (!rc && (v = pz__y_get(n, "choices")) &&
      !(rc = pz__y_uint(d, v, "limits.choices", 0, UINT32_MAX, &x)))
    e->lim_choices = x;
  if (!rc && (v = pz__y_get(n, "document_bytes")) &&
      !(rc = pz__y_uint(d, v, "limits.document_bytes", 1024, 64u << 20, &x)))
    e->lim_doc = (size_t)x;
  return rc;
}

static int configure(pz_engine *e, const pz_engine_options *o,
                     const pz__text *fallback, pz__rules **rules,
                     pz__brules **brules) {
  e->hid = (pz__hashid){0, 20};
  pz__profile_cfg_default(&e->pcfg);
  pz__rank_cfg_default(&e->rcfg);
  pz__cluster_cfg_default(&e->seg.ccfg);
  pz__cf_cfg_default(&e->cf.cfg);
  pz__ovr_cfg_default(&e->ocfg);
  *rules = NULL;
  *brules = NULL;
  pz__store_cfg_default(&e->scfg);
  limits_default(e);
  pz__ydoc d;
  int rc;
  const char *text = o->config_text;
  size_t len = o->config_len;
  if (!o->config_path && !text && !len && fallback && fallback->p) {
    text = fallback->p;
    len = fallback->len;
  }
  if (o->config_path) {
    rc = pz__yaml_parse_file(&d, &e->alloc, o->config_path, &e->config);
  } else if (len > CONFIG_TEXT_MAX) {
    return pz__fail(PZ_ELIMIT,
                    "configuration text of %zu bytes; at most 16 MiB", len);
  } else if (text || len) {
    rc = pz__yaml_parse(&d, &e->alloc, text, len, NULL);
    if (!rc && (rc = pz__text_set(&e->alloc, &e->config, text, len)))
      pz__yaml_free(&d);
  } else {
    return pz__ovr_cfg_read(&e->ocfg, &e->pcfg, NULL);
  }
  if (rc) return rc;
  static const char *const sections[] = {"hashing", "events",  "decay",
                                         "profile", "consent", "catalog",
                                         "ranking", "segments", "experiments",
                                         "clusters", "cf", "overrides",
                                         "rules", "store", "limits", NULL};
  rc = pz__y_map(&d, d.root, "the configuration", sections);
  if (!rc) rc = read_hashing(e, &d);
  if (!rc) rc = read_catalog(e, &d);
  if (!rc) rc = read_limits(e, &d);
  if (!rc) rc = pz__profile_cfg_read(&e->pcfg, &d);
  if (!rc) rc = pz__ovr_cfg_read(&e->ocfg, &e->pcfg, &d);
  if (!rc) rc = pz__rank_cfg_read(&e->rcfg, &d);
  if (!rc) rc = pz__cluster_cfg_read(&e->seg.ccfg, &d);
  if (!rc) rc = pz__cf_cfg_read(&e->cf.cfg, &d);
  if (!rc) rc = pz__store_cfg_read(&e->scfg, &e->alloc, &d);
  if (!rc) {
    pz__rules_env env = {&e->alloc, &e->pcfg, e->hid};
    rc = pz__rules_compile(rules, &env, &d);
  }
  if (!rc) {
    pz__brules_env env = {&e->alloc, &e->ocfg, e->hid, *rules, e->rcfg.max_k};
    rc = pz__brules_compile(brules, &env, &d);
  }
  if (rc) {
    pz__rules_free(*rules);
    *rules = NULL;
    pz__text_free(&e->alloc, &e->config);
    pz__store_cfg_free(&e->scfg, &e->alloc);
  }
  pz__yaml_free(&d);
  return rc;
}

PZ_API int pz_engine_options_init(pz_engine_options *opts,
                                  unsigned int version) {
  if (!opts) return pz__fail(PZ_EINVAL, "opts is NULL");
  if (version != PZ_ENGINE_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "engine options version %u is not %d",
                    version, PZ_ENGINE_OPTIONS_VERSION);
  memset(opts, 0, sizeof *opts);
  opts->version = version;
  return PZ_OK;
}

int pz__engine_create(pz_engine **out, const pz_engine_options *opts,
                      const pz__text *fallback) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  pz_engine_options defaults;
  if (!opts) {
    pz_engine_options_init(&defaults, PZ_ENGINE_OPTIONS_VERSION);
    opts = &defaults;
  }
  if (opts->version != PZ_ENGINE_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "engine options version %u is not %d",
                    opts->version, PZ_ENGINE_OPTIONS_VERSION);
  if (!opts->config_path && !opts->config_text && opts->config_len)
    return pz__fail(PZ_EINVAL, "config_text is NULL but config_len is %zu",
                    opts->config_len);
  pz__alloc a;
  pz__alloc_default(&a);
  if (opts->alloc) {
    a.fn = opts->alloc;
    a.ud = opts->alloc_ud;
  }
  pz_engine *e = pz__calloc(&a, 1, sizeof *e);
  if (!e) return PZ_ENOMEM;
  pthread_once(&fork_once, watch_forks);
  e->forks = atomic_load(&pz__forks);
  e->pid = (int)getpid();
  e->alloc = a;
  e->clock = opts->clock ? opts->clock : pz__clock_system;
  e->clock_ud = opts->clock ? opts->clock_ud : NULL;
  pz__rules *rules;
  pz__brules *brules;
  int rc = configure(e, opts, fallback, &rules, &brules);
  if (rc) {
    pz__free(&a, e, sizeof *e);
    return rc;
  }
  /* the states' init clears the config read into them */
  pz__cluster_cfg ccfg = e->seg.ccfg;
  pz__cf_cfg cfcfg = e->cf.cfg;
  int64_t now = e->clock(e->clock_ud);
  if ((rc = pz__catalog_init(&e->catalog, &e->alloc, e->hid,
                             e->pcfg.half_life_ms, now)))
    goto no_catalog;
  if ((rc = pz__profiles_init(&e->profiles, &e->alloc, &e->pcfg)))
    goto no_profiles;
  e->catalog.max_live = e->lim_items;
  e->catalog.max_names = e->lim_names;
  e->profiles.max_live = e->lim_profiles;
  e->profiles.max_choices = e->lim_choices;
  if ((rc = pz__scratch_pool_init(&e->pool, &e->alloc, e->hid.bits)))
    goto no_pool;
  if ((rc = pz__segstate_init(&e->seg, &e->alloc))) goto no_seg;
  if ((rc = pz__cfstate_init(&e->cf, &e->alloc))) goto no_cf;
  if ((rc = pz__ovstate_init(&e->ov, &e->alloc))) goto no_ov;
  if ((rc = pz__ucache_init(&e->uc, &e->alloc, e->rcfg.user_cache)))
    goto no_uc;
  /* writer preference: a steady stream of people's writes (shared) must
   * not keep a save or a catalogue change waiting; no path takes it twice */
  if ((rc = pz__rwlock_init(&e->order))) goto no_order;
  pthread_mutex_init(&e->save_mu, NULL);
  pthread_mutex_init(&e->create_mu, NULL);
  for (int i = 0; i < PZ__SHARDS; i++) {
    pthread_mutex_init(&e->stripe[i], NULL);
    pz__buf_init(&e->jrec[i], &e->alloc);
  }
  e->seg.ccfg = ccfg;
  e->seg.rules = rules;
  e->cf.cfg = cfcfg;
  e->ov.rules = brules;
  *out = e;
  return PZ_OK;
no_order:
  pz__ucache_free(&e->uc);
no_uc:
  pz__ovstate_free(&e->ov);
no_ov:
  pz__cfstate_free(&e->cf);
no_cf:
  pz__segstate_free(&e->seg);
no_seg:
  pz__scratch_pool_free(&e->pool);
no_pool:
  pz__profiles_free(&e->profiles);
no_profiles:
  pz__catalog_free(&e->catalog);
no_catalog:
  pz__rules_free(rules);
  pz__brules_free(brules);
  pz__text_free(&a, &e->config);
  pz__store_cfg_free(&e->scfg, &a);
  pz__free(&a, e, sizeof *e);
  return rc;
}

PZ_API int pz_engine_open_with(pz_engine **out, const pz_engine_options *opts) {
  int rc = pz__engine_create(out, opts, NULL);
  if (rc) return rc;
  if ((rc = pz__engine_attach_store(*out))) {
    pz_engine_free(*out);
    *out = NULL;
  }
  return rc;
}

PZ_API int pz_engine_open(pz_engine **out, const char *config_path) {
  pz_engine_options o;
  pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
  o.config_path = config_path;
  return pz_engine_open_with(out, &o);
}

PZ_API int pz_engine_open_string(pz_engine **out, const char *yaml,
                                 size_t len) {
  if (out) *out = NULL;
  if (!yaml && len) return pz__fail(PZ_EINVAL, "yaml is NULL");
  pz_engine_options o;
  pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
  o.config_text = yaml ? yaml : "";
  o.config_len = len;
  return pz_engine_open_with(out, &o);
}

PZ_API void pz_engine_free(pz_engine *e) {
  if (!e) return;
  if (atomic_load(&pz__forks) != e->forks) {
    /* a fork's copy: its files are the owner's (no flush, no truncation,
     * no sync), and locks that other threads held at the fork stay held
     * here: close the journal's descriptor, leave the memory */
    pz__journal_abandon(e->jr);
    return;
  }
  pz__alloc a = e->alloc;
  pz__journal_free(e->jr, &a);
  for (int i = 0; i < PZ__SHARDS; i++) {
    pz__buf_free(&e->jrec[i]);
    pthread_mutex_destroy(&e->stripe[i]);
  }
  pthread_mutex_destroy(&e->create_mu);
  pthread_rwlock_destroy(&e->order);
  pthread_mutex_destroy(&e->save_mu);
  pz__text_free(&a, &e->config);
  pz__store_cfg_free(&e->scfg, &a);
  pz__ucache_free(&e->uc);
  pz__ovstate_free(&e->ov);
  pz__cfstate_free(&e->cf);
  pz__segstate_free(&e->seg);
  pz__scratch_pool_free(&e->pool);
  pz__profiles_free(&e->profiles);
  pz__catalog_free(&e->catalog);
  pz__free(&a, e, sizeof *e);
}

PZ_API int pz_engine_set_clock(pz_engine *e, pz_clock_fn fn, void *ud) {
  PZ__ENGINE_CHECK(e);
  e->clock = fn ? fn : pz__clock_system;
  e->clock_ud = fn ? ud : NULL;
  return PZ_OK;
}

PZ_API int pz_engine_now(int64_t *now_out, const pz_engine *e) {
  if (!now_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  *now_out = pz__engine_clock(e);
  return PZ_OK;
}

/* A reading outside [0, the end of year 9999] comes from a broken clock
 * callback; it is clamped so that timestamp arithmetic (now plus a year's
 * grace for events, decay ages) cannot overflow. */
#define PZ__CLOCK_MAX 253402300799999LL

int64_t pz__engine_clock(const pz_engine *e) {
  int64_t now;
  if (!pz__op_clock(&now)) now = e->clock(e->clock_ud);
  return now < 0 ? 0 : now > PZ__CLOCK_MAX ? PZ__CLOCK_MAX : now;
}

void pz__engine_svec_params(const pz_engine *e, pz__alloc *a, pz__hashid *h) {
  *a = e->alloc;
  *h = e->hid;
}

int pz__engine_time(const pz_engine *e, int64_t ts, int64_t *out) {
  if (ts < 0) return pz__fail(PZ_EINVAL, "timestamp %lld is negative",
                              (long long)ts);
  *out = ts ? ts : pz__engine_clock(e);
  if (*out < 0) *out = 0;
  return PZ_OK;
}

int pz__engine_user(pz__uref *u, const char *id) {
  size_t len;
  int rc = pz__check_str(id, PZ_ID_MAX, "user id", &len);
  if (rc) return rc;
  pz__uref_make(u, id, len);
  return PZ_OK;
}

void pz__engine_derived_wrlock(pz_engine *e) {
  pz__segstate_wrlock(&e->seg);
  pz__cfstate_wrlock(&e->cf);
}

void pz__engine_derived_unlock(pz_engine *e) {
  pz__cfstate_unlock(&e->cf);
  pz__segstate_unlock(&e->seg);
}

void pz__engine_forget(pz_engine *e, const pz__uref *u, const pz__uref *into) {
  pz__segstate_forget(&e->seg, u, into);
  pz__cfstate_forget(&e->cf, u, into == NULL);
  pz__ucache_drop(&e->uc, u);
}
