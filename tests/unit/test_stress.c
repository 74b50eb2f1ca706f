/* The many-thread stress test of the thread contract (DESIGN.md, 5 and 6):
 * 8 readers and 4 writers on one engine while a trainer retrains the CF
 * and cluster models, reloads the segment rules, refreshes segment
 * popularity and saves snapshots in the middle of the run; once without a
 * journal and once with one.
 *
 * Each writer owns its users and writes a fixed, deterministic sequence to
 * them, so every read can be checked against what must be there: an event
 * count never goes down, never falls behind what the writer acknowledged
 * and never exceeds what it will write; an export holds exactly a prefix
 * of the sequence, with the attributes and choices that go with it (no
 * half-applied write); an acknowledged block is never recommended; an
 * acknowledged pin holds the first slot; every returned item exists and
 * every number is finite. At the end the counts must equal what was
 * written, in the engine, in a snapshot saved after the run, and (with the
 * journal) in an engine reopened from the store's snapshot and journal; a
 * snapshot saved in the middle must load and hold a consistent state.
 *
 * PZ_STRESS_SCALE (1..20, default 4) multiplies the operation counts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support.h"

#define WRITERS 4
#define READERS 8
#define USERS 12 /* per writer */
#define NU (WRITERS * USERS)
#define ITEMS 120 /* even: pins take even items, blocks odd ones */
#define K_CLUSTERS 3
#define RECS_K 10
#define T0 (1700000000000LL)
#define EXPORT_CAP (256 * 1024)

static const char *const base_config =
    "events: {view: 1, purchase: 5}\n"
    "ranking: {segment_min_members: 2}\n"
    "clusters: {k: 3, min_size: 1, seed: 7}\n"
    "cf: {algorithm: both, factors: 8, iterations: 5, neighbours: 10, "
    "threads: 2}\n"
    "segments:\n"
    "  - {name: active, rule: {count: view, gte: 10}}\n"
    "  - {name: gold, rule: {attr: tier, eq: gold}}\n";

/* The same rules again: reloading them swaps the rule set under readers
 * without changing what a reader may expect. */
static const char *const segment_doc =
    "segments:\n"
    "  - {name: active, rule: {count: view, gte: 10}}\n"
    "  - {name: gold, rule: {attr: tier, eq: gold}}\n";

/* What a user's writer has acknowledged: the call returned PZ_OK before
 * the (release) store, so a reader that loads it (acquire) before a read
 * must find the write there. */
typedef struct acked {
  atomic_int events;
  atomic_int choices;
  atomic_int blocks;
  atomic_int pinned;
  atomic_int tier;
} acked;

typedef struct run {
  pz_engine *e;
  bool journal;
  int rounds; /* events per user */
  int n_new;  /* items put by writer 0 during the run */
  long min_reads, max_reads;
  test_alloc ta;
  test_clock tc;
  char dir[64];
  char config[2048];
  char mid[2][128], final[128], final2[128];
  acked u[NU];
  atomic_int new_items;
  atomic_long events;
  atomic_int at_third, at_two_thirds; /* writers past those rounds */
  atomic_int phase;                   /* trainer rounds completed */
  atomic_int stop;
  atomic_int training; /* the trainer is in a round */
  atomic_long reads, partial_reads, training_reads;
  atomic_int failed;
  pthread_mutex_t msg_mu;
  char msg[1024];
  /* the events and items acknowledged before each mid-run save began,
   * and after it returned */
  long mid_ev_lo[2], mid_ev_hi[2];
  int mid_items_lo[2], mid_items_hi[2];
} run;

/* ---- the allocator: test_alloc counts without locking, so serialize ---- */

static pthread_mutex_t alloc_mu = PTHREAD_MUTEX_INITIALIZER;

static void *locked_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  pthread_mutex_lock(&alloc_mu);
  void *p = test_alloc_fn(ud, ptr, osize, nsize);
  pthread_mutex_unlock(&alloc_mu);
  return p;
}

static void options(pz_engine_options *o, run *r, const char *config) {
  pz_engine_options_init(o, PZ_ENGINE_OPTIONS_VERSION);
  o->alloc = locked_alloc;
  o->alloc_ud = &r->ta;
  o->clock = test_clock_fn; /* fixed at T0: never written during a run */
  o->clock_ud = &r->tc;
  if (config) {
    o->config_text = config;
    o->config_len = strlen(config);
  }
}

