/* Segments, experiments and clusters: every operator true and false, the
 * typing rules, behaviour and interest predicates, references and cycles,
 * run-time loading, bucketing vectors and stickiness, clustering
 * reproducibility and exact removal, and "popular in your segment". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "support.h"

#define T0 (1700000000000LL) /* 2023-11-14T22:13:20Z */
#define DAY (86400000LL)
/* 2021-06-15T00:00:00Z */
#define SIGNUP (1623715200000LL)

typedef struct fixture {
  test_alloc ta;
  test_clock tc;
  pz_engine *e;
} fixture;

static const char *const config =
    "events: {view: 1, purchase: 5}\n"
    "clusters: {k: 3, min_size: 2, seed: 7}\n"
    "ranking: {segment_min_members: 3}\n";

static int setup(void **state) {
  fixture *f = test_calloc(1, sizeof *f);
  f->tc.now = T0;
  if (test_open(&f->e, &f->ta, &f->tc, config) != PZ_OK) return -1;
  static const struct { const char *id, *genre, *decade; } items[] = {
      {"j1", "genre=jazz", "decade=1950s"}, {"j2", "genre=jazz", "decade=1960s"},
      {"j3", "genre=jazz", "decade=1970s"}, {"r1", "genre=rock", "decade=1960s"},
      {"r2", "genre=rock", "decade=1970s"}, {"r3", "genre=rock", "decade=1980s"},
      {"f1", "genre=folk", "decade=1960s"}, {"f2", "genre=folk", "decade=1970s"},
      {"f3", "genre=folk", "decade=1990s"}};
  for (size_t i = 0; i < sizeof items / sizeof *items; i++) {
    const char *feat[] = {items[i].genre, items[i].decade};
    if (pz_item_put(f->e, items[i].id, feat, NULL, 2) != PZ_OK) return -1;
  }
  pz_engine *e = f->e;
  if (pz_profile_set_number(e, "u", "age", 30) ||
      pz_profile_set_string(e, "u", "name", "Alice Smith") ||
      pz_profile_set_string(e, "u", "email", "alice@example.com") ||
      pz_profile_set_string(e, "u", "country", "FR") ||
      pz_profile_set_bool(e, "u", "vip", 1) ||
      pz_profile_set_timestamp(e, "u", "signup", SIGNUP))
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  pz_engine_free(f->e);
  assert_int_equal(f->ta.live_blocks, 0);
  assert_int_equal(f->ta.bad_osize, 0);
  test_free(f);
  return 0;
}

/* Load a single segment "s" with the given rule (a YAML flow mapping). */
static int load_rule(pz_engine *e, const char *rule) {
  char y[2048];
  snprintf(y, sizeof y, "segments:\n  - name: s\n    rule: %s\n", rule);
  return pz_segment_load(e, y, strlen(y));
}

static int member(pz_engine *e, const char *seg, const char *user) {
  int in = -1;
  assert_int_equal(pz_segment_test(&in, e, seg, user), PZ_OK);
  return in;
}

typedef struct rule_case {
  const char *rule;
  int want;
} rule_case;

static void run_cases(pz_engine *e, const rule_case *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (load_rule(e, c[i].rule) != PZ_OK)
      fail_msg("rule %s: %s", c[i].rule, pz_errmsg());
    int in = member(e, "s", "u");
    if (in != c[i].want)
      fail_msg("rule %s: member = %d, want %d", c[i].rule, in, c[i].want);
  }
}

