/* Engine: opening from a file, a string and options; every config key and
 * the errors config mistakes give, with their positions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <locale.h>
#include <unistd.h>

#include "support.h"

static int open_str(pz_engine **e, const char *yaml) {
  return pz_engine_open_string(e, yaml, strlen(yaml));
}

static void test_engine_defaults(void **state) {
  (void)state;
  pz_engine *e;
  assert_int_equal(pz_engine_open(&e, NULL), PZ_OK);
  int64_t now;
  assert_int_equal(pz_engine_now(&now, e), PZ_OK);
  assert_true(now > 1600000000000LL); /* the real clock */
  size_t n;
  assert_int_equal(pz_item_count(&n, e), PZ_OK);
  assert_int_equal(n, 0);
  pz_engine_free(e);
  pz_engine_free(NULL);
}

static void test_engine_full_config_from_file(void **state) {
  (void)state;
  char path[] = "/tmp/pz-test-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *yaml =
      "# every section\n"
      "hashing:\n  seed: 7\n  bits: 18\n"
      "events:\n  view: 1\n  purchase: {weight: 10}\n  skip: -0.5\n"
      "decay:\n  half_life: 12h\n"
      "profile:\n  history_limit: 100\n"
      "consent:\n  purposes: [newsletter]\n"
      "  defaults:\n    personalization: true\n    newsletter: false\n"
      "  without_consent: drop\n"
      "catalog:\n  unknown_items: refuse\n"
      "ranking:\n  content_weight: 2\n  popularity_weight: 0.5\n  max_k: 50\n";
  assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
  close(fd);
  pz_engine *e;
  test_clock tc = {1700000000000LL};
  assert_int_equal(pz_engine_open(&e, path), PZ_OK);
  assert_int_equal(pz_engine_set_clock(e, test_clock_fn, &tc), PZ_OK);
  unlink(path);
  /* hashing identity reaches vectors */
  pz_svec *v;
  assert_int_equal(pz_svec_new(&v, e), PZ_OK);
  assert_int_equal(pz_svec_add_feature(v, "genre=jazz", 1), PZ_OK);
  uint32_t idx, want;
  double val;
  pz_svec_entry(&idx, &val, v, 0);
  pz_feature_hash(&want, NULL, "genre=jazz", 7, 18);
  assert_int_equal(idx, want);
  pz_svec_free(v);
  /* event table replaced: "click" is gone, "skip" exists */
  const char *f[] = {"genre=jazz"};
  assert_int_equal(pz_item_put(e, "a", f, NULL, 1), PZ_OK);
  assert_int_equal(pz_track(e, "u", "a", "click", 1, 0), PZ_ENOTFOUND);
  assert_int_equal(pz_track(e, "u", "a", "skip", 1, 0), PZ_OK);
  assert_int_equal(pz_track(e, "u", "a", "purchase", 1, 0), PZ_OK);
  /* unknown items refused */
  assert_int_equal(pz_track(e, "u", "nope", "view", 1, 0), PZ_ENOTFOUND);
  /* purchase weighs 10, skip -0.5; half-life 12h */
  pz_interests *l;
  assert_int_equal(pz_profile_interests(&l, e, "u", 5, tc.now + 12 * 3600000LL), PZ_OK);
  assert_int_equal(pz_interests_count(l), 1);
  assert_true(fabs(pz_interests_score(l, 0) - 4.75) < 1e-4);
  pz_interests_free(l);
  int g;
  assert_int_equal(pz_profile_get_consent(&g, e, "u", "newsletter"), PZ_OK);
  assert_int_equal(g, 0);
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, e, "u", 51, NULL), PZ_ERANGE);
  pz_engine_free(e);
}

typedef struct bad_config {
  const char *yaml;
  const char *where; /* expected in the message */
  const char *what;
} bad_config;

