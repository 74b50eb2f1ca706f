/* Collaborative filtering through the public API: item-kNN similarities and
 * scores on a matrix small enough to work out by hand (cosine, TF-IDF and
 * BM25 weightings, the neighbour limit, the per-request min-max
 * normalization and the because-shares), implicit ALS (a loss that never
 * rises, determinism by seed and across thread counts), fold-in of new and
 * changed users at request time, erasure, consent withdrawal and merge,
 * stats and training options, similar items by neighbours, by factors and
 * by features, and importing a ratings file.
 *
 * The hand matrix (event type "view" has weight 1, "buy" 3, "dislike" -1):
 *
 *            A  B  C  D  E
 *       u1   1  1  .  .  .
 *       u2   1  1  4  .  .      C: one buy (3) + one view (1)
 *       u3   .  1  1  1  .      plus a dislike of A (amount -1: ignored)
 *       u4   .  .  1  1  1      plus a view of A with value 0 (ignored)
 *
 * Column norms^2: A 2, B 3, C 18, D 2, E 1. Cosines:
 *   AB 2/sqrt(6) = .816497  AC 4/sqrt(36) = .666667  BC 5/sqrt(54) = .680414
 *   BD 1/sqrt(6) = .408248  CD 2/sqrt(36) = .333333  CE 1/sqrt(18) = .235702
 *   DE 1/sqrt(2) = .707107  (AD, AE, BE: no common user, 0)
 * (tests/unit/test_cf.c's numbers were checked against a small independent
 * script; each is derived next to its assertion.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "support.h"

#define T0 INT64_C(1700000000000)
#define EPS 2e-6

/* ---- helpers ---------------------------------------------------------------- */

typedef struct own {
  test_alloc ta;
  test_clock tc;
  pz_engine *e;
} own;

static void own_open_(own *o, const char *config, int line) {
  test_alloc_reset(&o->ta);
  o->tc.now = T0;
  o->e = NULL;
  int rc = test_open(&o->e, &o->ta, &o->tc, config);
  if (rc != PZ_OK)
    fail_msg("line %d: test_open: %d %s", line, rc, pz_errmsg());
}
#define own_open(o, config) own_open_((o), (config), __LINE__)

static void own_close_(own *o, int line) {
  pz_engine_free(o->e);
  o->e = NULL;
  if (o->ta.live_blocks != 0 || o->ta.bad_osize != 0)
    fail_msg("line %d: after pz_engine_free: %ld blocks live, %ld bad osizes",
             line, o->ta.live_blocks, o->ta.bad_osize);
}
#define own_close(o) own_close_((o), __LINE__)

#define OKC(call)                                                            \
  do {                                                                       \
    int rc_ = (call);                                                        \
    if (rc_ != PZ_OK)                                                        \
      fail_msg("%s returned %d (%s): %s", #call, rc_, pz_strerror(rc_),      \
               pz_errmsg());                                                 \
  } while (0)

#define NEAR(got, want, tol)                                                 \
  do {                                                                       \
    double g_ = (got), w_ = (want);                                          \
    if (!(fabs(g_ - w_) <= (tol)))                                           \
      fail_msg("%s = %.9g, expected %.9g (%s)", #got, g_, w_, #want);        \
  } while (0)

static void track(pz_engine *e, const char *user, const char *item,
                  const char *type, double value) {
  int rc = pz_track(e, user, item, type, value, 0);
  if (rc != PZ_OK)
    fail_msg("pz_track(%s, %s, %s, %g): %d %s", user, item, type, value, rc,
             pz_errmsg());
}

static void put_plain(pz_engine *e, const char *item) {
  OKC(pz_item_put(e, item, NULL, NULL, 0));
}

/* Index of item in r, or -1. */
static long find(const pz_recs *r, const char *item) {
  for (size_t i = 0; i < pz_recs_count(r); i++)
    if (strcmp(pz_recs_item(r, i), item) == 0) return (long)i;
  return -1;
}

static long must_find(const pz_recs *r, const char *item) {
  long i = find(r, item);
  if (i < 0) fail_msg("%s is not in the list", item);
  return i;
}

static pz_recs *recommend(pz_engine *e, const char *user, size_t k) {
  pz_recs *r = NULL;
  OKC(pz_recommend(&r, e, user, k, NULL));
  return r;
}

static pz_recs *similar(pz_engine *e, const char *item, size_t k) {
  pz_recs *r = NULL;
  OKC(pz_similar_items(&r, e, item, k));
  return r;
}

static double cf_of(const pz_recs *r, const char *item) {
  return pz_recs_contribution(r, (size_t)must_find(r, item), PZ_SIGNAL_CF);
}

static double score_of(const pz_recs *r, const char *item) {
  return pz_recs_score(r, (size_t)must_find(r, item));
}

/* Everything a list must be, whatever produced it: at most k entries,
 * finite scores that are the sums of finite contributions, best first,
 * because-items only with a CF contribution, their shares in (0, 1],
 * descending and summing to at most 1, and the reason text of a CF item
 * naming its first because-item. */
static void check_list_(const pz_recs *r, size_t k, bool similar_list,
                        int line) {
  size_t n = pz_recs_count(r);
  if (n > k) fail_msg("line %d: %zu entries for k = %zu", line, n, k);
  for (size_t i = 0; i < n; i++) {
    const char *item = pz_recs_item(r, i);
    double s = pz_recs_score(r, i), sum = 0;
    if (!item || !pz_recs_reason(r, i))
      fail_msg("line %d: entry %zu has no item or reason", line, i);
    if (!isfinite(s)) fail_msg("line %d: %s has score %g", line, item, s);
    if (i && !((float)s <= (float)pz_recs_score(r, i - 1)))
      fail_msg("line %d: %s (%.9g) after %s (%.9g): not best first", line,
               item, s, pz_recs_item(r, i - 1), pz_recs_score(r, i - 1));
    for (int sig = PZ_SIGNAL_CONTENT; sig <= PZ_SIGNAL_CF; sig++) {
      double c = pz_recs_contribution(r, i, sig);
      if (!isfinite(c))
        fail_msg("line %d: %s signal %d contributes %g", line, item, sig, c);
      sum += c;
    }
    if (fabs(sum - s) > 1e-5 * (1 + fabs(s)))
      fail_msg("line %d: %s: contributions sum to %.9g, score %.9g", line,
               item, sum, s);
    double total = 0, prev = INFINITY;
    size_t nb = 0;
    for (size_t j = 0; pz_recs_because(r, i, j); j++, nb++) {
      double sh = pz_recs_because_share(r, i, j);
      if (!(sh > 0 && sh <= 1 + 1e-9))
        fail_msg("line %d: %s: because %s has share %.9g", line, item,
                 pz_recs_because(r, i, j), sh);
      if (sh > prev + 1e-12)
        fail_msg("line %d: %s: because-shares not descending", line, item);
      prev = sh;
      total += sh;
    }
    if (nb > 3) fail_msg("line %d: %s: %zu because-items", line, item, nb);
    if (total > 1 + 1e-6)
      fail_msg("line %d: %s: because-shares sum to %.9g > 1", line, item,
               total);
    if (!isnan(pz_recs_because_share(r, i, nb)))
      fail_msg("line %d: %s: share past the end is not NaN", line, item);
    if (nb && !(pz_recs_contribution(r, i, PZ_SIGNAL_CF) > 0))
      fail_msg("line %d: %s: because-items without a CF contribution", line,
               item);
    if (similar_list && nb)
      fail_msg("line %d: similar item %s has because-items", line, item);
    if (!similar_list && pz_recs_reason_code(r, i) == PZ_REASON_CF) {
      /* the strongest because-item, or (no history item pulls towards it)
       * a fixed text */
      char want[300];
      if (nb)
        snprintf(want, sizeof want, "because you interacted with %s",
                 pz_recs_because(r, i, 0));
      else
        snprintf(want, sizeof want, "suggested by your history");
      if (strcmp(pz_recs_reason(r, i), want) != 0)
        fail_msg("line %d: %s: reason \"%s\", expected \"%s\"", line, item,
                 pz_recs_reason(r, i), want);
    }
  }
}
#define check_list(r, k) check_list_((r), (k), false, __LINE__)
#define check_similar(r, k) check_list_((r), (k), true, __LINE__)

static void train(pz_engine *e, const pz_cf_options *o) {
  OKC(pz_cf_train(e, o));
}

static pz_cf_stats stats(pz_engine *e) {
  pz_cf_stats s;
  memset(&s, 0xAB, sizeof s);
  s.version = PZ_CF_STATS_VERSION;
  OKC(pz_cf_stats_get(&s, e));
  return s;
}

static pz_cf_options options(void) {
  pz_cf_options o;
  OKC(pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION));
  return o;
}

/* ---- the hand matrix ---------------------------------------------------------- */

#define HAND_BASE                                                            \
  "events: {view: 1, buy: 3, dislike: -1}\n"                                 \
  "ranking: {content_weight: 0, popularity_weight: 0, segment_weight: 0, "   \
  "cf_weight: 1}\n"

static const char *const hand_items[] = {"A", "B", "C", "D", "E"};

static void hand_data(pz_engine *e) {
  for (int i = 0; i < 5; i++) put_plain(e, hand_items[i]);
  track(e, "u1", "A", "view", 1);
  track(e, "u1", "B", "view", 1);
  track(e, "u2", "A", "view", 1);
  track(e, "u2", "B", "view", 1);
  track(e, "u2", "C", "buy", 1);  /* 3 */
  track(e, "u2", "C", "view", 1); /* + 1 = 4 */
  track(e, "u3", "B", "view", 1);
  track(e, "u3", "C", "view", 1);
  track(e, "u3", "D", "view", 1);
  track(e, "u3", "A", "dislike", 1); /* amount -1: not an interaction */
  track(e, "u4", "C", "view", 1);
  track(e, "u4", "D", "view", 1);
  track(e, "u4", "E", "view", 1);
  track(e, "u4", "A", "view", 0); /* amount 0: not an interaction */
}

static void hand_open(own *o, const char *cf_section) {
  char cfg[512];
  snprintf(cfg, sizeof cfg, HAND_BASE "cf: {%s}\n", cf_section);
  own_open(o, cfg);
  hand_data(o->e);
}

