/* svec: feature hashing against published vectors, sparse-vector algebra,
 * top-k order, scratch scoring in both modes, forward decay. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "svec/svec.h"

/* Vectors computed by python3-xxhash (tests/data/gen_feature_hash_vectors.py),
 * an implementation independent of this library. */
static void test_svec_feature_hash_vectors(void **state) {
  (void)state;
  const char *dir = getenv("PZ_TEST_DATA");
  char path[512];
  snprintf(path, sizeof path, "%s/feature_hash_vectors.tsv",
           dir ? dir : "tests/data");
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[2048];
  int checked = 0, non_ascii = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    line[strcspn(line, "\n")] = '\0';
    char *feature = strtok(line, "\t");
    unsigned long long seed = strtoull(strtok(NULL, "\t"), NULL, 10);
    unsigned bits = (unsigned)strtoul(strtok(NULL, "\t"), NULL, 10);
    uint32_t want_index = (uint32_t)strtoul(strtok(NULL, "\t"), NULL, 10);
    int want_sign = atoi(strtok(NULL, "\t"));
    uint32_t index;
    int sign;
    assert_int_equal(pz_feature_hash(&index, &sign, feature, seed, bits), PZ_OK);
    if (index != want_index || sign != want_sign)
      fail_msg("%s seed %llu bits %u: got %u/%d, want %u/%d", feature, seed,
               bits, index, sign, want_index, want_sign);
    for (const char *p = feature; *p; p++)
      if ((unsigned char)*p >= 0x80) {
        non_ascii++;
        break;
      }
    checked++;
  }
  fclose(f);
  assert_true(checked >= 500);
  assert_true(non_ascii >= 100);
}

static void test_svec_hash_bits_bounds(void **state) {
  (void)state;
  uint32_t i;
  int s;
  assert_int_equal(pz_feature_hash(&i, &s, "a=b", 0, 15), PZ_ERANGE);
  assert_int_equal(pz_feature_hash(&i, &s, "a=b", 0, 29), PZ_ERANGE);
  assert_int_equal(pz_feature_hash(&i, NULL, "a=b", 0, 16), PZ_OK);
  assert_true(i < (1u << 16));
  assert_int_equal(pz_feature_hash(&i, &s, "a=b", 0, 28), PZ_OK);
  assert_true(i < (1u << 28));
}

static void test_svec_algebra(void **state) {
  (void)state;
  pz_svec *a, *b;
  assert_int_equal(pz_svec_new(&a, NULL), PZ_OK);
  assert_int_equal(pz_svec_new(&b, NULL), PZ_OK);
  assert_int_equal(pz_svec_add_feature(a, "genre=jazz", 3.0), PZ_OK);
  assert_int_equal(pz_svec_add_feature(a, "decade=1960s", 4.0), PZ_OK);
  assert_int_equal(pz_svec_add_feature(b, "genre=jazz", 2.0), PZ_OK);
  assert_int_equal(pz_svec_nnz(a), 2);
  double x;
  assert_int_equal(pz_svec_norm(&x, a), PZ_OK);
  assert_true(fabs(x - 5.0) < 1e-9);
  assert_int_equal(pz_svec_dot(&x, a, b), PZ_OK);
  assert_true(fabs(x - 6.0) < 1e-9); /* signs square away */
  assert_int_equal(pz_svec_cosine(&x, a, b), PZ_OK);
  assert_true(fabs(x - 0.6) < 1e-9);
  /* a feature added again accumulates; cancelling removes the entry */
  assert_int_equal(pz_svec_add_feature(a, "genre=jazz", -3.0), PZ_OK);
  assert_int_equal(pz_svec_nnz(a), 1);
  assert_int_equal(pz_svec_add(a, b, 0.5), PZ_OK);
  assert_int_equal(pz_svec_nnz(a), 2);
  assert_int_equal(pz_svec_dot(&x, a, b), PZ_OK);
  assert_true(fabs(x - 2.0) < 1e-6); /* (0.5*2) * 2 */
  assert_int_equal(pz_svec_scale(a, 2.0), PZ_OK);
  assert_int_equal(pz_svec_norm(&x, a), PZ_OK);
  assert_true(fabs(x - sqrt(64.0 + 4.0)) < 1e-5);
  assert_int_equal(pz_svec_add(a, a, 1.0), PZ_OK); /* self-add doubles */
  assert_int_equal(pz_svec_norm(&x, a), PZ_OK);
  assert_true(fabs(x - 2 * sqrt(68.0)) < 1e-4);
  assert_int_equal(pz_svec_scale(a, 0.0), PZ_OK);
  assert_int_equal(pz_svec_nnz(a), 0);
  assert_int_equal(pz_svec_cosine(&x, a, b), PZ_OK);
  assert_true(x == 0.0);
  pz_svec_free(a);
  pz_svec_free(b);
}

