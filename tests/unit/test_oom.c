/* Fail the n-th allocation for every n along scripted workloads. Every
 * call must either succeed or fail with PZ_ENOMEM, leave the engine
 * consistent, and nothing may leak.
 *
 * The first workload covers 0.1 (open, items, events, attributes, consent,
 * merge, interests, export, recommend, erase, free). The second covers the
 * segment module (rules compiled from the config and loaded at run time,
 * membership, counts, refresh, experiments, cluster training, personas,
 * names, erase and merge of cluster members); after it the engine must
 * answer exactly as an engine that ran the same workload without the
 * calls that failed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

#define T0 1700000000000LL

typedef struct tally {
  int items;        /* items that exist: put, or created by an event */
  bool made[13];
  int events_alice; /* successful tracks for alice */
  int failures;     /* calls that failed with PZ_ENOMEM */
} tally;

#define STEP(call, okvar)                                                     \
  do {                                                                        \
    int rc_ = (call);                                                         \
    if (rc_ == PZ_OK) {                                                       \
      okvar;                                                                  \
    } else {                                                                  \
      if (rc_ != PZ_ENOMEM)                                                   \
        fail_msg("%s returned %d (%s) with allocation %ld failing", #call,   \
                 rc_, pz_errmsg(), ta->fail_at);                              \
      t->failures++;                                                          \
    }                                                                         \
  } while (0)

static void workload(test_alloc *ta, tally *t) {
  test_clock tc = {T0};
  pz_engine *e = NULL;
  int rc = test_open(&e, ta, &tc,
                     "profile: {history_limit: 6}\nranking: {max_k: 20}\n");
  if (rc != PZ_OK) {
    assert_int_equal(rc, PZ_ENOMEM);
    assert_null(e);
    t->failures++;
    return;
  }
  static const char *genres[] = {"genre=jazz", "genre=rock", "genre=folk"};
  char id[16];
  for (int i = 0; i < 12; i++) {
    snprintf(id, sizeof id, "item%d", i);
    const char *f[] = {genres[i % 3], i % 2 ? "decade=1960s" : "decade=1970s",
                       "tag=vinyl"};
    STEP(pz_item_put(e, id, f, NULL, 3), t->made[i] = true);
  }
  /* an event on an item not in the catalogue creates it */
  int alice = 0, bob = 0;
  for (int i = 0; i < 10; i++) {
    snprintf(id, sizeof id, "item%d", i % 12);
    STEP(pz_track(e, "alice", id, i % 3 ? "view" : "purchase", 1, T0 + i),
         (t->events_alice++, alice = 1, t->made[i] = true));
    STEP(pz_track(e, "bob", id, "view", 1, T0 + i),
         (bob = 1, t->made[i] = true));
  }
  STEP(pz_track(e, "bob", "mystery", "click", 1, T0 + 50),
       (bob = 1, t->made[12] = true));
  STEP(pz_profile_set_string(e, "alice", "city", "Lyon"), alice = 1);
  STEP(pz_profile_set_number(e, "alice", "age", 40), alice = 1);
  STEP(pz_profile_set_consent(e, "alice", "ads_sharing", 1), (void)0);
  STEP(pz_profile_set_consent(e, "carol", "personalization", 0), (void)0);
  int anon = 0;
  STEP(pz_track(e, "anon", "item3", "view", 1, T0 + 99), anon = 1);
  STEP(pz_profile_set_bool(e, "anon", "kiosk", 1), anon = 1);
  if (anon) STEP(pz_profile_merge(e, "anon", "bob"), bob = 1);

  pz_interests *l = NULL;
  char buf[8192];
  size_t len;
  if (alice) {
    STEP(pz_profile_interests(&l, e, "alice", 5, 0), (void)0);
    pz_interests_free(l);
    STEP(pz_profile_export(buf, sizeof buf, &len, e, "alice"), (void)0);
  }
  pz_recs *r = NULL;
  STEP(pz_recommend(&r, e, "alice", 5, NULL), (void)0);
  pz_recs_free(r);
  pz_svec *v = NULL;
  STEP(pz_svec_new(&v, e), (void)0);
  if (v) {
    STEP(pz_svec_add_feature(v, "genre=jazz", 1.0), (void)0);
    uint32_t ix[2];
    double val[2];
    size_t n;
    STEP(pz_svec_top(ix, val, 2, &n, v, 2), (void)0);
    pz_svec_free(v);
  }
  if (bob) STEP(pz_profile_erase(e, "bob"), (void)0);

  /* the allocator works again: the engine must be consistent */
  long saved = ta->fail_at;
  ta->fail_at = 0;
  size_t n;
  for (int i = 0; i < 13; i++) t->items += t->made[i];
  assert_int_equal(pz_item_count(&n, e), PZ_OK);
  assert_int_equal(n, (size_t)t->items);
  if (alice) {
    assert_int_equal(pz_profile_event_count(&n, e, "alice"), PZ_OK);
    assert_int_equal(n, (size_t)(t->events_alice < 6 ? t->events_alice : 6));
  }
  assert_int_equal(pz_recommend(&r, e, "alice", 5, NULL), PZ_OK);
  assert_true(pz_recs_count(r) > 0 || t->items <= 0);
  pz_recs_free(r);
  ta->fail_at = saved;
  pz_engine_free(e);
}

static void run_all(int forever) {
  long total = 0;
  for (long n = 1;; n++) {
    test_alloc ta;
    test_alloc_reset(&ta);
    ta.fail_at = n;
    ta.fail_forever = forever;
    tally t;
    memset(&t, 0, sizeof t);
    workload(&ta, &t);
    if (ta.live_blocks != 0 || ta.bad_osize != 0)
      fail_msg("failing allocation %ld%s: %ld blocks leaked, %ld bad sizes", n,
               forever ? " onwards" : "", ta.live_blocks, ta.bad_osize);
    if (ta.count < n) { /* the whole workload ran without reaching n */
      assert_int_equal(t.failures, 0);
      total = n - 1;
      break;
    }
  }
  assert_true(total > 100); /* the workload does allocate a lot */
  print_message("      %ld allocation points checked\n", total);
}

static void test_oom_fail_once_at_every_point(void **state) {
  (void)state;
  run_all(0);
}

static void test_oom_fail_forever_from_every_point(void **state) {
  (void)state;
  run_all(1);
}

/* ---- the segment module ---------------------------------------------------
 *
 * The engine is opened (allocations may fail there: the config's rules are
 * compiled), populated with the allocator working, and then the segment
 * calls run with the n-th allocation failing. The points run in a child
 * process, one after another; a crash ends the child and is reported for
 * its point, and a new child goes on from the next one, so that one crash
 * does not hide the other points. For each point the child sends back
 * which mutating steps failed and a fingerprint of everything the engine
 * answers; the parent compares it with a run that skipped those steps.
 *
 * Bugs this found (both fixed, kept as regressions):
 *  - pz__rules_free() frees the segment and experiment arrays of a rule set
 *    whose compilation failed part-way with the count compiled so far, not
 *    the count allocated: a wrong osize ("leaks or wrong osizes");
 *  - pz__clusters_train(): when the allocation of the cluster array fails,
 *    pz__clusters_free() reads m->c[c] from a NULL m->c: SIGSEGV
 *    (cluster.c, "crashes"). */

