/* pz_recommend: content and popularity blend, cold start, seen items,
 * reasons, consent gate, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

#define T0 (1700000000000LL)

typedef struct fixture {
  test_alloc ta;
  test_clock tc;
  pz_engine *e;
} fixture;

typedef struct item_def {
  const char *id, *feat[2];
} item_def;

/* A fixture whose engine holds these items, two features each. */
static fixture *open_items(const char *config, const item_def *items,
                           size_t n) {
  fixture *f = test_calloc(1, sizeof *f);
  f->tc.now = T0;
  if (test_open(&f->e, &f->ta, &f->tc, config) != PZ_OK) return NULL;
  for (size_t i = 0; i < n; i++)
    if (pz_item_put(f->e, items[i].id, items[i].feat, NULL, 2) != PZ_OK)
      return NULL;
  return f;
}

/* A small record shop: three jazz, three rock, one folk. */
static int open_with(void **state, const char *config) {
  static const item_def items[] = {
      {"j1", {"genre=jazz", "decade=1950s"}}, {"j2", {"genre=jazz", "decade=1960s"}},
      {"j3", {"genre=jazz", "decade=1970s"}}, {"r1", {"genre=rock", "decade=1960s"}},
      {"r2", {"genre=rock", "decade=1970s"}}, {"r3", {"genre=rock", "decade=1980s"}},
      {"f1", {"genre=folk", "decade=1960s"}}};
  fixture *f = open_items(config, items, sizeof items / sizeof *items);
  *state = f;
  return f ? 0 : -1;
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

static void test_rank_cold_user_gets_popularity(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 5; i++) {
    char u[16];
    snprintf(u, sizeof u, "u%d", i);
    assert_int_equal(pz_track(f->e, u, "r2", "view", 1, T0), PZ_OK);
    if (i < 3) assert_int_equal(pz_track(f->e, u, "f1", "view", 1, T0), PZ_OK);
  }
  assert_int_equal(pz_track(f->e, "u0", "j1", "view", 1, T0), PZ_OK);
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, f->e, "newcomer", 10, NULL), PZ_OK);
  assert_int_equal(pz_recs_count(r), 7);
  assert_string_equal(pz_recs_item(r, 0), "r2");
  assert_string_equal(pz_recs_item(r, 1), "f1");
  assert_string_equal(pz_recs_item(r, 2), "j1");
  assert_int_equal(pz_recs_reason_code(r, 0), PZ_REASON_POPULAR);
  assert_string_equal(pz_recs_reason(r, 0), "popular");
  assert_true(pz_recs_contribution(r, 0, PZ_SIGNAL_CONTENT) == 0.0);
  /* never-touched items come last, in catalogue order, said as such */
  assert_string_equal(pz_recs_item(r, 3), "j2");
  assert_string_equal(pz_recs_item(r, 4), "j3");
  assert_int_equal(pz_recs_reason_code(r, 3), PZ_REASON_FALLBACK);
  for (size_t i = 1; i < pz_recs_count(r); i++)
    assert_true(pz_recs_score(r, i) <= pz_recs_score(r, i - 1));
  pz_recs_free(r);
}

static void test_rank_interests_drive_content(void **state) {
  fixture *f = *state;
  /* rock is popular, but this listener buys jazz */
  for (int i = 0; i < 20; i++) {
    char u[16];
    snprintf(u, sizeof u, "crowd%d", i);
    assert_int_equal(pz_track(f->e, u, "r1", "view", 1, T0), PZ_OK);
  }
  assert_int_equal(pz_track(f->e, "fan", "j1", "purchase", 1, T0), PZ_OK);
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, f->e, "fan", 3, NULL), PZ_OK);
  assert_int_equal(pz_recs_count(r), 3);
  assert_true(strcmp(pz_recs_item(r, 0), "j2") == 0 ||
              strcmp(pz_recs_item(r, 0), "j3") == 0);
  assert_int_equal(pz_recs_reason_code(r, 0), PZ_REASON_CONTENT);
  assert_string_equal(pz_recs_reason(r, 0), "matches your interest in genre=jazz");
  /* score is the sum of the weighted contributions */
  double sum = pz_recs_contribution(r, 0, PZ_SIGNAL_CONTENT) +
               pz_recs_contribution(r, 0, PZ_SIGNAL_POPULARITY);
  assert_true(fabs(sum - pz_recs_score(r, 0)) < 1e-5);
  /* cosine of (jazz+1950s) and (jazz+1960s) is 1/2 */
  assert_true(fabs(pz_recs_contribution(r, 0, PZ_SIGNAL_CONTENT) - 0.5) < 1e-5);
  assert_int_equal(test_position(r, "j1"), -1); /* already bought */
  pz_recs_free(r);

  /* include_seen brings it back, at the top */
  pz_recommend_options o;
  assert_int_equal(pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION), PZ_OK);
  o.include_seen = 1;
  assert_int_equal(pz_recommend(&r, f->e, "fan", 3, &o), PZ_OK);
  assert_string_equal(pz_recs_item(r, 0), "j1");
  pz_recs_free(r);
}

