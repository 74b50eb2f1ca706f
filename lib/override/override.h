/*
 * lib/override/override.h - internal: business rules, the `overrides:`
 * config, and the per-request plan that turns a person's choices, the
 * rules in force and the request's lists into what the ranking applies.
 *
 * The person's choices are stored with the profile (lib/profile) so that
 * erase, merge and export reach them; this module gives them meaning.
 * The rule set sits behind its own rwlock and is swapped whole by a
 * run-time load. Lock order: segment state, override state, CF state,
 * catalogue, shards.
 */
#ifndef PZ_OVERRIDE_H
#define PZ_OVERRIDE_H

#include "../segment/segment.h"
#include "personalize/override.h"

_Static_assert((int)PZ__CH_BLOCK_ITEM == (int)PZ_CHOICE_BLOCK_ITEM &&
                   (int)PZ__CH_BLOCK_FEATURE == (int)PZ_CHOICE_BLOCK_FEATURE &&
                   (int)PZ__CH_REQUIRE == (int)PZ_CHOICE_REQUIRE &&
                   (int)PZ__CH_PIN == (int)PZ_CHOICE_PIN &&
                   (int)PZ__CH_ADJUST == (int)PZ_CHOICE_ADJUST &&
                   (int)PZ__CH_OPT_OUT == (int)PZ_CHOICE_OPT_OUT,
               "the profile module's choice kinds are the public ones");

#define PZ__RULES_MAX 256      /* business rules per set */
#define PZ__PROMO_MAX 32       /* promote rules per set */
#define PZ__RULE_MATCH_MAX 10000 /* features or items of one rule */

typedef struct pz__ovr_cfg {
  bool accept_unknown_items;
  double more_factor, less_factor; /* pz_override_more / _less */
  double min_factor, max_factor;   /* a person's multipliers */
  double rule_min_factor, rule_max_factor;
  uint32_t max_choices;
  int not_interested_type; /* event type index */
} pz__ovr_cfg;

void pz__ovr_cfg_default(pz__ovr_cfg *cfg);
/* Section `overrides:`; may add the not-interested event type to pcfg
 * (which must have been read already). */
int pz__ovr_cfg_read(pz__ovr_cfg *cfg, pz__profile_cfg *pcfg,
                     const pz__ydoc *d);

/* ---- business rules ------------------------------------------------------ */

typedef struct pz__rfeat {
  uint32_t i;
  int8_t sign;
} pz__rfeat;

typedef struct pz__rule {
  char *name;
  uint32_t nlen;
  uint8_t kind;  /* pz_rule_kind */
  char *segment; /* NULL: everyone */
  uint32_t slen;
  pz__rfeat *feat; /* match: any of these features */
  uint32_t n_feat;
  char **items; /* match: any of these items (pin: the one item) */
  uint32_t n_items;
  double factor;              /* boost, bury */
  uint32_t slots;             /* promote: count (UINT32_MAX with fraction) */
  uint32_t start, every;      /* promote: first slot, spacing */
  double fraction;            /* promote: 0 unless by fraction */
  int32_t position;           /* pin */
} pz__rule;

typedef struct pz__brules {
  const pz__alloc *a;
  pz__rule *r;
  uint32_t n, cap;
} pz__brules;

/* What compiling checks against. */
typedef struct pz__brules_env {
  const pz__alloc *a;
  const pz__ovr_cfg *cfg;
  pz__hashid hid;
  const pz__rules *segments; /* may be NULL */
  uint32_t max_k;
} pz__brules_env;

/* Compile `rules:` of a document; *out NULL when absent or empty. */
int pz__brules_compile(pz__brules **out, const pz__brules_env *env,
                       const pz__ydoc *d);
void pz__brules_free(pz__brules *r);

typedef struct pz__ovstate {
  pthread_rwlock_t lock;
  const pz__alloc *a;
  pz__brules *rules; /* may be NULL */
  pz__text src;      /* the last pz_override_rules_load document (p NULL:
                        the rules came from the configuration) */
} pz__ovstate;