static void test_segment_attribute_operators(void **state) {
  fixture *f = *state;
  static const rule_case cases[] = {
      /* eq: typed by how the value is written */
      {"{attr: age, eq: 30}", 1},
      {"{attr: age, eq: 31}", 0},
      {"{attr: age, eq: \"30\"}", 0}, /* a string never equals a number */
      {"{attr: name, eq: Alice Smith}", 1},
      {"{attr: name, eq: alice smith}", 0},
      {"{attr: name, eq: alice smith, case_insensitive: true}", 1},
      {"{attr: vip, eq: true}", 1},
      {"{attr: vip, eq: false}", 0},
      {"{attr: vip, eq: 1}", 0}, /* a number is not a bool */
      {"{attr: signup, eq: 2021-06-15}", 1},
      {"{attr: signup, eq: 2021-06-15T00:00:01Z}", 0},
      {"{attr: signup, eq: \"2021-06-15\"}", 0}, /* quoted: a string */
      /* ne: present and not equal */
      {"{attr: age, ne: 31}", 1},
      {"{attr: age, ne: 30}", 0},
      {"{attr: age, ne: \"30\"}", 1},
      {"{attr: missing, ne: 1}", 0},
      /* in / not_in */
      {"{attr: country, in: [DE, FR]}", 1},
      {"{attr: country, in: [de, fr]}", 0},
      {"{attr: country, in: [de, fr], case_insensitive: true}", 1},
      {"{attr: age, in: [29, 30]}", 1},
      {"{attr: age, in: [\"30\"]}", 0},
      {"{attr: missing, in: [1]}", 0},
      {"{attr: country, not_in: [DE, IT]}", 1},
      {"{attr: country, not_in: [FR]}", 0},
      {"{attr: country, not_in: [fr], case_insensitive: true}", 0},
      {"{attr: missing, not_in: [FR]}", 0},
      /* ordering: numbers */
      {"{attr: age, gt: 29}", 1},
      {"{attr: age, gt: 30}", 0},
      {"{attr: age, gte: 30}", 1},
      {"{attr: age, gte: 30.5}", 0},
      {"{attr: age, lt: 30}", 0},
      {"{attr: age, lt: 31}", 1},
      {"{attr: age, lte: 30}", 1},
      {"{attr: age, lte: 29.9}", 0},
      {"{attr: missing, gt: -1000}", 0},
      /* ordering: dates compare as timestamps, with zones */
      {"{attr: signup, gt: 2021-01-01}", 1},
      {"{attr: signup, lt: 2021-01-01}", 0},
      {"{attr: signup, gt: \"2021-01-01\"}", 1},
      {"{attr: signup, gt: 2021-06-15T00:00:00+02:00}", 1},
      {"{attr: signup, gt: 2021-06-15T00:00:00-02:00}", 0},
      {"{attr: signup, lte: 2021-06-15T00:00:00.000Z}", 1},
      {"{attr: age, gt: 2020-01-01}", 0},  /* number vs date */
      {"{attr: signup, gt: 5}", 0},        /* date vs number */
      /* between, inclusive */
      {"{attr: age, between: [18, 30]}", 1},
      {"{attr: age, between: [30, 30]}", 1},
      {"{attr: age, between: [31, 40]}", 0},
      {"{attr: signup, between: [2021-01-01, 2021-12-31]}", 1},
      {"{attr: signup, between: [2022-01-01, 2022-12-31]}", 0},
      {"{attr: name, between: [1, 2]}", 0},
      /* exists */
      {"{attr: age, exists: true}", 1},
      {"{attr: nope, exists: true}", 0},
      {"{attr: nope, exists: false}", 1},
      {"{attr: age, exists: false}", 0},
      /* text */
      {"{attr: email, contains: \"@example.\"}", 1},
      {"{attr: email, contains: [foo, bar]}", 0},
      {"{attr: email, contains: [foo, example]}", 1},
      {"{attr: name, contains: SMITH}", 0},
      {"{attr: name, contains: SMITH, case_insensitive: true}", 1},
      {"{attr: age, contains: \"3\"}", 0},
      {"{attr: name, starts_with: Alice}", 1},
      {"{attr: name, starts_with: Smith}", 0},
      {"{attr: name, starts_with: Alice Smith and more}", 0},
      {"{attr: name, ends_with: Smith}", 1},
      {"{attr: name, ends_with: Alice}", 0},
      {"{attr: name, ends_with: SMITH, case_insensitive: true}", 1},
      {"{attr: missing, starts_with: a}", 0},
      /* regex (POSIX ERE, unanchored unless anchored) */
      {"{attr: email, regex: '^[a-z]+@example\\.(com|org)$'}", 1},
      {"{attr: email, regex: '^bob'}", 0},
      {"{attr: email, regex: '^([a-z]+[.])*[a-z]+@[a-z]{2,30}[.](com|org){1}$'}", 1},
      {"{attr: email, regex: '[[:alpha:]]+@(x|y)?example'}", 1},
      {"{attr: name, regex: 'smi'}", 0},
      {"{attr: name, regex: '^alice', case_insensitive: true}", 1},
      {"{attr: age, regex: '3'}", 0},
      {"{attr: missing, regex: '.*'}", 0},
  };
  run_cases(f->e, cases, sizeof cases / sizeof *cases);
}

static void test_segment_composition_and_references(void **state) {
  fixture *f = *state;
  static const rule_case cases[] = {
      {"{all: [{attr: age, gt: 18}, {attr: vip, eq: true}]}", 1},
      {"{all: [{attr: age, gt: 18}, {attr: vip, eq: false}]}", 0},
      {"{any: [{attr: age, gt: 99}, {attr: vip, eq: true}]}", 1},
      {"{any: [{attr: age, gt: 99}, {attr: vip, eq: false}]}", 0},
      {"{not: {attr: age, gt: 99}}", 1},
      {"{not: {attr: nope, exists: false}}", 0},
      {"{not: {not: {attr: age, eq: 30}}}", 1},
  };
  run_cases(f->e, cases, sizeof cases / sizeof *cases);
  const char *y = "segments:\n"
                  "  - name: whole\n"
                  "    rule: {all: [{segment: adult}, {not: {segment: minor}}]}\n"
                  "  - name: adult\n"
                  "    rule: {attr: age, gte: 18}\n"
                  "  - name: minor\n"
                  "    rule: {not: {segment: adult}}\n";
  assert_int_equal(pz_segment_load(f->e, y, strlen(y)), PZ_OK);
  assert_int_equal(member(f->e, "whole", "u"), 1);
  assert_int_equal(member(f->e, "minor", "u"), 0);
  /* a user without a profile is evaluated as an empty one */
  assert_int_equal(member(f->e, "minor", "nobody"), 1);
  assert_int_equal(member(f->e, "adult", "nobody"), 0);
  size_t n;
  assert_int_equal(pz_profile_count(&n, f->e), PZ_OK);
  assert_int_equal(n, 1); /* evaluating created nothing */
}

/* Each bad rule is a config error at the given line and column, and the
 * rules in force before stay in force. */
