/* The last steps of the pipeline: the organic order (with optional
 * diversity), then pins and promotions at their slots, a person's pin
 * first. Slots count from the start of the whole list, so every page of
 * one list is cut from the same arrangement. */
#include "rank.h"

#include <math.h>
#include <string.h>

/* A small open-addressing set of item indices (what is placed). */
typedef struct iset {
  uint32_t *k; /* item + 1; 0 empty */
  uint32_t cap;
} iset;

static bool iset_has(const iset *s, uint32_t item) {
  for (uint32_t h = (item * 2654435761u) & (s->cap - 1);;
       h = (h + 1) & (s->cap - 1)) {
    if (s->k[h] == item + 1) return true;
    if (!s->k[h]) return false;
  }
}

static void iset_add(iset *s, uint32_t item) {
  uint32_t h = (item * 2654435761u) & (s->cap - 1);
  while (s->k[h] && s->k[h] != item + 1) h = (h + 1) & (s->cap - 1);
  s->k[h] = item + 1;
}

/* First free slot at or after `from`, or len. */
static uint32_t free_slot(const pz__placed *slot, uint32_t len, uint32_t from) {
  while (from < len && slot[from].item != PZ__NO_ITEM) from++;
  return PZ__MIN(from, len);
}

static bool eligible(const pz__plan *pl, const pz__catalog *c, uint32_t i) {
  pz__pitem pi;
  pz__plan_item(pl, i, c->items[i], false, &pi);
  return pi.ok;
}

static void put(pz__placed *slot, iset *taken, uint32_t at, uint32_t item,
                uint8_t how, int32_t rule) {
  slot[at] = (pz__placed){item, how, rule, false};
  iset_add(taken, item);
}

/* The person pinned this item too: their pin places it, as theirs. */
static bool pinned_by_person(const pz__plan *pl, uint32_t item) {
  for (uint32_t j = 0; j < pl->n_pins; j++)
    if (pl->pins[j].rule < 0 && pl->pins[j].item == item) return true;
  return false;
}

/* Pins in the plan's order (pz__plan_finish): the person's at a slot,
 * the business's, the person's without a slot. Each takes the first free
 * slot from its own. */
static void place_pins(const pz__plan *pl, const pz__catalog *c,
                           pz__placed *slot, uint32_t len, iset *taken) {
  for (uint32_t j = 0; j < pl->n_pins; j++) {
    const pz__ppin *p = &pl->pins[j];
    if (iset_has(taken, p->item) || !eligible(pl, c, p->item)) continue;
    if (p->rule >= 0 && pinned_by_person(pl, p->item)) continue;
    uint32_t at = free_slot(slot, len, p->pos > 0 ? (uint32_t)p->pos : 0);
    if (at == len) continue;
    put(slot, taken, at, p->item,
        p->rule < 0 ? PZ__HOW_PIN : PZ__HOW_EDITORIAL, p->rule);
  }
}

static void place_promotions(const pz__plan *pl, pz__placed *slot,
                             uint32_t len, iset *taken, const pz__topk *promo,
                             uint32_t *pos) {
  for (uint32_t j = 0; j < pl->n_promo; j++) {
    const pz__topk *t = &promo[j];
    uint32_t n = pz__promo_slots(&pl->promo[j], len, pos, len), next = 0;
    for (uint32_t q = 0; q < n; q++) {
      while (next < t->n && iset_has(taken, t->id[next])) next++;
      if (next == t->n) break;
      uint32_t at = free_slot(slot, len, pos[q]);
      if (at == len) break;
      put(slot, taken, at, t->id[next], PZ__HOW_PROMO, pl->promo[j].rule);
    }
  }
}

static double item_cosine(const pz__item *a, const pz__item *b) {
  if (!(a->norm > 0) || !(b->norm > 0)) return 0;
  return pz__sv_dot(a->f, a->nf, b->f, b->nf) / ((double)a->norm * b->norm);
}

/* Maximal marginal relevance over the best n of the organic pool: each
 * pick maximizes (1 - lambda) * relevance - lambda * (largest cosine to an
 * earlier pick), relevance being the score scaled to [0, 1] over those n.
 * n does not depend on the page asked for, so every page is cut from one
 * order. Writes the order into order[] and marks picks that passed over a
 * higher-scored item. */