static void test_svec_entries_sorted_and_signed(void **state) {
  (void)state;
  pz_svec *v;
  assert_int_equal(pz_svec_new(&v, NULL), PZ_OK);
  static const char *f[] = {"a=1", "b=2", "c=3", "d=4", "e=5", "f=6"};
  for (int i = 0; i < 6; i++)
    assert_int_equal(pz_svec_add_feature(v, f[i], 1.0), PZ_OK);
  uint32_t prev = 0;
  for (size_t i = 0; i < pz_svec_nnz(v); i++) {
    uint32_t idx;
    double val;
    assert_int_equal(pz_svec_entry(&idx, &val, v, i), PZ_OK);
    if (i) assert_true(idx > prev);
    prev = idx;
    uint32_t want;
    int sign;
    /* each entry's value is the sign of some feature hashing there */
    int found = 0;
    for (int j = 0; j < 6; j++) {
      pz_feature_hash(&want, &sign, f[j], 0, 20);
      if (want == idx && val == sign) found = 1;
    }
    assert_true(found);
  }
  uint32_t idx;
  double val;
  assert_int_equal(pz_svec_entry(&idx, &val, v, 6), PZ_ERANGE);
  pz_svec_free(v);
}

static void test_svec_top_orders_and_breaks_ties(void **state) {
  (void)state;
  pz_svec *v;
  assert_int_equal(pz_svec_new(&v, NULL), PZ_OK);
  /* weights chosen with the sign so each stored value is as written */
  static const char *f[] = {"w=a", "w=b", "w=c", "w=d", "w=e"};
  static const double w[] = {1.0, 5.0, 3.0, 5.0, -2.0};
  for (int i = 0; i < 5; i++) {
    uint32_t idx;
    int sign;
    pz_feature_hash(&idx, &sign, f[i], 0, 20);
    assert_int_equal(pz_svec_add_feature(v, f[i], w[i] * sign), PZ_OK);
  }
  uint32_t ix[5];
  double val[5];
  size_t n;
  assert_int_equal(pz_svec_top(ix, val, 2, &n, v, 3), PZ_EBUFS);
  assert_int_equal(n, 3);
  assert_int_equal(pz_svec_top(ix, val, 5, &n, v, 3), PZ_OK);
  assert_int_equal(n, 3);
  assert_true(val[0] == 5.0 && val[1] == 5.0 && val[2] == 3.0);
  assert_true(ix[0] < ix[1]); /* equal values: smaller index first */
  assert_int_equal(pz_svec_top(ix, val, 5, &n, v, 100), PZ_OK);
  assert_int_equal(n, 5);
  assert_true(val[4] == -2.0);
  pz_svec_free(v);
}

static void test_svec_engine_identity(void **state) {
  (void)state;
  pz_engine *e;
  const char *cfg = "hashing:\n  seed: 42\n  bits: 16\n";
  assert_int_equal(pz_engine_open_string(&e, cfg, strlen(cfg)), PZ_OK);
  pz_svec *a, *b;
  assert_int_equal(pz_svec_new(&a, e), PZ_OK);
  assert_int_equal(pz_svec_new(&b, NULL), PZ_OK);
  assert_int_equal(pz_svec_add_feature(a, "genre=jazz", 1.0), PZ_OK);
  uint32_t idx, want;
  double val;
  int sign;
  assert_int_equal(pz_svec_entry(&idx, &val, a, 0), PZ_OK);
  pz_feature_hash(&want, &sign, "genre=jazz", 42, 16);
  assert_int_equal(idx, want);
  assert_true(val == sign);
  double x;
  assert_int_equal(pz_svec_dot(&x, a, b), PZ_EINVAL); /* other identity */
  pz_engine_free(e);
  /* the vector outlives its engine */
  assert_int_equal(pz_svec_add_feature(a, "genre=rock", 1.0), PZ_OK);
  assert_int_equal(pz_svec_nnz(a), 2);
  pz_svec_free(a);
  pz_svec_free(b);
}

/* Adding a vector of more than 64 entries (the merge's search path) gives
 * the same result as adding its features one by one. */
