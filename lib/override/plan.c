/* The per-request plan: the rules in force for this user, the person's
 * choices in force now and the request's lists, turned into actions keyed
 * by feature index or item index, so the ranking asks one question per
 * item: does it pass, and by how much is it multiplied? */
#include "override.h"

#include <stdlib.h>
#include <string.h>

void pz__plan_init(pz__plan *pl, const pz__alloc *a, const pz__ovr_cfg *cfg) {
  memset(pl, 0, sizeof *pl);
  pl->a = a;
  pl->cfg = cfg;
}

void pz__plan_free(pz__plan *pl) {
  const pz__alloc *a = pl->a;
  pz__free(a, pl->fa, (size_t)pl->fa_cap * sizeof *pl->fa);
  pz__free(a, pl->ia, (size_t)pl->ia_cap * sizeof *pl->ia);
  pz__free(a, pl->only, (size_t)pl->only_cap * sizeof *pl->only);
  pz__free(a, pl->pins, (size_t)pl->pins_cap * sizeof *pl->pins);
  pz__free(a, pl->fkey, (size_t)pl->fcap * sizeof *pl->fkey);
  pz__free(a, pl->fstart, (size_t)pl->fcap * sizeof *pl->fstart);
  for (uint32_t i = 0; i < pl->n_names; i++)
    pz__free_wipe(a, pl->names[i], strlen(pl->names[i]) + 1);
  pz__free(a, pl->names, (size_t)pl->names_cap * sizeof *pl->names);
  memset(pl, 0, sizeof *pl);
}

static int add_fa(pz__plan *pl, uint32_t key, int8_t sign, uint8_t kind,
                  uint32_t ref, double factor) {
  int rc = pz__grow(pl->a, (void **)&pl->fa, &pl->fa_cap, pl->n_fa + 1,
                    sizeof *pl->fa);
  if (rc) return rc;
  pl->fa[pl->n_fa++] = (pz__pact){key, sign, kind, ref, factor};
  pl->any = true;
  return PZ_OK;
}

static int add_ia(pz__plan *pl, uint32_t key, uint8_t kind, uint32_t ref,
                  double factor) {
  int rc = pz__grow(pl->a, (void **)&pl->ia, &pl->ia_cap, pl->n_ia + 1,
                    sizeof *pl->ia);
  if (rc) return rc;
  pl->ia[pl->n_ia++] = (pz__pact){key, 0, kind, ref, factor};
  pl->any = true;
  return PZ_OK;
}

static int add_pin(pz__plan *pl, uint32_t item, int32_t pos, int64_t created,
                   int32_t rule) {
  int rc = pz__grow(pl->a, (void **)&pl->pins, &pl->pins_cap, pl->n_pins + 1,
                    sizeof *pl->pins);
  if (rc) return rc;
  pl->pins[pl->n_pins++] = (pz__ppin){item, pos, created, rule};
  pl->any = true;
  return PZ_OK;
}

/* Actions of one rule on its features and items. */
static int rule_actions(pz__plan *pl, const pz__rule *r, uint32_t ref,
                        uint8_t kind, const pz__catalog *c) {
  double f = r->factor;
  int rc = PZ_OK;
  for (uint32_t j = 0; !rc && j < r->n_feat; j++)
    rc = add_fa(pl, r->feat[j].i, r->feat[j].sign, kind, ref, f);
  for (uint32_t j = 0; !rc && j < r->n_items; j++) {
    uint32_t i = pz__catalog_find_live(c, r->items[j], strlen(r->items[j]));
    if (i != PZ__NO_ITEM) rc = add_ia(pl, i, kind, ref, f);
  }
  return rc;
}