#define SEG_USERS 30

static const char seg_config[] =
    "clusters: {k: 3, min_size: 2, seed: 5}\n"
    "ranking: {segment_min_members: 2}\n"
    "segments:\n"
    "  - name: adults\n"
    "    rule: {attr: age, gte: 18}\n"
    "  - name: minors\n"
    "    rule: {not: {segment: adults}}\n"
    "experiments:\n"
    "  - {name: color, seed: 1, variants: [{name: red}, {name: blue}]}\n";

static const char seg_doc[] =
    "segments:\n"
    "  - name: adults\n"
    "    rule: {attr: age, gte: 18}\n"
    "  - name: buyers\n"
    "    rule: {count: purchase, gte: 1, within: 30d}\n"
    "  - name: jazz\n"
    "    rule: {top_interests: 1, include: genre=jazz}\n"
    "  - name: adult_buyers\n"
    "    rule: {all: [{segment: adults}, {segment: buyers}]}\n"
    "  - name: odd_names\n"
    "    rule: {attr: name, regex: '^user [0-9]*[13579]$', "
    "case_insensitive: true}\n"
    "  - name: recent\n"
    "    rule: {attr: joined, between: [2023-01-01, 2023-11-14T22:00:00Z]}\n"
    "  - name: cities\n"
    "    rule: {attr: city, in: [Oslo, Lyon, Kyiv]}\n"
    "  - name: jazzy\n"
    "    rule: {cluster: jazzy}\n"
    "  - name: not_rock\n"
    "    rank: false\n"
    "    rule: {any: [{not: {interest: genre=rock, gt: 0}}, {segment: "
    "cities}]}\n"
    "experiments:\n"
    "  - name: color\n"
    "    seed: 42\n"
    "    variants: [{name: red}, {name: blue, weight: 3}]\n"
    "  - name: adults_only\n"
    "    seed: 7\n"
    "    coverage: 0.5\n"
    "    segment: adults\n"
    "    variants: [{name: a}, {name: b}]\n";

/* The mutating steps; a bit of seg_tally.failed each. */
enum {
  SEG_LOAD,
  SEG_REFRESH,
  SEG_TRAIN,
  SEG_NAME,
  SEG_NAME2,
  SEG_ERASE,
  SEG_MERGE,
  SEG_TRACK,
  SEG_NAME_MOVE,
  SEG_REFRESH2,
  SEG_N_STEPS
};

typedef struct seg_tally {
  bool opened;
  unsigned failed; /* mutating steps that failed with PZ_ENOMEM */
  int failures;    /* calls that failed with PZ_ENOMEM */
  int errors;      /* anything else that went wrong (printed) */
} seg_tally;

#define SEG_ERR(t, ...)                                                      \
  do {                                                                       \
    print_error(__VA_ARGS__);                                                \
    print_error("\n");                                                       \
    (t)->errors++;                                                           \
  } while (0)

/* A call that may fail only with PZ_ENOMEM; `bit` (or -1 for a read)
 * records that it failed. Returns whether it succeeded. */
static bool seg_step(seg_tally *t, const test_alloc *ta, int rc,
                     const char *what, int bit) {
  if (rc == PZ_OK) return true;
  if (rc != PZ_ENOMEM)
    SEG_ERR(t, "%s returned %d (%s) with allocation %ld failing%s", what, rc,
            pz_errmsg(), ta ? ta->fail_at : 0L,
            ta && ta->fail_forever ? " onwards" : "");
  t->failures++;
  if (bit >= 0) t->failed |= 1u << bit;
  return false;
}
#define SSTEP(call, bit) seg_step(t, ta, (call), #call, (bit))

