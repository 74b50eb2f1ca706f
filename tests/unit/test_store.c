/* Persistence: snapshots (round trip, byte-identical re-save, every
 * truncation, bit flips, hostile tables and counts, versions, hash
 * identity, I/O failures) and the journal (replay, torn records,
 * generations, erasure, crashes under SIGKILL). */
#include <stdarg.h>
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
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

extern int (*pz__store_fault)(const char *op);

static int setup(void **state) {
  pz__store_fault = NULL; /* a failed test may have left one */
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
    int rc = pz_profile_export(buf, sizeof buf, &bl, e, user);
    if (rc == PZ_ENOTFOUND) bl = (size_t)snprintf(buf, sizeof buf, "gone");
    else OK(rc);
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
  char *s1 = test_slurp(f->path, &n1), *s2 = test_slurp(again, &n2);
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

/* ---- validation ------------------------------------------------------------ */

/* A small engine's snapshot, saved at f->path; returns its bytes. */
static char *small_snapshot(fixture *f, size_t *len) {
  pz_engine *e;
  OK(open_rich(&e, f, NULL));
  fill(e, 3);
  OK(pz_engine_save(e, f->path));
  pz_engine_free(e);
  return test_slurp(f->path, len);
}

static bool load_fails_cleanly(fixture *f, const char *path, int *code) {
  pz_engine *l = (pz_engine *)&l; /* must be set to NULL */
  int rc = load(&l, f, path, NULL);
  *code = rc;
  if (rc == PZ_OK) {
    pz_engine_free(l);
    return false;
  }
  assert_null(l);
  assert_true(rc == PZ_EFORMAT || rc == PZ_ECORRUPT || rc == PZ_EVERSION);
  assert_non_null(strstr(pz_errmsg(), path)); /* says which file */
  if (f->ta.live_blocks) fail_msg("leak after: %s", pz_errmsg());
  return true;
}

static void test_every_truncation(void **state) {
  fixture *f = *state;
  size_t n;
  char *good = small_snapshot(f, &n);
  char cut[160];
  snprintf(cut, sizeof cut, "%s/cut", f->dir);
  int code;
  for (size_t len = 0; len < n; len++) {
    spit(cut, good, len);
    if (!load_fails_cleanly(f, cut, &code))
      fail_msg("a snapshot cut at %zu of %zu bytes loaded", len, n);
    /* below the magic it is not a snapshot; past it, a damaged one */
    assert_int_equal(code, len < 8 ? PZ_EFORMAT : PZ_ECORRUPT);
  }
  /* one byte more is damage too */
  char *longer = malloc(n + 1);
  memcpy(longer, good, n);
  longer[n] = 0;
  spit(cut, longer, n + 1);
  assert_true(load_fails_cleanly(f, cut, &code));
  free(longer);
  free(good);
}

static void test_bit_flips(void **state) {
  fixture *f = *state;
  size_t n;
  char *good = small_snapshot(f, &n);
  char *bad = malloc(n);
  char flip[160], resave[160];
  snprintf(flip, sizeof flip, "%s/flip", f->dir);
  snprintf(resave, sizeof resave, "%s/resave", f->dir);
  size_t loaded = 0, tried = 0;
  for (size_t off = 0; off < n; off++) {
    /* every bit of the header and table; one bit per byte after */
    for (int bit = off < 400 ? 0 : (int)(off % 8); bit < 8;
         bit += off < 400 ? 1 : 8) {
      memcpy(bad, good, n);
      bad[off] ^= (char)(1 << bit);
      spit(flip, bad, n);
      tried++;
      int code;
      if (load_fails_cleanly(f, flip, &code)) continue;
      /* only padding may change unnoticed: then the data is the same and
       * saving it again gives the original bytes (padding is zero) */
      pz_engine *l;
      OK(load(&l, f, flip, NULL));
      OK(pz_engine_save(l, resave));
      pz_engine_free(l);
      if (f->ta.live_blocks)
        fail_msg("flip at %zu bit %d loaded and leaked %ld blocks", off, bit,
                 f->ta.live_blocks);
      size_t m;
      char *again = test_slurp(resave, &m);
      assert_int_equal(m, n);
      if (memcmp(again, good, n) != 0)
        fail_msg("a flip at byte %zu bit %d loaded different data", off, bit);
      free(again);
      loaded++;
    }
  }
  print_message("%zu flips over %zu bytes: %zu in padding loaded\n", tried,
                n, loaded);
  assert_true(loaded < 64); /* padding is a few bytes per section */
  free(bad);
  free(good);
}

/* Little-endian field access and checksum repair for crafted files. */
#define HDR 64u
#define ENTRY 32u
static uint32_t rd32(const char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint64_t rd64(const char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static void wr32(char *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(char *p, uint64_t v) { memcpy(p, &v, 8); }

uint64_t pz__checksum(const void *p, size_t len); /* the library's XXH3 */

/* After editing a file: section sums, table sum, header sum. */
static void reseal(char *s, size_t n) {
  uint32_t k = rd32(s + 28);
  for (uint32_t i = 0; i < k; i++) {
    char *t = s + HDR + i * ENTRY;
    uint64_t off = rd64(t + 8), len = rd64(t + 16);
    if (off <= n && len <= n - off) wr64(t + 24, pz__checksum(s + off, len));
  }
  wr64(s + HDR + k * ENTRY, pz__checksum(s + HDR, k * ENTRY));
  wr64(s + 56, pz__checksum(s, 56));
}

static char *section(char *s, const char *id, size_t *len) {
  uint32_t k = rd32(s + 28);
  for (uint32_t i = 0; i < k; i++) {
    char *t = s + HDR + i * ENTRY;
    if (memcmp(t, id, 4) == 0) {
      *len = rd64(t + 16);
      return s + rd64(t + 8);
    }
  }
  fail_msg("no section %s", id);
  return NULL;
}

typedef void (*edit_fn)(char *s, size_t n);

static int crafted(fixture *f, const char *good, size_t n, edit_fn edit,
                   bool seal) {
  char *s = malloc(n);
  memcpy(s, good, n);
  edit(s, n);
  if (seal) reseal(s, n);
  char p[160];
  snprintf(p, sizeof p, "%s/crafted", f->dir);
  spit(p, s, n);
  free(s);
  test_alloc_reset(&f->ta);
  pz_engine *l = NULL;
  int rc = load(&l, f, p, NULL);
  if (rc == PZ_OK) pz_engine_free(l);
  /* never more than a few times the file's size, whatever it claims */
  assert_true(f->ta.peak_bytes < 64 * n + (8u << 20));
  assert_int_equal(f->ta.live_blocks, 0);
  return rc;
}

static void edit_offset(char *s, size_t n) { /* a section beyond the end */
  wr64(s + HDR + 2 * ENTRY + 8, n + 4096);
}
static void edit_length(char *s, size_t n) {
  wr64(s + HDR + 1 * ENTRY + 16, (uint64_t)n * 1000);
}
static void edit_overlap(char *s, size_t n) {
  (void)n;
  wr64(s + HDR + 2 * ENTRY + 8, rd64(s + HDR + 1 * ENTRY + 8));
}
static void edit_item_count(char *s, size_t n) {
  (void)n;
  size_t len;
  wr32(section(s, "CATL", &len), 0xfffffff0u);
}
static void edit_profile_count(char *s, size_t n) {
  (void)n;
  size_t len;
  char *p = section(s, "PROF", &len);
  /* the count follows the event types and purposes: find it as the
   * 8 bytes before the first user id's length; simplest is to scan the
   * names: n_types u32, names, n_purposes u32, names */
  size_t at = 0;
  for (int list = 0; list < 2; list++) {
    uint32_t k = rd32(p + at);
    at += 4;
    for (uint32_t i = 0; i < k; i++) at += 4 + rd32(p + at);
  }
  wr64(p + at, UINT64_C(1) << 40);
}
static void edit_event_item(char *s, size_t n) { /* an event past the items */
  (void)n;
  size_t len;
  char *p = section(s, "PROF", &len);
  size_t at = 0;
  for (int list = 0; list < 2; list++) {
    uint32_t k = rd32(p + at);
    at += 4;
    for (uint32_t i = 0; i < k; i++) at += 4 + rd32(p + at);
  }
  at += 8;                      /* profile count */
  at += 4 + rd32(p + at);       /* id */
  at += 8;                      /* landmark */
  at += 4 + 8 * rd32(p + at);   /* interests */
  assert_true(rd32(p + at) > 0); /* events */
  wr32(p + at + 4 + 8, 0x7fffffff);
}
static void edit_factor_nan(char *s, size_t n) { /* a NaN in the ALS model */
  (void)n;
  size_t len;
  char *p = section(s, "CFMD", &len);
  uint32_t ni = rd32(p + 9);
  size_t at = 53 + 4 * (size_t)ni; /* past the header and users per item */
  assert_int_equal(p[at++], 1);    /* a kNN part: k, lists, similarities */
  uint64_t total = rd64(p + at + 4 + 8 * (size_t)ni);
  at += 4 + 8 * ((size_t)ni + 1) + 8 * total;
  assert_int_equal(p[at++], 1); /* the ALS part: f, fs, sweeps, reg, alpha */
  at += 12 + 16;
  float nan = NAN;
  memcpy(p + at + 4, &nan, 4); /* the first item's second factor */
}
static void edit_item_weight(char *s, size_t n) { /* beyond any put */
  (void)n;
  size_t len;
  char *p = section(s, "CATL", &len);
  size_t at = 12 + 1;           /* count, landmark, first item's state */
  at += 4 + rd32(p + at);       /* its id */
  assert_true(rd32(p + at) > 0); /* it has features */
  float big = 3e38f;
  memcpy(p + at + 4 + 4, &big, 4);
}
static void edit_cluster_count(char *s, size_t n) {
  (void)n;
  size_t len;
  char *p = section(s, "CLUS", &len);
  assert_int_equal(p[0], 1);
  wr32(p + 13, rd32(p + 13) + 1); /* cluster 0 claims one more member */
}
static void edit_version(char *s, size_t n) {
  (void)n;
  wr32(s + 8, 2);
}
static void edit_size(char *s, size_t n) { wr64(s + 32, n - 8); }
static void edit_unknown(char *s, size_t n) {
  (void)n;
  memcpy(s + HDR + 5 * ENTRY, "XTRA", 4);
}
static void edit_magic(char *s, size_t n) {
  (void)n;
  s[1] = 'Q';
}

static void test_hostile_files(void **state) {
  fixture *f = *state;
  size_t n;
  char *good = small_snapshot(f, &n);
  static const struct {
    const char *what;
    edit_fn edit;
    int code;
    const char *needle;
  } cases[] = {
      {"offset past the end", edit_offset, PZ_ECORRUPT, "outside the file"},
      {"length past the end", edit_length, PZ_ECORRUPT, "outside the file"},
      {"overlapping sections", edit_overlap, PZ_ECORRUPT, "overlaps"},
      {"4 billion items", edit_item_count, PZ_ECORRUPT, "count"},
      {"2^40 profiles", edit_profile_count, PZ_ECORRUPT, "count"},
      {"an event on no item", edit_event_item, PZ_ECORRUPT, "out of range"},
      {"a NaN factor", edit_factor_nan, PZ_ECORRUPT, "not finite"},
      {"a weight of 3e38", edit_item_weight, PZ_ECORRUPT, "out of range"},
      {"a cluster's count", edit_cluster_count, PZ_ECORRUPT, "counts"},
      {"format 2", edit_version, PZ_EVERSION, "newer"},
      {"a wrong size", edit_size, PZ_ECORRUPT, "truncated or extended"},
      {"an unknown section", edit_unknown, PZ_EVERSION, "not one this"},
      {"no magic", edit_magic, PZ_EFORMAT, "not a libpersonalize snapshot"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int rc = crafted(f, good, n, cases[i].edit, true);
    if (rc != cases[i].code || !strstr(pz_errmsg(), cases[i].needle))
      fail_msg("%s: got %d \"%s\"", cases[i].what, rc, pz_errmsg());
  }
  free(good);
}

static void test_hash_identity_and_config(void **state) {
  fixture *f = *state;
  size_t n;
  char *good = small_snapshot(f, &n);
  pz_engine *l = NULL;
  char cfg[2048];
  snprintf(cfg, sizeof cfg, "%shashing: {seed: 99}\n", rich_config);
  assert_int_equal(load(&l, f, f->path, cfg), PZ_ECONFIG);
  assert_null(l);
  assert_non_null(strstr(pz_errmsg(), "hashed with seed 0, bits 20"));
  snprintf(cfg, sizeof cfg, "%shashing: {bits: 18}\n", rich_config);
  assert_int_equal(load(&l, f, f->path, cfg), PZ_ECONFIG);
  /* a configuration without an event type the profiles use */
  assert_int_equal(load(&l, f, f->path, "events: {view: 1, rating: 2}\n"),
                   PZ_ECONFIG);
  assert_non_null(strstr(pz_errmsg(), "\"purchase\""));
  /* ... or a purpose */
  assert_int_equal(
      load(&l, f, f->path, "events: {view: 1, purchase: 5, rating: 2}\n"),
      PZ_ECONFIG);
  assert_non_null(strstr(pz_errmsg(), "\"marketing\""));
  /* "rating" is used (by "auto"): it may not go */
  snprintf(cfg, sizeof cfg, "%s",
           "events: {view: 1, purchase: 5}\n"
           "consent: {purposes: [marketing]}\n");
  assert_int_equal(load(&l, f, f->path, cfg), PZ_ECONFIG);
  assert_non_null(strstr(pz_errmsg(), "\"rating\""));
  /* a type or purpose nobody used may */
  char other[160];
  snprintf(other, sizeof other, "%s/other", f->dir);
  pz_engine *u;
  OK(test_open(&u, &f->ta, &f->tc,
               "events: {view: 1, unused: 3}\n"
               "consent: {purposes: [spare]}\n"));
  OK(pz_track(u, "x", "y", "view", 1, 0));
  OK(pz_engine_save(u, other));
  pz_engine_free(u);
  OK(load(&u, f, other, "events: {view: 1}\n"));
  pz_engine_free(u);
  /* event types in another order are mapped by name */
  snprintf(cfg, sizeof cfg, "%s",
           "events: {rating: 2, purchase: 5, view: 1}\n"
           "consent: {purposes: [marketing]}\n");
  OK(load(&l, f, f->path, cfg));
  size_t c;
  OK(pz_profile_event_count(&c, l, "user1"));
  assert_true(c > 0);
  pz_engine_free(l);
  /* the file is untouched by all that */
  size_t m;
  char *after = test_slurp(f->path, &m);
  assert_int_equal(m, n);
  assert_memory_equal(after, good, n);
  free(after);
  free(good);
}

static void test_load_bad_arguments(void **state) {
  fixture *f = *state;
  pz_engine *l = (pz_engine *)&l;
  assert_int_equal(pz_engine_load(NULL, f->path, NULL), PZ_EINVAL);
  assert_int_equal(pz_engine_load(&l, NULL, NULL), PZ_EINVAL);
  assert_null(l);
  assert_int_equal(pz_engine_load(&l, "", NULL), PZ_EINVAL);
  assert_int_equal(pz_engine_load(&l, "\xff\xfe", NULL), PZ_EINVAL);
  char missing[160];
  snprintf(missing, sizeof missing, "%s/none", f->dir);
  assert_int_equal(pz_engine_load(&l, missing, NULL), PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "No such file"));
  assert_int_equal(pz_engine_load(&l, f->dir, NULL), PZ_EIO); /* a dir */
  spit(missing, "", 0);
  assert_int_equal(pz_engine_load(&l, missing, NULL), PZ_EFORMAT);
  spit(missing, "events: {view: 1}\n", 18);
  assert_int_equal(pz_engine_load(&l, missing, NULL), PZ_EFORMAT);
  pz_engine_options o;
  pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
  o.version = 77;
  assert_int_equal(pz_engine_load(&l, f->path, &o), PZ_EVERSION);
  assert_int_equal(pz_engine_save(NULL, f->path), PZ_EINVAL);
  pz_engine *e;
  OK(open_rich(&e, f, NULL));
  assert_int_equal(pz_engine_save(e, NULL), PZ_EINVAL); /* no store.snapshot */
  assert_non_null(strstr(pz_errmsg(), "store.snapshot"));
  assert_int_equal(pz_engine_save(e, ""), PZ_EINVAL);
  assert_int_equal(pz_engine_save(e, "bad\xc3("), PZ_EINVAL);
  char longp[5000];
  memset(longp, 'a', sizeof longp - 1);
  longp[sizeof longp - 1] = '\0';
  assert_int_equal(pz_engine_save(e, longp), PZ_EINVAL);
  assert_int_equal(pz_engine_sync(NULL), PZ_EINVAL);
  OK(pz_engine_sync(e)); /* no journal: nothing to do */
  pz_engine_free(e);
}

/* ---- I/O failures ---------------------------------------------------------- */

static const char *fault_op;
static int fault_errno;
static int fault_hook(const char *op) {
  return fault_op && strcmp(op, fault_op) == 0 ? fault_errno : 0;
}
static void fault(const char *op, int err) {
  fault_op = op;
  fault_errno = err;
  pz__store_fault = op ? fault_hook : NULL;
}

static int count_files(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  assert_int_equal(fscanf(p, "%d", &n), 1);
  pclose(p);
  return n;
}

static void test_save_failures(void **state) {
  fixture *f = *state;
  pz_engine *e;
  OK(open_rich(&e, f, NULL));
  fill(e, 3);
  OK(pz_engine_save(e, f->path));
  size_t n;
  char *good = test_slurp(f->path, &n);
  char *before, *after;
  size_t bl, al;
  OK(pz_track(e, "user0", "item2", "view", 1, 0)); /* the engine moves on */
  observe(e, 3, &before, &bl);
  /* a missing directory */
  char p[200];
  snprintf(p, sizeof p, "%s/no/such/dir/snap", f->dir);
  assert_int_equal(pz_engine_save(e, p), PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "No such file or directory"));
  assert_non_null(strstr(pz_errmsg(), "/no/such/dir/snap"));
  /* a read-only directory (root ignores modes: then the system's answer
   * is injected) */
  char ro[160];
  snprintf(ro, sizeof ro, "%s/ro", f->dir);
  assert_int_equal(mkdir(ro, 0555), 0);
  snprintf(p, sizeof p, "%s/snap", ro);
  if (geteuid() != 0) {
    assert_int_equal(pz_engine_save(e, p), PZ_EIO);
    assert_non_null(strstr(pz_errmsg(), "Permission denied"));
  }
  fault("create", EROFS);
  assert_int_equal(pz_engine_save(e, f->path), PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "Read-only file system"));
  /* a full disk, a failed fsync, a failed rename, a failed directory sync:
   * the old snapshot stays and no temporary file is left */
  static const struct {
    const char *op;
    int err;
    const char *needle;
  } io[] = {{"write", ENOSPC, "No space left on device"},
            {"sync", EIO, "cannot sync"},
            {"rename", EXDEV, "cannot rename"},
            {"dirsync", EACCES, "written and renamed, but the directory"}};
  for (size_t i = 0; i < sizeof io / sizeof *io; i++) {
    fault(io[i].op, io[i].err);
    assert_int_equal(pz_engine_save(e, f->path), PZ_EIO);
    if (!strstr(pz_errmsg(), io[i].needle))
      fail_msg("%s: \"%s\"", io[i].op, pz_errmsg());
    fault(NULL, 0);
    size_t m;
    char *now = test_slurp(f->path, &m);
    /* (a failed directory sync comes after the rename: the new file is in
     * place but its name may not be durable yet, so it is reported) */
    if (strcmp(io[i].op, "dirsync") != 0) {
      assert_int_equal(m, n);
      assert_memory_equal(now, good, n);
    }
    free(now);
    assert_int_equal(count_files(f->dir), 2); /* snap and ro */
  }
  fault(NULL, 0);
  /* the engine is as it was */
  observe(e, 3, &after, &al);
  assert_string_equal(before, after);
  free(before);
  free(after);
  OK(pz_engine_save(e, f->path));
  rmdir(ro);
  free(good);
  pz_engine_free(e);
}

/* A real full disk, when the machine lets us mount a small tmpfs. */
static void test_full_tmpfs(void **state) {
  fixture *f = *state;
  char mnt[160], cmd[300];
  snprintf(mnt, sizeof mnt, "%s/small", f->dir);
  mkdir(mnt, 0755);
  snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=8k tmpfs %s 2>/dev/null",
           mnt);
  if (system(cmd) != 0) {
    rmdir(mnt);
    skip(); /* not allowed here: the injected ENOSPC above covers it */
  }
  pz_engine *e;
  OK(open_rich(&e, f, NULL));
  fill(e, USERS);
  char p[200];
  snprintf(p, sizeof p, "%s/snap", mnt);
  int rc = pz_engine_save(e, p);
  assert_int_equal(rc, PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "No space left"));
  assert_int_equal(count_files(mnt), 0);
  pz_engine_free(e);
  snprintf(cmd, sizeof cmd, "umount %s", mnt);
  assert_int_equal(system(cmd), 0);
  rmdir(mnt);
}