/* The ranking follows the person's latest behaviour at once. */
static void test_rank_reacts_to_new_events(void **state) {
  fixture *f = *state;
  assert_int_equal(pz_track(f->e, "sam", "j1", "view", 1, T0), PZ_OK);
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, f->e, "sam", 1, NULL), PZ_OK);
  assert_non_null(strstr(pz_recs_reason(r, 0), "genre=jazz"));
  pz_recs_free(r);
  for (int i = 0; i < 3; i++)
    assert_int_equal(pz_track(f->e, "sam", "r3", "purchase", 1, T0 + 1000), PZ_OK);
  assert_int_equal(pz_recommend(&r, f->e, "sam", 1, NULL), PZ_OK);
  assert_non_null(strstr(pz_recs_item(r, 0), "r"));
  assert_non_null(strstr(pz_recs_reason(r, 0), "genre=rock"));
  pz_recs_free(r);
}

static void test_rank_removed_items_are_not_recommended(void **state) {
  fixture *f = *state;
  assert_int_equal(pz_track(f->e, "tim", "j1", "view", 1, T0), PZ_OK);
  assert_int_equal(pz_item_remove(f->e, "j2"), PZ_OK);
  assert_int_equal(pz_item_remove(f->e, "j2"), PZ_ENOTFOUND);
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, f->e, "tim", 10, NULL), PZ_OK);
  assert_int_equal(pz_recs_count(r), 5); /* 7 - removed - seen */
  assert_int_equal(test_position(r, "j2"), -1);
  pz_recs_free(r);
  size_t n;
  assert_int_equal(pz_item_count(&n, f->e), PZ_OK);
  assert_int_equal(n, 6);
  /* putting it back revives it */
  const char *feat[] = {"genre=jazz"};
  assert_int_equal(pz_item_put(f->e, "j2", feat, NULL, 1), PZ_OK);
  assert_int_equal(pz_item_count(&n, f->e), PZ_OK);
  assert_int_equal(n, 7);
  assert_int_equal(pz_recommend(&r, f->e, "tim", 10, NULL), PZ_OK);
  assert_int_equal(test_position(r, "j2"), 0);
  pz_recs_free(r);
}

/* No consent: nothing is read from the profile, so nothing personal shows. */
static void test_rank_consent_gate(void **state) {
  fixture *f = *state;
  assert_int_equal(pz_track(f->e, "una", "j1", "purchase", 1, T0), PZ_OK);
  assert_int_equal(pz_track(f->e, "crowd", "r1", "view", 1, T0), PZ_OK);
  assert_int_equal(pz_profile_set_consent(f->e, "una", "personalization", 0), PZ_OK);
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, f->e, "una", 7, NULL), PZ_OK);
  assert_int_equal(pz_recs_count(r), 7);
  assert_string_equal(pz_recs_item(r, 0), "r1");
  for (size_t i = 0; i < pz_recs_count(r); i++)
    assert_int_not_equal(pz_recs_reason_code(r, i), PZ_REASON_CONTENT);
  pz_recs_free(r);
}