static void test_segment_errors_name_the_place(void **state) {
  fixture *f = *state;
  assert_int_equal(load_rule(f->e, "{attr: age, eq: 30}"), PZ_OK);
  /* where: the offset in the rule of the character the error names */
  static const struct { const char *rule; int where; const char *text; } bad[] = {
      {"{attr: age, gte_: 18}", 12, "unknown operator \"gte_\""},
      {"{attr: n, regex: '('}", 17, "does not compile"},
      {"{attr: n, regex: '(a)\\1'}", 17, "back-references"},
      {"{attr: n, regex: 'a+++++++++++++++++++++'}", 17, "repetition of a repetition"},
      {"{attr: n, regex: 'a{2}{3}'}", 17, "repetition of a repetition"},
      {"{attr: n, regex: '((a{1,100}){1,100}){1,100}'}", 17, "beyond 1000"},
      {"{attr: d, gt: 2024-02-30}", 14, "bad date"},
      {"{attr: d, gt: 2024-13-01}", 14, "bad date"},
      {"{attr: d, lt: 2024-01-01T25:00}", 14, "bad date"},
      {"{attr: n, gt: abc}", 14, "a number or a date"},
      {"{attr: n, eq: null}", 14, "null"},
      {"{attr: n, eq: ~}", 14, "null"},
      {"{attr: n, between: [1, 2020-01-01]}", 19, "two numbers"},
      {"{attr: n, between: [5, 1]}", 19, "low is above high"},
      {"{attr: n, between: 5}", 19, "two values"},
      {"{attr: n, gt: 1, case_insensitive: true}", 17, "text operators"},
      {"{attr: n, in: 5}", 14, "list"},
      {"{attr: n, in: []}", 14, "1 to"},
      {"{attr: n}", 1, "needs an operator"},
      {"{attr: n, eq: 1, ne: 2}", 17, "one operator"},
      {"{attr: n, count: view, eq: 1}", 10, "one subject"},
      {"{eq: 1}", 0, "needs a subject"},
      {"{count: buy, gte: 1}", 8, "unknown event type"},
      {"{count: view, contains: a}", 14, "does not apply"},
      {"{count: view, within: 3 days, gte: 1}", 22, "within"},
      {"{attr: n, within: 3d, eq: 1}", 10, "does not apply"},
      {"{all: []}", 6, "non-empty"},
      {"{any: {attr: n, eq: 1}}", 6, "non-empty"},
      {"{segment: nope}", 10, "unknown segment \"nope\""},
      {"{segment: s}", 10, "cycle"},
      {"{top_interests: 3}", 1, "include"},
      {"{top_interests: 0, include: genre=jazz}", 16, "between"},
      {"{cluster: 5000}", 10, "between"},
      {"[attr, n]", 0, "mapping"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char where[32];
    snprintf(where, sizeof where, "segments:3:%d:", 11 + bad[i].where);
    int rc = load_rule(f->e, bad[i].rule);
    const char *m = pz_errmsg();
    if (rc != PZ_ECONFIG || strncmp(m, where, strlen(where)) ||
        !strstr(m, bad[i].text))
      fail_msg("rule %s: rc %d, message \"%s\"; want %s ... %s", bad[i].rule,
               rc, m, where, bad[i].text);
    assert_int_equal(member(f->e, "s", "u"), 1); /* old rules kept */
  }
  /* a longer cycle, found at load time */
  const char *y = "segments:\n"
                  "  - {name: a, rule: {segment: b}}\n"
                  "  - {name: b, rule: {any: [{attr: x, exists: true}, "
                  "{segment: c}]}}\n"
                  "  - {name: c, rule: {not: {segment: a}}}\n";
  assert_int_equal(pz_segment_load(f->e, y, strlen(y)), PZ_ECONFIG);
  assert_non_null(strstr(pz_errmsg(), "cycle"));
  /* duplicates, and experiments */
  const char *dup = "segments:\n  - {name: a, rule: {attr: x, exists: true}}\n"
                    "  - {name: a, rule: {attr: y, exists: true}}\n";
  assert_int_equal(pz_segment_load(f->e, dup, strlen(dup)), PZ_ECONFIG);
  assert_non_null(strstr(pz_errmsg(), "segments:3:12: duplicate segment"));
  static const char *const bad_exp[] = {
      "experiments:\n  - {name: x, seed: 1, variants: [{name: a, weight: 0}]}\n",
      "experiments:\n  - {name: x, seed: 1, variants: [{name: a, weight: -1}]}\n",
      "experiments:\n  - {name: x, seed: 1, coverage: 1.5, variants: [{name: a}]}\n",
      "experiments:\n  - {name: x, seed: 1, coverage: -0.1, variants: [{name: a}]}\n",
      "experiments:\n  - {name: x, variants: [{name: a}]}\n",
      "experiments:\n  - {name: x, seed: 1, variants: []}\n",
      "experiments:\n  - {name: x, seed: 1, variants: [{name: a}, {name: a}]}\n",
      "experiments:\n  - {name: x, seed: 1, segment: nope, variants: [{name: a}]}\n",
      "experiments:\n  - {name: \"\", seed: 1, variants: [{name: a}]}\n",
      "experiments:\n  - {name: x, seed: 1, variants: [{name: a}]}\n"
      "  - {name: x, seed: 2, variants: [{name: a}]}\n",
      "experiments:\n  - {name: x, seed: 1, color: red, variants: [{name: a}]}\n",
      "segmentz: []\n",
  };
  for (size_t i = 0; i < sizeof bad_exp / sizeof *bad_exp; i++) {
    int rc = pz_segment_load(f->e, bad_exp[i], strlen(bad_exp[i]));
    if (rc != PZ_ECONFIG || strncmp(pz_errmsg(), "segments:", 9))
      fail_msg("%s: rc %d \"%s\"", bad_exp[i], rc, pz_errmsg());
    assert_int_equal(member(f->e, "s", "u"), 1);
  }
}

static void test_segment_config_file_errors(void **state) {
  (void)state;
  test_alloc ta = {0};
  test_clock tc = {T0};
  pz_engine *e = NULL;
  const char *y = "events: {view: 1}\n"
                  "segments:\n"
                  "  - name: a\n"
                  "    rule: {attr: x, matches: 1}\n";
  assert_int_equal(test_open(&e, &ta, &tc, y), PZ_ECONFIG);
  assert_null(e);
  assert_non_null(strstr(pz_errmsg(), ":4:21: unknown operator \"matches\""));
  assert_int_equal(ta.live_blocks, 0);
}

static void track_at(pz_engine *e, const char *user, const char *item,
                     const char *type, double value, int64_t ts) {
  if (pz_track(e, user, item, type, value, ts) != PZ_OK)
    fail_msg("track: %s", pz_errmsg());
}

static void test_segment_behaviour_rfm(void **state) {
  fixture *f = *state;
  pz_engine *e = f->e;
  track_at(e, "u", "j1", "purchase", 100, T0 - 40 * DAY);
  track_at(e, "u", "j2", "purchase", 200, T0 - 10 * DAY);
  track_at(e, "u", "r1", "purchase", 300, T0 - 5 * DAY);
  track_at(e, "u", "f1", "purchase", 50, T0 - 1 * DAY);
  track_at(e, "u", "f1", "view", 1, T0 - 2 * DAY);
  static const rule_case cases[] = {
      {"{count: purchase, within: 30d, gte: 3}", 1},
      {"{count: purchase, within: 30d, gte: 4}", 0},
      {"{count: purchase, within: 7d, eq: 2}", 1},
      {"{count: purchase, eq: 4}", 1},
      {"{count: view, within: 1d, eq: 0}", 1},
      {"{sum: purchase, within: 30d, gt: 500}", 1},
      {"{sum: purchase, within: 30d, gt: 550}", 0},
      {"{sum: purchase, eq: 650}", 1},
      {"{sum: purchase, between: [600, 700]}", 1},
      {"{days_since: purchase, lt: 2}", 1},
      {"{days_since: purchase, between: [0.99, 1.01]}", 1},
      {"{days_since: view, gte: 2}", 1},
      {"{all: [{count: purchase, within: 30d, gte: 3}, "
       "{sum: purchase, within: 30d, gt: 500}]}",
       1},
  };
  run_cases(e, cases, sizeof cases / sizeof *cases);
  /* never bought: no recency, whatever the comparison */
  load_rule(e, "{days_since: purchase, gte: 0}");
  assert_int_equal(member(e, "s", "nobody"), 0);
  load_rule(e, "{count: purchase, lt: 1}");
  assert_int_equal(member(e, "s", "nobody"), 1);
  /* lapsed customers: bought, but not for 60 days */
  load_rule(e, "{all: [{count: purchase, gte: 1}, {days_since: purchase, gt: 60}]}");
  assert_int_equal(member(e, "s", "u"), 0);
  f->tc.now = T0 + 70 * DAY;
  assert_int_equal(member(e, "s", "u"), 1);
  /* membership follows the latest event at once */
  track_at(e, "u", "j3", "purchase", 10, 0);
  assert_int_equal(member(e, "s", "u"), 0);
  /* without consent, behaviour is not read (and was dropped anyway) */
  load_rule(e, "{count: purchase, lt: 1}");
  assert_int_equal(member(e, "s", "u"), 0);
  assert_int_equal(pz_profile_set_consent(e, "u", "personalization", 0), PZ_OK);
  assert_int_equal(member(e, "s", "u"), 0);
}

static void test_segment_interests(void **state) {
  fixture *f = *state;
  pz_engine *e = f->e;
  for (int i = 0; i < 3; i++) track_at(e, "u", "j1", "view", 1, T0);
  track_at(e, "u", "j2", "view", 1, T0);
  track_at(e, "u", "r2", "view", 1, T0);
  pz_interests *in;
  assert_int_equal(pz_profile_interests(&in, e, "u", 10, 0), PZ_OK);
  double jazz = NAN;
  for (size_t i = 0; i < pz_interests_count(in); i++)
    if (!strcmp(pz_interests_feature(in, i), "genre=jazz"))
      jazz = pz_interests_score(in, i);
  pz_interests_free(in);
  assert_true(jazz > 0);
  char r[256];
  snprintf(r, sizeof r, "{interest: genre=jazz, gte: %.9g}", jazz * 0.999);
  assert_int_equal(load_rule(e, r), PZ_OK);
  assert_int_equal(member(e, "s", "u"), 1);
  snprintf(r, sizeof r, "{interest: genre=jazz, gte: %.9g}", jazz * 1.001);
  assert_int_equal(load_rule(e, r), PZ_OK);
  assert_int_equal(member(e, "s", "u"), 0);
  static const rule_case cases[] = {
      {"{interest: genre=folk, gt: 0}", 0},
      {"{interest: genre=folk, eq: 0}", 1},
      {"{top_interests: 1, include: genre=jazz}", 1},
      {"{top_interests: 1, include: genre=rock}", 0},
      {"{top_interests: 5, include: genre=rock}", 1},
      {"{top_interests: 5, include: genre=folk}", 0},
  };
  run_cases(e, cases, sizeof cases / sizeof *cases);
  /* interests decay with time: half of it after one half-life (30 days) */
  snprintf(r, sizeof r, "{interest: genre=jazz, between: [%.9g, %.9g]}",
           jazz * 0.499, jazz * 0.501);
  assert_int_equal(load_rule(e, r), PZ_OK);
  assert_int_equal(member(e, "s", "u"), 0);
  f->tc.now = T0 + 30 * DAY;
  assert_int_equal(member(e, "s", "u"), 1);
}

static void test_segment_lists_and_counts(void **state) {
  fixture *f = *state;
  pz_engine *e = f->e;
  const char *y = "segments:\n"
                  "  - {name: old, rule: {attr: age, gte: 40}}\n"
                  "  - {name: young, rule: {attr: age, lt: 40}}\n"
                  "  - {name: everyone, rule: {attr: age, exists: true}}\n";
  assert_int_equal(pz_segment_load(e, y, strlen(y)), PZ_OK);
  for (int i = 0; i < 50; i++) {
    char id[16];
    snprintf(id, sizeof id, "p%d", i);
    assert_int_equal(pz_profile_set_number(e, id, "age", 20 + i), PZ_OK);
  }
  pz_list *l;
  assert_int_equal(pz_segment_counts(&l, e), PZ_OK);
  assert_int_equal(pz_list_count(l), 3);
  assert_string_equal(pz_list_text(l, 0), "old");
  assert_true(pz_list_value(l, 0) == 30); /* 40..69 */
  assert_true(pz_list_value(l, 1) == 21); /* 20..39 and u (30) */
  assert_true(pz_list_value(l, 2) == 51);
  pz_list_free(l);
  assert_int_equal(pz_segment_members(&l, e, "old"), PZ_OK);
  assert_int_equal(pz_list_count(l), 30);
  for (size_t i = 0; i < pz_list_count(l); i++)
    assert_int_equal(member(e, "old", pz_list_text(l, i)), 1);
  pz_list_free(l);
  assert_int_equal(pz_segment_of(&l, e, "u"), PZ_OK);
  assert_int_equal(pz_list_count(l), 2);
  assert_string_equal(pz_list_text(l, 0), "young");
  assert_string_equal(pz_list_text(l, 1), "everyone");
  pz_list_free(l);
  assert_int_equal(pz_segment_members(&l, e, "nope"), PZ_ENOTFOUND);
  assert_null(l);
  /* loading nothing removes every segment */
  assert_int_equal(pz_segment_load(e, "", 0), PZ_OK);
  assert_int_equal(pz_segment_counts(&l, e), PZ_OK);
  assert_int_equal(pz_list_count(l), 0);
  pz_list_free(l);
}

/* ---- experiments ------------------------------------------------------------ */

/* Vectors from python3-xxhash (tests/data/gen_experiment_vectors.py). */
static void test_experiment_vectors(void **state) {
  fixture *f = *state;
  static const uint64_t seeds[] = {0, 1, 42, 4294967303ull,
                                   18446744073709551615ull};
  char y[8192];
  size_t at = (size_t)snprintf(y, sizeof y, "experiments:\n");
  for (int s = 0; s < 5; s++)
    at += (size_t)snprintf(
        y + at, sizeof y - at,
        "  - {name: A%d, seed: %llu, variants: [{name: \"0\"}, {name: \"1\"}]}\n"
        "  - {name: B%d, seed: %llu, coverage: 0.5, variants: [{name: \"0\"}, "
        "{name: \"1\"}]}\n"
        "  - {name: C%d, seed: %llu, coverage: 0.8, variants: [{name: \"0\", "
        "weight: 50}, {name: \"1\", weight: 30}, {name: \"2\", weight: 20}]}\n",
        s, (unsigned long long)seeds[s], s, (unsigned long long)seeds[s], s,
        (unsigned long long)seeds[s]);
  assert_int_equal(pz_segment_load(f->e, y, at), PZ_OK);
  const char *dir = getenv("PZ_TEST_DATA");
  char path[512];
  snprintf(path, sizeof path, "%s/experiment_vectors.tsv",
           dir ? dir : "tests/data");
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char line[2048];
  int checked = 0, non_ascii = 0;
  while (fgets(line, sizeof line, fp)) {
    if (line[0] == '#') continue;
    line[strcspn(line, "\n")] = '\0';
    char *id = strtok(line, "\t");
    unsigned long long seed = strtoull(strtok(NULL, "\t"), NULL, 10);
    strtok(NULL, "\t"); /* the hash, shown for people */
    double want = strtod(strtok(NULL, "\t"), NULL);
    int want_v[3];
    for (int k = 0; k < 3; k++) want_v[k] = atoi(strtok(NULL, "\t"));
    double u;
    assert_int_equal(pz_experiment_bucket(&u, id, seed), PZ_OK);
    if (u != want) fail_msg("%s seed %llu: bucket %.17g, want %.17g", id, seed, u, want);
    int s = 0;
    while (seeds[s] != seed) s++;
    for (int k = 0; k < 3; k++) {
      char name[8], v[8];
      size_t n;
      snprintf(name, sizeof name, "%c%d", "ABC"[k], s);
      assert_int_equal(pz_experiment_assign(v, sizeof v, &n, f->e, name, id),
                       PZ_OK);
      int got = n ? atoi(v) : -1;
      if (got != want_v[k])
        fail_msg("%s seed %llu experiment %c: %d, want %d", id, seed, "ABC"[k],
                 got, want_v[k]);
    }
    for (const char *p = id; *p; p++)
      if ((unsigned char)*p >= 0x80) {
        non_ascii++;
        break;
      }
    checked++;
  }
  fclose(fp);
  assert_true(checked >= 600);
  assert_true(non_ascii >= 50);
}

static void load_coverage(pz_engine *e, double coverage) {
  char y[512];
  snprintf(y, sizeof y,
           "experiments:\n  - name: x\n    seed: 99\n    coverage: %g\n"
           "    variants: [{name: red, weight: 2}, {name: green}, {name: blue}]\n",
           coverage);
  assert_int_equal(pz_segment_load(e, y, strlen(y)), PZ_OK);
}

static void test_experiment_sticky_under_coverage(void **state) {
  fixture *f = *state;
  enum { N = 3000 };
  static char got[3][N][8];
  static const double cov[3] = {0.1, 0.5, 1.0};
  int assigned[3] = {0};
  for (int c = 0; c < 3; c++) {
    load_coverage(f->e, cov[c]);
    for (int i = 0; i < N; i++) {
      char id[16];
      size_t n;
      snprintf(id, sizeof id, "visitor-%d", i);
      assert_int_equal(pz_experiment_assign(got[c][i], 8, &n, f->e, "x", id),
                       PZ_OK);
      assigned[c] += n > 0;
    }
  }
  for (int c = 1; c < 3; c++)
    for (int i = 0; i < N; i++)
      if (got[c - 1][i][0] && strcmp(got[c - 1][i], got[c][i]) != 0)
        fail_msg("visitor-%d moved from %s to %s when coverage rose to %g", i,
                 got[c - 1][i], got[c][i], cov[c]);
  assert_int_equal(assigned[2], N);
  assert_true(abs(assigned[0] - N / 10) < N / 20);
  assert_true(abs(assigned[1] - N / 2) < N / 20);
  /* nothing is stored per user: no profile was created */
  size_t n;
  assert_int_equal(pz_profile_count(&n, f->e), PZ_OK);
  assert_int_equal(n, 1);
}

static void test_experiment_targeting_and_erase(void **state) {
  fixture *f = *state;
  const char *y = "segments:\n  - {name: adults, rule: {attr: age, gte: 18}}\n"
                  "experiments:\n"
                  "  - {name: t, seed: 5, segment: adults, "
                  "variants: [{name: only}]}\n";
  assert_int_equal(pz_segment_load(f->e, y, strlen(y)), PZ_OK);
  char v[16];
  size_t n;
  assert_int_equal(pz_experiment_assign(v, sizeof v, &n, f->e, "t", "u"), PZ_OK);
  assert_string_equal(v, "only");
  assert_int_equal(pz_experiment_assign(v, sizeof v, &n, f->e, "t", "kid"), PZ_OK);
  assert_int_equal(n, 0);
  assert_string_equal(v, "");
  assert_int_equal(pz_experiment_assign(v, 2, &n, f->e, "t", "u"), PZ_EBUFS);
  assert_int_equal(n, 4);
  assert_int_equal(pz_experiment_assign(v, sizeof v, &n, f->e, "nope", "u"),
                   PZ_ENOTFOUND);
  /* erased: the user is out of the targeting segment, nothing remains */
  assert_int_equal(pz_profile_erase(f->e, "u"), PZ_OK);
  assert_int_equal(pz_experiment_assign(v, sizeof v, &n, f->e, "t", "u"), PZ_OK);
  assert_int_equal(n, 0);
}

/* ---- clusters ------------------------------------------------------------------ */

/* 3 taste groups of 12 users: jazz, rock, folk, with a little noise. */
static void taste_groups(pz_engine *e) {
  static const char *const groups[3][3] = {
      {"j1", "j2", "j3"}, {"r1", "r2", "r3"}, {"f1", "f2", "f3"}};
  for (int g = 0; g < 3; g++)
    for (int i = 0; i < 12; i++) {
      char id[16];
      snprintf(id, sizeof id, "%c%02d", "jrf"[g], i);
      for (int k = 0; k < 3; k++)
        track_at(e, id, groups[g][(i + k) % 3], "view", 1 + (i + k) % 2, T0);
      track_at(e, id, groups[(g + 1) % 3][i % 3], "view", 0.2, T0);
    }
}

static int cluster_of(pz_engine *e, const char *u) {
  int c = -9;
  assert_int_equal(pz_cluster_of(&c, e, u), PZ_OK);
  return c;
}

static void check_groups(pz_engine *e) {
  for (int g = 0; g < 3; g++) {
    char first[16];
    snprintf(first, sizeof first, "%c00", "jrf"[g]);
    int c = cluster_of(e, first);
    assert_true(c >= 0 && c < 3);
    for (int i = 1; i < 12; i++) {
      char id[16];
      snprintf(id, sizeof id, "%c%02d", "jrf"[g], i);
      assert_int_equal(cluster_of(e, id), c);
    }
  }
}

static void test_cluster_reproducible_and_readable(void **state) {
  fixture *f = *state;
  pz_engine *e = f->e;
  taste_groups(e);
  assert_int_equal(cluster_of(e, "j00"), -1); /* no model yet */
  for (int batch = 0; batch < 2; batch++) {
    pz_cluster_options o;
    assert_int_equal(pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION),
                     PZ_OK);
    o.batch_size = batch ? 16 : 0;
    o.max_iterations = batch ? 30 : 0;
    assert_int_equal(pz_cluster_train(e, &o), PZ_OK);
    size_t k;
    assert_int_equal(pz_cluster_count(&k, e), PZ_OK);
    assert_int_equal(k, 3);
    check_groups(e);
    int first[36];
    size_t sizes[3];
    for (int i = 0; i < 36; i++) {
      char id[16];
      snprintf(id, sizeof id, "%c%02d", "jrf"[i / 12], i % 12);
      first[i] = cluster_of(e, id);
    }
    for (int c = 0; c < 3; c++) {
      assert_int_equal(pz_cluster_size(&sizes[c], e, c), PZ_OK);
      assert_int_equal(sizes[c], 12);
      /* the persona leads with the group's genre */
      pz_list *l;
      assert_int_equal(pz_cluster_describe(&l, e, c, 3), PZ_OK);
      assert_true(pz_list_count(l) >= 1);
      assert_non_null(strstr(pz_list_text(l, 0), "genre="));
      assert_true(pz_list_value(l, 0) > 0 && pz_list_value(l, 0) <= 1);
      pz_list_free(l);
    }
    /* same data, options and seed: the same model */
    assert_int_equal(pz_cluster_train(e, &o), PZ_OK);
    for (int i = 0; i < 36; i++) {
      char id[16];
      snprintf(id, sizeof id, "%c%02d", "jrf"[i / 12], i % 12);
      assert_int_equal(cluster_of(e, id), first[i]);
    }
  }
  pz_cluster_options o;
  pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
  o.k = 37; /* more clusters than users with interests */
  assert_int_equal(pz_cluster_train(e, &o), PZ_ERANGE);
  size_t k;
  assert_int_equal(pz_cluster_count(&k, e), PZ_OK);
  assert_int_equal(k, 3); /* the old model serves on */
}