/* similar_items(item) must be exactly `n` items with these scores. */
static void expect_similar_(pz_engine *e, const char *item, size_t n,
                            const char *const *ids, const double *want,
                            int line) {
  pz_recs *r = similar(e, item, 10);
  check_list_(r, 10, true, line);
  if (pz_recs_count(r) != n)
    fail_msg("line %d: similar(%s): %zu items, expected %zu", line, item,
             pz_recs_count(r), n);
  for (size_t i = 0; i < n; i++) {
    long at = find(r, ids[i]);
    if (at < 0) fail_msg("line %d: similar(%s) lacks %s", line, item, ids[i]);
    double got = pz_recs_score(r, (size_t)at);
    if (fabs(got - want[i]) > EPS)
      fail_msg("line %d: sim(%s, %s) = %.9g, expected %.9g", line, item,
               ids[i], got, want[i]);
    if (pz_recs_reason_code(r, (size_t)at) != PZ_REASON_CF)
      fail_msg("line %d: similar(%s): %s has reason %d", line, item, ids[i],
               pz_recs_reason_code(r, (size_t)at));
    NEAR(pz_recs_contribution(r, (size_t)at, PZ_SIGNAL_CF), got, 0);
  }
  if (find(r, item) >= 0)
    fail_msg("line %d: similar(%s) lists the item itself", line, item);
  pz_recs_free(r);
}
#define expect_similar(e, item, n, ids, want) \
  expect_similar_((e), (item), (n), (ids), (want), __LINE__)

static void test_cf_knn_cosine_similarities(void **state) {
  (void)state;
  own o;
  hand_open(&o, "algorithm: knn, weighting: none, neighbours: 10");
  train(o.e, NULL);
  const double ab = 2 / sqrt(6), ac = 4.0 / 6, bc = 5 / sqrt(54),
               bd = 1 / sqrt(6), cd = 2.0 / 6, ce = 1 / sqrt(18),
               de = 1 / sqrt(2);
  {
    const char *ids[] = {"B", "C"};
    const double w[] = {ab, ac};
    expect_similar(o.e, "A", 2, ids, w);
  }
  {
    const char *ids[] = {"A", "C", "D"};
    const double w[] = {ab, bc, bd};
    expect_similar(o.e, "B", 3, ids, w);
  }
  {
    const char *ids[] = {"B", "A", "D", "E"};
    const double w[] = {bc, ac, cd, ce};
    expect_similar(o.e, "C", 4, ids, w);
  }
  {
    const char *ids[] = {"E", "B", "C"};
    const double w[] = {de, bd, cd};
    expect_similar(o.e, "D", 3, ids, w);
  }
  {
    const char *ids[] = {"D", "C"};
    const double w[] = {de, ce};
    expect_similar(o.e, "E", 2, ids, w);
  }
  /* order: C's neighbours by similarity B .680 > A .667 > D .333 > E .236 */
  pz_recs *r = similar(o.e, "C", 10);
  assert_string_equal(pz_recs_item(r, 0), "B");
  assert_string_equal(pz_recs_item(r, 1), "A");
  assert_string_equal(pz_recs_item(r, 2), "D");
  assert_string_equal(pz_recs_item(r, 3), "E");
  assert_string_equal(pz_recs_reason(r, 0),
                      "people who interacted with it also interacted with C");
  pz_recs_free(r);
  /* k cuts the list: the best two */
  r = similar(o.e, "C", 2);
  assert_int_equal(pz_recs_count(r), 2);
  assert_string_equal(pz_recs_item(r, 0), "B");
  assert_string_equal(pz_recs_item(r, 1), "A");
  pz_recs_free(r);
  own_close(&o);
}

static void test_cf_knn_cosine_recommend(void **state) {
  (void)state;
  own o;
  hand_open(&o, "algorithm: knn, weighting: none, neighbours: 10");
  train(o.e, NULL);
  /* u1 (A 1, B 1): candidates C, D, E.
   *   raw C = cos AC + cos BC = 4/6 + 5/sqrt(54) = 1.347080
   *   raw D = cos BD = 1/sqrt(6) = .408248;  raw E = 0
   * min-max over the candidates: C 1, D .408248/1.347080 = .303062, E 0 */
  const double ac = 4.0 / 6, bc = 5 / sqrt(54), bd = 1 / sqrt(6);
  pz_recs *r = recommend(o.e, "u1", 10);
  check_list(r, 10);
  assert_int_equal(pz_recs_count(r), 3);
  assert_string_equal(pz_recs_item(r, 0), "C");
  assert_string_equal(pz_recs_item(r, 1), "D");
  assert_string_equal(pz_recs_item(r, 2), "E");
  NEAR(cf_of(r, "C"), 1, EPS);
  NEAR(cf_of(r, "D"), bd / (ac + bc), EPS); /* .303062 */
  NEAR(cf_of(r, "E"), 0, 0);
  NEAR(score_of(r, "D"), bd / (ac + bc), EPS);
  for (size_t i = 0; i < 3; i++) {
    NEAR(pz_recs_contribution(r, i, PZ_SIGNAL_CONTENT), 0, 0);
    NEAR(pz_recs_contribution(r, i, PZ_SIGNAL_POPULARITY), 0, 0);
    NEAR(pz_recs_contribution(r, i, PZ_SIGNAL_SEGMENT), 0, 0);
  }
  /* because of C: B gives 5/sqrt(54) = .680414, A 4/6 = .666667 of 1.347080:
   * shares .505103 and .494897; D: B alone; E: no CF, no because */
  assert_int_equal(pz_recs_reason_code(r, 0), PZ_REASON_CF);
  assert_string_equal(pz_recs_reason(r, 0), "because you interacted with B");
  assert_string_equal(pz_recs_because(r, 0, 0), "B");
  assert_string_equal(pz_recs_because(r, 0, 1), "A");
  assert_null(pz_recs_because(r, 0, 2));
  NEAR(pz_recs_because_share(r, 0, 0), bc / (ac + bc), EPS);
  NEAR(pz_recs_because_share(r, 0, 1), ac / (ac + bc), EPS);
  assert_true(isnan(pz_recs_because_share(r, 0, 2)));
  assert_string_equal(pz_recs_because(r, 1, 0), "B");
  NEAR(pz_recs_because_share(r, 1, 0), 1, EPS);
  assert_null(pz_recs_because(r, 1, 1));
  assert_int_equal(pz_recs_reason_code(r, 2), PZ_REASON_FALLBACK);
  assert_null(pz_recs_because(r, 2, 0));
  assert_true(isnan(pz_recs_because_share(r, 2, 0)));
  pz_recs_free(r);

  /* x, not trained on, arrives with A twice (r = 2) and E once:
   *   raw B = 2 cos AB = 4/sqrt(6) = 1.632993
   *   raw C = 2 cos AC + cos CE = 8/6 + 1/sqrt(18) = 1.569036
   *   raw D = cos DE = 1/sqrt(2) = .707107 (the minimum)
   * normalized: B 1, C (1.569036 - .707107) / (1.632993 - .707107)
   * = .930923, D 0. Because of C: A 8/6 = 1.333333, E .235702; shares
   * .849779 and .150221. Because of B: A alone (E's part is 0). */
  track(o.e, "x", "A", "view", 1);
  track(o.e, "x", "A", "view", 1);
  track(o.e, "x", "E", "view", 1);
  const double ab = 2 / sqrt(6), ce = 1 / sqrt(18), de = 1 / sqrt(2);
  r = recommend(o.e, "x", 10);
  check_list(r, 10);
  assert_int_equal(pz_recs_count(r), 3);
  assert_string_equal(pz_recs_item(r, 0), "B");
  assert_string_equal(pz_recs_item(r, 1), "C");
  assert_string_equal(pz_recs_item(r, 2), "D");
  NEAR(cf_of(r, "B"), 1, EPS);
  NEAR(cf_of(r, "C"), (2 * ac + ce - de) / (2 * ab - de), EPS);
  NEAR(cf_of(r, "D"), 0, EPS);
  assert_string_equal(pz_recs_because(r, 0, 0), "A");
  NEAR(pz_recs_because_share(r, 0, 0), 1, EPS);
  assert_null(pz_recs_because(r, 0, 1));
  assert_string_equal(pz_recs_because(r, 1, 0), "A");
  assert_string_equal(pz_recs_because(r, 1, 1), "E");
  NEAR(pz_recs_because_share(r, 1, 0), 2 * ac / (2 * ac + ce), EPS);
  NEAR(pz_recs_because_share(r, 1, 1), ce / (2 * ac + ce), EPS);
  assert_string_equal(pz_recs_reason(r, 1), "because you interacted with A");
  assert_null(pz_recs_because(r, 2, 0)); /* normalized to 0 */
  pz_recs_free(r);

  /* include_seen: all five items are candidates. x's raw scores: A =
   * 2 cos AA + cos EA = 2, B 1.632993, C 1.569036, D .707107, E = 2 cos AE
   * + cos EE = 1: max A, min D; B (1.632993 - .707107) / (2 - .707107) =
   * .716137, E (1 - .707107) / (2 - .707107) = .226541 */
  pz_recommend_options ro;
  OKC(pz_recommend_options_init(&ro, PZ_RECOMMEND_OPTIONS_VERSION));
  ro.include_seen = 1;
  OKC(pz_recommend(&r, o.e, "x", 10, &ro));
  check_list(r, 10);
  assert_int_equal(pz_recs_count(r), 5);
  assert_string_equal(pz_recs_item(r, 0), "A");
  NEAR(cf_of(r, "A"), 1, EPS);
  NEAR(cf_of(r, "B"), (2 * ab - de) / (2 - de), EPS);
  NEAR(cf_of(r, "E"), (1 - de) / (2 - de), EPS);
  NEAR(cf_of(r, "D"), 0, EPS);
  pz_recs_free(r);

  /* ranking.cf_weight scales the contribution */
  own o2;
  own_open(&o2, "events: {view: 1, buy: 3, dislike: -1}\n"
                "ranking: {content_weight: 0, popularity_weight: 0, "
                "segment_weight: 0, cf_weight: 2.5}\n"
                "cf: {algorithm: knn, weighting: none}\n");
  hand_data(o2.e);
  train(o2.e, NULL);
  r = recommend(o2.e, "u1", 10);
  check_list(r, 10);
  NEAR(cf_of(r, "C"), 2.5, EPS);
  NEAR(cf_of(r, "D"), 2.5 * bd / (ac + bc), EPS);
  pz_recs_free(r);
  own_close(&o2);
  own_close(&o);
}