/* ---- the journal -------------------------------------------------------------- */

static int open_store(pz_engine **e, fixture *f, const char *fsync,
                      bool snapshot) {
  char extra[512];
  snprintf(extra, sizeof extra,
           "profile: {history_limit: 100000}\n"
           "store: {journal: %s/journal, fsync: %s%s%s%s}\n",
           f->dir, fsync, snapshot ? ", snapshot: " : "",
           snapshot ? f->path : "", "");
  return open_rich(e, f, extra);
}

static void test_journal_replay(void **state) {
  fixture *f = *state;
  pz_engine *e;
  OK(open_store(&e, f, "always", false));
  fill(e, 5);
  OK(pz_profile_merge(e, "user4", "user3"));
  OK(pz_profile_erase(e, "user2"));
  OK(pz_profile_remove_attribute(e, "user1", "vip"));
  OK(pz_override_clear(e, "user1", PZ_CHOICE_BLOCK_ITEM, "item3"));
  OK(pz_override_clear_all(e, "user3"));
  OK(pz_override_opt_out(e, "user5", 0));
  char *a, *b;
  size_t al, bl;
  observe(e, 5, &a, &al);
  pz_engine_free(e);
  OK(open_store(&e, f, "always", false)); /* replays everything */
  observe(e, 5, &b, &bl);
  assert_string_equal(a, b);
  free(a);
  free(b);
  /* refused calls leave no record */
  assert_int_equal(pz_track(e, "user0", "item1", "nope", 1, 0), PZ_ENOTFOUND);
  assert_int_equal(pz_profile_set_number(e, "user0", "x", NAN), PZ_EINVAL);
  observe(e, 5, &a, &al);
  pz_engine_free(e);
  OK(open_store(&e, f, "never", false));
  observe(e, 5, &b, &bl);
  assert_string_equal(a, b);
  free(a);
  free(b);
  pz_engine_free(e);
}

