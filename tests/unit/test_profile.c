/* Profiles: events build decayed interests, typed attributes, consent,
 * identity merge, erasure and export. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

#define DAY 86400000LL
#define T0 (1700000000000LL)

typedef struct fixture {
  test_alloc ta;
  test_clock tc;
  pz_engine *e;
} fixture;

static int open_with(void **state, const char *config) {
  fixture *f = test_calloc(1, sizeof *f);
  f->tc.now = T0;
  if (test_open(&f->e, &f->ta, &f->tc, config) != PZ_OK) return -1;
  const char *jazz[] = {"genre=jazz", "decade=1960s"};
  const char *rock[] = {"genre=rock", "decade=1970s"};
  const char *folk[] = {"genre=folk", "decade=1960s"};
  pz_item_put(f->e, "blue", jazz, NULL, 2);
  pz_item_put(f->e, "zep", rock, NULL, 2);
  pz_item_put(f->e, "dylan", folk, NULL, 2);
  *state = f;
  return 0;
}
static int setup(void **state) { return open_with(state, NULL); }
static int teardown(void **state) {
  fixture *f = *state;
  pz_engine_free(f->e);
  assert_int_equal(f->ta.live_blocks, 0);
  assert_int_equal(f->ta.bad_osize, 0);
  test_free(f);
  return 0;
}

static double interest(pz_engine *e, const char *user, const char *feature,
                       int64_t now) {
  pz_interests *l;
  assert_int_equal(pz_profile_interests(&l, e, user, 100, now), PZ_OK);
  double s = 0;
  for (size_t i = 0; i < pz_interests_count(l); i++)
    if (strcmp(pz_interests_feature(l, i), feature) == 0)
      s = pz_interests_score(l, i);
  pz_interests_free(l);
  return s;
}

static void test_profile_track_builds_weighted_interests(void **state) {
  fixture *f = *state;
  assert_int_equal(pz_track(f->e, "ann", "blue", "purchase", 1, T0), PZ_OK);
  assert_int_equal(pz_track(f->e, "ann", "zep", "view", 1, T0), PZ_OK);
  /* purchase weighs 5, view 1 */
  assert_true(fabs(interest(f->e, "ann", "genre=jazz", T0) - 5.0) < 1e-4);
  assert_true(fabs(interest(f->e, "ann", "genre=rock", T0) - 1.0) < 1e-4);
  /* decade=1960s only from the jazz record */
  assert_true(fabs(interest(f->e, "ann", "decade=1960s", T0) - 5.0) < 1e-4);
  /* a rating's value scales its weight */
  assert_int_equal(pz_track(f->e, "ann", "dylan", "rating", 4.5, T0), PZ_OK);
  assert_true(fabs(interest(f->e, "ann", "genre=folk", T0) - 4.5) < 1e-4);
  assert_true(fabs(interest(f->e, "ann", "decade=1960s", T0) - 9.5) < 1e-4);
  /* top interests come best first */
  pz_interests *l;
  assert_int_equal(pz_profile_interests(&l, f->e, "ann", 2, T0), PZ_OK);
  assert_int_equal(pz_interests_count(l), 2);
  assert_string_equal(pz_interests_feature(l, 0), "decade=1960s");
  assert_string_equal(pz_interests_feature(l, 1), "genre=jazz");
  pz_interests_free(l);
  size_t n;
  assert_int_equal(pz_profile_event_count(&n, f->e, "ann"), PZ_OK);
  assert_int_equal(n, 3);
}

static void test_profile_interest_halves_per_half_life(void **state) {
  fixture *f = *state; /* default half-life: 30 days */
  assert_int_equal(pz_track(f->e, "bo", "blue", "view", 1, T0), PZ_OK);
  assert_true(fabs(interest(f->e, "bo", "genre=jazz", T0 + 30 * DAY) - 0.5) < 1e-4);
  assert_true(fabs(interest(f->e, "bo", "genre=jazz", T0 + 60 * DAY) - 0.25) < 1e-4);
  /* a newer event counts fully at its own time */
  assert_int_equal(pz_track(f->e, "bo", "blue", "view", 1, T0 + 30 * DAY), PZ_OK);
  assert_true(fabs(interest(f->e, "bo", "genre=jazz", T0 + 30 * DAY) - 1.5) < 1e-4);
  /* the clock is the default reading time */
  f->tc.now = T0 + 60 * DAY;
  assert_true(fabs(interest(f->e, "bo", "genre=jazz", 0) - 0.75) < 1e-4);
}