static void test_cf_knn_neighbour_limit(void **state) {
  (void)state;
  own o;
  hand_open(&o, "algorithm: knn, weighting: none, neighbours: 2");
  train(o.e, NULL);
  assert_int_equal(stats(o.e).neighbours, 2);
  /* each item keeps its 2 best, itself first (cosine 1):
   * A {A, B}, B {B, A}, C {C, B}, D {D, E}, E {E, D} */
  {
    const char *ids[] = {"B"};
    const double w[] = {2 / sqrt(6)};
    expect_similar(o.e, "A", 1, ids, w);
    expect_similar(o.e, "C", 1, ids, (const double[]){5 / sqrt(54)});
  }
  {
    const char *ids[] = {"A"};
    expect_similar(o.e, "B", 1, ids, (const double[]){2 / sqrt(6)});
  }
  {
    const char *ids[] = {"E"};
    expect_similar(o.e, "D", 1, ids, (const double[]){1 / sqrt(2)});
  }
  /* x = {A 2, E 1}: raw B = 2 cos AB (from A's list) = 1.632993,
   * C 0 (in nobody's list of x's items), D = cos ED = .707107:
   * normalized B 1, D .707107 / 1.632993 = .433013, C 0 */
  track(o.e, "x", "A", "view", 2);
  track(o.e, "x", "E", "view", 1);
  pz_recs *r = recommend(o.e, "x", 10);
  check_list(r, 10);
  NEAR(cf_of(r, "B"), 1, EPS);
  NEAR(cf_of(r, "D"), (1 / sqrt(2)) / (4 / sqrt(6)), EPS);
  NEAR(cf_of(r, "C"), 0, 0);
  pz_recs_free(r);

  /* 3 neighbours: A {A, B, C}, B {B, A, C}, C {C, B, A}, D {D, E, B},
   * E {E, D, C}; retrained by option, on the hand matrix again */
  OKC(pz_profile_erase(o.e, "x"));
  pz_cf_options opt = options();
  opt.neighbours = 3;
  train(o.e, &opt);
  assert_int_equal(stats(o.e).neighbours, 3);
  {
    const char *ids[] = {"B", "A"};
    const double w[] = {5 / sqrt(54), 4.0 / 6};
    expect_similar(o.e, "C", 2, ids, w);
  }
  {
    const char *ids[] = {"E", "B"};
    const double w[] = {1 / sqrt(2), 1 / sqrt(6)};
    expect_similar(o.e, "D", 2, ids, w);
  }
  own_close(&o);
}

/* TF-IDF: idf(u) = ln(n_items) - ln(1 + items of u): u1 ln(5/3) = .510826,
 * u2..u4 ln(5/4) = .223144; cell weight sqrt(r) idf(u); similarity the plain
 * dot of the weighted columns. With a = ln(5/3)^2 = .260943 and
 * b = ln(5/4)^2 = .049793:
 *   AB = a + b (u1, u2) = .310736     AC = 1 * 2 b (u2: sqrt 4) = .099586
 *   BC = 2b + b = .149379             BD = b = .049793
 *   CD = 2b = .099586   CE = b   DE = b */
static void test_cf_knn_tfidf(void **state) {
  (void)state;
  own o;
  hand_open(&o, "algorithm: knn, weighting: tfidf, neighbours: 10");
  train(o.e, NULL);
  const double a = log(5.0 / 3) * log(5.0 / 3), b = log(5.0 / 4) * log(5.0 / 4);
  {
    const char *ids[] = {"B", "C"};
    const double w[] = {a + b, 2 * b};
    expect_similar(o.e, "A", 2, ids, w);
  }
  {
    const char *ids[] = {"A", "C", "D"};
    const double w[] = {a + b, 3 * b, b};
    expect_similar(o.e, "B", 3, ids, w);
  }
  {
    const char *ids[] = {"B", "A", "D", "E"};
    const double w[] = {3 * b, 2 * b, 2 * b, b};
    expect_similar(o.e, "C", 4, ids, w);
  }
  {
    const char *ids[] = {"C", "B", "E"};
    const double w[] = {2 * b, b, b};
    expect_similar(o.e, "D", 3, ids, w);
  }
  /* u1: raw C = AC + BC = 5b, D = BD = b, E 0: normalized C 1, D 1/5;
   * because of C: B 3b/5b = .6, A 2b/5b = .4 */
  pz_recs *r = recommend(o.e, "u1", 10);
  check_list(r, 10);
  NEAR(cf_of(r, "C"), 1, EPS);
  NEAR(cf_of(r, "D"), 0.2, EPS);
  NEAR(cf_of(r, "E"), 0, 0);
  long c = must_find(r, "C");
  assert_string_equal(pz_recs_because(r, (size_t)c, 0), "B");
  NEAR(pz_recs_because_share(r, (size_t)c, 0), 0.6, EPS);
  assert_string_equal(pz_recs_because(r, (size_t)c, 1), "A");
  NEAR(pz_recs_because_share(r, (size_t)c, 1), 0.4, EPS);
  pz_recs_free(r);
  assert_int_equal(stats(o.e).algorithm, PZ_CF_KNN);
  own_close(&o);
}

/* BM25 (K1 1.2, B .25): item length s_i = summed r of the column: A 2, B 3,
 * C 6, D 2, E 1; average 14/5 = 2.8; len_i = .75 + .25 s_i / 2.8;
 * w = r (K1 + 1) / (K1 len_i + r) idf(u), idf as for TF-IDF:
 *   len A = D = .928571, B 1.017857, C 1.285714, E .839286
 *   w(u1, A) = 2.2 / (1.114286 + 1) ln(5/3) = .531508  (r = 1)
 *   w(u2, C) = 8.8 / (1.542857 + 4) ln(5/4) = .354288  (r = 4)
 *   ... and the dot products (checked by script):
 *   AB .320214  AC .082258  BC .120954  BD .051312  CD .089652
 *   CE .047219  DE .056790 */
static double bm25w(double r, double s, double idf) {
  double len = 0.75 + 0.25 * s / 2.8;
  return r * 2.2 / (1.2 * len + r) * idf;
}

static void test_cf_knn_bm25(void **state) {
  (void)state;
  own o;
  hand_open(&o, "algorithm: knn, weighting: bm25, bm25_k1: 1.2, bm25_b: 0.25");
  train(o.e, NULL);
  const double i1 = log(5.0 / 3), i4 = log(5.0 / 4);
  const double ab = bm25w(1, 2, i1) * bm25w(1, 3, i1) +
                    bm25w(1, 2, i4) * bm25w(1, 3, i4);
  const double ac = bm25w(1, 2, i4) * bm25w(4, 6, i4);
  const double bc = bm25w(1, 3, i4) * bm25w(4, 6, i4) +
                    bm25w(1, 3, i4) * bm25w(1, 6, i4);
  const double bd = bm25w(1, 3, i4) * bm25w(1, 2, i4);
  const double cd = 2 * bm25w(1, 6, i4) * bm25w(1, 2, i4);
  const double ce = bm25w(1, 6, i4) * bm25w(1, 1, i4);
  const double de = bm25w(1, 2, i4) * bm25w(1, 1, i4);
  /* the script's numbers, so that a slip in the formula above shows */
  NEAR(ab, 0.320214292, 1e-8);
  NEAR(ac, 0.082257721, 1e-8);
  NEAR(bc, 0.120954126, 1e-8);
  NEAR(bd, 0.051311890, 1e-8);
  NEAR(cd, 0.089651673, 1e-8);
  NEAR(ce, 0.047218675, 1e-8);
  NEAR(de, 0.056790028, 1e-8);
  {
    const char *ids[] = {"B", "A", "D", "E"};
    const double w[] = {bc, ac, cd, ce};
    expect_similar(o.e, "C", 4, ids, w);
  }
  {
    const char *ids[] = {"E", "B", "C"};
    const double w[] = {de, bd, cd};
    expect_similar(o.e, "D", 3, ids, w);
  }
  {
    const char *ids[] = {"B", "C"};
    const double w[] = {ab, ac};
    expect_similar(o.e, "A", 2, ids, w);
  }
  /* u1: C = AC + BC = .203212, D = BD = .051312: D normalized .252504 */
  pz_recs *r = recommend(o.e, "u1", 10);
  check_list(r, 10);
  NEAR(cf_of(r, "C"), 1, EPS);
  NEAR(cf_of(r, "D"), bd / (ac + bc), EPS);
  NEAR(cf_of(r, "D"), 0.252504424, EPS);
  long c = must_find(r, "C");
  NEAR(pz_recs_because_share(r, (size_t)c, 0), bc / (ac + bc), EPS);
  pz_recs_free(r);
  /* the default weighting is BM25 with these parameters */
  own o2;
  own_open(&o2, HAND_BASE "cf: {algorithm: knn}\n");
  hand_data(o2.e);
  train(o2.e, NULL);
  const char *ids[] = {"B", "A", "D", "E"};
  const double w[] = {bc, ac, cd, ce};
  expect_similar(o2.e, "C", 4, ids, w);
  own_close(&o2);
  own_close(&o);
}

/* ---- a block-structured data set -------------------------------------------- */

/* Items a0..a9 (jazz) and b0..b9 (rock); GROUP users of each taste, each
 * with 5 distinct items of their group drawn by a fixed generator: 4 views
 * and a buy. */
#define GROUP 40
#define BLOCK_BASE                                                           \
  "events: {view: 1, buy: 3, dislike: -1}\n"                                 \
  "ranking: {content_weight: 0, popularity_weight: 0, segment_weight: 0, "   \
  "cf_weight: 1}\n"

static void block_items(pz_engine *e) {
  char id[16];
  for (int g = 0; g < 2; g++)
    for (int i = 0; i < 10; i++) {
      snprintf(id, sizeof id, "%c%d", "ab"[g], i);
      const char *f[] = {g ? "genre=rock" : "genre=jazz",
                         i % 2 ? "decade=1970s" : "decade=1960s"};
      OKC(pz_item_put(e, id, f, NULL, 2));
    }
}

static void block_users(pz_engine *e) {
  char user[16], item[16];
  for (int g = 0; g < 2; g++)
    for (int k = 0; k < GROUP; k++) {
      snprintf(user, sizeof user, "%c%02d", "ab"[g], k);
      unsigned st = (unsigned)(g * 1000 + k) * 2654435761u + 12345u;
      bool used[10] = {false};
      for (int j = 0; j < 5; j++) {
        int it;
        do {
          st = st * 1103515245u + 12345u;
          it = (int)((st >> 16) % 10);
        } while (used[it]);
        used[it] = true;
        snprintf(item, sizeof item, "%c%d", "ab"[g], it);
        track(e, user, item, j == 4 ? "buy" : "view", 1);
      }
    }
}

static void block_open(own *o, const char *cf_section) {
  char cfg[512];
  snprintf(cfg, sizeof cfg, BLOCK_BASE "cf: {%s}\n", cf_section);
  own_open(o, cfg);
  block_items(o->e);
  block_users(o->e);
}

/* Few factors for two tastes: the model generalizes instead of fitting
 * each trained user's unseen items to 0. */
#define ALS_SMALL "factors: 4, iterations: 12, regularization: 1, alpha: 5"

/* ---- ALS -------------------------------------------------------------------- */

static void expect_loss_falls(pz_engine *e, uint32_t iterations) {
  double loss[64];
  size_t n = 0;
  OKC(pz_cf_loss(loss, 64, &n, e));
  assert_int_equal(n, iterations);
  for (size_t i = 0; i < n; i++) {
    if (!(isfinite(loss[i]) && loss[i] > 0))
      fail_msg("loss[%zu] = %g", i, loss[i]);
    /* each sweep minimises over one side with the other fixed, so the
     * objective cannot rise (float rounding aside) */
    if (i && loss[i] > loss[i - 1] * (1 + 1e-6))
      fail_msg("loss rose at sweep %zu: %.9g -> %.9g", i, loss[i - 1],
               loss[i]);
  }
  if (!(loss[n - 1] < loss[0]))
    fail_msg("loss did not fall: %.9g -> %.9g", loss[0], loss[n - 1]);
}

