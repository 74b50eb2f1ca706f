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
#include "engine/engine.h"

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

/* ---- the serving cache changes nothing ---------------------------------- */

static uint32_t xs(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* The same list, item by item: ids, scores, reasons, flags and
 * because-items. */
static void same_lists(const pz_recs *a, const pz_recs *b, int step) {
  if (pz_recs_count(a) != pz_recs_count(b))
    fail_msg("step %d: %zu items, then %zu", step,
             pz_recs_count(a), pz_recs_count(b));
  for (size_t i = 0; i < pz_recs_count(a); i++) {
    if (strcmp(pz_recs_item(a, i), pz_recs_item(b, i)) != 0 ||
        pz_recs_score(a, i) != pz_recs_score(b, i))
      fail_msg("step %d, rank %zu: %s %.17g, then %s %.17g", step,
               i, pz_recs_item(a, i), pz_recs_score(a, i), pz_recs_item(b, i),
               pz_recs_score(b, i));
    assert_int_equal(pz_recs_reason_code(a, i), pz_recs_reason_code(b, i));
    assert_string_equal(pz_recs_reason(a, i), pz_recs_reason(b, i));
    assert_int_equal(pz_recs_flags(a, i), pz_recs_flags(b, i));
    for (size_t j = 0; j < 3; j++) {
      const char *x = pz_recs_because(a, i, j), *y = pz_recs_because(b, i, j);
      assert_true((x == NULL) == (y == NULL));
      if (x) assert_string_equal(x, y);
    }
  }
}

/* The list for user, then the same request restricted to every item
 * (which takes the full scan with a plan): they must agree. */
static void same_as_restricted(pz_engine *e, const char *user, size_t k,
                               pz_recommend_options *o,
                               const char *const *all, size_t n_all,
                               int step) {
  pz_recs *a, *b;
  assert_int_equal(pz_recommend(&a, e, user, k, o), PZ_OK);
  o->restrict_to = all;
  o->n_restrict = n_all;
  assert_int_equal(pz_recommend(&b, e, user, k, o), PZ_OK);
  o->restrict_to = NULL;
  o->n_restrict = 0;
  same_lists(a, b, step);
  pz_recs_free(a);
  pz_recs_free(b);
}

static uint64_t cache_entries(pz_engine *e) {
  uint64_t n, bytes;
  pz__ucache_stats(&e->uc, &n, &bytes);
  return n;
}

/* Two engines fed the same writes, one with the per-person cache (and the
 * warming after training), one without: every list agrees exactly,
 * through tracks, trainings, merges, erasures, opt-outs, removed items and
 * rule reloads, asked once and again (the second from the cache). */
static void test_rank_cache_changes_nothing(void **state) {
  (void)state;
  static const char *const cfg[2] = {
      "cf: {algorithm: both, factors: 8, iterations: 4, neighbours: 20}\n",
      "cf: {algorithm: both, factors: 8, iterations: 4, neighbours: 20}\n"
      "ranking: {user_cache: 0}\n"};
  fixture *f[2];
  for (int w = 0; w < 2; w++) {
    f[w] = test_calloc(1, sizeof *f[w]);
    f[w]->tc.now = T0;
    assert_int_equal(test_open(&f[w]->e, &f[w]->ta, &f[w]->tc, cfg[w]), PZ_OK);
    test_put_items(f[w]->e, 60);
  }
  static const char *const rules[2] = {
      "rules:\n  - {name: b, kind: boost, factor: 3, match: {features: "
      "[genre=jazz]}}\n",
      "rules:\n  - {name: x, kind: bury, factor: 0.5, match: {features: "
      "[decade=1970s]}}\n"};
  uint32_t seed = 12345;
  int recs = 0;
  for (int step = 0; step < 1500; step++) {
    uint32_t r = xs(&seed);
    char user[16], other[16], item[16];
    snprintf(user, sizeof user, "u%u", r % 23);
    snprintf(other, sizeof other, "u%u", (r >> 8) % 23);
    snprintf(item, sizeof item, "item%u", (r >> 16) % 60);
    uint32_t op = (r >> 24) % 100;
    pz_recommend_options o;
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.include_seen = op % 7 == 0;
    o.terse = op % 5 == 0;
    for (int w = 0; w < 2; w++) {
      pz_engine *e = f[w]->e;
      f[w]->tc.now = T0 + step * 60000LL;
      if (op < 55) {
        /* an opted-out person's events are refused, in both engines */
        int rc = pz_track(e, user, item, op % 3 ? "view" : "purchase", 1, 0);
        assert_true(rc == PZ_OK || rc == PZ_ECONSENT);
      } else if (op < 58) {
        assert_int_equal(pz_cf_train(e, NULL), PZ_OK);
      } else if (op < 60) {
        int rc = pz_profile_merge(e, user, other);
        assert_true(rc == PZ_OK || rc == PZ_ENOTFOUND || rc == PZ_EINVAL);
      } else if (op < 62) {
        int rc = pz_profile_erase(e, user);
        assert_true(rc == PZ_OK || rc == PZ_ENOTFOUND);
      } else if (op < 63) {
        assert_int_equal(pz_override_opt_out(e, user, (int)(r & 1)), PZ_OK);
      } else if (op < 64) {
        int rc = pz_item_remove(e, item);
        assert_true(rc == PZ_OK || rc == PZ_ENOTFOUND);
      } else if (op < 66) {
        const char *doc = rules[r & 1];
        assert_int_equal(pz_override_rules_load(e, doc, strlen(doc)), PZ_OK);
      }
    }
    if (op < 55) continue;
    pz_recs *a, *a2, *b;
    assert_int_equal(pz_recommend(&a, f[0]->e, user, 8, &o), PZ_OK);
    assert_int_equal(pz_recommend(&a2, f[0]->e, user, 8, &o), PZ_OK);
    assert_int_equal(pz_recommend(&b, f[1]->e, user, 8, &o), PZ_OK);
    same_lists(a, b, step);
    same_lists(a2, b, step);
    recs++;
    pz_recs_free(a);
    pz_recs_free(a2);
    pz_recs_free(b);
  }
  assert_true(recs > 500);
  /* the cache did serve, and the uncached engine kept nothing */
  assert_true(cache_entries(f[0]->e) > 0);
  assert_int_equal(cache_entries(f[1]->e), 0);
  /* erasure takes a person's entry out */
  pz_recs *r;
  assert_int_equal(pz_track(f[0]->e, "eve", "item1", "view", 1, 0), PZ_OK);
  assert_int_equal(pz_recommend(&r, f[0]->e, "eve", 5, NULL), PZ_OK);
  pz_recs_free(r);
  uint64_t before = cache_entries(f[0]->e);
  assert_int_equal(pz_profile_erase(f[0]->e, "eve"), PZ_OK);
  assert_int_equal(cache_entries(f[0]->e), before - 1);
  for (int w = 0; w < 2; w++) {
    void *s = f[w];
    teardown(&s);
  }
}

/* The cache's budget: refused when negative or absurd; a tiny budget
 * keeps nothing larger than a stripe's share, and serves all the same. */
static void test_rank_cache_budget(void **state) {
  (void)state;
  pz_engine *e = NULL;
  assert_int_equal(pz_engine_open_string(&e, "ranking: {user_cache: -1}\n", 26),
                   PZ_ECONFIG);
  static const char huge[] = "ranking: {user_cache: 1099511627777}\n";
  assert_int_equal(pz_engine_open_string(&e, huge, sizeof huge - 1),
                   PZ_ECONFIG);
  assert_null(e);
  fixture *f;
  assert_int_equal(open_with((void **)&f, "ranking: {user_cache: 64}\n"), 0);
  assert_int_equal(pz_track(f->e, "p", "j1", "view", 1, T0), PZ_OK);
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, f->e, "p", 3, NULL), PZ_OK);
  assert_int_equal(pz_recs_count(r), 3);
  assert_int_equal(test_position(r, "j1"), -1);
  pz_recs_free(r);
  assert_int_equal(cache_entries(f->e), 0);
  void *s = f;
  teardown(&s);
}