static void test_rank_limits_and_weights(void **state) {
  fixture *f;
  (void)state;
  assert_int_equal(open_with((void **)&f, "ranking:\n  max_k: 3\n"
                                          "  popularity_weight: 0\n"),
                   0);
  pz_recs *r = (pz_recs *)1;
  assert_int_equal(pz_recommend(&r, f->e, "x", 4, NULL), PZ_ERANGE);
  assert_null(r);
  assert_non_null(strstr(pz_errmsg(), "max_k"));
  assert_int_equal(pz_recommend(&r, f->e, "x", 0, NULL), PZ_EINVAL);
  assert_int_equal(pz_recommend(&r, f->e, "x", 3, NULL), PZ_OK);
  assert_int_equal(pz_recs_count(r), 3);
  /* with no weight on popularity and no interests, every score is 0 */
  for (size_t i = 0; i < 3; i++) assert_true(pz_recs_score(r, i) == 0.0);
  assert_string_equal(pz_recs_item(r, 0), "j1"); /* catalogue order */
  pz_recs_free(r);
  void *s = f;
  teardown(&s);
}

static void test_rank_empty_catalogue(void **state) {
  (void)state;
  pz_engine *e;
  assert_int_equal(pz_engine_open(&e, NULL), PZ_OK);
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, e, "anyone", 10, NULL), PZ_OK);
  assert_int_equal(pz_recs_count(r), 0);
  assert_null(pz_recs_item(r, 0));
  assert_true(isnan(pz_recs_score(r, 0)));
  pz_recs_entry out[1] = {{.version = PZ_RECS_ENTRY_VERSION}};
  size_t got = 99;
  assert_int_equal(pz_recs_entries(out, 1, &got, r, 0), PZ_OK);
  assert_int_equal(got, 0);
  pz_recs_free(r);
  pz_engine_free(e);
}

/* Results are independent objects: they outlive the engine. */
static void test_rank_result_outlives_engine(void **state) {
  fixture *f = *state;
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, f->e, "someone", 2, NULL), PZ_OK);
  pz_engine_free(f->e);
  f->e = NULL;
  assert_int_equal(pz_recs_count(r), 2);
  assert_string_equal(pz_recs_item(r, 0), "j1");
  /* and so do the entries, borrowed from the list (since 1.1) */
  pz_recs_entry out[2] = {{.version = PZ_RECS_ENTRY_VERSION}};
  size_t got;
  assert_int_equal(pz_recs_entries(out, 2, &got, r, 0), PZ_OK);
  assert_int_equal(got, 2);
  assert_string_equal(out[0].item, "j1");
  assert_ptr_equal(out[1].item, pz_recs_item(r, 1));
  pz_recs_free(r);
}

/* Wider hash spaces use the hashed scratch; results must be the same. */
static void test_rank_same_with_wide_hashing(void **state) {
  fixture *narrow, *wide;
  (void)state;
  assert_int_equal(open_with((void **)&narrow, NULL), 0);
  assert_int_equal(open_with((void **)&wide, "hashing: {bits: 26}\n"), 0);
  fixture *fs[2] = {narrow, wide};
  pz_recs *r[2];
  for (int w = 0; w < 2; w++) {
    assert_int_equal(pz_track(fs[w]->e, "p", "j1", "view", 1, T0), PZ_OK);
    assert_int_equal(pz_track(fs[w]->e, "p", "r2", "view", 1, T0), PZ_OK);
    assert_int_equal(pz_recommend(&r[w], fs[w]->e, "p", 5, NULL), PZ_OK);
  }
  assert_int_equal(pz_recs_count(r[0]), pz_recs_count(r[1]));
  for (size_t i = 0; i < pz_recs_count(r[0]); i++) {
    assert_string_equal(pz_recs_item(r[0], i), pz_recs_item(r[1], i));
    assert_true(fabs(pz_recs_score(r[0], i) - pz_recs_score(r[1], i)) < 1e-6);
  }
  for (int w = 0; w < 2; w++) {
    pz_recs_free(r[w]);
    void *s = fs[w];
    teardown(&s);
  }
}

/* ---- pz_recs_entries: the bulk accessor (since 1.1) ---------------------- */

/* A list where every field of an entry has something to say: CF with
 * because-items, content, popularity, the person's more/less, a boost, a
 * bury and a business pin (rule, flags, factors). */