static void test_svec_add_large_matches_one_by_one(void **state) {
  (void)state;
  pz_svec *big, *acc, *ref;
  assert_int_equal(pz_svec_new(&big, NULL), PZ_OK);
  assert_int_equal(pz_svec_new(&acc, NULL), PZ_OK);
  assert_int_equal(pz_svec_new(&ref, NULL), PZ_OK);
  char f[32];
  for (int i = 0; i < 150; i += 3) { /* acc and ref share 50 features */
    snprintf(f, sizeof f, "f=%d", i);
    assert_int_equal(pz_svec_add_feature(acc, f, 1.0 + i), PZ_OK);
    assert_int_equal(pz_svec_add_feature(ref, f, 1.0 + i), PZ_OK);
  }
  for (int i = 0; i < 100; i++) { /* 100 features, a third overlapping */
    snprintf(f, sizeof f, "f=%d", i);
    assert_int_equal(pz_svec_add_feature(big, f, 0.5 * i - 7), PZ_OK);
  }
  assert_true(pz_svec_nnz(big) > 64);
  assert_int_equal(pz_svec_add(acc, big, 2.0), PZ_OK);
  for (int i = 0; i < 100; i++) {
    snprintf(f, sizeof f, "f=%d", i);
    assert_int_equal(pz_svec_add_feature(ref, f, 2.0 * (0.5 * i - 7)), PZ_OK);
  }
  assert_int_equal(pz_svec_nnz(acc), pz_svec_nnz(ref));
  for (size_t k = 0; k < pz_svec_nnz(acc); k++) {
    uint32_t ia, ir;
    double va, vr;
    assert_int_equal(pz_svec_entry(&ia, &va, acc, k), PZ_OK);
    assert_int_equal(pz_svec_entry(&ir, &vr, ref, k), PZ_OK);
    assert_int_equal(ia, ir);
    assert_true(fabs(va - vr) < 1e-4);
  }
  pz_svec_free(big);
  pz_svec_free(acc);
  pz_svec_free(ref);
}

static void test_svec_topk_internal(void **state) {
  (void)state;
  float sc[4];
  uint32_t id[4];
  pz__topk t;
  pz__topk_init(&t, sc, id, 4);
  float scores[] = {0.5f, 0.9f, 0.1f, 0.9f, 0.7f, 0.3f, 0.9f, 0.0f};
  for (uint32_t i = 0; i < 8; i++) pz__topk_push(&t, scores[i], i);
  pz__topk_sort(&t);
  assert_int_equal(t.n, 4);
  assert_int_equal(id[0], 1);
  assert_int_equal(id[1], 3);
  assert_int_equal(id[2], 6);
  assert_int_equal(id[3], 4);
}

/* The same dot products from the dense and the hashed scratch. */
static void test_svec_scratch_modes_agree(void **state) {
  (void)state;
  pz__alloc a;
  pz__alloc_default(&a);
  pz__ent user[64], item[8];
  for (uint32_t i = 0; i < 64; i++) {
    user[i].i = i * 977u % (1u << 20);
    user[i].v = (float)(i % 7) - 3.0f;
  }
  uint32_t n = pz__ent_normalize(user, 64);
  for (uint32_t i = 0; i < 8; i++) {
    item[i].i = (i * 3u) * 977u % (1u << 20);
    item[i].v = 1.0f + (float)i;
  }
  uint32_t m = pz__ent_normalize(item, 8);
  pz__scratch *dense, *hashed;
  assert_int_equal(pz__scratch_new(&a, 20, &dense), PZ_OK);
  assert_int_equal(pz__scratch_new(&a, 24, &hashed), PZ_OK);
  assert_non_null(dense->dense);
  assert_null(hashed->dense);
  assert_int_equal(pz__scratch_load(&a, dense, user, n), PZ_OK);
  assert_int_equal(pz__scratch_load(&a, hashed, user, n), PZ_OK);
  double want = pz__sv_dot(user, n, item, m);
  assert_true(fabs(pz__scratch_dot(dense, item, m) - want) < 1e-9);
  assert_true(fabs(pz__scratch_dot(hashed, item, m) - want) < 1e-9);
  pz__scratch_clear(dense);
  assert_true(pz__scratch_dot(dense, item, m) == 0.0);
  pz__scratch_free(&a, dense);
  pz__scratch_free(&a, hashed);
}

static void test_svec_decay_halves(void **state) {
  (void)state;
  const int64_t h = 1000;
  assert_true(pz__decay_gain(0, 0, h) == 1.0);
  assert_true(pz__decay_gain(1000, 0, h) == 2.0);
  assert_true(pz__decay_gain(-2000, 0, h) == 0.25);
  assert_true(pz__decay_gain(123456, 0, 0) == 1.0); /* decay off */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_svec_feature_hash_vectors),
      cmocka_unit_test(test_svec_hash_bits_bounds),
      cmocka_unit_test(test_svec_algebra),
      cmocka_unit_test(test_svec_entries_sorted_and_signed),
      cmocka_unit_test(test_svec_top_orders_and_breaks_ties),
      cmocka_unit_test(test_svec_engine_identity),
      cmocka_unit_test(test_svec_add_large_matches_one_by_one),
      cmocka_unit_test(test_svec_topk_internal),
      cmocka_unit_test(test_svec_scratch_modes_agree),
      cmocka_unit_test(test_svec_decay_halves),
  };
  return cmocka_run_group_tests_name("svec", tests, NULL, NULL);
}
