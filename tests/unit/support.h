/* tests/unit/support.h - shared test helpers: a counting allocator that can
 * fail the n-th allocation and checks every osize, and a settable clock. */
#ifndef PZ_TEST_SUPPORT_H
#define PZ_TEST_SUPPORT_H

#include <personalize.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct test_alloc {
  long fail_at;       /* fail the allocation with this number (1-based); 0 never */
  bool fail_forever;  /* after fail_at, fail every later allocation too */
  long count;         /* allocations attempted (incl. resizes that grow) */
  long live_blocks;
  size_t live_bytes;
  size_t peak_bytes;
  long bad_osize;     /* frees/resizes whose osize did not match */
} test_alloc;

void *test_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);
void test_alloc_reset(test_alloc *t);

typedef struct test_clock {
  int64_t now;
} test_clock;
int64_t test_clock_fn(void *ud);

/* Open an engine with the test allocator and clock; config may be NULL. */
int test_open(pz_engine **e, test_alloc *ta, test_clock *tc,
              const char *config);
/* Put n items "item<i>" with features from a small fixed vocabulary. */
void test_put_items(pz_engine *e, int n);

/* Where item is in a ranked list, or -1. */
int test_position(const pz_recs *r, const char *item);
/* Events in user's history; 0 for a user without a profile. Any other
 * failure fails the test. */
size_t test_event_count(pz_engine *e, const char *user);

/* A scratch directory: dir (a buffer of at least 64 bytes) gets a new
 * directory /tmp/PREFIX_XXXXXX; remove deletes its files and itself.
 * Both return 0 on success, -1 otherwise (cmocka group setup style). */
int test_tmpdir_make(char *dir, const char *prefix);
int test_tmpdir_remove(const char *dir);

/* A whole file, NUL-terminated (len, when not NULL, gets its size
 * without the NUL); fails the test when it cannot be read. Free with
 * free(). */
char *test_slurp(const char *path, size_t *len);
/* A file's size; fails the test when it cannot be stat'ed. */
uint64_t test_file_size(const char *path);

#endif
