/* The feature index: for each feature index, the live items that carry it
 * (as they were when it was built), so that a plan's actions on features
 * reach their items without testing every item's features. Built under
 * the write lock when requests ask for it; writes only mark the items
 * they change, which requests then treat one by one. */
#include "catalog.h"

#include <string.h>

static inline uint32_t finv_slot(uint32_t key, uint32_t cap) {
  return (key * 0x9E3779B1u) & (cap - 1);
}

void pz__finv_free(const pz__alloc *a, pz__finv *x) {
  if (!x) return;
  pz__free(a, x->key, (size_t)x->cap * sizeof *x->key);
  pz__free(a, x->group, (size_t)x->cap * sizeof *x->group);
  pz__free(a, x->start, ((size_t)x->n_groups + 1) * sizeof *x->start);
  pz__free(a, x->item, (x->n_item ? x->n_item : 1) * sizeof *x->item);
  pz__free(a, x->val, (x->n_item ? x->n_item : 1) * sizeof *x->val);
  pz__free(a, x->norm, (x->built_n ? x->built_n : 1) * sizeof *x->norm);
  pz__free(a, x->dirty, (pz__live_words(x->built_n) ? pz__live_words(x->built_n) : 1) *
                            sizeof *x->dirty);
  pz__free(a, x, sizeof *x);
}

/* Slot of key in the map (its own, or the empty one it would take). */
static uint32_t find_slot(const uint32_t *keys, uint32_t cap, uint32_t key) {
  uint32_t h = finv_slot(key, cap);
  while (keys[h] && keys[h] != key + 1) h = (h + 1) & (cap - 1);
  return h;
}

/* Double the map of keys and counts (counts in group[] while building). */
static int regrow(const pz__alloc *a, pz__finv *x) {
  uint32_t ncap = x->cap * 2;
  uint32_t *nk = pz__calloc(a, ncap, sizeof *nk);
  uint32_t *ng = nk ? pz__calloc(a, ncap, sizeof *ng) : NULL;
  if (!ng) {
    pz__free(a, nk, (size_t)ncap * sizeof *nk);
    return PZ_ENOMEM;
  }
  for (uint32_t h = 0; h < x->cap; h++)
    if (x->key[h]) {
      uint32_t s = find_slot(nk, ncap, x->key[h] - 1);
      nk[s] = x->key[h];
      ng[s] = x->group[h];
    }
  pz__free(a, x->key, (size_t)x->cap * sizeof *x->key);
  pz__free(a, x->group, (size_t)x->cap * sizeof *x->group);
  x->key = nk;
  x->group = ng;
  x->cap = ncap;
  return PZ_OK;
}

static pz__finv *finv_build(const pz__catalog *c) {
  const pz__alloc *a = c->a;
  pz__finv *x = pz__calloc(a, 1, sizeof *x);
  if (!x) return NULL;
  x->built_n = c->n;
  x->cap = 1024;
  size_t words = pz__live_words(c->n);
  x->dirty = pz__calloc(a, words ? words : 1, sizeof *x->dirty);
  x->key = pz__calloc(a, x->cap, sizeof *x->key);
  x->group = pz__calloc(a, x->cap, sizeof *x->group);
  int rc = x->dirty && x->key && x->group ? PZ_OK : PZ_ENOMEM;
  /* counts per key (in group[] for now) */
  for (uint32_t i = 0; !rc && i < c->n; i++) {
    const pz__item *it = c->items[i];
    if (!it->alive) continue;
    for (uint32_t j = 0; !rc && j < it->nf; j++) {
      uint32_t s = find_slot(x->key, x->cap, it->f[j].i);
      if (!x->key[s]) {
        x->key[s] = it->f[j].i + 1;
        x->n_groups++;
      }
      x->group[s]++;
      x->n_item++;
      if (2 * x->n_groups > x->cap) rc = regrow(a, x);
    }
  }
  if (!rc) {
    x->start = pz__malloc(a, ((size_t)x->n_groups + 1) * sizeof *x->start);
    x->item = pz__malloc(a, (x->n_item ? x->n_item : 1) * sizeof *x->item);
    x->val = pz__malloc(a, (x->n_item ? x->n_item : 1) * sizeof *x->val);
    x->norm = pz__malloc(a, (x->built_n ? x->built_n : 1) * sizeof *x->norm);
    if (!x->start || !x->item || !x->val || !x->norm) rc = PZ_ENOMEM;
  }
  if (rc) {
    pz__finv_free(a, x);
    return NULL;
  }
  /* groups in slot order; start[g] is first the count, then the cursor */
  uint32_t g = 0, at = 0;
  for (uint32_t h = 0; h < x->cap; h++)
    if (x->key[h]) {
      uint32_t n = x->group[h];
      x->start[g] = at;
      x->group[h] = g++;
      at += n;
    }
  x->start[g] = at;
  for (uint32_t i = 0; i < c->n; i++) { /* in index order: lists increase */
    const pz__item *it = c->items[i];
    x->norm[i] = it->alive ? it->norm : 0;
    if (!it->alive) continue;
    for (uint32_t j = 0; j < it->nf; j++) {
      uint32_t s = find_slot(x->key, x->cap, it->f[j].i);
      uint32_t to = x->start[x->group[s]]++;
      x->item[to] = i;
      x->val[to] = it->f[j].v;
    }
  }
  /* the cursors ended at the next group's start: shift them back */
  for (uint32_t k = g; k > 0; k--) x->start[k] = x->start[k - 1];
  x->start[0] = 0;
  return x;
}

bool pz__catalog_finv_due(const pz__catalog *c) {
  const pz__finv *x = c->finv;
  if (!x) return true;
  uint64_t changed = (uint64_t)x->dirty_n + (c->n - x->built_n);
  return changed > 64 + c->n / 16;
}

bool pz__catalog_finv_want(pz__catalog *c) {
  return atomic_fetch_add_explicit(&c->finv_wanted, 1, memory_order_relaxed) +
             1 ==
         PZ__FINV_BUILD_AFTER;
}

void pz__catalog_finv_maintain(pz__catalog *c) {
  pz__catalog_wrlock(c);
  if (pz__catalog_finv_due(c)) {
    pz__finv *x = finv_build(c);
    if (x) { /* PZ_ENOMEM keeps the old index, which stays valid */
      pz__finv_free(c->a, c->finv);
      c->finv = x;
    }
  }
  /* after a failed build too: the next requests that find it stale try
   * again */
  atomic_store_explicit(&c->finv_wanted, 0, memory_order_relaxed);
  pz__catalog_unlock(c);
}

void pz__catalog_finv_touch(pz__catalog *c, uint32_t idx) {
  pz__finv *x = c->finv;
  if (!x || idx >= x->built_n) return;
  uint64_t m = (uint64_t)1 << (idx & 63);
  if (x->dirty[idx >> 6] & m) return;
  x->dirty[idx >> 6] |= m;
  x->dirty_n++;
}

const uint32_t *pz__finv_items(const pz__finv *x, uint32_t key, uint32_t *n) {
  uint32_t s = find_slot(x->key, x->cap, key);
  if (!x->key[s]) {
    *n = 0;
    return NULL;
  }
  uint32_t g = x->group[s];
  *n = x->start[g + 1] - x->start[g];
  return x->item + x->start[g];
}

const float *pz__finv_values(const pz__finv *x, const uint32_t *items) {
  return x->val + (items - x->item);
}