/* ranking.fill: none leaves out items without a positive signal (reason
 * FALLBACK) on every path (full scan, popularity order, kNN alone, a
 * plan), while a person's pin still takes its slot; catalogue (the
 * default) fills with them. */
static size_t fallbacks(const pz_recs *r) {
  size_t n = 0;
  for (size_t i = 0; i < pz_recs_count(r); i++)
    n += pz_recs_reason_code(r, i) == PZ_REASON_FALLBACK;
  return n;
}

static void test_rank_fill_none(void **state) {
  (void)state;
  static const char *const cfgs[] = {
      "ranking: {fill: none}\n",
      "ranking: {fill: none, content_weight: 0}\n", /* popularity alone */
      "cf: {algorithm: knn, neighbours: 5}\n"
      "ranking: {fill: none, content_weight: 0, popularity_weight: 0, "
      "segment_weight: 0}\n"};
  for (size_t c = 0; c < sizeof cfgs / sizeof *cfgs; c++) {
    fixture *f = test_calloc(1, sizeof *f);
    f->tc.now = T0;
    assert_int_equal(test_open(&f->e, &f->ta, &f->tc, cfgs[c]), PZ_OK);
    test_put_items(f->e, 60);
    for (int j = 0; j < 40; j++) {
      char user[16], item[16];
      snprintf(user, sizeof user, "u%d", j % 8);
      snprintf(item, sizeof item, "item%d", (j * 7) % 20);
      assert_int_equal(pz_track(f->e, user, item, "view", 1, T0), PZ_OK);
    }
    if (c == 2) assert_int_equal(pz_cf_train(f->e, NULL), PZ_OK);
    /* the popularity order made, so that popularity alone walks it */
    pz__catalog_wrlock(&f->e->catalog);
    assert_int_equal(pz__catalog_pop_reorder(&f->e->catalog), PZ_OK);
    pz__catalog_unlock(&f->e->catalog);
    for (int u = 0; u < 9; u++) { /* u8: a stranger */
      char user[16];
      snprintf(user, sizeof user, "u%d", u);
      pz_recs *r = NULL;
      assert_int_equal(pz_recommend(&r, f->e, user, 60, NULL), PZ_OK);
      assert_int_equal(fallbacks(r), 0);
      assert_true(pz_recs_count(r) < 60);
      size_t n = pz_recs_count(r) + (test_position(r, "item59") < 0);
      pz_recs_free(r);
      /* a pinned item without a signal still takes its slot */
      assert_int_equal(pz_override_pin(f->e, user, "item59", 0, 0), PZ_OK);
      assert_int_equal(pz_recommend(&r, f->e, user, 60, NULL), PZ_OK);
      assert_string_equal(pz_recs_item(r, 0), "item59");
      assert_int_equal(pz_recs_count(r), n);
      pz_recs_free(r);
    }
    void *st = f;
    teardown(&st);
  }
  /* the default fills the list with them, and says so */
  fixture *f = test_calloc(1, sizeof *f);
  f->tc.now = T0;
  assert_int_equal(test_open(&f->e, &f->ta, &f->tc, "ranking: {fill: catalogue}\n"),
                   PZ_OK);
  test_put_items(f->e, 30);
  assert_int_equal(pz_track(f->e, "ann", "item3", "view", 1, T0), PZ_OK);
  pz_recs *r = NULL;
  assert_int_equal(pz_recommend(&r, f->e, "stranger", 30, NULL), PZ_OK);
  assert_int_equal(pz_recs_count(r), 30);
  assert_int_equal(fallbacks(r), 29);
  assert_string_equal(pz_recs_reason(r, 1), "no signal yet: catalogue order");
  pz_recs_free(r);
  void *st = f;
  teardown(&st);
  /* bad values */
  pz_engine *e = NULL;
  assert_int_equal(pz_engine_open_string(&e, "ranking: {fill: popular}\n", 25),
                   PZ_ECONFIG);
  assert_non_null(strstr(pz_errmsg(), "ranking.fill"));
  assert_int_equal(pz_engine_open_string(&e, "ranking: {fill: [none]}\n", 24),
                   PZ_ECONFIG);
}