static void test_cf_als_loss_never_rises(void **state) {
  (void)state;
  static const struct {
    const char *cf;
    uint32_t iterations;
  } cases[] = {
      {"algorithm: als, factors: 8, iterations: 15, regularization: 1, "
       "alpha: 0",
       15},
      {"algorithm: als, factors: 16, iterations: 10, regularization: 0.1, "
       "alpha: 10",
       10},
      {"algorithm: als, factors: 3, iterations: 20, regularization: 5, "
       "alpha: 40, cg_steps: 1",
       20},
      {"algorithm: both, factors: 32, iterations: 8, regularization: 50, "
       "alpha: 9",
       8},
      {"algorithm: als, factors: 12, iterations: 10, regularization: 0.5, "
       "alpha: 2, cg_steps: 8, threads: 2",
       10},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    own o;
    block_open(&o, cases[c].cf);
    train(o.e, NULL);
    expect_loss_falls(o.e, cases[c].iterations);
    pz_cf_stats s = stats(o.e);
    assert_int_equal(s.iterations, cases[c].iterations);
    own_close(&o);
  }
}

/* Everything a list says, exactly. */
static char *dump(const pz_recs *r) {
  size_t cap = 1 << 16, len = 0;
  char *b = malloc(cap);
  assert_non_null(b);
  b[0] = '\0';
  for (size_t i = 0; i < pz_recs_count(r); i++) {
    len += (size_t)snprintf(b + len, cap - len, "%s %a %a %d %s |",
                            pz_recs_item(r, i), pz_recs_score(r, i),
                            pz_recs_contribution(r, i, PZ_SIGNAL_CF),
                            pz_recs_reason_code(r, i), pz_recs_reason(r, i));
    for (size_t j = 0; pz_recs_because(r, i, j); j++)
      len += (size_t)snprintf(b + len, cap - len, " %s %a",
                              pz_recs_because(r, i, j),
                              pz_recs_because_share(r, i, j));
    len += (size_t)snprintf(b + len, cap - len, "\n");
    assert_true(len < cap - 512);
  }
  return b;
}

static char *dump_user(pz_engine *e, const char *user) {
  pz_recs *r = recommend(e, user, 20);
  check_list(r, 20);
  char *d = dump(r);
  pz_recs_free(r);
  return d;
}

static char *dump_similar(pz_engine *e, const char *item) {
  pz_recs *r = similar(e, item, 20);
  check_similar(r, 20);
  char *d = dump(r);
  pz_recs_free(r);
  return d;
}

/* Recommendations for a few users and similar items, as one text. */
static char *fingerprint(pz_engine *e) {
  static const char *const users[] = {"a00", "a07", "b13", "b39"};
  size_t cap = 1 << 18, len = 0;
  char *all = malloc(cap);
  assert_non_null(all);
  all[0] = '\0';
  for (size_t u = 0; u < 4; u++) {
    char *d = dump_user(e, users[u]);
    len += (size_t)snprintf(all + len, cap - len, "%s:\n%s", users[u], d);
    free(d);
  }
  char *d = dump_similar(e, "a3");
  len += (size_t)snprintf(all + len, cap - len, "similar a3:\n%s", d);
  free(d);
  assert_true(len < cap - 1);
  return all;
}

static void test_cf_als_deterministic(void **state) {
  (void)state;
  own o1, o2, o3;
  block_open(&o1, "algorithm: als, " ALS_SMALL ", seed: 7");
  block_open(&o2, "algorithm: als, " ALS_SMALL ", seed: 7");
  block_open(&o3, "algorithm: als, " ALS_SMALL ", seed: 7, threads: 2");
  train(o1.e, NULL);
  train(o2.e, NULL);
  train(o3.e, NULL);
  assert_int_equal(stats(o1.e).threads, 1);
  assert_int_equal(stats(o3.e).threads, 2);
  char *f1 = fingerprint(o1.e), *f2 = fingerprint(o2.e),
       *f3 = fingerprint(o3.e);
  assert_string_equal(f1, f2);
  assert_string_equal(f1, f3); /* whatever the thread count */
  double l1[12], l3[12];
  size_t n;
  OKC(pz_cf_loss(l1, 12, &n, o1.e));
  OKC(pz_cf_loss(l3, 12, &n, o3.e));
  assert_memory_equal(l1, l3, sizeof l1);
  /* retraining the same engine gives the same model again */
  train(o1.e, NULL);
  char *again = fingerprint(o1.e);
  assert_string_equal(f1, again);
  free(again);

  /* another seed: other numbers, the same tastes */
  pz_cf_options opt = options();
  opt.seed = 8;
  train(o2.e, &opt);
  char *f8 = fingerprint(o2.e);
  assert_string_not_equal(f1, f8);
  double l8[12];
  OKC(pz_cf_loss(l8, 12, &n, o2.e));
  assert_true(memcmp(l1, l8, sizeof l1) != 0);
  for (int s = 0; s < 2; s++) {
    pz_engine *e = s ? o2.e : o1.e;
    track(e, "newbie", "a0", "view", 1);
    track(e, "newbie", "a3", "view", 1);
    track(e, "newbie", "a5", "buy", 1);
    pz_recs *r = recommend(e, "newbie", 5);
    check_list(r, 5);
    assert_int_equal(pz_recs_count(r), 5);
    for (size_t i = 0; i < 5; i++) {
      assert_int_equal(pz_recs_item(r, i)[0], 'a');
      assert_int_equal(pz_recs_reason_code(r, i), PZ_REASON_CF);
    }
    pz_recs_free(r);
  }
  free(f1);
  free(f2);
  free(f3);
  free(f8);
  /* kNN and both, threads 1 and 3: the same lists */
  const char *algos[] = {"knn", "both"};
  for (int a = 0; a < 2; a++) {
    own p, q;
    char c1[200], c3[200];
    snprintf(c1, sizeof c1, "algorithm: %s, " ALS_SMALL, algos[a]);
    snprintf(c3, sizeof c3, "algorithm: %s, " ALS_SMALL ", threads: 3",
             algos[a]);
    block_open(&p, c1);
    block_open(&q, c3);
    train(p.e, NULL);
    train(q.e, NULL);
    char *fp = fingerprint(p.e), *fq = fingerprint(q.e);
    assert_string_equal(fp, fq);
    free(fp);
    free(fq);
    own_close(&p);
    own_close(&q);
  }
  own_close(&o1);
  own_close(&o2);
  own_close(&o3);
}

/* Both models: the CF score is (1 - share) kNN + share ALS, each min-max
 * normalized; checked against the two models trained alone. */
static void test_cf_both_mix(void **state) {
  (void)state;
  own k, a, b;
  block_open(&k, "algorithm: knn, " ALS_SMALL ", seed: 3");
  block_open(&a, "algorithm: als, " ALS_SMALL ", seed: 3");
  block_open(&b, "algorithm: both, " ALS_SMALL ", seed: 3, als_share: 0.25");
  /* a user with a cross-group taste, so that the two models disagree */
  pz_engine *es[3] = {k.e, a.e, b.e};
  for (int i = 0; i < 3; i++) {
    track(es[i], "mix", "a1", "view", 1);
    track(es[i], "mix", "a4", "view", 2);
    track(es[i], "mix", "b2", "view", 1);
    train(es[i], NULL);
  }
  pz_recs *rk = recommend(k.e, "mix", 20), *ra = recommend(a.e, "mix", 20),
          *rb = recommend(b.e, "mix", 20);
  check_list(rk, 20);
  check_list(ra, 20);
  check_list(rb, 20);
  assert_int_equal(pz_recs_count(rb), 17);
  int differ = 0;
  for (size_t i = 0; i < pz_recs_count(rb); i++) {
    const char *it = pz_recs_item(rb, i);
    double ck = cf_of(rk, it), ca = cf_of(ra, it);
    NEAR(pz_recs_contribution(rb, i, PZ_SIGNAL_CF), 0.75 * ck + 0.25 * ca,
         1e-6);
    differ += fabs(ck - ca) > 0.01;
  }
  assert_true(differ > 0);
  /* the share comes from the options too */
  pz_cf_options opt = options();
  opt.als_share = 0;
  train(b.e, &opt);
  pz_recs *r0 = recommend(b.e, "mix", 20);
  for (size_t i = 0; i < pz_recs_count(r0); i++)
    NEAR(pz_recs_contribution(r0, i, PZ_SIGNAL_CF),
         cf_of(rk, pz_recs_item(r0, i)), 1e-6);
  pz_recs_free(r0);
  opt.als_share = 1;
  train(b.e, &opt);
  r0 = recommend(b.e, "mix", 20);
  for (size_t i = 0; i < pz_recs_count(r0); i++)
    NEAR(pz_recs_contribution(r0, i, PZ_SIGNAL_CF),
         cf_of(ra, pz_recs_item(r0, i)), 1e-6);
  pz_recs_free(r0);
  pz_recs_free(rk);
  pz_recs_free(ra);
  pz_recs_free(rb);
  own_close(&k);
  own_close(&a);
  own_close(&b);
}

/* ---- fold-in ----------------------------------------------------------------- */

static const char *const algo_cfgs[] = {
    "algorithm: knn, weighting: none",
    "algorithm: knn, weighting: bm25",
    "algorithm: als, " ALS_SMALL,
    "algorithm: both, " ALS_SMALL,
};

static void test_cf_fold_in_new_user(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof algo_cfgs / sizeof *algo_cfgs; c++) {
    own o;
    block_open(&o, algo_cfgs[c]);
    train(o.e, NULL);
    uint32_t users = stats(o.e).users;
    track(o.e, "newbie", "a0", "view", 1);
    track(o.e, "newbie", "a3", "view", 1);
    track(o.e, "newbie", "a5", "buy", 1);
    pz_recs *r = recommend(o.e, "newbie", 7);
    check_list(r, 7);
    assert_int_equal(pz_recs_count(r), 7);
    for (size_t i = 0; i < 7; i++) { /* the 7 other jazz items */
      const char *it = pz_recs_item(r, i);
      if (it[0] != 'a' || !strcmp(it, "a0") || !strcmp(it, "a3") ||
          !strcmp(it, "a5"))
        fail_msg("%s: newbie's #%zu is %s", algo_cfgs[c], i, it);
      if (i < 5 && pz_recs_reason_code(r, i) != PZ_REASON_CF)
        fail_msg("%s: newbie's #%zu has reason %d", algo_cfgs[c], i,
                 pz_recs_reason_code(r, i));
      for (size_t j = 0; pz_recs_because(r, i, j); j++) {
        const char *b = pz_recs_because(r, i, j);
        if (strcmp(b, "a0") && strcmp(b, "a3") && strcmp(b, "a5"))
          fail_msg("%s: because %s is not in newbie's history", algo_cfgs[c],
                   b);
      }
    }
    assert_non_null(pz_recs_because(r, 0, 0));
    pz_recs_free(r);
    /* and no rock item scores above a jazz one */
    r = recommend(o.e, "newbie", 17);
    check_list(r, 17);
    double worst_a = INFINITY, best_b = -INFINITY;
    for (size_t i = 0; i < pz_recs_count(r); i++) {
      double s = pz_recs_contribution(r, i, PZ_SIGNAL_CF);
      if (pz_recs_item(r, i)[0] == 'a') worst_a = fmin(worst_a, s);
      else best_b = fmax(best_b, s);
    }
    if (!(worst_a > best_b))
      fail_msg("%s: jazz %g vs rock %g", algo_cfgs[c], worst_a, best_b);
    pz_recs_free(r);
    /* the model did not change: newbie is not a trained user */
    assert_int_equal(stats(o.e).users, users);
    own_close(&o);
  }
}

