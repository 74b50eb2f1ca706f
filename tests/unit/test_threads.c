/* The thread contract of 0.1: writers for different users, readers and
 * catalogue updates run at once on one engine; nothing is lost and every
 * read sees a whole result. (The full stress test with snapshots and model
 * swaps comes with the persistence issue.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "support.h"

#define WRITERS 4
#define READERS 2
#define USERS_PER_WRITER 25
#define EVENTS_PER_USER 40

static pz_engine *engine;

static void *writer(void *arg) {
  int w = (int)(intptr_t)arg;
  char user[32], item[32];
  for (int k = 0; k < EVENTS_PER_USER; k++)
    for (int u = 0; u < USERS_PER_WRITER; u++) {
      snprintf(user, sizeof user, "w%d-u%d", w, u);
      snprintf(item, sizeof item, "item%d", (u * 7 + k) % 60);
      if (pz_track(engine, user, item, "view", 1, 1700000000000LL + k) != PZ_OK)
        return (void *)1;
      if (k == 5 && pz_profile_set_number(engine, user, "k", k) != PZ_OK)
        return (void *)1;
    }
  return NULL;
}

static void *reader(void *arg) {
  (void)arg;
  char user[32];
  for (int i = 0; i < 300; i++) {
    snprintf(user, sizeof user, "w%d-u%d", i % WRITERS, i % USERS_PER_WRITER);
    pz_recs *r;
    if (pz_recommend(&r, engine, user, 10, NULL) != PZ_OK) return (void *)1;
    for (size_t j = 0; j < pz_recs_count(r); j++)
      if (!pz_recs_item(r, j) || !pz_recs_reason(r, j)) return (void *)1;
    pz_recs_free(r);
    char buf[16384];
    size_t len;
    int rc = pz_profile_export(buf, sizeof buf, &len, engine, user);
    if (rc != PZ_OK && rc != PZ_ENOTFOUND && rc != PZ_EBUFS) return (void *)1;
  }
  return NULL;
}

static void *cataloguer(void *arg) {
  (void)arg;
  char item[32];
  for (int i = 0; i < 200; i++) {
    snprintf(item, sizeof item, "late%d", i);
    const char *f[] = {"genre=jazz", "tag=new"};
    if (pz_item_put(engine, item, f, NULL, 2) != PZ_OK) return (void *)1;
  }
  return NULL;
}

static void test_threads_writers_readers_catalogue(void **state) {
  (void)state;
  assert_int_equal(pz_engine_open(&engine, NULL), PZ_OK);
  test_put_items(engine, 60);
  pthread_t th[WRITERS + READERS + 1];
  for (int i = 0; i < WRITERS; i++)
    assert_int_equal(pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i), 0);
  for (int i = 0; i < READERS; i++)
    assert_int_equal(pthread_create(&th[WRITERS + i], NULL, reader, NULL), 0);
  assert_int_equal(pthread_create(&th[WRITERS + READERS], NULL, cataloguer, NULL), 0);
  for (int i = 0; i < WRITERS + READERS + 1; i++) {
    void *ret;
    assert_int_equal(pthread_join(th[i], &ret), 0);
    assert_null(ret);
  }
  size_t n;
  assert_int_equal(pz_profile_count(&n, engine), PZ_OK);
  assert_int_equal(n, WRITERS * USERS_PER_WRITER);
  assert_int_equal(pz_item_count(&n, engine), PZ_OK);
  assert_int_equal(n, 260);
  uint64_t total = 0;
  char item[32];
  for (int i = 0; i < 60; i++) {
    uint64_t c;
    snprintf(item, sizeof item, "item%d", i);
    assert_int_equal(pz_item_popularity(NULL, &c, engine, item, 0), PZ_OK);
    total += c;
  }
  assert_int_equal(total, WRITERS * USERS_PER_WRITER * EVENTS_PER_USER);
  for (int w = 0; w < WRITERS; w++) {
    char user[32];
    snprintf(user, sizeof user, "w%d-u3", w);
    assert_int_equal(pz_profile_event_count(&n, engine, user), PZ_OK);
    assert_int_equal(n, EVENTS_PER_USER);
  }
  pz_engine_free(engine);
}

/* ---- segments, clusters and segment popularity under concurrency ------ */

#define SEG_WRITERS 3
#define SEG_USERS 30
#define SEG_ROUNDS 40

static const char *const rules_a =
    "segments:\n"
    "  - {name: seen, rule: {count: view, gte: 1}}\n"
    "  - {name: keen, rule: {all: [{segment: seen}, {attr: k, gte: 5}]}}\n"
    "experiments:\n"
    "  - {name: x, seed: 3, segment: seen, variants: [{name: a}, {name: b}]}\n";