static const char entries_cfg[] =
    "ranking: {content_weight: 1, popularity_weight: 0.5, cf_weight: 1}\n"
    "cf: {algorithm: knn, weighting: none, neighbours: 10}\n"
    "rules:\n"
    "  - {name: house_boost, kind: boost, factor: 2, match: {features: "
    "[label=house]}}\n"
    "  - {name: bury_red, kind: bury, factor: 0.5, match: {features: "
    "[label=red]}}\n"
    "  - {name: pick, kind: pin, item: H, position: 1}\n";

static int setup_entries(void **state) {
  static const item_def items[] = {
      {"A", {"genre=jazz", "label=house"}}, {"B", {"genre=jazz", "label=red"}},
      {"C", {"genre=rock", "label=house"}}, {"D", {"genre=rock", "label=blue"}},
      {"E", {"genre=folk", "label=red"}},   {"F", {"genre=folk", "label=blue"}},
      {"G", {"genre=jazz", "label=blue"}},  {"H", {"genre=pop", "label=house"}}};
  fixture *f = open_items(entries_cfg, items, sizeof items / sizeof *items);
  if (!f) return -1;
  static const char *const events[][2] = {
      {"u1", "A"}, {"u1", "B"}, {"u2", "A"}, {"u2", "B"}, {"u2", "C"},
      {"u3", "B"}, {"u3", "C"}, {"u3", "D"}, {"u4", "C"}, {"u4", "D"},
      {"u4", "E"}, {"u5", "F"}, {"u5", "G"}};
  for (size_t i = 0; i < sizeof events / sizeof *events; i++)
    if (pz_track(f->e, events[i][0], events[i][1], "view", 1, T0) != PZ_OK)
      return -1;
  if (pz_cf_train(f->e, NULL) != PZ_OK) return -1;
  if (pz_override_more(f->e, "u1", "genre=rock", 0) != PZ_OK) return -1;
  if (pz_override_less(f->e, "u1", "genre=folk", 0) != PZ_OK) return -1;
  *state = f;
  return 0;
}

static bool same_double(double a, double b) {
  return (isnan(a) && isnan(b)) || a == b;
}

/* Entry e is item i of r as the single accessors report it, the strings
 * borrowed from r itself (the same pointers). */
static void assert_entry_is(const pz_recs_entry *e, const pz_recs *r,
                            size_t i) {
  assert_int_equal(e->version, PZ_RECS_ENTRY_VERSION);
  assert_ptr_equal(e->item, pz_recs_item(r, i));
  assert_true(same_double(e->score, pz_recs_score(r, i)));
  assert_int_equal(e->reason_code, pz_recs_reason_code(r, i));
  assert_int_equal(e->flags, pz_recs_flags(r, i));
  assert_ptr_equal(e->reason, pz_recs_reason(r, i));
  for (int s = PZ_SIGNAL_CONTENT; s <= PZ_SIGNAL_CF; s++)
    assert_true(same_double(e->contribution[s - 1],
                            pz_recs_contribution(r, i, s)));
  for (int src = PZ_FACTOR_PERSON; src <= PZ_FACTOR_RULES; src++)
    assert_true(same_double(e->factor[src - 1], pz_recs_factor(r, i, src)));
  assert_ptr_equal(e->rule, pz_recs_rule(r, i));
  size_t nb = 0;
  while (pz_recs_because(r, i, nb)) nb++;
  assert_int_equal(e->n_because, nb);
  for (size_t j = 0; j < 3; j++) {
    assert_ptr_equal(e->because[j], pz_recs_because(r, i, j));
    assert_true(same_double(e->because_share[j],
                            pz_recs_because_share(r, i, j)));
  }
}

