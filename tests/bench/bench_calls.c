/*
 * tests/bench/bench_calls.c - the C side of the binding call-overhead
 * benchmark (tests/bench/bench_bindings.sh runs it beside bench_calls.py
 * and bench_calls.lua and prints the combined table).
 *
 *   bench_calls [--items N] [--users N] [--events N] [--recs N]
 *               [--cheap N] [--rounds N] [--kv]
 *
 * The three programs generate the same catalogue and event stream with
 * the same 32-bit xorshift generator (seed 2463534242):
 *   items "i0".."i{N-1}", each with 8 features "f{j}=v{x % 50}", j = 0..7;
 *   users "u0".."u{N-1}";
 *   events: user x % users, item x % items, type x % 100 (< 70 view,
 *     < 95 click, else purchase), value 1, ts = T0 + 1000 * index;
 *   the recommend sequence: --recs users x % users.
 * A data checksum (32-bit FNV-1a over every string, then every drawn
 * index) proves the data are identical; a result checksum (taken after the
 * timed part of the last round: the top-10 of every user of the recommend
 * sequence, their scores to 1e-6, reason codes, the event counts of all
 * users and the item count) proves the library did the same work.
 *
 * Each round opens a fresh engine (default configuration, system clock),
 * puts the catalogue (untimed), then times
 *   track       --events pz_track calls;
 *   recommend   --recs pz_recommend calls, k = 10, now = the data's end,
 *               reading every field the Python and Lua bindings copy
 *               (item, score, reason text and code, rule, flags, the 4
 *               contributions, the 2 factors, the first "because" item);
 *   item_count  --cheap pz_item_count calls (no argument to convert);
 *   event_count --cheap pz_profile_event_count calls over the recommend
 *               sequence (one string argument);
 *   track_many  the --events of track again, on a second fresh engine (its
 *               catalogue put untimed), filled into pz_event arrays and
 *               recorded with one pz_track_batch call per PZ_BATCH_MAX
 *               events (the bindings' track_many); its rate is in events
 *               per second. The result checksum is the first engine's.
 * Rates are calls per second of process CPU time (CLOCK_PROCESS_CPUTIME_ID:
 * the one sub-millisecond clock stock Lua 5.4 has is os.clock(), so the
 * three programs use the same measure) and, as a cross-check, of wall time
 * (CLOCK_MONOTONIC). Without --kv it prints a table (median of --rounds);
 * with --kv, one "key value" line per figure for the driver.
 */
#include <personalize.h>

#define BENCH_NAME "bench_calls"
#include "common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define FEATURES 8u
#define VALUES 50u
#define K 10u
#define SEED 2463534242u
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z, in ms */
#define MAX_ROUNDS 101u

static const char *const event_types[] = {"view", "click", "purchase"};

typedef struct data {
  uint32_t items, users, events, recs, cheap;
  char **item_id;  /* items */
  char **feat;     /* items * FEATURES */
  char **user_id;  /* users */
  uint32_t *ev_user, *ev_item;
  uint8_t *ev_type;
  uint32_t *rec_user; /* recs */
  uint32_t checksum;
} data;

/* ---- the generator and the checksum (identical in .py and .lua) ---- */

static uint32_t rng = SEED;
static uint32_t next_u32(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

#define FNV_INIT 2166136261u
#define FNV_PRIME 16777619u
static uint32_t fnv_str(uint32_t h, const char *s) {
  for (; *s; s++) h = (h ^ (uint8_t)*s) * FNV_PRIME;
  return h * FNV_PRIME; /* the NUL (h ^ 0), so "ab","c" != "a","bc" */
}
static uint32_t fnv_u32(uint32_t h, uint32_t v) { return (h ^ v) * FNV_PRIME; }

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = xmalloc(n);
  memcpy(p, s, n);
  return p;
}

