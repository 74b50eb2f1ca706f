/* Id hashing and the system clock. */
#define _POSIX_C_SOURCE 200809L
#include "core.h"

#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t pz__hash_bytes(const void *p, size_t len, uint64_t seed) {
  return XXH3_64bits_withSeed(p, len, seed);
}

int64_t pz__clock_system(void *ud) {
  (void)ud;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