static void test_journal_torn_tail(void **state) {
  fixture *f = *state;
  char jp[160];
  snprintf(jp, sizeof jp, "%s/journal", f->dir);
  pz_engine *e;
  OK(open_store(&e, f, "interval", false));
  for (int i = 0; i < 20; i++) {
    char item[16];
    snprintf(item, sizeof item, "item%d", i);
    OK(pz_track(e, "u", item, "view", 1, T0 + i));
  }
  uint64_t before_last = test_file_size(jp);
  OK(pz_profile_set_string(e, "u", "last", "the last write"));
  pz_engine_free(e);
  size_t n;
  char *full = test_slurp(jp, &n);
  assert_true(n > before_last);
  /* the last record cut at every byte: everything before it survives */
  for (size_t cut = before_last; cut < n; cut++) {
    spit(jp, full, cut);
    OK(open_store(&e, f, "interval", false));
    size_t c;
    OK(pz_profile_event_count(&c, e, "u"));
    assert_int_equal(c, 20);
    char buf[64];
    size_t bl;
    assert_int_equal(pz_profile_get_string(buf, sizeof buf, &bl, e, "u", "last"),
                     PZ_ENOTFOUND);
    /* the torn bytes are gone and new writes follow the good ones */
    assert_int_equal(test_file_size(jp), before_last);
    OK(pz_profile_set_string(e, "u", "last", "again"));
    pz_engine_free(e);
    OK(open_store(&e, f, "interval", false));
    OK(pz_profile_get_string(buf, sizeof buf, &bl, e, "u", "last"));
    assert_string_equal(buf, "again");
    pz_engine_free(e);
  }
  /* a zero-filled tail (a file extended by a crash) is torn too */
  char *z = calloc(1, n + 300);
  memcpy(z, full, before_last);
  spit(jp, z, before_last + 300);
  OK(open_store(&e, f, "interval", false));
  pz_engine_free(e);
  assert_int_equal(test_file_size(jp), before_last);
  free(z);
  /* damage in the middle is not a torn tail: refused */
  full[before_last - 3] ^= 0x10;
  spit(jp, full, n);
  e = (pz_engine *)&e;
  assert_int_equal(open_store(&e, f, "interval", false), PZ_ECORRUPT);
  assert_null(e);
  assert_non_null(strstr(pz_errmsg(), "checksum mismatch"));
  assert_int_equal(test_file_size(jp), n); /* left as it was */
  free(full);
}