/* The centroid sums equal the sum of the remaining members' contributions,
 * exactly (read from the internal model). */
static void check_exact_sums(pz_engine *e) {
  const pz__clusters *m = e->seg.clusters;
  assert_non_null(m);
  for (uint32_t c = 0; c < m->k; c++) {
    const pz__cluster *cl = &m->c[c];
    uint32_t count = 0;
    int64_t *want = test_calloc(cl->nsum ? cl->nsum : 1, sizeof *want);
    for (uint32_t i = 0; i < m->n_m; i++) {
      const pz__cmember *mb = m->m[i];
      if (!mb || mb->cluster != c) continue;
      count++;
      for (uint32_t j = 0; j < mb->n; j++) {
        uint32_t at = 0;
        while (at < cl->nsum && cl->sum[at].i != mb->q[j].i) at++;
        assert_true(at < cl->nsum);
        want[at] += mb->q[j].q;
      }
    }
    assert_int_equal(count, cl->count);
    for (uint32_t j = 0; j < cl->nsum; j++)
      assert_true(want[j] == cl->sum[j].s);
    test_free(want);
  }
}

static void test_cluster_erase_removes_exactly(void **state) {
  fixture *f = *state;
  pz_engine *e = f->e;
  taste_groups(e);
  assert_int_equal(pz_cluster_train(e, NULL), PZ_OK);
  check_exact_sums(e);
  int c = cluster_of(e, "j03");
  size_t before, after;
  assert_int_equal(pz_cluster_size(&before, e, c), PZ_OK);
  assert_int_equal(pz_profile_erase(e, "j03"), PZ_OK);
  assert_int_equal(pz_cluster_size(&after, e, c), PZ_OK);
  assert_int_equal(after, before - 1);
  check_exact_sums(e);
  /* erase the whole jazz group: its centroid's sums return to exactly 0 */
  int cj = cluster_of(e, "j00");
  for (int i = 0; i < 12; i++) {
    char id[16];
    snprintf(id, sizeof id, "j%02d", i);
    if (i != 3) assert_int_equal(pz_profile_erase(e, id), PZ_OK);
  }
  const pz__cluster *cl = &e->seg.clusters->c[cj];
  assert_int_equal(cl->count, 0);
  for (uint32_t j = 0; j < cl->nsum; j++) assert_true(cl->sum[j].s == 0);
  assert_true(cl->norm == 0);
  /* a merge takes the merged-away id out; consent withdrawal too */
  int cr = cluster_of(e, "r00");
  assert_int_equal(pz_cluster_size(&before, e, cr), PZ_OK);
  assert_int_equal(pz_profile_merge(e, "r01", "r00"), PZ_OK);
  assert_int_equal(pz_profile_set_consent(e, "r02", "personalization", 0),
                   PZ_OK);
  assert_int_equal(pz_cluster_size(&after, e, cr), PZ_OK);
  assert_int_equal(after, before - 2);
  check_exact_sums(e);
}