int pz__ovstate_init(pz__ovstate *s, const pz__alloc *a);
void pz__ovstate_free(pz__ovstate *s);
void pz__ovstate_rdlock(pz__ovstate *s);
void pz__ovstate_wrlock(pz__ovstate *s);
void pz__ovstate_unlock(pz__ovstate *s);

/* ---- the per-request plan ----------------------------------------------- */

enum pz__pa { /* what an action does to a matching item */
  PZ__PA_FILTER = 1, /* business filter: out */
  PZ__PA_BLOCK,      /* the person's block: out */
  PZ__PA_EXCLUDE,    /* the request's exclude list: out */
  PZ__PA_REQUIRE,    /* the person's requirement number ref */
  PZ__PA_ADJUST,     /* the person's multiplier; ref names the feature */
  PZ__PA_RULE_FACTOR,/* boost/bury rule ref */
  PZ__PA_PROMO       /* promotion number ref */
};

typedef struct pz__pact {
  uint32_t key; /* feature index, or item index */
  int8_t sign;  /* feature actions: the hashed sign */
  uint8_t kind;
  uint32_t ref;
  double factor;
} pz__pact;

typedef struct pz__ppin {
  uint32_t item;
  int32_t pos; /* -1: first free slot */
  int64_t created;
  int32_t rule; /* -1: the person's */
} pz__ppin;

typedef struct pz__promo {
  uint16_t rule;
  uint32_t slots, start, every;
  double fraction;
} pz__promo;

typedef struct pz__plan {
  const pz__alloc *a;
  const pz__ovr_cfg *cfg;
  const pz__brules *rules; /* read-locked by the caller */
  pz__pact *fa; /* feature actions, sorted by key */
  uint32_t n_fa, fa_cap;
  pz__pact *ia; /* item actions, sorted by key */
  uint32_t n_ia, ia_cap;
  uint64_t bloom[16]; /* feature keys of fa, 1024 bits */
  /* where each feature key's actions start in fa: open addressing, slot
   * key + 1 (0 empty); built by pz__plan_finish */
  uint32_t *fkey, *fstart;
  uint32_t fcap;
  uint32_t *only;     /* restrict_to: sorted item indices */
  uint32_t n_only, only_cap;
  bool restricted;
  uint64_t req_mask; /* one bit per requirement */
  pz__ppin *pins;
  uint32_t n_pins, pins_cap;
  pz__promo promo[PZ__PROMO_MAX];
  uint32_t n_promo;
  char **names; /* feature texts of the person's multipliers */
  uint32_t n_names, names_cap;
  bool any; /* something besides the model applies */
} pz__plan;

void pz__plan_init(pz__plan *pl, const pz__alloc *a, const pz__ovr_cfg *cfg);
void pz__plan_free(pz__plan *pl);
/* The rules in force for this user: x is the user's segment context (NULL
 * when no rule names a segment). A rule whose segment no longer exists
 * applies to everyone if it is a filter (a compliance exclusion fails
 * closed) and to no one otherwise. Catalogue read-locked. */
int pz__plan_rules(pz__plan *pl, const pz__brules *r, const pz__rules *segs,
                   pz__segctx *x, const pz__catalog *c);
/* The person's choices in force at now (shard and catalogue locked).
 * filters_only: their blocks and requirements alone (personalization is
 * off: their stated exclusions still hold, pins and more/less do not). */
int pz__plan_choices(pz__plan *pl, const pz__choices *ch, bool filters_only,
                     const pz__catalog *c, int64_t now);
/* The request's exclude and restrict lists (restrict NULL: none). */
int pz__plan_request(pz__plan *pl, const pz__catalog *c,
                     const char *const *exclude, size_t n_exclude,
                     const char *const *restrict_to, size_t n_restrict);
/* Sort the actions, fill the bloom filter and the key index; call once,
 * last. PZ_OK or PZ_ENOMEM. */
int pz__plan_finish(pz__plan *pl);

/* What the plan does to one item. */
typedef struct pz__pitem {
  bool ok;      /* passes every hard filter */
  double ufac;  /* the person's multiplier, clamped */
  double rfac;  /* the rules' multiplier, clamped */
  uint32_t promo; /* bit j: matches promotion j */
  /* detail, filled when asked: the strongest action of each direction */
  int32_t more, less;   /* index into names, or -1 */
  int32_t boost, bury;  /* rule index, or -1 */
} pz__pitem;

