/* Per-engine allocation: one function with lua_Alloc semantics, so tests
 * can fail the n-th allocation and check that nothing leaks. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

void pz__alloc_default(pz__alloc *a) {
  a->fn = default_alloc;
  a->ud = NULL;
}

void *pz__malloc(const pz__alloc *a, size_t size) {
  if (size == 0) return NULL;
  void *p = a->fn(a->ud, NULL, 0, size);
  if (!p) pz__oom();
  return p;
}

void *pz__calloc(const pz__alloc *a, size_t n, size_t size) {
  if (n == 0 || size == 0) return NULL;
  if (n > SIZE_MAX / size) {
    pz__oom();
    return NULL;
  }
  void *p = pz__malloc(a, n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

void *pz__realloc(const pz__alloc *a, void *p, size_t osize, size_t nsize) {
  if (!p) return pz__malloc(a, nsize);
  if (nsize == 0) {
    pz__free(a, p, osize);
    return NULL;
  }
  void *q = a->fn(a->ud, p, osize, nsize);
  if (!q) pz__oom();
  return q;
}

void pz__free(const pz__alloc *a, void *p, size_t size) {
  if (p) a->fn(a->ud, p, size, 0);
}

/* A volatile function pointer keeps the compiler from dropping the wipe of
 * a block that is about to be freed. */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void pz__wipe(void *p, size_t size) {
  if (p && size) wipe_memset(p, 0, size);
}

void pz__free_wipe(const pz__alloc *a, void *p, size_t size) {
  if (!p) return;
  pz__wipe(p, size);
  a->fn(a->ud, p, size, 0);
}

char *pz__strndup(const pz__alloc *a, const char *s, size_t len) {
  char *d = pz__malloc(a, len + 1);
  if (!d) return NULL;
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

int pz__grow(const pz__alloc *a, void **arr, uint32_t *cap, uint32_t need,
             size_t elem) {
  if (need <= *cap) return PZ_OK;
  uint64_t ncap = *cap ? (uint64_t)*cap + (*cap >> 1) + 4 : 4;
  if (ncap < need) ncap = need;
  if (ncap > UINT32_MAX) ncap = UINT32_MAX;
  if (ncap < need) return pz__oom();
  void *p = pz__realloc(a, *arr, (size_t)*cap * elem, (size_t)ncap * elem);
  if (!p) return PZ_ENOMEM;
  *arr = p;
  *cap = (uint32_t)ncap;
  return PZ_OK;
}
