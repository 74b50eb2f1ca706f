/* The `overrides:` config, business rules compiled from `rules:`, and the
 * swappable rule state. */
#include "override.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void pz__ovr_cfg_default(pz__ovr_cfg *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->more_factor = 1.5;
  cfg->less_factor = 0.5;
  cfg->min_factor = 0.1;
  cfg->max_factor = 10;
  cfg->rule_min_factor = 0.1;
  cfg->rule_max_factor = 10;
  cfg->max_choices = 1000;
  cfg->not_interested_type = -1;
}

/* The event type "not interested" records: the named one, or "dislike",
 * which is added (weight -3) when the events section lacks it. */
static int not_interested_type(pz__ovr_cfg *cfg, pz__profile_cfg *pcfg,
                               const pz__ydoc *d, const pz__ynode *n) {
  const char *name = n ? n->str : "dislike";
  int t = pz__profile_event_type(pcfg, name);
  if (t < 0 && n)
    return pz__y_err(d, n, "overrides.not_interested_event: no event type "
                           "\"%s\" in events", name);
  if (t < 0) {
    if (pcfg->n_types >= PZ__MAX_EVENT_TYPES)
      return pz__y_err(d, pz__y_get(d->root, "events"),
                       "the events section is full (%d types), so the "
                       "\"dislike\" type of overrides cannot be added: name "
                       "one in overrides.not_interested_event",
                       PZ__MAX_EVENT_TYPES);
    t = (int)pcfg->n_types++;
    snprintf(pcfg->types[t].name, sizeof pcfg->types[t].name, "dislike");
    pcfg->types[t].weight = -3.0;
  }
  cfg->not_interested_type = t;
  return PZ_OK;
}

int pz__ovr_cfg_read(pz__ovr_cfg *cfg, pz__profile_cfg *pcfg,
                     const pz__ydoc *d) {
  const pz__ynode *n = d ? pz__y_get(d->root, "overrides") : NULL;
  static const char *const keys[] = {
      "unknown_items",   "more_factor",     "less_factor",
      "min_factor",      "max_factor",      "rule_min_factor",
      "rule_max_factor", "max_choices",     "not_interested_event", NULL};
  int rc = n ? pz__y_map(d, n, "overrides", keys) : PZ_OK;
  const pz__ynode *v;
  if (!rc && n && (v = pz__y_get(n, "unknown_items"))) {
    static const char *const words[] = {"refuse", "accept", NULL};
    int w;
    if (!(rc = pz__y_enum(d, v, "overrides.unknown_items", words, &w)))
      cfg->accept_unknown_items = w == 1;
  }
  static const struct {
    const char *key;
    size_t off;
  } nums[] = {{"min_factor", offsetof(pz__ovr_cfg, min_factor)},
              {"max_factor", offsetof(pz__ovr_cfg, max_factor)},
              {"rule_min_factor", offsetof(pz__ovr_cfg, rule_min_factor)},
              {"rule_max_factor", offsetof(pz__ovr_cfg, rule_max_factor)},
              {"more_factor", offsetof(pz__ovr_cfg, more_factor)},
              {"less_factor", offsetof(pz__ovr_cfg, less_factor)}};
  for (size_t i = 0; !rc && n && i < sizeof nums / sizeof *nums; i++) {
    char what[48];
    snprintf(what, sizeof what, "overrides.%s", nums[i].key);
    if ((v = pz__y_get(n, nums[i].key)))
      rc = pz__y_double(d, v, what, 1e-6, 1e6,
                        (double *)(void *)((char *)cfg + nums[i].off));
  }
  const pz__ynode *at = n;
  if (!rc && n && cfg->min_factor >= 1)
    rc = pz__y_err(d, pz__y_get(n, "min_factor"), "overrides.min_factor must "
                   "be below 1");
  if (!rc && n && cfg->max_factor <= 1)
    rc = pz__y_err(d, pz__y_get(n, "max_factor"), "overrides.max_factor must "
                   "be above 1");
  if (!rc && n && cfg->rule_min_factor >= 1)
    rc = pz__y_err(d, pz__y_get(n, "rule_min_factor"),
                   "overrides.rule_min_factor must be below 1");
  if (!rc && n && cfg->rule_max_factor <= 1)
    rc = pz__y_err(d, pz__y_get(n, "rule_max_factor"),
                   "overrides.rule_max_factor must be above 1");
  if (!rc && n &&
      (cfg->more_factor <= 1 || cfg->more_factor > cfg->max_factor))
    rc = pz__y_err(d, (v = pz__y_get(n, "more_factor")) ? v : at,
                   "overrides.more_factor must lie in (1, max_factor]");
  if (!rc && n &&
      (cfg->less_factor >= 1 || cfg->less_factor < cfg->min_factor))
    rc = pz__y_err(d, (v = pz__y_get(n, "less_factor")) ? v : at,
                   "overrides.less_factor must lie in [min_factor, 1)");
  uint64_t x;
  if (!rc && n && (v = pz__y_get(n, "max_choices")) &&
      !(rc = pz__y_uint(d, v, "overrides.max_choices", 1, 10000, &x)))
    cfg->max_choices = (uint32_t)x;
  v = n ? pz__y_get(n, "not_interested_event") : NULL;
  if (!rc && v) rc = pz__y_scalar(d, v, "overrides.not_interested_event");
  if (!rc) rc = not_interested_type(cfg, pcfg, d, v);
  return rc;
}

