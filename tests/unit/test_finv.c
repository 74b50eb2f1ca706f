/* tests/unit/test_finv.c - the catalogue's feature index and the ranking's
 * use of it (the plan's actions on features, the content signal's dot
 * products): lists ranked with the index (fresh, or stale after items
 * were put again, removed and added) equal, to the bit, the lists ranked
 * item by item without it, for people with interests, blocks,
 * requirements, more/less, pins and business filters, boosts, buries,
 * promotions and pins, with exclude and restrict lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "engine/engine.h"

#define T0 (1700000000000LL)
#define N_ITEMS 600

static uint32_t rng_state = 12345;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state % n;
}

/* An engine on the test allocator and clock; closed with every block
 * given back by the size it was taken. */
typedef struct world {
  test_alloc ta;
  test_clock tc;
  pz_engine *e;
} world;

static pz_engine *open_world(world *w, const char *config) {
  memset(w, 0, sizeof *w);
  w->tc.now = T0;
  assert_int_equal(test_open(&w->e, &w->ta, &w->tc, config), PZ_OK);
  return w->e;
}

static void close_world(world *w) {
  pz_engine_free(w->e);
  assert_int_equal(w->ta.live_blocks, 0);
  assert_int_equal(w->ta.bad_osize, 0);
}

/* Item i with features drawn from a small vocabulary (version v moves
 * them). */
static void put_item(pz_engine *e, int i, int v) {
  char id[16], g[16], m[16], b[16], t1[16], t2[16];
  snprintf(id, sizeof id, "it%d", i);
  snprintf(g, sizeof g, "genre=g%d", (i * 7 + v) % 9);
  snprintf(m, sizeof m, "mood=m%d", (i * 3 + v) % 5);
  snprintf(b, sizeof b, "brand=b%d", (i + 2 * v) % 11);
  snprintf(t1, sizeof t1, "tag=t%d", (i * 13 + v) % 17);
  snprintf(t2, sizeof t2, "tag=t%d", (i * 5 + 3 * v) % 17);
  const char *f[] = {g, m, b, t1, t2};
  size_t nf = 2 + (size_t)((i + v) % 4);
  assert_int_equal(pz_item_put(e, id, f, NULL, nf), PZ_OK);
}

static const char rules[] =
    "segments:\n"
    "  - name: buyers\n"
    "    rule: {count: purchase, gte: 1}\n"
    "rules:\n"
    "  - {name: out, kind: filter, match: {features: [brand=b3], items: [it7, it8]}}\n"
    "  - {name: buyers_out, kind: filter, segment: buyers, match: {features: [tag=t4]}}\n"
    "  - {name: up, kind: boost, factor: 1.5, match: {features: [mood=m1, tag=t9]}}\n"
    "  - {name: down, kind: bury, factor: 0.5, match: {features: [genre=g2], items: [it11]}}\n"
    "  - {name: promo, kind: promote, slots: 2, start: 3, every: 4, match: {features: [tag=t12]}}\n"
    "  - {name: ed, kind: pin, item: it20, position: 5}\n";

/* A request's list as text: items, scores to the bit, reasons, flags. */
static char *list_text(pz_engine *e, const char *user, int variant) {
  pz_recommend_options o;
  assert_int_equal(pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION),
                   PZ_OK);
  static const char *const excl[] = {"it30", "it31", "it1000"};
  static const char *const only[] = {"it1", "it2", "it3", "it40", "it41",
                                     "it42", "it43", "it100", "it101", "it590"};
  if (variant == 1) {
    o.exclude = excl;
    o.n_exclude = 3;
  } else if (variant == 2) {
    o.restrict_to = only;
    o.n_restrict = 10;
  }
  pz_recs *r = NULL;
  assert_int_equal(pz_recommend(&r, e, user, 40, &o), PZ_OK);
  size_t cap = 64 * 1024, len = 0;
  char *t = malloc(cap);
  assert_non_null(t);
  t[0] = '\0';
  for (size_t i = 0; i < pz_recs_count(r); i++) {
    double s = pz_recs_score(r, i);
    uint64_t bits;
    memcpy(&bits, &s, sizeof bits);
    len += (size_t)snprintf(t + len, cap - len, "%s %016llx %d %u %s|",
                            pz_recs_item(r, i), (unsigned long long)bits,
                            pz_recs_reason_code(r, i), pz_recs_flags(r, i),
                            pz_recs_reason(r, i));
    assert_true(len < cap);
  }
  pz_recs_free(r);
  return t;
}

