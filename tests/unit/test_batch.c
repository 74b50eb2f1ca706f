/* pz_track_batch: the same state as the same pz_track calls; a batch that
 * stops at a refused event keeps exactly the events before it; bad
 * arguments (NULL, counts, versions, a bad event anywhere) fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define T0 (1700000000000LL)
#define DAY (86400000LL)

#define OK(x)                                                                 \
  do {                                                                        \
    int rc_ = (x);                                                            \
    if (rc_ != PZ_OK) print_error("%s: %s\n", #x, pz_errmsg());               \
    assert_int_equal(rc_, PZ_OK);                                             \
  } while (0)

typedef struct fixture {
  test_alloc ta;
  test_clock tc;
} fixture;

static const char *const config =
    "events: {view: 1, purchase: 5, rating: 2}\n"
    "consent: {purposes: [marketing]}\n";

static int setup(void **state) {
  fixture *f = test_calloc(1, sizeof *f);
  f->tc.now = T0;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  assert_int_equal(f->ta.live_blocks, 0);
  assert_int_equal(f->ta.bad_osize, 0);
  test_free(f);
  return 0;
}

/* Users u0..u(nu-1), items i0..; a stream with runs of one user. */
#define N_EV 700
static char ids[N_EV][2][16];
static pz_event stream[N_EV];

static void make_stream(void) {
  static const char *const types[] = {"view", "purchase", "rating"};
  unsigned x = 12345;
  for (int k = 0; k < N_EV; k++) {
    x = x * 1103515245u + 12345u;
    int user = (int)(x >> 8) % 37;
    if (k && (x >> 4) % 3 == 0) /* runs: the same user again */
      memcpy(ids[k][0], ids[k - 1][0], sizeof ids[k][0]);
    else
      snprintf(ids[k][0], sizeof ids[k][0], "u%d", user);
    snprintf(ids[k][1], sizeof ids[k][1], "i%d", (int)(x >> 12) % 90);
    stream[k] = (pz_event){PZ_EVENT_VERSION, ids[k][0], ids[k][1],
                           types[(x >> 20) % 3], 0.5 + (x >> 24) % 5,
                           (x >> 6) % 2 ? 0 : T0 - (int64_t)((x >> 9) % 30) * DAY};
  }
}

static void put_items(pz_engine *e) {
  static const char *const g[] = {"genre=jazz", "genre=rock", "genre=pop",
                                  "decade=1960s", "decade=1990s"};
  for (int i = 0; i < 80; i++) { /* i80 .. i89 are created by events */
    char id[16];
    snprintf(id, sizeof id, "i%d", i);
    const char *fe[] = {g[i % 3], g[3 + i % 2]};
    OK(pz_item_put(e, id, fe, NULL, 2));
  }
}

/* Everything the engine says about the stream's users and items. */
static char *observe(pz_engine *e) {
  char *out = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&out, &len);
  assert_non_null(m);
  size_t n;
  OK(pz_profile_count(&n, e));
  fprintf(m, "profiles %zu\n", n);
  OK(pz_item_count(&n, e));
  fprintf(m, "items %zu\n", n);
  for (int u = 0; u < 37; u++) {
    char id[16], buf[65536];
    snprintf(id, sizeof id, "u%d", u);
    size_t l = 0;
    int rc = pz_profile_export(buf, sizeof buf, &l, e, id);
    fprintf(m, "%s %d %.*s\n", id, rc, rc ? 0 : (int)l, buf);
  }
  for (int i = 0; i < 90; i++) {
    char id[16];
    snprintf(id, sizeof id, "i%d", i);
    double pop = 0;
    uint64_t c = 0;
    int rc = pz_item_popularity(&pop, &c, e, id, T0);
    fprintf(m, "%s %d %.17g %llu\n", id, rc, pop, (unsigned long long)c);
  }
  fclose(m);
  return out;
}

static void test_batch_equals_single_calls(void **state) {
  fixture *f = *state;
  make_stream();
  pz_engine *a, *b;
  OK(test_open(&a, &f->ta, &f->tc, config));
  OK(test_open(&b, &f->ta, &f->tc, config));
  put_items(a);
  put_items(b);
  for (int k = 0; k < N_EV; k++)
    OK(pz_track(a, stream[k].user, stream[k].item, stream[k].event_type,
                stream[k].value, stream[k].ts_ms));
  /* in uneven pieces, one of them longer than the lock-holding stretch */
  size_t at = 0, pieces[] = {1, 2, 300, 97, N_EV - 400};
  for (size_t p = 0; p < sizeof pieces / sizeof *pieces; p++) {
    size_t done = 0;
    OK(pz_track_batch(b, stream + at, pieces[p], &done));
    assert_int_equal(done, pieces[p]);
    at += pieces[p];
  }
  assert_int_equal(at, N_EV);
  char *sa = observe(a), *sb = observe(b);
  assert_string_equal(sa, sb);
  free(sa);
  free(sb);
  pz_engine_free(a);
  pz_engine_free(b);
}

