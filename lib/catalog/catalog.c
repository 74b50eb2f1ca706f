/* Items, feature names and popularity. */
#include "catalog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *item_key(const void *ctx, uint32_t idx, size_t *len) {
  const pz__catalog *c = ctx;
  *len = c->items[idx]->idlen;
  return c->items[idx]->id;
}

int pz__catalog_init(pz__catalog *c, const pz__alloc *a, pz__hashid hid,
                     int64_t half_life_ms, int64_t now) {
  memset(c, 0, sizeof *c);
  c->a = a;
  c->hid = hid;
  c->half_life_ms = half_life_ms;
  c->pop_landmark = now;
  pz__idmap_init(&c->map);
  if (pz__rwlock_init(&c->lock) != PZ_OK)
    return pz__fail(PZ_ERROR, "cannot create the catalogue lock");
  return PZ_OK;
}

static void item_free(const pz__alloc *a, pz__item *it) {
  if (!it) return;
  pz__free(a, it->f, (size_t)it->nf * sizeof *it->f);
  pz__free(a, it, sizeof *it + it->idlen + 1);
}

void pz__catalog_free(pz__catalog *c) {
  for (uint32_t i = 0; i < c->n; i++) item_free(c->a, c->items[i]);
  pz__free(c->a, c->items, (size_t)c->cap * sizeof *c->items);
  pz__free(c->a, (void *)c->pop, (size_t)c->cap * sizeof *c->pop);
  pz__free(c->a, (void *)c->count, (size_t)c->cap * sizeof *c->count);
  pz__free(c->a, c->live_bits, pz__live_words(c->cap) * sizeof *c->live_bits);
  pz__free(c->a, (void *)c->pop_dirty,
           pz__live_words(c->cap) * sizeof *c->pop_dirty);
  pz__free(c->a, c->pop_order, (size_t)c->cap * sizeof *c->pop_order);
  for (uint32_t i = 0; i < c->names_cap; i++)
    if (c->names[i].text)
      pz__free(c->a, c->names[i].text, (size_t)c->names[i].len + 1);
  pz__free(c->a, c->names, (size_t)c->names_cap * sizeof *c->names);
  pz__finv_free(c->a, c->finv);
  pz__idmap_free(c->a, &c->map);
  pthread_rwlock_destroy(&c->lock);
}

void pz__catalog_rdlock(pz__catalog *c) { pthread_rwlock_rdlock(&c->lock); }
void pz__catalog_wrlock(pz__catalog *c) { pthread_rwlock_wrlock(&c->lock); }
void pz__catalog_unlock(pz__catalog *c) { pthread_rwlock_unlock(&c->lock); }

uint32_t pz__catalog_find(const pz__catalog *c, const char *id, size_t len) {
  return pz__idmap_find(&c->map, pz__hash_bytes(id, len, 0), id, len,
                        item_key, c);
}

void pz__catalog_prefetch(const pz__catalog *c, uint64_t hash, int stage) {
  if (stage == 0) {
    pz__idmap_prefetch(&c->map, hash);
    return;
  }
  uint32_t idx = pz__idmap_peek(&c->map, hash);
  if (idx >= c->n) return;
  const pz__item *it = c->items[idx];
  if (stage == 1) {
    PZ__PREFETCH(it);
    PZ__PREFETCH(&c->pop[idx]);
    PZ__PREFETCH(&c->count[idx]);
  } else if (it && it->f) {
    PZ__PREFETCH(it->f);
  }
}

int pz__catalog_hash_features(const pz__catalog *c,
                              const char *const *features,
                              const double *weights, size_t n,
                              pz__ent **ents_out, uint32_t *n_out) {
  *ents_out = NULL;
  *n_out = 0;
  if (n == 0) return PZ_OK;
  if (!features) return pz__fail(PZ_EINVAL, "features is NULL");
  if (n > PZ__ITEM_MAX_FEATURES)
    return pz__fail(PZ_ELIMIT, "%zu features; at most %d per item", n,
                    PZ__ITEM_MAX_FEATURES);
  pz__ent *e = pz__malloc(c->a, n * sizeof *e);
  if (!e) return PZ_ENOMEM;
  for (size_t j = 0; j < n; j++) {
    size_t len;
    char what[48];
    snprintf(what, sizeof what, "feature %zu", j);
    int rc = pz__check_str(features[j], PZ_FEATURE_MAX, what, &len);
    double w = weights ? weights[j] : 1.0;
    if (!rc) rc = pz__check_finite(w, "feature weight");
    if (!rc && fabs(w) > 1e6)
      rc = pz__fail(PZ_ERANGE, "feature weight %g is beyond +/-1e6", w);
    if (rc) {
      pz__free(c->a, e, n * sizeof *e);
      return rc;
    }
    int sign;
    pz__feature_hash(&c->hid, features[j], len, &e[j].i, &sign);
    e[j].v = (float)(sign * w);
  }
  *ents_out = e;
  *n_out = (uint32_t)n;
  return PZ_OK;
}