static void drop_index(pz_engine *e) {
  pz__catalog *c = &e->catalog;
  pz__catalog_wrlock(c);
  pz__finv_free(c->a, c->finv);
  c->finv = NULL;
  atomic_store(&c->finv_wanted, 0);
  pz__catalog_unlock(c);
}

/* Each person's lists with the engine's index as it stands, then item by
 * item (the index dropped: the requests ranked right after a drop do not
 * build one, since it takes PZ__FINV_BUILD_AFTER of them). */
static void compare_all(pz_engine *e, int n_users, int *compared) {
  char **with = calloc((size_t)n_users * 3, sizeof *with);
  assert_non_null(with);
  assert_non_null(e->catalog.finv);
  for (int u = 0; u < n_users; u++)
    for (int v = 0; v < 3; v++) {
      char user[16];
      snprintf(user, sizeof user, "u%d", u);
      with[u * 3 + v] = list_text(e, user, v);
    }
  drop_index(e);
  for (int u = 0; u < n_users; u++)
    for (int v = 0; v < 3; v++) {
      char user[16];
      snprintf(user, sizeof user, "u%d", u);
      char *without = list_text(e, user, v);
      assert_null(e->catalog.finv);
      assert_string_equal(with[u * 3 + v], without);
      if (without[0]) (*compared)++;
      free(without);
      free(with[u * 3 + v]);
      drop_index(e); /* each request without an index at all */
    }
  free(with);
}

static void test_index_agrees_with_item_by_item(void **state) {
  (void)state;
  world w;
  pz_engine *e = open_world(&w, rules);
  for (int i = 0; i < N_ITEMS; i++) put_item(e, i, 0);
  enum { USERS = 8 };
  for (int u = 0; u < USERS; u++) {
    char user[16], item[16];
    snprintf(user, sizeof user, "u%d", u);
    for (int k = 0; k < 12; k++) {
      snprintf(item, sizeof item, "it%u", rnd(N_ITEMS));
      assert_int_equal(pz_track(e, user, item, k % 5 ? "view" : "purchase", 1,
                                T0 - (int64_t)k * 1000),
                       PZ_OK);
    }
    /* choices of every kind on features and items */
    snprintf(item, sizeof item, "it%u", rnd(N_ITEMS));
    assert_int_equal(pz_override_block_item(e, user, item, 0), PZ_OK);
    char f[32];
    snprintf(f, sizeof f, "mood=m%d", u % 5);
    assert_int_equal(pz_override_block_feature(e, user, f, 0), PZ_OK);
    if (u % 2) { /* two requirements for some, one for others, none */
      snprintf(f, sizeof f, "genre=g%d", u % 9);
      assert_int_equal(pz_override_require(e, user, f, 0), PZ_OK);
    }
    if (u % 3 == 1) {
      snprintf(f, sizeof f, "tag=t%d", (2 * u + 1) % 17);
      assert_int_equal(pz_override_require(e, user, f, 0), PZ_OK);
    }
    snprintf(f, sizeof f, "brand=b%d", u % 11);
    assert_int_equal(pz_override_more(e, user, f, 0), PZ_OK);
    snprintf(f, sizeof f, "tag=t%d", (u + 5) % 17);
    assert_int_equal(pz_override_less(e, user, f, 0), PZ_OK);
    snprintf(item, sizeof item, "it%u", rnd(N_ITEMS));
    assert_int_equal(pz_override_pin(e, user, item, 1, 0), PZ_OK);
  }
  int compared = 0;
  /* a fresh index */
  pz__catalog_finv_maintain(&e->catalog);
  assert_non_null(e->catalog.finv);
  assert_int_equal(e->catalog.finv->built_n, N_ITEMS);
  compare_all(e, USERS, &compared);
  for (int round = 1; round <= 3; round++) {
    /* a stale index: items put again with other features, removed,
     * brought back, and new ones after it */
    pz__catalog_finv_maintain(&e->catalog);
    assert_non_null(e->catalog.finv);
    for (int k = 0; k < 25; k++) put_item(e, (int)rnd(N_ITEMS), round);
    for (int k = 0; k < 10; k++) {
      char id[16];
      snprintf(id, sizeof id, "it%u", rnd(N_ITEMS));
      int rc = pz_item_remove(e, id);
      assert_true(rc == PZ_OK || rc == PZ_ENOTFOUND);
    }
    for (int k = 0; k < 20; k++) put_item(e, N_ITEMS + round * 100 + k, round);
    assert_true(e->catalog.finv->dirty_n > 0);
    compare_all(e, USERS, &compared);
  }
  print_message("%d of %d lists compared were not empty\n", compared,
                4 * USERS * 3);
  assert_true(compared >= 4 * USERS * 2); /* lists not all empty */
  close_world(&w);
}

