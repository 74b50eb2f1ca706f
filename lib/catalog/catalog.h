/*
 * lib/catalog/catalog.h - internal: items, their hashed feature vectors,
 * the feature-name dictionary (index -> text, for reasons and exports) and
 * time-decayed popularity.
 *
 * Locking: a read-write lock guards the item table and the dictionary.
 * Popularity cells are atomics updated under the read lock, so tracking
 * events does not serialize on the catalogue; moving the popularity
 * landmark takes the write lock.
 */
#ifndef PZ_CATALOG_H
#define PZ_CATALOG_H

#include "../svec/svec.h"

#include <pthread.h>
#include <stdatomic.h>

#define PZ__ITEM_MAX_FEATURES 4096
#define PZ__NO_ITEM UINT32_MAX

typedef struct pz__item {
  pz__ent *f; /* sorted features */
  uint32_t nf;
  float norm; /* Euclidean norm of f */
  uint8_t alive;
  uint8_t idlen;
  char id[]; /* NUL-terminated */
} pz__item;

/* One feature name, kept for the first feature string seen at an index. */
typedef struct pz__fname {
  uint32_t index;
  int8_t sign;
  uint16_t len;
  char *text;
} pz__fname;

/* The feature index (lib/catalog/finv.c): the live items of each feature
 * index as they were at the build, in increasing order. Items changed
 * since (put again, removed) are marked dirty; items from built_n on came
 * after it. Either kind must be tested on its own features. */
typedef struct pz__finv {
  uint32_t *key;   /* open addressing: feature index + 1, 0 empty */
  uint32_t *group; /* the key's group */
  uint32_t cap;    /* slots, a power of two */
  uint32_t *start; /* group g's items: item[start[g], start[g + 1]) */
  uint32_t n_groups;
  uint32_t *item;
  float *val;      /* the item's value of the feature, beside item[] */
  size_t n_item;
  float *norm;     /* per item below built_n: its norm (pz__item.norm) */
  uint32_t built_n;
  uint64_t *dirty; /* words of built_n */
  uint32_t dirty_n;
} pz__finv;

typedef struct pz__catalog {
  pthread_rwlock_t lock;
  const pz__alloc *a;
  pz__hashid hid;
  int64_t half_life_ms;

  pz__item **items;
  uint32_t n, cap, live;
  pz__idmap map;

  _Atomic uint64_t *pop;   /* decayed popularity, double bits, per item */
  _Atomic uint64_t *count; /* plain event counts, per item */
  uint64_t *live_bits;     /* bit i: items[i]->alive (words of cap) */
  /* Popularity order: items [0, pop_order_n) by decreasing popularity at
   * the last reorder (ties by index), and the items whose popularity
   * changed since (bits, words of cap; pop_dirty_n of them). A move of
   * the landmark scales every stored value alike, which keeps the order. */
  uint32_t *pop_order;
  uint32_t pop_order_n;
  _Atomic uint64_t *pop_dirty;
  _Atomic uint32_t pop_dirty_n;
  _Atomic uint32_t pop_wanted; /* requests that found the order stale */
  int64_t pop_landmark;

  pz__finv *finv;              /* NULL until requests want one */
  _Atomic uint32_t finv_wanted; /* requests that found it stale */

  pz__fname *names; /* open addressing by index; text NULL = empty */
  uint32_t names_cap, names_used;
  uint32_t max_live, max_names; /* limits.items, .feature_names (0: none) */
} pz__catalog;

static inline size_t pz__live_words(uint32_t cap) { return ((size_t)cap + 63) / 64; }
static inline bool pz__catalog_live(const pz__catalog *c, uint32_t i) {
  return pz__bit(c->live_bits, i);
}

int pz__catalog_init(pz__catalog *c, const pz__alloc *a, pz__hashid hid,
                     int64_t half_life_ms, int64_t now);
void pz__catalog_free(pz__catalog *c);

void pz__catalog_rdlock(pz__catalog *c);
void pz__catalog_wrlock(pz__catalog *c);
void pz__catalog_unlock(pz__catalog *c);

/* Hash n feature strings into entries (caller frees *ents, n entries).
 * Validates text and weights. */
int pz__catalog_hash_features(const pz__catalog *c,
                              const char *const *features,
                              const double *weights, size_t n,
                              pz__ent **ents_out, uint32_t *n_out);

/* Create or replace (takes the write lock). */
int pz__catalog_put(pz__catalog *c, const char *id, size_t len,
                    const char *const *features, const double *weights,
                    size_t n);
int pz__catalog_remove(pz__catalog *c, const char *id, size_t len);

/* Lock held. Index of an item (alive or not), or PZ__NO_ITEM. */
uint32_t pz__catalog_find(const pz__catalog *c, const char *id, size_t len);
/* Prefetch what an event on the item with this id hash touches: stage 0
 * its id slot, 1 the item and its popularity counters, 2 its features.
 * Only while no other thread changes the catalogue; changes nothing. */