/* ---- feature-name dictionary ------------------------------------------ */

static uint32_t name_slot(uint32_t index, uint32_t cap) {
  return (index * 2654435761u) & (cap - 1);
}

const pz__fname *pz__catalog_fname(const pz__catalog *c, uint32_t index) {
  if (!c->names_cap) return NULL;
  for (uint32_t h = name_slot(index, c->names_cap);;
       h = (h + 1) & (c->names_cap - 1)) {
    if (!c->names[h].text) return NULL;
    if (c->names[h].index == index) return &c->names[h];
  }
}

static int names_reserve(pz__catalog *c, size_t more) {
  uint64_t need = (uint64_t)c->names_used + more;
  if (need * 4 <= (uint64_t)c->names_cap * 3) return PZ_OK;
  uint64_t ncap = c->names_cap ? c->names_cap : 64;
  while (need * 2 > ncap) ncap *= 2;
  if (ncap > (1u << 30)) return pz__fail(PZ_ELIMIT, "too many features");
  pz__fname *nn = pz__calloc(c->a, (size_t)ncap, sizeof *nn);
  if (!nn) return PZ_ENOMEM;
  for (uint32_t i = 0; i < c->names_cap; i++) {
    if (!c->names[i].text) continue;
    uint32_t h = name_slot(c->names[i].index, (uint32_t)ncap);
    while (nn[h].text) h = (h + 1) & (uint32_t)(ncap - 1);
    nn[h] = c->names[i];
  }
  pz__free(c->a, c->names, (size_t)c->names_cap * sizeof *c->names);
  c->names = nn;
  c->names_cap = (uint32_t)ncap;
  return PZ_OK;
}

/* Write lock held and room reserved. The first text seen at an index
 * names it; a later colliding feature shares the index (and its name). */
static int names_add(pz__catalog *c, const char *text, size_t len,
                     uint32_t index, int sign) {
  if (pz__catalog_fname(c, index)) return PZ_OK;
  char *t = pz__strndup(c->a, text, len);
  if (!t) return PZ_ENOMEM;
  uint32_t h = name_slot(index, c->names_cap);
  while (c->names[h].text) h = (h + 1) & (c->names_cap - 1);
  c->names[h] = (pz__fname){index, (int8_t)sign, (uint16_t)len, t};
  c->names_used++;
  return PZ_OK;
}

/* Write lock held: may n hashed features (pz__catalog_hash_features'
 * entries) add their names (those not named yet) under
 * limits.feature_names? */
static int names_room(const pz__catalog *c, const pz__ent *hashed,
                      uint32_t n) {
  if (!c->max_names || pz__unbounded) return PZ_OK;
  uint32_t fresh = 0;
  for (uint32_t j = 0; j < n; j++) fresh += !pz__catalog_fname(c, hashed[j].i);
  if (!pz__over_limit(c->names_used, fresh, c->max_names)) return PZ_OK;
  return pz__fail(PZ_ELIMIT,
                  "%u feature names, and %u new ones would pass "
                  "limits.feature_names (%u)",
                  c->names_used, fresh, c->max_names);
}

/* ---- items -------------------------------------------------------------- */

/* Write lock held: room for one more live item under limits.items? */
static int item_room(const pz__catalog *c, const char *id, size_t len) {
  if (!pz__over_limit(c->live, 1, c->max_live)) return PZ_OK;
  return pz__fail(PZ_ELIMIT,
                  "%u items, the most limits.items allows: no item \"%.*s\"",
                  c->live, (int)len, id);
}

/* Write lock held: item i's bit in the live bitmap, which the serving
 * path walks instead of the scattered item records. */
static void live_bit(pz__catalog *c, uint32_t i, bool on) {
  uint64_t m = (uint64_t)1 << (i & 63);
  if (on) c->live_bits[i >> 6] |= m;
  else c->live_bits[i >> 6] &= ~m;
}