/* Requests build the index themselves once enough have found it due, and
 * build it again once enough items changed; writes only mark items. */
static void test_requests_build_the_index(void **state) {
  (void)state;
  world w;
  pz_engine *e = open_world(&w, rules);
  for (int i = 0; i < 200; i++) put_item(e, i, 0);
  assert_int_equal(pz_track(e, "ann", "it5", "view", 1, T0), PZ_OK);
  pz_recs *r = NULL;
  for (int k = 0; k < PZ__FINV_BUILD_AFTER; k++) {
    assert_null(e->catalog.finv);
    assert_int_equal(pz_recommend(&r, e, "ann", 10, NULL), PZ_OK);
    pz_recs_free(r);
  }
  assert_non_null(e->catalog.finv);
  const pz__finv *x = e->catalog.finv;
  assert_int_equal(x->built_n, 200);
  /* a put marks its item; 64 + n / 16 changes keep the index, one more
   * makes it due */
  put_item(e, 3, 1);
  assert_int_equal(e->catalog.finv->dirty_n, 1);
  put_item(e, 3, 2);
  assert_int_equal(e->catalog.finv->dirty_n, 1);
  uint32_t added = 0;
  while (!pz__catalog_finv_due(&e->catalog)) {
    put_item(e, 200 + (int)added++, 0);
    assert_true(added < 200);
  }
  assert_int_equal(1 + added, 64 + (200 + added) / 16 + 1);
  for (int k = 0; k < PZ__FINV_BUILD_AFTER; k++) {
    assert_int_equal(pz_recommend(&r, e, "ann", 10, NULL), PZ_OK);
    pz_recs_free(r);
  }
  assert_int_equal(e->catalog.finv->built_n, 200 + added);
  assert_int_equal(e->catalog.finv->dirty_n, 0);
  /* a person without choices, history or interests, under no rules,
   * asks for no index; a person with interests does (content) */
  assert_int_equal(pz_override_rules_load(e, "", 0), PZ_OK);
  drop_index(e);
  for (int k = 0; k < 2 * PZ__FINV_BUILD_AFTER; k++) {
    assert_int_equal(pz_recommend(&r, e, "stranger", 10, NULL), PZ_OK);
    pz_recs_free(r);
  }
  assert_null(e->catalog.finv);
  for (int k = 0; k < PZ__FINV_BUILD_AFTER; k++) {
    assert_int_equal(pz_recommend(&r, e, "ann", 10, NULL), PZ_OK);
    pz_recs_free(r);
  }
  assert_non_null(e->catalog.finv);
  close_world(&w);
}