static const char *const rules_b =
    "segments:\n"
    "  - {name: seen, rule: {count: view, gte: 2}}\n"
    "  - {name: keen, rule: {attr: k, exists: true}}\n"
    "experiments:\n"
    "  - {name: x, seed: 4, variants: [{name: a}, {name: b}]}\n";

/* Writers track, set attributes, and erase the "gone" half of their
 * users at the end: those must leave no trace in any derived model. */
static void *seg_writer(void *arg) {
  int w = (int)(intptr_t)arg;
  char user[32], item[32];
  for (int k = 0; k < SEG_ROUNDS; k++)
    for (int u = 0; u < SEG_USERS; u++) {
      snprintf(user, sizeof user, "%s%d-%d", u % 2 ? "gone" : "stay", w, u);
      snprintf(item, sizeof item, "item%d", (u * 3 + k) % 60);
      if (pz_track(engine, user, item, "view", 1, 1700000000000LL + k) != PZ_OK)
        return (void *)1;
      if (pz_profile_set_number(engine, user, "k", k) != PZ_OK)
        return (void *)1;
    }
  for (int u = 1; u < SEG_USERS; u += 2) {
    snprintf(user, sizeof user, "gone%d-%d", w, u);
    if (pz_profile_erase(engine, user) != PZ_OK) return (void *)1;
  }
  return NULL;
}

static void *seg_reader(void *arg) {
  (void)arg;
  char user[32];
  for (int i = 0; i < 200; i++) {
    snprintf(user, sizeof user, "stay%d-%d", i % SEG_WRITERS,
             (i * 2) % SEG_USERS);
    int in, rc = pz_segment_test(&in, engine, "keen", user);
    if (rc != PZ_OK && rc != PZ_ENOTFOUND) return (void *)1;
    pz_list *l;
    if (pz_segment_of(&l, engine, user) != PZ_OK) return (void *)1;
    pz_list_free(l);
    if (i % 20 == 0) {
      if (pz_segment_counts(&l, engine) != PZ_OK) return (void *)1;
      pz_list_free(l);
    }
    char v[8];
    size_t n;
    rc = pz_experiment_assign(v, sizeof v, &n, engine, "x", user);
    if (rc != PZ_OK) return (void *)1;
    int c;
    if (pz_cluster_of(&c, engine, user) != PZ_OK) return (void *)1;
    pz_recs *r;
    if (pz_recommend(&r, engine, user, 5, NULL) != PZ_OK) return (void *)1;
    for (size_t j = 0; j < pz_recs_count(r); j++)
      if (!pz_recs_item(r, j) || !pz_recs_reason(r, j)) return (void *)1;
    pz_recs_free(r);
  }
  return NULL;
}

/* Retrains, refreshes and reloads rules while the others run. */
static void *seg_builder(void *arg) {
  (void)arg;
  pz_cluster_options o;
  pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
  o.k = 3;
  for (int i = 0; i < 12; i++) {
    const char *y = i % 2 ? rules_b : rules_a;
    if (pz_segment_load(engine, y, strlen(y)) != PZ_OK) return (void *)1;
    int rc = pz_cluster_train(engine, &o);
    if (rc != PZ_OK && rc != PZ_ERANGE) return (void *)1;
    if (pz_segment_refresh(engine) != PZ_OK) return (void *)1;
    pz_list *l;
    rc = pz_cluster_describe(&l, engine, 0, 3);
    if (rc != PZ_OK && rc != PZ_ENOTFOUND) return (void *)1;
    pz_list_free(l);
  }
  return NULL;
}