static void seg_populate(pz_engine *e) {
  static const char *const genres[] = {"genre=jazz", "genre=rock",
                                       "genre=folk"};
  static const char *const decades[] = {"decade=1960s", "decade=1970s"};
  static const char *const cities[] = {"Oslo", "Lyon", "Rome", "Kyiv"};
  char id[32];
  for (int i = 0; i < 9; i++) {
    snprintf(id, sizeof id, "item%d", i);
    const char *f[] = {genres[i % 3], decades[i % 2], "tag=vinyl"};
    assert_int_equal(pz_item_put(e, id, f, NULL, i % 2 ? 2 : 3), PZ_OK);
  }
  for (int u = 0; u < SEG_USERS; u++) {
    char user[16], name[32];
    snprintf(user, sizeof user, "u%02d", u);
    for (int j = 0; j < 3; j++) {
      snprintf(id, sizeof id, "item%d", u % 3 + 3 * j);
      assert_int_equal(pz_track(e, user, id, j == 2 && u % 4 == 0
                                                 ? "purchase"
                                                 : "view",
                                1, T0 - 60000 * (u + j)),
                       PZ_OK);
    }
    assert_int_equal(pz_profile_set_number(e, user, "age", 10 + u), PZ_OK);
    snprintf(name, sizeof name, "User %d", u);
    assert_int_equal(pz_profile_set_string(e, user, "name", name), PZ_OK);
    assert_int_equal(pz_profile_set_string(e, user, "city", cities[u % 4]),
                     PZ_OK);
    assert_int_equal(pz_profile_set_timestamp(e, user, "joined",
                                              T0 - 86400000LL * 40 * u),
                     PZ_OK);
  }
  /* an adult who withdrew consent: in rules on attributes only */
  assert_int_equal(pz_profile_set_consent(e, "nc", "personalization", 0),
                   PZ_OK);
  assert_int_equal(pz_profile_set_number(e, "nc", "age", 50), PZ_OK);
}

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len) {
  if (b->len + len + 1 > b->cap) {
    size_t ncap = (b->len + len + 1) * 2;
    char *p = realloc(b->p, ncap);
    if (!p) abort();
    b->p = p;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, len);
  b->len += len;
  b->p[b->len] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  char tmp[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Members of a segment, sorted (their order is unspecified). */
static void fp_members(sbuf *b, pz_engine *e, const char *seg, seg_tally *t) {
  pz_list *m = NULL;
  int rc = pz_segment_members(&m, e, seg);
  size_t n = pz_list_count(m);
  sb_printf(b, "members %s: rc %d n %zu:", seg, rc, n);
  const char **ids = calloc(n ? n : 1, sizeof *ids);
  if (!ids) abort();
  for (size_t i = 0; i < n; i++) ids[i] = pz_list_text(m, i);
  qsort(ids, n, sizeof *ids, cmp_str);
  for (size_t i = 0; i < n; i++) {
    sb_printf(b, " %s", ids[i]);
    int in = -1;
    if (pz_segment_test(&in, e, seg, ids[i]) != PZ_OK || in != 1)
      SEG_ERR(t, "%s is a member of %s but pz_segment_test says %d", ids[i],
              seg, in);
  }
  sb_printf(b, "\n");
  free(ids);
  pz_list_free(m);
}

/* Everything the engine answers about segments, experiments and clusters,
 * with the consistency of the answers checked on the way. */
static char *seg_fingerprint(pz_engine *e, seg_tally *t) {
  sbuf b = {0};
  pz_list *l = NULL;
  int rc = pz_segment_counts(&l, e);
  if (rc != PZ_OK) SEG_ERR(t, "pz_segment_counts: %d", rc);
  for (size_t s = 0; s < pz_list_count(l); s++) {
    sb_printf(&b, "count %s %g\n", pz_list_text(l, s), pz_list_value(l, s));
    pz_list *m = NULL;
    pz_segment_members(&m, e, pz_list_text(l, s));
    if (pz_list_count(m) != (size_t)pz_list_value(l, s))
      SEG_ERR(t, "segment %s: count %g, %zu members", pz_list_text(l, s),
              pz_list_value(l, s), pz_list_count(m));
    pz_list_free(m);
    fp_members(&b, e, pz_list_text(l, s), t);
  }
  pz_list_free(l);
  size_t k = 0, total = 0;
  rc = pz_cluster_count(&k, e);
  sb_printf(&b, "clusters: rc %d k %zu\n", rc, k);
  for (int c = 0; c < (int)k; c++) {
    size_t n = 0, len = 0;
    char name[PZ_ID_MAX + 1] = "";
    rc = pz_cluster_size(&n, e, c);
    total += n;
    int rc2 = pz_cluster_name(name, sizeof name, &len, e, c);
    sb_printf(&b, "cluster %d: rc %d size %zu, rc %d name \"%s\"\n", c, rc, n,
              rc2, name);
    pz_list *d = NULL;
    rc = pz_cluster_describe(&d, e, c, 5);
    if (rc != PZ_OK) SEG_ERR(t, "pz_cluster_describe(%d): %d", c, rc);
    for (size_t i = 0; i < pz_list_count(d); i++)
      sb_printf(&b, "  %s %.9g\n", pz_list_text(d, i), pz_list_value(d, i));
    pz_list_free(d);
  }
  sb_printf(&b, "cluster members: %zu\n", total);
  for (int u = -2; u < SEG_USERS; u++) {
    char user[16];
    if (u == -2) snprintf(user, sizeof user, "nc");
    else if (u == -1) snprintf(user, sizeof user, "nobody");
    else snprintf(user, sizeof user, "u%02d", u);
    l = NULL;
    rc = pz_segment_of(&l, e, user);
    sb_printf(&b, "%s: rc %d in", user, rc);
    for (size_t i = 0; i < pz_list_count(l); i++)
      sb_printf(&b, " %s", pz_list_text(l, i));
    pz_list_free(l);
    int c = -7;
    rc = pz_cluster_of(&c, e, user);
    sb_printf(&b, "; cluster rc %d %d", rc, c);
    static const char *const exps[] = {"color", "adults_only"};
    for (size_t x = 0; x < 2; x++) {
      char v[PZ_ID_MAX + 1] = "";
      size_t len = 0;
      rc = pz_experiment_assign(v, sizeof v, &len, e, exps[x], user);
      sb_printf(&b, "; %s rc %d \"%s\"", exps[x], rc, v);
    }
    size_t n = 0;
    rc = pz_profile_event_count(&n, e, user);
    sb_printf(&b, "; events rc %d %zu\n", rc, n);
  }
  size_t n = 0;
  pz_profile_count(&n, e);
  sb_printf(&b, "profiles %zu\n", n);
  pz_recs *r = NULL;
  rc = pz_recommend(&r, e, "u21", 5, NULL);
  if (rc != PZ_OK) SEG_ERR(t, "pz_recommend after the workload: %d", rc);
  pz_recs_free(r);
  return b.p;
}

/* The workload. With ta->fail_at set, allocations from that point fail
 * (after the set-up, which runs with the allocator working); with `skip`,
 * the mutating steps in it are not run at all (the reference runs).
 * Returns the fingerprint, or NULL if the engine did not open. */
static char *seg_workload(test_alloc *ta, seg_tally *t, unsigned skip) {
  test_clock tc = {T0};
  pz_engine *e = NULL;
  int rc = test_open(&e, ta, &tc, seg_config);
  if (rc != PZ_OK) {
    if (rc != PZ_ENOMEM)
      SEG_ERR(t, "open returned %d (%s)", rc, pz_errmsg());
    if (e != NULL) SEG_ERR(t, "open failed but set *out");
    t->failures++;
    return NULL;
  }
  t->opened = true;
  /* set-up with the allocator working; the failure point moves past it */
  long fail_at = ta->fail_at, before = ta->count;
  ta->fail_at = 0;
  seg_populate(e);
  if (fail_at > before) fail_at += ta->count - before;
  ta->fail_at = fail_at;

#define MUT(bit, call) (void)(!(skip & (1u << (bit))) && SSTEP(call, bit))
  char buf[64];
  size_t len;
  int in;
  pz_list *l = NULL;
  MUT(SEG_LOAD, pz_segment_load(e, seg_doc, sizeof seg_doc - 1));
  SSTEP(pz_segment_test(&in, e, "adults", "u21"), -1);
  SSTEP(pz_segment_of(&l, e, "u21"), -1);
  pz_list_free(l);
  l = NULL;
  SSTEP(pz_segment_members(&l, e, "adults"), -1);
  pz_list_free(l);
  l = NULL;
  SSTEP(pz_segment_counts(&l, e), -1);
  pz_list_free(l);
  l = NULL;
  MUT(SEG_REFRESH, pz_segment_refresh(e));
  SSTEP(pz_experiment_assign(buf, sizeof buf, &len, e, "color", "u21"), -1);
  /* adults_only is not in the config's rules: PZ_ENOTFOUND is right then */
  rc = pz_experiment_assign(buf, sizeof buf, &len, e, "adults_only", "u21");
  if (rc != PZ_ENOTFOUND || !((t->failed | skip) & (1u << SEG_LOAD)))
    seg_step(t, ta, rc, "pz_experiment_assign(adults_only)", -1);
  pz_cluster_options o;
  pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
  o.k = 3;
  MUT(SEG_TRAIN, pz_cluster_train(e, &o));
  size_t k = 0;
  pz_cluster_count(&k, e);
  if (k) {
    SSTEP(pz_cluster_describe(&l, e, 0, 5), -1);
    pz_list_free(l);
    l = NULL;
    int c;
    SSTEP(pz_cluster_of(&c, e, "u00"), -1);
    MUT(SEG_NAME, pz_cluster_set_name(e, 0, "jazzy"));
    MUT(SEG_NAME2, pz_cluster_set_name(e, 1, "rocky"));
    SSTEP(pz_cluster_name(buf, sizeof buf, &len, e, 0), -1);
  }
  bool trained = k > 0;
  bool erased = !(skip & (1u << SEG_ERASE)) &&
                SSTEP(pz_profile_erase(e, "u03"), SEG_ERASE);
  bool merged = !(skip & (1u << SEG_MERGE)) &&
                SSTEP(pz_profile_merge(e, "u04", "u07"), SEG_MERGE);
  MUT(SEG_TRACK, pz_track(e, "u10", "item1", "purchase", 1, 0));
  if (k) MUT(SEG_NAME_MOVE, pz_cluster_set_name(e, 2, "jazzy"));
  pz_recs *r = NULL;
  SSTEP(pz_recommend(&r, e, "u21", 5, NULL), -1);
  pz_recs_free(r);
  SSTEP(pz_segment_of(&l, e, "u07"), -1);
  pz_list_free(l);
  l = NULL;
  MUT(SEG_REFRESH2, pz_segment_refresh(e));
#undef MUT

  /* the allocator works again */
  long saved = ta->fail_at;
  ta->fail_at = 0;
  char *fp = seg_fingerprint(e, t);
  /* the model counts every trained user not erased or merged away since */
  k = 0;
  pz_cluster_count(&k, e);
  size_t members = 0;
  for (int c = 0; c < (int)k; c++) {
    size_t n = 0;
    if (pz_cluster_size(&n, e, c) != PZ_OK)
      SEG_ERR(t, "cluster %d: no size", c);
    members += n;
  }
  size_t want = trained ? SEG_USERS - (size_t)erased - (size_t)merged : 0;
  if (k != (trained ? 3u : 0u) || members != want)
    SEG_ERR(t, "%zu clusters with %zu members; want %d with %zu", k, members,
            trained ? 3 : 0, want);
  ta->fail_at = saved;
  pz_engine_free(e);
  return fp;
}

/* The fingerprint of a run without failures that skipped `skip`. */
typedef struct seg_ref {
  unsigned skip;
  char *fp;
} seg_ref;

static const char *seg_reference(seg_ref *refs, int *n_refs, unsigned skip) {
  for (int i = 0; i < *n_refs; i++)
    if (refs[i].skip == skip) return refs[i].fp;
  test_alloc ta;
  test_alloc_reset(&ta);
  seg_tally t;
  memset(&t, 0, sizeof t);
  char *fp = seg_workload(&ta, &t, skip);
  assert_non_null(fp);
  if (t.errors || t.failures)
    fail_msg("the reference run (skipping %#x) went wrong", skip);
  assert_true(*n_refs < (1 << SEG_N_STEPS));
  refs[*n_refs].skip = skip;
  refs[*n_refs].fp = fp;
  return refs[(*n_refs)++].fp;
}

/* What a child reports for each allocation point, followed by fp_len
 * bytes of fingerprint. */
typedef struct seg_report {
  long n, count, live_blocks, bad_osize;
  int opened, failures, errors;
  unsigned failed;
  size_t fp_len;
} seg_report;

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w <= 0) _exit(90);
    c += w;
    n -= (size_t)w;
  }
}