/* Events years apart move the landmark instead of overflowing. */
static void test_profile_decay_landmark_moves(void **state) {
  fixture *f = *state;
  for (int y = 0; y < 12; y++) {
    f->tc.now = T0 + y * 365 * DAY; /* events a year ahead of the clock are refused */
    assert_int_equal(pz_track(f->e, "cy", "blue", "view", 1, T0 + y * 365 * DAY),
                     PZ_OK);
  }
  int64_t last = T0 + 11 * 365 * DAY;
  double s = interest(f->e, "cy", "genre=jazz", last);
  /* the newest event dominates: 1 + 2^-12.2 + ... */
  assert_true(s > 1.0 && s < 1.001);
  assert_true(isfinite(s));
}

/* Events far ahead of the clock are refused: a timestamp in microseconds
 * would otherwise outweigh every real event forever. */
static void test_profile_future_events_refused(void **state) {
  fixture *f = *state;
  assert_int_equal(pz_track(f->e, "ed", "blue", "view", 1, T0 + 366 * DAY), PZ_OK);
  assert_int_equal(pz_track(f->e, "ed", "blue", "view", 1, T0 * 1000), PZ_ERANGE);
  assert_non_null(strstr(pz_errmsg(), "366 days"));
  size_t n;
  assert_int_equal(pz_profile_event_count(&n, f->e, "ed"), PZ_OK);
  assert_int_equal(n, 1);
}

/* Extreme but valid inputs: values stay finite (the landmark moves). */
static void test_profile_extreme_values_stay_finite(void **state) {
  fixture *f = *state;
  const char *feat[] = {"genre=huge"};
  double w[] = {1e6};
  assert_int_equal(pz_item_put(f->e, "big", feat, w, 1), PZ_OK);
  for (int i = 0; i < 50; i++)
    assert_int_equal(pz_track(f->e, "gus", "big", "purchase", 1e9, T0 + i * DAY),
                     PZ_OK);
  double s = interest(f->e, "gus", "genre=huge", T0 + 49 * DAY);
  assert_true(isfinite(s) && s > 5e15);
  double pop;
  assert_int_equal(pz_item_popularity(&pop, NULL, f->e, "big", 0), PZ_OK);
  assert_true(isfinite(pop) && pop > 0);
}

static void test_profile_history_limit_keeps_newest(void **state) {
  (void)state;
  fixture *f;
  assert_int_equal(open_with((void **)&f, "profile:\n  history_limit: 5\n"), 0);
  for (int i = 0; i < 12; i++)
    assert_int_equal(pz_track(f->e, "dee", i % 2 ? "zep" : "blue", "view", 1,
                              T0 + i),
                     PZ_OK);
  size_t n;
  assert_int_equal(pz_profile_event_count(&n, f->e, "dee"), PZ_OK);
  assert_int_equal(n, 5);
  char buf[4096];
  assert_int_equal(pz_profile_export(buf, sizeof buf, &n, f->e, "dee"), PZ_OK);
  char want[64];
  snprintf(want, sizeof want, "\"ts\":%lld}]", (long long)(T0 + 11));
  assert_non_null(strstr(buf, want)); /* newest is last */
  snprintf(want, sizeof want, "\"ts\":%lld}", (long long)(T0 + 6));
  assert_null(strstr(buf, want)); /* the 7th-newest was dropped */
  void *s = f;
  teardown(&s);
}