static void test_threads_segments_and_models(void **state) {
  (void)state;
  const char *cfg = "events: {view: 1}\nranking: {segment_min_members: 1}\n";
  assert_int_equal(pz_engine_open_string(&engine, cfg, strlen(cfg)), PZ_OK);
  assert_int_equal(pz_segment_load(engine, rules_a, strlen(rules_a)), PZ_OK);
  test_put_items(engine, 60);
  pthread_t th[SEG_WRITERS + 3];
  for (int i = 0; i < SEG_WRITERS; i++)
    assert_int_equal(
        pthread_create(&th[i], NULL, seg_writer, (void *)(intptr_t)i), 0);
  assert_int_equal(pthread_create(&th[SEG_WRITERS], NULL, seg_reader, NULL), 0);
  assert_int_equal(pthread_create(&th[SEG_WRITERS + 1], NULL, seg_reader, NULL),
                   0);
  assert_int_equal(
      pthread_create(&th[SEG_WRITERS + 2], NULL, seg_builder, NULL), 0);
  for (int i = 0; i < SEG_WRITERS + 3; i++) {
    void *ret;
    assert_int_equal(pthread_join(th[i], &ret), 0);
    assert_null(ret);
  }
  /* nobody erased survives in the cluster model or a popularity table,
   * whatever the interleaving of erasures and builds */
  const pz__segstate *s = &engine->seg;
  for (uint32_t i = 0; s->clusters && i < s->clusters->n_m; i++) {
    const pz__cmember *m = s->clusters->m[i];
    if (m) assert_true(strncmp(m->id, "gone", 4) != 0);
  }
  for (int w = 0; w < SEG_WRITERS; w++)
    for (int u = 1; u < SEG_USERS; u += 2) {
      char user[32];
      snprintf(user, sizeof user, "gone%d-%d", w, u);
      pz__uref ur;
      pz__uref_make(&ur, user, strlen(user));
      for (uint32_t t = 0; s->segpop && t < s->segpop->n; t++)
        if (s->segpop->t[t].name)
          assert_false(pz__segpop_counts(&s->segpop->t[t], ur.hash));
    }
  size_t n;
  assert_int_equal(pz_profile_count(&n, engine), PZ_OK);
  assert_int_equal(n, SEG_WRITERS * SEG_USERS / 2);
  pz_engine_free(engine);
}

/* ---- CF: the model swapped under readers and writers --------------------
 *
 * Readers ask for recommendations, similar items and stats in a loop while
 * a trainer retrains again and again (kNN, ALS, both, and off, which drops
 * the model) and a writer tracks events, erases trained users, merges one
 * and withdraws another's consent. Every answer must be whole: at most k
 * entries, each with an item, a reason and finite numbers. At the end, no
 * one erased is still counted as a trained user of the serving model,
 * whatever the interleaving of erasures and trainings. */

#define CF_READERS 3
#define CF_USERS 40
#define CF_ITEMS 40

static atomic_int cf_training_done;

static bool cf_list_ok(const pz_recs *r, size_t k) {
  if (pz_recs_count(r) > k) return false;
  for (size_t i = 0; i < pz_recs_count(r); i++) {
    if (!pz_recs_item(r, i) || !pz_recs_reason(r, i)) return false;
    if (!isfinite(pz_recs_score(r, i))) return false;
    for (int s = PZ_SIGNAL_CONTENT; s <= PZ_SIGNAL_CF; s++)
      if (!isfinite(pz_recs_contribution(r, i, s))) return false;
    for (size_t j = 0; pz_recs_because(r, i, j); j++)
      if (!isfinite(pz_recs_because_share(r, i, j)) || j >= 3) return false;
  }
  return true;
}

static void *cf_reader(void *arg) {
  int id = (int)(intptr_t)arg;
  char user[32], item[32];
  /* while the trainer runs, but bounded: with readers that never pause,
   * a reader-preferring lock can keep the trainer's swap waiting */
  for (int i = 0; i < 3000 && (i < 60 || !atomic_load(&cf_training_done));
       i++) {
    snprintf(user, sizeof user, "%s%d", i % 3 ? "stay" : "gone",
             (i * 7 + id) % CF_USERS);
    pz_recs *r;
    if (pz_recommend(&r, engine, user, 10, NULL) != PZ_OK) return (void *)1;
    bool ok = cf_list_ok(r, 10);
    pz_recs_free(r);
    if (!ok) return (void *)2;
    snprintf(item, sizeof item, "item%d", (i * 3 + id) % CF_ITEMS);
    int rc = pz_similar_items(&r, engine, item, 10);
    if (rc != PZ_OK && rc != PZ_ENOTFOUND) return (void *)3;
    ok = rc != PZ_OK || cf_list_ok(r, 10);
    pz_recs_free(r);
    if (!ok) return (void *)4;
    pz_cf_stats st;
    st.version = PZ_CF_STATS_VERSION;
    rc = pz_cf_stats_get(&st, engine);
    if (rc != PZ_OK && rc != PZ_ENOTFOUND) return (void *)5;
    if (rc == PZ_OK && st.users > 2 * CF_USERS + 40) return (void *)6;
  }
  return NULL;
}

static void *cf_trainer(void *arg) {
  (void)arg;
  static const int algos[] = {PZ_CF_KNN, PZ_CF_ALS, PZ_CF_BOTH, PZ_CF_OFF,
                              PZ_CF_ALS, PZ_CF_KNN, PZ_CF_BOTH, PZ_CF_KNN,
                              PZ_CF_ALS, PZ_CF_BOTH};
  void *ret = NULL;
  for (size_t i = 0; i < 3 * sizeof algos / sizeof *algos; i++) {
    pz_cf_options o;
    pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION);
    o.algorithm = algos[i % (sizeof algos / sizeof *algos)];
    o.weighting = 1 + (int)(i % 3);
    o.threads = 1 + (uint32_t)(i % 2);
    int rc = pz_cf_train(engine, &o);
    if (rc != PZ_OK) {
      ret = (void *)1;
      break;
    }
  }
  atomic_store(&cf_training_done, 1);
  return ret;
}