static void test_journal_generations(void **state) {
  fixture *f = *state;
  char jp[160], old[160];
  snprintf(jp, sizeof jp, "%s/journal", f->dir);
  snprintf(old, sizeof old, "%s/old-snap", f->dir);
  pz_engine *e;
  OK(open_store(&e, f, "always", true));
  fill(e, 3);
  OK(pz_engine_save(e, NULL)); /* the store's snapshot: a new journal */
  assert_int_equal(test_file_size(jp), 64);
  OK(pz_track(e, "later", "item1", "view", 1, 0)); /* after the snapshot */
  OK(pz_engine_save(e, old)); /* a copy elsewhere: the journal stays */
  assert_true(test_file_size(jp) > 64);
  OK(pz_track(e, "later", "item2", "view", 1, 0));
  char *a, *b;
  size_t al, bl;
  observe(e, 3, &a, &al);
  pz_engine_free(e);
  OK(open_store(&e, f, "always", true)); /* snapshot, then the journal */
  observe(e, 3, &b, &bl);
  assert_string_equal(a, b);
  size_t c;
  OK(pz_profile_event_count(&c, e, "later"));
  assert_int_equal(c, 2);
  pz_engine_free(e);
  /* the copy also fits the journal (same generation, its own offset) */
  pz_engine *l;
  char cfg[1024];
  snprintf(cfg, sizeof cfg,
           "%sprofile: {history_limit: 100000}\nstore: {journal: %s}\n",
           rich_config, jp);
  OK(load(&l, f, old, cfg));
  OK(pz_profile_event_count(&c, l, "later"));
  assert_int_equal(c, 2);
  pz_engine_free(l);
  /* a journal whose snapshot is gone */
  OK(open_store(&e, f, "always", true));
  OK(pz_engine_save(e, NULL));
  pz_engine_free(e);
  unlink(f->path);
  size_t jn;
  char *jbytes = test_slurp(jp, &jn);
  e = (pz_engine *)&e;
  assert_int_equal(open_store(&e, f, "always", true), PZ_ECORRUPT);
  assert_null(e);
  assert_non_null(strstr(pz_errmsg(), "continues a snapshot"));
  size_t jn2;
  char *jbytes2 = test_slurp(jp, &jn2);
  assert_int_equal(jn, jn2);
  assert_memory_equal(jbytes, jbytes2, jn); /* untouched */
  free(jbytes);
  free(jbytes2);
  /* an older snapshot than the journal follows */
  assert_int_equal(rename(old, f->path), 0);
  assert_int_equal(open_store(&e, f, "always", true), PZ_ECORRUPT);
  assert_non_null(strstr(pz_errmsg(), "does not follow"));
  /* a journal of another hash identity */
  assert_int_equal(unlink(f->path), 0);
  char extra[400];
  snprintf(extra, sizeof extra,
           "hashing: {seed: 4}\nstore: {journal: %s}\n", jp);
  assert_int_equal(open_rich(&e, f, extra), PZ_ECONFIG);
  /* something that is not a journal */
  spit(jp, "hello", 5);
  assert_int_equal(open_store(&e, f, "always", false), PZ_EFORMAT);
  free(a);
  free(b);
}