static bool read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n) {
    ssize_t r = read(fd, c, n);
    if (r <= 0) return false;
    c += r;
    n -= (size_t)r;
  }
  return true;
}

/* Runs the points from `from` on, one report each, until the workload
 * no longer reaches the failing allocation. A crash ends the child: the
 * parent blames the point after the last report and starts a new child
 * after it. */
static void seg_child(int fd, long from, int forever) {
  /* cmocka catches these to fail a test; here they must end the child */
  signal(SIGSEGV, SIG_DFL);
  signal(SIGBUS, SIG_DFL);
  signal(SIGILL, SIG_DFL);
  signal(SIGFPE, SIG_DFL);
  signal(SIGABRT, SIG_DFL);
  for (long n = from;; n++) {
    test_alloc ta;
    test_alloc_reset(&ta);
    ta.fail_at = n;
    ta.fail_forever = forever;
    seg_tally t;
    memset(&t, 0, sizeof t);
    char *fp = seg_workload(&ta, &t, 0);
    seg_report rep = {n,         ta.count,   ta.live_blocks, ta.bad_osize,
                      t.opened,  t.failures, t.errors,       t.failed,
                      fp ? strlen(fp) : 0};
    write_all(fd, &rep, sizeof rep);
    if (fp) write_all(fd, fp, rep.fp_len);
    free(fp);
    if (ta.count < n) _exit(0);
  }
}

/* Problems by kind: the first few of each are described, all counted. */
enum { P_CRASH, P_ERROR, P_LEAK, P_DIFFERS, P_NO_FP, P_UNREACHED, P_KINDS };
static const char *const p_names[P_KINDS] = {
    "crashes", "calls that went wrong", "leaks or wrong osizes",
    "answers unlike the reference", "missing fingerprints",
    "failures without a failing allocation"};
#define SEG_SHOW_PER_KIND 3

typedef struct seg_problems {
  int count[P_KINDS];
  long first[P_KINDS];
} seg_problems;

/* Counts a problem; returns whether to describe it. */
static bool seg_problem(seg_problems *pr, int kind, long n) {
  if (!pr->count[kind]) pr->first[kind] = n;
  return pr->count[kind]++ < SEG_SHOW_PER_KIND;
}

/* Checks one report against the reference run. */
static void seg_judge(const seg_report *rep, const char *fp, seg_ref *refs,
                      int *n_refs, seg_problems *pr, const char *how) {
  long n = rep->n;
  if (rep->errors && seg_problem(pr, P_ERROR, n))
    print_error("failing allocation %ld%s: %d error(s) above\n", n, how,
                rep->errors);
  if ((rep->live_blocks != 0 || rep->bad_osize != 0) &&
      seg_problem(pr, P_LEAK, n))
    print_error("failing allocation %ld%s: %ld blocks leaked, %ld frees or "
                "resizes with a wrong osize\n",
                n, how, rep->live_blocks, rep->bad_osize);
  if (rep->opened && fp) {
    const char *want = seg_reference(refs, n_refs, rep->failed);
    if (strcmp(fp, want) != 0 && seg_problem(pr, P_DIFFERS, n)) {
      size_t i = 0;
      while (fp[i] && fp[i] == want[i]) i++;
      size_t from = i > 100 ? i - 100 : 0;
      print_error("failing allocation %ld%s (steps failed: %#x): the engine "
                  "answers differently from a run without those steps\n"
                  "  want: ...%.300s\n  got:  ...%.300s\n",
                  n, how, rep->failed, want + from, fp + from);
    }
  } else if (rep->opened && seg_problem(pr, P_NO_FP, n)) {
    print_error("failing allocation %ld%s: no fingerprint\n", n, how);
  }
  if (rep->count < n && rep->failures && seg_problem(pr, P_UNREACHED, n))
    print_error("%d failure(s) though allocation %ld was never reached\n",
                rep->failures, n);
}

static void seg_run_all(int forever) {
  seg_ref refs[1 << SEG_N_STEPS];
  int n_refs = 0, children = 0;
  seg_problems pr;
  memset(&pr, 0, sizeof pr);
  const char *how = forever ? " onwards" : "";
  long next = 1, total = 0;
  bool done = false;
  while (!done && next < 1000000) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      seg_child(fds[1], next, forever);
    }
    children++;
    close(fds[1]);
    seg_report rep;
    while (!done && read_all(fds[0], &rep, sizeof rep)) {
      char *fp = NULL;
      if (rep.fp_len) {
        fp = malloc(rep.fp_len + 1);
        assert_non_null(fp);
        if (!read_all(fds[0], fp, rep.fp_len)) {
          free(fp);
          break;
        }
        fp[rep.fp_len] = '\0';
      }
      seg_judge(&rep, fp, refs, &n_refs, &pr, how);
      free(fp);
      next = rep.n + 1;
      if (rep.count < rep.n) { /* the whole workload ran without reaching n */
        done = true;
        total = rep.n - 1;
      }
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!done) { /* the child died at `next` */
      if (seg_problem(&pr, P_CRASH, next))
        print_error("failing allocation %ld%s: the workload %s %d\n", next,
                    how,
                    WIFSIGNALED(status) ? "crashed with signal" : "exited with",
                    WIFSIGNALED(status) ? WTERMSIG(status)
                                        : WEXITSTATUS(status));
      next++;
    }
  }
  for (int i = 0; i < n_refs; i++) free(refs[i].fp);
  print_message("      %ld allocation points checked (%d reference runs, %d "
                "child processes)\n",
                total, n_refs, children);
  int bad = 0;
  for (int k = 0; k < P_KINDS; k++) {
    if (!pr.count[k]) continue;
    bad += pr.count[k];
    print_error("  %s: %d, the first at allocation %ld%s\n", p_names[k],
                pr.count[k], pr.first[k], how);
  }
  if (bad) fail_msg("%d problem(s) at failing allocation points", bad);
  assert_true(total > 500); /* the workload does allocate a lot */
}