int pz__plan_rules(pz__plan *pl, const pz__brules *r, const pz__rules *segs,
                   pz__segctx *x, const pz__catalog *c) {
  pl->rules = r;
  int rc = PZ_OK;
  for (uint32_t k = 0; r && !rc && k < r->n; k++) {
    const pz__rule *u = &r->r[k];
    if (u->segment) {
      int32_t s = segs ? pz__rules_segment(segs, u->segment, u->slen) : -1;
      bool in = s < 0 ? u->kind == PZ_RULE_FILTER
                      : x && pz__seg_eval(x, (uint32_t)s);
      if (!in) continue;
    }
    switch (u->kind) {
    case PZ_RULE_FILTER:
      rc = rule_actions(pl, u, (uint32_t)k, PZ__PA_FILTER, c);
      break;
    case PZ_RULE_BOOST:
    case PZ_RULE_BURY:
      rc = rule_actions(pl, u, (uint32_t)k, PZ__PA_RULE_FACTOR, c);
      break;
    case PZ_RULE_PROMOTE: {
      uint32_t j = pl->n_promo++; /* the compiler capped promote rules */
      pl->promo[j] = (pz__promo){(uint16_t)k, u->slots, u->start, u->every,
                                 u->fraction};
      rc = rule_actions(pl, u, (uint32_t)j, PZ__PA_PROMO, c);
      break;
    }
    default: { /* pin */
      uint32_t i = pz__catalog_find_live(c, u->items[0], strlen(u->items[0]));
      if (i != PZ__NO_ITEM) rc = add_pin(pl, i, u->position, 0, (int32_t)k);
    }
    }
  }
  return rc;
}

int pz__plan_choices(pz__plan *pl, const pz__choices *ch, bool filters_only,
                     const pz__catalog *c, int64_t now) {
  int rc = PZ_OK;
  uint32_t req = 0;
  for (uint32_t k = 0; ch && !rc && k < ch->n; k++) {
    const pz__choice *x = &ch->c[k];
    if (!pz__choice_active(x, now)) continue;
    if (filters_only && (x->kind == PZ_CHOICE_PIN ||
                         x->kind == PZ_CHOICE_ADJUST))
      continue;
    switch (x->kind) {
    case PZ_CHOICE_BLOCK_ITEM:
    case PZ_CHOICE_PIN: {
      uint32_t i = pz__catalog_find_live(c, x->target, x->tlen);
      if (i == PZ__NO_ITEM) break;
      rc = x->kind == PZ_CHOICE_PIN ? add_pin(pl, i, x->pos, x->created, -1)
                                    : add_ia(pl, i, PZ__PA_BLOCK, 0, 1);
      break;
    }
    case PZ_CHOICE_BLOCK_FEATURE:
      rc = add_fa(pl, x->fidx, x->fsign, PZ__PA_BLOCK, 0, 1);
      break;
    case PZ_CHOICE_REQUIRE: /* the profile module caps them at 64 */
      if (req >= PZ__REQUIRE_MAX) break;
      pl->req_mask |= 1ull << req;
      rc = add_fa(pl, x->fidx, x->fsign, PZ__PA_REQUIRE, req++, 1);
      break;
    default: { /* adjust: the feature's text is kept for the reason */
      rc = pz__grow(pl->a, (void **)&pl->names, &pl->names_cap,
                    pl->n_names + 1, sizeof *pl->names);
      char *t = rc ? NULL : pz__strndup(pl->a, x->target, x->tlen);
      if (!rc && !t) rc = PZ_ENOMEM;
      if (rc) break;
      pl->names[pl->n_names] = t;
      rc = add_fa(pl, x->fidx, x->fsign, PZ__PA_ADJUST,
                  pl->n_names++, x->factor);
    }
    }
  }
  return rc;
}

static int cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return (a > b) - (a < b);
}

int pz__plan_request(pz__plan *pl, const pz__catalog *c,
                     const char *const *exclude, size_t n_exclude,
                     const char *const *restrict_to, size_t n_restrict) {
  int rc = PZ_OK;
  for (size_t j = 0; !rc && j < n_exclude; j++) {
    uint32_t i = pz__catalog_find_live(c, exclude[j], strlen(exclude[j]));
    if (i != PZ__NO_ITEM) rc = add_ia(pl, i, PZ__PA_EXCLUDE, 0, 1);
  }
  if (rc || !restrict_to) return rc;
  pl->restricted = pl->any = true;
  for (size_t j = 0; !rc && j < n_restrict; j++) {
    uint32_t i = pz__catalog_find_live(c, restrict_to[j], strlen(restrict_to[j]));
    if (i == PZ__NO_ITEM) continue;
    rc = pz__grow(pl->a, (void **)&pl->only, &pl->only_cap, pl->n_only + 1,
                  sizeof *pl->only);
    if (!rc) pl->only[pl->n_only++] = i;
  }
  if (rc) return rc;
  if (pl->n_only) qsort(pl->only, pl->n_only, sizeof *pl->only, cmp_u32);
  uint32_t w = 0;
  for (uint32_t j = 0; j < pl->n_only; j++)
    if (!w || pl->only[w - 1] != pl->only[j]) pl->only[w++] = pl->only[j];
  pl->n_only = w;
  return PZ_OK;
}