static void test_profile_typed_attributes(void **state) {
  fixture *f = *state;
  assert_int_equal(pz_profile_set_string(f->e, "eve", "city", "Zürich"), PZ_OK);
  assert_int_equal(pz_profile_set_number(f->e, "eve", "age", 31.5), PZ_OK);
  assert_int_equal(pz_profile_set_bool(f->e, "eve", "vip", 1), PZ_OK);
  assert_int_equal(pz_profile_set_timestamp(f->e, "eve", "joined", -86400000LL),
                   PZ_OK);
  int t;
  assert_int_equal(pz_profile_get_type(&t, f->e, "eve", "city"), PZ_OK);
  assert_int_equal(t, PZ_ATTR_STRING);
  char buf[16];
  size_t len;
  assert_int_equal(pz_profile_get_string(buf, sizeof buf, &len, f->e, "eve", "city"),
                   PZ_OK);
  assert_string_equal(buf, "Zürich");
  assert_int_equal(len, strlen("Zürich"));
  assert_int_equal(pz_profile_get_string(buf, 4, &len, f->e, "eve", "city"),
                   PZ_EBUFS);
  assert_int_equal(len, strlen("Zürich"));
  double d;
  assert_int_equal(pz_profile_get_number(&d, f->e, "eve", "age"), PZ_OK);
  assert_true(d == 31.5);
  int b;
  assert_int_equal(pz_profile_get_bool(&b, f->e, "eve", "vip"), PZ_OK);
  assert_int_equal(b, 1);
  int64_t ts;
  assert_int_equal(pz_profile_get_timestamp(&ts, f->e, "eve", "joined"), PZ_OK);
  assert_true(ts == -86400000LL);
  /* strict types: a number is not a string */
  assert_int_equal(pz_profile_get_string(buf, sizeof buf, &len, f->e, "eve", "age"),
                   PZ_ETYPE);
  assert_int_equal(pz_profile_get_number(&d, f->e, "eve", "city"), PZ_ETYPE);
  /* set replaces, whatever the type */
  assert_int_equal(pz_profile_set_number(f->e, "eve", "city", 8001), PZ_OK);
  assert_int_equal(pz_profile_get_number(&d, f->e, "eve", "city"), PZ_OK);
  assert_true(d == 8001);
  assert_int_equal(pz_profile_remove_attribute(f->e, "eve", "city"), PZ_OK);
  assert_int_equal(pz_profile_get_type(&t, f->e, "eve", "city"), PZ_ENOTFOUND);
  assert_int_equal(pz_profile_remove_attribute(f->e, "eve", "city"), PZ_ENOTFOUND);
  assert_int_equal(pz_profile_get_type(&t, f->e, "nobody", "city"), PZ_ENOTFOUND);
}

static void test_profile_attribute_limit(void **state) {
  fixture *f = *state;
  char name[32];
  for (int i = 0; i < 256; i++) {
    snprintf(name, sizeof name, "a%d", i);
    assert_int_equal(pz_profile_set_number(f->e, "fay", name, i), PZ_OK);
  }
  assert_int_equal(pz_profile_set_number(f->e, "fay", "one-more", 1), PZ_ELIMIT);
  assert_int_equal(pz_profile_set_number(f->e, "fay", "a0", 7), PZ_OK);
}

static void test_profile_consent_refuse(void **state) {
  (void)state;
  fixture *f;
  assert_int_equal(open_with((void **)&f,
                             "consent:\n  defaults: {personalization: false}\n"),
                   0);
  assert_int_equal(pz_track(f->e, "gus", "blue", "view", 1, T0), PZ_ECONSENT);
  assert_non_null(strstr(pz_errmsg(), "gus"));
  size_t n;
  assert_int_equal(pz_profile_event_count(&n, f->e, "gus"), PZ_ENOTFOUND);
  uint64_t events;
  assert_int_equal(pz_item_popularity(NULL, &events, f->e, "blue", 0), PZ_OK);
  assert_int_equal(events, 0); /* nothing recorded anywhere */
  int g;
  assert_int_equal(pz_profile_get_consent(&g, f->e, "gus", "personalization"),
                   PZ_OK);
  assert_int_equal(g, 0);
  assert_int_equal(pz_profile_set_consent(f->e, "gus", "personalization", 1),
                   PZ_OK);
  assert_int_equal(pz_track(f->e, "gus", "blue", "view", 1, T0), PZ_OK);
  assert_int_equal(pz_profile_event_count(&n, f->e, "gus"), PZ_OK);
  assert_int_equal(n, 1);
  void *s = f;
  teardown(&s);
}