static void *cf_writer(void *arg) {
  (void)arg;
  char user[32], item[32];
  for (int k = 0; k < 30 || (k < 200 && !atomic_load(&cf_training_done));
       k++) {
    for (int u = 0; u < CF_USERS; u += 3) {
      snprintf(user, sizeof user, "stay%d", u);
      snprintf(item, sizeof item, "item%d", (u * 5 + k) % CF_ITEMS);
      if (pz_track(engine, user, item, "view", 1, 0) != PZ_OK)
        return (void *)1;
    }
    if (k >= 30) continue; /* until the trainer is done */
    snprintf(user, sizeof user, "fresh%d", k);
    snprintf(item, sizeof item, "item%d", k % CF_ITEMS);
    if (pz_track(engine, user, item, "buy", 1, 0) != PZ_OK) return (void *)1;
    /* erase a trained user now and then */
    snprintf(user, sizeof user, "gone%d", k);
    int rc = pz_profile_erase(engine, user);
    if (rc != PZ_OK) return (void *)2;
    if (k == 10 && pz_profile_merge(engine, "gone35", "stay1") != PZ_OK)
      return (void *)3;
    if (k == 20 &&
        pz_profile_set_consent(engine, "gone36", "personalization", 0))
      return (void *)4;
  }
  return NULL;
}

static void test_threads_cf_model_swap(void **state) {
  (void)state;
  const char *cfg = "events: {view: 1, buy: 3}\n"
                    "ranking: {max_k: 50}\n"
                    "cf: {algorithm: both, factors: 8, iterations: 15, "
                    "neighbours: 10}\n";
  assert_int_equal(pz_engine_open_string(&engine, cfg, strlen(cfg)), PZ_OK);
  test_put_items(engine, CF_ITEMS);
  char user[32], item[32];
  for (int u = 0; u < CF_USERS; u++)
    for (int j = 0; j < 5; j++) {
      snprintf(item, sizeof item, "item%d", (u * 3 + j * 7) % CF_ITEMS);
      snprintf(user, sizeof user, "stay%d", u);
      assert_int_equal(pz_track(engine, user, item, "view", 1, 0), PZ_OK);
      snprintf(user, sizeof user, "gone%d", u);
      assert_int_equal(pz_track(engine, user, item, "view", 1, 0), PZ_OK);
    }
  assert_int_equal(pz_cf_train(engine, NULL), PZ_OK);
  atomic_store(&cf_training_done, 0);
  pthread_t th[CF_READERS + 2];
  for (int i = 0; i < CF_READERS; i++)
    assert_int_equal(
        pthread_create(&th[i], NULL, cf_reader, (void *)(intptr_t)i), 0);
  assert_int_equal(pthread_create(&th[CF_READERS], NULL, cf_trainer, NULL), 0);
  assert_int_equal(pthread_create(&th[CF_READERS + 1], NULL, cf_writer, NULL),
                   0);
  for (int i = 0; i < CF_READERS + 2; i++) {
    void *ret;
    assert_int_equal(pthread_join(th[i], &ret), 0);
    if (ret) fail_msg("thread %d failed with %p", i, ret);
  }
  /* nobody erased, merged away or withdrawn is a trained user */
  const pz__cfmodel *m = engine->cf.model;
  assert_non_null(m);
  for (int u = 0; u < CF_USERS; u++) {
    snprintf(user, sizeof user, "gone%d", u);
    if (u >= 30 && u != 35 && u != 36) continue; /* still there */
    pz__uref ur;
    pz__uref_make(&ur, user, strlen(user));
    for (uint32_t w = 0; w < m->n_who; w++)
      if (m->who[w] == ur.hash) fail_msg("%s is still a trained user", user);
  }
  pz_cf_stats st;
  st.version = PZ_CF_STATS_VERSION;
  assert_int_equal(pz_cf_stats_get(&st, engine), PZ_OK);
  assert_int_equal(st.algorithm, PZ_CF_BOTH);
  assert_int_equal(st.users, m->n_who);
  /* a last training sees everyone left: stay0..39 (stay1 with gone35's
   * data), gone30..34 and 37..39, fresh0..29 */
  assert_int_equal(pz_cf_train(engine, NULL), PZ_OK);
  assert_int_equal(pz_cf_stats_get(&st, engine), PZ_OK);
  assert_int_equal(st.users, CF_USERS + 8 + 30);
  assert_int_equal(st.erased_since, 0);
  pz_engine_free(engine);
}


