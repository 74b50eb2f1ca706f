/* fork(): an engine belongs to the process that opened it. In a child
 * every call is refused with PZ_EFORK before it takes a lock (so threads
 * that were inside the engine at the fork cannot hang it), freeing the
 * copy touches no file, and the parent's acknowledged writes all survive
 * (1.0.0: a child's writes silently overwrote them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

typedef struct fx {
  char dir[64], config[512];
} fx;

static int setup(void **state) {
  static fx f;
  if (test_tmpdir_make(f.dir, "pz_fork")) return -1;
  snprintf(f.config, sizeof f.config,
           "profile:\n  history_limit: 1000000\n"
           "store:\n  journal: %s/journal\n  snapshot: %s/snap\n"
           "  fsync: never\n",
           f.dir, f.dir);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  return test_tmpdir_remove(f->dir);
}

static pz_engine *open_store(const fx *f) {
  pz_engine *e = NULL;
  int rc = pz_engine_open_string(&e, f->config, strlen(f->config));
  if (rc) fail_msg("open: %s", pz_errmsg());
  return e;
}


/* In the child: the calls a worker would make, each refused. Returns the
 * number of calls that were not refused with PZ_EFORK (the exit status). */
static int child_calls(pz_engine *e, const fx *f) {
  int bad = 0;
  alarm(20); /* a hang is a failure, not a stuck suite */
  bad += pz_track(e, "kid", "i1", "view", 1, 0) != PZ_EFORK;
  pz_recs *r = NULL;
  bad += pz_recommend(&r, e, "ann", 5, NULL) != PZ_EFORK;
  bad += r != NULL;
  size_t n;
  bad += pz_profile_event_count(&n, e, "ann") != PZ_EFORK;
  bad += pz_item_count(&n, e) != PZ_EFORK;
  bad += pz_engine_sync(e) != PZ_EFORK;
  bad += pz_engine_save(e, NULL) != PZ_EFORK;
  bad += pz_item_put(e, "x", NULL, NULL, 0) != PZ_EFORK;
  bad += strstr(pz_errmsg(), "fork") == NULL;
  pz_engine_free(e); /* closes its journal descriptor, nothing else */
  /* the store is the parent's, and still locked by it */
  pz_engine *mine = NULL;
  bad += pz_engine_open_string(&mine, f->config, strlen(f->config)) != PZ_EIO;
  /* an engine of its own works */
  bad += pz_engine_open(&mine, NULL) != PZ_OK;
  bad += pz_track(mine, "kid", "i1", "view", 1, 0) != PZ_OK;
  pz_engine_free(mine);
  return bad;
}

static int wait_child(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFSIGNALED(status)) return 100 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

static void test_fork_child_is_refused(void **state) {
  fx *f = *state;
  pz_engine *e = open_store(f);
  for (int i = 0; i < 10; i++)
    assert_int_equal(pz_track(e, "ann", "i1", "view", 1, 0), PZ_OK);
  for (int k = 0; k < 2; k++) { /* two children, one after the other */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(child_calls(e, f));
    assert_int_equal(wait_child(pid), 0);
  }
  for (int i = 0; i < 10; i++)
    assert_int_equal(pz_track(e, "ann", "i1", "view", 1, 0), PZ_OK);
  assert_int_equal(pz_engine_sync(e), PZ_OK);
  pz_engine_free(e);
  e = open_store(f); /* every acknowledged write is there */
  assert_int_equal(test_event_count(e, "ann"), 20);
  assert_int_equal(test_event_count(e, "kid"), 0);
  pz_engine_free(e);
}

typedef struct busy {
  pz_engine *e;
  _Atomic int stop;
  _Atomic long done;
  int id;
} busy;

static void *writer(void *arg) {
  busy *b = arg;
  char user[32];
  snprintf(user, sizeof user, "w%d", b->id);
  while (!b->stop) {
    if (pz_track(b->e, user, "i1", "view", 1, 0) != PZ_OK) break;
    b->done++;
    pz_recs *r = NULL;
    if (pz_recommend(&r, b->e, user, 3, NULL) == PZ_OK) pz_recs_free(r);
  }
  return NULL;
}

/* Children forked while two threads write and rank: no child hangs on a
 * lock a thread held at the fork, and the parent loses nothing. */
static void test_fork_with_busy_threads(void **state) {
  fx *f = *state;
  pz_engine *e = open_store(f);
  busy b[2];
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    memset(&b[i], 0, sizeof b[i]);
    b[i].e = e;
    b[i].id = i;
    assert_int_equal(pthread_create(&t[i], NULL, writer, &b[i]), 0);
  }
  int failed = 0;
  for (int k = 0; k < 20; k++) {
    nanosleep(&(struct timespec){0, 2000000}, NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      alarm(20);
      int bad = pz_track(e, "kid", "i1", "view", 1, 0) != PZ_EFORK;
      size_t n;
      bad += pz_profile_event_count(&n, e, "w0") != PZ_EFORK;
      pz_engine_free(e);
      _exit(bad);
    }
    failed += wait_child(pid) != 0;
  }
  for (int i = 0; i < 2; i++) {
    b[i].stop = 1;
    pthread_join(t[i], NULL);
  }
  assert_int_equal(failed, 0);
  long w0 = b[0].done, w1 = b[1].done;
  assert_true(w0 > 0 && w1 > 0);
  pz_engine_free(e);
  e = open_store(f);
  assert_int_equal(test_event_count(e, "w0"), (size_t)w0);
  assert_int_equal(test_event_count(e, "w1"), (size_t)w1);
  assert_int_equal(test_event_count(e, "kid"), 0);
  pz_engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fork_child_is_refused, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fork_with_busy_threads, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
