/* A store misused by its host: the journal deleted or replaced under a
 * running engine, a save aimed at the journal, a configuration naming one
 * file twice under two spellings, and the temporary files of saves that
 * died. 1.0.0 acknowledged writes that no reopen found, or accepted a
 * save that made the store unreadable; each case here failed there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

typedef struct fx {
  char dir[64], journal[128], snap[128];
} fx;

static int setup(void **state) {
  static fx f;
  if (test_tmpdir_make(f.dir, "pz_misuse")) return -1;
  snprintf(f.journal, sizeof f.journal, "%s/journal", f.dir);
  snprintf(f.snap, sizeof f.snap, "%s/snap", f.dir);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  return test_tmpdir_remove(f->dir);
}

static int open_with(pz_engine **e, const fx *f, const char *fsync,
                     const char *snap, const char *journal) {
  char y[512];
  snprintf(y, sizeof y, "store:\n  journal: %s\n  snapshot: %s\n  fsync: %s\n",
           journal ? journal : f->journal, snap ? snap : f->snap, fsync);
  *e = NULL;
  return pz_engine_open_string(e, y, strlen(y));
}

static pz_engine *open_store(const fx *f, const char *fsync) {
  pz_engine *e;
  int rc = open_with(&e, f, fsync, NULL, NULL);
  if (rc) fail_msg("open: %s", pz_errmsg());
  return e;
}


static void track_n(pz_engine *e, const char *user, int n) {
  for (int i = 0; i < n; i++)
    assert_int_equal(pz_track(e, user, "i1", "view", 1, 0), PZ_OK);
}

/* fsync always: the first write after the deletion is not acknowledged
 * (its sync finds the file gone), later ones are refused until a save
 * starts a new journal; nothing is lost across the reopen. */
static void test_misuse_journal_deleted_always(void **state) {
  fx *f = *state;
  pz_engine *e = open_store(f, "always");
  track_n(e, "ann", 10);
  assert_int_equal(unlink(f->journal), 0);
  assert_int_equal(pz_track(e, "ann", "i1", "view", 1, 0), PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "deleted or replaced"));
  assert_int_equal(pz_track(e, "ann", "i1", "view", 1, 0), PZ_EIO);
  assert_int_equal(pz_engine_save(e, NULL), PZ_OK);
  track_n(e, "ann", 5);
  pz_engine_free(e);
  e = open_store(f, "always");
  /* 10, the one applied when the deletion was found, and 5 */
  assert_int_equal(test_event_count(e, "ann"), 16);
  pz_engine_free(e);
}

/* fsync never: pz_engine_sync reports it (1.0.0: OK, and the writes were
 * gone at the reopen). */
static void test_misuse_journal_deleted_sync(void **state) {
  fx *f = *state;
  pz_engine *e = open_store(f, "never");
  track_n(e, "ann", 10);
  assert_int_equal(unlink(f->journal), 0);
  for (int i = 0; i < 10; i++) (void)pz_track(e, "ann", "i1", "view", 1, 0);
  assert_int_equal(pz_engine_sync(e), PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "deleted or replaced"));
  assert_int_equal(pz_engine_save(e, NULL), PZ_OK);
  pz_engine_free(e);
  e = open_store(f, "never");
  assert_int_equal(test_event_count(e, "ann"), 20);
  pz_engine_free(e);
}

/* Another file renamed over the journal: the same. */
static void test_misuse_journal_replaced(void **state) {
  fx *f = *state;
  pz_engine *e = open_store(f, "interval");
  track_n(e, "ann", 3);
  char other[160];
  snprintf(other, sizeof other, "%s/other", f->dir);
  FILE *o = fopen(other, "w");
  assert_non_null(o);
  fputs("not a journal", o);
  fclose(o);
  assert_int_equal(rename(other, f->journal), 0);
  assert_int_equal(pz_engine_sync(e), PZ_EIO);
  assert_int_equal(pz_engine_save(e, NULL), PZ_OK);
  track_n(e, "ann", 2);
  pz_engine_free(e);
  e = open_store(f, "interval");
  assert_int_equal(test_event_count(e, "ann"), 5);
  pz_engine_free(e);
}

/* A save aimed at the journal, under any spelling, is refused and
 * changes nothing (1.0.0 wrote it, and the reopen failed). */