static void test_cluster_rules_and_names(void **state) {
  fixture *f = *state;
  pz_engine *e = f->e;
  taste_groups(e);
  assert_int_equal(pz_cluster_train(e, NULL), PZ_OK);
  int cj = cluster_of(e, "j00"), cr = cluster_of(e, "r00");
  char r[128];
  snprintf(r, sizeof r, "{cluster: %d}", cj);
  assert_int_equal(load_rule(e, r), PZ_OK);
  assert_int_equal(member(e, "s", "j05"), 1);
  assert_int_equal(member(e, "s", "r05"), 0);
  assert_int_equal(member(e, "s", "u"), 0); /* no interests, no cluster */
  /* by name; names move to the most similar cluster on retraining */
  assert_int_equal(load_rule(e, "{cluster: jazzheads}"), PZ_OK);
  assert_int_equal(member(e, "s", "j05"), 0); /* nobody has the name yet */
  assert_int_equal(pz_cluster_set_name(e, cj, "jazzheads"), PZ_OK);
  assert_int_equal(member(e, "s", "j05"), 1);
  char name[32];
  size_t n;
  assert_int_equal(pz_cluster_name(name, sizeof name, &n, e, cj), PZ_OK);
  assert_string_equal(name, "jazzheads");
  assert_int_equal(pz_cluster_name(name, sizeof name, &n, e, cr), PZ_OK);
  assert_int_equal(n, 0);
  pz_cluster_options o;
  pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
  o.seed = 12345; /* another seed: ids may change, the name follows */
  assert_int_equal(pz_cluster_train(e, &o), PZ_OK);
  assert_int_equal(member(e, "s", "j05"), 1);
  assert_int_equal(member(e, "s", "r05"), 0);
  /* names are unique: giving it to another cluster moves it */
  cr = cluster_of(e, "r00");
  assert_int_equal(pz_cluster_set_name(e, cr, "jazzheads"), PZ_OK);
  assert_int_equal(member(e, "s", "j05"), 0);
  assert_int_equal(member(e, "s", "r05"), 1);
  assert_int_equal(pz_cluster_set_name(e, cr, NULL), PZ_OK);
  assert_int_equal(member(e, "s", "r05"), 0);
  /* below min_size (2 here) a cluster is not targetable */
  for (int i = 0; i < 12; i++) {
    char id[16];
    snprintf(id, sizeof id, "r%02d", i);
    if (i) assert_int_equal(pz_profile_erase(e, id), PZ_OK);
  }
  snprintf(r, sizeof r, "{cluster: %d}", cr);
  assert_int_equal(load_rule(e, r), PZ_OK);
  assert_int_equal(cluster_of(e, "r00"), cr);
  assert_int_equal(member(e, "s", "r00"), 0);
}