static void test_oom_segments_fail_once_at_every_point(void **state) {
  (void)state;
  seg_run_all(0);
}

static void test_oom_segments_fail_forever_from_every_point(void **state) {
  (void)state;
  seg_run_all(1);
}

/* ---- collaborative filtering ----------------------------------------------
 *
 * The engine is populated and a kNN model trained with the allocator
 * working; then, with the n-th allocation failing, models of every kind
 * are trained, recommendations and similar items asked for, a ratings
 * file imported and a trained user erased. Each call must succeed or fail
 * with PZ_ENOMEM; a training that fails must leave the serving model
 * exactly as it was (same stats, same answers); nothing may leak; and
 * once the allocator works again the engine must train and answer. */

static const char cf_oom_config[] =
    "events: {view: 1, buy: 3}\n"
    "ranking: {max_k: 20}\n"
    "cf: {algorithm: both, factors: 4, iterations: 3, neighbours: 5, "
    "threads: 2}\n";

static char cf_oom_file[64];

typedef struct cf_tally {
  int failures; /* calls that failed with PZ_ENOMEM */
  int errors;   /* anything else that went wrong (printed) */
} cf_tally;

#define CF_ERR(t, ...)                                                       \
  do {                                                                       \
    print_error(__VA_ARGS__);                                                \
    print_error("\n");                                                       \
    (t)->errors++;                                                           \
  } while (0)

static bool cf_step(cf_tally *t, const test_alloc *ta, int rc,
                    const char *what) {
  if (rc == PZ_OK) return true;
  if (rc != PZ_ENOMEM)
    CF_ERR(t, "%s returned %d (%s) with allocation %ld failing%s", what, rc,
           pz_errmsg(), ta->fail_at, ta->fail_forever ? " onwards" : "");
  t->failures++;
  return false;
}
#define CSTEP(call) cf_step(t, ta, (call), #call)

static void cf_populate(pz_engine *e) {
  char id[16], user[16];
  for (int i = 0; i < 10; i++) {
    snprintf(id, sizeof id, "i%d", i);
    const char *f[] = {i % 2 ? "genre=jazz" : "genre=rock", "tag=vinyl"};
    assert_int_equal(pz_item_put(e, id, f, NULL, 2), PZ_OK);
  }
  for (int u = 0; u < 12; u++) {
    snprintf(user, sizeof user, "u%d", u);
    for (int j = 0; j < 4; j++) {
      snprintf(id, sizeof id, "i%d", (u + 3 * j) % 10);
      assert_int_equal(pz_track(e, user, id, j ? "view" : "buy", 1, T0 - j),
                       PZ_OK);
    }
  }
}

/* The serving model and what it answers, as text (allocator working). */
static char *cf_fingerprint(pz_engine *e, cf_tally *t) {
  sbuf b = {0};
  pz_cf_stats s;
  memset(&s, 0, sizeof s);
  s.version = PZ_CF_STATS_VERSION;
  int rc = pz_cf_stats_get(&s, e);
  sb_printf(&b, "stats rc %d alg %d users %u items %u nnz %llu f %u k %u "
                "it %u erased %u at %lld\n",
            rc, s.algorithm, s.users, s.items,
            (unsigned long long)s.interactions, s.factors, s.neighbours,
            s.iterations, s.erased_since, (long long)s.trained_at_ms);
  static const char *const users[] = {"u1", "u7"};
  for (int u = 0; u < 2; u++) {
    pz_recs *r = NULL;
    rc = pz_recommend(&r, e, users[u], 6, NULL);
    if (rc) CF_ERR(t, "fingerprint: pz_recommend: %d", rc);
    for (size_t i = 0; i < pz_recs_count(r); i++) {
      sb_printf(&b, "%s %a %a %d", pz_recs_item(r, i), pz_recs_score(r, i),
                pz_recs_contribution(r, i, PZ_SIGNAL_CF),
                pz_recs_reason_code(r, i));
      for (size_t j = 0; pz_recs_because(r, i, j); j++)
        sb_printf(&b, " %s", pz_recs_because(r, i, j));
      sb_printf(&b, "\n");
    }
    pz_recs_free(r);
  }
  pz_recs *r = NULL;
  rc = pz_similar_items(&r, e, "i1", 5);
  sb_printf(&b, "similar rc %d:", rc);
  for (size_t i = 0; i < pz_recs_count(r); i++)
    sb_printf(&b, " %s %a", pz_recs_item(r, i), pz_recs_score(r, i));
  sb_printf(&b, "\n");
  pz_recs_free(r);
  return b.p;
}

/* A training that may fail: when it does, the model is the one before. */
static void cf_train_step(pz_engine *e, test_alloc *ta, cf_tally *t,
                          int algorithm, const char *what) {
  long saved = ta->fail_at;
  ta->fail_at = 0;
  char *before = cf_fingerprint(e, t);
  ta->fail_at = saved;
  pz_cf_options o;
  pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION);
  o.algorithm = algorithm;
  if (!cf_step(t, ta, pz_cf_train(e, &o), what)) {
    saved = ta->fail_at;
    ta->fail_at = 0;
    char *after = cf_fingerprint(e, t);
    ta->fail_at = saved;
    if (strcmp(before, after) != 0)
      CF_ERR(t, "failing allocation %ld%s: %s failed and the serving model "
                "changed:\n  before: %s\n  after:  %s",
             ta->fail_at, ta->fail_forever ? " onwards" : "", what, before,
             after);
    free(after);
  }
  free(before);
}