/* ---- failures from threads: cmocka's asserts may not leave a thread ---- */

static void *failf(run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void *failf(run *r, const char *fmt, ...) {
  pthread_mutex_lock(&r->msg_mu);
  if (!atomic_load(&r->failed)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    atomic_store(&r->failed, 1);
  }
  pthread_mutex_unlock(&r->msg_mu);
  return (void *)1;
}

static bool failed(run *r) { return atomic_load(&r->failed) != 0; }

static void nap(void) {
  struct timespec ts = {0, 200000};
  nanosleep(&ts, NULL);
}

/* ---- the writers' sequence, known to everyone --------------------------- */

static void user_id(char *buf, size_t cap, int x) {
  snprintf(buf, cap, "w%d-u%d", x / USERS, x % USERS);
}
static int ev_item(int x, int k) { return (x * 5 + k * 7) % ITEMS; }
static const char *ev_type(int k) { return k % 3 ? "view" : "purchase"; }
static double ev_value(int k) { return 1 + k % 2; }
static int64_t ev_ts(const run *r, int k) {
  return T0 - (int64_t)(r->rounds - k) * 60000;
}
static int views(int n) { return n - (n + 2) / 3; }
/* Choices are made in round k after the event and the "done" attribute:
 * a block every ten rounds, a pin at round 8, "more jazz" at round 12. */
static bool block_round(int k) { return k % 10 == 4; }
static bool choice_round(int k) { return block_round(k) || k == 8 || k == 12; }
static int choices_before(int rounds) {
  int n = 0;
  for (int k = 0; k < rounds; k++) n += choice_round(k);
  return n;
}
static int block_item(int x, int j) {
  return 2 * ((x * 7 + j * 13) % (ITEMS / 2)) + 1;
}
static int pin_item(int x) { return 2 * ((x * 3) % (ITEMS / 2)); }
#define TIER_ROUND 10

static bool known_item(const run *r, const char *id) {
  if (!id) return false;
  long lim;
  const char *p;
  if (strncmp(id, "item", 4) == 0) {
    p = id + 4;
    lim = ITEMS;
  } else if (strncmp(id, "new", 3) == 0) {
    p = id + 3;
    lim = r->n_new;
  } else {
    return false;
  }
  char *end;
  long n = strtol(p, &end, 10);
  return end != p && *end == '\0' && n >= 0 && n < lim;
}

/* ---- reading an export -------------------------------------------------- */

typedef struct parsed {
  int events;
  double done; /* the "done" attribute; 0 when not set yet */
  int choices;
  bool tier;
} parsed;

/* Check that the export of user x is one whole state of the writer's
 * sequence; NULL when it is, else what is wrong (in buf). */
static const char *check_export(const run *r, int x, const char *js,
                                parsed *p, char *buf, size_t cap) {
  memset(p, 0, sizeof *p);
  static const char done[] = "\"done\":{\"type\":\"number\",\"value\":";
  const char *a = strstr(js, done);
  if (a) p->done = strtod(a + strlen(done), NULL);
  p->tier = strstr(js, "\"tier\":{\"type\":\"string\",\"value\":\"gold\"}");
  const char *s = strstr(js, "\"events\":[");
  if (!s) return "no events array";
  s += strlen("\"events\":[");
  while (*s == '{') {
    int k = p->events;
    char item[64], type[32];
    double value;
    long long ts;
    int used = 0;
    if (sscanf(s, "{\"item\":\"%63[^\"]\",\"type\":\"%31[^\"]\",\"value\":%lf,"
                  "\"ts\":%lld}%n",
               item, type, &value, &ts, &used) != 4 || used == 0) {
      snprintf(buf, cap, "event %d unreadable: %.80s", k, s);
      return buf;
    }
    char want[32];
    snprintf(want, sizeof want, "item%d", ev_item(x, k));
    if (k >= r->rounds || strcmp(item, want) != 0 ||
        strcmp(type, ev_type(k)) != 0 || value != ev_value(k) ||
        ts != ev_ts(r, k)) {
      snprintf(buf, cap, "event %d is %s/%s/%g/%lld, not the writer's", k,
               item, type, value, ts);
      return buf;
    }
    p->events++;
    s += used;
    if (*s == ',') s++;
  }
  if (*s != ']') return "events array not closed";
  const char *c = strstr(s, "\"choices\":[");
  if (!c) return "no choices array";
  const char *end = strchr(c, ']');
  for (const char *q = c; (q = strstr(q, "{\"kind\":")) && q < end; q++)
    p->choices++;
  /* round n-1 wrote the event, then "done" = n, then its choice */
  int n = p->events;
  if (n == 0 ? p->done != 0 || p->choices != 0
             : p->done != n && p->done != n - 1) {
    snprintf(buf, cap, "%d events but done = %g, %d choices", n, p->done,
             p->choices);
    return buf;
  }
  int lo = n ? choices_before(n - 1) : 0;
  int hi = p->done == n ? choices_before(n) : lo;
  if (p->choices < lo || p->choices > hi) {
    snprintf(buf, cap, "%d events, done = %g but %d choices (%d..%d)", n,
             p->done, p->choices, lo, hi);
    return buf;
  }
  if ((p->tier && n <= TIER_ROUND) || (!p->tier && n > TIER_ROUND + 1)) {
    snprintf(buf, cap, "%d events but tier %s", n, p->tier ? "set" : "unset");
    return buf;
  }
  return NULL;
}

/* ---- writers ------------------------------------------------------------ */

typedef struct targ {
  run *r;
  int id;
} targ;

static bool wait_phase(run *r, int phase) {
  while (atomic_load(&r->phase) < phase && !failed(r)) nap();
  return !failed(r);
}

#define W_OK(call)                                                            \
  do {                                                                        \
    if ((call) != PZ_OK)                                                      \
      return failf(r, "writer %d, %s round %d: %s: %s", w, user, k, #call,    \
                   pz_errmsg());                                              \
  } while (0)

static void *writer(void *arg) {
  run *r = ((targ *)arg)->r;
  int w = ((targ *)arg)->id, k = -1;
  char user[32], item[32];
  for (int u = 0; u < USERS; u++) {
    user_id(user, sizeof user, w * USERS + u);
    W_OK(pz_profile_set_consent(r->e, user, "personalization", 1));
  }
  int puts = 0, step = r->rounds * USERS / r->n_new;
  for (k = 0; k < r->rounds; k++) {
    /* the trainer works in the middle of the run: writers wait for its
     * first round half way and for its second five sixths of the way */
    if (k == r->rounds / 3) atomic_fetch_add(&r->at_third, 1);
    if (k == 2 * r->rounds / 3) atomic_fetch_add(&r->at_two_thirds, 1);
    if (k == r->rounds / 2 && !wait_phase(r, 1)) return NULL;
    if (k == 5 * r->rounds / 6 && !wait_phase(r, 2)) return NULL;
    for (int u = 0; u < USERS && !failed(r); u++) {
      int x = w * USERS + u;
      acked *a = &r->u[x];
      user_id(user, sizeof user, x);
      snprintf(item, sizeof item, "item%d", ev_item(x, k));
      W_OK(pz_track(r->e, user, item, ev_type(k), ev_value(k), ev_ts(r, k)));
      atomic_store(&a->events, k + 1);
      atomic_fetch_add(&r->events, 1);
      W_OK(pz_profile_set_number(r->e, user, "done", k + 1));
      if (block_round(k)) {
        int j = k / 10;
        snprintf(item, sizeof item, "item%d", block_item(x, j));
        W_OK(pz_override_block_item(r->e, user, item, 0));
        atomic_store(&a->blocks, j + 1);
      } else if (k == 8) {
        snprintf(item, sizeof item, "item%d", pin_item(x));
        W_OK(pz_override_pin(r->e, user, item, 0, 0));
        atomic_store(&a->pinned, 1);
      } else if (k == 12) {
        W_OK(pz_override_more(r->e, user, "genre=jazz", 0));
      }
      if (choice_round(k)) atomic_fetch_add(&a->choices, 1);
      if (k == TIER_ROUND) {
        W_OK(pz_profile_set_string(r->e, user, "tier", "gold"));
        atomic_store(&a->tier, 1);
      }
      if (k % 5 == 2)
        W_OK(pz_profile_set_consent(r->e, user, "analytics", (k / 5) % 2));
      if (w == 0 && puts < r->n_new && (k * USERS + u) % step == 0) {
        snprintf(item, sizeof item, "new%d", puts);
        const char *f[] = {"genre=jazz", "tag=new"};
        W_OK(pz_item_put(r->e, item, f, NULL, 2));
        atomic_store(&r->new_items, ++puts);
      }
    }
  }
  snprintf(user, sizeof user, "(catalogue)");
  while (w == 0 && puts < r->n_new && !failed(r)) {
    snprintf(item, sizeof item, "new%d", puts);
    const char *f[] = {"genre=jazz", "tag=new"};
    W_OK(pz_item_put(r->e, item, f, NULL, 2));
    atomic_store(&r->new_items, ++puts);
  }
  return NULL;
}

/* ---- the trainer -------------------------------------------------------- */

#define T_OK(call)                                                            \
  do {                                                                        \
    if ((call) != PZ_OK)                                                      \
      return failf(r, "trainer round %d: %s: %s", i, #call, pz_errmsg());     \
  } while (0)

static void *trainer_rounds(run *r) {
  for (int i = 0; i < 2; i++) {
    atomic_int *gate = i ? &r->at_two_thirds : &r->at_third;
    while (atomic_load(gate) < WRITERS && !failed(r)) nap();
    if (failed(r)) return NULL;
    atomic_store(&r->training, 1);
    /* first the copy, while the writers are surely still writing */
    r->mid_ev_lo[i] = atomic_load(&r->events);
    r->mid_items_lo[i] = ITEMS + atomic_load(&r->new_items);
    T_OK(pz_engine_save(r->e, r->mid[i]));
    /* a writer may have applied one write it has not acknowledged yet */
    r->mid_ev_hi[i] = atomic_load(&r->events) + WRITERS;
    r->mid_items_hi[i] = ITEMS + atomic_load(&r->new_items) + 1;
    T_OK(pz_segment_load(r->e, segment_doc, strlen(segment_doc)));
    T_OK(pz_cf_train(r->e, NULL));
    T_OK(pz_cluster_train(r->e, NULL));
    T_OK(pz_segment_refresh(r->e));
    if (r->journal) T_OK(pz_engine_save(r->e, NULL)); /* starts a new one */
    T_OK(pz_engine_sync(r->e));
    atomic_store(&r->training, 0);
    atomic_store(&r->phase, i + 1);
  }
  return NULL;
}

static void *trainer(void *arg) {
  run *r = arg;
  void *ret = trainer_rounds(r);
  /* let the writers through whatever happened */
  atomic_store(&r->phase, 2);
  return ret;
}

/* ---- readers ------------------------------------------------------------ */

typedef struct rstate {
  int events[NU];
  int choices[NU];
  size_t items;
  char *buf;
  char why[256];
} rstate;

#define R_CHECK(cond, ...)                                                    \
  do {                                                                        \
    if (!(cond)) return failf(r, __VA_ARGS__);                                \
  } while (0)
#define R_OK(call)                                                            \
  do {                                                                        \
    int rc_ = (call);                                                         \
    R_CHECK(rc_ == PZ_OK, "reader %d, %s: %s: %s", id, user, #call,           \
            pz_errmsg());                                                     \
  } while (0)

static bool list_finite(const pz_recs *rs) {
  for (size_t i = 0; i < pz_recs_count(rs); i++) {
    if (!isfinite(pz_recs_score(rs, i)) || !pz_recs_reason(rs, i))
      return false;
    for (int s = PZ_SIGNAL_CONTENT; s <= PZ_SIGNAL_CF; s++)
      if (!isfinite(pz_recs_contribution(rs, i, s))) return false;
    for (size_t j = 0; pz_recs_because(rs, i, j); j++)
      if (!isfinite(pz_recs_because_share(rs, i, j))) return false;
  }
  return true;
}

/* One round of reads of user x; NULL when every check held. */
static void *read_user(run *r, int id, rstate *st, int x, long i) {
  pz_engine *e = r->e;
  const acked *a = &r->u[x];
  char user[32], item[32];
  user_id(user, sizeof user, x);
  /* what is acknowledged now must be seen by every read below */
  int ev_acked = atomic_load(&a->events);
  int ch_acked = atomic_load(&a->choices);
  int blocks = atomic_load(&a->blocks);
  int pinned = atomic_load(&a->pinned);
  int tier = atomic_load(&a->tier);
  int new_acked = atomic_load(&r->new_items);
  bool training = atomic_load(&r->training);

  /* a profile exists from the writer's first call on and is never erased */
  size_t n = 0;
  int rc = pz_profile_event_count(&n, e, user);
  bool exists = rc == PZ_OK;
  R_CHECK(exists || (rc == PZ_ENOTFOUND && st->events[x] == 0 &&
                     ev_acked == 0),
          "reader %d, %s: event count: %s", id, user, pz_errmsg());
  R_CHECK((int)n >= ev_acked && (int)n >= st->events[x] &&
              (int)n <= r->rounds,
          "reader %d, %s: %zu events; acknowledged %d, seen %d, at most %d",
          id, user, n, ev_acked, st->events[x], r->rounds);
  st->events[x] = (int)n;

  pz_choices *c = NULL;
  rc = pz_override_list(&c, e, user, 0);
  R_CHECK(rc == PZ_OK || (rc == PZ_ENOTFOUND && !exists),
          "reader %d, %s: override list: %s", id, user, pz_errmsg());
  int nc = (int)pz_choices_count(c);
  int seen_blocks = 0;
  for (int j = 0; j < nc; j++)
    if (pz_choices_kind(c, (size_t)j) == PZ_CHOICE_BLOCK_ITEM) seen_blocks++;
  pz_choices_free(c);
  R_CHECK(nc >= ch_acked && nc >= st->choices[x] &&
              nc <= choices_before(r->rounds) && seen_blocks >= blocks,
          "reader %d, %s: %d choices (%d blocks); acknowledged %d (%d), "
          "seen %d",
          id, user, nc, seen_blocks, ch_acked, blocks, st->choices[x]);
  st->choices[x] = nc;

  size_t len = 0;
  rc = pz_profile_export(st->buf, EXPORT_CAP, &len, e, user);
  R_CHECK(rc == PZ_OK || (rc == PZ_ENOTFOUND && !exists),
          "reader %d, %s: export: %s", id, user, pz_errmsg());
  if (rc == PZ_OK) {
    parsed p;
    const char *why =
        check_export(r, x, st->buf, &p, st->why, sizeof st->why);
    R_CHECK(!why, "reader %d, %s: export: %s", id, user, why);
    R_CHECK(p.events >= (int)n && p.choices >= nc,
            "reader %d, %s: export has %d events, %d choices after %zu, %d",
            id, user, p.events, p.choices, n, nc);
    R_CHECK(!tier || p.tier, "reader %d, %s: acknowledged tier not exported",
            id, user);
    /* later reads may see more: keep what the export proved */
    st->events[x] = p.events;
    st->choices[x] = p.choices;
  }

  pz_recs *rs;
  R_OK(pz_recommend(&rs, e, user, RECS_K, NULL));
  size_t m = pz_recs_count(rs);
  bool ok = m == RECS_K && list_finite(rs);
  const char *bad = NULL;
  for (size_t j = 0; ok && j < m; j++) {
    const char *it = pz_recs_item(rs, j);
    if (!known_item(r, it)) bad = it;
    for (size_t b = 0; pz_recs_because(rs, j, b); b++)
      if (!known_item(r, pz_recs_because(rs, j, b)))
        bad = pz_recs_because(rs, j, b);
    for (int b = 0; b < blocks; b++) {
      snprintf(item, sizeof item, "item%d", block_item(x, b));
      if (strcmp(it, item) == 0) bad = it;
    }
  }
  snprintf(item, sizeof item, "item%d", pin_item(x));
  bool pin_ok = !pinned || (m > 0 && strcmp(pz_recs_item(rs, 0), item) == 0 &&
                            pz_recs_reason_code(rs, 0) == PZ_REASON_PINNED);
  char first[64];
  snprintf(first, sizeof first, "%s", m ? pz_recs_item(rs, 0) : "(none)");
  char bad_copy[64];
  snprintf(bad_copy, sizeof bad_copy, "%s", bad ? bad : "");
  pz_recs_free(rs);
  R_CHECK(ok && !bad, "reader %d, %s: a bad list of %zu (item %s)", id, user,
          m, bad_copy);
  R_CHECK(pin_ok, "reader %d, %s: pinned %s but first is %s", id, user, item,
          first);

  snprintf(item, sizeof item, "item%d", (int)((i * 11 + id) % ITEMS));
  R_OK(pz_similar_items(&rs, e, item, 5));
  ok = pz_recs_count(rs) <= 5 && list_finite(rs);
  for (size_t j = 0; ok && j < pz_recs_count(rs); j++)
    ok = known_item(r, pz_recs_item(rs, j)) &&
         strcmp(pz_recs_item(rs, j), item) != 0;
  pz_recs_free(rs);
  R_CHECK(ok, "reader %d: a bad similar-items list for %s", id, item);

  /* membership follows the profile as it is now: what was seen holds */
  int in = -1;
  R_OK(pz_segment_test(&in, e, "active", user));
  R_CHECK(in == (views(st->events[x]) >= 10) ||
              (in == 1 && views(r->rounds) >= 10),
          "reader %d, %s: active = %d with %d events seen", id, user, in,
          st->events[x]);
  int gold = -1;
  R_OK(pz_segment_test(&gold, e, "gold", user));
  R_CHECK(gold == 1 || !tier, "reader %d, %s: not gold after the tier", id,
          user);
  pz_list *l;
  R_OK(pz_segment_of(&l, e, user));
  bool has_active = false, has_gold = false, names_ok = true;
  for (size_t j = 0; j < pz_list_count(l); j++) {
    const char *s = pz_list_text(l, j);
    if (s && strcmp(s, "active") == 0) has_active = true;
    else if (s && strcmp(s, "gold") == 0) has_gold = true;
    else names_ok = false;
  }
  pz_list_free(l);
  R_CHECK(names_ok && (has_active || !in) && (has_gold || !gold),
          "reader %d, %s: segments of the user lost one (active %d, gold %d)",
          id, user, in, gold);

  int cl = -2;
  R_OK(pz_cluster_of(&cl, e, user));
  R_CHECK(cl >= -1 && cl < K_CLUSTERS, "reader %d, %s: cluster %d", id, user,
          cl);

  size_t items = 0;
  R_OK(pz_item_count(&items, e));
  R_CHECK(items >= st->items && items >= (size_t)(ITEMS + new_acked) &&
              items <= (size_t)(ITEMS + r->n_new),
          "reader %d: %zu items after %zu; acknowledged %d", id, items,
          st->items, ITEMS + new_acked);
  st->items = items;

  pz_cf_stats cs;
  cs.version = PZ_CF_STATS_VERSION;
  rc = pz_cf_stats_get(&cs, e);
  R_CHECK(rc == PZ_OK || rc == PZ_ENOTFOUND, "reader %d: cf stats: %s", id,
          pz_errmsg());
  R_CHECK(rc != PZ_OK || cs.users <= NU, "reader %d: %u trained users", id,
          cs.users);
  atomic_fetch_add(&r->reads, 1);
  if (n > 0 && (int)n < r->rounds) atomic_fetch_add(&r->partial_reads, 1);
  if (training || atomic_load(&r->training))
    atomic_fetch_add(&r->training_reads, 1);
  return NULL;
}

static void *reader(void *arg) {
  run *r = ((targ *)arg)->r;
  int id = ((targ *)arg)->id;
  rstate *st = calloc(1, sizeof *st);
  char *buf = malloc(EXPORT_CAP);
  if (!st || !buf) {
    free(st);
    free(buf);
    return failf(r, "reader %d: out of memory", id);
  }
  st->buf = buf;
  void *ret = NULL;
  /* until the writers and the trainer are done, with a floor so that a
   * fast run still reads, and a ceiling in case the others stall */
  for (long i = 0; !ret && !failed(r) && i < r->max_reads &&
                   (i < r->min_reads || !atomic_load(&r->stop));
       i++)
    ret = read_user(r, id, st, (int)((i * 7 + id * 13) % NU), i);
  free(buf);
  free(st);
  return ret;
}

/* ---- after the run ------------------------------------------------------ */

#define OK(x)                                                                 \
  do {                                                                        \
    int rc_ = (x);                                                            \
    if (rc_ != PZ_OK) print_error("%s: %s\n", #x, pz_errmsg());               \
    assert_int_equal(rc_, PZ_OK);                                             \
  } while (0)

static char *export_of(pz_engine *e, const char *user) {
  size_t len = 0;
  int rc = pz_profile_export(NULL, 0, &len, e, user);
  assert_int_equal(rc, PZ_EBUFS);
  char *s = malloc(len + 1);
  assert_non_null(s);
  OK(pz_profile_export(s, len + 1, &len, e, user));
  return s;
}

/* Every writer user of e holds a consistent state; with exact, exactly
 * what was written, and (when want is not NULL) the same export as the
 * engine of the run. Returns the total number of events. */
static long check_engine(run *r, pz_engine *e, bool exact, char **want) {
  long total = 0;
  char user[32], why[256];
  for (int x = 0; x < NU; x++) {
    user_id(user, sizeof user, x);
    char *js = export_of(e, user);
    parsed p;
    const char *bad = check_export(r, x, js, &p, why, sizeof why);
    if (bad) fail_msg("%s: %s", user, bad);
    total += p.events;
    if (exact) {
      size_t n;
      OK(pz_profile_event_count(&n, e, user));
      assert_int_equal(n, r->rounds);
      assert_int_equal(p.events, r->rounds);
      assert_int_equal(p.choices, choices_before(r->rounds));
      assert_true(p.done == r->rounds && p.tier);
      pz_choices *c;
      OK(pz_override_list(&c, e, user, 0));
      assert_int_equal(pz_choices_count(c), choices_before(r->rounds));
      pz_choices_free(c);
    }
    if (want) assert_string_equal(js, want[x]);
    free(js);
  }
  if (exact) {
    size_t n;
    OK(pz_item_count(&n, e));
    assert_int_equal(n, ITEMS + r->n_new);
    OK(pz_profile_count(&n, e));
    assert_int_equal(n, NU);
  }
  return total;
}

static bool same_file(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  bool same = fa && fb;
  while (same) {
    int ca = getc(fa), cb = getc(fb);
    if (ca != cb) same = false;
    if (ca == EOF || cb == EOF) break;
  }
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  return same;
}

static int env_scale(void) {
  const char *s = getenv("PZ_STRESS_SCALE");
  int v = s ? atoi(s) : 4;
  return v < 1 ? 1 : v > 20 ? 20 : v;
}

static void stress(bool journal) {
  run *r = calloc(1, sizeof *r);
  assert_non_null(r);
  int scale = env_scale();
  r->journal = journal;
  r->rounds = 30 * scale;
  r->n_new = 40 * scale;
  r->min_reads = 60 * scale;
  r->max_reads = 100000;
  r->tc.now = T0;
  pthread_mutex_init(&r->msg_mu, NULL);
  assert_int_equal(test_tmpdir_make(r->dir, "pz_stress"), 0);
  for (int i = 0; i < 2; i++)
    snprintf(r->mid[i], sizeof r->mid[i], "%s/mid%d.snap", r->dir, i);
  snprintf(r->final, sizeof r->final, "%s/final.snap", r->dir);
  snprintf(r->final2, sizeof r->final2, "%s/final2.snap", r->dir);
  if (journal)
    snprintf(r->config, sizeof r->config,
             "%sstore: {snapshot: %s/store.snap, journal: %s/journal, "
             "fsync: never}\n",
             base_config, r->dir, r->dir);
  else
    snprintf(r->config, sizeof r->config, "%s", base_config);

  pz_engine_options o;
  options(&o, r, r->config);
  OK(pz_engine_open_with(&r->e, &o));
  test_put_items(r->e, ITEMS);

  pthread_t th[WRITERS + READERS + 1];
  targ args[WRITERS + READERS];
  for (int i = 0; i < WRITERS; i++) {
    args[i] = (targ){r, i};
    assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
  }
  for (int i = 0; i < READERS; i++) {
    args[WRITERS + i] = (targ){r, i};
    assert_int_equal(
        pthread_create(&th[WRITERS + i], NULL, reader, &args[WRITERS + i]), 0);
  }
  assert_int_equal(pthread_create(&th[WRITERS + READERS], NULL, trainer, r), 0);
  void *ret;
  for (int i = 0; i < WRITERS; i++)
    assert_int_equal(pthread_join(th[i], &ret), 0);
  assert_int_equal(pthread_join(th[WRITERS + READERS], &ret), 0);
  atomic_store(&r->stop, 1);
  for (int i = 0; i < READERS; i++)
    assert_int_equal(pthread_join(th[WRITERS + i], &ret), 0);
  if (failed(r)) fail_msg("%s", r->msg);
  /* how much the reads overlapped the writes and the trainer */
  print_message("stress: %ld reads, %ld of a partly written user, %ld while "
                "training or saving\n",
                atomic_load(&r->reads), atomic_load(&r->partial_reads),
                atomic_load(&r->training_reads));

  /* everything that was written is there, once */
  char *want[NU];
  assert_int_equal(check_engine(r, r->e, true, NULL), (long)NU * r->rounds);
  char user[32];
  for (int x = 0; x < NU; x++) {
    user_id(user, sizeof user, x);
    want[x] = export_of(r->e, user);
  }

  /* the snapshots of the middle are whole states of that moment */
  options(&o, r, base_config);
  for (int i = 0; i < 2; i++) {
    pz_engine *m;
    OK(pz_engine_load(&m, r->mid[i], &o));
    long total = check_engine(r, m, false, NULL);
    print_message("stress: snapshot %d of the middle holds %ld events "
                  "(%ld..%ld)\n", i, total, r->mid_ev_lo[i], r->mid_ev_hi[i]);
    if (total < r->mid_ev_lo[i] || total > r->mid_ev_hi[i])
      fail_msg("snapshot %d holds %ld events, not %ld..%ld", i, total,
               r->mid_ev_lo[i], r->mid_ev_hi[i]);
    size_t n;
    OK(pz_item_count(&n, m));
    assert_in_range(n, r->mid_items_lo[i], r->mid_items_hi[i]);
    pz_engine_free(m);
  }

  /* a snapshot of the end reproduces it, and saves again byte for byte
   * (saved beside the store's snapshot: the journal stays as it is) */
  OK(pz_engine_save(r->e, r->final));
  pz_engine *f;
  options(&o, r, journal ? base_config : NULL); /* NULL: the saved one */
  OK(pz_engine_load(&f, r->final, &o));
  check_engine(r, f, true, want);
  if (!journal) {
    OK(pz_engine_save(f, r->final2));
    assert_true(same_file(r->final, r->final2));
  }
  pz_engine_free(f);

  /* reopened from the store's snapshot and the journal: the same again */
  pz_engine_free(r->e);
  r->e = NULL;
  if (journal) {
    /* the store's snapshot is the trainer's last, before the writers'
     * last sixth: only the journal can bring the rest */
    char store[128];
    snprintf(store, sizeof store, "%s/store.snap", r->dir);
    options(&o, r, base_config);
    OK(pz_engine_load(&f, store, &o));
    assert_in_range(check_engine(r, f, false, NULL), 1,
                    NU * (5 * r->rounds / 6));
    pz_engine_free(f);
    options(&o, r, r->config);
    OK(pz_engine_open_with(&r->e, &o));
    check_engine(r, r->e, true, want);
    pz_engine_free(r->e);
  }
  for (int x = 0; x < NU; x++) free(want[x]);
  assert_int_equal(r->ta.live_blocks, 0);
  assert_int_equal(r->ta.bad_osize, 0);
  test_tmpdir_remove(r->dir);
  pthread_mutex_destroy(&r->msg_mu);
  free(r);
}

static void test_stress_readers_writers_trainer(void **state) {
  (void)state;
  stress(false);
}

static void test_stress_with_journal(void **state) {
  (void)state;
  stress(true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stress_readers_writers_trainer),
      cmocka_unit_test(test_stress_with_journal),
  };
  return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