/* kNN alone is scanned from the history's neighbours (the other items
 * score alike); a request restricted to every item takes the full scan:
 * both give the same list, including items newer than the model. */
static void test_rank_knn_alone_equals_full_scan(void **state) {
  (void)state;
  fixture *f = test_calloc(1, sizeof *f);
  f->tc.now = T0;
  static const char cfg[] =
      "cf: {algorithm: knn, neighbours: 5}\n"
      "ranking: {content_weight: 0, popularity_weight: 0, segment_weight: 0}\n";
  assert_int_equal(test_open(&f->e, &f->ta, &f->tc, cfg), PZ_OK);
  test_put_items(f->e, 80);
  uint32_t seed = 99;
  for (int j = 0; j < 600; j++) {
    uint32_t r = xs(&seed);
    char user[16], item[16];
    snprintf(user, sizeof user, "u%u", r % 30);
    snprintf(item, sizeof item, "item%u", (r >> 8) % 70);
    assert_int_equal(pz_track(f->e, user, item, "view", 1, 0), PZ_OK);
  }
  assert_int_equal(pz_cf_train(f->e, NULL), PZ_OK);
  test_put_items(f->e, 90); /* item80..89: after the model */
  const char *all[90];
  char names[90][16];
  for (int i = 0; i < 90; i++) {
    snprintf(names[i], sizeof names[i], "item%d", i);
    all[i] = names[i];
  }
  for (int u = 0; u < 30; u++) {
    char user[16];
    snprintf(user, sizeof user, "u%d", u);
    for (size_t k = 1; k <= 90; k += 11) {
      pz_recommend_options o;
      pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
      same_as_restricted(f->e, user, k, &o, all, 90, u);
    }
  }
  void *s = f;
  teardown(&s);
}