static void test_cf_fold_in_new_event(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof algo_cfgs / sizeof *algo_cfgs; c++) {
    own o;
    block_open(&o, algo_cfgs[c]);
    train(o.e, NULL);
    pz_cf_stats before = stats(o.e);
    pz_recs *r1 = recommend(o.e, "a02", 20);
    check_list(r1, 20);
    /* a02 knows only jazz: no rock item has a CF share yet under kNN */
    /* now a02 buys rock twice: rock items gain at once, no retraining */
    track(o.e, "a02", "b1", "buy", 1);
    track(o.e, "a02", "b4", "buy", 1);
    pz_recs *r2 = recommend(o.e, "a02", 20);
    check_list(r2, 20);
    double gain = 0;
    for (size_t i = 0; i < pz_recs_count(r2); i++) {
      const char *it = pz_recs_item(r2, i);
      if (it[0] != 'b' || !strcmp(it, "b1") || !strcmp(it, "b4")) continue;
      gain += pz_recs_contribution(r2, i, PZ_SIGNAL_CF) - cf_of(r1, it);
    }
    if (!(gain > 0.5))
      fail_msg("%s: rock items gained only %g of CF", algo_cfgs[c], gain);
    /* the best rock item now comes because of b1 or b4 */
    for (size_t i = 0; i < pz_recs_count(r2); i++)
      if (pz_recs_item(r2, i)[0] == 'b' &&
          pz_recs_reason_code(r2, i) == PZ_REASON_CF) {
        const char *b = pz_recs_because(r2, i, 0);
        assert_true(!strcmp(b, "b1") || !strcmp(b, "b4"));
        break;
      }
    assert_int_equal(find(r2, "b1"), -1); /* seen now */
    pz_cf_stats after = stats(o.e);
    assert_int_equal(after.trained_at_ms, before.trained_at_ms);
    assert_int_equal(after.users, before.users);
    pz_recs_free(r1);
    pz_recs_free(r2);
    own_close(&o);
  }
}

/* kNN: the because-shares are r_j sim(j, i) / sum over the history, on
 * every item of a list; with ALS or both, shares stay in (0, 1], fall and
 * sum to at most 1 (check_list). */
static void test_cf_because_shares_knn(void **state) {
  (void)state;
  own o;
  hand_open(&o, "algorithm: knn, weighting: none");
  train(o.e, NULL);
  /* y: A 1, B 3 (one buy), D 2: candidates C and E
   *   C: A 4/6 + 3 B 5/sqrt(54) + 2 D 2/6 = .666667 + 2.041241 + .666667
   *      = 3.374575
   *   E: 2 DE = 1.414214 (the minimum: normalized to 0)
   * C's shares: B .604889, then A and D .197556 each (in either order:
   * they tie up to float rounding) */
  track(o.e, "y", "A", "view", 1);
  track(o.e, "y", "B", "buy", 1);
  track(o.e, "y", "D", "view", 2);
  pz_recs *r = recommend(o.e, "y", 10);
  check_list(r, 10);
  assert_int_equal(pz_recs_count(r), 2);
  const double ac = 4.0 / 6, bc = 5 / sqrt(54), dc = 2.0 / 6;
  const double tot = ac + 3 * bc + 2 * dc;
  assert_string_equal(pz_recs_item(r, 0), "C");
  assert_string_equal(pz_recs_because(r, 0, 0), "B");
  NEAR(pz_recs_because_share(r, 0, 0), 3 * bc / tot, EPS);
  NEAR(pz_recs_because_share(r, 0, 1), ac / tot, EPS);
  NEAR(pz_recs_because_share(r, 0, 2), 2 * dc / tot, EPS);
  double sum = 0;
  for (size_t j = 0; j < 3; j++) sum += pz_recs_because_share(r, 0, j);
  NEAR(sum, 1, 1e-6);
  assert_string_equal(pz_recs_reason(r, 0), "because you interacted with B");
  /* E: min of the two candidates, so 0 after normalization: no because */
  assert_string_equal(pz_recs_item(r, 1), "E");
  NEAR(pz_recs_contribution(r, 1, PZ_SIGNAL_CF), 0, 0);
  assert_null(pz_recs_because(r, 1, 0));
  pz_recs_free(r);
  own_close(&o);
}

/* ALS and both: a share is a part of the item's CF score, so each is at
 * most 1 and together they make at most 1. ALS explanation terms can be
 * negative (a history item that argues against the recommendation) and
 * the raw score can be negative while its min-max normalized value is
 * positive; neither may inflate shares. An item with CF but no history
 * item pulling towards it says so ("suggested by your history"), and the
 * other items name their strongest because-item (check_list). Every
 * violation over a few users is counted and described.
 * (Found: shares were taken of the sum of all terms, positive and
 * negative, giving shares up to 106 for one item.) */
static void test_cf_because_shares_factor_models(void **state) {
  (void)state;
  int over_one = 0, sum_over_one = 0, unexplained = 0, items = 0;
  double worst = 0;
  char first[3][200] = {"", "", ""};
  for (size_t c = 2; c < sizeof algo_cfgs / sizeof *algo_cfgs; c++) {
    own o;
    block_open(&o, algo_cfgs[c]);
    track(o.e, "z", "a1", "view", 1);
    track(o.e, "z", "b2", "view", 1);
    track(o.e, "z", "a7", "buy", 1);
    track(o.e, "z", "b9", "view", 4);
    track(o.e, "z", "a8", "view", 1);
    train(o.e, NULL);
    track(o.e, "newbie", "a0", "view", 1);
    track(o.e, "newbie", "a3", "view", 1);
    static const char *const users[] = {"z", "newbie", "a00", "b17", "a33"};
    for (size_t u = 0; u < 5; u++) {
      pz_recs *r = recommend(o.e, users[u], 20);
      for (size_t i = 0; i < pz_recs_count(r); i++) {
        double total = 0, cf = pz_recs_contribution(r, i, PZ_SIGNAL_CF);
        size_t nb = 0;
        items++;
        for (; pz_recs_because(r, i, nb); nb++) {
          double sh = pz_recs_because_share(r, i, nb);
          total += sh;
          if (sh > 1 + 1e-9 && !over_one++)
            snprintf(first[0], sizeof first[0], "%s: %s for %s: share %.6g",
                     algo_cfgs[c], pz_recs_because(r, i, nb), users[u], sh);
          worst = fmax(worst, sh);
        }
        if (total > 1 + 1e-6 && !sum_over_one++)
          snprintf(first[1], sizeof first[1], "%s: %s for %s: sum %.6g",
                   algo_cfgs[c], pz_recs_item(r, i), users[u], total);
        if (cf > 0 && !nb &&
            strcmp(pz_recs_reason(r, i), "suggested by your history") &&
            !unexplained++)
          snprintf(first[2], sizeof first[2],
                   "%s: %s for %s: CF %.6g, reason \"%s\"", algo_cfgs[c],
                   pz_recs_item(r, i), users[u], cf, pz_recs_reason(r, i));
      }
      check_list(r, 20);
      pz_recs_free(r);
    }
    own_close(&o);
  }
  if (over_one || sum_over_one || unexplained)
    fail_msg("of %d items: %d because-shares above 1 (the largest %.6g; "
             "first %s), %d items whose shares sum above 1 (first %s), %d "
             "items with a CF contribution, no because-item and another "
             "reason (first %s)",
             items, over_one, worst, first[0], sum_over_one, first[1],
             unexplained, first[2]);
}

/* ALS fold-in, recomputed here from the model's item factors Y: for a
 * user with summed amounts r_j on items j, x = A^-1 b with
 * A = Y^T Y + reg I + sum_j alpha r_j y_j y_j^T and b = sum_j (1 + alpha
 * r_j) y_j; raw score y_i . x, min-max normalized over the candidates. */
static void solve_dense(double *A, double *b, int n) {
  for (int c = 0; c < n; c++) { /* Gauss-Jordan, partial pivoting */
    int p = c;
    for (int r = c + 1; r < n; r++)
      if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
    for (int k = 0; k < n; k++) {
      double t = A[c * n + k];
      A[c * n + k] = A[p * n + k];
      A[p * n + k] = t;
    }
    double t = b[c];
    b[c] = b[p];
    b[p] = t;
    for (int r = 0; r < n; r++) {
      if (r == c) continue;
      double f = A[r * n + c] / A[c * n + c];
      for (int k = 0; k < n; k++) A[r * n + k] -= f * A[c * n + k];
      b[r] -= f * b[c];
    }
  }
  for (int c = 0; c < n; c++) b[c] /= A[c * n + c];
}

static void expect_fold_in(pz_engine *e, const char *user, int n_hist,
                           const char *const *hist, const double *r) {
  const pz__cfmodel *m = e->cf.model;
  assert_true(m->algorithm == PZ_CF_ALS);
  int f = (int)m->f, n = (int)m->n_items;
  double A[64], b[8] = {0}, raw[32];
  assert_true(f <= 8 && n <= 32);
  memset(A, 0, sizeof A);
  for (int i = 0; i < n; i++)
    for (int p = 0; p < f; p++)
      for (int q = 0; q < f; q++)
        A[p * f + q] += (double)m->Y[i * m->fs + p] * m->Y[i * m->fs + q];
  for (int p = 0; p < f; p++) A[p * f + p] += m->reg;
  for (int j = 0; j < n_hist; j++) {
    uint32_t at = pz__catalog_find(&e->catalog, hist[j], strlen(hist[j]));
    const float *y = m->Y + (size_t)at * m->fs;
    for (int p = 0; p < f; p++) {
      b[p] += (1 + m->alpha * r[j]) * y[p];
      for (int q = 0; q < f; q++) A[p * f + q] += m->alpha * r[j] * y[p] * y[q];
    }
  }
  solve_dense(A, b, f);
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++) {
    raw[i] = 0;
    for (int p = 0; p < f; p++) raw[i] += (double)m->Y[i * m->fs + p] * b[p];
    bool seen = false;
    for (int j = 0; j < n_hist; j++)
      seen |= pz__catalog_find(&e->catalog, hist[j], strlen(hist[j])) ==
              (uint32_t)i;
    if (!seen) {
      lo = fmin(lo, raw[i]);
      hi = fmax(hi, raw[i]);
    }
  }
  pz_recs *rec = recommend(e, user, 30);
  assert_int_equal(pz_recs_count(rec), (size_t)(n - n_hist));
  for (size_t k = 0; k < pz_recs_count(rec); k++) {
    const char *it = pz_recs_item(rec, k);
    uint32_t i = pz__catalog_find(&e->catalog, it, strlen(it));
    NEAR(pz_recs_contribution(rec, k, PZ_SIGNAL_CF),
         (raw[i] - lo) / (hi - lo), 1e-4);
  }
  pz_recs_free(rec);
}