static void test_engine_config_errors_name_the_place(void **state) {
  (void)state;
  static const bad_config cases[] = {
      {"decay:\n  half_lfe: 3d\n", "<string>:2:3:", "unknown key \"half_lfe\""},
      {"decya: {}\n", "<string>:1:1:", "unknown key \"decya\""},
      {"hashing:\n  bits: 40\n", "<string>:2:9:", "between 16 and 28"},
      {"hashing:\n  bits: many\n", "<string>:2:9:", "whole number"},
      {"hashing:\n  seed: -1\n", "<string>:2:9:", "whole number"},
      {"hashing: 5\n", "<string>:1:10:", "mapping"},
      {"decay:\n  half_life: 30\n", "<string>:2:14:", "unit"},
      {"decay:\n  half_life: 0d\n", "<string>:2:14:", "between"},
      {"events:\n  view: heavy\n", "<string>:2:9:", "number"},
      {"events:\n  view: .nan\n", "<string>:2:9:", "number"},
      {"events:\n  view: 1e9\n", "<string>:2:9:", "between"},
      {"events:\n  view: {wieght: 1}\n", "<string>:2:10:", "unknown key"},
      {"events: {}\n", "<string>:1:9:", "at least one"},
      {"events:\n  view: 1\n  view: 2\n", "<string>:3:3:", "duplicate key"},
      {"profile:\n  history_limit: 0\n", "<string>:2:18:", "between 1"},
      {"consent:\n  defaults: {telepathy: true}\n", "<string>:2:14:", "unknown purpose"},
      {"consent:\n  defaults: {analytics: yes}\n", "<string>:2:25:", "true or false"},
      {"consent:\n  without_consent: ignore\n", "<string>:2:20:", "refuse, drop"},
      {"consent:\n  purposes: [analytics]\n", "<string>:2:14:", "already defined"},
      {"catalog:\n  unknown_items: maybe\n", "<string>:2:18:", "create, refuse"},
      {"ranking:\n  max_k: 0\n", "<string>:2:10:", "between 1"},
      {"ranking:\n  content_weight: \"1\"\n", "<string>:2:19:", "number"},
      {"ranking:\n  popularity_weight: -1\n", "<string>:2:22:", "between 0"},
      {"ranking:\n  content_weight: 0x1p-2\n", "<string>:2:19:", "number"},
      {"ranking:\n  content_weight: inf\n", "<string>:2:19:", "number"},
      {"ranking:\n  content_weight: 1,5\n", "<string>:2:19:", "number"},
      {"decay:\n  half_life: 1,5d\n", "<string>:2:14:", "unit"},
      {"{{{", "<string>:", "not valid YAML"},
      {"a: [1, 2", "<string>:", "not valid YAML"},
      {"- hashing\n", "<string>:1:1:", "mapping of sections"},
      {"hashing: &h {bits: 20}\nranking: *h\n", "<string>:2:10:", "aliases"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    pz_engine *e = (pz_engine *)1;
    int rc = open_str(&e, cases[i].yaml);
    if (rc != PZ_ECONFIG || !strstr(pz_errmsg(), cases[i].where) ||
        !strstr(pz_errmsg(), cases[i].what))
      fail_msg("case %zu (%s): rc %d, message \"%s\"", i, cases[i].yaml, rc,
               pz_errmsg());
    assert_null(e);
  }
}

static void test_engine_config_file_errors(void **state) {
  (void)state;
  pz_engine *e;
  assert_int_equal(pz_engine_open(&e, "/no/such/file.yaml"), PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "/no/such/file.yaml"));
  char path[] = "/tmp/pz-test-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *yaml = "ranking:\n  max_k: 3\n  bogus: 1\n";
  assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
  close(fd);
  assert_int_equal(pz_engine_open(&e, path), PZ_ECONFIG);
  char want[64];
  snprintf(want, sizeof want, "%s:3:3:", path);
  assert_non_null(strstr(pz_errmsg(), want));
  unlink(path);
  /* a directory is not a config file */
  assert_int_not_equal(pz_engine_open(&e, "/tmp"), PZ_OK);
}

