/* Config sections owned by profiles: events, decay, profile, consent. */
#include "profile.h"

#include <stdio.h>
#include <string.h>

static const char *const builtin_purposes[] = {
    "personalization", "analytics", "experimentation", "ads_sharing"};

void pz__profile_cfg_default(pz__profile_cfg *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->half_life_ms = 30LL * 86400000; /* 30 days */
  cfg->history_limit = 10000;
  static const pz__event_type defaults[] = {
      {"view", 1.0},     {"click", 2.0}, {"add_to_cart", 3.0},
      {"purchase", 5.0}, {"rating", 1.0}, {"play", 1.0},
      {"like", 3.0},     {"dislike", -3.0}};
  cfg->n_types = sizeof defaults / sizeof *defaults;
  memcpy(cfg->types, defaults, sizeof defaults);
  cfg->n_purposes = 4;
  for (int i = 0; i < 4; i++)
    snprintf(cfg->purposes[i], sizeof cfg->purposes[i], "%s",
             builtin_purposes[i]);
  /* personalization, analytics and experimentation on; ads_sharing off */
  cfg->consent_default = 0x7;
  cfg->drop_without_consent = false;
}

int pz__profile_event_type(const pz__profile_cfg *cfg, const char *name) {
  for (uint32_t i = 0; i < cfg->n_types; i++)
    if (strcmp(cfg->types[i].name, name) == 0) return (int)i;
  return -1;
}

int pz__profile_purpose(const pz__profile_cfg *cfg, const char *name) {
  for (uint32_t i = 0; i < cfg->n_purposes; i++)
    if (strcmp(cfg->purposes[i], name) == 0) return (int)i;
  return -1;
}

static int read_name(const pz__ydoc *d, const pz__ynode *k, const char *what,
                     size_t max) {
  if (k->kind != PZ__Y_SCALAR || k->len == 0 || k->len > max ||
      !pz__utf8_valid(k->str, k->len))
    return pz__y_err(d, k, "%s must be a name of 1 to %zu bytes", what, max);
  return PZ_OK;
}

static int read_events(pz__profile_cfg *cfg, const pz__ydoc *d,
                       const pz__ynode *n) {
  int rc = pz__y_map(d, n, "events", NULL);
  if (rc) return rc;
  if (n->n == 0) return pz__y_err(d, n, "events must name at least one type");
  if (n->n / 2 > PZ__MAX_EVENT_TYPES)
    return pz__y_err(d, n, "at most %d event types", PZ__MAX_EVENT_TYPES);
  cfg->n_types = 0;
  for (size_t i = 0; i + 1 < n->n; i += 2) {
    const pz__ynode *k = n->items[i], *v = n->items[i + 1];
    if ((rc = read_name(d, k, "an event type", 63))) return rc;
    double w;
    if (v->kind == PZ__Y_MAP) {
      static const char *const keys[] = {"weight", NULL};
      if ((rc = pz__y_map(d, v, "an event type", keys))) return rc;
      const pz__ynode *wn = pz__y_get(v, "weight");
      if (!wn) return pz__y_err(d, v, "event type \"%s\" needs a weight", k->str);
      v = wn;
    }
    if ((rc = pz__y_double(d, v, "an event weight", -PZ__WEIGHT_MAX,
                           PZ__WEIGHT_MAX, &w)))
      return rc;
    pz__event_type *t = &cfg->types[cfg->n_types++];
    snprintf(t->name, sizeof t->name, "%s", k->str);
    t->weight = w;
  }
  return PZ_OK;
}

static int read_consent(pz__profile_cfg *cfg, const pz__ydoc *d,
                        const pz__ynode *n) {
  static const char *const keys[] = {"purposes", "defaults", "without_consent",
                                     NULL};
  int rc = pz__y_map(d, n, "consent", keys);
  if (rc) return rc;
  const pz__ynode *p = pz__y_get(n, "purposes");
  if (p) {
    if (p->kind != PZ__Y_SEQ)
      return pz__y_err(d, p, "consent.purposes must be a list of names");
    for (size_t i = 0; i < p->n; i++) {
      const pz__ynode *x = p->items[i];
      if ((rc = read_name(d, x, "a purpose", PZ_ID_MAX))) return rc;
      if (pz__profile_purpose(cfg, x->str) >= 0)
        return pz__y_err(d, x, "purpose \"%s\" is already defined", x->str);
      if (cfg->n_purposes == PZ__MAX_PURPOSES)
        return pz__y_err(d, x, "at most %d purposes", PZ__MAX_PURPOSES);
      snprintf(cfg->purposes[cfg->n_purposes++], PZ_ID_MAX + 1, "%s", x->str);
    }
  }
  const pz__ynode *def = pz__y_get(n, "defaults");
  if (def) {
    if ((rc = pz__y_map(d, def, "consent.defaults", NULL))) return rc;
    for (size_t i = 0; i + 1 < def->n; i += 2) {
      const pz__ynode *k = def->items[i];
      int idx = pz__profile_purpose(cfg, k->str);
      if (idx < 0)
        return pz__y_err(d, k, "unknown purpose \"%s\" (declare it in "
                               "consent.purposes)", k->str);
      bool on;
      if ((rc = pz__y_bool(d, def->items[i + 1], "a consent default", &on)))
        return rc;
      if (on) cfg->consent_default |= 1u << idx;
      else cfg->consent_default &= ~(1u << idx);
    }
  }
  const pz__ynode *wc = pz__y_get(n, "without_consent");
  if (wc) {
    static const char *const words[] = {"refuse", "drop", NULL};
    int which;
    if ((rc = pz__y_enum(d, wc, "consent.without_consent", words, &which)))
      return rc;
    cfg->drop_without_consent = which == 1;
  }
  return PZ_OK;
}

int pz__profile_cfg_read(pz__profile_cfg *cfg, const pz__ydoc *d) {
  int rc;
  const pz__ynode *n;
  if ((n = pz__y_get(d->root, "events")) && (rc = read_events(cfg, d, n)))
    return rc;
  if ((n = pz__y_get(d->root, "decay"))) {
    static const char *const keys[] = {"half_life", NULL};
    if ((rc = pz__y_map(d, n, "decay", keys))) return rc;
    const pz__ynode *h = pz__y_get(n, "half_life");
    if (h && (rc = pz__y_duration(d, h, "decay.half_life", &cfg->half_life_ms)))
      return rc;
  }
  if ((n = pz__y_get(d->root, "profile"))) {
    static const char *const keys[] = {"history_limit", NULL};
    if ((rc = pz__y_map(d, n, "profile", keys))) return rc;
    const pz__ynode *h = pz__y_get(n, "history_limit");
    uint64_t v;
    if (h) {
      if ((rc = pz__y_uint(d, h, "profile.history_limit", 1, 1000000, &v)))
        return rc;
      cfg->history_limit = (uint32_t)v;
    }
  }
  if ((n = pz__y_get(d->root, "consent")) && (rc = read_consent(cfg, d, n)))
    return rc;
  return PZ_OK;
}