/* ---- rules ------------------------------------------------------------- */

static void rule_free(const pz__alloc *a, pz__rule *r) {
  pz__free(a, r->name, r->nlen + 1);
  if (r->segment) pz__free(a, r->segment, r->slen + 1);
  pz__free(a, r->feat, (size_t)r->n_feat * sizeof *r->feat);
  for (uint32_t i = 0; i < r->n_items; i++)
    if (r->items[i]) pz__free(a, r->items[i], strlen(r->items[i]) + 1);
  pz__free(a, r->items, (size_t)r->n_items * sizeof *r->items);
}

void pz__brules_free(pz__brules *r) {
  if (!r) return;
  for (uint32_t i = 0; i < r->n; i++) rule_free(r->a, &r->r[i]);
  pz__free(r->a, r->r, (size_t)r->cap * sizeof *r->r);
  pz__free(r->a, r, sizeof *r);
}

static const char *const kind_words[] = {"filter", "boost",  "bury",
                                         "promote", "pin", NULL};

/* A name: UTF-8, 1..PZ_ID_MAX bytes. */
static int read_text(const pz__ydoc *d, const pz__ynode *n, const char *what,
                     size_t max) {
  int rc = pz__y_scalar(d, n, what);
  if (rc) return rc;
  if (n->len == 0 || n->len > max || strlen(n->str) != n->len ||
      !pz__utf8_valid(n->str, n->len))
    return pz__y_err(d, n, "%s must be UTF-8 text of 1 to %zu bytes", what,
                     max);
  return PZ_OK;
}

static int read_list(const pz__ydoc *d, const pz__ynode *n, const char *what,
                     size_t max) {
  if (n->kind == PZ__Y_SCALAR) return read_text(d, n, what, max);
  if (n->kind != PZ__Y_SEQ)
    return pz__y_err(d, n, "%s must be a string or a list of strings", what);
  if (n->n == 0) return pz__y_err(d, n, "%s must not be empty", what);
  if (n->n > PZ__RULE_MATCH_MAX)
    return pz__y_err(d, n, "%s: at most %d entries", what, PZ__RULE_MATCH_MAX);
  for (size_t i = 0; i < n->n; i++) {
    int rc = read_text(d, n->items[i], what, max);
    if (rc) return rc;
  }
  return PZ_OK;
}

static size_t list_len(const pz__ynode *n) {
  return n->kind == PZ__Y_SEQ ? n->n : 1;
}
static const pz__ynode *list_at(const pz__ynode *n, size_t i) {
  return n->kind == PZ__Y_SEQ ? n->items[i] : n;
}

static int copy_items(const pz__alloc *a, pz__rule *r, const pz__ynode *n) {
  size_t m = list_len(n);
  r->items = pz__calloc(a, m, sizeof *r->items);
  if (!r->items) return PZ_ENOMEM;
  r->n_items = (uint32_t)m;
  for (size_t i = 0; i < m; i++) {
    const pz__ynode *x = list_at(n, i);
    if (!(r->items[i] = pz__strndup(a, x->str, x->len))) return PZ_ENOMEM;
  }
  return PZ_OK;
}

static int read_match(const pz__brules_env *env, const pz__ydoc *d,
                      const pz__ynode *n, pz__rule *r) {
  static const char *const keys[] = {"features", "items", NULL};
  int rc = pz__y_map(d, n, "a rule's match", keys);
  if (rc) return rc;
  const pz__ynode *f = pz__y_get(n, "features"), *it = pz__y_get(n, "items");
  if (!f && !it)
    return pz__y_err(d, n, "match needs features or items");
  if (f && (rc = read_list(d, f, "a match feature", PZ_FEATURE_MAX))) return rc;
  if (it && (rc = read_list(d, it, "a match item", PZ_ID_MAX))) return rc;
  if (f) {
    size_t m = list_len(f);
    r->feat = pz__malloc(env->a, m * sizeof *r->feat);
    if (!r->feat) return PZ_ENOMEM;
    r->n_feat = (uint32_t)m;
    for (size_t i = 0; i < m; i++) {
      const pz__ynode *x = list_at(f, i);
      int sign;
      pz__feature_hash(&env->hid, x->str, x->len, &r->feat[i].i, &sign);
      r->feat[i].sign = (int8_t)sign;
    }
  }
  return it ? copy_items(env->a, r, it) : PZ_OK;
}

