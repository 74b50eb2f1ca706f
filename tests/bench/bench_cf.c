/*
 * tests/bench/bench_cf.c - the collaborative-filtering scale benchmark of
 * libpersonalize.
 *
 *   bench_cf [--users N] [--items N] [--events N] [--seed S]
 *            [--requests N] [--runs N]
 *
 * On synthetic interactions from examples/synth.h (Zipf-skewed item
 * popularity and user activity, users who mostly stay with their tastes;
 * only (user, item) is kept: every event has type weight 1 and value 1),
 * loaded with pz_track into an engine that keeps every event
 * (profile.history_limit 100000) and has a fixed clock, it measures:
 *   1. load: pz_track events per second, one thread (events generated in
 *      memory beforehand; only the pz_track loop is timed);
 *   2. item-kNN (neighbours 100, weighting none, 2 threads): wall time of
 *      pz_cf_train (interaction matrix + kNN) and the model part alone
 *      (pz_cf_stats train_seconds);
 *   3. implicit ALS (64 factors, regularization 50, alpha 9, 3 sweeps) on
 *      2 threads and on 1: wall time, model time and seconds per sweep
 *      (model time / 3, which includes the Gram matrices, the loss after
 *      each sweep and the final fold-in factor);
 *   4. pz_recommend latency p50/p99 (k = 10, users drawn uniformly with a
 *      fixed seed, the same users for every model) with the kNN model, the
 *      ALS model and a `both` model (cf.als_share default), after 100
 *      warm-up calls;
 *   5. memory: the bytes the engine's allocator held at peak during each
 *      training (a counting allocator), the model's resting size (bytes
 *      after training minus before, with no model before), and the
 *      process's maximum resident set (getrusage) at the end.
 * Training figures are medians of --runs trainings (default 3; the `both`
 * model is trained once). Every
 * timed path goes through the public API as a user would call it.
 */
#include <personalize.h>

#include "../../examples/synth.h"
#define BENCH_NAME "bench_cf"
#include "common.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- fixed settings from the issue --------------------------------------- */
#define CF_THREADS 2u
#define KNN_NEIGHBOURS 100u
#define ALS_FACTORS 64u
#define ALS_ITERATIONS 3u
#define ALS_REG 50.0
#define ALS_ALPHA 9.0
#define REC_K 10u
#define WARMUP 100u
#define HISTORY_LIMIT 100000u
/* The engine's fixed clock: the end of synth.h's default data window. */
#define FIXED_NOW_MS 1767225600000LL

static const char config_yaml[] =
    "events: {view: 1}\n"
    "profile: {history_limit: 100000}\n";

/* ---- options ---------------------------------------------------------------- */

typedef struct opts {
  uint32_t users, items;
  uint64_t events, seed;
  uint32_t requests, runs;
} opts;




/* Median of n values, leaving them in place. */
static double median_of(const double *v, size_t n) {
  double *t = malloc(n * sizeof *t);
  if (!t) return v[0];
  memcpy(t, v, n * sizeof *t);
  double m = median(t, n);
  free(t);
  return m;
}




/* ---- a meter of who used the CPU --------------------------------------------
 * Over a phase: wall time, this process's CPU time (all its threads), and
 * from the first line of /proc/stat the CPU time the whole machine spent
 * busy and the time the hypervisor stole. Busy minus ours is what other
 * processes took: on a shared 2-core machine that explains a slow phase or
 * a training that did not get its second core. */

typedef struct meter {
  double wall, cpu;                   /* at the start */
  unsigned long long busy, steal, all; /* jiffies at the start */
  int have_stat;
} meter;

typedef struct cpu_use {
  double wall, cpu;   /* seconds */
  double others;      /* cores used by other processes on average, or -1 */
  double steal;       /* share of the machine's time stolen, or -1 */
} cpu_use;

static int read_stat(unsigned long long *busy, unsigned long long *steal,
                     unsigned long long *all) {
  unsigned long long v[8] = {0};
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return 0;
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                 &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n != 8) return 0;
  /* user nice system idle iowait irq softirq steal */
  *busy = v[0] + v[1] + v[2] + v[5] + v[6];
  *steal = v[7];
  *all = *busy + v[3] + v[4] + v[7];
  return 1;
}