/* The per-item arrays share one capacity; they are replaced only when
 * all the new blocks exist, so a failure changes nothing. */
static int reserve_item_slot(pz__catalog *c) {
  if (c->n == UINT32_MAX - 1) return pz__fail(PZ_ELIMIT, "catalogue full");
  if (c->n < c->cap) return pz__idmap_reserve(c->a, &c->map, item_key, c);
  uint64_t ncap = c->cap ? (uint64_t)c->cap * 2 : 64;
  if (ncap > UINT32_MAX - 1) ncap = UINT32_MAX - 1;
  pz__item **ni = pz__malloc(c->a, (size_t)ncap * sizeof *ni);
  _Atomic uint64_t *np = ni ? pz__malloc(c->a, (size_t)ncap * sizeof *np) : NULL;
  _Atomic uint64_t *nc = np ? pz__malloc(c->a, (size_t)ncap * sizeof *nc) : NULL;
  size_t nw = pz__live_words((uint32_t)ncap), ow = pz__live_words(c->cap);
  uint64_t *nb = nc ? pz__calloc(c->a, nw, sizeof *nb) : NULL;
  _Atomic uint64_t *nd = nb ? pz__malloc(c->a, nw * sizeof *nd) : NULL;
  uint32_t *no = nd ? pz__malloc(c->a, (size_t)ncap * sizeof *no) : NULL;
  if (!no) {
    pz__free(c->a, ni, (size_t)ncap * sizeof *ni);
    pz__free(c->a, (void *)np, (size_t)ncap * sizeof *np);
    pz__free(c->a, (void *)nc, (size_t)ncap * sizeof *nc);
    pz__free(c->a, nb, nw * sizeof *nb);
    pz__free(c->a, (void *)nd, nw * sizeof *nd);
    return PZ_ENOMEM;
  }
  if (c->cap) memcpy(nb, c->live_bits, ow * sizeof *nb);
  for (size_t w = 0; w < nw; w++)
    atomic_init(&nd[w], w < ow ? atomic_load(&c->pop_dirty[w]) : 0);
  if (c->pop_order_n)
    memcpy(no, c->pop_order, (size_t)c->pop_order_n * sizeof *no);
  pz__free(c->a, (void *)c->pop_dirty, ow * sizeof *c->pop_dirty);
  pz__free(c->a, c->pop_order, (size_t)c->cap * sizeof *c->pop_order);
  c->pop_dirty = nd;
  c->pop_order = no;
  for (uint32_t i = 0; i < c->n; i++) {
    ni[i] = c->items[i];
    atomic_init(&np[i], atomic_load(&c->pop[i]));
    atomic_init(&nc[i], atomic_load(&c->count[i]));
  }
  pz__free(c->a, c->items, (size_t)c->cap * sizeof *c->items);
  pz__free(c->a, (void *)c->pop, (size_t)c->cap * sizeof *c->pop);
  pz__free(c->a, (void *)c->count, (size_t)c->cap * sizeof *c->count);
  pz__free(c->a, c->live_bits, pz__live_words(c->cap) * sizeof *c->live_bits);
  c->live_bits = nb;
  c->items = ni;
  c->pop = np;
  c->count = nc;
  c->cap = (uint32_t)ncap;
  return pz__idmap_reserve(c->a, &c->map, item_key, c);
}

static pz__item *item_new(const pz__alloc *a, const char *id, size_t len,
                          pz__ent *f, uint32_t nf) {
  pz__item *it = pz__malloc(a, sizeof *it + len + 1);
  if (!it) return NULL;
  it->f = f;
  it->nf = nf;
  it->norm = (float)pz__sv_norm(f, nf);
  it->alive = 1;
  it->idlen = (uint8_t)len;
  memcpy(it->id, id, len);
  it->id[len] = '\0';
  return it;
}

/* Write lock held, slot reserved. */
static uint32_t item_append(pz__catalog *c, pz__item *it) {
  uint32_t idx = c->n++;
  c->items[idx] = it;
  atomic_init(&c->pop[idx], 0);
  atomic_init(&c->count[idx], 0);
  pz__idmap_insert(&c->map, pz__hash_bytes(it->id, it->idlen, 0), idx);
  c->live++;
  live_bit(c, idx, true);
  return idx;
}