/* Without memory for the index, or for a request's bits, lists are the
 * same and nothing leaks. */
static void test_index_out_of_memory(void **state) {
  (void)state;
  world w;
  pz_engine *e = open_world(&w, rules);
  for (int i = 0; i < 100; i++) put_item(e, i, 0);
  assert_int_equal(pz_override_require(e, "ann", "genre=g1", 0), PZ_OK);
  char *want = list_text(e, "ann", 0);
  drop_index(e);
  for (long at = 1; at < 40; at++) {
    w.ta.fail_at = w.ta.count + at;
    pz__catalog_finv_maintain(&e->catalog);
    w.ta.fail_at = 0;
    if (e->catalog.finv) {
      /* built: now fail the request's own blocks instead */
      w.ta.fail_at = w.ta.count + at;
      pz_recs *r = NULL;
      int rc = pz_recommend(&r, e, "ann", 40, NULL);
      w.ta.fail_at = 0;
      assert_true(rc == PZ_OK || rc == PZ_ENOMEM);
      pz_recs_free(r);
    }
    char *got = list_text(e, "ann", 0);
    assert_string_equal(want, got);
    free(got);
    drop_index(e);
  }
  free(want);
  close_world(&w);
}

/* People with one or two views in a catalogue of many features: their
 * content scores are summed along the index's lists (the path a long
 * history never takes), and equal the item-by-item ones to the bit,
 * with a fresh and with a stale index. */
static void test_content_along_the_index(void **state) {
  (void)state;
  world w;
  pz_engine *e = open_world(&w, "ranking: {popularity_weight: 0}\n");
  enum { ITEMS = 3000, USERS = 12 };
  char id[16], f[4][24];
  const char *fp[4] = {f[0], f[1], f[2], f[3]};
  double wt[4];
  for (int i = 0; i < ITEMS; i++) {
    snprintf(id, sizeof id, "it%d", i);
    for (int j = 0; j < 4; j++) {
      snprintf(f[j], sizeof f[j], "tag=t%u", rnd(4000));
      wt[j] = 0.25 + (double)rnd(100) / 40.0 - (j == 3 ? 2.0 : 0.0);
    }
    assert_int_equal(pz_item_put(e, id, fp, wt, 1 + (size_t)(i % 4)), PZ_OK);
  }
  for (int u = 0; u < USERS; u++) {
    char user[16];
    snprintf(user, sizeof user, "u%d", u);
    for (int k = 0; k <= u % 2; k++) {
      snprintf(id, sizeof id, "it%u", rnd(ITEMS));
      assert_int_equal(pz_track(e, user, id, "view", 1, T0), PZ_OK);
    }
  }
  int compared = 0;
  pz__catalog_finv_maintain(&e->catalog);
  compare_all(e, USERS, &compared);
  pz__catalog_finv_maintain(&e->catalog);
  for (int k = 0; k < 40; k++) { /* changed items: a stale index */
    snprintf(id, sizeof id, "it%u", rnd(ITEMS));
    snprintf(f[0], sizeof f[0], "tag=t%u", rnd(4000));
    assert_int_equal(pz_item_put(e, id, fp, NULL, 1), PZ_OK);
  }
  assert_true(e->catalog.finv->dirty_n > 0);
  compare_all(e, USERS, &compared);
  assert_true(compared >= 2 * USERS * 2);
  close_world(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index_agrees_with_item_by_item),
      cmocka_unit_test(test_requests_build_the_index),
      cmocka_unit_test(test_index_out_of_memory),
      cmocka_unit_test(test_content_along_the_index),
  };
  return cmocka_run_group_tests_name("finv", tests, NULL, NULL);
}