/* ---- popular in your segment ------------------------------------------------------ */

static void test_segment_popularity_cold_start(void **state) {
  fixture *f = *state;
  pz_engine *e = f->e;
  const char *y = "segments:\n"
                  "  - {name: folkies, rule: {attr: scene, eq: folk}}\n"
                  "  - {name: adults, rule: {attr: age, gte: 18}}\n";
  assert_int_equal(pz_segment_load(e, y, strlen(y)), PZ_OK);
  /* overall, r1 is the hit; folk-scene people all play f3 */
  for (int i = 0; i < 20; i++) {
    char id[16];
    snprintf(id, sizeof id, "p%d", i);
    assert_int_equal(pz_profile_set_number(e, id, "age", 30), PZ_OK);
    track_at(e, id, "r1", "view", 1, T0);
    if (i < 4) {
      assert_int_equal(pz_profile_set_string(e, id, "scene", "folk"), PZ_OK);
      track_at(e, id, "f3", "view", 3, T0);
    }
  }
  assert_int_equal(pz_profile_set_string(e, "newbie", "scene", "folk"), PZ_OK);
  assert_int_equal(pz_profile_set_number(e, "newbie", "age", 25), PZ_OK);
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, e, "newbie", 3, NULL), PZ_OK);
  assert_string_equal(pz_recs_item(r, 0), "r1"); /* before the refresh */
  assert_int_equal(pz_recs_reason_code(r, 0), PZ_REASON_POPULAR);
  pz_recs_free(r);
  assert_int_equal(pz_segment_refresh(e), PZ_OK);
  assert_int_equal(pz_recommend(&r, e, "newbie", 3, NULL), PZ_OK);
  /* the most specific segment (folkies, 4 members) speaks */
  assert_string_equal(pz_recs_item(r, 0), "f3");
  assert_int_equal(pz_recs_reason_code(r, 0), PZ_REASON_SEGMENT);
  assert_string_equal(pz_recs_reason(r, 0), "popular in your segment folkies");
  double sum = 0;
  for (int s = PZ_SIGNAL_CONTENT; s <= PZ_SIGNAL_SEGMENT; s++)
    sum += pz_recs_contribution(r, 0, s);
  assert_true(fabs(sum - pz_recs_score(r, 0)) < 1e-12);
  assert_true(pz_recs_contribution(r, 0, PZ_SIGNAL_SEGMENT) > 0);
  pz_recs_free(r);
  /* someone outside every segment sees plain popularity */
  assert_int_equal(pz_recommend(&r, e, "stranger", 1, NULL), PZ_OK);
  assert_string_equal(pz_recs_item(r, 0), "r1");
  assert_int_equal(pz_recs_reason_code(r, 0), PZ_REASON_POPULAR);
  pz_recs_free(r);
  /* erasing a counted member drops the folk table until the next refresh */
  assert_int_equal(pz_profile_erase(e, "p0"), PZ_OK);
  assert_int_equal(pz_recommend(&r, e, "newbie", 1, NULL), PZ_OK);
  assert_int_not_equal(pz_recs_reason_code(r, 0), PZ_REASON_SEGMENT);
  assert_null(strstr(pz_recs_reason(r, 0), "folkies"));
  pz_recs_free(r);
  /* three folk members left: at segment_min_members (3), a table again */
  assert_int_equal(pz_segment_refresh(e), PZ_OK);
  assert_int_equal(pz_recommend(&r, e, "newbie", 1, NULL), PZ_OK);
  assert_string_equal(pz_recs_reason(r, 0), "popular in your segment folkies");
  pz_recs_free(r);
  assert_int_equal(pz_profile_erase(e, "p1"), PZ_OK);
  assert_int_equal(pz_segment_refresh(e), PZ_OK); /* 2 < 3: no table */
  assert_int_equal(pz_recommend(&r, e, "newbie", 1, NULL), PZ_OK);
  assert_null(strstr(pz_recs_reason(r, 0), "folkies"));
  pz_recs_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_segment_attribute_operators, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_segment_composition_and_references,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_segment_errors_name_the_place, setup,
                                      teardown),
      cmocka_unit_test(test_segment_config_file_errors),
      cmocka_unit_test_setup_teardown(test_segment_behaviour_rfm, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_segment_interests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_segment_lists_and_counts, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_experiment_vectors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_experiment_sticky_under_coverage,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_experiment_targeting_and_erase, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cluster_reproducible_and_readable,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_cluster_erase_removes_exactly, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cluster_rules_and_names, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_segment_popularity_cold_start, setup,
                                      teardown),
  };
  return cmocka_run_group_tests_name("segment", tests, NULL, NULL);
}