static void generate(data *d) {
  char buf[64];
  uint32_t h = FNV_INIT;
  d->item_id = xmalloc(d->items * sizeof *d->item_id);
  d->feat = xmalloc((size_t)d->items * FEATURES * sizeof *d->feat);
  for (uint32_t i = 0; i < d->items; i++) {
    snprintf(buf, sizeof buf, "i%u", i);
    d->item_id[i] = xstrdup(buf);
    h = fnv_str(h, buf);
    for (uint32_t j = 0; j < FEATURES; j++) {
      snprintf(buf, sizeof buf, "f%u=v%u", j, next_u32() % VALUES);
      d->feat[(size_t)i * FEATURES + j] = xstrdup(buf);
      h = fnv_str(h, buf);
    }
  }
  d->user_id = xmalloc(d->users * sizeof *d->user_id);
  for (uint32_t u = 0; u < d->users; u++) {
    snprintf(buf, sizeof buf, "u%u", u);
    d->user_id[u] = xstrdup(buf);
    h = fnv_str(h, buf);
  }
  d->ev_user = xmalloc((size_t)d->events * sizeof *d->ev_user);
  d->ev_item = xmalloc((size_t)d->events * sizeof *d->ev_item);
  d->ev_type = xmalloc((size_t)d->events * sizeof *d->ev_type);
  for (uint32_t e = 0; e < d->events; e++) {
    uint32_t u = next_u32() % d->users, it = next_u32() % d->items;
    uint32_t r = next_u32() % 100u;
    uint8_t t = r < 70u ? 0 : r < 95u ? 1 : 2;
    d->ev_user[e] = u;
    d->ev_item[e] = it;
    d->ev_type[e] = t;
    h = fnv_u32(fnv_u32(fnv_u32(h, u), it), t);
  }
  d->rec_user = xmalloc((size_t)d->recs * sizeof *d->rec_user);
  for (uint32_t c = 0; c < d->recs; c++) {
    d->rec_user[c] = next_u32() % d->users;
    h = fnv_u32(h, d->rec_user[c]);
  }
  d->checksum = h;
}

/* ---- one round --------------------------------------------------------- */

enum { TRACK, RECOMMEND, ITEM_COUNT, EVENT_COUNT, TRACK_MANY, N_OPS };
static const char *const op_key[N_OPS] = {"track", "recommend",
                                          "item_count", "event_count",
                                          "track_many"};

typedef struct span {
  double cpu, wall;
} span;

static span span_start(void) {
  span s = {clock_s(CLOCK_PROCESS_CPUTIME_ID), now_s()};
  return s;
}
/* calls per second of CPU time and of wall time since s */
static void span_rates(span s, double calls, double *cpu_rate,
                       double *wall_rate) {
  double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - s.cpu, wall = now_s() - s.wall;
  *cpu_rate = calls / cpu;
  *wall_rate = calls / wall;
}

static volatile uint64_t sink;

static void check(const char *call, int rc) {
  if (rc != PZ_OK) die_pz(call, rc);
}

/* Reads what the bindings copy out of one list; returns a checksum when
 * fold is set (the untimed verification pass), 0 otherwise. */
static uint32_t read_recs(const pz_recs *r, int fold, uint32_t h) {
  size_t n = pz_recs_count(r);
  uint64_t acc = n;
  for (size_t i = 0; i < n; i++) {
    const char *item = pz_recs_item(r, i);
    double score = pz_recs_score(r, i);
    const char *text = pz_recs_reason(r, i);
    int code = pz_recs_reason_code(r, i);
    const char *rule = pz_recs_rule(r, i);
    unsigned flags = pz_recs_flags(r, i);
    double c = pz_recs_contribution(r, i, PZ_SIGNAL_CONTENT) +
               pz_recs_contribution(r, i, PZ_SIGNAL_POPULARITY) +
               pz_recs_contribution(r, i, PZ_SIGNAL_SEGMENT) +
               pz_recs_contribution(r, i, PZ_SIGNAL_CF) +
               pz_recs_factor(r, i, PZ_FACTOR_PERSON) +
               pz_recs_factor(r, i, PZ_FACTOR_RULES);
    const char *because = pz_recs_because(r, i, 0);
    acc += (uintptr_t)item + (uintptr_t)text + (uintptr_t)rule +
           (uintptr_t)because + (uint64_t)code + flags + (uint64_t)(c > 0);
    if (fold) {
      h = fnv_str(h, item);
      h = fnv_u32(h, (uint32_t)(int64_t)(score * 1e6));
      h = fnv_u32(h, (uint32_t)code);
    }
  }
  sink += acc;
  return h;
}

static pz_engine *engine_with_catalogue(const data *d) {
  pz_engine *e = NULL;
  check("pz_engine_open", pz_engine_open(&e, NULL));
  for (uint32_t i = 0; i < d->items; i++)
    check("pz_item_put",
          pz_item_put(e, d->item_id[i],
                      (const char *const *)&d->feat[(size_t)i * FEATURES],
                      NULL, FEATURES));
  return e;
}

