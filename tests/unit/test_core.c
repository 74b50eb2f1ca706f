/* Core: status text, error messages, versions, UTF-8 validation, id maps,
 * the YAML reader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "support.h"
#include "core/core.h"
#include "core/yaml.h"

static void test_core_strerror_every_code(void **state) {
  (void)state;
  static const int codes[] = {PZ_OK, PZ_ERROR, PZ_ENOMEM, PZ_EINVAL,
                              PZ_ENOTFOUND, PZ_EEXISTS, PZ_EBUFS, PZ_ERANGE,
                              PZ_EVERSION, PZ_ECONFIG, PZ_EIO, PZ_EFORMAT,
                              PZ_ECORRUPT, PZ_ECONSENT, PZ_ETYPE, PZ_ELIMIT,
                              PZ_EUSER};
  const char *unknown = pz_strerror(12345);
  assert_string_equal(unknown, "unknown status code");
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
    const char *s = pz_strerror(codes[i]);
    assert_non_null(s);
    assert_string_not_equal(s, unknown);
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(s, pz_strerror(codes[j]));
  }
  /* pinned values: bindings depend on them */
  assert_int_equal(PZ_ENOMEM, -2);
  assert_int_equal(PZ_EINVAL, -3);
  assert_int_equal(PZ_ECONFIG, -9);
  assert_int_equal(PZ_ECONSENT, -13);
  assert_int_equal(PZ_ELIMIT, -15);
}

static void test_core_errmsg_is_per_failure(void **state) {
  (void)state;
  pz_engine *e = NULL;
  assert_int_equal(pz_engine_open(NULL, NULL), PZ_EINVAL);
  assert_non_null(strstr(pz_errmsg(), "out"));
  assert_int_equal(pz_engine_open(&e, "/nonexistent/dir/p.yaml"), PZ_EIO);
  assert_null(e);
  assert_non_null(strstr(pz_errmsg(), "/nonexistent/dir/p.yaml"));
}

static void test_core_version(void **state) {
  (void)state;
  assert_int_equal(pz_version_number(), PZ_VERSION_NUMBER);
  assert_string_equal(pz_version_string(), PZ_VERSION_STRING);
  char buf[32];
  snprintf(buf, sizeof buf, "%d.%d.%d", PZ_VERSION_MAJOR, PZ_VERSION_MINOR,
           PZ_VERSION_PATCH);
  assert_string_equal(buf, pz_version_string());
}

static void test_core_utf8(void **state) {
  (void)state;
  assert_true(pz__utf8_valid("plain", 5));
  assert_true(pz__utf8_valid("m\xc3\xbasica", 7));
  assert_true(pz__utf8_valid("\xe6\x97\xa5\xe6\x9c\xac", 6));
  assert_true(pz__utf8_valid("\xf0\x9f\x8e\xb7", 4));
  assert_false(pz__utf8_valid("\x80", 1));
  assert_false(pz__utf8_valid("\xc0\x80", 2));         /* overlong NUL */
  assert_false(pz__utf8_valid("\xe0\x80\xaf", 3));     /* overlong / */
  assert_false(pz__utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
  assert_false(pz__utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
  assert_false(pz__utf8_valid("\xe2\x82", 2));         /* truncated */
  assert_false(pz__utf8_valid("\xff", 1));
  assert_false(pz__utf8_valid("a\0b", 3)); /* embedded NUL */
}

static const char *const keys[] = {"alpha", "beta", "gamma", "delta"};
static const char *key_of(const void *ctx, uint32_t idx, size_t *len) {
  (void)ctx;
  *len = strlen(keys[idx % 4]) ;
  return keys[idx % 4];
}

static void test_core_idmap_insert_find_remove(void **state) {
  (void)state;
  test_alloc ta;
  test_alloc_reset(&ta);
  pz__alloc a = {test_alloc_fn, &ta};
  pz__idmap m;
  pz__idmap_init(&m);
  for (uint32_t i = 0; i < 4; i++) {
    assert_int_equal(pz__idmap_reserve(&a, &m, key_of, NULL), PZ_OK);
    pz__idmap_insert(&m, pz__hash_bytes(keys[i], strlen(keys[i]), 0), i);
  }
  for (uint32_t i = 0; i < 4; i++)
    assert_int_equal(pz__idmap_find(&m, pz__hash_bytes(keys[i], strlen(keys[i]), 0),
                                    keys[i], strlen(keys[i]), key_of, NULL),
                     i);
  assert_int_equal(pz__idmap_find(&m, pz__hash_bytes("zeta", 4, 0), "zeta", 4,
                                  key_of, NULL),
                   UINT32_MAX);
  pz__idmap_remove(&m, pz__hash_bytes("beta", 4, 0), 1);
  assert_int_equal(pz__idmap_find(&m, pz__hash_bytes("beta", 4, 0), "beta", 4,
                                  key_of, NULL),
                   UINT32_MAX);
  assert_int_equal(pz__idmap_find(&m, pz__hash_bytes("gamma", 5, 0), "gamma",
                                  5, key_of, NULL),
                   2);
  pz__idmap_free(&a, &m);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_osize, 0);
}

/* Many users through the public API: the map grows and rehashes. */
static void test_core_idmap_grows_through_engine(void **state) {
  (void)state;
  test_alloc ta;
  test_alloc_reset(&ta);
  pz_engine *e;
  assert_int_equal(test_open(&e, &ta, NULL, NULL), PZ_OK);
  char id[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(id, sizeof id, "user-%d", i);
    assert_int_equal(pz_profile_set_number(e, id, "n", i), PZ_OK);
  }
  for (int i = 0; i < 5000; i += 7) {
    snprintf(id, sizeof id, "user-%d", i);
    double v;
    assert_int_equal(pz_profile_get_number(&v, e, id, "n"), PZ_OK);
    assert_true(v == i);
  }
  size_t n;
  assert_int_equal(pz_profile_count(&n, e), PZ_OK);
  assert_int_equal(n, 5000);
  pz_engine_free(e);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_osize, 0);
}