/* ---- overrides (0.4) --------------------------------------------------------
 * Choice writers, rule and segment reloads, merges and readers at once.
 * Keepers blocked jazz and pinned item4 (blues: no rule touches it) at
 * slot 0 before the start: no reader may ever see them otherwise, whatever
 * else is being swapped. */

#define OV_KEEPERS 8
#define OV_ANONS 30
static atomic_int ov_stop;

static const char *const ov_rules_a =
    "rules:\n"
    "  - {name: kids, kind: filter, segment: kids, match: {features: "
    "[genre=rock]}}\n"
    "  - {name: up, kind: boost, factor: 3, match: {features: [genre=pop]}}\n"
    "  - {name: pick, kind: pin, item: item2, position: 0}\n";
static const char *const ov_rules_b =
    "rules:\n"
    "  - {name: hot, kind: promote, slots: 2, match: {features: "
    "[genre=folk]}}\n"
    "  - {name: down, kind: bury, factor: 0.5, match: {items: [item3]}}\n";
static const char *const ov_segs =
    "segments: [{name: kids, rule: {attr: age, lt: 18}}]";

static bool keeper_list_ok(const pz_recs *r) {
  if (pz_recs_count(r) == 0 || strcmp(pz_recs_item(r, 0), "item4") != 0 ||
      pz_recs_reason_code(r, 0) != PZ_REASON_PINNED)
    return false;
  for (size_t i = 0; i < pz_recs_count(r); i++) {
    int n = atoi(pz_recs_item(r, i) + 4);
    if (n % 5 == 0) return false; /* jazz */
  }
  return true;
}

static void *ov_reader(void *arg) {
  int id = (int)(intptr_t)arg;
  char user[32];
  pz_recommend_options o;
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  const char *ex[] = {"item7"};
  for (int i = 0; !atomic_load(&ov_stop) || i < 200; i++) {
    if (i > 5000) break;
    snprintf(user, sizeof user, "keeper%d", (i + id) % OV_KEEPERS);
    o.diversity = i % 3 ? 0 : 0.5;
    o.exclude = i % 2 ? ex : NULL;
    o.n_exclude = i % 2;
    pz_recs *r;
    if (pz_recommend(&r, engine, user, 8, &o) != PZ_OK) return (void *)1;
    bool ok = keeper_list_ok(r);
    pz_recs_free(r);
    if (!ok) return (void *)2;
    snprintf(user, sizeof user, "chg%d-%d", i % 2, i % 10);
    if (pz_recommend(&r, engine, user, 5, NULL) != PZ_OK) return (void *)3;
    pz_recs_free(r);
    pz_choices *c;
    int rc = pz_override_list(&c, engine, user, 0);
    if (rc != PZ_OK && rc != PZ_ENOTFOUND) return (void *)4;
    pz_choices_free(c);
  }
  return NULL;
}

static void *ov_chooser(void *arg) {
  int w = (int)(intptr_t)arg;
  char user[32], item[32];
  for (int k = 0; k < 300; k++) {
    snprintf(user, sizeof user, "chg%d-%d", w, k % 10);
    snprintf(item, sizeof item, "item%d", (k * 7) % 60);
    int rc = PZ_OK;
    switch (k % 7) {
    case 0: rc = pz_override_block_item(engine, user, item, 0); break;
    case 1: rc = pz_override_pin(engine, user, item, k % 4 - 1, 0); break;
    case 2: rc = pz_override_more(engine, user, "genre=folk", 0); break;
    case 3: rc = pz_override_opt_out(engine, user, (k / 7) % 2); break;
    case 4: rc = pz_track(engine, user, item, "view", 1, 0);
      if (rc == PZ_ECONSENT) rc = PZ_OK; /* opted out */
      break;
    case 5: /* opted out or not, the block is stored: never ECONSENT */
      rc = pz_override_not_interested(engine, user, item, 0);
      break;
    default: rc = pz_override_clear_all(engine, user);
      if (rc == PZ_ENOTFOUND) rc = PZ_OK; /* nothing chosen yet */
      break;
    }
    if (rc != PZ_OK) {
      fprintf(stderr, "chooser %d step %d: %s\n", w, k, pz_errmsg());
      return (void *)1;
    }
  }
  return NULL;
}