/* the events of track, on a fresh engine, in pz_track_batch calls */
static void track_many_run(const data *d, double *cpu_rate, double *wall_rate) {
  pz_engine *e = engine_with_catalogue(d);
  size_t cap = d->events < PZ_BATCH_MAX ? d->events : PZ_BATCH_MAX;
  pz_event *ev = xmalloc(cap * sizeof *ev);
  span s = span_start();
  for (uint32_t done = 0; done < d->events;) {
    size_t m = d->events - done < cap ? d->events - done : cap, applied = 0;
    for (size_t k = 0; k < m; k++) {
      uint32_t i = done + (uint32_t)k;
      ev[k] = (pz_event){PZ_EVENT_VERSION, d->user_id[d->ev_user[i]],
                         d->item_id[d->ev_item[i]],
                         event_types[d->ev_type[i]], 1.0, T0 + 1000LL * i};
    }
    int rc = pz_track_batch(e, ev, m, &applied);
    if (rc != PZ_OK) die_pz("pz_track_batch", rc);
    done += (uint32_t)m;
  }
  span_rates(s, d->events, cpu_rate, wall_rate);
  free(ev);
  pz_engine_free(e);
}

static void round_run(const data *d, double cpu_rate[N_OPS],
                      double wall_rate[N_OPS], int verify,
                      uint32_t *result_sum) {
  pz_engine *e = engine_with_catalogue(d);
  const int64_t t_end = T0 + 1000LL * d->events;

  /* track */
  span s = span_start();
  for (uint32_t i = 0; i < d->events; i++) {
    int rc = pz_track(e, d->user_id[d->ev_user[i]], d->item_id[d->ev_item[i]],
                      event_types[d->ev_type[i]], 1.0, T0 + 1000LL * i);
    if (rc != PZ_OK) die_pz("pz_track", rc);
  }
  span_rates(s, d->events, &cpu_rate[TRACK], &wall_rate[TRACK]);

  /* recommend */
  pz_recommend_options o;
  check("pz_recommend_options_init",
        pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION));
  o.now_ms = t_end;
  s = span_start();
  for (uint32_t c = 0; c < d->recs; c++) {
    pz_recs *r = NULL;
    int rc = pz_recommend(&r, e, d->user_id[d->rec_user[c]], K, &o);
    if (rc != PZ_OK) die_pz("pz_recommend", rc);
    read_recs(r, 0, 0);
    pz_recs_free(r);
  }
  span_rates(s, d->recs, &cpu_rate[RECOMMEND], &wall_rate[RECOMMEND]);

  /* item_count */
  uint64_t acc = 0;
  s = span_start();
  for (uint32_t c = 0; c < d->cheap; c++) {
    size_t n;
    int rc = pz_item_count(&n, e);
    if (rc != PZ_OK) die_pz("pz_item_count", rc);
    acc += n;
  }
  span_rates(s, d->cheap, &cpu_rate[ITEM_COUNT], &wall_rate[ITEM_COUNT]);

  /* event_count, cycling over the recommend sequence */
  uint32_t passes = d->cheap / d->recs;
  s = span_start();
  for (uint32_t p = 0; p < passes; p++)
    for (uint32_t c = 0; c < d->recs; c++) {
      size_t n;
      int rc = pz_profile_event_count(&n, e, d->user_id[d->rec_user[c]]);
      if (rc != PZ_OK) die_pz("pz_profile_event_count", rc);
      acc += n;
    }
  span_rates(s, (double)passes * d->recs, &cpu_rate[EVENT_COUNT],
             &wall_rate[EVENT_COUNT]);
  sink += acc;

  if (verify) { /* untimed */
    uint32_t h = FNV_INIT;
    for (uint32_t c = 0; c < d->recs; c++) {
      pz_recs *r = NULL;
      check("pz_recommend",
            pz_recommend(&r, e, d->user_id[d->rec_user[c]], K, &o));
      h = read_recs(r, 1, h);
      pz_recs_free(r);
    }
    for (uint32_t u = 0; u < d->users; u++) {
      size_t n;
      check("pz_profile_event_count",
            pz_profile_event_count(&n, e, d->user_id[u]));
      h = fnv_u32(h, (uint32_t)n);
    }
    size_t n;
    check("pz_item_count", pz_item_count(&n, e));
    *result_sum = fnv_u32(h, (uint32_t)n);
  }
  pz_engine_free(e);
  track_many_run(d, &cpu_rate[TRACK_MANY], &wall_rate[TRACK_MANY]);
}

/* ---- options and output ------------------------------------------------- */

static uint32_t parse_u32(const char *opt, const char *v, uint32_t lo) {
  char *end;
  unsigned long long x = v ? strtoull(v, &end, 10) : 0;
  if (!v || *end || x < lo || x > 100000000ull) {
    fprintf(stderr, BENCH_NAME ": %s needs a whole number from %u to 1e8\n",
            opt, lo);
    exit(2);
  }
  return (uint32_t)x;
}

static double peak_rss_kib(void) {
  struct rusage ru;
  return getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss : 0;
}