static void test_rank_entries_equal_the_accessors(void **state) {
  fixture *f = *state;
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, f->e, "u1", 10, NULL), PZ_OK);
  size_t n = pz_recs_count(r);
  assert_int_equal(n, 6); /* C .. H: A and B were seen */
  pz_recs_entry out[10];
  memset(out, 0xAB, sizeof out);
  assert_int_equal(pz_recs_entry_init(&out[0], PZ_RECS_ENTRY_VERSION), PZ_OK);
  size_t got = 99;
  long allocations = f->ta.count;
  assert_int_equal(pz_recs_entries(out, 10, &got, r, 0), PZ_OK);
  assert_int_equal(got, n);
  /* nothing allocated, so out of memory is not a case to test */
  assert_int_equal(f->ta.count, allocations);
  /* the list covers what the entry has: else this test proves little */
  bool because = false, rule = false, more = false, less = false,
       boosted = false, buried = false, pinned = false, reason = false;
  for (size_t i = 0; i < n; i++) {
    assert_entry_is(&out[i], r, i);
    because |= out[i].n_because > 0;
    rule |= out[i].rule != NULL;
    more |= (out[i].flags & PZ_RECS_MORE) != 0;
    less |= (out[i].flags & PZ_RECS_LESS) != 0;
    boosted |= (out[i].flags & PZ_RECS_BOOSTED) != 0;
    buried |= (out[i].flags & PZ_RECS_BURIED) != 0;
    pinned |= out[i].reason_code == PZ_REASON_EDITORIAL;
    reason |= out[i].reason[0] != '\0';
  }
  assert_true(because && rule && more && less && boosted && buried &&
              pinned && reason);
  /* spot checks against known values, not only against the accessors */
  assert_string_equal(out[1].item, "H");
  assert_string_equal(out[1].rule, "pick");
  assert_non_null(strstr(out[1].reason, "featured (rule pick)"));
  for (size_t i = 0; i < n; i++)
    if (strcmp(out[i].item, "C") == 0) {
      assert_true(out[i].factor[PZ_FACTOR_PERSON - 1] > 1);
      assert_true(out[i].factor[PZ_FACTOR_RULES - 1] == 2.0);
      assert_true(out[i].n_because >= 1);
      assert_non_null(out[i].because[0]);
      assert_null(out[i].because[2]);
      assert_true(isnan(out[i].because_share[2]));
    }
  /* entries past *n_out are not written */
  unsigned char canary[sizeof out[0]];
  memset(canary, 0xAB, sizeof canary);
  assert_memory_equal(&out[n], canary, sizeof canary);
  pz_recs_free(r);

  /* a terse list ("" reasons, no because) and a similar-items list */
  pz_recommend_options o;
  assert_int_equal(pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION),
                   PZ_OK);
  o.terse = 1;
  assert_int_equal(pz_recommend(&r, f->e, "u1", 10, &o), PZ_OK);
  assert_int_equal(pz_recs_entries(out, 10, &got, r, 0), PZ_OK);
  assert_int_equal(got, pz_recs_count(r));
  for (size_t i = 0; i < got; i++) {
    assert_entry_is(&out[i], r, i);
    assert_string_equal(out[i].reason, "");
  }
  pz_recs_free(r);
  assert_int_equal(pz_similar_items(&r, f->e, "C", 10), PZ_OK);
  assert_true(pz_recs_count(r) > 0);
  assert_int_equal(pz_recs_entries(out, 10, &got, r, 0), PZ_OK);
  assert_int_equal(got, pz_recs_count(r));
  for (size_t i = 0; i < got; i++) assert_entry_is(&out[i], r, i);
  pz_recs_free(r);
}

/* Pages of any size put together give the whole list, in order. */
static void test_rank_entries_paging(void **state) {
  fixture *f = *state;
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, f->e, "u1", 10, NULL), PZ_OK);
  size_t n = pz_recs_count(r);
  assert_int_equal(n, 6);
  for (size_t cap = 1; cap <= n + 1; cap++) {
    size_t from = 0, got;
    pz_recs_entry page[8];
    assert_int_equal(pz_recs_entry_init(&page[0], 1), PZ_OK);
    do {
      assert_int_equal(pz_recs_entries(page, cap, &got, r, from), PZ_OK);
      assert_int_equal(got, from + cap <= n ? cap : n - from);
      for (size_t j = 0; j < got; j++) assert_entry_is(&page[j], r, from + j);
      from += got;
    } while (got == cap);
    assert_int_equal(from, n);
  }
  /* at and past the end: nothing, and no error */
  pz_recs_entry one = {.version = PZ_RECS_ENTRY_VERSION};
  size_t got = 99;
  assert_int_equal(pz_recs_entries(&one, 1, &got, r, n), PZ_OK);
  assert_int_equal(got, 0);
  got = 99;
  assert_int_equal(pz_recs_entries(&one, 1, &got, r, SIZE_MAX), PZ_OK);
  assert_int_equal(got, 0);
  assert_null(one.item);
  /* only out[0].version is read; each entry written gets it */
  pz_recs_entry two[2];
  memset(two, 0, sizeof two);
  two[0].version = PZ_RECS_ENTRY_VERSION;
  two[1].version = 77;
  assert_int_equal(pz_recs_entries(two, 2, &got, r, 4), PZ_OK);
  assert_int_equal(got, 2);
  assert_entry_is(&two[1], r, 5);
  pz_recs_free(r);
}