void pz__plan_item(const pz__plan *pl, uint32_t idx, const pz__item *it,
                   bool detail, pz__pitem *out);
/* The same where the caller knows where idx's item actions start in ia
 * (ia_at: the first with key >= idx), as a scan in item order does. */
void pz__plan_item_at(const pz__plan *pl, uint32_t idx, const pz__item *it,
                      uint32_t ia_at, pz__pitem *out);
/* What the feature index tells of the plan for the candidates cand
 * (words of 64 items): ok, the candidates that may pass every hard filter
 * (those it leaves out certainly fail one); touched, those of them that an
 * action may multiply or promote, or whose features the index does not
 * know (changed since it was built: pz__finv_changed). Of the touched
 * items the index knows, the multipliers and promotions evaluate would
 * give, applied in its order; an item ok and not touched passes with both
 * multipliers 1 and no promotion. */
typedef struct pz__prefilter {
  const pz__alloc *a;
  const pz__finv *x;
  size_t words;
  uint64_t *ok, *touched, *tmp;
  double *uf, *rf;  /* per item (touched ones only) */
  uint32_t *promo;
  uint64_t **seen;  /* per rule that may meet an item twice: a bit each */
  uint32_t n_seen, seen_cap; /* made; room in seen */
  int32_t *seen_of; /* rule -> its seen bits, or -1 */
  uint32_t n_refs;
} pz__prefilter;
/* Catalogue read-locked, the plan finished, x the catalogue's index;
 * mem: pz__prefilter_bytes(words) of working memory (8-byte aligned) that
 * f's arrays point into. PZ_OK (free f with pz__prefilter_free), or
 * PZ_ENOMEM with nothing to free. */
size_t pz__prefilter_bytes(size_t words);
int pz__plan_prefilter(const pz__plan *pl, const pz__finv *x,
                       const uint64_t *cand, size_t words, void *mem,
                       pz__prefilter *f);
void pz__prefilter_free(pz__prefilter *f);
/* What the plan does to item i, touched and not changed (no detail). */
PZ__HOT_INLINE void pz__prefilter_item(const pz__plan *pl,
                                       const pz__prefilter *f, uint32_t i,
                                       pz__pitem *o) {
  const pz__ovr_cfg *c = pl->cfg;
  double u = f->uf[i], r = f->rf[i];
  o->ok = true;
  o->more = o->less = o->boost = o->bury = -1;
  o->ufac = u < c->min_factor ? c->min_factor : u > c->max_factor ? c->max_factor : u;
  o->rfac = r < c->rule_min_factor   ? c->rule_min_factor
            : r > c->rule_max_factor ? c->rule_max_factor
                                     : r;
  o->promo = f->promo[i];
}
/* The plan's feature filter: 1024 bits over the feature keys of fa. */
static inline uint32_t pz__plan_bloom_bit(uint32_t key) {
  return (key * 2654435761u) >> 22;
}
/* Might a feature action apply to the item? (No: no feature action does;
 * the scan then needs no pz__plan_item for it.) */
PZ__HOT_INLINE bool pz__plan_touches(const pz__plan *pl, const pz__item *it) {
  for (uint32_t f = 0; f < it->nf; f++) {
    uint32_t b = pz__plan_bloom_bit(it->f[f].i);
    if ((pl->bloom[b >> 6] >> (b & 63)) & 1) return true;
  }
  return false;
}

/* A score after both multipliers (divided by them when negative). */
static inline double pz__plan_apply(double s, double f) {
  return s >= 0 ? s * f : s / f;
}
/* Slot positions of promotion j below len, in increasing order, at most
 * cap of them; returns how many. With out NULL they are only counted. */
uint32_t pz__promo_slots(const pz__promo *p, uint32_t len, uint32_t *out,
                         uint32_t cap);

/* A pz_choices result of the choices in force at now (shard locked). */
int pz__choices_list(const pz__alloc *a, const pz__choices *ch, int64_t now,
                     pz_choices **out);

#endif /* PZ_OVERRIDE_H */