static void test_cf_als_fold_in_exact(void **state) {
  (void)state;
  static const char *const alphas[] = {"alpha: 5", "alpha: 0", "alpha: 40"};
  for (int a = 0; a < 3; a++) {
    own o;
    char cfg[200];
    snprintf(cfg, sizeof cfg,
             "algorithm: als, factors: 4, iterations: 10, regularization: 2, "
             "%s",
             alphas[a]);
    block_open(&o, cfg);
    train(o.e, NULL);
    /* view 1 + buy 3 + view 1 on a2 (r = 5), view 2 on b7, buy on a6 */
    track(o.e, "f", "a2", "view", 1);
    track(o.e, "f", "a2", "buy", 1);
    track(o.e, "f", "a2", "view", 1);
    track(o.e, "f", "b7", "view", 2);
    track(o.e, "f", "a6", "buy", 1);
    track(o.e, "f", "a6", "dislike", 1); /* -1: counts 0, a6 stays 3 */
    const char *hist[] = {"a2", "a6", "b7"};
    const double r[] = {5, 3, 2};
    expect_fold_in(o.e, "f", 3, hist, r);
    /* a trained user is folded in from their history the same way */
    own_close(&o);
  }
}

/* ---- erase, consent, merge ---------------------------------------------------- */

static void test_cf_erase_consent_merge(void **state) {
  (void)state;
  for (int als = 0; als < 2; als++) {
    own o;
    block_open(&o, als ? "algorithm: als, " ALS_SMALL
                       : "algorithm: knn, weighting: none");
    train(o.e, NULL);
    pz_cf_stats s = stats(o.e);
    assert_int_equal(s.users, 2 * GROUP);
    assert_int_equal(s.erased_since, 0);
    pz_recs *r = recommend(o.e, "a03", 10);
    assert_true(pz_recs_contribution(r, 0, PZ_SIGNAL_CF) > 0);
    pz_recs_free(r);

    OKC(pz_profile_erase(o.e, "a03"));
    s = stats(o.e);
    assert_int_equal(s.users, 2 * GROUP - 1);
    assert_int_equal(s.erased_since, 1);
    r = recommend(o.e, "a03", 20);
    check_list(r, 20);
    assert_int_equal(pz_recs_count(r), 20);
    for (size_t i = 0; i < pz_recs_count(r); i++) {
      NEAR(pz_recs_contribution(r, i, PZ_SIGNAL_CF), 0, 0);
      assert_int_not_equal(pz_recs_reason_code(r, i), PZ_REASON_CF);
      assert_null(pz_recs_because(r, i, 0));
    }
    pz_recs_free(r);
    /* erasing again: nobody; erasing an untrained user: not counted */
    assert_int_equal(pz_profile_erase(o.e, "a03"), PZ_ENOTFOUND);
    track(o.e, "late", "a1", "view", 1);
    OKC(pz_profile_erase(o.e, "late"));
    s = stats(o.e);
    assert_int_equal(s.users, 2 * GROUP - 1);
    assert_int_equal(s.erased_since, 1);

    /* withdrawing consent counts as erasing; the id keeps its profile */
    OKC(pz_profile_set_consent(o.e, "a04", "personalization", 0));
    s = stats(o.e);
    assert_int_equal(s.users, 2 * GROUP - 2);
    assert_int_equal(s.erased_since, 2);
    r = recommend(o.e, "a04", 20);
    for (size_t i = 0; i < pz_recs_count(r); i++)
      NEAR(pz_recs_contribution(r, i, PZ_SIGNAL_CF), 0, 0);
    pz_recs_free(r);
    /* withdrawing twice or for another purpose: not counted again */
    OKC(pz_profile_set_consent(o.e, "a04", "personalization", 0));
    OKC(pz_profile_set_consent(o.e, "a06", "analytics", 0));
    s = stats(o.e);
    assert_int_equal(s.erased_since, 2);
    assert_int_equal(s.users, 2 * GROUP - 2);

    /* merging moves the data: the id leaves, nobody counts as erased */
    OKC(pz_profile_merge(o.e, "a05", "a06"));
    s = stats(o.e);
    assert_int_equal(s.users, 2 * GROUP - 3);
    assert_int_equal(s.erased_since, 2);
    OKC(pz_profile_merge(o.e, "a07", "fresh"));
    s = stats(o.e);
    assert_int_equal(s.users, 2 * GROUP - 4);
    assert_int_equal(s.erased_since, 2);
    r = recommend(o.e, "fresh", 5); /* a07's history, at once */
    check_list(r, 5);
    assert_int_equal(pz_recs_reason_code(r, 0), PZ_REASON_CF);
    assert_int_equal(pz_recs_item(r, 0)[0], 'a');
    pz_recs_free(r);
    /* a merge whose consent is withdrawn keeps no history: "into" counts
     * as erased (a08 withdrew after a09's last choice) */
    OKC(pz_profile_set_consent(o.e, "a09", "personalization", 1));
    o.tc.now += 1000;
    OKC(pz_profile_set_consent(o.e, "a08", "personalization", 0));
    s = stats(o.e);
    assert_int_equal(s.users, 2 * GROUP - 5);
    assert_int_equal(s.erased_since, 3);
    OKC(pz_profile_merge(o.e, "a08", "a09"));
    s = stats(o.e);
    assert_int_equal(s.users, 2 * GROUP - 6);
    assert_int_equal(s.erased_since, 4);

    /* retraining purges them all */
    train(o.e, NULL);
    s = stats(o.e);
    assert_int_equal(s.erased_since, 0);
    /* gone: a03 (erased), a04 (withdrew), a05 and a07 (merged away), a08
     * and a09 (merge without consent); new: fresh */
    assert_int_equal(s.users, 2 * GROUP - 6 + 1);
    own_close(&o);
  }
}

/* ---- stats, options, off -------------------------------------------------------- */

static void test_cf_stats_and_options(void **state) {
  (void)state;
  own o;
  hand_open(&o, "algorithm: knn, weighting: none, neighbours: 7, factors: 16, "
                "iterations: 4, threads: 1");
  pz_cf_stats s;
  s.version = PZ_CF_STATS_VERSION;
  assert_int_equal(pz_cf_stats_get(&s, o.e), PZ_ENOTFOUND); /* untrained */
  o.tc.now = T0 + 5000;
  train(o.e, NULL);
  s = stats(o.e);
  assert_int_equal(s.version, PZ_CF_STATS_VERSION);
  assert_int_equal(s.algorithm, PZ_CF_KNN);
  assert_int_equal(s.users, 4);
  assert_int_equal(s.items, 5);
  assert_int_equal(s.interactions, 11); /* 2 + 3 + 3 + 3 cells */
  assert_int_equal(s.factors, 0);
  assert_int_equal(s.neighbours, 7);
  assert_int_equal(s.iterations, 0);
  assert_int_equal(s.threads, 1);
  assert_int_equal(s.erased_since, 0);
  assert_true(s.train_seconds >= 0 && s.train_seconds < 10);
  assert_int_equal(s.trained_at_ms, T0 + 5000);
  size_t n = 9;
  double loss[8];
  assert_int_equal(pz_cf_loss(loss, 8, &n, o.e), PZ_ENOTFOUND);

  /* options over the config */
  pz_cf_options opt = options();
  opt.algorithm = PZ_CF_ALS;
  opt.factors = 4;
  opt.iterations = 3;
  opt.threads = 2;
  o.tc.now = T0 + 9000;
  train(o.e, &opt);
  s = stats(o.e);
  assert_int_equal(s.algorithm, PZ_CF_ALS);
  assert_int_equal(s.factors, 4);
  assert_int_equal(s.neighbours, 0);
  assert_int_equal(s.iterations, 3);
  assert_int_equal(s.threads, 2);
  assert_int_equal(s.items, 5);
  assert_int_equal(s.interactions, 11);
  assert_int_equal(s.trained_at_ms, T0 + 9000);
  n = 0;
  OKC(pz_cf_loss(loss, 8, &n, o.e));
  assert_int_equal(n, 3);
  /* cap exactly the sweeps, and too small */
  OKC(pz_cf_loss(loss, 3, &n, o.e));
  n = 0;
  assert_int_equal(pz_cf_loss(loss, 2, &n, o.e), PZ_EBUFS);
  assert_int_equal(n, 3);

  opt = options();
  opt.algorithm = PZ_CF_BOTH;
  train(o.e, &opt);
  s = stats(o.e);
  assert_int_equal(s.algorithm, PZ_CF_BOTH);
  assert_int_equal(s.factors, 16); /* the config's */
  assert_int_equal(s.neighbours, 7);
  assert_int_equal(s.iterations, 4);
  assert_int_equal(s.threads, 1);
  OKC(pz_cf_loss(loss, 8, &n, o.e));
  assert_int_equal(n, 4);

  /* weighting by option: TF-IDF similarities on a config of cosine */
  opt = options();
  opt.weighting = PZ_CF_WEIGHT_TFIDF;
  train(o.e, &opt);
  assert_int_equal(stats(o.e).algorithm, PZ_CF_KNN);
  const double b = log(5.0 / 4) * log(5.0 / 4);
  {
    const char *ids[] = {"C", "B", "E"};
    const double w[] = {2 * b, b, b};
    expect_similar(o.e, "D", 3, ids, w);
  }
  /* and a NULL options pointer is the config again */
  train(o.e, NULL);
  {
    const char *ids[] = {"E", "B", "C"};
    const double w[] = {1 / sqrt(2), 1 / sqrt(6), 2.0 / 6};
    expect_similar(o.e, "D", 3, ids, w);
  }
  own_close(&o);
}

