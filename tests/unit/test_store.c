/* Persistence: snapshots (round trip, byte-identical re-save, every
 * truncation, bit flips, hostile tables and counts, versions, hash
 * identity, I/O failures) and the journal (replay, torn records,
 * generations, erasure, crashes under SIGKILL). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#define T0 (1700000000000LL)
#define DAY (86400000LL)

static const char *const rich_config =
    "events: {view: 1, purchase: 5, rating: 2}\n"
    "consent: {purposes: [marketing]}\n"
    "clusters: {k: 2, min_size: 1, seed: 3}\n"
    "cf: {algorithm: both, factors: 8, iterations: 4, neighbours: 5}\n"
    "ranking: {segment_min_members: 2}\n"
    "segments:\n"
    "  - {name: adults, rank: true, rule: {attr: age, gte: 18}}\n"
    "experiments:\n"
    "  - {name: layout, seed: 9, variants: [{name: a}, {name: b}]}\n"
    "rules:\n"
    "  - {name: up, kind: boost, factor: 2, match: {features: [genre=pop]}}\n";

typedef struct fixture {
  test_alloc ta;
  test_clock tc;
  char dir[64];
  char path[128];
} fixture;

static int setup(void **state) {
  fixture *f = test_calloc(1, sizeof *f);
  f->tc.now = T0;
  if (test_tmpdir_make(f->dir, "pz_store")) return -1;
  snprintf(f->path, sizeof f->path, "%s/snap", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  assert_int_equal(f->ta.live_blocks, 0);
  assert_int_equal(f->ta.bad_osize, 0);
  test_tmpdir_remove(f->dir);
  test_free(f);
  return 0;
}

#define OK(x)                                                                 \
  do {                                                                        \
    int rc_ = (x);                                                            \
    if (rc_ != PZ_OK) print_error("%s: %s\n", #x, pz_errmsg());               \
    assert_int_equal(rc_, PZ_OK);                                             \
  } while (0)

/* Fill an engine with every kind of state a snapshot holds. */
static void fill(pz_engine *e, int users) {
  static const char *const genres[] = {"genre=jazz", "genre=rock",
                                       "genre=pop", "genre=folk"};
  for (int i = 0; i < 24; i++) {
    char id[16], deco[24];
    snprintf(id, sizeof id, "item%d", i);
    snprintf(deco, sizeof deco, "decade=19%d0s", 5 + i % 5);
    const char *feat[] = {genres[i % 4], deco, "feature with a long name"};
    double w[] = {1, 0.5, -0.25};
    OK(pz_item_put(e, id, feat, w, 3));
  }
  OK(pz_item_remove(e, "item23"));
  for (int u = 0; u < users; u++) {
    char user[16], item[16];
    snprintf(user, sizeof user, "user%d", u);
    for (int k = 0; k < 6 + u % 5; k++) {
      snprintf(item, sizeof item, "item%d", (u * 7 + k * 3) % 23);
      OK(pz_track(e, user, item, k % 3 ? "view" : "purchase", 1 + k % 2,
                  T0 - (int64_t)(k + u) * DAY / 3));
    }
    OK(pz_profile_set_number(e, user, "age", 10 + u * 3));
    OK(pz_profile_set_string(e, user, "city", u % 2 ? "Lyon" : "a city with a long name"));
    OK(pz_profile_set_bool(e, user, "vip", u % 3 == 0));
    OK(pz_profile_set_timestamp(e, user, "joined", T0 - u * DAY));
    OK(pz_profile_set_consent(e, user, "marketing", u % 2));
  }
  OK(pz_track(e, "auto", "brand-new", "rating", 4, 0)); /* creates an item */
  OK(pz_override_block_item(e, "user1", "item3", 0));
  OK(pz_override_block_feature(e, "user1", "genre=rock", T0 + DAY));
  OK(pz_override_require(e, "user2", "decade=1960s", 0));
  OK(pz_override_pin(e, "user2", "item5", 1, 0));
  OK(pz_override_more(e, "user3", "genre=jazz", 0));
  OK(pz_override_less(e, "user3", "genre=folk", T0 + 2 * DAY));
  OK(pz_override_not_interested(e, "user4", "item8", 0));
  OK(pz_override_opt_out(e, "user5", 1));
  OK(pz_profile_set_consent(e, "user6", "personalization", 0));
  const char *segs = "segments:\n"
                     "  - {name: adults, rank: true, rule: {attr: age, gte: 18}}\n"
                     "  - {name: lyon, rule: {attr: city, eq: Lyon}}\n"
                     "experiments:\n"
                     "  - {name: layout, seed: 9, variants: [{name: a}, {name: b}]}\n";
  OK(pz_segment_load(e, segs, strlen(segs)));
  const char *rules = "rules:\n"
                      "  - {name: lyon-jazz, kind: promote, slots: 1, segment: lyon, "
                      "match: {features: [genre=jazz]}}\n";
  OK(pz_override_rules_load(e, rules, strlen(rules)));
  OK(pz_cluster_train(e, NULL));
  OK(pz_cluster_set_name(e, 0, "the first"));
  OK(pz_segment_refresh(e));
  OK(pz_cf_train(e, NULL));
}