static bool file_has(const char *path, const char *needle) {
  size_t n;
  char *s = test_slurp(path, &n);
  bool found = memmem(s, n, needle, strlen(needle)) != NULL;
  free(s);
  return found;
}

static void test_erasure_is_durable(void **state) {
  fixture *f = *state;
  char jp[160];
  snprintf(jp, sizeof jp, "%s/journal", f->dir);
  pz_engine *e;
  OK(open_store(&e, f, "always", true));
  fill(e, 3);
  OK(pz_profile_set_string(e, "secret-person", "email", "who@example.org"));
  OK(pz_track(e, "secret-person", "item4", "purchase", 1, 0));
  OK(pz_override_block_item(e, "secret-person", "item5", 0));
  OK(pz_cluster_train(e, NULL));
  OK(pz_cf_train(e, NULL));
  OK(pz_engine_save(e, NULL));
  assert_true(file_has(f->path, "who@example.org"));
  OK(pz_track(e, "secret-person", "item6", "view", 1, 0));
  OK(pz_profile_erase(e, "secret-person"));
  pz_engine_free(e);
  /* the journal's replay: gone */
  OK(open_store(&e, f, "always", true));
  char buf[4096];
  size_t bl;
  assert_int_equal(pz_profile_export(buf, sizeof buf, &bl, e, "secret-person"),
                   PZ_ENOTFOUND);
  pz_cf_stats st;
  /* ... also from the derived models */
  int c = 7;
  OK(pz_cluster_of(&c, e, "secret-person"));
  assert_int_equal(c, -1);
  (void)st;
  /* the next snapshot and the new journal hold nothing of theirs */
  OK(pz_engine_save(e, NULL));
  assert_false(file_has(f->path, "secret-person"));
  assert_false(file_has(f->path, "who@example.org"));
  assert_false(file_has(jp, "secret-person"));
  pz_engine_free(e);
  OK(open_store(&e, f, "always", true));
  assert_int_equal(pz_profile_export(buf, sizeof buf, &bl, e, "secret-person"),
                   PZ_ENOTFOUND);
  pz_engine_free(e);
}