static void meter_start(meter *m) {
  m->have_stat = read_stat(&m->busy, &m->steal, &m->all);
  m->cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
  m->wall = now_s();
}

static void meter_stop(const meter *m, cpu_use *u) {
  u->wall = now_s() - m->wall;
  u->cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - m->cpu;
  u->others = u->steal = -1;
  unsigned long long busy, steal, all;
  long hz = sysconf(_SC_CLK_TCK);
  if (!m->have_stat || hz <= 0 || !read_stat(&busy, &steal, &all) ||
      u->wall <= 0)
    return;
  double others = ((double)(busy - m->busy) / (double)hz - u->cpu) / u->wall;
  u->others = others > 0 ? others : 0; /* jiffies are coarse */
  u->steal = all > m->all ? (double)(steal - m->steal) /
                                (double)(all - m->all)
                          : 0;
}

/* "CPU 12.3 s = 1.97 cores; others 0.02" into buf. */
static void usage_text(const cpu_use *u, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "CPU %.2f s = %.2f cores", u->cpu,
                   u->wall > 0 ? u->cpu / u->wall : 0);
  if (n > 0 && (size_t)n < cap && u->others >= 0)
    snprintf(buf + n, cap - (size_t)n, "; others %.2f", u->others);
}

/* the counting allocator (counter, count_alloc...) is in common.h */


static double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

/* ---- the machine ------------------------------------------------------------ */


/* ---- data ------------------------------------------------------------------ */

typedef struct pair {
  uint32_t user, item;
} pair;

typedef struct dataset {
  uint32_t users, items;
  char (*user_ids)[SYNTH_ID_MAX];
  char (*item_ids)[SYNTH_ID_MAX];
  pair *ev; /* the whole stream, generated before timing */
  size_t n_ev;
} dataset;

/* synth.h's event stream, reduced to (user, item): its skew (Zipf item
 * popularity, Zipf user activity, tastes) is what matters to CF. */
static void dataset_make(dataset *d, const opts *o) {
  synth_params p;
  synth_params_default(&p);
  p.users = o->users;
  p.items = o->items;
  p.events = o->events;
  p.seed = o->seed;
  p.features_per_item = 0; /* not needed: the items get no features */
  synth s;
  if (synth_init(&s, &p) != 0) {
    fprintf(stderr, "bench_cf: cannot generate the catalogue\n");
    exit(1);
  }
  memset(d, 0, sizeof *d);
  d->users = p.users;
  d->items = p.items;
  d->user_ids = xmalloc((size_t)p.users * sizeof *d->user_ids);
  d->item_ids = xmalloc((size_t)p.items * sizeof *d->item_ids);
  for (uint32_t u = 0; u < p.users; u++)
    synth_user_id(u, d->user_ids[u], sizeof d->user_ids[u]);
  for (uint32_t i = 0; i < p.items; i++)
    synth_item_id(i, d->item_ids[i], sizeof d->item_ids[i]);
  d->ev = xmalloc((size_t)p.events * sizeof *d->ev);
  synth_event ev;
  while (d->n_ev < p.events && synth_next_event(&s, &ev) == 0)
    d->ev[d->n_ev++] = (pair){ev.user, ev.item};
  synth_free(&s);
}

static void dataset_free(dataset *d) {
  free(d->user_ids);
  free(d->item_ids);
  free(d->ev);
  memset(d, 0, sizeof *d);
}

/* ---- engine ---------------------------------------------------------------- */

static int64_t fixed_clock(void *ud) { return *(const int64_t *)ud; }
static int64_t the_time = FIXED_NOW_MS;

static pz_engine *open_counted(counter *c) {
  pz_engine_options o;
  int rc = pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
  if (rc) die_pz("pz_engine_options_init", rc);
  o.alloc = count_alloc;
  o.alloc_ud = c;
  o.config_text = config_yaml;
  o.config_len = strlen(config_yaml);
  pz_engine *e = NULL;
  if ((rc = pz_engine_open_with(&e, &o))) die_pz("pz_engine_open_with", rc);
  if ((rc = pz_engine_set_clock(e, fixed_clock, &the_time)))
    die_pz("pz_engine_set_clock", rc);
  return e;
}