/* Keys each kind takes, besides name, kind and segment. */
static bool key_allowed(int kind, const char *key) {
  static const char *const per[][6] = {
      [PZ_RULE_FILTER] = {"match", NULL},
      [PZ_RULE_BOOST] = {"match", "factor", NULL},
      [PZ_RULE_BURY] = {"match", "factor", NULL},
      [PZ_RULE_PROMOTE] = {"match", "slots", "fraction", "start", "every",
                           NULL},
      [PZ_RULE_PIN] = {"item", "position", NULL}};
  for (int i = 0; per[kind][i]; i++)
    if (strcmp(per[kind][i], key) == 0) return true;
  return strcmp(key, "name") == 0 || strcmp(key, "kind") == 0 ||
         strcmp(key, "segment") == 0;
}

static int read_factor(const pz__brules_env *env, const pz__ydoc *d,
                       const pz__ynode *rn, pz__rule *r) {
  const pz__ynode *v = pz__y_get(rn, "factor");
  if (!v) return pz__y_err(d, rn, "rule \"%s\" needs a factor", r->name);
  bool boost = r->kind == PZ_RULE_BOOST;
  double lo = boost ? 1 : env->cfg->rule_min_factor;
  double hi = boost ? env->cfg->rule_max_factor : 1;
  int rc = pz__y_double(d, v, "factor", lo, hi, &r->factor);
  if (!rc && r->factor == (boost ? lo : hi))
    rc = pz__y_err(d, v, "a %s factor must be %s 1", boost ? "boost" : "bury",
                   boost ? "above" : "below");
  return rc;
}

static int read_promote(const pz__brules_env *env, const pz__ydoc *d,
                        const pz__ynode *rn, pz__rule *r) {
  const pz__ynode *s = pz__y_get(rn, "slots"), *f = pz__y_get(rn, "fraction");
  if (!s == !f)
    return pz__y_err(d, rn, "promote rule \"%s\" needs slots or fraction "
                            "(one of them)", r->name);
  uint64_t x;
  int rc;
  if (s) {
    if ((rc = pz__y_uint(d, s, "slots", 1, env->max_k, &x))) return rc;
    r->slots = (uint32_t)x;
  } else {
    if ((rc = pz__y_double(d, f, "fraction", 0, 1, &r->fraction))) return rc;
    if (r->fraction == 0) return pz__y_err(d, f, "fraction must be above 0");
    r->slots = UINT32_MAX;
  }
  const pz__ynode *v;
  r->every = 1;
  if ((v = pz__y_get(rn, "start"))) {
    if ((rc = pz__y_uint(d, v, "start", 0, env->max_k - 1, &x))) return rc;
    r->start = (uint32_t)x;
  }
  if ((v = pz__y_get(rn, "every"))) {
    if (f) return pz__y_err(d, v, "every goes with slots, not fraction");
    if ((rc = pz__y_uint(d, v, "every", 1, env->max_k, &x))) return rc;
    r->every = (uint32_t)x;
  }
  return PZ_OK;
}

static int read_pin(const pz__brules_env *env, const pz__ydoc *d,
                    const pz__ynode *rn, pz__rule *r) {
  const pz__ynode *it = pz__y_get(rn, "item"), *p = pz__y_get(rn, "position");
  if (!it || !p)
    return pz__y_err(d, rn, "pin rule \"%s\" needs item and position",
                     r->name);
  int rc = read_text(d, it, "a pin's item", PZ_ID_MAX);
  uint64_t x;
  if (!rc) rc = pz__y_uint(d, p, "position", 0, env->max_k - 1, &x);
  if (rc) return rc;
  r->position = (int32_t)x;
  return copy_items(env->a, r, it);
}

