/* The per-person serving cache: what a person's history determines for a
 * request (the sorted seen-set, the history summed per item for CF, the
 * folded-in ALS vector), kept between requests.
 *
 * An entry is valid for one history version of one profile (the
 * profile's hver, engine-wide unique, so an id erased and made again
 * never matches an old entry) and, for its CF parts, one model
 * generation. Entries are immutable once built and reference-counted: the
 * table holds one reference, each request using it another, so eviction,
 * replacement and erasure never free an entry a request still reads.
 *
 * The table is striped like the profiles (the same shard of a user id),
 * each stripe with its own mutex, hash chains and LRU list, and a byte
 * budget of total / PZ__SHARDS. */
#include "rank.h"

#include <string.h>

struct pz__ushard {
  pthread_mutex_t mu;
  pz__uentry **tab; /* chains by user hash */
  uint32_t cap, n;  /* cap: a power of two, or 0 */
  pz__uentry *head, *tail; /* most recently used first */
  size_t bytes;
};

size_t pz__uentry_bytes(uint32_t n_seen, uint32_t hist_cap, uint32_t fs) {
  return sizeof(pz__uentry) + (size_t)n_seen * sizeof(uint32_t) +
         (size_t)hist_cap * (sizeof(uint32_t) + sizeof(float)) +
         (size_t)fs * sizeof(float);
}