/* Events per second of the pz_track loop. */
static double load(pz_engine *e, const dataset *d) {
  double t0 = now_s();
  for (size_t i = 0; i < d->n_ev; i++) {
    int rc = pz_track(e, d->user_ids[d->ev[i].user], d->item_ids[d->ev[i].item],
                      "view", 1.0, 0);
    if (rc) die_pz("pz_track", rc);
  }
  return (double)d->n_ev / (now_s() - t0);
}

/* ---- training -------------------------------------------------------------- */

typedef struct train_result {
  double wall;        /* pz_cf_train, seconds */
  cpu_use use;          /* CPU use meanwhile */
  double model;       /* pz_cf_stats train_seconds */
  size_t before;      /* allocator bytes before (no model) */
  size_t peak;        /* allocator bytes at peak during the training */
  size_t after;       /* allocator bytes after */
  pz_cf_stats stats;
} train_result;

static void cf_opts(pz_cf_options *o, int algorithm, uint32_t threads) {
  int rc = pz_cf_options_init(o, PZ_CF_OPTIONS_VERSION);
  if (rc) die_pz("pz_cf_options_init", rc);
  o->algorithm = algorithm;
  o->threads = threads;
  o->neighbours = KNN_NEIGHBOURS;
  o->weighting = PZ_CF_WEIGHT_NONE;
  o->factors = ALS_FACTORS;
  o->iterations = ALS_ITERATIONS;
  o->regularization = ALS_REG;
  o->alpha = ALS_ALPHA;
}

/* Drop the serving model, so that "before" holds none. */
static void drop_model(pz_engine *e) {
  pz_cf_options o;
  cf_opts(&o, PZ_CF_OFF, 1);
  int rc = pz_cf_train(e, &o);
  if (rc) die_pz("pz_cf_train (off)", rc);
}

static void train(pz_engine *e, counter *c, int algorithm, uint32_t threads,
                  train_result *r) {
  pz_cf_options o;
  cf_opts(&o, algorithm, threads);
  drop_model(e);
  r->before = live_bytes(c);
  peak_reset(c);
  meter mt;
  meter_start(&mt);
  int rc = pz_cf_train(e, &o);
  meter_stop(&mt, &r->use);
  r->wall = r->use.wall;
  if (rc) die_pz("pz_cf_train", rc);
  r->peak = atomic_load(&c->peak);
  r->after = live_bytes(c);
  r->stats.version = PZ_CF_STATS_VERSION;
  if ((rc = pz_cf_stats_get(&r->stats, e))) die_pz("pz_cf_stats_get", rc);
  r->model = r->stats.train_seconds;
}

/* `runs` trainings; *med gets the medians of wall and model time, the
 * memory figures of the last run (they do not vary) and its stats. */
static void train_runs(pz_engine *e, counter *c, int algorithm,
                       uint32_t threads, uint32_t runs, const char *what,
                       train_result *med) {
  double *wall = xmalloc(runs * sizeof *wall);
  double *model = xmalloc(runs * sizeof *model);
  cpu_use *use = xmalloc(runs * sizeof *use);
  for (uint32_t i = 0; i < runs; i++) {
    char u[96];
    fprintf(stderr, "bench_cf: training %s, run %u/%u...", what, i + 1, runs);
    train(e, c, algorithm, threads, med);
    usage_text(&med->use, u, sizeof u);
    fprintf(stderr, " %.2f s (model %.2f s; %s)\n", med->wall, med->model,
            u);
    wall[i] = med->wall;
    model[i] = med->model;
    use[i] = med->use;
  }
  /* the CPU use shown is that of the run closest to the median wall time */
  double mw = median_of(wall, runs);
  uint32_t mid = 0;
  for (uint32_t i = 1; i < runs; i++)
    if (fabs(use[i].wall - mw) < fabs(use[mid].wall - mw)) mid = i;
  med->use = use[mid];
  med->wall = median(wall, runs);
  med->model = median(model, runs);
  free(wall);
  free(model);
  free(use);
}