static void test_profile_consent_drop(void **state) {
  (void)state;
  fixture *f;
  assert_int_equal(open_with((void **)&f,
                             "consent:\n  defaults: {personalization: false}\n"
                             "  without_consent: drop\n"),
                   0);
  assert_int_equal(pz_track(f->e, "hal", "blue", "view", 1, T0), PZ_OK);
  size_t n;
  assert_int_equal(pz_profile_event_count(&n, f->e, "hal"), PZ_ENOTFOUND);
  void *s = f;
  teardown(&s);
}

static void test_profile_withdrawal_forgets_behaviour(void **state) {
  fixture *f = *state;
  assert_int_equal(pz_track(f->e, "ivy", "blue", "purchase", 1, T0), PZ_OK);
  assert_int_equal(pz_profile_set_string(f->e, "ivy", "city", "Oslo"), PZ_OK);
  double pop;
  assert_int_equal(pz_item_popularity(&pop, NULL, f->e, "blue", T0), PZ_OK);
  assert_true(pop > 4.99);
  assert_int_equal(pz_profile_set_consent(f->e, "ivy", "personalization", 0),
                   PZ_OK);
  size_t n;
  assert_int_equal(pz_profile_event_count(&n, f->e, "ivy"), PZ_OK);
  assert_int_equal(n, 0);
  assert_true(interest(f->e, "ivy", "genre=jazz", T0) == 0.0);
  assert_int_equal(pz_item_popularity(&pop, NULL, f->e, "blue", T0), PZ_OK);
  assert_true(fabs(pop) < 1e-9);
  /* stated data stays */
  char buf[16];
  assert_int_equal(pz_profile_get_string(buf, sizeof buf, &n, f->e, "ivy", "city"),
                   PZ_OK);
  /* other purposes are independent; custom purposes come from config */
  int g;
  assert_int_equal(pz_profile_get_consent(&g, f->e, "ivy", "analytics"), PZ_OK);
  assert_int_equal(g, 1);
  assert_int_equal(pz_profile_get_consent(&g, f->e, "ivy", "ads_sharing"), PZ_OK);
  assert_int_equal(g, 0);
  assert_int_equal(pz_profile_get_consent(&g, f->e, "ivy", "telepathy"),
                   PZ_ENOTFOUND);
}

static void test_profile_custom_purpose(void **state) {
  (void)state;
  fixture *f;
  assert_int_equal(open_with((void **)&f, "consent:\n  purposes: [newsletter]\n"
                                          "  defaults: {newsletter: true}\n"),
                   0);
  int g;
  assert_int_equal(pz_profile_get_consent(&g, f->e, "jo", "newsletter"), PZ_OK);
  assert_int_equal(g, 1);
  assert_int_equal(pz_profile_set_consent(f->e, "jo", "newsletter", 0), PZ_OK);
  assert_int_equal(pz_profile_get_consent(&g, f->e, "jo", "newsletter"), PZ_OK);
  assert_int_equal(g, 0);
  void *s = f;
  teardown(&s);
}