void pz__uentry_release(const pz__alloc *a, pz__uentry *e) {
  if (!e || atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
    return;
  pz__free_wipe(a, e->seen, (size_t)e->seen_cap * sizeof *e->seen);
  pz__cfhist_free(a, &e->hist, e->hist_cap);
  pz__free_wipe(a, e->x, (size_t)e->fs * sizeof *e->x);
  pz__free_wipe(a, e, sizeof *e);
}

int pz__ucache_init(pz__ucache *c, const pz__alloc *a, uint64_t bytes) {
  memset(c, 0, sizeof *c);
  c->a = a;
  c->budget = (size_t)(bytes / PZ__SHARDS);
  if (!bytes) return PZ_OK;
  c->sh = pz__calloc(a, PZ__SHARDS, sizeof *c->sh);
  if (!c->sh) return PZ_ENOMEM;
  for (uint32_t s = 0; s < PZ__SHARDS; s++)
    if (pthread_mutex_init(&c->sh[s].mu, NULL) != 0) {
      while (s-- > 0) pthread_mutex_destroy(&c->sh[s].mu);
      pz__free(a, c->sh, PZ__SHARDS * sizeof *c->sh);
      c->sh = NULL;
      return pz__fail(PZ_ERROR, "cannot create serving cache locks");
    }
  return PZ_OK;
}

/* Stripe locked: take e out of the chains and the LRU list and drop the
 * table's reference. */
static void unlink_entry(const pz__alloc *a, struct pz__ushard *sh,
                         pz__uentry *e) {
  pz__uentry **pp = &sh->tab[e->uhash & (sh->cap - 1)];
  while (*pp != e) pp = &(*pp)->hnext;
  *pp = e->hnext;
  if (e->prev) e->prev->next = e->next;
  else sh->head = e->next;
  if (e->next) e->next->prev = e->prev;
  else sh->tail = e->prev;
  sh->n--;
  sh->bytes -= e->bytes;
  pz__uentry_release(a, e);
}

static pz__uentry *find(struct pz__ushard *sh, uint64_t uhash) {
  if (!sh->cap) return NULL;
  pz__uentry *e = sh->tab[uhash & (sh->cap - 1)];
  while (e && e->uhash != uhash) e = e->hnext;
  return e;
}

void pz__ucache_free(pz__ucache *c) {
  if (!c->sh) return;
  for (uint32_t s = 0; s < PZ__SHARDS; s++) {
    struct pz__ushard *sh = &c->sh[s];
    while (sh->head) unlink_entry(c->a, sh, sh->head);
    pz__free(c->a, sh->tab, (size_t)sh->cap * sizeof *sh->tab);
    pthread_mutex_destroy(&sh->mu);
  }
  pz__free(c->a, c->sh, PZ__SHARDS * sizeof *c->sh);
  c->sh = NULL;
}

pz__uentry *pz__ucache_get(pz__ucache *c, const pz__uref *u, uint64_t hver) {
  if (!c->sh) return NULL;
  struct pz__ushard *sh = &c->sh[u->shard];
  pthread_mutex_lock(&sh->mu);
  pz__uentry *e = find(sh, u->hash);
  if (e && e->hver == hver) {
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    if (e != sh->head) { /* to the front of the LRU list */
      e->prev->next = e->next;
      if (e->next) e->next->prev = e->prev;
      else sh->tail = e->prev;
      e->prev = NULL;
      e->next = sh->head;
      sh->head->prev = e;
      sh->head = e;
    }
  } else {
    e = NULL;
  }
  pthread_mutex_unlock(&sh->mu);
  return e;
}

/* Stripe locked: double the chains (false when that cannot be had). */
static bool grow(const pz__alloc *a, struct pz__ushard *sh) {
  uint32_t ncap = sh->cap ? sh->cap * 2 : 16;
  pz__uentry **nt = pz__calloc(a, ncap, sizeof *nt);
  if (!nt) return false;
  for (uint32_t b = 0; b < sh->cap; b++)
    for (pz__uentry *e = sh->tab[b], *next; e; e = next) {
      next = e->hnext;
      e->hnext = nt[e->uhash & (ncap - 1)];
      nt[e->uhash & (ncap - 1)] = e;
    }
  pz__free(a, sh->tab, (size_t)sh->cap * sizeof *sh->tab);
  sh->tab = nt;
  sh->cap = ncap;
  return true;
}

bool pz__ucache_put(pz__ucache *c, const pz__uref *u, pz__uentry *e,
                    bool evict) {
  if (!c->sh || e->bytes > c->budget) return false;
  struct pz__ushard *sh = &c->sh[u->shard];
  bool done = false;
  pthread_mutex_lock(&sh->mu);
  pz__uentry *old = find(sh, u->hash);
  /* an entry for a newer history (or model) stays: a request that read
   * an older state must not replace it */
  if (old && (old->hver > e->hver ||
              (old->hver == e->hver && old->gen >= e->gen)))
    goto out;
  /* without eviction nothing is taken out unless the new entry fits */
  if (!evict && sh->bytes - (old ? old->bytes : 0) + e->bytes > c->budget)
    goto out;
  if (old) unlink_entry(c->a, sh, old);
  while (sh->head && sh->bytes + e->bytes > c->budget)
    unlink_entry(c->a, sh, sh->tail);
  if (sh->n + 1 > sh->cap && !grow(c->a, sh)) goto out;
  e->uhash = u->hash;
  atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
  pz__uentry **b = &sh->tab[u->hash & (sh->cap - 1)];
  e->hnext = *b;
  *b = e;
  e->prev = NULL;
  e->next = sh->head;
  if (sh->head) sh->head->prev = e;
  else sh->tail = e;
  sh->head = e;
  sh->n++;
  sh->bytes += e->bytes;
  done = true;
out:
  pthread_mutex_unlock(&sh->mu);
  return done;
}

size_t pz__ucache_room(pz__ucache *c, uint32_t shard) {
  if (!c->sh) return 0;
  struct pz__ushard *sh = &c->sh[shard];
  pthread_mutex_lock(&sh->mu);
  size_t room = sh->bytes < c->budget ? c->budget - sh->bytes : 0;
  pthread_mutex_unlock(&sh->mu);
  return room;
}

void pz__ucache_drop(pz__ucache *c, const pz__uref *u) {
  if (!c->sh) return;
  struct pz__ushard *sh = &c->sh[u->shard];
  pthread_mutex_lock(&sh->mu);
  pz__uentry *e = find(sh, u->hash);
  if (e) unlink_entry(c->a, sh, e);
  pthread_mutex_unlock(&sh->mu);
}

void pz__ucache_stats(pz__ucache *c, uint64_t *entries, uint64_t *bytes) {
  *entries = *bytes = 0;
  if (!c->sh) return;
  for (uint32_t s = 0; s < PZ__SHARDS; s++) {
    pthread_mutex_lock(&c->sh[s].mu);
    *entries += c->sh[s].n;
    *bytes += c->sh[s].bytes;
    pthread_mutex_unlock(&c->sh[s].mu);
  }
}