static void test_misuse_save_onto_journal(void **state) {
  fx *f = *state;
  pz_engine *e = open_store(f, "never");
  track_n(e, "ann", 4);
  char dotted[200], link[160];
  snprintf(dotted, sizeof dotted, "%s/./journal", f->dir);
  snprintf(link, sizeof link, "%s/link", f->dir);
  assert_int_equal(symlink(f->journal, link), 0);
  const char *paths[] = {f->journal, dotted, link};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(pz_engine_save(e, paths[i]), PZ_EINVAL);
    assert_non_null(strstr(pz_errmsg(), "journal"));
  }
  track_n(e, "ann", 1); /* the journal still takes writes */
  pz_engine_free(e);
  e = open_store(f, "never");
  assert_int_equal(test_event_count(e, "ann"), 5);
  pz_engine_free(e);
}

/* One file under two spellings, or two hard links, in the configuration. */
static void test_misuse_config_one_file_twice(void **state) {
  fx *f = *state;
  pz_engine *e;
  char dotted[200];
  snprintf(dotted, sizeof dotted, "%s/./snap", f->dir);
  assert_int_equal(open_with(&e, f, "never", f->snap, dotted), PZ_ECONFIG);
  assert_null(e);
  FILE *s = fopen(f->snap, "w");
  assert_non_null(s);
  fclose(s);
  char hard[160];
  snprintf(hard, sizeof hard, "%s/hard", f->dir);
  assert_int_equal(link(f->snap, hard), 0);
  assert_int_equal(open_with(&e, f, "never", f->snap, hard), PZ_ECONFIG);
  assert_null(e);
}

static pid_t dead_pid(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, NULL, 0);
  return pid; /* gone (reused within this test only by a miracle) */
}

static void touch(const char *path) {
  int fd = open(path, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "personal data", 13), 13);
  close(fd);
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* The temporary files of a save or a journal rotation whose process died
 * are removed at the next open or save of that store; a live writer's,
 * and files that only look alike, stay. */
static void test_misuse_leftover_temporary_files(void **state) {
  fx *f = *state;
  char dead_snap[200], dead_jr[200], live[200], alike[200], other[200];
  pid_t d = dead_pid();
  snprintf(dead_snap, sizeof dead_snap, "%s.tmp.%ld.7", f->snap, (long)d);
  snprintf(dead_jr, sizeof dead_jr, "%s.tmp.%ld.0", f->journal, (long)d);
  snprintf(live, sizeof live, "%s.tmp.%ld.1", f->snap, (long)getppid());
  snprintf(alike, sizeof alike, "%s.tmp.%ld.x", f->snap, (long)d);
  snprintf(other, sizeof other, "%s/other.tmp.%ld.1", f->dir, (long)d);
  const char *all[] = {dead_snap, dead_jr, live, alike, other};
  for (int i = 0; i < 5; i++) touch(all[i]);
  pz_engine *e = open_store(f, "never");
  assert_false(exists(dead_snap));
  assert_false(exists(dead_jr));
  assert_true(exists(live));
  assert_true(exists(alike));
  assert_true(exists(other));
  touch(dead_snap); /* a save sweeps too */
  track_n(e, "ann", 1);
  assert_int_equal(pz_engine_save(e, NULL), PZ_OK);
  assert_false(exists(dead_snap));
  pz_engine_free(e);
}

/* A store in a directory that does not exist: refused with what to do
 * (1.0.0: a bare "No such file or directory"). */
static void test_misuse_missing_directory(void **state) {
  fx *f = *state;
  char journal[200], snap[200];
  snprintf(journal, sizeof journal, "%s/no/such/dir/journal", f->dir);
  snprintf(snap, sizeof snap, "%s/no/such/dir/snap", f->dir);
  pz_engine *e;
  assert_int_equal(open_with(&e, f, "never", snap, journal), PZ_EIO);
  assert_null(e);
  assert_non_null(strstr(pz_errmsg(), "directory does not exist"));
  e = open_store(f, "never");
  assert_int_equal(pz_engine_save(e, snap), PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "directory does not exist"));
  pz_engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_misuse_journal_deleted_always,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_misuse_journal_deleted_sync, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_misuse_journal_replaced, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_misuse_save_onto_journal, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_misuse_config_one_file_twice,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_misuse_leftover_temporary_files,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_misuse_missing_directory, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