static void *ov_reloader(void *arg) {
  (void)arg;
  for (int k = 0; k < 60; k++) {
    const char *doc = k % 2 ? ov_rules_b : ov_rules_a;
    if (k % 4 == 0) { /* the segment goes: rule loads naming it fail */
      if (pz_segment_load(engine, "", 0) != PZ_OK) return (void *)1;
      int rc = pz_override_rules_load(engine, ov_rules_a, strlen(ov_rules_a));
      if (rc != PZ_ECONFIG) return (void *)2;
      if (pz_segment_load(engine, ov_segs, strlen(ov_segs)) != PZ_OK)
        return (void *)3;
    }
    if (pz_override_rules_load(engine, doc, strlen(doc)) != PZ_OK)
      return (void *)4;
  }
  return NULL;
}

static void *ov_merger(void *arg) {
  (void)arg;
  char from[32], into[32];
  for (int i = 0; i < OV_ANONS; i++) {
    snprintf(from, sizeof from, "anon%d", i);
    snprintf(into, sizeof into, "acct%d", i);
    if (pz_profile_merge(engine, from, into) != PZ_OK) return (void *)1;
  }
  return NULL;
}

static void test_threads_overrides(void **state) {
  (void)state;
  const char *cfg = "ranking: {max_k: 50}\n"
                    "segments: [{name: kids, rule: {attr: age, lt: 18}}]\n";
  assert_int_equal(pz_engine_open_string(&engine, cfg, strlen(cfg)), PZ_OK);
  test_put_items(engine, 60);
  char user[32], item[32];
  for (int u = 0; u < OV_KEEPERS; u++) {
    snprintf(user, sizeof user, "keeper%d", u);
    assert_int_equal(pz_override_block_feature(engine, user, "genre=jazz", 0),
                     PZ_OK);
    assert_int_equal(pz_override_pin(engine, user, "item4", 0, 0), PZ_OK);
    snprintf(item, sizeof item, "item%d", u * 3);
    assert_int_equal(pz_track(engine, user, item, "view", 1, 0), PZ_OK);
    if (u % 2)
      assert_int_equal(pz_profile_set_number(engine, user, "age", 12), PZ_OK);
  }
  for (int i = 0; i < OV_ANONS; i++) {
    snprintf(user, sizeof user, "anon%d", i);
    snprintf(item, sizeof item, "item%d", i);
    assert_int_equal(pz_override_block_item(engine, user, item, 0), PZ_OK);
  }
  atomic_store(&ov_stop, 0);
  enum { R = 2, C = 2 };
  pthread_t th[R + C + 2];
  for (int i = 0; i < R; i++)
    assert_int_equal(pthread_create(&th[i], NULL, ov_reader, (void *)(intptr_t)i), 0);
  for (int i = 0; i < C; i++)
    assert_int_equal(pthread_create(&th[R + i], NULL, ov_chooser, (void *)(intptr_t)i), 0);
  assert_int_equal(pthread_create(&th[R + C], NULL, ov_reloader, NULL), 0);
  assert_int_equal(pthread_create(&th[R + C + 1], NULL, ov_merger, NULL), 0);
  for (int i = R; i < R + C + 2; i++) {
    void *ret;
    assert_int_equal(pthread_join(th[i], &ret), 0);
    if (ret) fail_msg("thread %d failed with %p", i, ret);
  }
  atomic_store(&ov_stop, 1);
  for (int i = 0; i < R; i++) {
    void *ret;
    assert_int_equal(pthread_join(th[i], &ret), 0);
    if (ret) fail_msg("reader %d failed with %p", i, ret);
  }
  /* every anonymous block landed in its account; no anon is left */
  for (int i = 0; i < OV_ANONS; i++) {
    snprintf(user, sizeof user, "acct%d", i);
    pz_choices *c;
    assert_int_equal(pz_override_list(&c, engine, user, 0), PZ_OK);
    assert_int_equal(pz_choices_count(c), 1);
    snprintf(item, sizeof item, "item%d", i);
    assert_string_equal(pz_choices_target(c, 0), item);
    pz_choices_free(c);
    snprintf(user, sizeof user, "anon%d", i);
    assert_int_equal(pz_override_list(&c, engine, user, 0), PZ_ENOTFOUND);
  }
  pz_engine_free(engine);
}

/* ---- the serving cache (1.1) --------------------------------------------------
 * Requests for a few people race with their events, erasures and merges,
 * with trainings (model swaps and cache warming), rule reloads and item
 * removals. Every list is whole: no repeated item, no more than asked,
 * never an item of the person's history in a list that leaves it out
 * when nothing about the person changed during the request; no crash, no
 * race (ThreadSanitizer), nothing leaked. */
#define SC_PEOPLE 4
#define SC_ITEMS 60
static _Atomic int sc_done;
static _Atomic uint32_t sc_writes[SC_PEOPLE]; /* per person, odd: writing */