static void test_batch_stops_at_a_refused_event(void **state) {
  fixture *f = *state;
  make_stream();
  static char long_id[PZ_ID_MAX + 2];
  memset(long_id, 'x', sizeof long_id - 1);
  /* a refused event at each of these places, of each of these kinds */
  struct {
    const char *user, *item, *type;
    double value;
    int64_t ts;
    int code;
  } bad[] = {
      {NULL, "i1", "view", 1, 0, PZ_EINVAL},
      {"u1", NULL, "view", 1, 0, PZ_EINVAL},
      {"u1", "i1", NULL, 1, 0, PZ_EINVAL},
      {"", "i1", "view", 1, 0, PZ_EINVAL},
      {long_id, "i1", "view", 1, 0, PZ_EINVAL},
      {"u\xff", "i1", "view", 1, 0, PZ_EINVAL},
      {"u1", "i1", "nope", 1, 0, PZ_ENOTFOUND},
      {"u1", "i1", "view", NAN, 0, PZ_EINVAL},
      {"u1", "i1", "view", INFINITY, 0, PZ_EINVAL},
      {"u1", "i1", "view", 2e9, 0, PZ_ERANGE},
      {"u1", "i1", "view", 1, -5, PZ_EINVAL},
      {"u1", "i1", "view", 1, T0 + 400 * DAY, PZ_ERANGE},
  };
  size_t where[] = {0, 1, 257, 699};
  for (size_t w = 0; w < sizeof where / sizeof *where; w++) {
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
      pz_engine *a, *b;
      OK(test_open(&a, &f->ta, &f->tc, config));
      OK(test_open(&b, &f->ta, &f->tc, config));
      put_items(a);
      put_items(b);
      pz_event ev[N_EV];
      memcpy(ev, stream, sizeof ev);
      size_t at = where[w];
      ev[at] = (pz_event){PZ_EVENT_VERSION, bad[k].user, bad[k].item,
                          bad[k].type, bad[k].value, bad[k].ts};
      size_t done = 12345;
      assert_int_equal(pz_track_batch(b, ev, N_EV, &done), bad[k].code);
      assert_int_equal(done, at);
      char want[32];
      snprintf(want, sizeof want, "event %zu: ", at);
      assert_non_null(strstr(pz_errmsg(), want));
      for (size_t i = 0; i < at; i++)
        OK(pz_track(a, ev[i].user, ev[i].item, ev[i].event_type, ev[i].value,
                    ev[i].ts_ms));
      char *sa = observe(a), *sb = observe(b);
      assert_string_equal(sa, sb);
      free(sa);
      free(sb);
      pz_engine_free(a);
      pz_engine_free(b);
    }
  }
}

static void test_batch_bad_arguments(void **state) {
  fixture *f = *state;
  make_stream();
  pz_engine *e;
  OK(test_open(&e, &f->ta, &f->tc, config));
  size_t done = 7;
  assert_int_equal(pz_track_batch(NULL, stream, 1, &done), PZ_EINVAL);
  assert_int_equal(done, 0);
  assert_int_equal(pz_track_batch(e, NULL, 1, &done), PZ_EINVAL);
  OK(pz_track_batch(e, NULL, 0, &done)); /* nothing to do */
  assert_int_equal(done, 0);
  OK(pz_track_batch(e, stream, 0, NULL));
  assert_int_equal(pz_track_batch(e, stream, (size_t)PZ_BATCH_MAX + 1, &done),
                   PZ_ELIMIT);
  assert_int_equal(pz_track_batch(e, stream, SIZE_MAX, &done), PZ_ELIMIT);
  pz_event v[2] = {stream[0], stream[1]};
  v[0].version = 0;
  assert_int_equal(pz_track_batch(e, v, 2, &done), PZ_EVERSION);
  v[0].version = PZ_EVENT_VERSION + 1;
  assert_int_equal(pz_track_batch(e, v, 2, &done), PZ_EVERSION);
  assert_int_equal(done, 0);
  size_t n = 1;
  OK(pz_profile_count(&n, e));
  assert_int_equal(n, 0); /* nothing was applied */
  /* an unknown item that a refused event would have created is not */
  const char *conf_refuse =
      "events: {view: 1}\nconsent: {defaults: {personalization: false}}\n";
  pz_engine *c;
  OK(test_open(&c, &f->ta, &f->tc, conf_refuse));
  OK(pz_profile_set_consent(c, "yes", "personalization", 1));
  pz_event w[] = {{PZ_EVENT_VERSION, "yes", "old", "view", 1, 0},
                  {PZ_EVENT_VERSION, "nobody", "brand-new", "view", 1, 0}};
  assert_int_equal(pz_track_batch(c, w, 2, &done), PZ_ECONSENT);
  assert_int_equal(done, 1);
  OK(pz_item_count(&n, c));
  assert_int_equal(n, 1); /* "old" only */
  OK(pz_profile_event_count(&n, c, "yes"));
  assert_int_equal(n, 1);
  pz_engine_free(c);
  pz_engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_batch_equals_single_calls, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_batch_stops_at_a_refused_event,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_bad_arguments, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