/* ---- recommend latency ---------------------------------------------------- */

typedef struct latency {
  double p50_ms, p99_ms, max_ms; /* wall clock */
  double cpu_p50_ms, cpu_p99_ms; /* this thread's CPU time */
  uint32_t short_lists;          /* calls that got fewer than k items */
  cpu_use use;                     /* CPU use over the timed calls */
} latency;

static void recommend_round(pz_engine *e, const dataset *d, uint64_t seed,
                            uint32_t n, latency *out) {
  pz_recommend_options o;
  int rc = pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  if (rc) die_pz("pz_recommend_options_init", rc);
  double *ms = xmalloc(n * sizeof *ms);
  double *cpu = xmalloc(n * sizeof *cpu);
  meter mt;
  synth_rng r = synth_rng_for(seed, 7, 0);
  out->short_lists = 0;
  for (uint32_t i = 0; i < n + WARMUP; i++) {
    if (i == WARMUP) meter_start(&mt);
    const char *user = d->user_ids[synth_below(&r, d->users)];
    pz_recs *recs = NULL;
    double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), t0 = now_s();
    rc = pz_recommend(&recs, e, user, REC_K, &o);
    double t1 = now_s(), c1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    if (rc) die_pz("pz_recommend", rc);
    size_t got = pz_recs_count(recs);
    pz_recs_free(recs);
    if (i >= WARMUP) {
      ms[i - WARMUP] = (t1 - t0) * 1e3;
      cpu[i - WARMUP] = (c1 - c0) * 1e3;
      out->short_lists += got < REC_K;
    }
  }
  meter_stop(&mt, &out->use);
  qsort(cpu, n, sizeof *cpu, cmp_double);
  out->cpu_p50_ms = percentile(cpu, n, 0.50);
  out->cpu_p99_ms = percentile(cpu, n, 0.99);
  qsort(ms, n, sizeof *ms, cmp_double);
  out->p50_ms = percentile(ms, n, 0.50);
  out->p99_ms = percentile(ms, n, 0.99);
  out->max_ms = ms[n - 1];
  free(ms);
  free(cpu);
}

/* ---- output ------------------------------------------------------------------ */

static void row(const char *figure, const char *measured, const char *note) {
  printf("| %-50s | %-24s | %-44s |\n", figure, measured, note);
}

static void rule(void) {
  printf("|%.52s|%.26s|%.46s|\n",
         "----------------------------------------------------",
         "--------------------------", "----------------------------------"
                                       "------------");
}

static void train_rows(const char *name, const train_result *r,
                       int per_iteration) {
  char f[96], m[64], n[96];
  snprintf(f, sizeof f, "%s: pz_cf_train wall", name);
  snprintf(m, sizeof m, "%.3f s", r->wall);
  usage_text(&r->use, n, sizeof n);
  row(f, m, n);
  snprintf(f, sizeof f, "%s: model (stats train_seconds)", name);
  snprintf(m, sizeof m, "%.3f s", r->model);
  snprintf(n, sizeof n, "matrix build = wall - model: %.3f s",
           r->wall - r->model);
  row(f, m, n);
  if (per_iteration) {
    snprintf(f, sizeof f, "%s: seconds per iteration", name);
    snprintf(m, sizeof m, "%.3f s", r->model / ALS_ITERATIONS);
    snprintf(n, sizeof n, "train_seconds / %u (incl. loss, fold-in)",
             ALS_ITERATIONS);
    row(f, m, n);
  }
  snprintf(f, sizeof f, "%s: allocator peak during training", name);
  snprintf(m, sizeof m, "%.1f MiB", mib((double)r->peak));
  snprintf(n, sizeof n, "+%.1f MiB over the %.1f MiB before",
           mib((double)(r->peak - r->before)), mib((double)r->before));
  row(f, m, n);
  snprintf(f, sizeof f, "%s: model resting size", name);
  snprintf(m, sizeof m, "%.1f MiB", mib((double)r->after - (double)r->before));
  row(f, m, "allocator after - before (no model before)");
}