static void cf_workload(test_alloc *ta, cf_tally *t) {
  test_clock tc = {T0};
  pz_engine *e = NULL;
  int rc = test_open(&e, ta, &tc, cf_oom_config);
  if (rc != PZ_OK) {
    if (rc != PZ_ENOMEM) CF_ERR(t, "open returned %d (%s)", rc, pz_errmsg());
    if (e) CF_ERR(t, "open failed but set *out");
    t->failures++;
    return;
  }
  /* set-up with the allocator working; the failure point moves past it */
  long fail_at = ta->fail_at, before = ta->count;
  ta->fail_at = 0;
  cf_populate(e);
  pz_cf_options o;
  pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION);
  o.algorithm = PZ_CF_KNN;
  assert_int_equal(pz_cf_train(e, &o), PZ_OK);
  if (fail_at > before) fail_at += ta->count - before;
  ta->fail_at = fail_at;

  pz_recs *r = NULL;
  CSTEP(pz_recommend(&r, e, "u1", 5, NULL));
  pz_recs_free(r);
  r = NULL;
  cf_train_step(e, ta, t, PZ_CF_ALS, "pz_cf_train(als)");
  CSTEP(pz_recommend(&r, e, "u2", 5, NULL));
  pz_recs_free(r);
  r = NULL;
  CSTEP(pz_similar_items(&r, e, "i3", 4));
  pz_recs_free(r);
  r = NULL;
  cf_train_step(e, ta, t, PZ_CF_BOTH, "pz_cf_train(both)");
  /* a brand-new user folded in, and a trained one with a new event */
  CSTEP(pz_track(e, "new", "i2", "view", 2, 0));
  CSTEP(pz_recommend(&r, e, "new", 5, NULL));
  pz_recs_free(r);
  r = NULL;
  CSTEP(pz_track(e, "u3", "i9", "buy", 1, 0));
  CSTEP(pz_recommend(&r, e, "u3", 5, NULL));
  pz_recs_free(r);
  r = NULL;
  /* similar items by neighbours, and by features for a late item */
  CSTEP(pz_similar_items(&r, e, "i1", 5));
  pz_recs_free(r);
  r = NULL;
  const char *f[] = {"genre=jazz", "tag=vinyl"};
  if (CSTEP(pz_item_put(e, "late", f, NULL, 2))) {
    CSTEP(pz_similar_items(&r, e, "late", 5));
    pz_recs_free(r);
    r = NULL;
  }
  uint64_t rows = 0;
  CSTEP(pz_cf_import(e, cf_oom_file, NULL, &rows));
  cf_train_step(e, ta, t, PZ_CF_KNN, "pz_cf_train(knn)");
  CSTEP(pz_profile_erase(e, "u4"));
  cf_train_step(e, ta, t, PZ_CF_ALS, "pz_cf_train(als) after erase");
  double loss[8];
  size_t n;
  rc = pz_cf_loss(loss, 8, &n, e);
  if (rc != PZ_OK && rc != PZ_ENOTFOUND)
    CF_ERR(t, "pz_cf_loss: %d", rc);
  CSTEP(pz_recommend(&r, e, "u5", 5, NULL));
  pz_recs_free(r);
  r = NULL;

  /* the allocator works again: the engine trains and answers */
  long saved = ta->fail_at;
  ta->fail_at = 0;
  char *fp = cf_fingerprint(e, t);
  free(fp);
  o.algorithm = PZ_CF_BOTH;
  rc = pz_cf_train(e, &o);
  if (rc) CF_ERR(t, "training after the workload: %d", rc);
  rc = pz_recommend(&r, e, "u1", 5, NULL);
  if (rc || pz_recs_count(r) != 5)
    CF_ERR(t, "recommend after the workload: %d, %zu items", rc,
           pz_recs_count(r));
  pz_recs_free(r);
  ta->fail_at = saved;
  pz_engine_free(e);
}

/* Run a workload once per allocation point, failing that allocation (and,
 * forever, every later one), until a run no longer reaches its point.
 * Allocations a workload makes between quiet_begin and quiet_end do not
 * count as points. */
typedef void (*points_fn)(test_alloc *ta, cf_tally *t);
static void points_run(points_fn work, int forever) {
  long total = 0;
  int problems = 0;
  for (long n = 1;; n++) {
    test_alloc ta;
    test_alloc_reset(&ta);
    ta.fail_at = n;
    ta.fail_forever = forever;
    cf_tally t;
    memset(&t, 0, sizeof t);
    work(&ta, &t);
    if (ta.live_blocks != 0 || ta.bad_osize != 0) {
      print_error("failing allocation %ld%s: %ld blocks leaked, %ld bad "
                  "sizes\n",
                  n, forever ? " onwards" : "", ta.live_blocks, ta.bad_osize);
      problems++;
    }
    problems += t.errors;
    if (ta.fail_at == 0 || ta.fail_at > ta.count) {
      /* the whole workload ran without reaching the failing point */
      if (t.failures) {
        print_error("%d failure(s) though allocation %ld was never reached\n",
                    t.failures, n);
        problems++;
      }
      total = n - 1;
      break;
    }
    if (problems > 20) break;
  }
  if (problems) fail_msg("%d problem(s) at failing allocation points", problems);
  assert_true(total > 200); /* the workload does allocate a lot */
  print_message("      %ld allocation points checked\n", total);
}

static void cf_run_all(int forever) {
  strcpy(cf_oom_file, "/tmp/pz_oom_cf_XXXXXX");
  int fd = mkstemp(cf_oom_file);
  assert_true(fd >= 0);
  static const char rows[] = "user\titem\tvalue\n"
                             "u1\ti5\t2\n"
                             "imp\ti1\t1\n"
                             "imp\tnewitem\t1\n";
  assert_int_equal(write(fd, rows, sizeof rows - 1), (ssize_t)(sizeof rows - 1));
  close(fd);
  points_run(cf_workload, forever);
  unlink(cf_oom_file);
}

static void test_oom_cf_fail_once_at_every_point(void **state) {
  (void)state;
  cf_run_all(0);
}

static void test_oom_cf_fail_forever_from_every_point(void **state) {
  (void)state;
  cf_run_all(1);
}


/* ---- overrides ----------------------------------------------------------------
 *
 * Choices, rules and the full pipeline with the n-th allocation failing.
 * A choice setter, an opt-out, a rule load or a merge that fails must
 * leave everything as it was: its fingerprint (exports, choice lists,
 * rules, rankings, taken with the allocator working and without using up
 * allocation numbers) is compared before and after. */

static const char ov_config[] =
    "events: {view: 1, buy: 3}\n"
    "ranking: {max_k: 30}\n"
    "segments:\n"
    "  - {name: minors, rule: {attr: age, lt: 18}}\n"
    "rules:\n"
    "  - {name: no_rock, kind: filter, segment: minors, match: {features: "
    "[genre=rock]}}\n"
    "  - {name: vinyl, kind: boost, factor: 2, match: {features: [tag=vinyl]}}\n"
    "  - {name: hot, kind: promote, slots: 2, start: 1, match: {items: [i7, "
    "i8]}}\n"
    "  - {name: pick, kind: pin, item: i9, position: 0}\n";

static const char ov_rules[] =
    "rules:\n"
    "  - {name: folk_out, kind: filter, match: {features: [genre=folk]}}\n"
    "  - {name: half, kind: promote, fraction: 0.5, match: {features: "
    "[genre=jazz]}}\n"
    "  - {name: low, kind: bury, factor: 0.5, match: {items: [i2]}}\n";

/* Allocations made here neither fail nor use up failure points. */
typedef struct quiet {
  long fail_at, count;
} quiet;
static void quiet_begin(test_alloc *ta, quiet *q) {
  q->fail_at = ta->fail_at;
  q->count = ta->count;
  ta->fail_at = 0;
}
static void quiet_end(test_alloc *ta, const quiet *q) {
  ta->fail_at = q->fail_at;
  if (ta->fail_at > q->count) ta->fail_at += ta->count - q->count;
}