static void test_journal_failures(void **state) {
  fixture *f = *state;
  char jp[160];
  snprintf(jp, sizeof jp, "%s/journal", f->dir);
  pz_engine *e;
  OK(open_store(&e, f, "always", true));
  OK(pz_track(e, "u", "item1", "view", 1, 0));
  uint64_t size = test_file_size(jp);
  /* a full disk: the change is made (it is recorded after), but the
   * record is not, so the journal refuses writes until a save */
  fault("append", ENOSPC);
  assert_int_equal(pz_track(e, "u", "item2", "view", 1, 0), PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "No space left"));
  assert_non_null(strstr(pz_errmsg(), "not recorded"));
  fault(NULL, 0);
  size_t c;
  OK(pz_profile_event_count(&c, e, "u"));
  assert_int_equal(c, 2);
  assert_int_equal(test_file_size(jp), size); /* no part of it left */
  assert_int_equal(pz_item_put(e, "x", NULL, NULL, 0), PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "save a snapshot"));
  OK(pz_engine_save(e, NULL)); /* holds item2; a new journal */
  /* a failed fsync: the change is made but its durability unknown, so
   * writes stop until a snapshot starts a new journal */
  fault("fsync", EIO);
  assert_int_equal(pz_track(e, "u", "item3", "view", 1, 0), PZ_EIO);
  fault(NULL, 0);
  assert_int_equal(pz_track(e, "u", "item4", "view", 1, 0), PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "save a snapshot"));
  OK(pz_engine_save(e, NULL));
  OK(pz_track(e, "u", "item4", "view", 1, 0));
  OK(pz_profile_event_count(&c, e, "u"));
  assert_int_equal(c, 4); /* item1, item2, item3, item4 */
  pz_engine_free(e);
  OK(open_store(&e, f, "always", true));
  OK(pz_profile_event_count(&c, e, "u"));
  assert_int_equal(c, 4);
  OK(pz_engine_sync(e));
  pz_engine_free(e);
  /* a journal in a directory that does not exist */
  char extra[300];
  snprintf(extra, sizeof extra, "store: {journal: %s/none/journal}\n", f->dir);
  e = (pz_engine *)&e;
  assert_int_equal(open_rich(&e, f, extra), PZ_EIO);
  assert_null(e);
}

static void test_journal_owner_and_copies(void **state) {
  fixture *f = *state;
  pz_engine *e, *other = (pz_engine *)&other;
  OK(open_store(&e, f, "never", true));
  OK(pz_track(e, "u", "item1", "view", 1, 0));
  /* one engine per journal */
  assert_int_equal(open_store(&other, f, "never", true), PZ_EIO);
  assert_null(other);
  assert_non_null(strstr(pz_errmsg(), "in use by another engine"));
  OK(pz_engine_save(e, NULL)); /* a new journal: still ours alone */
  assert_int_equal(open_store(&other, f, "never", true), PZ_EIO);
  /* a copy loaded with its own configuration leaves the journal alone */
  pz_engine *copy;
  OK(load(&copy, f, f->path, NULL));
  OK(pz_track(copy, "u", "item2", "view", 1, 0));
  pz_engine_free(copy);
  OK(pz_track(e, "u", "item3", "view", 1, 0));
  pz_engine_free(e);
  OK(open_store(&e, f, "never", true));
  size_t c;
  OK(pz_profile_event_count(&c, e, "u"));
  assert_int_equal(c, 2); /* item1 and item3: not the copy's item2 */
  pz_engine_free(e);
}