static void fmt_rate(char *buf, size_t cap, double r) {
  if (r >= 1e6)
    snprintf(buf, cap, "%.2f M/s", r / 1e6);
  else if (r >= 1e3)
    snprintf(buf, cap, "%.1f k/s", r / 1e3);
  else
    snprintf(buf, cap, "%.0f /s", r);
}

int main(int argc, char **argv) {
  data d = {.items = 5000, .users = 2000, .events = 200000, .recs = 2000,
            .cheap = 1000000};
  uint32_t rounds = 5;
  int kv = 0;
  (void)rss_bytes; /* common.h helpers this program does not use */
  (void)percentile;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--kv") == 0) {
      kv = 1;
      continue;
    }
    if (strcmp(a, "--items") == 0) d.items = parse_u32(a, v, K);
    else if (strcmp(a, "--users") == 0) d.users = parse_u32(a, v, 1);
    else if (strcmp(a, "--events") == 0) d.events = parse_u32(a, v, 1);
    else if (strcmp(a, "--recs") == 0) d.recs = parse_u32(a, v, 1);
    else if (strcmp(a, "--cheap") == 0) d.cheap = parse_u32(a, v, 1);
    else if (strcmp(a, "--rounds") == 0) rounds = parse_u32(a, v, 1);
    else {
      fprintf(stderr,
              "usage: bench_calls [--items N] [--users N] [--events N] "
              "[--recs N] [--cheap N] [--rounds N] [--kv]\n");
      return 2;
    }
    i++;
  }
  if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
  if (d.cheap < d.recs) d.cheap = d.recs;
  d.cheap -= d.cheap % d.recs; /* event_count cycles over the sequence */

  generate(&d);
  double cpu[N_OPS][MAX_ROUNDS], wall[N_OPS][MAX_ROUNDS];
  uint32_t result_sum = 0;
  for (uint32_t r = 0; r < rounds; r++) {
    double c[N_OPS], w[N_OPS];
    fprintf(stderr, BENCH_NAME ": round %u/%u...\n", r + 1, rounds);
    round_run(&d, c, w, r + 1 == rounds, &result_sum);
    for (int op = 0; op < N_OPS; op++) {
      cpu[op][r] = c[op];
      wall[op][r] = w[op];
    }
  }
  double rss = peak_rss_kib();

  if (kv) {
    printf("lang c\n");
    printf("data_checksum %08x\n", d.checksum);
    printf("result_checksum %08x\n", result_sum);
    printf("sizes items=%u features=%u users=%u events=%u recs=%u cheap=%u\n",
           d.items, FEATURES, d.users, d.events, d.recs, d.cheap);
    for (int op = 0; op < N_OPS; op++)
      for (uint32_t r = 0; r < rounds; r++)
        printf("rate %s %.6g %.6g\n", op_key[op], cpu[op][r], wall[op][r]);
    printf("maxrss_kib %.0f\n", rss);
    return 0;
  }

  char mach[512];
  machine(mach, sizeof mach);
  printf("\nlibpersonalize %s benchmark: C call rates (the baseline of "
         "tests/bench/bench_bindings.sh)\n",
         pz_version_string());
  printf("machine: %s\n", mach);
  printf("data:    xorshift32 seed %u: %u items x %u features, %u users, "
         "%u events (view/click/purchase 70/25/5), %u recommend calls, "
         "%u cheap calls; data checksum %08x, result checksum %08x\n",
         SEED, d.items, FEATURES, d.users, d.events, d.recs, d.cheap,
         d.checksum, result_sum);
  printf("median of %u rounds, each on a fresh engine (default config); "
         "rates per second of process CPU time, wall time beside\n\n",
         rounds);
  static const char *const label[N_OPS] = {
      "pz_track", "pz_recommend k=10 (+ reading fields)", "pz_item_count",
      "pz_profile_event_count", "pz_track_batch (per event)"};
  printf("| %-38s | %-14s | %-14s | %-10s |\n", "call", "calls/s (cpu)",
         "calls/s (wall)", "ns/call");
  printf("|%.40s|%.16s|%.16s|%.12s|\n",
         "------------------------------------------------------------",
         "------------------", "------------------", "---------------");
  for (int op = 0; op < N_OPS; op++) {
    double mc = median(cpu[op], rounds), mw = median(wall[op], rounds);
    char a[32], b[32], c[32];
    fmt_rate(a, sizeof a, mc);
    fmt_rate(b, sizeof b, mw);
    snprintf(c, sizeof c, "%.0f", 1e9 / mc);
    printf("| %-38s | %-14s | %-14s | %-10s |\n", label[op], a, b, c);
  }
  printf("\npeak RSS (ru_maxrss): %.1f MiB\n", rss / 1024.0);
  return 0;
}