static void ov_recs(sbuf *b, pz_engine *e, const char *user,
                    const pz_recommend_options *o, cf_tally *t) {
  pz_recs *r = NULL;
  int rc = pz_recommend(&r, e, user, 8, o);
  if (rc) CF_ERR(t, "fingerprint: pz_recommend(%s): %d", user, rc);
  sb_printf(b, "recs %s:", user);
  for (size_t i = 0; i < pz_recs_count(r); i++)
    sb_printf(b, " %s %a %d %x %s|%s", pz_recs_item(r, i), pz_recs_score(r, i),
              pz_recs_reason_code(r, i), pz_recs_flags(r, i),
              pz_recs_reason(r, i), pz_recs_rule(r, i) ? pz_recs_rule(r, i) : "");
  sb_printf(b, "\n");
  pz_recs_free(r);
}

static char *ov_fingerprint(pz_engine *e, test_alloc *ta, cf_tally *t) {
  quiet q;
  quiet_begin(ta, &q);
  sbuf b = {0};
  static const char *const users[] = {"ada", "anon", "acct", "kid"};
  for (size_t u = 0; u < 4; u++) {
    char buf[16384];
    size_t len = 0;
    int rc = pz_profile_export(buf, sizeof buf, &len, e, users[u]);
    sb_printf(&b, "export %s rc %d: %s\n", users[u], rc, rc ? "" : buf);
    pz_choices *c = NULL;
    rc = pz_override_list(&c, e, users[u], 0);
    sb_printf(&b, "list %s rc %d:", users[u], rc);
    for (size_t i = 0; i < pz_choices_count(c); i++)
      sb_printf(&b, " %d %s %a %d %lld", pz_choices_kind(c, i),
                pz_choices_target(c, i), pz_choices_factor(c, i),
                (int)pz_choices_position(c, i),
                (long long)pz_choices_expires(c, i));
    sb_printf(&b, "\n");
    pz_choices_free(c);
    ov_recs(&b, e, users[u], NULL, t);
  }
  pz_list *l = NULL;
  int rc = pz_override_rules(&l, e);
  sb_printf(&b, "rules rc %d:", rc);
  for (size_t i = 0; i < pz_list_count(l); i++)
    sb_printf(&b, " %s", pz_list_text(l, i));
  sb_printf(&b, "\n");
  pz_list_free(l);
  quiet_end(ta, &q);
  return b.p;
}

/* A write that must change nothing when it fails. */
static bool ov_write(pz_engine *e, test_alloc *ta, cf_tally *t, int rc_call,
                     const char *before, const char *what) {
  if (cf_step(t, ta, rc_call, what)) return true;
  char *after = ov_fingerprint(e, ta, t);
  if (strcmp(before, after) != 0)
    CF_ERR(t, "failing allocation %ld%s: %s failed and changed the engine:\n"
              "  before: %s\n  after:  %s",
           ta->fail_at, ta->fail_forever ? " onwards" : "", what, before,
           after);
  free(after);
  return false;
}