void pz__catalog_prefetch(const pz__catalog *c, uint64_t hash, int stage);
/* Lock held. Index of a live item, or PZ__NO_ITEM. */
static inline uint32_t pz__catalog_find_live(const pz__catalog *c,
                                             const char *id, size_t len) {
  uint32_t i = pz__catalog_find(c, id, len);
  return i != PZ__NO_ITEM && c->items[i]->alive ? i : PZ__NO_ITEM;
}
/* Find, or with create make a featureless item (takes the write lock
 * itself: call without holding the lock). */
int pz__catalog_ensure(pz__catalog *c, const char *id, size_t len,
                       bool create, uint32_t *idx_out, bool *created);
/* Undo pz__catalog_ensure's creation after a later failure (write lock
 * taken here): the item is marked removed. */
void pz__catalog_unmake(pz__catalog *c, uint32_t idx);

/* Make sure an event at ts can be added without float overflow (may take
 * the write lock to move the landmark: call without holding the lock). */
int pz__catalog_pop_prepare(pz__catalog *c, int64_t ts);
/* Lock held: can an event at ts be added without moving the landmark? */
bool pz__catalog_pop_ready(const pz__catalog *c, int64_t ts);
/* Write lock held: sort the popularity order again and clear the changed
 * items (PZ_ENOMEM leaves the old order, which stays valid). */
int pz__catalog_pop_reorder(pz__catalog *c);
/* Lock held: have so many items changed (or been added) since the last
 * reorder that the order no longer pays? */
bool pz__catalog_pop_reorder_due(const pz__catalog *c);
/* Lock held: a request would have walked the order but found it stale.
 * True for the one that makes it PZ__POP_REORDER_AFTER of them since the
 * last reorder: it should call pz__catalog_pop_maintain once it has let
 * the lock go. So a reorder (n log n) is paid for by requests that each
 * cost a full walk (n), and writes never pay for it. */
#define PZ__POP_REORDER_AFTER 16
bool pz__catalog_pop_want(pz__catalog *c);
/* Take the write lock and reorder if that is due (call without the
 * lock). */
void pz__catalog_pop_maintain(pz__catalog *c);

/* ---- the feature index ------------------------------------------------- */
/* Lock held: is there no index, or have so many items changed since it
 * was built that it no longer pays? */
bool pz__catalog_finv_due(const pz__catalog *c);
/* Lock held: a request found the index due. True for the one that makes
 * it PZ__FINV_BUILD_AFTER of them: it should call
 * pz__catalog_finv_maintain once it has let every lock go. */
#define PZ__FINV_BUILD_AFTER 4
bool pz__catalog_finv_want(pz__catalog *c);
/* Take the write lock and build the index again if that is due. */
void pz__catalog_finv_maintain(pz__catalog *c);
/* Write lock held: item idx changed (its features or its life). */
void pz__catalog_finv_touch(pz__catalog *c, uint32_t idx);
void pz__finv_free(const pz__alloc *a, pz__finv *x);
/* The items of a feature index (*n of them, increasing), or NULL. */
const uint32_t *pz__finv_items(const pz__finv *x, uint32_t key, uint32_t *n);
/* The values beside a list pz__finv_items returned (not NULL). */
const float *pz__finv_values(const pz__finv *x, const uint32_t *items);
/* Has item i changed since the index was built? */
static inline bool pz__finv_changed(const pz__finv *x, uint32_t i) {
  return i >= x->built_n || pz__bit(x->dirty, i);
}

/* Read lock held. */
void pz__catalog_pop_add(pz__catalog *c, uint32_t idx, int64_t ts,
                         double amount, int64_t count_delta);
double pz__catalog_pop_raw(const pz__catalog *c, uint32_t idx);
double pz__catalog_pop_at(const pz__catalog *c, uint32_t idx, int64_t now);
uint64_t pz__catalog_pop_count(const pz__catalog *c, uint32_t idx);

/* Lock held. Feature text at an index, or NULL. */
const pz__fname *pz__catalog_fname(const pz__catalog *c, uint32_t index);

/* ---- snapshot section (store module) ------------------------------------ */
/* Lock held (read). Items in index order (removed ones too: events and
 * models refer to items by index), popularity, the dictionary. */
int pz__catalog_save(const pz__catalog *c, pz__buf *b);
/* Into a fresh catalogue (no lock needed: nobody else sees it yet). On
 * failure the caller frees the catalogue. */
int pz__catalog_restore(pz__catalog *c, pz__rd *r);
/* Stored feature entries: sorted, below 2^bits, |v| <= max. */
bool pz__ents_valid(pz__rd *r, const pz__ent *f, uint32_t n, unsigned bits,
                    double max, const char *what);

#endif /* PZ_CATALOG_H */