static int open_rich(pz_engine **e, fixture *f, const char *extra) {
  char cfg[2048];
  snprintf(cfg, sizeof cfg, "%s%s", rich_config, extra ? extra : "");
  return test_open(e, &f->ta, &f->tc, cfg);
}

static int load(pz_engine **e, fixture *f, const char *path,
                const char *config) {
  pz_engine_options o;
  pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
  o.alloc = test_alloc_fn;
  o.alloc_ud = &f->ta;
  o.clock = test_clock_fn;
  o.clock_ud = &f->tc;
  if (config) {
    o.config_text = config;
    o.config_len = strlen(config);
  }
  return pz_engine_load(e, path, &o);
}

static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *len = (size_t)n;
  return p;
}

static void spit(const char *path, const void *p, size_t len) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(p, 1, len, fp), len);
  fclose(fp);
}

/* Everything a caller can observe of an engine, as text. */
static void observe(pz_engine *e, int users, char **out, size_t *len) {
  FILE *m = open_memstream(out, len);
  size_t n;
  OK(pz_profile_count(&n, e));
  fprintf(m, "profiles %zu\n", n);
  OK(pz_item_count(&n, e));
  fprintf(m, "items %zu\n", n);
  static char buf[1 << 16];
  for (int u = -1; u < users; u++) {
    char user[16];
    if (u < 0) snprintf(user, sizeof user, "auto");
    else snprintf(user, sizeof user, "user%d", u);
    size_t bl;
    OK(pz_profile_export(buf, sizeof buf, &bl, e, user));
    fprintf(m, "%.*s\n", (int)bl, buf);
    pz_recs *r;
    OK(pz_recommend(&r, e, user, 8, NULL));
    for (size_t i = 0; i < pz_recs_count(r); i++)
      fprintf(m, "  %s %.17g %s\n", pz_recs_item(r, i), pz_recs_score(r, i),
              pz_recs_reason(r, i));
    pz_recs_free(r);
    int c = -9;
    OK(pz_cluster_of(&c, e, user));
    char variant[64];
    size_t vl;
    OK(pz_experiment_assign(variant, sizeof variant, &vl, e, "layout", user));
    fprintf(m, "  cluster %d variant %s\n", c, variant);
  }
  pz_recs *r;
  OK(pz_similar_items(&r, e, "item4", 5));
  for (size_t i = 0; i < pz_recs_count(r); i++)
    fprintf(m, "similar %s %.17g\n", pz_recs_item(r, i), pz_recs_score(r, i));
  pz_recs_free(r);
  pz_list *l;
  OK(pz_segment_counts(&l, e));
  for (size_t i = 0; i < pz_list_count(l); i++)
    fprintf(m, "segment %s %g\n", pz_list_text(l, i), pz_list_value(l, i));
  pz_list_free(l);
  OK(pz_override_rules(&l, e));
  for (size_t i = 0; i < pz_list_count(l); i++)
    fprintf(m, "rule %s\n", pz_list_text(l, i));
  pz_list_free(l);
  char name[64];
  size_t nl;
  OK(pz_cluster_name(name, sizeof name, &nl, e, 0));
  fprintf(m, "cluster 0 %s\n", name);
  fclose(m);
}

#define USERS 12

static void test_round_trip(void **state) {
  fixture *f = *state;
  pz_engine *e, *l;
  OK(open_rich(&e, f, NULL));
  fill(e, USERS);
  OK(pz_engine_save(e, f->path));
  OK(load(&l, f, f->path, NULL));
  char *a, *b;
  size_t al, bl;
  observe(e, USERS, &a, &al);
  observe(l, USERS, &b, &bl);
  assert_string_equal(a, b);
  assert_true(al > 3000); /* it saw something */
  free(a);
  free(b);
  /* the loaded engine saves the same bytes */
  char again[160];
  snprintf(again, sizeof again, "%s/again", f->dir);
  OK(pz_engine_save(l, again));
  size_t n1, n2;
  char *s1 = slurp(f->path, &n1), *s2 = slurp(again, &n2);
  assert_int_equal(n1, n2);
  assert_memory_equal(s1, s2, n1);
  free(s1);
  free(s2);
  /* and it goes on working: writes land, models train */
  OK(pz_track(l, "user0", "item1", "view", 1, 0));
  OK(pz_cf_train(l, NULL));
  OK(pz_cluster_train(l, NULL));
  pz_engine_free(e);
  pz_engine_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
  };
  return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