static void test_core_yaml_positions(void **state) {
  (void)state;
  pz__alloc a;
  pz__alloc_default(&a);
  pz__ydoc d;
  const char *text = "decay:\n  half_life: 30d\nranking:\n  max_k: 5\n";
  assert_int_equal(pz__yaml_parse(&d, &a, text, strlen(text), "t.yaml"), PZ_OK);
  const pz__ynode *r = pz__y_get(d.root, "ranking");
  assert_non_null(r);
  const pz__ynode *k = pz__y_get(r, "max_k");
  assert_non_null(k);
  assert_int_equal(k->line, 4);
  assert_int_equal(k->col, 10);
  int64_t ms;
  assert_int_equal(pz__y_duration(&d, pz__y_get(pz__y_get(d.root, "decay"),
                                                "half_life"),
                                  "h", &ms),
                   PZ_OK);
  assert_true(ms == 30LL * 86400000);
  assert_int_equal(pz__y_bool(&d, k, "max_k", &(bool){false}), PZ_ECONFIG);
  assert_non_null(strstr(pz_errmsg(), "t.yaml:4:10:"));
  pz__yaml_free(&d);
}

static void test_core_yaml_rejects(void **state) {
  (void)state;
  pz__alloc a;
  pz__alloc_default(&a);
  pz__ydoc d;
  static const char *bad[] = {"a: [1, 2", "- 1\n- 2\n", "a: &x 1\nb: *x\n",
                              "---\na: 1\n---\nb: 2\n", "just a string"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(pz__yaml_parse(&d, &a, bad[i], strlen(bad[i]), NULL),
                     PZ_ECONFIG);
    assert_non_null(strstr(pz_errmsg(), "<string>:"));
  }
  /* empty and null documents are an empty configuration */
  assert_int_equal(pz__yaml_parse(&d, &a, "", 0, NULL), PZ_OK);
  assert_int_equal(d.root->n, 0);
  pz__yaml_free(&d);
  assert_int_equal(pz__yaml_parse(&d, &a, "~\n", 2, NULL), PZ_OK);
  pz__yaml_free(&d);
}

static void test_core_yaml_depth_limit(void **state) {
  (void)state;
  char text[2048];
  size_t n = 0;
  for (int i = 0; i < 100; i++) text[n++] = '[';
  for (int i = 0; i < 100; i++) text[n++] = ']';
  pz__alloc a;
  pz__alloc_default(&a);
  pz__ydoc d;
  assert_int_equal(pz__yaml_parse(&d, &a, text, n, NULL), PZ_ECONFIG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_core_strerror_every_code),
      cmocka_unit_test(test_core_errmsg_is_per_failure),
      cmocka_unit_test(test_core_version),
      cmocka_unit_test(test_core_utf8),
      cmocka_unit_test(test_core_idmap_insert_find_remove),
      cmocka_unit_test(test_core_idmap_grows_through_engine),
      cmocka_unit_test(test_core_yaml_positions),
      cmocka_unit_test(test_core_yaml_rejects),
      cmocka_unit_test(test_core_yaml_depth_limit),
  };
  return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