static void latency_rows(const char *name, const latency *l, uint32_t n) {
  char f[96], m[64], t[96];
  snprintf(f, sizeof f, "recommend k=%u, %s model: p50 / p99", REC_K, name);
  snprintf(m, sizeof m, "%.3f / %.3f ms", l->p50_ms, l->p99_ms);
  snprintf(t, sizeof t, "%u calls after %u warm-up; max %.3f ms", n, WARMUP,
           l->max_ms);
  row(f, m, t);
  snprintf(f, sizeof f, "  thread CPU time p50 / p99");
  snprintf(m, sizeof m, "%.3f / %.3f ms", l->cpu_p50_ms, l->cpu_p99_ms);
  if (l->use.others >= 0)
    snprintf(t, sizeof t, "others %.2f cores, stolen %.1f %%; short %u",
             l->use.others, l->use.steal * 100, l->short_lists);
  else
    snprintf(t, sizeof t, "short lists (< %u items) %u", REC_K, l->short_lists);
  row(f, m, t);
}

/* ---- options ------------------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(f, "usage: bench_cf [--users N] [--items N] [--events N] "
             "[--seed S]\n"
             "                [--requests N] [--runs N]\n"
             "Defaults: 100000 users, 50000 items, 10000000 events, seed 42,\n"
             "          2000 requests per model, 3 training runs per figure (medians)\n");
}

static void parse(int argc, char **argv, opts *o) {
  o->users = 100000;
  o->items = 50000;
  o->events = 10000000;
  o->seed = 42;
  o->requests = 2000;
  o->runs = 3;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
      usage(stdout);
      exit(0);
    }
    uint64_t v;
    uint64_t lo = 1, hi = UINT32_MAX - 3;
    if (strcmp(opt, "--seed") == 0) lo = 0, hi = UINT64_MAX;
    else if (strcmp(opt, "--events") == 0) hi = 1000000000;
    else if (strcmp(opt, "--requests") == 0) hi = 100000000;
    else if (strcmp(opt, "--runs") == 0) hi = 100;
    else if (strcmp(opt, "--users") && strcmp(opt, "--items")) {
      fprintf(stderr, "bench_cf: unknown option %s\n", opt);
      usage(stderr);
      exit(2);
    }
    if (i + 1 >= argc || synth_parse_u64(argv[i + 1], lo, hi, &v)) {
      fprintf(stderr, "bench_cf: %s needs a whole number from %llu to %llu\n",
              opt, (unsigned long long)lo, (unsigned long long)hi);
      exit(2);
    }
    i++;
    if (strcmp(opt, "--users") == 0) o->users = (uint32_t)v;
    else if (strcmp(opt, "--items") == 0) o->items = (uint32_t)v;
    else if (strcmp(opt, "--events") == 0) o->events = v;
    else if (strcmp(opt, "--requests") == 0) o->requests = (uint32_t)v;
    else if (strcmp(opt, "--runs") == 0) o->runs = (uint32_t)v;
    else o->seed = v;
  }
  if (o->items < REC_K) {
    fprintf(stderr, "bench_cf: --items must be at least %u (k = %u)\n", REC_K,
            REC_K);
    exit(2);
  }
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv) {
  opts o;
  parse(argc, argv, &o);
  char mach[512], cmd[512];
  machine(mach, sizeof mach);
  snprintf(cmd, sizeof cmd,
           "%s --users %u --items %u --events %llu --seed %llu --requests %u "
           "--runs %u",
           argv[0], o.users, o.items, (unsigned long long)o.events,
           (unsigned long long)o.seed, o.requests, o.runs);
  double t_start = now_s(), t_phase;
  meter whole;
  cpu_use whole_use;
  meter_start(&whole);
  double ph_gen, ph_load, ph_knn, ph_als2, ph_als1, ph_both, ph_rec = 0;

  fprintf(stderr, "bench_cf: generating %llu events...\n",
          (unsigned long long)o.events);
  t_phase = now_s();
  dataset d;
  dataset_make(&d, &o);
  ph_gen = now_s() - t_phase;

  /* 1: load */
  fprintf(stderr, "bench_cf: loading %zu events with pz_track...\n", d.n_ev);
  counter c;
  atomic_init(&c.live, 0);
  atomic_init(&c.peak, 0);
  t_phase = now_s();
  pz_engine *e = open_counted(&c);
  double rss0 = rss_bytes();
  meter mt;
  cpu_use load_use;
  meter_start(&mt);
  double eps = load(e, &d);
  meter_stop(&mt, &load_use);
  double load_s = (double)d.n_ev / eps;
  double rss_load = rss_bytes() - rss0;
  size_t live_loaded = live_bytes(&c);
  size_t n_profiles = 0;
  int rc = pz_profile_count(&n_profiles, e);
  if (rc) die_pz("pz_profile_count", rc);
  ph_load = now_s() - t_phase;

  /* 2, 4: kNN, then its latency */
  train_result knn, als2, als1, both;
  latency l_knn, l_als, l_both;
  t_phase = now_s();
  train_runs(e, &c, PZ_CF_KNN, CF_THREADS, o.runs, "kNN (2 threads)", &knn);
  ph_knn = now_s() - t_phase;
  fprintf(stderr, "bench_cf: %u recommend calls (kNN)...\n", o.requests);
  t_phase = now_s();
  recommend_round(e, &d, o.seed, o.requests, &l_knn);
  ph_rec += now_s() - t_phase;

  /* 3: ALS on 1 thread, then on 2 (which stays for the latency figure) */
  t_phase = now_s();
  train_runs(e, &c, PZ_CF_ALS, 1, o.runs, "ALS (1 thread)", &als1);
  ph_als1 = now_s() - t_phase;
  t_phase = now_s();
  train_runs(e, &c, PZ_CF_ALS, CF_THREADS, o.runs, "ALS (2 threads)", &als2);
  ph_als2 = now_s() - t_phase;
  double loss[ALS_ITERATIONS];
  size_t n_loss = 0;
  if ((rc = pz_cf_loss(loss, ALS_ITERATIONS, &n_loss, e)))
    die_pz("pz_cf_loss", rc);
  fprintf(stderr, "bench_cf: %u recommend calls (ALS)...\n", o.requests);
  t_phase = now_s();
  recommend_round(e, &d, o.seed, o.requests, &l_als);
  ph_rec += now_s() - t_phase;

  /* both models (once: its parts are timed above), then its latency */
  t_phase = now_s();
  train_runs(e, &c, PZ_CF_BOTH, CF_THREADS, 1, "both (2 threads)", &both);
  ph_both = now_s() - t_phase;
  fprintf(stderr, "bench_cf: %u recommend calls (both)...\n", o.requests);
  t_phase = now_s();
  recommend_round(e, &d, o.seed, o.requests, &l_both);
  ph_rec += now_s() - t_phase;

  /* 5: the process's peak resident set, with everything still held */
  struct rusage ru;
  double maxrss = getrusage(RUSAGE_SELF, &ru) == 0
                      ? (double)ru.ru_maxrss * 1024.0 /* kB on Linux */
                      : 0;
  size_t live_end = live_bytes(&c), peak_all = atomic_load(&c.peak);
  double own = (double)d.n_ev * sizeof *d.ev +
               (double)d.users * sizeof *d.user_ids +
               (double)d.items * sizeof *d.item_ids;
  pz_engine_free(e);
  size_t leaked = live_bytes(&c);
  double total_s = now_s() - t_start;
  meter_stop(&whole, &whole_use);

  /* ---- the table ---- */
  const pz_cf_stats *s = &knn.stats;
  char m[64], n[96];
  printf("\nlibpersonalize %s CF benchmark\n", pz_version_string());
  printf("machine: %s\n", mach);
  printf("data:    synthetic (examples/synth.h event stream, (user, item) "
         "only): %u users x %u items x %zu events,\n"
         "         Zipf item popularity (s = 1.0) and user activity "
         "(s = 0.6), seed %llu; pz_track type weight 1, value 1,\n"
         "         fixed clock, profile.history_limit %u (no event "
         "dropped)\n",
         o.users, o.items, d.n_ev, (unsigned long long)o.seed, HISTORY_LIMIT);
  printf("command: %s\n", cmd);
  printf("model:   %u users x %u items, %llu interactions (nonzero cells "
         "after summing repeats); %zu profiles\n",
         s->users, s->items, (unsigned long long)s->interactions, n_profiles);
  printf("training figures: median of %u run%s; kNN neighbours %u, weighting "
         "none; ALS factors %u, regularization %g,\n"
         "         alpha %g, %u iterations, cg_steps default (3); threads %u "
         "unless said\n",
         o.runs, o.runs == 1 ? "" : "s", KNN_NEIGHBOURS, ALS_FACTORS, ALS_REG,
         ALS_ALPHA, ALS_ITERATIONS, CF_THREADS);
  printf("CPU use: this process's CPU time / wall time (cores), of the "
         "median run; \"others\": cores other processes used meanwhile\n\n");
  printf("| %-50s | %-24s | %-44s |\n", "figure", "measured", "note");
  rule();

  snprintf(m, sizeof m, "%.2f M events/s", eps / 1e6);
  snprintf(n, sizeof n, "%zu events in %.1f s, 1 thread", d.n_ev, load_s);
  row("load: pz_track", m, n);
  usage_text(&load_use, n, sizeof n);
  row("  load CPU use", "", n);
  snprintf(m, sizeof m, "%.1f MiB", mib((double)live_loaded));
  snprintf(n, sizeof n, "RSS grew %.1f MiB during the load", mib(rss_load));
  row("  engine allocator after the load", m, n);

  train_rows("kNN", &knn, 0);
  snprintf(m, sizeof m, "%u", knn.stats.threads);
  row("  kNN threads used", m, "");

  train_rows("ALS 2 threads", &als2, 1);
  train_rows("ALS 1 thread", &als1, 1);
  snprintf(m, sizeof m, "%.2fx", als2.model > 0 ? als1.model / als2.model : 0);
  snprintf(n, sizeof n, "wall: %.2fx",
           als2.wall > 0 ? als1.wall / als2.wall : 0);
  row("ALS scaling: 1-thread / 2-thread model time", m, n);
  if (n_loss == ALS_ITERATIONS) {
    snprintf(m, sizeof m, "%.4f, %.4f, %.4f", loss[0], loss[1], loss[2]);
    row("  ALS loss after each sweep (2 threads)", m, "pz_cf_loss");
  }

  train_rows("both (one run)", &both, 0);

  latency_rows("kNN", &l_knn, o.requests);
  latency_rows("ALS", &l_als, o.requests);
  latency_rows("both", &l_both, o.requests);

  snprintf(m, sizeof m, "%.1f MiB", mib(maxrss));
  snprintf(n, sizeof n, "incl. the bench's own data, %.1f MiB", mib(own));
  row("peak memory: max resident set (ru_maxrss)", m, n);
  snprintf(m, sizeof m, "%.1f MiB", mib((double)peak_all));
  snprintf(n, sizeof n, "at the end, with the both model: %.1f MiB",
           mib((double)live_end));
  row("  engine allocator, peak over the whole run", m, n);

  printf("\nphases (wall s): generate %.1f, load %.1f, kNN %.1f, ALS 1 "
         "thread %.1f, ALS 2 threads %.1f,\n"
         "  both %.1f, recommend %.1f; total %.1f (each training also drops "
         "the model first)\n",
         ph_gen, ph_load, ph_knn, ph_als1, ph_als2, ph_both, ph_rec, total_s);
  if (whole_use.others >= 0)
    printf("other processes used %.2f cores on average meanwhile (the "
           "\"others\" figures; 0 on a quiet machine)\n",
           whole_use.others);
  if (leaked) printf("warning: %zu bytes still held after pz_engine_free\n",
                     leaked);

  dataset_free(&d);
  return 0;
}
