/* Dense or hashed scratch space for scoring many items against one user. */
#include "svec.h"

#include <string.h>

int pz__scratch_new(const pz__alloc *a, unsigned int bits, pz__scratch **out) {
  pz__scratch *s = pz__calloc(a, 1, sizeof *s);
  if (!s) return PZ_ENOMEM;
  s->bits = bits;
  if (bits <= PZ__DENSE_BITS) {
    s->dense = pz__calloc(a, (size_t)1 << bits, sizeof *s->dense);
    if (!s->dense) {
      pz__free(a, s, sizeof *s);
      return PZ_ENOMEM;
    }
  }
  *out = s;
  return PZ_OK;
}

void pz__scratch_free(const pz__alloc *a, pz__scratch *s) {
  if (!s) return;
  if (s->dense) pz__free(a, s->dense, ((size_t)1 << s->bits) * sizeof(float));
  pz__free(a, s->keys, (size_t)s->hcap * sizeof *s->keys);
  pz__free(a, s->vals, (size_t)s->hcap * sizeof *s->vals);
  pz__free(a, s->touched, (size_t)s->touched_cap * sizeof *s->touched);
  for (int m = 0; m < 4; m++) pz__free(a, s->mem[m], s->mem_size[m]);
  pz__free(a, s, sizeof *s);
}

void *pz__scratch_mem(const pz__alloc *a, pz__scratch *s, int slot,
                      size_t size) {
  if (size <= s->mem_size[slot]) return s->mem[slot];
  size_t want = size + size / 4; /* a catalogue that grows a little */
  void *m = slot == PZ__MEM_CF_ZERO || slot == PZ__MEM_CONTENT_ZERO
                ? pz__calloc(a, want, 1)
                : pz__malloc(a, want);
  if (!m) return NULL;
  pz__free(a, s->mem[slot], s->mem_size[slot]);
  s->mem[slot] = m;
  s->mem_size[slot] = want;
  return m;
}

void pz__scratch_clear(pz__scratch *s) {
  if (s->dense) {
    for (uint32_t j = 0; j < s->n_touched; j++) s->dense[s->touched[j]] = 0;
  } else if (s->keys) {
    memset(s->keys, 0, (size_t)s->hcap * sizeof *s->keys);
  }
  s->n_touched = 0;
}

int pz__scratch_load(const pz__alloc *a, pz__scratch *s, const pz__ent *e,
                     uint32_t n) {
  pz__scratch_clear(s);
  if (pz__grow(a, (void **)&s->touched, &s->touched_cap, n, sizeof *s->touched))
    return PZ_ENOMEM;
  if (s->dense) {
    for (uint32_t j = 0; j < n; j++) {
      s->dense[e[j].i] = e[j].v;
      s->touched[j] = e[j].i;
    }
    s->n_touched = n;
    return PZ_OK;
  }
  uint32_t want = 16;
  while (want < 2 * (uint64_t)n + 2) want *= 2;
  if (want > s->hcap) {
    uint32_t *k = pz__calloc(a, want, sizeof *k);
    float *v = k ? pz__malloc(a, (size_t)want * sizeof *v) : NULL;
    if (!v) {
      pz__free(a, k, (size_t)want * sizeof *k);
      return PZ_ENOMEM;
    }
    pz__free(a, s->keys, (size_t)s->hcap * sizeof *s->keys);
    pz__free(a, s->vals, (size_t)s->hcap * sizeof *s->vals);
    s->keys = k;
    s->vals = v;
    s->hcap = want;
  }
  uint32_t mask = s->hcap - 1;
  for (uint32_t j = 0; j < n; j++) {
    uint32_t h = (e[j].i * 2654435761u) & mask;
    while (s->keys[h] != 0) h = (h + 1) & mask;
    s->keys[h] = e[j].i + 1;
    s->vals[h] = e[j].v;
    s->touched[j] = e[j].i;
  }
  s->n_touched = n;
  return PZ_OK;
}

int pz__scratch_pool_init(pz__scratch_pool *p, const pz__alloc *a,
                          unsigned int bits) {
  p->a = a;
  p->bits = bits;
  p->free = NULL;
  if (pthread_mutex_init(&p->lock, NULL) != 0)
    return pz__fail(PZ_ERROR, "cannot create the scratch pool lock");
  return PZ_OK;
}

void pz__scratch_pool_free(pz__scratch_pool *p) {
  while (p->free) {
    pz__scratch *s = p->free;
    p->free = s->next;
    pz__scratch_free(p->a, s);
  }
  pthread_mutex_destroy(&p->lock);
}

int pz__scratch_take(pz__scratch_pool *p, pz__scratch **out) {
  pthread_mutex_lock(&p->lock);
  pz__scratch *s = p->free;
  if (s) p->free = s->next;
  pthread_mutex_unlock(&p->lock);
  if (s) {
    *out = s;
    return PZ_OK;
  }
  return pz__scratch_new(p->a, p->bits, out);
}

void pz__scratch_give(pz__scratch_pool *p, pz__scratch *s) {
  if (!s) return;
  pz__scratch_clear(s);
  pthread_mutex_lock(&p->lock);
  s->next = p->free;
  p->free = s;
  pthread_mutex_unlock(&p->lock);
}

void pz__scratch_pool_wipe(pz__scratch_pool *p) {
  pthread_mutex_lock(&p->lock);
  for (pz__scratch *s = p->free; s; s = s->next) {
    if (s->mem[PZ__MEM_PLAN]) pz__wipe(s->mem[PZ__MEM_PLAN], s->mem_size[PZ__MEM_PLAN]);
    if (s->mem[PZ__MEM_CF]) pz__wipe(s->mem[PZ__MEM_CF], s->mem_size[PZ__MEM_CF]);
    if (s->vals) pz__wipe(s->vals, (size_t)s->hcap * sizeof *s->vals);
  }
  pthread_mutex_unlock(&p->lock);
}