int pz__catalog_put(pz__catalog *c, const char *id, size_t len,
                    const char *const *features, const double *weights,
                    size_t n) {
  pz__ent *raw;
  uint32_t nraw;
  int rc = pz__catalog_hash_features(c, features, weights, n, &raw, &nraw);
  if (rc) return rc;
  /* the normalized vector is copied to an exact-size block */
  pz__ent *f = NULL;
  uint32_t nf = 0;
  if (nraw) {
    pz__ent *tmp = pz__malloc(c->a, (size_t)nraw * sizeof *tmp);
    if (!tmp) {
      pz__free(c->a, raw, (size_t)nraw * sizeof *raw);
      return PZ_ENOMEM;
    }
    memcpy(tmp, raw, (size_t)nraw * sizeof *tmp);
    nf = pz__ent_normalize(tmp, nraw);
    if (nf) {
      f = pz__malloc(c->a, (size_t)nf * sizeof *f);
      if (f) memcpy(f, tmp, (size_t)nf * sizeof *f);
    }
    pz__free(c->a, tmp, (size_t)nraw * sizeof *tmp);
    if (nf && !f) {
      pz__free(c->a, raw, (size_t)nraw * sizeof *raw);
      return PZ_ENOMEM;
    }
  }

  pz__catalog_wrlock(c);
  /* the limits first: a refused put adds no name either */
  uint32_t had = pz__catalog_find(c, id, len);
  if (had == PZ__NO_ITEM || !c->items[had]->alive) rc = item_room(c, id, len);
  if (!rc) rc = names_room(c, raw, nraw);
  if (!rc) rc = names_reserve(c, nraw);
  for (uint32_t j = 0; rc == PZ_OK && j < nraw; j++) {
    size_t flen = strlen(features[j]);
    uint32_t ix;
    int sign;
    pz__feature_hash(&c->hid, features[j], flen, &ix, &sign);
    rc = names_add(c, features[j], flen, ix, sign);
  }
  uint32_t idx = rc ? PZ__NO_ITEM : pz__catalog_find(c, id, len);
  if (rc == PZ_OK && idx == PZ__NO_ITEM) {
    rc = reserve_item_slot(c);
    pz__item *it = rc ? NULL : item_new(c->a, id, len, f, nf);
    if (!rc && !it) rc = PZ_ENOMEM;
    if (!rc) item_append(c, it);
  } else if (rc == PZ_OK) {
    pz__item *it = item_new(c->a, id, len, f, nf);
    if (!it) {
      rc = PZ_ENOMEM;
    } else {
      if (!c->items[idx]->alive) c->live++;
      pz__catalog_finv_touch(c, idx);
      item_free(c->a, c->items[idx]);
      c->items[idx] = it;
      live_bit(c, idx, true);
    }
  }
  pz__catalog_unlock(c);
  pz__free(c->a, raw, (size_t)nraw * sizeof *raw);
  if (rc) pz__free(c->a, f, (size_t)nf * sizeof *f);
  return rc;
}

int pz__catalog_remove(pz__catalog *c, const char *id, size_t len) {
  pz__catalog_wrlock(c);
  uint32_t idx = pz__catalog_find(c, id, len);
  int rc = PZ_OK;
  if (idx == PZ__NO_ITEM || !c->items[idx]->alive) {
    rc = pz__fail(PZ_ENOTFOUND, "no item \"%s\"", id);
  } else {
    pz__item *it = c->items[idx];
    pz__free(c->a, it->f, (size_t)it->nf * sizeof *it->f);
    it->f = NULL;
    it->nf = 0;
    it->norm = 0;
    it->alive = 0;
    c->live--;
    live_bit(c, idx, false);
    pz__catalog_finv_touch(c, idx);
  }
  pz__catalog_unlock(c);
  return rc;
}

int pz__catalog_ensure(pz__catalog *c, const char *id, size_t len,
                       bool create, uint32_t *idx_out, bool *created) {
  *created = false;
  pz__catalog_rdlock(c);
  uint32_t idx = pz__catalog_find(c, id, len);
  pz__catalog_unlock(c);
  if (idx != PZ__NO_ITEM) {
    *idx_out = idx;
    return PZ_OK;
  }
  if (!create) return pz__fail(PZ_ENOTFOUND, "no item \"%s\"", id);
  int rc = PZ_OK;
  pz__catalog_wrlock(c);
  idx = pz__catalog_find(c, id, len); /* another writer may have made it */
  if (idx == PZ__NO_ITEM) {
    rc = item_room(c, id, len);
    if (!rc) rc = reserve_item_slot(c);
    pz__item *it = rc ? NULL : item_new(c->a, id, len, NULL, 0);
    if (!rc && !it) rc = PZ_ENOMEM;
    if (!rc) {
      idx = item_append(c, it);
      *created = true;
    }
  }
  pz__catalog_unlock(c);
  *idx_out = idx;
  return rc;
}