static void test_rank_entries_bad_input(void **state) {
  fixture *f = *state;
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, f->e, "u1", 10, NULL), PZ_OK);
  pz_recs_entry out[2];
  memset(out, 0xAB, sizeof out);
  out[0].version = PZ_RECS_ENTRY_VERSION;
  pz_recs_entry before[2];
  memcpy(before, out, sizeof out);
  size_t got;
  /* NULL count, list, buffer: PZ_EINVAL, *n_out 0, out untouched */
  assert_int_equal(pz_recs_entries(out, 2, NULL, r, 0), PZ_EINVAL);
  got = 99;
  assert_int_equal(pz_recs_entries(out, 2, &got, NULL, 0), PZ_EINVAL);
  assert_int_equal(got, 0);
  assert_non_null(strstr(pz_errmsg(), "recs"));
  got = 99;
  assert_int_equal(pz_recs_entries(NULL, 2, &got, r, 0), PZ_EINVAL);
  assert_int_equal(got, 0);
  assert_non_null(strstr(pz_errmsg(), "out"));
  assert_memory_equal(out, before, sizeof out);
  /* cap 0: nothing written, out not read, so it may be NULL */
  got = 99;
  assert_int_equal(pz_recs_entries(NULL, 0, &got, r, 0), PZ_OK);
  assert_int_equal(got, 0);
  /* unknown layouts: PZ_EVERSION, even past the end, out untouched */
  static const unsigned int bad[] = {0, PZ_RECS_ENTRY_VERSION + 1, 0xABABABABu};
  for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
    out[0].version = bad[b];
    memcpy(before, out, sizeof out);
    got = 99;
    assert_int_equal(pz_recs_entries(out, 2, &got, r, 0), PZ_EVERSION);
    assert_int_equal(got, 0);
    assert_int_equal(pz_recs_entries(out, 2, &got, r, 100), PZ_EVERSION);
    assert_memory_equal(out, before, sizeof out);
    assert_non_null(strstr(pz_errmsg(), "version"));
  }
  /* the _init function: NULL and unknown versions; it zeroes the rest */
  assert_int_equal(pz_recs_entry_init(NULL, PZ_RECS_ENTRY_VERSION), PZ_EINVAL);
  assert_int_equal(pz_recs_entry_init(&out[0], 0), PZ_EVERSION);
  assert_int_equal(pz_recs_entry_init(&out[0], PZ_RECS_ENTRY_VERSION + 1),
                   PZ_EVERSION);
  assert_int_equal(out[0].version, 0xABABABABu); /* untouched on failure */
  assert_int_equal(pz_recs_entry_init(&out[0], PZ_RECS_ENTRY_VERSION), PZ_OK);
  pz_recs_entry zero;
  memset(&zero, 0, sizeof zero);
  zero.version = PZ_RECS_ENTRY_VERSION;
  assert_memory_equal(&out[0], &zero, sizeof zero);
  pz_recs_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_rank_cold_user_gets_popularity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rank_interests_drive_content, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rank_reacts_to_new_events, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rank_removed_items_are_not_recommended, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rank_consent_gate, setup, teardown),
      cmocka_unit_test(test_rank_limits_and_weights),
      cmocka_unit_test(test_rank_empty_catalogue),
      cmocka_unit_test_setup_teardown(test_rank_result_outlives_engine, setup, teardown),
      cmocka_unit_test(test_rank_same_with_wide_hashing),
      cmocka_unit_test_setup_teardown(test_rank_entries_equal_the_accessors, setup_entries, teardown),
      cmocka_unit_test_setup_teardown(test_rank_entries_paging, setup_entries, teardown),
      cmocka_unit_test_setup_teardown(test_rank_entries_bad_input, setup_entries, teardown),
  };
  return cmocka_run_group_tests_name("rank", tests, NULL, NULL);
}