static void *sc_reader(void *arg) {
  int id = (int)(intptr_t)arg;
  char user[16];
  for (int i = 0; !atomic_load(&sc_done) || i < 200; i++) {
    int p = (i + id) % SC_PEOPLE;
    snprintf(user, sizeof user, "p%d", p);
    uint32_t before = atomic_load(&sc_writes[p]);
    pz_recommend_options o;
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.terse = i % 2;
    pz_recs *r;
    if (pz_recommend(&r, engine, user, 12, &o) != PZ_OK) return (void *)1;
    size_t n = pz_recs_count(r);
    if (n > 12) return (void *)2;
    for (size_t a = 0; a < n; a++)
      for (size_t b = a + 1; b < n; b++)
        if (strcmp(pz_recs_item(r, a), pz_recs_item(r, b)) == 0)
          return (void *)3;
    /* a quiet person's list leaves out their history */
    if (!(before & 1) && atomic_load(&sc_writes[p]) == before) {
      char buf[65536];
      size_t len;
      int rc = pz_profile_export(buf, sizeof buf, &len, engine, user);
      if (rc == PZ_OK && atomic_load(&sc_writes[p]) == before)
        for (size_t a = 0; a < n; a++) {
          char q[48];
          snprintf(q, sizeof q, "\"item\":\"%s\"", pz_recs_item(r, a));
          if (strstr(buf, q)) {
            pz_recs_free(r);
            return (void *)4;
          }
        }
    }
    pz_recs_free(r);
    if (i > 20000) break;
  }
  return NULL;
}

static void *sc_writer(void *arg) {
  (void)arg;
  char user[16], other[16], item[16];
  for (int k = 0; k < 600; k++) {
    int p = k % SC_PEOPLE;
    snprintf(user, sizeof user, "p%d", p);
    snprintf(other, sizeof other, "p%d", (p + 1) % SC_PEOPLE);
    snprintf(item, sizeof item, "item%d", (k * 7) % SC_ITEMS);
    atomic_fetch_add(&sc_writes[p], 1);
    int rc = pz_track(engine, user, item, "view", 1, 0);
    if (rc == PZ_OK && k % 97 == 0) rc = pz_profile_erase(engine, user);
    if (rc == PZ_OK && k % 131 == 0) {
      atomic_fetch_add(&sc_writes[(p + 1) % SC_PEOPLE], 1);
      rc = pz_profile_merge(engine, user, other);
      atomic_fetch_add(&sc_writes[(p + 1) % SC_PEOPLE], 1);
    }
    atomic_fetch_add(&sc_writes[p], 1);
    if (rc != PZ_OK && rc != PZ_ENOTFOUND) return (void *)1;
  }
  return NULL;
}

static void *sc_changer(void *arg) {
  (void)arg;
  static const char rules[] =
      "rules:\n  - {name: b, kind: boost, factor: 2, match: {features: "
      "[genre=jazz]}}\n";
  for (int k = 0; k < 12; k++) {
    if (pz_cf_train(engine, NULL) != PZ_OK) return (void *)1;
    const char *doc = k % 2 ? rules : "";
    if (pz_override_rules_load(engine, doc, strlen(doc)) != PZ_OK)
      return (void *)2;
    char item[16];
    snprintf(item, sizeof item, "item%d", 50 + k % 10);
    int rc = k % 3 ? pz_item_remove(engine, item) : PZ_OK;
    if (rc != PZ_OK && rc != PZ_ENOTFOUND) return (void *)3;
  }
  atomic_store(&sc_done, 1);
  return NULL;
}