static int cmp_pact(const void *x, const void *y) {
  const pz__pact *a = x, *b = y;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
  return (a->ref > b->ref) - (a->ref < b->ref);
}

/* Placement order: the person's pins at a slot (by slot, newer first),
 * the business's (rule order), the person's without a slot (newer
 * first). */
static int pin_class(const pz__ppin *p) {
  return p->rule >= 0 ? 1 : p->pos >= 0 ? 0 : 2;
}

static int cmp_pin(const void *x, const void *y) {
  const pz__ppin *a = x, *b = y;
  int ca = pin_class(a), cb = pin_class(b);
  if (ca != cb) return ca - cb;
  if (ca == 1) return (a->rule > b->rule) - (a->rule < b->rule);
  if (ca == 0 && a->pos != b->pos) return a->pos < b->pos ? -1 : 1;
  if (a->created != b->created) return a->created > b->created ? -1 : 1;
  return (a->item > b->item) - (a->item < b->item);
}

static inline uint32_t key_slot(uint32_t key, uint32_t cap) {
  return (key * 0x9E3779B1u) & (cap - 1);
}

int pz__plan_finish(pz__plan *pl) {
  if (pl->n_pins) qsort(pl->pins, pl->n_pins, sizeof *pl->pins, cmp_pin);
  if (pl->n_fa) qsort(pl->fa, pl->n_fa, sizeof *pl->fa, cmp_pact);
  if (pl->n_ia) qsort(pl->ia, pl->n_ia, sizeof *pl->ia, cmp_pact);
  if (!pl->n_fa) return PZ_OK;
  uint32_t cap = 16;
  while (cap < 2 * pl->n_fa) cap *= 2;
  pl->fkey = pz__calloc(pl->a, cap, sizeof *pl->fkey);
  pl->fstart = pz__malloc(pl->a, (size_t)cap * sizeof *pl->fstart);
  pl->fcap = cap;
  if (!pl->fkey || !pl->fstart) return PZ_ENOMEM;
  for (uint32_t j = 0; j < pl->n_fa; j++) {
    uint32_t key = pl->fa[j].key, b = pz__plan_bloom_bit(key);
    pl->bloom[b >> 6] |= 1ull << (b & 63);
    if (j && pl->fa[j - 1].key == key) continue;
    uint32_t h = key_slot(key, cap);
    while (pl->fkey[h]) h = (h + 1) & (cap - 1);
    pl->fkey[h] = key + 1;
    pl->fstart[h] = j;
  }
  return PZ_OK;
}

/* Where a feature key's actions start in fa, or n_fa. */
static inline uint32_t fa_start(const pz__plan *pl, uint32_t key) {
  for (uint32_t h = key_slot(key, pl->fcap);; h = (h + 1) & (pl->fcap - 1)) {
    uint32_t k = pl->fkey[h];
    if (k == key + 1) return pl->fstart[h];
    if (!k) return pl->n_fa;
  }
}

