/* Fail the n-th allocation for every n along a scripted workload (open,
 * items, events, attributes, consent, merge, interests, export, recommend,
 * erase, free). Every call must either succeed or fail with PZ_ENOMEM,
 * leave the engine consistent, and nothing may leak. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

#define T0 1700000000000LL

typedef struct tally {
  int items;        /* items that exist: put, or created by an event */
  bool made[13];
  int events_alice; /* successful tracks for alice */
  int failures;     /* calls that failed with PZ_ENOMEM */
} tally;

#define STEP(call, okvar)                                                     \
  do {                                                                        \
    int rc_ = (call);                                                         \
    if (rc_ == PZ_OK) {                                                       \
      okvar;                                                                  \
    } else {                                                                  \
      if (rc_ != PZ_ENOMEM)                                                   \
        fail_msg("%s returned %d (%s) with allocation %ld failing", #call,   \
                 rc_, pz_errmsg(), ta->fail_at);                              \
      t->failures++;                                                          \
    }                                                                         \
  } while (0)

static void workload(test_alloc *ta, tally *t) {
  test_clock tc = {T0};
  pz_engine *e = NULL;
  int rc = test_open(&e, ta, &tc,
                     "profile: {history_limit: 6}\nranking: {max_k: 20}\n");
  if (rc != PZ_OK) {
    assert_int_equal(rc, PZ_ENOMEM);
    assert_null(e);
    t->failures++;
    return;
  }
  static const char *genres[] = {"genre=jazz", "genre=rock", "genre=folk"};
  char id[16];
  for (int i = 0; i < 12; i++) {
    snprintf(id, sizeof id, "item%d", i);
    const char *f[] = {genres[i % 3], i % 2 ? "decade=1960s" : "decade=1970s",
                       "tag=vinyl"};
    STEP(pz_item_put(e, id, f, NULL, 3), t->made[i] = true);
  }
  /* an event on an item not in the catalogue creates it */
  int alice = 0, bob = 0;
  for (int i = 0; i < 10; i++) {
    snprintf(id, sizeof id, "item%d", i % 12);
    STEP(pz_track(e, "alice", id, i % 3 ? "view" : "purchase", 1, T0 + i),
         (t->events_alice++, alice = 1, t->made[i] = true));
    STEP(pz_track(e, "bob", id, "view", 1, T0 + i),
         (bob = 1, t->made[i] = true));
  }
  STEP(pz_track(e, "bob", "mystery", "click", 1, T0 + 50),
       (bob = 1, t->made[12] = true));
  STEP(pz_profile_set_string(e, "alice", "city", "Lyon"), alice = 1);
  STEP(pz_profile_set_number(e, "alice", "age", 40), alice = 1);
  STEP(pz_profile_set_consent(e, "alice", "ads_sharing", 1), (void)0);
  STEP(pz_profile_set_consent(e, "carol", "personalization", 0), (void)0);
  int anon = 0;
  STEP(pz_track(e, "anon", "item3", "view", 1, T0 + 99), anon = 1);
  STEP(pz_profile_set_bool(e, "anon", "kiosk", 1), anon = 1);
  if (anon) STEP(pz_profile_merge(e, "anon", "bob"), bob = 1);

  pz_interests *l = NULL;
  char buf[8192];
  size_t len;
  if (alice) {
    STEP(pz_profile_interests(&l, e, "alice", 5, 0), (void)0);
    pz_interests_free(l);
    STEP(pz_profile_export(buf, sizeof buf, &len, e, "alice"), (void)0);
  }
  pz_recs *r = NULL;
  STEP(pz_recommend(&r, e, "alice", 5, NULL), (void)0);
  pz_recs_free(r);
  pz_svec *v = NULL;
  STEP(pz_svec_new(&v, e), (void)0);
  if (v) {
    STEP(pz_svec_add_feature(v, "genre=jazz", 1.0), (void)0);
    uint32_t ix[2];
    double val[2];
    size_t n;
    STEP(pz_svec_top(ix, val, 2, &n, v, 2), (void)0);
    pz_svec_free(v);
  }
  if (bob) STEP(pz_profile_erase(e, "bob"), (void)0);

  /* the allocator works again: the engine must be consistent */
  long saved = ta->fail_at;
  ta->fail_at = 0;
  size_t n;
  for (int i = 0; i < 13; i++) t->items += t->made[i];
  assert_int_equal(pz_item_count(&n, e), PZ_OK);
  assert_int_equal(n, (size_t)t->items);
  if (alice) {
    assert_int_equal(pz_profile_event_count(&n, e, "alice"), PZ_OK);
    assert_int_equal(n, (size_t)(t->events_alice < 6 ? t->events_alice : 6));
  }
  assert_int_equal(pz_recommend(&r, e, "alice", 5, NULL), PZ_OK);
  assert_true(pz_recs_count(r) > 0 || t->items <= 0);
  pz_recs_free(r);
  ta->fail_at = saved;
  pz_engine_free(e);
}

static void run_all(int forever) {
  long total = 0;
  for (long n = 1;; n++) {
    test_alloc ta;
    test_alloc_reset(&ta);
    ta.fail_at = n;
    ta.fail_forever = forever;
    tally t;
    memset(&t, 0, sizeof t);
    workload(&ta, &t);
    if (ta.live_blocks != 0 || ta.bad_osize != 0)
      fail_msg("failing allocation %ld%s: %ld blocks leaked, %ld bad sizes", n,
               forever ? " onwards" : "", ta.live_blocks, ta.bad_osize);
    if (ta.count < n) { /* the whole workload ran without reaching n */
      assert_int_equal(t.failures, 0);
      total = n - 1;
      break;
    }
  }
  assert_true(total > 100); /* the workload does allocate a lot */
  print_message("      %ld allocation points checked\n", total);
}

static void test_oom_fail_once_at_every_point(void **state) {
  (void)state;
  run_all(0);
}

static void test_oom_fail_forever_from_every_point(void **state) {
  (void)state;
  run_all(1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oom_fail_once_at_every_point),
      cmocka_unit_test(test_oom_fail_forever_from_every_point),
  };
  return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