static void test_cf_off_and_nothing_to_train(void **state) {
  (void)state;
  own o;
  char cfg[512];
  snprintf(cfg, sizeof cfg,
           "events: {view: 1, buy: 3, dislike: -1}\n"
           "ranking: {content_weight: 0, popularity_weight: 0.5, "
           "segment_weight: 0, cf_weight: 1}\n"
           "cf: {algorithm: knn, weighting: none}\n");
  own_open(&o, cfg);
  hand_data(o.e);
  train(o.e, NULL);
  pz_recs *r = recommend(o.e, "u1", 3);
  assert_int_equal(pz_recs_reason_code(r, 0), PZ_REASON_CF);
  pz_recs_free(r);

  /* OFF drops the model */
  pz_cf_options opt = options();
  opt.algorithm = PZ_CF_OFF;
  train(o.e, &opt);
  pz_cf_stats s;
  s.version = PZ_CF_STATS_VERSION;
  assert_int_equal(pz_cf_stats_get(&s, o.e), PZ_ENOTFOUND);
  double loss[4];
  size_t n;
  assert_int_equal(pz_cf_loss(loss, 4, &n, o.e), PZ_ENOTFOUND);
  r = recommend(o.e, "u1", 3);
  check_list(r, 3);
  assert_int_equal(pz_recs_count(r), 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(pz_recs_reason_code(r, i), PZ_REASON_POPULAR);
    NEAR(pz_recs_contribution(r, i, PZ_SIGNAL_CF), 0, 0);
    assert_null(pz_recs_because(r, i, 0));
  }
  pz_recs_free(r);
  /* with no model, similar items fall back to features (none here) */
  r = similar(o.e, "A", 5);
  assert_int_equal(pz_recs_count(r), 0);
  pz_recs_free(r);
  /* OFF again with no model: fine */
  train(o.e, &opt);

  /* a model, then everyone erased: nothing to train on, the old model
   * stays (and knows its trained users are all gone) */
  train(o.e, NULL);
  for (int u = 1; u <= 4; u++) {
    char user[16];
    snprintf(user, sizeof user, "u%d", u);
    OKC(pz_profile_erase(o.e, user));
  }
  o.tc.now = T0 + 777;
  assert_int_equal(pz_cf_train(o.e, NULL), PZ_ENOTFOUND);
  assert_non_null(strstr(pz_errmsg(), "interaction"));
  s = stats(o.e);
  assert_int_equal(s.algorithm, PZ_CF_KNN);
  assert_int_equal(s.users, 0);
  assert_int_equal(s.erased_since, 4);
  assert_int_not_equal(s.trained_at_ms, T0 + 777);
  {
    const char *ids[] = {"A", "C", "D"};
    const double w[] = {2 / sqrt(6), 5 / sqrt(54), 1 / sqrt(6)};
    expect_similar(o.e, "B", 3, ids, w);
  }
  /* only interactions that do not count: no consent, negative, zero */
  track(o.e, "neg", "A", "dislike", 1);
  track(o.e, "zero", "B", "view", 0);
  OKC(pz_profile_set_consent(o.e, "nc", "personalization", 0));
  assert_int_equal(pz_cf_train(o.e, NULL), PZ_ENOTFOUND);
  assert_int_equal(stats(o.e).algorithm, PZ_CF_KNN);
  /* one real interaction is enough */
  track(o.e, "one", "C", "view", 1);
  train(o.e, NULL);
  s = stats(o.e);
  assert_int_equal(s.users, 1);
  assert_int_equal(s.interactions, 1);
  assert_int_equal(s.erased_since, 0);
  own_close(&o);
}

/* ---- similar items: factors, features, removed items ---------------------------- */

static double factor_cos(const pz_engine *e, const char *a, const char *b) {
  const pz__cfmodel *m = e->cf.model;
  uint32_t ia = pz__catalog_find(&e->catalog, a, strlen(a));
  uint32_t ib = pz__catalog_find(&e->catalog, b, strlen(b));
  assert_true(ia < m->n_items && ib < m->n_items);
  const float *x = m->Y + (size_t)ia * m->fs, *y = m->Y + (size_t)ib * m->fs;
  double xy = 0, xx = 0, yy = 0;
  for (uint32_t j = 0; j < m->fs; j++) {
    xy += (double)x[j] * y[j];
    xx += (double)x[j] * x[j];
    yy += (double)y[j] * y[j];
  }
  return xy / sqrt(xx * yy);
}

static void test_cf_similar_by_factors(void **state) {
  (void)state;
  own o;
  block_open(&o, "algorithm: als, " ALS_SMALL);
  train(o.e, NULL);
  /* the positive cosines of the factor rows, best first: every other item
   * with a cosine above 0 is listed, none at or below it */
  pz_recs *r = similar(o.e, "a3", 19);
  check_similar(r, 19);
  assert_int_equal(find(r, "a3"), -1);
  size_t n = 0, jazz_first = 0;
  for (int g = 0; g < 2; g++)
    for (int d = 0; d < 10; d++) {
      char it[16];
      snprintf(it, sizeof it, "%c%d", "ab"[g], d);
      if (!strcmp(it, "a3")) continue;
      double c = factor_cos(o.e, "a3", it);
      long at = find(r, it);
      if (c > 1e-6 && at < 0) fail_msg("%s (cosine %g) is missing", it, c);
      if (c < -1e-6 && at >= 0) fail_msg("%s (cosine %g) is listed", it, c);
      n += at >= 0;
    }
  assert_int_equal(pz_recs_count(r), n);
  assert_true(n >= 9); /* at least the other jazz items */
  for (size_t i = 0; i < n; i++) {
    const char *it = pz_recs_item(r, i);
    NEAR(pz_recs_score(r, i), factor_cos(o.e, "a3", it), 1e-5);
    assert_true(pz_recs_score(r, i) > 0 && pz_recs_score(r, i) <= 1 + 1e-6);
    assert_int_equal(pz_recs_reason_code(r, i), PZ_REASON_CF);
    assert_string_equal(pz_recs_reason(r, i), "liked by the same people as a3");
    jazz_first += i < 9 && it[0] == 'a';
  }
  assert_int_equal(jazz_first, 9); /* the other jazz items first */
  pz_recs_free(r);
  /* a removed item is left out, and cannot be asked about */
  OKC(pz_item_remove(o.e, "a4"));
  r = similar(o.e, "a3", 19);
  assert_int_equal(pz_recs_count(r), n - 1); /* a4 was listed (jazz) */
  assert_int_equal(find(r, "a4"), -1);
  pz_recs_free(r);
  r = (pz_recs *)&o;
  assert_int_equal(pz_similar_items(&r, o.e, "a4", 5), PZ_ENOTFOUND);
  assert_null(r);
  /* nor recommended */
  r = recommend(o.e, "newbie", 20);
  assert_int_equal(find(r, "a4"), -1);
  pz_recs_free(r);
  track(o.e, "n2", "a1", "view", 1);
  r = recommend(o.e, "n2", 20);
  check_list(r, 20);
  assert_int_equal(pz_recs_count(r), 18); /* 20 - a4 - a1 */
  assert_int_equal(find(r, "a4"), -1);
  pz_recs_free(r);
  own_close(&o);
}

static void test_cf_similar_by_neighbours_removed(void **state) {
  (void)state;
  own o;
  hand_open(&o, "algorithm: both, weighting: none, factors: 4, iterations: 3");
  train(o.e, NULL);
  /* both models: the neighbours answer */
  {
    const char *ids[] = {"A", "C", "D"};
    const double w[] = {2 / sqrt(6), 5 / sqrt(54), 1 / sqrt(6)};
    expect_similar(o.e, "B", 3, ids, w);
  }
  OKC(pz_item_remove(o.e, "C"));
  {
    const char *ids[] = {"A", "D"};
    const double w[] = {2 / sqrt(6), 1 / sqrt(6)};
    expect_similar(o.e, "B", 2, ids, w);
  }
  pz_recs *r = NULL;
  assert_int_equal(pz_similar_items(&r, o.e, "C", 5), PZ_ENOTFOUND);
  assert_int_equal(pz_similar_items(&r, o.e, "nosuch", 5), PZ_ENOTFOUND);
  assert_null(r);
  /* put back: alive again, and a neighbour again */
  put_plain(o.e, "C");
  {
    const char *ids[] = {"A", "C", "D"};
    const double w[] = {2 / sqrt(6), 5 / sqrt(54), 1 / sqrt(6)};
    expect_similar(o.e, "B", 3, ids, w);
  }
  own_close(&o);
}

/* Features: jazz/rock and 1960s/1970s, one weight each, so the cosine of
 * two items is (shared features) / 2. */
static void test_cf_similar_by_features(void **state) {
  (void)state;
  for (int a = 0; a < 3; a++) {
    static const char *const cfgs[] = {"algorithm: knn",
                                       "algorithm: als, " ALS_SMALL,
                                       "algorithm: both, " ALS_SMALL};
    own o;
    block_open(&o, cfgs[a]);
    train(o.e, NULL);
    const char *f[] = {"genre=jazz", "decade=1960s"};
    OKC(pz_item_put(o.e, "late", f, NULL, 2)); /* after training */
    OKC(pz_item_remove(o.e, "a2"));
    pz_recs *r = similar(o.e, "late", 30);
    check_similar(r, 30);
    /* a0, a4, a6, a8: 1 (a2 removed); a odd and b even: 1/2; b odd: 0,
     * left out */
    assert_int_equal(pz_recs_count(r), 4 + 5 + 5);
    for (size_t i = 0; i < pz_recs_count(r); i++) {
      const char *it = pz_recs_item(r, i);
      int digit = it[1] - '0';
      double want = it[0] == 'a' ? (digit % 2 ? 0.5 : 1) : 0.5;
      assert_true(it[0] == 'a' || digit % 2 == 0);
      NEAR(pz_recs_score(r, i), want, 1e-6);
      assert_int_equal(pz_recs_reason_code(r, i), PZ_REASON_CONTENT);
      assert_string_equal(pz_recs_reason(r, i), "shares features with late");
      NEAR(pz_recs_contribution(r, i, PZ_SIGNAL_CONTENT), want, 1e-6);
      NEAR(pz_recs_contribution(r, i, PZ_SIGNAL_CF), 0, 0);
    }
    assert_int_equal(find(r, "a2"), -1);
    pz_recs_free(r);
    /* an item the model knows still answers from the model */
    r = similar(o.e, "a0", 5);
    assert_int_equal(pz_recs_reason_code(r, 0), PZ_REASON_CF);
    pz_recs_free(r);
    /* a late item without features: an empty list */
    put_plain(o.e, "bare");
    r = similar(o.e, "bare", 5);
    assert_int_equal(pz_recs_count(r), 0);
    pz_recs_free(r);
    /* recommendations: the late item gets no CF, but is a candidate */
    track(o.e, "n", "a0", "view", 1);
    r = recommend(o.e, "n", 30);
    check_list(r, 30);
    long at = must_find(r, "late");
    NEAR(pz_recs_contribution(r, (size_t)at, PZ_SIGNAL_CF), 0, 0);
    pz_recs_free(r);
    own_close(&o);
  }
}

/* An item in the catalogue when the model was trained, but with no
 * interaction: the model has nothing learned about it (its ALS factors are
 * what is left of the random start after the sweeps shrank them), so
 * pz_similar_items() must answer as for "an item the model does not know":
 * by features. Nor is it anyone's factor neighbour.
 * (Found: the ALS and both models answered by factors, with reason CF
 * "liked by the same people as never" and cosines like .53 for an item
 * nobody ever touched.) */
