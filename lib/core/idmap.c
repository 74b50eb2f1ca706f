/* Open addressing with linear probing. A slot is 8 bytes: the top 32 bits
 * of the key's hash as a tag and the index + 1; the key text is read back
 * from its owner through key_of. Tombstones keep probe chains intact and
 * are dropped at the next rehash. */
#include "core.h"

#include <string.h>

#define EMPTY 0u
#define GONE UINT64_MAX

static uint32_t tag_of(uint64_t hash) { return (uint32_t)(hash >> 32); }

void pz__idmap_init(pz__idmap *m) { memset(m, 0, sizeof *m); }

void pz__idmap_free(const pz__alloc *a, pz__idmap *m) {
  pz__free(a, m->slots, (size_t)m->cap * sizeof *m->slots);
  pz__idmap_init(m);
}

uint32_t pz__idmap_find(const pz__idmap *m, uint64_t hash, const char *key,
                        size_t len, pz__key_fn key_of, const void *ctx) {
  if (m->cap == 0) return UINT32_MAX;
  uint32_t mask = m->cap - 1, tag = tag_of(hash);
  for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
    uint64_t s = m->slots[i];
    if (s == EMPTY) return UINT32_MAX;
    if (s == GONE || (uint32_t)(s >> 32) != tag) continue;
    uint32_t idx = (uint32_t)s - 1;
    size_t klen;
    const char *k = key_of(ctx, idx, &klen);
    if (klen == len && memcmp(k, key, len) == 0) return idx;
  }
}

void pz__idmap_prefetch(const pz__idmap *m, uint64_t hash) {
  if (m->cap) PZ__PREFETCH(&m->slots[(uint32_t)hash & (m->cap - 1)]);
}

uint32_t pz__idmap_peek(const pz__idmap *m, uint64_t hash) {
  if (m->cap == 0) return UINT32_MAX;
  uint64_t s = m->slots[(uint32_t)hash & (m->cap - 1)];
  if (s == EMPTY || s == GONE || (uint32_t)(s >> 32) != tag_of(hash))
    return UINT32_MAX;
  return (uint32_t)s - 1;
}

static void put_slot(uint64_t *slots, uint32_t cap, uint64_t hash,
                     uint32_t idx) {
  uint32_t mask = cap - 1;
  uint32_t i = (uint32_t)hash & mask;
  while (slots[i] != EMPTY && slots[i] != GONE) i = (i + 1) & mask;
  slots[i] = ((uint64_t)tag_of(hash) << 32) | ((uint64_t)idx + 1);
}

/* Rehash needs each key's full hash, which the slot keeps only in part;
 * the low bits are recomputed from the key text. */
int pz__idmap_reserve(const pz__alloc *a, pz__idmap *m, pz__key_fn key_of,
                      const void *ctx) {
  uint64_t need = (uint64_t)m->used + m->dead + 1;
  if (m->cap && need * 4 <= (uint64_t)m->cap * 3) return PZ_OK;
  uint64_t ncap = m->cap ? m->cap : 16;
  while ((uint64_t)(m->used + 1) * 2 > ncap) ncap *= 2;
  if (ncap > ((uint64_t)1 << 31)) return pz__fail(PZ_ELIMIT, "id map full");
  uint64_t *ns = pz__calloc(a, (size_t)ncap, sizeof *ns);
  if (!ns) return PZ_ENOMEM;
  for (uint32_t i = 0; i < m->cap; i++) {
    uint64_t s = m->slots[i];
    if (s == EMPTY || s == GONE) continue;
    uint32_t idx = (uint32_t)s - 1;
    size_t klen;
    const char *k = key_of(ctx, idx, &klen);
    put_slot(ns, (uint32_t)ncap, pz__hash_bytes(k, klen, 0), idx);
  }
  pz__free(a, m->slots, (size_t)m->cap * sizeof *m->slots);
  m->slots = ns;
  m->cap = (uint32_t)ncap;
  m->dead = 0;
  return PZ_OK;
}

void pz__idmap_insert(pz__idmap *m, uint64_t hash, uint32_t idx) {
  put_slot(m->slots, m->cap, hash, idx);
  m->used++;
}

void pz__idmap_remove(pz__idmap *m, uint64_t hash, uint32_t idx) {
  uint32_t mask = m->cap - 1;
  uint64_t want = ((uint64_t)tag_of(hash) << 32) | ((uint64_t)idx + 1);
  for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
    if (m->slots[i] == EMPTY) return; /* not present: nothing to do */
    if (m->slots[i] == want) {
      m->slots[i] = GONE;
      m->used--;
      m->dead++;
      return;
    }
  }
}