void pz__catalog_unmake(pz__catalog *c, uint32_t idx) {
  pz__catalog_wrlock(c);
  /* another thread may have recorded an event on it, or put it, since */
  pz__item *it = c->items[idx];
  if (it->alive && it->nf == 0 && atomic_load(&c->count[idx]) == 0) {
    it->alive = 0;
    c->live--;
    live_bit(c, idx, false);
    pz__catalog_finv_touch(c, idx);
  }
  pz__catalog_unlock(c);
}

/* ---- popularity ------------------------------------------------------- */

static double bits_to_d(uint64_t b) {
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}
static uint64_t d_to_bits(double d) {
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return b;
}

bool pz__catalog_pop_ready(const pz__catalog *c, int64_t ts) {
  return c->half_life_ms <= 0 ||
         (double)(ts - c->pop_landmark) / (double)c->half_life_ms <=
             PZ__DECAY_MAX_EXP;
}

int pz__catalog_pop_prepare(pz__catalog *c, int64_t ts) {
  if (c->half_life_ms <= 0) return PZ_OK;
  pz__catalog_rdlock(c);
  double x = (double)(ts - c->pop_landmark) / (double)c->half_life_ms;
  pz__catalog_unlock(c);
  if (x <= PZ__DECAY_MAX_EXP) return PZ_OK;
  pz__catalog_wrlock(c);
  x = (double)(ts - c->pop_landmark) / (double)c->half_life_ms;
  if (x > PZ__DECAY_MAX_EXP) {
    double f = exp2(-x);
    for (uint32_t i = 0; i < c->n; i++)
      atomic_store(&c->pop[i], d_to_bits(bits_to_d(atomic_load(&c->pop[i])) * f));
    c->pop_landmark = ts;
  }
  pz__catalog_unlock(c);
  return PZ_OK;
}

void pz__catalog_pop_add(pz__catalog *c, uint32_t idx, int64_t ts,
                         double amount, int64_t count_delta) {
  double add = amount * pz__decay_gain(ts, c->pop_landmark, c->half_life_ms);
  if (add != 0 && isfinite(add)) {
    uint64_t old = atomic_load_explicit(&c->pop[idx], memory_order_relaxed);
    uint64_t nw;
    do {
      double v = bits_to_d(old) + add;
      if (v < 0) v = 0; /* erasure may subtract rounding residue */
      nw = d_to_bits(v);
    } while (!atomic_compare_exchange_weak_explicit(
        &c->pop[idx], &old, nw, memory_order_relaxed, memory_order_relaxed));
  }
  if (add != 0 && idx < c->pop_order_n) { /* out of its place in the order */
    _Atomic uint64_t *w = &c->pop_dirty[idx >> 6];
    uint64_t bit = (uint64_t)1 << (idx & 63);
    if (!(atomic_load_explicit(w, memory_order_relaxed) & bit) &&
        !(atomic_fetch_or_explicit(w, bit, memory_order_relaxed) & bit))
      atomic_fetch_add_explicit(&c->pop_dirty_n, 1, memory_order_relaxed);
  }
  if (count_delta > 0)
    atomic_fetch_add_explicit(&c->count[idx], (uint64_t)count_delta,
                              memory_order_relaxed);
  else if (count_delta < 0) { /* never below 0, whatever a snapshot said */
    uint64_t old = atomic_load_explicit(&c->count[idx], memory_order_relaxed);
    uint64_t dec = (uint64_t)-count_delta, nw;
    do
      nw = old > dec ? old - dec : 0;
    while (!atomic_compare_exchange_weak_explicit(
        &c->count[idx], &old, nw, memory_order_relaxed, memory_order_relaxed));
  }
}

typedef struct pop_key {
  double pop;
  uint32_t idx;
} pop_key;