static void test_threads_serving_cache(void **state) {
  (void)state;
  static const char cfg[] =
      "cf: {algorithm: both, factors: 8, iterations: 3, neighbours: 10}\n"
      "ranking: {user_cache: 20000}\n"; /* small: eviction happens */
  assert_int_equal(pz_engine_open_string(&engine, cfg, strlen(cfg)), PZ_OK);
  test_put_items(engine, SC_ITEMS);
  char user[16], item[16];
  for (int p = 0; p < 30; p++)
    for (int j = 0; j < 8; j++) {
      snprintf(user, sizeof user, "p%d", p);
      snprintf(item, sizeof item, "item%d", (p * 5 + j * 3) % SC_ITEMS);
      assert_int_equal(pz_track(engine, user, item, "view", 1, 0), PZ_OK);
    }
  assert_int_equal(pz_cf_train(engine, NULL), PZ_OK);
  atomic_store(&sc_done, 0);
  pthread_t th[4];
  assert_int_equal(pthread_create(&th[0], NULL, sc_reader, (void *)0), 0);
  assert_int_equal(pthread_create(&th[1], NULL, sc_reader, (void *)1), 0);
  assert_int_equal(pthread_create(&th[2], NULL, sc_writer, NULL), 0);
  assert_int_equal(pthread_create(&th[3], NULL, sc_changer, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *ret;
    assert_int_equal(pthread_join(th[i], &ret), 0);
    if (ret) fail_msg("thread %d failed with %p", i, ret);
  }
  uint64_t entries, bytes;
  pz__ucache_stats(&engine->uc, &entries, &bytes);
  assert_true(bytes <= 20000);
  pz_engine_free(engine);
}

/* Batches (which look ahead without locks while they exclude other
 * writers), single writers, readers and saves at once, with a journal:
 * every event lands, and the journal replays to the same counts. */
#define BT_USERS 40
#define BT_ROUNDS 30
static void *bt_batcher(void *arg) {
  int w = (int)(intptr_t)arg;
  static _Thread_local char ids[BT_USERS][2][24];
  pz_event ev[BT_USERS];
  for (int k = 0; k < BT_ROUNDS; k++) {
    for (int u = 0; u < BT_USERS; u++) {
      snprintf(ids[u][0], sizeof ids[u][0], "b%d-u%d", w, u / 2); /* runs */
      snprintf(ids[u][1], sizeof ids[u][1], "item%d", (u * 7 + k) % 60);
      ev[u] = (pz_event){PZ_EVENT_VERSION, ids[u][0], ids[u][1], "view", 1,
                         1700000000000LL + k};
    }
    size_t done;
    if (pz_track_batch(engine, ev, BT_USERS, &done) != PZ_OK) return (void *)1;
  }
  return NULL;
}

static void *bt_saver(void *arg) {
  const char *path = arg;
  for (int i = 0; i < 5; i++)
    if (pz_engine_save(engine, path) != PZ_OK) return (void *)1;
  return NULL;
}

static void test_threads_batches(void **state) {
  (void)state;
  char dir[64], cfg[320], snap[128];
  assert_int_equal(test_tmpdir_make(dir, "pz_thr"), 0);
  snprintf(cfg, sizeof cfg,
           "store: {journal: %s/journal, snapshot: %s/store.snap, fsync: "
           "never}\n",
           dir, dir); /* saves go elsewhere: the journal holds everything */
  snprintf(snap, sizeof snap, "%s/copy.snap", dir);
  assert_int_equal(pz_engine_open_string(&engine, cfg, strlen(cfg)), PZ_OK);
  test_put_items(engine, 60);
  pthread_t th[6];
  assert_int_equal(pthread_create(&th[0], NULL, bt_batcher, (void *)0), 0);
  assert_int_equal(pthread_create(&th[1], NULL, bt_batcher, (void *)1), 0);
  assert_int_equal(pthread_create(&th[2], NULL, writer, (void *)0), 0);
  assert_int_equal(pthread_create(&th[3], NULL, writer, (void *)1), 0);
  assert_int_equal(pthread_create(&th[4], NULL, reader, NULL), 0);
  assert_int_equal(pthread_create(&th[5], NULL, bt_saver, snap), 0);
  for (int i = 0; i < 6; i++) {
    void *ret;
    assert_int_equal(pthread_join(th[i], &ret), 0);
    if (ret) fail_msg("thread %d failed with %p", i, ret);
  }
  size_t n, want = 2 * (BT_USERS / 2) + 2 * USERS_PER_WRITER;
  assert_int_equal(pz_profile_count(&n, engine), PZ_OK);
  assert_int_equal(n, want);
  assert_int_equal(pz_profile_event_count(&n, engine, "b1-u3"), PZ_OK);
  assert_int_equal(n, 2 * BT_ROUNDS);
  pz_engine_free(engine);
  int orc = pz_engine_open_string(&engine, cfg, strlen(cfg));
  if (orc) fail_msg("reopen: %s", pz_errmsg());
  assert_int_equal(pz_profile_count(&n, engine), PZ_OK);
  assert_int_equal(n, want);
  assert_int_equal(pz_profile_event_count(&n, engine, "b0-u19"), PZ_OK);
  assert_int_equal(n, 2 * BT_ROUNDS);
  assert_int_equal(pz_profile_event_count(&n, engine, "w1-u24"), PZ_OK);
  assert_int_equal(n, EVENTS_PER_USER);
  pz_engine_free(engine);
  test_tmpdir_remove(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads_writers_readers_catalogue),
      cmocka_unit_test(test_threads_segments_and_models),
      cmocka_unit_test(test_threads_cf_model_swap),
      cmocka_unit_test(test_threads_overrides),
      cmocka_unit_test(test_threads_serving_cache),
      cmocka_unit_test(test_threads_batches),
  };
  return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