/* The journal holds only calls that succeeded: one that fails on replay
 * (here: the configuration lost an event type) is an error wherever it
 * is, never silently dropped; derived models that cannot be rebuilt are
 * left out. */
static void test_journal_replay_failures(void **state) {
  fixture *f = *state;
  char jp[160];
  snprintf(jp, sizeof jp, "%s/journal", f->dir);
  char with_rare[512], without[512];
  snprintf(with_rare, sizeof with_rare,
           "events: {view: 1, rare: 2}\nstore: {journal: %s}\n", jp);
  snprintf(without, sizeof without,
           "events: {view: 1}\nstore: {journal: %s}\n", jp);
  pz_engine *e;
  OK(test_open(&e, &f->ta, &f->tc, with_rare));
  OK(pz_track(e, "u", "a", "view", 1, 0));
  assert_int_equal(pz_track(e, "u", "b", "nope", 1, 0), PZ_ENOTFOUND);
  OK(pz_track(e, "u", "b", "rare", 1, 0)); /* the last record */
  pz_engine_free(e);
  uint64_t size = test_file_size(jp);
  e = (pz_engine *)&e;
  assert_int_equal(test_open(&e, &f->ta, &f->tc, without), PZ_ECORRUPT);
  assert_null(e);
  assert_non_null(strstr(pz_errmsg(), "cannot be replayed"));
  assert_non_null(strstr(pz_errmsg(), "\"rare\""));
  assert_int_equal(test_file_size(jp), size); /* nothing cut */
  OK(test_open(&e, &f->ta, &f->tc, with_rare));
  size_t c;
  OK(pz_profile_event_count(&c, e, "u"));
  assert_int_equal(c, 2);
  pz_engine_free(e);
  /* a training that cannot be rebuilt, and a name for one of its
   * clusters: the engine opens without them */
  char k2[512], k5[512];
  snprintf(k2, sizeof k2,
           "events: {view: 1, rare: 2}\nclusters: {k: 2, min_size: 1}\n"
           "store: {journal: %s}\n", jp);
  snprintf(k5, sizeof k5,
           "events: {view: 1, rare: 2}\nclusters: {k: 5, min_size: 1}\n"
           "store: {journal: %s}\n", jp);
  OK(test_open(&e, &f->ta, &f->tc, k2));
  const char *fa[] = {"genre=jazz"}, *fc[] = {"genre=rock"};
  OK(pz_item_put(e, "a", fa, NULL, 1));
  OK(pz_item_put(e, "c", fc, NULL, 1));
  OK(pz_track(e, "v", "a", "rare", 1, 0));
  OK(pz_track(e, "w", "c", "view", 1, 0));
  OK(pz_cluster_train(e, NULL));
  OK(pz_cluster_set_name(e, 1, "second"));
  OK(pz_track(e, "v", "c", "view", 1, 0));
  pz_engine_free(e);
  OK(test_open(&e, &f->ta, &f->tc, k5)); /* 2 users: too few for k = 5 */
  size_t n;
  OK(pz_cluster_count(&n, e));
  assert_int_equal(n, 0);
  OK(pz_profile_event_count(&c, e, "v"));
  assert_int_equal(c, 2); /* the writes around them are all there */
  pz_engine_free(e);
}

/* ---- crashes ---------------------------------------------------------------- */

/* A child writes events with fsync: always and reports each acknowledged
 * write through a pipe; it is killed with SIGKILL at a random moment
 * (between writes, inside one, inside a snapshot save). The engine must
 * then open with every acknowledged write in it, in order, and nothing
 * else but possibly the one write in flight. */
static void crash_child(fixture *f, int fd) {
  pz_engine *e;
  if (open_store(&e, f, "always", true)) _exit(3);
  size_t have;
  if (pz_profile_event_count(&have, e, "u") && pz_errmsg()) have = 0;
  /* the last run may have been killed between an event and its seq */
  double seq;
  if (have && (pz_profile_get_number(&seq, e, "u", "seq") ||
               seq != (double)have - 1) &&
      pz_profile_set_number(e, "u", "seq", (double)have - 1))
    _exit(8);
  for (uint64_t i = have;; i++) {
    char item[32];
    snprintf(item, sizeof item, "item%llu", (unsigned long long)i);
    if (pz_track(e, "u", item, "view", 1, T0 + (int64_t)i)) _exit(4);
    if (pz_profile_set_number(e, "u", "seq", (double)i)) _exit(5);
    if (write(fd, &i, sizeof i) != sizeof i) _exit(6);
    if (i % 97 == 96 && pz_engine_save(e, NULL)) _exit(7);
  }
}

/* Fork a child running child(f, write end of a pipe), let it run for up
 * to max_us (random), kill it with SIGKILL and reap it; the read end of
 * the pipe holds what it acknowledged. */
static int crash_once(fixture *f, void (*child)(fixture *, int),
                      long max_us) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    child(f, p[1]);
  }
  close(p[1]);
  struct timespec ts = {0, (rand() % max_us) * 1000};
  nanosleep(&ts, NULL);
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status)); /* it did not fail on its own */
  return p[0];
}