static void test_profile_merge_folds_visitor_into_account(void **state) {
  fixture *f = *state;
  assert_int_equal(pz_track(f->e, "acct", "zep", "view", 1, T0), PZ_OK);
  assert_int_equal(pz_profile_set_string(f->e, "acct", "city", "Rome"), PZ_OK);
  assert_int_equal(pz_track(f->e, "anon-1", "blue", "purchase", 1, T0 + 10), PZ_OK);
  assert_int_equal(pz_track(f->e, "anon-1", "dylan", "view", 1, T0 + 5), PZ_OK);
  assert_int_equal(pz_profile_set_string(f->e, "anon-1", "city", "Paris"), PZ_OK);
  assert_int_equal(pz_profile_set_bool(f->e, "anon-1", "kiosk", 1), PZ_OK);
  assert_int_equal(pz_profile_merge(f->e, "anon-1", "acct"), PZ_OK);
  size_t n;
  assert_int_equal(pz_profile_event_count(&n, f->e, "anon-1"), PZ_ENOTFOUND);
  assert_int_equal(pz_profile_event_count(&n, f->e, "acct"), PZ_OK);
  assert_int_equal(n, 3);
  assert_true(fabs(interest(f->e, "acct", "genre=jazz", T0 + 10) - 5.0) < 1e-4);
  assert_true(fabs(interest(f->e, "acct", "genre=rock", T0 + 10) - 1.0) < 1e-3);
  char buf[4096];
  /* the account's attribute wins; the visitor's fills the gap */
  assert_int_equal(pz_profile_get_string(buf, sizeof buf, &n, f->e, "acct", "city"),
                   PZ_OK);
  assert_string_equal(buf, "Rome");
  int b;
  assert_int_equal(pz_profile_get_bool(&b, f->e, "acct", "kiosk"), PZ_OK);
  /* histories merged in time order */
  assert_int_equal(pz_profile_export(buf, sizeof buf, &n, f->e, "acct"), PZ_OK);
  char *z = strstr(buf, "\"item\":\"zep\""), *d = strstr(buf, "\"item\":\"dylan\""),
       *u = strstr(buf, "\"item\":\"blue\"");
  assert_true(z && d && u && z < d && d < u);
  /* merging into a new account creates it; merging an unknown user fails */
  assert_int_equal(pz_profile_merge(f->e, "acct", "acct-2"), PZ_OK);
  assert_int_equal(pz_profile_event_count(&n, f->e, "acct-2"), PZ_OK);
  assert_int_equal(n, 3);
  assert_int_equal(pz_profile_merge(f->e, "ghost", "acct-2"), PZ_ENOTFOUND);
  assert_int_equal(pz_profile_merge(f->e, "acct-2", "acct-2"), PZ_EINVAL);
}

/* The newer explicit consent choice wins; without consent no behaviour
 * survives the merge. */
static void test_profile_merge_consent_newest_wins(void **state) {
  fixture *f = *state;
  f->tc.now = T0;
  assert_int_equal(pz_track(f->e, "v", "blue", "view", 1, T0), PZ_OK);
  assert_int_equal(pz_track(f->e, "k", "zep", "view", 1, T0), PZ_OK);
  f->tc.now = T0 + 100;
  assert_int_equal(pz_profile_set_consent(f->e, "k", "analytics", 1), PZ_OK);
  f->tc.now = T0 + 200;
  assert_int_equal(pz_profile_set_consent(f->e, "v", "analytics", 0), PZ_OK);
  assert_int_equal(pz_profile_merge(f->e, "v", "k"), PZ_OK);
  int g;
  assert_int_equal(pz_profile_get_consent(&g, f->e, "k", "analytics"), PZ_OK);
  assert_int_equal(g, 0);

  assert_int_equal(pz_track(f->e, "v2", "blue", "view", 1, T0), PZ_OK);
  f->tc.now = T0 + 300;
  assert_int_equal(pz_profile_set_consent(f->e, "k", "personalization", 0), PZ_OK);
  assert_int_equal(pz_profile_merge(f->e, "v2", "k"), PZ_OK);
  size_t n;
  assert_int_equal(pz_profile_event_count(&n, f->e, "k"), PZ_OK);
  assert_int_equal(n, 0);
  uint64_t events;
  assert_int_equal(pz_item_popularity(NULL, &events, f->e, "blue", 0), PZ_OK);
  assert_int_equal(events, 0);
}