static void test_engine_options(void **state) {
  (void)state;
  pz_engine_options o;
  assert_int_equal(pz_engine_options_init(&o, 99), PZ_EVERSION);
  assert_int_equal(pz_engine_options_init(NULL, PZ_ENGINE_OPTIONS_VERSION), PZ_EINVAL);
  assert_int_equal(pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION), PZ_OK);
  test_alloc ta;
  test_alloc_reset(&ta);
  test_clock tc = {12345};
  o.alloc = test_alloc_fn;
  o.alloc_ud = &ta;
  o.clock = test_clock_fn;
  o.clock_ud = &tc;
  o.config_text = "ranking: {max_k: 2}\n";
  o.config_len = strlen(o.config_text);
  pz_engine *e;
  assert_int_equal(pz_engine_open_with(&e, &o), PZ_OK);
  assert_true(ta.count > 0); /* the engine allocates through the hook */
  int64_t now;
  assert_int_equal(pz_engine_now(&now, e), PZ_OK);
  assert_true(now == 12345);
  pz_recs *r;
  assert_int_equal(pz_recommend(&r, e, "u", 3, NULL), PZ_ERANGE);
  /* a broken clock is clamped to [0, end of year 9999], so the arithmetic
   * on timestamps cannot overflow (UBSan watches pz_track here) */
  static const int64_t wild[] = {INT64_MAX, INT64_MIN, -1, 253402300800000LL};
  static const int64_t clamped[] = {253402300799999LL, 0, 0, 253402300799999LL};
  for (size_t i = 0; i < 4; i++) {
    tc.now = wild[i];
    assert_int_equal(pz_engine_now(&now, e), PZ_OK);
    assert_true(now == clamped[i]);
    assert_int_equal(pz_track(e, "u", "x", "view", 1, 0), PZ_OK);
    double pop;
    assert_int_equal(pz_item_popularity(&pop, NULL, e, "x", 0), PZ_OK);
    assert_true(isfinite(pop));
  }
  assert_int_equal(pz_engine_set_clock(e, NULL, NULL), PZ_OK);
  assert_int_equal(pz_engine_now(&now, e), PZ_OK);
  assert_true(now > 1600000000000LL);
  pz_engine_free(e);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_osize, 0);
  o.version = 2;
  assert_int_equal(pz_engine_open_with(&e, &o), PZ_EVERSION);
  assert_int_equal(pz_engine_open_with(&e, NULL), PZ_OK);
  pz_engine_free(e);
}

static void test_engine_empty_config_is_defaults(void **state) {
  (void)state;
  pz_engine *e;
  assert_int_equal(pz_engine_open_string(&e, "", 0), PZ_OK);
  pz_engine_free(e);
  assert_int_equal(pz_engine_open_string(&e, NULL, 0), PZ_OK);
  pz_engine_free(e);
  assert_int_equal(open_str(&e, "# only a comment\n"), PZ_OK);
  pz_engine_free(e);
  assert_int_equal(open_str(&e, "decay: {half_life: off}\n"), PZ_OK);
  const char *f[] = {"genre=jazz"};
  pz_item_put(e, "a", f, NULL, 1);
  assert_int_equal(pz_track(e, "u", "a", "view", 1, 1000), PZ_OK);
  pz_interests *l;
  /* no decay: a year later the interest is whole */
  assert_int_equal(pz_profile_interests(&l, e, "u", 1, 1000 + 31536000000LL), PZ_OK);
  assert_true(fabs(pz_interests_score(l, 0) - 1.0) < 1e-6);
  pz_interests_free(l);
  pz_engine_free(e);
}

/* A host with a decimal-comma locale still reads "0.5" and writes "0.5". */
static void test_engine_numbers_ignore_host_locale(void **state) {
  (void)state;
  static const char *const comma[] = {"de_DE.UTF-8", "fr_FR.UTF-8",
                                      "de_DE.utf8", "nl_NL.UTF-8"};
  const char *got = NULL;
  for (size_t i = 0; i < 4 && !got; i++) got = setlocale(LC_NUMERIC, comma[i]);
  if (!got) {
    print_message("      no decimal-comma locale installed: skipped\n");
    skip();
  }
  pz_engine *e;
  /* a decimal comma stays an error, whatever the locale */
  int rc = open_str(&e, "ranking:\n  content_weight: 1,5\n");
  if (rc == PZ_ECONFIG)
    rc = open_str(&e, "ranking: {popularity_weight: 0.5, content_weight: 1.5}\n"
                      "decay: {half_life: 1.5d}\n");
  else
    rc = PZ_ERROR;
  if (rc == PZ_OK) {
    pz_profile_set_number(e, "u", "x", 2.25);
    char buf[1024];
    size_t len;
    rc = pz_profile_export(buf, sizeof buf, &len, e, "u");
    if (rc == PZ_OK && !strstr(buf, "\"value\":2.25")) rc = PZ_ERROR;
    pz_engine_free(e);
  }
  setlocale(LC_NUMERIC, "C");
  assert_int_equal(rc, PZ_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_engine_defaults),
      cmocka_unit_test(test_engine_full_config_from_file),
      cmocka_unit_test(test_engine_config_errors_name_the_place),
      cmocka_unit_test(test_engine_config_file_errors),
      cmocka_unit_test(test_engine_options),
      cmocka_unit_test(test_engine_empty_config_is_defaults),
      cmocka_unit_test(test_engine_numbers_ignore_host_locale),
  };
  return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