static void diversify(const pz__catalog *c, const pz__topk *top, double lambda,
                      uint32_t n, uint32_t *order, bool *passed,
                      double *maxsim, bool *done) {
  float hi = n ? top->score[0] : 0, lo = n ? top->score[n - 1] : 0;
  double span = hi > lo ? (double)hi - lo : 1;
  for (uint32_t j = 0; j < n; j++) {
    maxsim[j] = 0;
    done[j] = false;
  }
  for (uint32_t r = 0; r < n; r++) {
    int64_t best = -1;
    double bv = -INFINITY;
    uint32_t first_open = n;
    for (uint32_t j = 0; j < n; j++) {
      if (done[j]) continue;
      if (first_open == n) first_open = j;
      double v = (1 - lambda) * ((double)top->score[j] - lo) / span -
                 lambda * maxsim[j];
      if (v > bv) { /* ties: the higher-scored, earlier entry */
        bv = v;
        best = j;
      }
    }
    if (best < 0) break;
    uint32_t b = (uint32_t)best;
    done[b] = true;
    order[r] = b;
    passed[r] = b != first_open && top->score[b] < top->score[first_open];
    const pz__item *ib = c->items[top->id[b]];
    for (uint32_t j = 0; j < n; j++)
      if (!done[j]) {
        double s = item_cosine(ib, c->items[top->id[j]]);
        if (s > maxsim[j]) maxsim[j] = s;
      }
  }
}

int pz__rank_place(const pz__alloc *a, const pz__catalog *c,
                   const pz__plan *pl, uint32_t len, const pz__topk *top,
                   const pz__topk *promo, double diversity, uint32_t div_pool,
                   pz__placed **out, uint32_t *n_out) {
  *out = NULL;
  *n_out = 0;
  size_t cap = 16;
  while (cap < 2 * ((size_t)len + pl->n_pins + 1)) cap *= 2;
  uint32_t pool = top->n;
  pz__placed *slot = pz__malloc(a, (size_t)len * sizeof *slot);
  iset taken = {pz__calloc(a, cap, sizeof *taken.k), (uint32_t)cap};
  uint32_t *pos = pz__malloc(a, (size_t)len * sizeof *pos);
  bool div = diversity > 0 && pool > 1;
  uint32_t *order = div ? pz__malloc(a, (size_t)pool * sizeof *order) : NULL;
  bool *passed = div ? pz__malloc(a, (size_t)pool * sizeof *passed) : NULL;
  double *maxsim = div ? pz__malloc(a, (size_t)pool * sizeof *maxsim) : NULL;
  bool *done = div ? pz__malloc(a, (size_t)pool * sizeof *done) : NULL;
  int rc = slot && taken.k && pos && (!div || (order && passed && maxsim && done))
               ? PZ_OK
               : PZ_ENOMEM;
  if (!rc) {
    for (uint32_t s = 0; s < len; s++)
      slot[s] = (pz__placed){PZ__NO_ITEM, PZ__HOW_ORGANIC, -1, false};
    place_pins(pl, c, slot, len, &taken);
    place_promotions(pl, slot, len, &taken, promo, pos);
    if (div) { /* the best div_pool re-ordered, the rest by score */
      uint32_t nd = PZ__MIN(div_pool, pool);
      diversify(c, top, diversity, nd, order, passed, maxsim, done);
      for (uint32_t r = nd; r < pool; r++) {
        order[r] = r;
        passed[r] = false;
      }
    }
    uint32_t at = 0;
    for (uint32_t r = 0; r < pool; r++) {
      uint32_t j = div ? order[r] : r;
      if (iset_has(&taken, top->id[j])) continue;
      if ((at = free_slot(slot, len, at)) == len) break;
      slot[at] = (pz__placed){top->id[j], PZ__HOW_ORGANIC, -1,
                              div && passed[r]};
    }
    uint32_t w = 0; /* too few items: the filled slots close up */
    for (uint32_t s = 0; s < len; s++)
      if (slot[s].item != PZ__NO_ITEM) slot[w++] = slot[s];
    *out = slot;
    *n_out = w;
    slot = NULL;
  }
  pz__free(a, slot, (size_t)len * sizeof *slot);
  pz__free(a, taken.k, cap * sizeof *taken.k);
  pz__free(a, pos, (size_t)len * sizeof *pos);
  pz__free(a, order, (size_t)pool * sizeof *order);
  pz__free(a, passed, (size_t)pool * sizeof *passed);
  pz__free(a, maxsim, (size_t)pool * sizeof *maxsim);
  pz__free(a, done, (size_t)pool * sizeof *done);
  return rc;
}