/* First action with this key, or n. */
static uint32_t lower_bound(const pz__pact *a, uint32_t n, uint32_t key) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (a[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* What one item gathers while its actions are applied. */
typedef struct acc {
  bool out;
  uint64_t req;
  double uf, rf;
  uint32_t promo;
  uint64_t rules_seen[PZ__RULES_MAX / 64]; /* a rule multiplies once */
  double more_f, less_f, boost_f, bury_f;
} acc;

PZ__HOT_INLINE void apply(const pz__pact *x, bool detail,
                  pz__pitem *o, acc *s) {
  switch (x->kind) {
  case PZ__PA_FILTER:
  case PZ__PA_BLOCK:
  case PZ__PA_EXCLUDE: s->out = true; break;
  case PZ__PA_REQUIRE: s->req |= 1ull << x->ref; break;
  case PZ__PA_ADJUST:
    s->uf *= x->factor;
    if (detail && x->factor > 1 && x->factor > s->more_f) {
      s->more_f = x->factor;
      o->more = x->ref;
    } else if (detail && x->factor < 1 && x->factor < s->less_f) {
      s->less_f = x->factor;
      o->less = x->ref;
    }
    break;
  case PZ__PA_RULE_FACTOR: {
    uint64_t bit = 1ull << (x->ref & 63);
    if (s->rules_seen[x->ref >> 6] & bit) break;
    s->rules_seen[x->ref >> 6] |= bit;
    s->rf *= x->factor;
    if (detail && x->factor > 1 && x->factor > s->boost_f) {
      s->boost_f = x->factor;
      o->boost = x->ref;
    } else if (detail && x->factor < 1 && x->factor < s->bury_f) {
      s->bury_f = x->factor;
      o->bury = x->ref;
    }
    break;
  }
  default: s->promo |= 1u << x->ref; break;
  }
}

static double clamp(double f, double lo, double hi) {
  return f < lo ? lo : f > hi ? hi : f;
}

/* The restrict list, item actions from ia_at, and feature actions. */
PZ__HOT_INLINE void evaluate(const pz__plan *pl, uint32_t idx,
                             const pz__item *it,
                     uint32_t ia_at, bool detail, pz__pitem *o) {
  o->ok = true;
  o->ufac = o->rfac = 1;
  o->promo = 0;
  o->more = o->less = o->boost = o->bury = -1;
  if (!pl->any) return;
  if (pl->restricted) {
    uint32_t lo = 0, hi = pl->n_only;
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (pl->only[mid] < idx) lo = mid + 1;
      else hi = mid;
    }
    if (lo == pl->n_only || pl->only[lo] != idx) {
      o->ok = false;
      return;
    }
  }
  /* field by field: a struct initializer becomes a `rep stos`, which
   * costs more than the rest of a typical item */
  acc s;
  s.out = false;
  s.req = 0;
  s.uf = s.rf = 1;
  s.promo = 0;
  for (size_t w = 0; w < PZ__RULES_MAX / 64; w++) s.rules_seen[w] = 0;
  s.more_f = s.less_f = s.boost_f = s.bury_f = 1;
  for (uint32_t j = ia_at; j < pl->n_ia && pl->ia[j].key == idx; j++)
    apply(&pl->ia[j], detail, o, &s);
  for (uint32_t f = 0; pl->n_fa && f < it->nf && !s.out; f++) {
    uint32_t key = it->f[f].i, b = pz__plan_bloom_bit(key);
    if (!(pl->bloom[b >> 6] & (1ull << (b & 63)))) continue;
    /* by index alone: an item's stored value carries the hash sign times
     * the feature's weight, which may be negative, so its sign does not
     * tell the feature's (two features share an index 1 time in 2^bits) */
    for (uint32_t j = fa_start(pl, key); j < pl->n_fa && pl->fa[j].key == key;
         j++)
      apply(&pl->fa[j], detail, o, &s);
  }
  if (s.out || s.req != pl->req_mask) {
    o->ok = false;
    return;
  }
  o->ufac = clamp(s.uf, pl->cfg->min_factor, pl->cfg->max_factor);
  o->rfac = clamp(s.rf, pl->cfg->rule_min_factor, pl->cfg->rule_max_factor);
  o->promo = s.promo;
}

void pz__plan_item(const pz__plan *pl, uint32_t idx, const pz__item *it,
                   bool detail, pz__pitem *o) {
  evaluate(pl, idx, it, pl->n_ia ? lower_bound(pl->ia, pl->n_ia, idx) : 0,
           detail, o);
}

void pz__plan_item_at(const pz__plan *pl, uint32_t idx, const pz__item *it,
                      uint32_t ia_at, pz__pitem *o) {
  evaluate(pl, idx, it, ia_at, false, o);
}

/* Bit i of b over the items of a feature: set or cleared. */
static void postings_set(uint64_t *b, const uint32_t *it, uint32_t n) {
  for (uint32_t k = 0; k < n; k++) b[it[k] >> 6] |= (uint64_t)1 << (it[k] & 63);
}

static void postings_clear(uint64_t *b, const uint32_t *it, uint32_t n) {
  for (uint32_t k = 0; k < n; k++)
    b[it[k] >> 6] &= ~((uint64_t)1 << (it[k] & 63));
}

enum {
  OUT_KINDS = 1u << PZ__PA_FILTER | 1u << PZ__PA_BLOCK | 1u << PZ__PA_EXCLUDE,
  FAC_KINDS = 1u << PZ__PA_ADJUST | 1u << PZ__PA_RULE_FACTOR | 1u << PZ__PA_PROMO
};

size_t pz__prefilter_bytes(size_t words) {
  size_t w1 = words ? words : 1;
  return w1 * 3 * sizeof(uint64_t) + w1 * 64 * (2 * sizeof(double) + sizeof(uint32_t));
}

void pz__prefilter_free(pz__prefilter *f) {
  const pz__alloc *a = f->a;
  size_t words = f->words ? f->words : 1;
  for (uint32_t r = 0; r < f->n_seen; r++)
    pz__free(a, f->seen[r], words * sizeof **f->seen);
  pz__free(a, f->seen, (f->seen_cap ? f->seen_cap : 1) * sizeof *f->seen);
  pz__free(a, f->seen_of, (f->n_refs ? f->n_refs : 1) * sizeof *f->seen_of);
  memset(f, 0, sizeof *f);
}

/* One action on item i, as evaluate's apply does it (without the
 * detail): the rules that may meet an item twice have a bit per item. */
PZ__HOT_INLINE void scatter_one(pz__prefilter *f, const pz__pact *x,
                                uint32_t i) {
  switch (x->kind) {
  case PZ__PA_ADJUST: f->uf[i] *= x->factor; break;
  case PZ__PA_RULE_FACTOR: {
    int32_t s = f->seen_of[x->ref];
    if (s >= 0) {
      uint64_t *b = f->seen[s], m = (uint64_t)1 << (i & 63);
      if (b[i >> 6] & m) break;
      b[i >> 6] |= m;
    }
    f->rf[i] *= x->factor;
    break;
  }
  case PZ__PA_PROMO: f->promo[i] |= 1u << x->ref; break;
  default: break;
  }
}

/* Bits for the rule-factor rules with more than one action in the plan
 * (which may meet one item twice; a rule multiplies an item once). */
static int seen_make(pz__prefilter *f, const pz__plan *pl) {
  uint32_t refs = pl->rules ? pl->rules->n : 0;
  f->n_refs = refs;
  if (!refs) return PZ_OK;
  f->seen_of = pz__malloc(f->a, refs * sizeof *f->seen_of);
  uint32_t *count = f->seen_of ? pz__calloc(f->a, refs, sizeof *count) : NULL;
  if (!count) return PZ_ENOMEM;
  for (uint32_t j = 0; j < pl->n_fa + pl->n_ia; j++) {
    const pz__pact *x = j < pl->n_fa ? &pl->fa[j] : &pl->ia[j - pl->n_fa];
    if (x->kind == PZ__PA_RULE_FACTOR && x->ref < refs) count[x->ref]++;
  }
  uint32_t need = 0;
  for (uint32_t r = 0; r < refs; r++) need += count[r] > 1;
  int rc = PZ_OK;
  if (need && !(f->seen = pz__malloc(f->a, need * sizeof *f->seen)))
    rc = PZ_ENOMEM;
  if (f->seen) f->seen_cap = need;
  for (uint32_t r = 0; r < refs; r++) {
    f->seen_of[r] = -1;
    if (rc || count[r] < 2) continue;
    uint64_t *b = pz__calloc(f->a, f->words ? f->words : 1, sizeof *b);
    if (!b) {
      rc = PZ_ENOMEM;
      continue;
    }
    f->seen_of[r] = (int32_t)f->n_seen;
    f->seen[f->n_seen++] = b;
  }
  pz__free(f->a, count, refs * sizeof *count);
  return rc;
}

int pz__plan_prefilter(const pz__plan *pl, const pz__finv *x,
                       const uint64_t *cand, size_t words, void *mem,
                       pz__prefilter *f) {
  memset(f, 0, sizeof *f);
  f->a = pl->a;
  f->x = x;
  f->words = words;
  size_t w1 = words ? words : 1, items = w1 * 64;
  /* doubles first: every part stays aligned */
  f->uf = mem;
  f->rf = f->uf + items;
  f->ok = (uint64_t *)(void *)(f->rf + items);
  f->touched = f->ok + w1;
  f->tmp = f->touched + w1;
  f->promo = (uint32_t *)(void *)(f->tmp + w1);
  int rc = seen_make(f, pl);
  if (rc) {
    pz__prefilter_free(f);
    return rc;
  }
  memcpy(f->ok, cand, words * sizeof *f->ok);
  memset(f->touched, 0, words * sizeof *f->touched);
  uint32_t reqs[PZ__REQUIRE_MAX], n_req = 0;
  /* what each feature does: out, or touched (to be multiplied) */
  for (uint32_t j = 0, e; j < pl->n_fa; j = e) {
    uint32_t key = pl->fa[j].key, kinds = 0, n;
    for (e = j; e < pl->n_fa && pl->fa[e].key == key; e++) {
      kinds |= 1u << pl->fa[e].kind;
      if (pl->fa[e].kind == PZ__PA_REQUIRE && n_req < PZ__REQUIRE_MAX)
        reqs[n_req++] = e;
    }
    const uint32_t *it = pz__finv_items(x, key, &n);
    if (kinds & OUT_KINDS) postings_clear(f->ok, it, n);
    if (kinds & FAC_KINDS) postings_set(f->touched, it, n);
  }
  for (uint32_t j = 0; j < pl->n_ia; j++) {
    uint32_t i = pl->ia[j].key;
    if (i >= (uint64_t)words * 64) continue;
    if ((1u << pl->ia[j].kind) & OUT_KINDS)
      f->ok[i >> 6] &= ~((uint64_t)1 << (i & 63));
    else
      f->touched[i >> 6] |= (uint64_t)1 << (i & 63);
  }
  /* one requirement (one action each) at a time: ok keeps the items that
   * carry its feature */
  for (uint32_t r = 0; r < n_req; r++) {
    uint32_t n;
    const uint32_t *it = pz__finv_items(x, pl->fa[reqs[r]].key, &n);
    memset(f->tmp, 0, words * sizeof *f->tmp);
    postings_set(f->tmp, it, n);
    for (size_t w = 0; w < words; w++) f->ok[w] &= f->tmp[w];
  }
  /* the items the index does not know as they are: all of their own */
  size_t bw = pz__live_words(x->built_n);
  for (size_t w = 0; w < words; w++) {
    uint64_t ch = w < bw ? x->dirty[w] : ~(uint64_t)0;
    if (w + 1 == bw && (x->built_n & 63))
      ch |= ~(((uint64_t)1 << (x->built_n & 63)) - 1);
    f->ok[w] = (f->ok[w] & ~ch) | (cand[w] & ch);
    f->touched[w] = (f->touched[w] & f->ok[w]) | (ch & f->ok[w]);
  }
  /* the multipliers of the touched items that pass, in the order
   * evaluate applies them to each item: its item actions, then its
   * features in increasing index (the order of fa's keys), each key's
   * actions in fa's order */
  for (size_t w = 0; w < words; w++)
    for (uint64_t b = f->touched[w]; b; b &= b - 1) {
      uint32_t i = (uint32_t)(w * 64) + (uint32_t)__builtin_ctzll(b);
      f->uf[i] = f->rf[i] = 1;
      f->promo[i] = 0;
    }
  for (uint32_t j = 0; j < pl->n_ia; j++) {
    uint32_t i = pl->ia[j].key;
    if (i < (uint64_t)words * 64 && pz__bit(f->touched, i))
      scatter_one(f, &pl->ia[j], i);
  }
  for (uint32_t j = 0; j < pl->n_fa; j++) {
    const pz__pact *a = &pl->fa[j];
    if (!((1u << a->kind) & FAC_KINDS)) continue;
    uint32_t n;
    const uint32_t *it = pz__finv_items(x, a->key, &n);
    for (uint32_t k = 0; k < n; k++)
      if (pz__bit(f->touched, it[k])) scatter_one(f, a, it[k]);
  }
  return PZ_OK;
}

uint32_t pz__promo_slots(const pz__promo *p, uint32_t len, uint32_t *out,
                         uint32_t cap) {
  uint32_t n = 0;
  for (uint64_t j = 0; n < cap; j++) {
    double pos; /* in double: a tiny fraction must not overflow */
    if (p->fraction > 0) {
      pos = p->start + (double)j / p->fraction;
    } else {
      if (j >= p->slots) break;
      pos = p->start + (double)j * p->every;
    }
    if (!(pos < len)) break;
    if (out) out[n] = (uint32_t)pos;
    n++;
  }
  return n;
}
