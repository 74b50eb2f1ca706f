/* store/journal.c at its own interface: the group commit's positions
 * across a rotation (a save), and writers sharing syncs. The engine-level
 * journal tests are in test_store.c and test_ops.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "support.h"
#include "store/store.h"

static _Atomic int fsyncs;
static int count_fsync(const char *op) {
  if (strcmp(op, "fsync") == 0) fsyncs++;
  return 0;
}

static int no_replay(void *ctx, const uint8_t *payload, size_t len) {
  (void)ctx;
  (void)payload;
  (void)len;
  return 0;
}

typedef struct fx {
  char dir[64], path[96];
  pz__alloc a;
  pz__store_cfg cfg;
  pz__journal *j;
} fx;

static int setup(void **state) {
  static fx f;
  memset(&f, 0, sizeof f);
  if (test_tmpdir_make(f.dir, "pz_journal")) return -1;
  snprintf(f.path, sizeof f.path, "%s/j", f.dir);
  pz__alloc_default(&f.a);
  pz__store_cfg_default(&f.cfg);
  if (pz__text_set(&f.a, &f.cfg.journal, f.path, strlen(f.path))) return -1;
  f.cfg.fsync = PZ__FSYNC_ALWAYS;
  pz__jopen o = {.a = &f.a, .cfg = &f.cfg, .seed = 1, .bits = 20,
                 .replay = no_replay};
  if (pz__journal_open(&f.j, &o) || !f.j) return -1;
  fsyncs = 0;
  pz__store_fault = count_fsync;
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  pz__store_fault = NULL;
  pz__journal_free(f->j, &f->a);
  pz__store_cfg_free(&f->cfg, &f->a);
  return test_tmpdir_remove(f->dir);
}

/* A record of n payload bytes (at most 256), appended; *end gets its
 * commit position. No cmocka asserts: writer threads call it. */
static int append_rec(pz__journal *j, const pz__alloc *a, size_t n,
                      uint64_t *end) {
  pz__buf b;
  pz__buf_init(&b, a);
  char zero[PZ__JREC_HEAD + 256] = {0};
  pz__buf_put(&b, zero, PZ__JREC_HEAD + n);
  int rc = pz__journal_check(j, n);
  if (!rc) {
    rc = pz__journal_append(j, &b, true, end);
    pz__journal_done(j);
  }
  pz__buf_free(&b);
  return rc;
}

static void append(pz__journal *j, const pz__alloc *a, size_t n,
                   uint64_t *end) {
  assert_int_equal(append_rec(j, a, n, end), PZ_OK);
}

/* A writer that appended before a save rotated the journal commits after
 * it: its record is already safe (in the snapshot's new file), and the
 * next writer's record, at a smaller file offset than the first one's,
 * must still be synced (1.2.0 took the old offset as synced). */
static void test_journal_commit_across_rotation(void **state) {
  fx *f = *state;
  uint64_t e1, e2, e3, gen, off;
  for (int i = 0; i < 20; i++) append(f->j, &f->a, 200, &e1); /* ~4 KB */
  assert_int_equal(pz__journal_commit(f->j, e1), PZ_OK);
  append(f->j, &f->a, 200, &e1); /* appended, not yet committed */
  pz__journal_pos(f->j, &gen, &off);
  assert_int_equal(pz__journal_rotate(f->j, off), PZ_OK); /* the save */
  int before = fsyncs;
  assert_int_equal(pz__journal_commit(f->j, e1), PZ_OK);
  assert_int_equal(fsyncs, before); /* covered by the rotation's sync */
  append(f->j, &f->a, 16, &e2);
  assert_true(e2 > e1); /* positions only grow */
  assert_int_equal(pz__journal_commit(f->j, e2), PZ_OK);
  assert_int_equal(fsyncs, before + 1);
  append(f->j, &f->a, 16, &e3);
  assert_int_equal(pz__journal_commit(f->j, e3), PZ_OK);
  assert_int_equal(fsyncs, before + 2);
  assert_int_equal(pz__journal_commit(f->j, e2), PZ_OK); /* no-op */
  assert_int_equal(fsyncs, before + 2);
}

typedef struct wctx {
  fx *f;
  int n;
} wctx;

static void *writer(void *arg) {
  wctx *w = arg;
  for (int i = 0; i < w->n; i++) {
    uint64_t e;
    if (append_rec(w->f->j, &w->f->a, 32, &e) ||
        pz__journal_commit(w->f->j, e))
      return (void *)1;
  }
  return NULL;
}

/* Four writers: every commit returns only once its record is synced
 * (each sync covers what was appended before it), and syncs are shared:
 * fewer than one per write. How few is the benchmark's business
 * (bench_store --section journal); here any sharing shows the leader and
 * followers work. */
static void test_journal_writers_share_syncs(void **state) {
  fx *f = *state;
  enum { W = 4, N = 200 };
  pthread_t t[W];
  wctx w = {f, N};
  for (int i = 0; i < W; i++)
    assert_int_equal(pthread_create(&t[i], NULL, writer, &w), 0);
  for (int i = 0; i < W; i++) {
    void *r;
    pthread_join(t[i], &r);
    assert_null(r);
  }
  assert_true(fsyncs > 0);
  assert_true(fsyncs < W * N);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_journal_commit_across_rotation,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_writers_share_syncs, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