/* Popularity alone is scanned from the catalogue's popularity order, the
 * items changed since it was made first; a request restricted to every
 * item takes the full scan: both give the same list, as events move
 * items, new items come and items go, before and after the order is
 * made again. */
static void popularity_vs_full_scan(const char *cfg) {
  fixture *f = test_calloc(1, sizeof *f);
  f->tc.now = T0;
  assert_int_equal(test_open(&f->e, &f->ta, &f->tc, cfg), PZ_OK);
  enum { N = 400 };
  test_put_items(f->e, N);
  static char names[N + 50][16];
  static const char *all[N + 50];
  for (int i = 0; i < N + 50; i++) {
    snprintf(names[i], sizeof names[i], "item%d", i);
    all[i] = names[i];
  }
  uint32_t seed = 7;
  int n_items = N;
  for (int step = 0; step < 3000; step++) {
    uint32_t r = xs(&seed);
    char user[16];
    snprintf(user, sizeof user, "u%u", r % 40);
    /* a few items get most events, so that ties and order both matter */
    uint32_t it = (r >> 8) % 8 ? ((r >> 12) % 30) : (r >> 12) % (uint32_t)n_items;
    f->tc.now = T0 + step * 1000LL;
    if ((r >> 24) % 97 == 0 && n_items < N + 50) {
      test_put_items(f->e, ++n_items);
    } else if ((r >> 24) % 89 == 0) {
      int rc = pz_item_remove(f->e, names[it]);
      assert_true(rc == PZ_OK || rc == PZ_ENOTFOUND);
    } else {
      assert_int_equal(pz_track(f->e, user, names[it], "view", 1, 0), PZ_OK);
    }
    if (step % 7) continue;
    pz_recommend_options o;
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.include_seen = (int)(r & 1);
    size_t k = 1 + (r >> 3) % 40;
    const char *who = (r >> 5) & 1 ? user : "nobody";
    same_as_restricted(f->e, who, k, &o, all, (size_t)n_items, step);
  }
  void *s = f;
  teardown(&s);
}