static int cmp_pop(const void *x, const void *y) {
  const pop_key *a = x, *b = y;
  if (a->pop != b->pop) return a->pop > b->pop ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

int pz__catalog_pop_reorder(pz__catalog *c) {
  size_t bytes = (size_t)(c->n ? c->n : 1) * sizeof(pop_key);
  pop_key *k = pz__malloc(c->a, bytes);
  if (!k) return PZ_ENOMEM;
  for (uint32_t i = 0; i < c->n; i++) k[i] = (pop_key){pz__catalog_pop_raw(c, i), i};
  qsort(k, c->n, sizeof *k, cmp_pop);
  for (uint32_t i = 0; i < c->n; i++) c->pop_order[i] = k[i].idx;
  pz__free(c->a, k, bytes);
  c->pop_order_n = c->n;
  atomic_store_explicit(&c->pop_wanted, 0, memory_order_relaxed);
  for (size_t w = 0; w < pz__live_words(c->n); w++)
    atomic_store_explicit(&c->pop_dirty[w], 0, memory_order_relaxed);
  atomic_store_explicit(&c->pop_dirty_n, 0, memory_order_relaxed);
  return PZ_OK;
}

bool pz__catalog_pop_want(pz__catalog *c) {
  return atomic_fetch_add_explicit(&c->pop_wanted, 1, memory_order_relaxed) + 1 ==
         PZ__POP_REORDER_AFTER;
}

bool pz__catalog_pop_reorder_due(const pz__catalog *c) {
  uint64_t changed =
      (uint64_t)atomic_load_explicit((_Atomic uint32_t *)&c->pop_dirty_n,
                                     memory_order_relaxed) +
      (c->n - c->pop_order_n);
  return changed > 64 + c->n / 16;
}

void pz__catalog_pop_maintain(pz__catalog *c) {
  pz__catalog_wrlock(c);
  if (pz__catalog_pop_reorder_due(c)) pz__catalog_pop_reorder(c);
  /* after a failed reorder too: the next sixteen stale requests try again */
  atomic_store_explicit(&c->pop_wanted, 0, memory_order_relaxed);
  pz__catalog_unlock(c);
}

double pz__catalog_pop_raw(const pz__catalog *c, uint32_t idx) {
  return bits_to_d(
      atomic_load_explicit((_Atomic uint64_t *)&c->pop[idx], memory_order_relaxed));
}

double pz__catalog_pop_at(const pz__catalog *c, uint32_t idx, int64_t now) {
  return pz__catalog_pop_raw(c, idx) *
         pz__decay_factor(now, c->pop_landmark, c->half_life_ms);
}

uint64_t pz__catalog_pop_count(const pz__catalog *c, uint32_t idx) {
  return atomic_load_explicit((_Atomic uint64_t *)&c->count[idx],
                              memory_order_relaxed);
}

/* ---- snapshot section ------------------------------------------------------ */

static int cmp_fname(const void *x, const void *y) {
  const pz__fname *a = x, *b = y;
  return a->index < b->index ? -1 : a->index > b->index;
}

int pz__catalog_save(const pz__catalog *c, pz__buf *b) {
  pz__buf_u32(b, c->n);
  pz__buf_i64(b, c->pop_landmark);
  for (uint32_t i = 0; i < c->n; i++) {
    const pz__item *it = c->items[i];
    pz__buf_u8(b, it->alive);
    pz__buf_str(b, it->id, it->idlen);
    pz__buf_u32(b, it->nf);
    pz__buf_array(b, it->f, it->nf, sizeof *it->f);
  }
  for (uint32_t i = 0; i < c->n; i++) {
    pz__buf_u64(b, atomic_load(&c->pop[i]));
    pz__buf_u64(b, atomic_load(&c->count[i]));
  }
  /* the dictionary in index order, whatever the table's layout */
  pz__fname *sorted = NULL;
  if (c->names_used &&
      !(sorted = pz__malloc(c->a, (size_t)c->names_used * sizeof *sorted)))
    return PZ_ENOMEM;
  uint32_t k = 0;
  for (uint32_t i = 0; i < c->names_cap; i++)
    if (c->names[i].text) sorted[k++] = c->names[i];
  if (k > 1) qsort(sorted, k, sizeof *sorted, cmp_fname);
  pz__buf_u32(b, k);
  for (uint32_t i = 0; i < k; i++) {
    pz__buf_u32(b, sorted[i].index);
    pz__buf_u8(b, (uint8_t)sorted[i].sign);
    pz__buf_str(b, sorted[i].text, sorted[i].len);
  }
  pz__free(c->a, sorted, (size_t)c->names_used * sizeof *sorted);
  return b->err;
}

/* A feature vector as stored: indices strictly increasing below the
 * hashing space, weights finite. */
bool pz__ents_valid(pz__rd *r, const pz__ent *f, uint32_t n, unsigned bits,
                    double max, const char *what) {
  for (uint32_t j = 0; j < n; j++) {
    if (f[j].i >> bits || (j && f[j].i <= f[j - 1].i) || !isfinite(f[j].v) ||
        fabs(f[j].v) > max) {
      pz__rd_bad(r, "%s: entry %u is out of order, out of range or not "
                    "finite",
                 what, j);
      return false;
    }
  }
  return true;
}

int pz__catalog_restore(pz__catalog *c, pz__rd *r) {
  uint32_t n = pz__rd_u32(r);
  c->pop_landmark = pz__rd_i64(r);
  if (!pz__rd_count(r, n, 9, UINT32_MAX - 2)) return r->err;
  if (!PZ__FILE_TIME_OK(c->pop_landmark))
    return pz__rd_bad(r, "popularity landmark out of range");
  for (uint32_t i = 0; i < n; i++) {
    uint8_t alive = pz__rd_u8(r);
    size_t len;
    const char *id = pz__rd_str(r, PZ_ID_MAX, &len, false, "item id");
    uint32_t nf = pz__rd_u32(r);
    if (!id || !pz__rd_count(r, nf, sizeof(pz__ent), PZ__ITEM_MAX_FEATURES))
      return r->err;
    const void *raw = pz__rd_array(r, nf, sizeof(pz__ent));
    if (!raw) return r->err;
    if (alive > 1 || (!alive && nf))
      return pz__rd_bad(r, "item %u has a bad state", i);
    if (pz__catalog_find(c, id, len) != PZ__NO_ITEM)
      return pz__rd_bad(r, "item \"%.*s\" appears twice", (int)len, id);
    pz__ent *f = NULL;
    if (nf) {
      if (!(f = pz__malloc(c->a, (size_t)nf * sizeof *f))) return PZ_ENOMEM;
      memcpy(f, raw, (size_t)nf * sizeof *f);
      /* the weights pz_item_put accepts (1e6), a feature hashed twice in
       * one item at most 4096 times that */
      if (!pz__ents_valid(r, f, nf, c->hid.bits, 4096e6, "item features")) {
        pz__free(c->a, f, (size_t)nf * sizeof *f);
        return r->err;
      }
    }
    int rc = reserve_item_slot(c);
    pz__item *it = rc ? NULL : item_new(c->a, id, len, f, nf);
    if (!it) {
      pz__free(c->a, f, (size_t)nf * sizeof *f);
      return rc ? rc : PZ_ENOMEM;
    }
    uint32_t idx = item_append(c, it);
    if (!alive) {
      it->alive = 0;
      c->live--;
      live_bit(c, idx, false);
    }
  }
  for (uint32_t i = 0; i < n; i++) {
    uint64_t pop = pz__rd_u64(r), count = pz__rd_u64(r);
    double v = bits_to_d(pop);
    if (r->err) return r->err;
    if (!isfinite(v) || v < 0)
      return pz__rd_bad(r, "popularity of item %u is not a finite, "
                           "non-negative number",
                        i);
    atomic_store(&c->pop[i], pop);
    atomic_store(&c->count[i], count);
  }
  uint32_t nn = pz__rd_u32(r);
  if (!pz__rd_count(r, nn, 9, 1u << 29)) return r->err;
  int rc = names_reserve(c, nn);
  if (rc) return rc;
  for (uint32_t i = 0; i < nn; i++) {
    uint32_t index = pz__rd_u32(r);
    uint8_t sign = pz__rd_u8(r);
    size_t len;
    const char *t = pz__rd_str(r, PZ_FEATURE_MAX, &len, false, "feature name");
    if (!t) return r->err;
    uint32_t hix;
    int hsign;
    pz__feature_hash(&c->hid, t, len, &hix, &hsign);
    if (hix != index || (uint8_t)(int8_t)hsign != sign ||
        pz__catalog_fname(c, index))
      return pz__rd_bad(r, "feature name %u does not hash to its index or "
                           "repeats one",
                        i);
    if ((rc = names_add(c, t, len, index, (int8_t)sign))) return rc;
  }
  if (!r->err && c->n && (rc = pz__catalog_pop_reorder(c))) return rc;
  return r->err;
}