static void test_profile_erase_removes_everything(void **state) {
  fixture *f = *state;
  assert_int_equal(pz_track(f->e, "kim", "blue", "purchase", 1, T0), PZ_OK);
  assert_int_equal(pz_track(f->e, "lee", "blue", "view", 1, T0), PZ_OK);
  assert_int_equal(pz_profile_set_string(f->e, "kim", "email", "kim@x.org"), PZ_OK);
  assert_int_equal(pz_profile_set_consent(f->e, "kim", "analytics", 0), PZ_OK);
  double pop;
  uint64_t events;
  assert_int_equal(pz_profile_erase(f->e, "kim"), PZ_OK);
  size_t n;
  int t;
  assert_int_equal(pz_profile_event_count(&n, f->e, "kim"), PZ_ENOTFOUND);
  assert_int_equal(pz_profile_get_type(&t, f->e, "kim", "email"), PZ_ENOTFOUND);
  char buf[256];
  assert_int_equal(pz_profile_export(buf, sizeof buf, &n, f->e, "kim"), PZ_ENOTFOUND);
  pz_interests *l;
  assert_int_equal(pz_profile_interests(&l, f->e, "kim", 5, 0), PZ_ENOTFOUND);
  assert_null(l);
  /* consent falls back to the default */
  int g;
  assert_int_equal(pz_profile_get_consent(&g, f->e, "kim", "analytics"), PZ_OK);
  assert_int_equal(g, 1);
  /* kim's share of popularity is gone, lee's stays */
  assert_int_equal(pz_item_popularity(&pop, &events, f->e, "blue", T0), PZ_OK);
  assert_int_equal(events, 1);
  assert_true(fabs(pop - 1.0) < 1e-9);
  assert_int_equal(pz_profile_count(&n, f->e), PZ_OK);
  assert_int_equal(n, 1);
  assert_int_equal(pz_profile_erase(f->e, "kim"), PZ_ENOTFOUND);
}

static void test_profile_export_json(void **state) {
  fixture *f = *state;
  assert_int_equal(pz_track(f->e, "mo \"q\"", "blue", "rating", 4, T0), PZ_OK);
  assert_int_equal(pz_profile_set_string(f->e, "mo \"q\"", "note", "line\nbreak"),
                   PZ_OK);
  assert_int_equal(pz_profile_set_bool(f->e, "mo \"q\"", "vip", 0), PZ_OK);
  size_t need;
  assert_int_equal(pz_profile_export(NULL, 0, &need, f->e, "mo \"q\""), PZ_EBUFS);
  char buf[2048];
  size_t len;
  assert_true(need < sizeof buf);
  assert_int_equal(pz_profile_export(buf, need, &len, f->e, "mo \"q\""), PZ_EBUFS);
  assert_int_equal(pz_profile_export(buf, need + 1, &len, f->e, "mo \"q\""), PZ_OK);
  assert_int_equal(len, need);
  assert_int_equal(strlen(buf), len);
  assert_non_null(strstr(buf, "\"user\":\"mo \\\"q\\\"\""));
  assert_non_null(strstr(buf, "\"hash\":{\"function\":\"XXH3_64bits_withSeed\",\"seed\":0,\"bits\":20}"));
  assert_non_null(strstr(buf, "\"note\":{\"type\":\"string\",\"value\":\"line\\nbreak\"}"));
  assert_non_null(strstr(buf, "\"vip\":{\"type\":\"bool\",\"value\":false}"));
  assert_non_null(strstr(buf, "{\"item\":\"blue\",\"type\":\"rating\",\"value\":4,\"ts\":1700000000000}"));
  assert_non_null(strstr(buf, "\"feature\":\"genre=jazz\""));
  assert_non_null(strstr(buf, "\"personalization\":{\"granted\":true,\"source\":\"default\"}"));
  /* valid JSON per python's parser */
  FILE *p = popen("python3 -c 'import json,sys; json.load(sys.stdin)' 2>&1", "w");
  if (p) {
    fputs(buf, p);
    assert_int_equal(pclose(p), 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_profile_track_builds_weighted_interests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_interest_halves_per_half_life, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_decay_landmark_moves, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_future_events_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_extreme_values_stay_finite, setup, teardown),
      cmocka_unit_test(test_profile_history_limit_keeps_newest),
      cmocka_unit_test_setup_teardown(test_profile_typed_attributes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_attribute_limit, setup, teardown),
      cmocka_unit_test(test_profile_consent_refuse),
      cmocka_unit_test(test_profile_consent_drop),
      cmocka_unit_test_setup_teardown(test_profile_withdrawal_forgets_behaviour, setup, teardown),
      cmocka_unit_test(test_profile_custom_purpose),
      cmocka_unit_test_setup_teardown(test_profile_merge_folds_visitor_into_account, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_merge_consent_newest_wins, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_erase_removes_everything, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_export_json, setup, teardown),
  };
  return cmocka_run_group_tests_name("profile", tests, NULL, NULL);
}