static void test_cf_similar_untrained_item(void **state) {
  (void)state;
  static const char *const cfgs[] = {"algorithm: knn",
                                     "algorithm: als, " ALS_SMALL,
                                     "algorithm: both, " ALS_SMALL};
  for (int c = 0; c < 3; c++) {
    own o;
    char cfg[512];
    snprintf(cfg, sizeof cfg, BLOCK_BASE "cf: {%s}\n", cfgs[c]);
    own_open(&o, cfg);
    block_items(o.e);
    const char *f[] = {"genre=jazz", "decade=1960s"};
    OKC(pz_item_put(o.e, "never", f, NULL, 2));
    block_users(o.e);
    train(o.e, NULL);
    assert_int_equal(stats(o.e).items, 21); /* the model spans it */
    pz_recs *r = similar(o.e, "never", 30);
    check_similar(r, 30);
    /* by features: even jazz items 1, odd jazz and even rock 1/2 */
    if (pz_recs_count(r) != 15 ||
        pz_recs_reason_code(r, 0) != PZ_REASON_CONTENT)
      fail_msg("%s: similar(never): %zu items, the first %s (%g) with "
               "reason \"%s\"; expected the 15 items sharing a feature, by "
               "features",
               cfgs[c], pz_recs_count(r), pz_recs_item(r, 0),
               pz_recs_score(r, 0), pz_recs_reason(r, 0));
    for (size_t i = 0; i < pz_recs_count(r); i++) {
      const char *it = pz_recs_item(r, i);
      NEAR(pz_recs_score(r, i), it[0] == 'a' && (it[1] - '0') % 2 == 0 ? 1 : 0.5,
           1e-6);
    }
    pz_recs_free(r);
    r = similar(o.e, "a0", 30);
    check_similar(r, 30);
    if (find(r, "never") >= 0)
      fail_msg("%s: never is similar to a0 (%g)", cfgs[c],
               pz_recs_score(r, (size_t)find(r, "never")));
    pz_recs_free(r);
    own_close(&o);
  }
}

/* ---- import --------------------------------------------------------------------- */

static char g_dir[64];

static int make_dir(void **state) {
  (void)state;
  return test_tmpdir_make(g_dir, "pz_test_cf");
}

static int remove_dir(void **state) {
  (void)state;
  return test_tmpdir_remove(g_dir);
}

static const char *put_file(const char *name, const char *text) {
  static char path[sizeof g_dir + 64];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
  return path;
}

/* The export of a user, for the events in it. */
static char *export_of(pz_engine *e, const char *user) {
  size_t len = 0;
  assert_int_equal(pz_profile_export(NULL, 0, &len, e, user), PZ_EBUFS);
  char *b = malloc(len + 1);
  assert_non_null(b);
  OKC(pz_profile_export(b, len + 1, &len, e, user));
  return b;
}

static void expect_in_export(pz_engine *e, const char *user,
                             const char *needle) {
  char *x = export_of(e, user);
  if (!strstr(x, needle))
    fail_msg("export of %s lacks %s: %s", user, needle, x);
  free(x);
}

static const char ratings_tsv[] =
    "user\titem\tvalue\tts\n"
    "p1\tA\t5\t1600000000\n"
    "p1\tB\t3\t1600000100\n"
    "p2\tA\t4\t1600000200\n"
    "p2\tC\t1\t1600000300\n"
    "p3\tB\t2\t1600000400\n"
    "p3\tA\t4.5\t1600000500\n";

static void test_cf_import_and_train(void **state) {
  (void)state;
  const char *path = put_file("r.tsv", ratings_tsv);
  static const char cfg[] =
      "events: {rating: 1, buy: 3, view: 1}\n"
      "ranking: {content_weight: 0, popularity_weight: 0, segment_weight: 0, "
      "cf_weight: 1}\n"
      "cf: {algorithm: knn, weighting: none}\n";
  /* defaults: every row, the first event type, the file's values and
   * times */
  own o;
  own_open(&o, cfg);
  uint64_t rows = 99;
  OKC(pz_cf_import(o.e, path, NULL, &rows));
  assert_int_equal(rows, 6);
  size_t n;
  OKC(pz_profile_count(&n, o.e));
  assert_int_equal(n, 3);
  OKC(pz_item_count(&n, o.e));
  assert_int_equal(n, 3); /* A, B, C created */
  expect_in_export(o.e, "p1",
                   "{\"item\":\"A\",\"type\":\"rating\",\"value\":5,"
                   "\"ts\":1600000000000}");
  expect_in_export(o.e, "p3", "\"value\":4.5,\"ts\":1600000500000}");
  train(o.e, NULL);
  pz_cf_stats s = stats(o.e);
  assert_int_equal(s.users, 3);
  assert_int_equal(s.interactions, 6);
  /* columns (p1, p2, p3): A (5, 4, 4.5), B (3, 0, 2), C (0, 1, 0).
   * p2 (A 4, C 1) gets B: raw 4 cos AB + cos CB = 4 (15 + 9) /
   * (sqrt(61.25) sqrt(13)) + 0 = 3.402... the only candidate: a flat
   * range, so CF normalizes to 0 */
  pz_recs *r = recommend(o.e, "p2", 5);
  check_list(r, 5);
  assert_int_equal(pz_recs_count(r), 1);
  assert_string_equal(pz_recs_item(r, 0), "B");
  pz_recs_free(r);
  /* a newcomer with C: candidates A and B; raw A = cos CA =
   * 4 / (1 sqrt(61.25)) = .511101, B = 0: A 1, B 0 */
  track(o.e, "q", "C", "rating", 1);
  r = recommend(o.e, "q", 5);
  check_list(r, 5);
  assert_string_equal(pz_recs_item(r, 0), "A");
  NEAR(pz_recs_contribution(r, 0, PZ_SIGNAL_CF), 1, EPS);
  assert_string_equal(pz_recs_reason(r, 0), "because you interacted with C");
  pz_recs *sim = similar(o.e, "C", 5);
  assert_int_equal(pz_recs_count(sim), 1);
  NEAR(pz_recs_score(sim, 0), 4 / sqrt(61.25), EPS);
  pz_recs_free(sim);
  pz_recs_free(r);
  own_close(&o);

  /* binary, a minimum value, another event type, no timestamps */
  own_open(&o, cfg);
  pz_cf_import_options io;
  OKC(pz_cf_import_options_init(&io, PZ_CF_IMPORT_OPTIONS_VERSION));
  assert_int_equal(io.format, PZ_CF_FORMAT_AUTO);
  assert_null(io.event_type);
  assert_int_equal(io.binary, 0);
  assert_true(isinf(io.min_value) && io.min_value < 0);
  assert_int_equal(io.use_timestamps, 1);
  assert_int_equal(io.now_ms, 0);
  io.binary = 1;
  io.min_value = 3; /* drops p2 C 1 and p3 B 2 */
  io.event_type = "buy";
  io.use_timestamps = 0;
  io.now_ms = T0 - 5000;
  io.format = PZ_CF_FORMAT_TSV;
  OKC(pz_cf_import(o.e, path, &io, &rows));
  assert_int_equal(rows, 4);
  OKC(pz_profile_event_count(&n, o.e, "p3"));
  assert_int_equal(n, 1);
  expect_in_export(o.e, "p1",
                   "{\"item\":\"A\",\"type\":\"buy\",\"value\":1,"
                   "\"ts\":1699999995000}");
  expect_in_export(o.e, "p1",
                   "{\"item\":\"B\",\"type\":\"buy\",\"value\":1,"
                   "\"ts\":1699999995000}");
  OKC(pz_item_count(&n, o.e));
  assert_int_equal(n, 2); /* C's only row was dropped */
  train(o.e, NULL);
  s = stats(o.e);
  assert_int_equal(s.users, 3);
  assert_int_equal(s.interactions, 4);
  /* columns: A (3, 3, 3), B (3, 0, 0): cos AB = 9 / (sqrt(27) 3) =
   * 1/sqrt(3) */
  sim = similar(o.e, "A", 5);
  assert_int_equal(pz_recs_count(sim), 1);
  NEAR(pz_recs_score(sim, 0), 1 / sqrt(3), EPS);
  pz_recs_free(sim);
  r = recommend(o.e, "p2", 5);
  check_list(r, 5);
  assert_string_equal(pz_recs_item(r, 0), "B");
  pz_recs_free(r);
  /* importing again adds the rows again (events, not a replacement) */
  OKC(pz_cf_import(o.e, path, &io, NULL));
  OKC(pz_profile_event_count(&n, o.e, "p1"));
  assert_int_equal(n, 4);
  own_close(&o);

  /* CSV, MovieLens names, timestamps 0: kept as a time (not "now") */
  static const char ml[] =
      "userId,movieId,rating,timestamp\n"
      "1,10,4.0,0\n"
      "1,20,3.5,964982703\n"
      "2,10,5.0,964982224\n"
      "2,30,1.0,964983815\n";
  path = put_file("ratings.csv", ml);
  own_open(&o, cfg);
  OKC(pz_cf_import_options_init(&io, PZ_CF_IMPORT_OPTIONS_VERSION));
  io.format = PZ_CF_FORMAT_MOVIELENS;
  OKC(pz_cf_import(o.e, path, &io, &rows));
  assert_int_equal(rows, 4);
  expect_in_export(o.e, "1", "\"item\":\"20\",\"type\":\"rating\","
                             "\"value\":3.5,\"ts\":964982703000}");
  expect_in_export(o.e, "1", "\"item\":\"10\",\"type\":\"rating\","
                             "\"value\":4,\"ts\":1}");
  train(o.e, NULL);
  assert_int_equal(stats(o.e).users, 2);
  own_close(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cf_knn_cosine_similarities),
      cmocka_unit_test(test_cf_knn_cosine_recommend),
      cmocka_unit_test(test_cf_knn_neighbour_limit),
      cmocka_unit_test(test_cf_knn_tfidf),
      cmocka_unit_test(test_cf_knn_bm25),
      cmocka_unit_test(test_cf_als_loss_never_rises),
      cmocka_unit_test(test_cf_als_deterministic),
      cmocka_unit_test(test_cf_both_mix),
      cmocka_unit_test(test_cf_fold_in_new_user),
      cmocka_unit_test(test_cf_fold_in_new_event),
      cmocka_unit_test(test_cf_because_shares_knn),
      cmocka_unit_test(test_cf_because_shares_factor_models),
      cmocka_unit_test(test_cf_als_fold_in_exact),
      cmocka_unit_test(test_cf_erase_consent_merge),
      cmocka_unit_test(test_cf_stats_and_options),
      cmocka_unit_test(test_cf_off_and_nothing_to_train),
      cmocka_unit_test(test_cf_similar_by_factors),
      cmocka_unit_test(test_cf_similar_by_neighbours_removed),
      cmocka_unit_test(test_cf_similar_by_features),
      cmocka_unit_test(test_cf_similar_untrained_item),
      cmocka_unit_test(test_cf_import_and_train),
  };
  return cmocka_run_group_tests_name("cf", tests, make_dir, remove_dir);
}