static void test_rank_popularity_order_equals_full_scan(void **state) {
  (void)state;
  popularity_vs_full_scan(
      "ranking: {content_weight: 0, cf_weight: 0, segment_weight: 0}\n");
}

/* The same with content and popularity (the defaults, no CF model): the
 * scans skip the logarithm of items that cannot enter the heap, with and
 * without a plan. */
static void test_rank_popularity_bound_equals_full_scan(void **state) {
  (void)state;
  popularity_vs_full_scan(NULL);
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

/* After a training that drops the model (CF turned off), a person's
 * entry is made again for the new state and kept: their next request is
 * served from the cache. */
static void test_rank_cache_follows_model_drop(void **state) {
  (void)state;
  fixture *f;
  assert_int_equal(
      open_with((void **)&f, "cf: {algorithm: knn, neighbours: 5}\n"), 0);
  assert_int_equal(pz_track(f->e, "p", "j1", "view", 1, T0), PZ_OK);
  assert_int_equal(pz_track(f->e, "q", "j1", "view", 1, T0), PZ_OK);
  assert_int_equal(pz_track(f->e, "q", "j2", "view", 1, T0), PZ_OK);
  assert_int_equal(pz_cf_train(f->e, NULL), PZ_OK);
  pz_cf_options o;
  pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION);
  o.algorithm = PZ_CF_OFF;
  for (int round = 0; round < 2; round++) {
    if (round) assert_int_equal(pz_cf_train(f->e, &o), PZ_OK);
    for (int ask = 0; ask < 2; ask++) {
      pz_recs *r;
      assert_int_equal(pz_recommend(&r, f->e, "p", 3, NULL), PZ_OK);
      assert_int_equal(test_position(r, "j1"), -1);
      pz_recs_free(r);
    }
    pz__uref u;
    pz__uref_make(&u, "p", 1);
    pz__shard_rdlock(&f->e->profiles, u.shard);
    uint64_t hver = pz__profiles_find(&f->e->profiles, &u)->hver;
    pz__shard_unlock(&f->e->profiles, u.shard);
    pz__uentry *ent = pz__ucache_get(&f->e->uc, &u, hver);
    assert_non_null(ent);
    assert_int_equal(ent->gen, f->e->cf.gen);
    pz__uentry_release(&f->e->alloc, ent);
  }
  void *s = f;
  teardown(&s);
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
      cmocka_unit_test(test_rank_cache_changes_nothing),
      cmocka_unit_test(test_rank_cache_budget),
      cmocka_unit_test(test_rank_cache_follows_model_drop),
      cmocka_unit_test(test_rank_knn_alone_equals_full_scan),
      cmocka_unit_test(test_rank_fill_none),
      cmocka_unit_test(test_rank_popularity_order_equals_full_scan),
      cmocka_unit_test(test_rank_popularity_bound_equals_full_scan),
      cmocka_unit_test_setup_teardown(test_rank_entries_equal_the_accessors, setup_entries, teardown),
      cmocka_unit_test_setup_teardown(test_rank_entries_paging, setup_entries, teardown),
      cmocka_unit_test_setup_teardown(test_rank_entries_bad_input, setup_entries, teardown),
  };
  return cmocka_run_group_tests_name("rank", tests, NULL, NULL);
}