static void test_sigkill(void **state) {
  fixture *f = *state;
  const char *env = getenv("PZ_CRASH_RUNS");
  int runs = env ? atoi(env) : 25;
  unsigned seed = (unsigned)time(NULL);
  print_message("crash test: %d runs, seed %u\n", runs, seed);
  srand(seed);
  uint64_t acked = 0; /* over all runs: the child goes on where it was */
  bool any = false;
  for (int run = 0; run < runs; run++) {
    int rd = crash_once(f, crash_child, 40000);
    uint64_t i;
    while (read(rd, &i, sizeof i) == sizeof i) {
      acked = i + 1;
      any = true;
    }
    close(rd);
    pz_engine *e;
    OK(open_store(&e, f, "always", true));
    size_t c;
    if (pz_profile_event_count(&c, e, "u") != PZ_OK) c = 0;
    /* every acknowledged write, and at most the one in flight */
    if (c < acked || c > acked + 1)
      fail_msg("run %d: %zu events after %llu acknowledged", run, c,
               (unsigned long long)acked);
    double seq = -1;
    if (c) {
      /* (after the very first event, seq may not be set yet) */
      if (pz_profile_get_number(&seq, e, "u", "seq") != PZ_OK) seq = -1;
      if (seq != (double)c - 1 && seq != (double)c - 2)
        fail_msg("run %d: %zu events (%llu acknowledged) but seq %g", run, c,
                 (unsigned long long)acked, seq);
    }
    /* in order: the newest event is the last one written */
    static char buf[1 << 20];
    size_t bl;
    if (c) {
      OK(pz_profile_export(buf, sizeof buf, &bl, e, "u"));
      char want[48];
      snprintf(want, sizeof want, "\"item%zu\"", c - 1);
      assert_non_null(strstr(buf, want));
    }
    acked = c; /* the write in flight may have landed */
    pz_engine_free(e);
  }
  assert_true(any);
  print_message("crash test: %llu writes survived %d kills\n",
                (unsigned long long)acked, runs);
}

/* The same with several writer threads, one user each ("w0", "w1", ...),
 * the first also saving snapshots: each thread's acknowledged writes must
 * all be there, in order, after the kill (plus at most its one write in
 * flight). Acknowledgements are (thread, index) pairs on the pipe. */
#define CRASH_WRITERS 3
typedef struct crash_writer {
  pz_engine *e;
  int fd, id;
  uint64_t from;
} crash_writer;

static void *crash_writer_run(void *arg) {
  crash_writer *w = arg;
  char user[8];
  snprintf(user, sizeof user, "w%d", w->id);
  for (uint64_t i = w->from;; i++) {
    char item[32];
    snprintf(item, sizeof item, "item%llu", (unsigned long long)i);
    if (pz_track(w->e, user, item, "view", 1, T0 + (int64_t)i)) _exit(4);
    uint64_t msg[2] = {(uint64_t)w->id, i};
    if (write(w->fd, msg, sizeof msg) != sizeof msg) _exit(6);
    if (w->id == 0 && i % 97 == 96 && pz_engine_save(w->e, NULL)) _exit(7);
  }
  return NULL;
}

static void crash_child_mt(fixture *f, int fd) {
  pz_engine *e;
  if (open_store(&e, f, "always", true)) _exit(3);
  crash_writer w[CRASH_WRITERS];
  pthread_t t[CRASH_WRITERS];
  for (int k = 0; k < CRASH_WRITERS; k++) {
    char user[8];
    snprintf(user, sizeof user, "w%d", k);
    size_t have = 0;
    if (pz_profile_event_count(&have, e, user)) have = 0;
    w[k] = (crash_writer){e, fd, k, have};
    if (pthread_create(&t[k], NULL, crash_writer_run, &w[k])) _exit(9);
  }
  for (int k = 0; k < CRASH_WRITERS; k++) pthread_join(t[k], NULL);
  _exit(10);
}

static void test_sigkill_writers(void **state) {
  fixture *f = *state;
  const char *env = getenv("PZ_CRASH_RUNS");
  int runs = env ? atoi(env) : 15;
  unsigned seed = (unsigned)time(NULL) ^ 0x5bd1e995u;
  print_message("crash test, %d writers: %d runs, seed %u\n", CRASH_WRITERS,
                runs, seed);
  srand(seed);
  uint64_t acked[CRASH_WRITERS] = {0};
  uint64_t total = 0;
  for (int run = 0; run < runs; run++) {
    int rd = crash_once(f, crash_child_mt, 60000);
    uint64_t msg[2];
    while (read(rd, msg, sizeof msg) == sizeof msg) {
      assert_true(msg[0] < CRASH_WRITERS);
      if (msg[1] + 1 > acked[msg[0]]) acked[msg[0]] = msg[1] + 1;
    }
    close(rd);
    pz_engine *e;
    OK(open_store(&e, f, "always", true));
    for (int k = 0; k < CRASH_WRITERS; k++) {
      char user[8];
      snprintf(user, sizeof user, "w%d", k);
      size_t c;
      if (pz_profile_event_count(&c, e, user) != PZ_OK) c = 0;
      if (c < acked[k] || c > acked[k] + 1)
        fail_msg("run %d, writer %d: %zu events after %llu acknowledged",
                 run, k, c, (unsigned long long)acked[k]);
      if (c) {
        static char buf[1 << 20];
        size_t bl;
        OK(pz_profile_export(buf, sizeof buf, &bl, e, user));
        char want[48];
        snprintf(want, sizeof want, "\"item%zu\"", c - 1);
        assert_non_null(strstr(buf, want));
      }
      acked[k] = c;
    }
    pz_engine_free(e);
  }
  for (int k = 0; k < CRASH_WRITERS; k++) total += acked[k];
  assert_true(total > 0);
  print_message("crash test, %d writers: %llu writes survived %d kills\n",
                CRASH_WRITERS, (unsigned long long)total, runs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_every_truncation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bit_flips, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hash_identity_and_config, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_load_bad_arguments, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_save_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(test_full_tmpfs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_torn_tail, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_generations, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_erasure_is_durable, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_owner_and_copies, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_replay_failures, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sigkill, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sigkill_writers, setup, teardown),
  };
  return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
