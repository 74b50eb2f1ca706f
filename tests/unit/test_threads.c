/* The thread contract of 0.1: writers for different users, readers and
 * catalogue updates run at once on one engine; nothing is lost and every
 * read sees a whole result. (The full stress test with snapshots and model
 * swaps comes with the persistence issue.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

#define WRITERS 4
#define READERS 2
#define USERS_PER_WRITER 25
#define EVENTS_PER_USER 40

static pz_engine *engine;

static void *writer(void *arg) {
  int w = (int)(intptr_t)arg;
  char user[32], item[32];
  for (int k = 0; k < EVENTS_PER_USER; k++)
    for (int u = 0; u < USERS_PER_WRITER; u++) {
      snprintf(user, sizeof user, "w%d-u%d", w, u);
      snprintf(item, sizeof item, "item%d", (u * 7 + k) % 60);
      if (pz_track(engine, user, item, "view", 1, 1700000000000LL + k) != PZ_OK)
        return (void *)1;
      if (k == 5 && pz_profile_set_number(engine, user, "k", k) != PZ_OK)
        return (void *)1;
    }
  return NULL;
}

static void *reader(void *arg) {
  (void)arg;
  char user[32];
  for (int i = 0; i < 300; i++) {
    snprintf(user, sizeof user, "w%d-u%d", i % WRITERS, i % USERS_PER_WRITER);
    pz_recs *r;
    if (pz_recommend(&r, engine, user, 10, NULL) != PZ_OK) return (void *)1;
    for (size_t j = 0; j < pz_recs_count(r); j++)
      if (!pz_recs_item(r, j) || !pz_recs_reason(r, j)) return (void *)1;
    pz_recs_free(r);
    char buf[16384];
    size_t len;
    int rc = pz_profile_export(buf, sizeof buf, &len, engine, user);
    if (rc != PZ_OK && rc != PZ_ENOTFOUND && rc != PZ_EBUFS) return (void *)1;
  }
  return NULL;
}

static void *cataloguer(void *arg) {
  (void)arg;
  char item[32];
  for (int i = 0; i < 200; i++) {
    snprintf(item, sizeof item, "late%d", i);
    const char *f[] = {"genre=jazz", "tag=new"};
    if (pz_item_put(engine, item, f, NULL, 2) != PZ_OK) return (void *)1;
  }
  return NULL;
}

static void test_threads_writers_readers_catalogue(void **state) {
  (void)state;
  assert_int_equal(pz_engine_open(&engine, NULL), PZ_OK);
  test_put_items(engine, 60);
  pthread_t th[WRITERS + READERS + 1];
  for (int i = 0; i < WRITERS; i++)
    assert_int_equal(pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i), 0);
  for (int i = 0; i < READERS; i++)
    assert_int_equal(pthread_create(&th[WRITERS + i], NULL, reader, NULL), 0);
  assert_int_equal(pthread_create(&th[WRITERS + READERS], NULL, cataloguer, NULL), 0);
  for (int i = 0; i < WRITERS + READERS + 1; i++) {
    void *ret;
    assert_int_equal(pthread_join(th[i], &ret), 0);
    assert_null(ret);
  }
  size_t n;
  assert_int_equal(pz_profile_count(&n, engine), PZ_OK);
  assert_int_equal(n, WRITERS * USERS_PER_WRITER);
  assert_int_equal(pz_item_count(&n, engine), PZ_OK);
  assert_int_equal(n, 260);
  uint64_t total = 0;
  char item[32];
  for (int i = 0; i < 60; i++) {
    uint64_t c;
    snprintf(item, sizeof item, "item%d", i);
    assert_int_equal(pz_item_popularity(NULL, &c, engine, item, 0), PZ_OK);
    total += c;
  }
  assert_int_equal(total, WRITERS * USERS_PER_WRITER * EVENTS_PER_USER);
  for (int w = 0; w < WRITERS; w++) {
    char user[32];
    snprintf(user, sizeof user, "w%d-u3", w);
    assert_int_equal(pz_profile_event_count(&n, engine, user), PZ_OK);
    assert_int_equal(n, EVENTS_PER_USER);
  }
  pz_engine_free(engine);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads_writers_readers_catalogue),
  };
  return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