/* ok (a bool lvalue) tells whether the write happened. */
#define OV_WRITE_OK(ok, call)                                                \
  do {                                                                       \
    char *fp_ = ov_fingerprint(e, ta, t);                                    \
    ok = ov_write(e, ta, t, (call), fp_, #call);                             \
    free(fp_);                                                               \
  } while (0)
#define OV_WRITE(call)                                                       \
  do {                                                                       \
    bool ok_;                                                                \
    OV_WRITE_OK(ok_, call);                                                  \
    (void)ok_;                                                               \
  } while (0)

static void ov_workload(test_alloc *ta, cf_tally *t) {
  test_clock tc = {T0};
  pz_engine *e = NULL;
  int rc = test_open(&e, ta, &tc, ov_config);
  if (rc != PZ_OK) {
    if (rc != PZ_ENOMEM) CF_ERR(t, "open returned %d (%s)", rc, pz_errmsg());
    if (e) CF_ERR(t, "open failed but set *out");
    t->failures++;
    return;
  }
  quiet q;
  quiet_begin(ta, &q);
  cf_populate(e);
  assert_int_equal(pz_profile_set_number(e, "kid", "age", 12), PZ_OK);
  assert_int_equal(pz_track(e, "ada", "i1", "buy", 1, T0), PZ_OK);
  assert_int_equal(pz_track(e, "anon", "i4", "view", 1, T0), PZ_OK);
  quiet_end(ta, &q);

  OV_WRITE(pz_override_block_item(e, "ada", "i3", 0));
  OV_WRITE(pz_override_block_feature(e, "ada", "genre=folk", T0 + 5000));
  OV_WRITE(pz_override_require(e, "ada", "tag=vinyl", 0));
  bool pinned, merged;
  OV_WRITE_OK(pinned, pz_override_pin(e, "ada", "i6", 2, 0));
  OV_WRITE(pz_override_pin(e, "ada", "i5", -1, 0));
  OV_WRITE(pz_override_more(e, "ada", "genre=jazz", 0));
  OV_WRITE(pz_override_less(e, "ada", "genre=rock", 0));
  OV_WRITE(pz_override_adjust(e, "kid", "genre=jazz", 3, 0));
  OV_WRITE(pz_override_pin(e, "new", "i2", 0, 0)); /* creates a profile */
  tc.now += 10;
  OV_WRITE(pz_override_block_item(e, "anon", "i6", 0));
  /* the account chose too: the merge has ties, a shared target, sorting */
  OV_WRITE(pz_override_pin(e, "acct", "i6", 1, 0));
  OV_WRITE(pz_override_require(e, "acct", "genre=jazz", 0));
  OV_WRITE(pz_override_opt_out(e, "anon", 1));
  OV_WRITE(pz_override_opt_out(e, "anon", 0));
  /* the event may stay when the block fails (documented) */
  CSTEP(pz_override_not_interested(e, "ada", "i0", 0));
  pz_recs *r = NULL;
  CSTEP(pz_recommend(&r, e, "ada", 6, NULL));
  pz_recs_free(r);
  r = NULL;
  pz_recommend_options o;
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  const char *ex[] = {"i2", "ghost"}, *ctx[] = {"genre=rock", "ctx:x=y"};
  o.exclude = ex;
  o.n_exclude = 2;
  o.context = ctx;
  o.n_context = 2;
  o.diversity = 0.5;
  o.offset = 2;
  CSTEP(pz_recommend(&r, e, "kid", 5, &o));
  pz_recs_free(r);
  r = NULL;
  const char *only[] = {"i1", "i7", "i9"};
  o.restrict_to = only;
  o.n_restrict = 3;
  o.terse = 1;
  CSTEP(pz_recommend(&r, e, "acct", 5, &o));
  pz_recs_free(r);
  pz_choices *c = NULL;
  CSTEP(pz_override_list(&c, e, "ada", 0));
  pz_choices_free(c);
  pz_list *l = NULL;
  CSTEP(pz_override_rules(&l, e));
  pz_list_free(l);
  OV_WRITE(pz_override_rules_load(e, ov_rules, sizeof ov_rules - 1));
  r = NULL;
  CSTEP(pz_recommend(&r, e, "ada", 8, NULL));
  pz_recs_free(r);
  OV_WRITE_OK(merged, pz_profile_merge(e, "anon", "acct"));
  if (pinned) OV_WRITE(pz_override_clear(e, "ada", PZ_CHOICE_PIN, "i6"));
  OV_WRITE(pz_override_clear_all(e, "kid"));
  char buf[16384];
  size_t len;
  if (merged) CSTEP(pz_profile_export(buf, sizeof buf, &len, e, "acct"));
  CSTEP(pz_profile_erase(e, "ada"));

  /* the allocator works again: the engine answers */
  quiet_begin(ta, &q);
  char *fp = ov_fingerprint(e, ta, t);
  free(fp);
  r = NULL;
  rc = pz_recommend(&r, e, "acct", 5, NULL);
  if (rc || pz_recs_count(r) == 0)
    CF_ERR(t, "recommend after the workload: %d, %zu items", rc,
           pz_recs_count(r));
  pz_recs_free(r);
  quiet_end(ta, &q);
  pz_engine_free(e);
}

static void ov_run_all(int forever) { points_run(ov_workload, forever); }

static void test_oom_overrides_fail_once_at_every_point(void **state) {
  (void)state;
  ov_run_all(0);
}

static void test_oom_overrides_fail_forever_from_every_point(void **state) {
  (void)state;
  ov_run_all(1);
}

/* ---- persistence ----------------------------------------------------------------
 *
 * Saving, loading and the journal with the n-th allocation failing. A save
 * that fails leaves the old snapshot; a load that fails leaks nothing and
 * hands back no engine; a journaled write that fails changes neither the
 * engine nor the journal; a reopen (replay) that fails leaks nothing. */

static char st_dir[64];

static long st_file_size(const char *p) {
  FILE *fp = fopen(p, "rb");
  if (!fp) return -1;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fclose(fp);
  return n;
}

static int st_open(pz_engine **e, test_alloc *ta, test_clock *tc) {
  char cfg[1024];
  snprintf(cfg, sizeof cfg,
           "%sclusters: {k: 2, min_size: 1}\n"
           "store: {journal: %s/journal, snapshot: %s/snap, fsync: never}\n",
           ov_config, st_dir, st_dir);
  return test_open(e, ta, tc, cfg);
}

static void st_workload(test_alloc *ta, cf_tally *t) {
  char snap[128], jp[128];
  snprintf(snap, sizeof snap, "%s/snap", st_dir);
  snprintf(jp, sizeof jp, "%s/journal", st_dir);
  unlink(snap);
  unlink(jp);
  test_clock tc = {T0};
  pz_engine *e = NULL;
  /* a fresh store: creating the journal may fail */
  int rc = st_open(&e, ta, &tc);
  if (rc != PZ_OK) {
    if (rc != PZ_ENOMEM) CF_ERR(t, "open returned %d (%s)", rc, pz_errmsg());
    if (e) CF_ERR(t, "open failed but set *out");
    t->failures++;
    return;
  }
  quiet q;
  quiet_begin(ta, &q);
  cf_populate(e);
  assert_int_equal(pz_override_pin(e, "u1", "i3", 1, 0), PZ_OK);
  assert_int_equal(pz_override_rules_load(e, ov_rules, sizeof ov_rules - 1),
                   PZ_OK);
  pz_cf_options o;
  pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION);
  o.algorithm = PZ_CF_BOTH;
  o.factors = 8;
  o.iterations = 2;
  assert_int_equal(pz_cf_train(e, &o), PZ_OK);
  assert_int_equal(pz_cluster_train(e, NULL), PZ_OK);
  assert_int_equal(pz_engine_save(e, NULL), PZ_OK);
  quiet_end(ta, &q);
  long snap_size = st_file_size(snap);

  /* journaled writes: a failure changes neither engine nor journal */
  long jsize = st_file_size(jp);
  bool ok;
  OV_WRITE_OK(ok, pz_track(e, "u2", "i7", "buy", 1, T0 + 1));
  if (!ok && st_file_size(jp) != jsize)
    CF_ERR(t, "a failed track left %ld journal bytes (was %ld)",
           st_file_size(jp), jsize);
  OV_WRITE(pz_profile_set_string(e, "u2", "city", "Lyon"));
  OV_WRITE(pz_override_block_item(e, "u3", "i1", 0));
  /* a save: the old snapshot stays when it fails */
  bool saved = CSTEP(pz_engine_save(e, NULL));
  if (!saved && st_file_size(snap) != snap_size)
    CF_ERR(t, "a failed save changed the snapshot (%ld -> %ld bytes)",
           snap_size, st_file_size(snap));
  /* a load of that snapshot */
  pz_engine_options lo;
  pz_engine_options_init(&lo, PZ_ENGINE_OPTIONS_VERSION);
  lo.alloc = test_alloc_fn;
  lo.alloc_ud = ta;
  lo.clock = test_clock_fn;
  lo.clock_ud = &tc;
  pz_engine *l = (pz_engine *)&l;
  rc = pz_engine_load(&l, snap, &lo);
  if (cf_step(t, ta, rc, "pz_engine_load")) {
    /* (when the save failed, the file is the older snapshot) */
    char *a = ov_fingerprint(e, ta, t), *b = ov_fingerprint(l, ta, t);
    if (saved && strcmp(a, b) != 0) CF_ERR(t, "a loaded engine differs");
    free(a);
    free(b);
    pz_engine_free(l);
  } else if (l) {
    CF_ERR(t, "a failed load set *out");
  }
  pz_engine_free(e);
  /* reopen: the snapshot and the journal's replay */
  e = (pz_engine *)&e;
  rc = st_open(&e, ta, &tc);
  if (cf_step(t, ta, rc, "reopen with replay")) {
    size_t n = 0;
    quiet_begin(ta, &q);
    if (pz_profile_event_count(&n, e, "u2") != PZ_OK || n < 4)
      CF_ERR(t, "reopened: u2 has %zu events", n);
    quiet_end(ta, &q);
    pz_engine_free(e);
  } else if (e) {
    CF_ERR(t, "a failed reopen set *out");
  }
}

static void st_run_all(int forever) {
  strcpy(st_dir, "/tmp/pz_oom_st_XXXXXX");
  assert_non_null(mkdtemp(st_dir));
  points_run(st_workload, forever);
  test_tmpdir_remove(st_dir);
}

static void test_oom_store_fail_once_at_every_point(void **state) {
  (void)state;
  st_run_all(0);
}

static void test_oom_store_fail_forever_from_every_point(void **state) {
  (void)state;
  st_run_all(1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oom_fail_once_at_every_point),
      cmocka_unit_test(test_oom_fail_forever_from_every_point),
      cmocka_unit_test(test_oom_segments_fail_once_at_every_point),
      cmocka_unit_test(test_oom_segments_fail_forever_from_every_point),
      cmocka_unit_test(test_oom_cf_fail_once_at_every_point),
      cmocka_unit_test(test_oom_cf_fail_forever_from_every_point),
      cmocka_unit_test(test_oom_overrides_fail_once_at_every_point),
      cmocka_unit_test(test_oom_overrides_fail_forever_from_every_point),
      cmocka_unit_test(test_oom_store_fail_once_at_every_point),
      cmocka_unit_test(test_oom_store_fail_forever_from_every_point),
  };
  return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