static int read_rule(const pz__brules_env *env, const pz__ydoc *d,
                     const pz__ynode *rn, pz__brules *set, pz__rule *r) {
  /* a mapping with plain, distinct keys (which kind allows which is
   * checked below, once the kind is known) */
  int rc = pz__y_map(d, rn, "a rule", NULL);
  if (rc) return rc;
  const pz__ynode *nm = pz__y_get(rn, "name"), *kd = pz__y_get(rn, "kind");
  if (!nm) return pz__y_err(d, rn, "a rule needs a name");
  rc = read_text(d, nm, "a rule name", PZ_ID_MAX);
  if (rc) return rc;
  for (uint32_t i = 0; i < set->n; i++)
    if (set->r[i].nlen == nm->len && memcmp(set->r[i].name, nm->str, nm->len) == 0)
      return pz__y_err(d, nm, "rule \"%s\" is defined twice", nm->str);
  if (!kd) return pz__y_err(d, rn, "rule \"%s\" needs a kind", nm->str);
  int k;
  if ((rc = pz__y_enum(d, kd, "a rule kind", kind_words, &k))) return rc;
  r->kind = (uint8_t)(k + 1);
  for (size_t i = 0; i + 1 < rn->n; i += 2)
    if (!key_allowed(r->kind, rn->items[i]->str))
      return pz__y_err(d, rn->items[i], "unknown key \"%s\" in a %s rule",
                       rn->items[i]->str, kind_words[k]);
  if (!(r->name = pz__strndup(env->a, nm->str, nm->len))) return PZ_ENOMEM;
  r->nlen = (uint32_t)nm->len;
  const pz__ynode *sg = pz__y_get(rn, "segment");
  if (sg) {
    if ((rc = read_text(d, sg, "a segment name", PZ_ID_MAX))) return rc;
    if (!env->segments || pz__rules_segment(env->segments, sg->str, sg->len) < 0)
      return pz__y_err(d, sg, "rule \"%s\": no segment \"%s\"", r->name,
                       sg->str);
    if (!(r->segment = pz__strndup(env->a, sg->str, sg->len)))
      return PZ_ENOMEM;
    r->slen = (uint32_t)sg->len;
  }
  if (r->kind == PZ_RULE_PIN) return read_pin(env, d, rn, r);
  const pz__ynode *m = pz__y_get(rn, "match");
  if (!m) return pz__y_err(d, rn, "rule \"%s\" needs a match", r->name);
  if ((rc = read_match(env, d, m, r))) return rc;
  if (r->kind == PZ_RULE_BOOST || r->kind == PZ_RULE_BURY)
    return read_factor(env, d, rn, r);
  if (r->kind == PZ_RULE_PROMOTE) return read_promote(env, d, rn, r);
  return PZ_OK;
}

int pz__brules_compile(pz__brules **out, const pz__brules_env *env,
                       const pz__ydoc *d) {
  *out = NULL;
  const pz__ynode *n = pz__y_get(d->root, "rules");
  if (!n || (n->kind == PZ__Y_SCALAR && n->len == 0 && n->plain)) return PZ_OK;
  if (n->kind != PZ__Y_SEQ) return pz__y_err(d, n, "rules must be a list");
  if (n->n > PZ__RULES_MAX)
    return pz__y_err(d, n, "at most %d rules", PZ__RULES_MAX);
  if (!n->n) return PZ_OK;
  pz__brules *set = pz__calloc(env->a, 1, sizeof *set);
  if (!set) return PZ_ENOMEM;
  set->a = env->a;
  set->r = pz__calloc(env->a, n->n, sizeof *set->r);
  int rc = set->r ? PZ_OK : PZ_ENOMEM;
  if (!rc) set->cap = (uint32_t)n->n;
  uint32_t promos = 0;
  for (size_t i = 0; !rc && i < n->n; i++) {
    rc = read_rule(env, d, n->items[i], set, &set->r[set->n]);
    set->n++; /* counted even on failure, so its parts are freed */
    if (!rc && set->r[set->n - 1].kind == PZ_RULE_PROMOTE &&
        ++promos > PZ__PROMO_MAX)
      rc = pz__y_err(d, n->items[i], "at most %d promote rules",
                     PZ__PROMO_MAX);
  }
  if (rc) {
    pz__brules_free(set);
    return rc;
  }
  *out = set;
  return PZ_OK;
}

/* ---- state --------------------------------------------------------------- */

int pz__ovstate_init(pz__ovstate *s, const pz__alloc *a) {
  memset(s, 0, sizeof *s);
  s->a = a;
  return pz__rwlock_init(&s->lock) ? pz__oom() : PZ_OK;
}

void pz__ovstate_free(pz__ovstate *s) {
  pz__brules_free(s->rules);
  pz__text_free(s->a, &s->src);
  pthread_rwlock_destroy(&s->lock);
}

void pz__ovstate_rdlock(pz__ovstate *s) { pthread_rwlock_rdlock(&s->lock); }
void pz__ovstate_wrlock(pz__ovstate *s) { pthread_rwlock_wrlock(&s->lock); }
void pz__ovstate_unlock(pz__ovstate *s) { pthread_rwlock_unlock(&s->lock); }
