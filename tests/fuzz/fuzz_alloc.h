/* tests/fuzz/fuzz_alloc.h - shared by fuzz_snapshot.c and fuzz_journal.c:
 * the FAIL/CHECK invariant macros (define FUZZ_NAME first) and a checking,
 * limiting allocator: every block carries its size and a magic, a free or
 * resize with another size fails the run, and the library may hold at
 * most CAP bytes (a hostile count must be refused, never allocated). */
#ifndef FUZZ_ALLOC_H
#define FUZZ_ALLOC_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define FAIL(...)                                                          \
  do {                                                                     \
    fprintf(stderr, FUZZ_NAME ": invariant failed at line %d: ",           \
            __LINE__);                                                     \
    fprintf(stderr, __VA_ARGS__);                                          \
    fprintf(stderr, " (pz_errmsg: %s)\n", pz_errmsg());                    \
    abort();                                                               \
  } while (0)
#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    if (!(cond)) FAIL(__VA_ARGS__);                                        \
  } while (0)

/* ---- a checking, limiting allocator -------------------------------------- */

#define HDR 16 /* keeps max_align_t alignment */
#define MAGIC 0x70a110c8u
#define CAP ((size_t)256 << 20)

typedef struct hdr {
  size_t size;
  uint32_t magic;
} hdr;

static pthread_mutex_t alloc_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t live_blocks, live_bytes, peak_bytes, refused, refused_size;

static hdr *header(void *p, size_t osize) {
  (void)osize;
  hdr *h = (hdr *)(void *)((char *)p - HDR);
  if (h->magic != MAGIC) FAIL("allocator: block %p has no header", p);
#ifndef FUZZ_ALLOC_SIZE_LAX
  if (h->size != osize)
    FAIL("allocator: block of %zu bytes freed or resized as %zu bytes",
         h->size, osize);
#endif
  return h;
}

static void *check_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  pthread_mutex_lock(&alloc_mu);
  void *out = NULL;
  if (nsize == 0) {
    if (ptr) {
      hdr *h = header(ptr, osize);
      live_bytes -= h->size;
      h->magic = 0;
      free(h);
      live_blocks--;
    }
  } else if (nsize <= CAP) {
    hdr *h = ptr ? header(ptr, osize) : NULL;
    size_t old = h ? h->size : 0;
    if (nsize > old && nsize - old > CAP - live_bytes) {
      refused++;
      refused_size = nsize;
    } else {
      hdr *n = realloc(h, nsize + HDR);
      if (n) {
        if (!h) live_blocks++;
        live_bytes = live_bytes - old + nsize;
        if (live_bytes > peak_bytes) peak_bytes = live_bytes;
        n->size = nsize;
        n->magic = MAGIC;
        out = (char *)n + HDR;
      }
    }
  } else {
    refused++;
    refused_size = nsize;
  }
  pthread_mutex_unlock(&alloc_mu);
  return out;
}

#endif /* FUZZ_ALLOC_H */
