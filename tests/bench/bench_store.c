/*
 * tests/bench/bench_store.c - the persistence benchmark of libpersonalize:
 * snapshots, the write journal, and pz_recommend throughput on threads.
 *
 *   bench_store [--quick] [--section all|snapshot|journal|threads]
 *               [--runs N] [--seed S] [--dir DIR] [--seconds S]
 *               [--users N] [--items N] [--events-per-user N]
 *               [--als-users N] [--als-items N] [--als-events N]
 *               [--journal-ops N] [--always-ops N]
 *               [--rec-users N] [--rec-items N] [--rec-events N]
 *
 * On synthetic data from examples/synth.h, with the engine's clock fixed
 * at the data's end, it measures:
 *   1. snapshots: pz_engine_save and pz_engine_load times (median of
 *      --runs), file size, MB/s and the allocator bytes of the saved and
 *      the loaded engine, for (a) an engine of 100,000 profiles (events,
 *      4 attributes each, items with features, no CF model) and (b) an
 *      engine holding an ALS model of 50,000 items (64 factors, trained
 *      once). Each load is checked: the same profile and item counts, the
 *      same model, and the same top-10 for a few users as the original.
 *      Loads run twice per run: with the file in the page cache (it was
 *      just written) and after posix_fadvise(DONTNEED) has dropped it.
 *   2. the journal: single-thread pz_track calls per second without a
 *      journal and with one under each fsync policy (never, interval 1s,
 *      always), on an engine loaded from a snapshot of the catalogue; per
 *      call p50/p99; then `always` with 2 writer threads. A wrapper in this
 *      program counts the library's fdatasync calls, which shows whether
 *      concurrent writers share them (group commit).
 *   3. threads: pz_recommend (k = 10, random users) queries per second on
 *      1, 2 and 4 threads sharing one engine with a trained ALS model, for
 *      a fixed time per round; rounds interleave the thread counts.
 * Every API call is checked; a failure stops the program with pz_errmsg().
 * Files go to a fresh directory under --dir (default /tmp), removed at
 * exit. --quick shrinks everything for a smoke run (a few seconds).
 */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* syscall(), for the fdatasync counter below */
#endif
#include <personalize.h>

#include "../../examples/synth.h"
#define BENCH_NAME "bench_store"
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

/* ---- fixed settings ------------------------------------------------------ */
#define ALS_FACTORS 64u
#define ALS_ITERATIONS 3u /* the model's size, not its quality, matters */
#define ALS_REG 50.0
#define ALS_ALPHA 9.0
#define TRAIN_THREADS 2u
#define REC_K 10u
#define CHECK_USERS 5u /* users whose top-10 is compared after a load */
#define WARMUP 200u    /* untimed recommend calls before the rounds */
#define FEATURES 8u    /* per item */

static const unsigned thread_counts[] = {1, 2, 4};
#define N_TC (sizeof thread_counts / sizeof *thread_counts)

/* ---- the fdatasync counter --------------------------------------------------
 * The library is linked in statically, so this definition takes the place
 * of libc's for its calls too: the only way to see from outside how many
 * disk syncs the journal issued, and so whether concurrent writers under
 * `fsync: always` share them. It forwards to the system call; an atomic
 * increment is nothing beside a sync. */
static atomic_ulong n_fdatasync;

#if defined(__linux__) && defined(SYS_fdatasync)
#define HAVE_SYNC_COUNT 1
int fdatasync(int fd) {
  atomic_fetch_add_explicit(&n_fdatasync, 1, memory_order_relaxed);
  return (int)syscall(SYS_fdatasync, fd);
}
#else
#define HAVE_SYNC_COUNT 0
#endif

/* ---- options ------------------------------------------------------------- */

typedef struct opts {
  int quick;
  int snapshot, journal, threads; /* sections that run */
  uint32_t runs;
  uint64_t seed;
  double seconds; /* per recommend round */
  const char *dir;
  uint32_t users, items, epu;       /* 1a: profiles engine */
  uint32_t als_users, als_items;    /* 1b: ALS engine */
  uint64_t als_events;
  uint32_t journal_ops, always_ops; /* 2 */
  uint32_t rec_users, rec_items;    /* 3 */
  uint64_t rec_events;
} opts;

/* The counting allocator (common.h) is used for saves and loads; the
 * thread section does not use it: a shared counter would put contention
 * into the scaling. */

static double mib(double bytes) { return bytes / (1024.0 * 1024.0); }
static double mb(double bytes) { return bytes / 1e6; }

/* ---- CPU use over a phase -------------------------------------------------
 * As in bench_cf.c: this process's CPU time over wall time (cores used),
 * and from /proc/stat the cores other processes used and the share of the
 * machine's time the hypervisor stole. On a shared 2-core VM these explain
 * a phase that did not get its cores. */

typedef struct meter {
  double wall, cpu;
  unsigned long long busy, steal, all; /* jiffies at the start */
  int have_stat;
} meter;

typedef struct cpu_use {
  double wall;   /* seconds */
  double cores;  /* ours: CPU time / wall time */
  double others; /* cores used by other processes on average, or -1 */
  double steal;  /* share of the machine's time stolen, or -1 */
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
  double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - m->cpu;
  u->cores = u->wall > 0 ? cpu / u->wall : 0;
  u->others = u->steal = -1;
  unsigned long long busy, steal, all;
  long hz = sysconf(_SC_CLK_TCK);
  if (!m->have_stat || hz <= 0 || !read_stat(&busy, &steal, &all) ||
      u->wall <= 0 || all <= m->all)
    return;
  double others = ((double)(busy - m->busy) / (double)hz - cpu) / u->wall;
  u->others = others > 0 ? others : 0; /* jiffies are coarse */
  u->steal = (double)(steal - m->steal) / (double)(all - m->all);
}

/* The closing line of a section's table. */
static void use_line(const cpu_use *u) {
  if (u->others < 0) return;
  printf("\nCPU meanwhile (the section's %.1f s, setup included): this "
         "process %.2f cores, other processes %.2f\n(0 on a quiet machine), "
         "stolen by the hypervisor %.1f %%.\n",
         u->wall, u->cores, u->others, u->steal * 100);
}

/* ---- the temporary directory ----------------------------------------------- */

static char tmp_dir[PATH_MAX];

/* Remove the directory and the files in it (it holds no subdirectories).
 * Runs at exit, so a failed check still leaves /tmp clean. */
static void tmp_cleanup(void) {
  if (!tmp_dir[0]) return;
  DIR *d = opendir(tmp_dir);
  if (d) {
    struct dirent *de;
    char path[PATH_MAX + 256];
    while ((de = readdir(d))) {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      snprintf(path, sizeof path, "%s/%s", tmp_dir, de->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(tmp_dir);
  tmp_dir[0] = 0;
}

static void tmp_make(const char *parent) {
  int n = snprintf(tmp_dir, sizeof tmp_dir, "%s/pz_bench_store.XXXXXX",
                   parent);
  if (n < 0 || (size_t)n >= sizeof tmp_dir || !mkdtemp(tmp_dir)) {
    fprintf(stderr, BENCH_NAME ": cannot make a directory in %s: %s\n",
            parent, strerror(errno));
    tmp_dir[0] = 0;
    exit(1);
  }
  atexit(tmp_cleanup);
}

static void tmp_path(char *buf, size_t cap, const char *name) {
  int n = snprintf(buf, cap, "%s/%s", tmp_dir, name);
  if (n < 0 || (size_t)n >= cap) {
    fprintf(stderr, BENCH_NAME ": path too long in %s\n", tmp_dir);
    exit(1);
  }
}

static double file_size(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, BENCH_NAME ": %s: %s\n", path, strerror(errno));
    exit(1);
  }
  return (double)st.st_size;
}

/* Drop the file's pages from the page cache (they are clean: the save
 * synced them), so that the next load reads the disk. Only this file is
 * touched; the host under a VM may still cache it. */
static void evict(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) {
    fprintf(stderr, BENCH_NAME ": cannot evict %s from the page cache\n",
            path);
    exit(1);
  }
  close(fd);
}

/* The file system the directory lives on, from /proc/mounts (longest
 * mount point that is a prefix of dir): "ext4 on /dev/vda". */
static void fs_of(const char *dir, char *buf, size_t cap) {
  char real[PATH_MAX], line[1024], dev[256], mnt[512], type[64];
  size_t best = 0;
  snprintf(buf, cap, "unknown file system");
  if (!realpath(dir, real)) return;
  FILE *f = fopen("/proc/mounts", "r");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "%255s %511s %63s", dev, mnt, type) != 3) continue;
    size_t n = strlen(mnt);
    int prefix = strncmp(real, mnt, n) == 0 &&
                 (real[n] == '/' || real[n] == 0 || strcmp(mnt, "/") == 0);
    if (prefix && n >= best) {
      best = n;
      snprintf(buf, cap, "%.63s on %.200s", type, dev);
    }
  }
  fclose(f);
}

/* ---- data ------------------------------------------------------------------ */

typedef struct dataset {
  synth s;
  char (*user_ids)[SYNTH_ID_MAX];
  char (*item_ids)[SYNTH_ID_MAX];
  char (*ftext)[SYNTH_FEATURE_MAX];
  const char **fptr; /* items * FEATURES pointers into ftext */
  synth_event *ev;   /* the stream, generated before timing */
  size_t n_ev;
} dataset;

static void dataset_make(dataset *d, uint32_t users, uint32_t items,
                         uint64_t events, uint64_t seed) {
  synth_params p;
  synth_params_default(&p);
  p.users = users;
  p.items = items;
  p.events = events;
  p.seed = seed;
  p.features_per_item = FEATURES;
  memset(d, 0, sizeof *d);
  if (synth_init(&d->s, &p) != 0) {
    fprintf(stderr, BENCH_NAME ": cannot generate the catalogue\n");
    exit(1);
  }
  d->user_ids = xmalloc((size_t)users * sizeof *d->user_ids);
  d->item_ids = xmalloc((size_t)items * sizeof *d->item_ids);
  for (uint32_t u = 0; u < users; u++)
    synth_user_id(u, d->user_ids[u], sizeof d->user_ids[u]);
  for (uint32_t i = 0; i < items; i++)
    synth_item_id(i, d->item_ids[i], sizeof d->item_ids[i]);
  size_t nf = (size_t)items * FEATURES;
  d->ftext = xmalloc(nf * sizeof *d->ftext);
  d->fptr = xmalloc(nf * sizeof *d->fptr);
  for (uint32_t i = 0; i < items; i++)
    for (unsigned j = 0; j < FEATURES; j++) {
      size_t k = (size_t)i * FEATURES + j;
      synth_feature(&d->s.items[i], j, d->ftext[k], sizeof d->ftext[k]);
      d->fptr[k] = d->ftext[k];
    }
  d->ev = xmalloc((size_t)events * sizeof *d->ev);
  while (d->n_ev < events && synth_next_event(&d->s, &d->ev[d->n_ev]) == 0)
    d->n_ev++;
}

/* The event stream is the big part; free it once it is ingested. */
static void dataset_drop_events(dataset *d) {
  free(d->ev);
  d->ev = NULL;
}

static void dataset_free(dataset *d) {
  free(d->user_ids);
  free(d->item_ids);
  free(d->ftext);
  free(d->fptr);
  free(d->ev);
  synth_free(&d->s);
  memset(d, 0, sizeof *d);
}

/* ---- engines ----------------------------------------------------------------- */

static int64_t fixed_clock(void *ud) { return *(const int64_t *)ud; }

/* The end of synth.h's default data window, for every dataset here (they
 * all use the default start and span). */
static int64_t the_time;

static void engine_opts(pz_engine_options *o, counter *c, const char *yaml) {
  int rc = pz_engine_options_init(o, PZ_ENGINE_OPTIONS_VERSION);
  if (rc) die_pz("pz_engine_options_init", rc);
  if (c) {
    o->alloc = count_alloc;
    o->alloc_ud = c;
  }
  o->clock = fixed_clock;
  o->clock_ud = &the_time;
  if (yaml) {
    o->config_text = yaml;
    o->config_len = strlen(yaml);
  }
}

/* An engine with the default configuration; c NULL: libc's allocator. */
static pz_engine *engine_open(counter *c) {
  pz_engine_options o;
  engine_opts(&o, c, NULL);
  pz_engine *e = NULL;
  int rc = pz_engine_open_with(&e, &o);
  if (rc) die_pz("pz_engine_open_with", rc);
  return e;
}

static void load_items(pz_engine *e, const dataset *d) {
  for (uint32_t i = 0; i < d->s.p.items; i++) {
    int rc = pz_item_put(e, d->item_ids[i], d->fptr + (size_t)i * FEATURES,
                         NULL, FEATURES);
    if (rc) die_pz("pz_item_put", rc);
  }
}

static void track(pz_engine *e, const dataset *d, const synth_event *ev) {
  int rc = pz_track(e, d->user_ids[ev->user], d->item_ids[ev->item],
                    synth_type_names[ev->type], ev->value, ev->ts_ms);
  if (rc) die_pz("pz_track", rc);
}

static void ingest(pz_engine *e, const dataset *d) {
  for (size_t i = 0; i < d->n_ev; i++) track(e, d, &d->ev[i]);
}

static const char *const budgets[] = {"low", "mid", "high"};
static const char *const countries[] = {"DE", "FR", "ES", "IT",
                                        "NL", "PL", "SE", "GB"};

/* Age, budget, country and a sign-up date for every user, as in bench.c;
 * this also gives a profile to the few users without events. */
static void set_attributes(pz_engine *e, const dataset *d) {
  for (uint32_t u = 0; u < d->s.p.users; u++) {
    synth_rng r = synth_rng_for(d->s.p.seed, 50, u);
    const char *id = d->user_ids[u];
    int rc = pz_profile_set_number(e, id, "age", 18 + synth_below(&r, 60));
    if (!rc)
      rc = pz_profile_set_string(e, id, "budget", budgets[synth_below(&r, 3)]);
    if (!rc)
      rc = pz_profile_set_string(e, id, "country",
                                 countries[synth_below(&r, 8)]);
    if (!rc)
      rc = pz_profile_set_timestamp(
          e, id, "signed_up",
          the_time - (int64_t)(30 + synth_below(&r, 700)) * 86400000LL);
    if (rc) die_pz("pz_profile_set_*", rc);
  }
}

static void train_als(pz_engine *e) {
  pz_cf_options o;
  int rc = pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION);
  if (rc) die_pz("pz_cf_options_init", rc);
  o.algorithm = PZ_CF_ALS;
  o.factors = ALS_FACTORS;
  o.iterations = ALS_ITERATIONS;
  o.regularization = ALS_REG;
  o.alpha = ALS_ALPHA;
  o.threads = TRAIN_THREADS;
  if ((rc = pz_cf_train(e, &o))) die_pz("pz_cf_train", rc);
}

static size_t profile_count(pz_engine *e) {
  size_t n = 0;
  int rc = pz_profile_count(&n, e);
  if (rc) die_pz("pz_profile_count", rc);
  return n;
}

static size_t item_count(pz_engine *e) {
  size_t n = 0;
  int rc = pz_item_count(&n, e);
  if (rc) die_pz("pz_item_count", rc);
  return n;
}

/* The serving model's stats; 0 if there is no model. */
static int cf_stats(pz_engine *e, pz_cf_stats *s) {
  memset(s, 0, sizeof *s);
  s->version = PZ_CF_STATS_VERSION;
  int rc = pz_cf_stats_get(s, e);
  if (rc == PZ_ENOTFOUND) return 0;
  if (rc) die_pz("pz_cf_stats_get", rc);
  return 1;
}

/* ---- output ------------------------------------------------------------------ */

static void row(const char *figure, const char *measured, const char *note) {
  printf("| %-46s | %-22s | %-60s |\n", figure, measured, note);
}

static void rule(void) {
  printf("|%.48s|%.24s|%.62s|\n",
         "------------------------------------------------",
         "------------------------",
         "--------------------------------------------------------------");
}

static void table_head(void) {
  printf("| %-46s | %-22s | %-60s |\n", "figure", "measured", "note");
  rule();
}

/* The title and machine lines; the caller goes on with its data and
 * command lines, as bench.c and bench_cf.c do. */
static void heading(const char *what, const char *mach) {
  printf("\nlibpersonalize %s store benchmark: %s\n", pz_version_string(),
         what);
  printf("machine: %s\n", mach);
}

static void min_max(const double *v, uint32_t n, double *lo, double *hi) {
  *lo = *hi = v[0];
  for (uint32_t i = 1; i < n; i++) {
    if (v[i] < *lo) *lo = v[i];
    if (v[i] > *hi) *hi = v[i];
  }
}

/* ---- 1: snapshots ------------------------------------------------------------- */

typedef struct snap_fig {
  double save_ms, warm_ms, cold_ms;     /* medians */
  double save_lo, save_hi, warm_lo, warm_hi, cold_lo, cold_hi;
  double bytes;                         /* the file */
  size_t live;                          /* the saved engine's allocator */
  size_t save_extra;                    /* its peak during a save, over live */
  size_t loaded_live, load_peak;        /* the loaded engine's allocator */
  double rss_load;                      /* RSS growth during the first load */
  uint32_t recs_same, recs_checked;     /* top-10 lists equal after a load */
} snap_fig;

/* CHECK_USERS users, scattered over the ids (and so over the shards). */
static void check_users(const dataset *d, uint32_t *u) {
  uint32_t n = 0, users = d->s.p.users;
  for (uint32_t i = 0; i < users && n < CHECK_USERS; i++) {
    uint32_t x = (uint32_t)(((uint64_t)i * 2654435761u + 7) % users);
    u[n++] = x;
  }
  while (n < CHECK_USERS) u[n++] = 0;
}

static int same_recs(pz_engine *a, pz_engine *b, const char *user) {
  pz_recs *ra = NULL, *rb = NULL;
  int rc = pz_recommend(&ra, a, user, REC_K, NULL);
  if (rc) die_pz("pz_recommend", rc);
  if ((rc = pz_recommend(&rb, b, user, REC_K, NULL)))
    die_pz("pz_recommend (loaded engine)", rc);
  int same = pz_recs_count(ra) == pz_recs_count(rb) && pz_recs_count(ra) > 0;
  for (size_t i = 0; same && i < pz_recs_count(ra); i++)
    same = strcmp(pz_recs_item(ra, i), pz_recs_item(rb, i)) == 0 &&
           pz_recs_score(ra, i) == pz_recs_score(rb, i);
  pz_recs_free(ra);
  pz_recs_free(rb);
  return same;
}

/* One timed load into a fresh counted engine, checked against e. */
static pz_engine *timed_load(const char *path, pz_engine *e, counter *lc,
                             double *ms) {
  pz_engine_options o;
  counter_init(lc);
  engine_opts(&o, lc, NULL); /* no configuration: the snapshot's */
  pz_engine *l = NULL;
  double t0 = now_s();
  int rc = pz_engine_load(&l, path, &o);
  double t1 = now_s();
  if (rc) die_pz("pz_engine_load", rc);
  *ms = (t1 - t0) * 1e3;
  size_t pa = profile_count(e), pb = profile_count(l);
  size_t ia = item_count(e), ib = item_count(l);
  pz_cf_stats sa, sb;
  int ma = cf_stats(e, &sa), mb_ = cf_stats(l, &sb);
  if (pa != pb || ia != ib || ma != mb_ ||
      (ma && (sa.algorithm != sb.algorithm || sa.items != sb.items ||
              sa.factors != sb.factors || sa.users != sb.users))) {
    fprintf(stderr, BENCH_NAME ": %s loaded %zu profiles, %zu items, model "
            "%d (%u items) instead of %zu, %zu, %d (%u items)\n", path, pb,
            ib, mb_, sb.items, pa, ia, ma, sa.items);
    exit(1);
  }
  return l;
}

static void free_loaded(pz_engine *l, counter *lc) {
  pz_engine_free(l);
  if (live_bytes(lc)) {
    fprintf(stderr, BENCH_NAME ": %zu bytes still held after freeing the "
            "loaded engine\n", live_bytes(lc));
    exit(1);
  }
}

static void bench_snapshot(pz_engine *e, counter *c, const dataset *d,
                           const char *name, uint32_t runs, snap_fig *f) {
  char path[PATH_MAX];
  tmp_path(path, sizeof path, name);
  uint32_t users[CHECK_USERS];
  check_users(d, users);
  double *save = xmalloc(runs * sizeof *save);
  double *warm = xmalloc(runs * sizeof *warm);
  double *cold = xmalloc(runs * sizeof *cold);
  memset(f, 0, sizeof *f);
  f->live = live_bytes(c);
  for (uint32_t run = 0; run < runs; run++) {
    fprintf(stderr, BENCH_NAME ": %s: save and load, run %u/%u...\n", name,
            run + 1, runs);
    /* save: the first run creates the file, the others replace it */
    peak_reset(c);
    size_t before = live_bytes(c);
    double t0 = now_s();
    int rc = pz_engine_save(e, path);
    double t1 = now_s();
    if (rc) die_pz("pz_engine_save", rc);
    save[run] = (t1 - t0) * 1e3;
    size_t extra = peak_bytes(c) - before;
    if (extra > f->save_extra) f->save_extra = extra;
    double bytes = file_size(path);
    if (run && bytes != f->bytes) {
      fprintf(stderr, BENCH_NAME ": %s: the snapshot changed size between "
              "saves (%.0f, %.0f bytes)\n", name, f->bytes, bytes);
      exit(1);
    }
    f->bytes = bytes;

    /* load with the file in the page cache: it was just written */
    counter lc;
    double rss0 = rss_bytes();
    pz_engine *l = timed_load(path, e, &lc, &warm[run]);
    if (run == 0) {
      f->rss_load = rss_bytes() - rss0;
      f->loaded_live = live_bytes(&lc);
      f->load_peak = peak_bytes(&lc);
      for (uint32_t i = 0; i < CHECK_USERS; i++) {
        f->recs_same += (uint32_t)same_recs(e, l, d->user_ids[users[i]]);
        f->recs_checked++;
      }
    }
    free_loaded(l, &lc);

    /* load with the file read from the disk */
    evict(path);
    l = timed_load(path, e, &lc, &cold[run]);
    free_loaded(l, &lc);
  }
  unlink(path);
  min_max(save, runs, &f->save_lo, &f->save_hi);
  min_max(warm, runs, &f->warm_lo, &f->warm_hi);
  min_max(cold, runs, &f->cold_lo, &f->cold_hi);
  f->save_ms = median(save, runs);
  f->warm_ms = median(warm, runs);
  f->cold_ms = median(cold, runs);
  free(save);
  free(warm);
  free(cold);
}

static void snap_rows(const char *who, const snap_fig *f, double per,
                      const char *per_what, uint32_t runs) {
  char fg[96], m[64], n[128];
  snprintf(fg, sizeof fg, "%s: pz_engine_save (median of %u)", who, runs);
  snprintf(m, sizeof m, "%.1f ms", f->save_ms);
  snprintf(n, sizeof n, "%.1f MB/s; min-max %.1f-%.1f ms; new file, then "
           "replaced", mb(f->bytes) / (f->save_ms / 1e3), f->save_lo,
           f->save_hi);
  row(fg, m, n);
  snprintf(fg, sizeof fg, "%s: pz_engine_load, file cached", who);
  snprintf(m, sizeof m, "%.1f ms", f->warm_ms);
  snprintf(n, sizeof n, "%.1f MB/s; min-max %.1f-%.1f ms",
           mb(f->bytes) / (f->warm_ms / 1e3), f->warm_lo, f->warm_hi);
  row(fg, m, n);
  snprintf(fg, sizeof fg, "%s: pz_engine_load, file evicted first", who);
  snprintf(m, sizeof m, "%.1f ms", f->cold_ms);
  snprintf(n, sizeof n, "%.1f MB/s; min-max %.1f-%.1f ms; posix_fadvise "
           "DONTNEED", mb(f->bytes) / (f->cold_ms / 1e3), f->cold_lo,
           f->cold_hi);
  row(fg, m, n);
  snprintf(fg, sizeof fg, "%s: snapshot file", who);
  snprintf(m, sizeof m, "%.2f MB", mb(f->bytes));
  snprintf(n, sizeof n, "%.0f bytes per %s", per > 0 ? f->bytes / per : 0,
           per_what);
  row(fg, m, n);
  snprintf(fg, sizeof fg, "%s: engine allocator, saved / loaded", who);
  snprintf(m, sizeof m, "%.1f / %.1f MiB", mib((double)f->live),
           mib((double)f->loaded_live));
  snprintf(n, sizeof n, "loaded / saved %.2f; RSS grew %.1f MiB in the "
           "first load",
           f->live ? (double)f->loaded_live / (double)f->live : 0,
           mib(f->rss_load));
  row(fg, m, n);
  snprintf(fg, sizeof fg, "%s: allocator peak during save / load", who);
  snprintf(m, sizeof m, "+%.1f / %.1f MiB", mib((double)f->save_extra),
           mib((double)f->load_peak));
  row(fg, m, "save: over the engine's bytes; load: from nothing");
  snprintf(fg, sizeof fg, "%s: top-%u equal after load", who, REC_K);
  snprintf(m, sizeof m, "%u of %u users", f->recs_same, f->recs_checked);
  row(fg, m, "items and scores, original vs loaded engine");
}

static void section_snapshot(const opts *o, const char *mach,
                             const char *cmd, double *ph) {
  meter sm; /* the whole section */
  meter_start(&sm);
  char fs[300];
  fs_of(tmp_dir, fs, sizeof fs);

  /* a: profiles */
  uint64_t events = (uint64_t)o->users * o->epu;
  fprintf(stderr, BENCH_NAME ": profiles: generating %llu events...\n",
          (unsigned long long)events);
  dataset d;
  dataset_make(&d, o->users, o->items, events, o->seed);
  counter c;
  counter_init(&c);
  pz_engine *e = engine_open(&c);
  fprintf(stderr, BENCH_NAME ": profiles: ingest and attributes...\n");
  load_items(e, &d);
  ingest(e, &d);
  set_attributes(e, &d);
  size_t n_ev = d.n_ev;
  dataset_drop_events(&d);
  size_t n_prof = profile_count(e);
  if (n_prof != o->users) {
    fprintf(stderr, BENCH_NAME ": %zu profiles, not %u\n", n_prof, o->users);
    exit(1);
  }
  snap_fig fa;
  bench_snapshot(e, &c, &d, "profiles.snap", o->runs, &fa);
  pz_engine_free(e);
  dataset_free(&d);

  /* b: an ALS model of als_items items */
  fprintf(stderr, BENCH_NAME ": ALS: generating %llu events...\n",
          (unsigned long long)o->als_events);
  dataset_make(&d, o->als_users, o->als_items, o->als_events, o->seed + 1);
  counter_init(&c);
  e = engine_open(&c);
  load_items(e, &d);
  ingest(e, &d);
  size_t n_ev_b = d.n_ev;
  dataset_drop_events(&d);
  /* the size of the same engine without a model, to tell the model's
   * part of the file */
  char path[PATH_MAX];
  tmp_path(path, sizeof path, "no-model.snap");
  int rc = pz_engine_save(e, path);
  if (rc) die_pz("pz_engine_save", rc);
  double bytes_no_model = file_size(path);
  unlink(path);
  size_t live_no_model = live_bytes(&c);
  fprintf(stderr, BENCH_NAME ": ALS: training %u factors, %u sweeps...\n",
          ALS_FACTORS, ALS_ITERATIONS);
  double t0 = now_s();
  train_als(e);
  double train_s = now_s() - t0;
  pz_cf_stats st;
  if (!cf_stats(e, &st) || st.items != o->als_items ||
      st.factors != ALS_FACTORS) {
    fprintf(stderr, BENCH_NAME ": the ALS model has %u items and %u factors, "
            "not %u and %u\n", st.items, st.factors, o->als_items,
            ALS_FACTORS);
    exit(1);
  }
  size_t live_model = live_bytes(&c) - live_no_model;
  snap_fig fb;
  bench_snapshot(e, &c, &d, "als.snap", o->runs, &fb);
  size_t n_prof_b = profile_count(e);
  pz_engine_free(e);
  dataset_free(&d);
  cpu_use use;
  meter_stop(&sm, &use);
  *ph = use.wall;

  /* ---- the table ---- */
  heading("snapshots", mach);
  printf("data:    synthetic (examples/synth.h), %u features per item, "
         "seed %llu (ALS engine: seed %llu), fixed clock:\n"
         "         profiles engine: %u users x %u items x %zu events (mean "
         "%.1f per user), 4 attributes per user\n"
         "           (age, budget, country, signed_up), %zu profiles, no CF "
         "model;\n"
         "         ALS engine: %u users x %u items x %zu events, %zu "
         "profiles; implicit ALS %u factors, regularization %g,\n"
         "           alpha %g, %u sweeps, %u threads, trained once in %.2f s "
         "(%llu interactions)\n",
         FEATURES, (unsigned long long)o->seed,
         (unsigned long long)o->seed + 1, o->users, o->items, n_ev,
         (double)n_ev / o->users, n_prof, o->als_users, o->als_items, n_ev_b,
         n_prof_b, ALS_FACTORS, ALS_REG, ALS_ALPHA, ALS_ITERATIONS,
         TRAIN_THREADS, train_s, (unsigned long long)st.interactions);
  printf("command: %s\n", cmd);
  printf("files:   %s (%s); MB = 10^6 bytes, MiB = 2^20; save = write a "
         "temporary file, fdatasync, rename, fsync the directory\n",
         tmp_dir, fs);
  printf("loads:   pz_engine_load with the snapshot's configuration, each "
         "checked (profiles, items, model); \"cached\" right after\n"
         "         the save, \"evicted\" after posix_fadvise(DONTNEED) on "
         "the file (the host may still cache it); allocator: a\n"
         "         counting pz_alloc_fn (bytes the library holds; "
         "malloc's overhead not counted)\n\n");
  table_head();
  snap_rows("profiles", &fa, (double)n_prof, "profile", o->runs);
  snap_rows("ALS", &fb, (double)o->als_items, "item", o->runs);
  char m[64], n[128];
  snprintf(m, sizeof m, "%.2f MB", mb(fb.bytes - bytes_no_model));
  snprintf(n, sizeof n, "file with it - without; %.1f B per item; %.1f MiB "
           "in memory", (fb.bytes - bytes_no_model) / o->als_items,
           mib((double)live_model));
  row("ALS: the model's part of the file", m, n);
  use_line(&use);
}

/* ---- 2: the journal ------------------------------------------------------------ */

/* POL_BUFFERED: interval with store.journal_buffer (1.2) */
enum { POL_NONE = -1, POL_NEVER, POL_INTERVAL, POL_ALWAYS, POL_BUFFERED };
static const char *const pol_name[] = {"never", "interval", "always",
                                       "buffered"};
#define JOURNAL_BUFFER 262144

typedef struct jthread {
  pthread_t t;
  pthread_barrier_t *go;
  pz_engine *e;
  const dataset *d;
  unsigned id, n_threads;
  size_t ops;       /* calls to make */
  double *us;       /* per call, microseconds */
  double t0, t1;    /* first call started, last one returned */
} jthread;

/* Writer: the events of its own users (user % n_threads == id), so that
 * two writers do not wait on each other's profile locks, wrapping around
 * the stream if it runs short. */
static void *writer(void *arg) {
  jthread *w = arg;
  const dataset *d = w->d;
  size_t at = 0, done = 0;
  pthread_barrier_wait(w->go);
  w->t0 = now_s();
  while (done < w->ops) {
    const synth_event *ev = &d->ev[at];
    at = at + 1 < d->n_ev ? at + 1 : 0;
    if (ev->user % w->n_threads != w->id) continue;
    double a = now_s();
    track(w->e, d, ev);
    w->us[done++] = (now_s() - a) * 1e6;
  }
  w->t1 = now_s();
  return NULL;
}

typedef struct jfig {
  double ops_s;          /* calls per second, all threads */
  double p50_us, p99_us; /* per call */
  double syncs_per_op;   /* fdatasync calls per pz_track */
  double syncs;          /* fdatasync calls in the run */
  double seconds;        /* the run's wall time */
  double bytes_per_op;   /* journal growth per pz_track */
} jfig;

/* One run: load the catalogue snapshot with (or without) a journal, time
 * `ops` pz_track calls on `threads` writers, check that the journal
 * replays to the same profiles, clean up. */
static void journal_run(const char *snap, const dataset *d, int pol,
                        unsigned threads, size_t ops, unsigned run,
                        jfig *out) {
  char jpath[PATH_MAX], yaml[PATH_MAX + 200], name[64];
  snprintf(name, sizeof name, "journal-%s-%u-%u",
           pol == POL_NONE ? "none" : pol_name[pol], threads, run);
  tmp_path(jpath, sizeof jpath, name);
  yaml[0] = 0;
  if (pol == POL_BUFFERED)
    snprintf(yaml, sizeof yaml,
             "store: {journal: \"%s\", fsync: interval, fsync_interval: 1s, "
             "journal_buffer: %d}\n",
             jpath, JOURNAL_BUFFER);
  else if (pol != POL_NONE)
    snprintf(yaml, sizeof yaml,
             "store: {journal: \"%s\", fsync: %s, fsync_interval: 1s}\n",
             jpath, pol_name[pol]);
  pz_engine_options o;
  engine_opts(&o, NULL, pol != POL_NONE ? yaml : NULL);
  pz_engine *e = NULL;
  int rc = pz_engine_load(&e, snap, &o);
  if (rc) die_pz("pz_engine_load", rc);
  double size0 = pol != POL_NONE ? file_size(jpath) : 0;

  pthread_barrier_t go;
  if (pthread_barrier_init(&go, NULL, threads + 1) != 0) {
    fprintf(stderr, BENCH_NAME ": pthread_barrier_init failed\n");
    exit(1);
  }
  jthread w[4];
  if (threads > 4) abort(); /* callers ask for 1, 2 or 4 writers */
  size_t per = ops / threads;
  for (unsigned t = 0; t < threads; t++) {
    w[t] = (jthread){.go = &go, .e = e, .d = d, .id = t, .n_threads = threads,
                     .ops = per, .us = xmalloc(per * sizeof(double))};
    if (pthread_create(&w[t].t, NULL, writer, &w[t]) != 0) {
      fprintf(stderr, BENCH_NAME ": pthread_create failed\n");
      exit(1);
    }
  }
  atomic_store(&n_fdatasync, 0);
  pthread_barrier_wait(&go);
  for (unsigned t = 0; t < threads; t++) pthread_join(w[t].t, NULL);
  unsigned long syncs = atomic_load(&n_fdatasync);
  pthread_barrier_destroy(&go);

  double t0 = w[0].t0, t1 = w[0].t1;
  size_t done = per * threads;
  double *us = xmalloc(done * sizeof *us);
  for (unsigned t = 0; t < threads; t++) {
    if (w[t].t0 < t0) t0 = w[t].t0;
    if (w[t].t1 > t1) t1 = w[t].t1;
    memcpy(us + (size_t)t * per, w[t].us, per * sizeof *us);
    free(w[t].us);
  }
  qsort(us, done, sizeof *us, cmp_double);
  out->ops_s = (double)done / (t1 - t0);
  out->p50_us = percentile(us, done, 0.50);
  out->p99_us = percentile(us, done, 0.99);
  out->syncs_per_op = (double)syncs / (double)done;
  out->syncs = (double)syncs;
  out->seconds = t1 - t0;
  out->bytes_per_op =
      pol != POL_NONE ? (file_size(jpath) - size0) / (double)done : 0;
  free(us);

  /* the journal holds what was acknowledged: replaying it gives the same
   * profiles (checked once per policy) */
  size_t n_prof = profile_count(e);
  pz_engine_free(e);
  if (pol != POL_NONE && run == 0) {
    pz_engine *r = NULL;
    if ((rc = pz_engine_load(&r, snap, &o)))
      die_pz("pz_engine_load (replaying the journal)", rc);
    size_t n_replayed = profile_count(r);
    pz_engine_free(r);
    if (n_replayed != n_prof) {
      fprintf(stderr, BENCH_NAME ": the %s journal replays to %zu profiles, "
              "not %zu\n", pol_name[pol], n_replayed, n_prof);
      exit(1);
    }
  }
  if (pol != POL_NONE) unlink(jpath);
}

/* Medians over runs of each figure. */
static void journal_runs(const char *snap, const dataset *d, int pol,
                         unsigned threads, size_t ops, uint32_t runs,
                         jfig *med) {
  double *v[7];
  for (int k = 0; k < 7; k++) v[k] = xmalloc(runs * sizeof *v[k]);
  for (uint32_t run = 0; run < runs; run++) {
    jfig f;
    fprintf(stderr, BENCH_NAME ": journal %s, %u thread%s, %zu calls, run "
            "%u/%u...\n", pol == POL_NONE ? "off" : pol_name[pol], threads,
            threads == 1 ? "" : "s", ops, run + 1, runs);
    journal_run(snap, d, pol, threads, ops, run, &f);
    v[0][run] = f.ops_s;
    v[1][run] = f.p50_us;
    v[2][run] = f.p99_us;
    v[3][run] = f.syncs_per_op;
    v[4][run] = f.bytes_per_op;
    v[5][run] = f.syncs;
    v[6][run] = f.seconds;
  }
  med->ops_s = median(v[0], runs);
  med->p50_us = median(v[1], runs);
  med->p99_us = median(v[2], runs);
  med->syncs_per_op = median(v[3], runs);
  med->bytes_per_op = median(v[4], runs);
  med->syncs = median(v[5], runs);
  med->seconds = median(v[6], runs);
  for (int k = 0; k < 7; k++) free(v[k]);
}

/* "0.500 fdatasync per call (1000 in 2.1 s); 66.8 B per record" */
static void journal_note(const jfig *f, char *buf, size_t cap) {
  if (HAVE_SYNC_COUNT)
    snprintf(buf, cap, "%.3f fdatasync per call (%.0f in %.2f s); %.1f B "
             "per record", f->syncs_per_op, f->syncs, f->seconds,
             f->bytes_per_op);
  else
    snprintf(buf, cap, "%.1f B per record; run %.2f s", f->bytes_per_op,
             f->seconds);
}

/* A run's two rows: calls per second with cmp (its comparison), then the
 * per-call latency with the journal's note. */
static void journal_rows(const char *fig, const jfig *f, const char *cmp) {
  char m[64], n[128];
  snprintf(m, sizeof m, "%.0f calls/s", f->ops_s);
  row(fig, m, cmp);
  snprintf(m, sizeof m, "%.2f / %.2f us", f->p50_us, f->p99_us);
  journal_note(f, n, sizeof n);
  row("  per call p50 / p99", m, n);
}

static void section_journal(const opts *o, const char *mach, const char *cmd,
                            double *ph) {
  meter sm; /* the whole section */
  meter_start(&sm);
  char fs[300];
  fs_of(tmp_dir, fs, sizeof fs);
  /* enough events for the largest run, split over 2 writers by user */
  uint64_t want = (o->journal_ops > o->always_ops ? o->journal_ops
                                                  : o->always_ops);
  want += want / 4 + 1000;
  fprintf(stderr, BENCH_NAME ": journal: generating %llu events...\n",
          (unsigned long long)want);
  dataset d;
  dataset_make(&d, o->users, o->items, want, o->seed + 2);
  /* the catalogue as a snapshot, so that each run starts from the same
   * engine without writing the catalogue to its journal */
  char snap[PATH_MAX];
  tmp_path(snap, sizeof snap, "catalogue.snap");
  pz_engine *e = engine_open(NULL);
  load_items(e, &d);
  int rc = pz_engine_save(e, snap);
  if (rc) die_pz("pz_engine_save", rc);
  pz_engine_free(e);

  jfig base, btw, pol[3], two, itwo, four, buf, btwo;
  journal_runs(snap, &d, POL_NONE, 1, o->journal_ops, o->runs, &base);
  journal_runs(snap, &d, POL_NONE, 2, o->journal_ops, o->runs, &btw);
  journal_runs(snap, &d, POL_NEVER, 1, o->journal_ops, o->runs, &pol[0]);
  journal_runs(snap, &d, POL_INTERVAL, 1, o->journal_ops, o->runs, &pol[1]);
  journal_runs(snap, &d, POL_ALWAYS, 1, o->always_ops, o->runs, &pol[2]);
  journal_runs(snap, &d, POL_ALWAYS, 2, o->always_ops, o->runs, &two);
  journal_runs(snap, &d, POL_INTERVAL, 2, o->journal_ops, o->runs, &itwo);
  journal_runs(snap, &d, POL_ALWAYS, 4, o->always_ops, o->runs, &four);
  journal_runs(snap, &d, POL_BUFFERED, 1, o->journal_ops, o->runs, &buf);
  journal_runs(snap, &d, POL_BUFFERED, 2, o->journal_ops, o->runs, &btwo);
  unlink(snap);
  dataset_free(&d);
  cpu_use use;
  meter_stop(&sm, &use);
  *ph = use.wall;

  heading("the journal", mach);
  printf("data:    synthetic (examples/synth.h) events of %u users on %u "
         "items (%u features each), seed %llu, fixed clock;\n"
         "         each run loads a snapshot of the catalogue (no profiles) "
         "with a new journal and times pz_track calls:\n"
         "         %u per run without a journal, with never and with "
         "interval (fsync_interval 1s); %u with always\n",
         o->users, o->items, FEATURES, (unsigned long long)o->seed + 2,
         o->journal_ops, o->always_ops);
  printf("command: %s\n", cmd);
  printf("files:   %s (%s); figures are medians of %u runs; per call: "
         "p50 / p99 of each run's calls (each call timed,\n"
         "         which adds two clock reads to it); fdatasync calls "
         "counted by a wrapper in this program%s;\n"
         "         N writers: each tracks the events of its own users "
         "(user %% N); always: %u calls in all\n\n",
         tmp_dir, fs, o->runs, HAVE_SYNC_COUNT ? "" : " (not on this system)",
         o->always_ops);
  table_head();
  char fg[96], m[64], n[128];
  snprintf(m, sizeof m, "%.0f calls/s", base.ops_s);
  row("pz_track, no journal (baseline), 1 thread", m, "1.000 of the baseline");
  snprintf(m, sizeof m, "%.2f / %.2f us", base.p50_us, base.p99_us);
  row("  per call p50 / p99", m, "");
  snprintf(m, sizeof m, "%.0f calls/s", btw.ops_s);
  snprintf(n, sizeof n, "%.2fx no journal on 1 thread", btw.ops_s / base.ops_s);
  row("pz_track, no journal, 2 threads", m, n);
  for (int p = 0; p < 3; p++) {
    snprintf(fg, sizeof fg, "pz_track, journal fsync %s, 1 thread",
             pol_name[p]);
    snprintf(n, sizeof n, "%.3f of the baseline", pol[p].ops_s / base.ops_s);
    journal_rows(fg, &pol[p], n);
  }
  snprintf(n, sizeof n, "%.2fx always on 1 thread; %.3f of the baseline",
           two.ops_s / pol[2].ops_s, two.ops_s / base.ops_s);
  journal_rows("pz_track, journal fsync always, 2 threads", &two, n);
  snprintf(n, sizeof n, "%.2fx always on 1 thread (target >= 2.5x)",
           four.ops_s / pol[2].ops_s);
  journal_rows("pz_track, journal fsync always, 4 threads", &four, n);
  snprintf(n, sizeof n, "%.2fx interval on 1 thread (target >= 1.6x)",
           itwo.ops_s / pol[1].ops_s);
  journal_rows("pz_track, journal fsync interval, 2 threads", &itwo, n);
  snprintf(n, sizeof n, "%.3f of the baseline (target >= 0.8)",
           buf.ops_s / base.ops_s);
  journal_rows("pz_track, interval + journal_buffer 256 KiB", &buf, n);
  snprintf(n, sizeof n, "%.2fx buffered on 1 thread (target >= 1.6x)",
           btwo.ops_s / buf.ops_s);
  journal_rows("pz_track, interval + buffer, 2 threads", &btwo, n);
  if (HAVE_SYNC_COUNT)
    printf("\nfdatasync per call below 1 with several writers means they "
           "shared syncs (group commit); always, 1 thread: %.3f, 2 threads: "
           "%.3f, 4 threads: %.3f (target <= 0.35).\n",
           pol[2].syncs_per_op, two.syncs_per_op, four.syncs_per_op);
  use_line(&use);
}

/* ---- 3: recommend throughput on threads ------------------------------------ */

typedef struct rthread {
  pthread_t t;
  pthread_barrier_t *go;
  _Atomic int *stop;
  pz_engine *e;
  const dataset *d;
  synth_rng r;
  size_t n, cap;  /* calls made; room in ms */
  double *ms;     /* per call */
  uint32_t short_lists;
} rthread;

static void *reader(void *arg) {
  rthread *w = arg;
  const dataset *d = w->d;
  pthread_barrier_wait(w->go);
  while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
    const char *user = d->user_ids[synth_below(&w->r, d->s.p.users)];
    pz_recs *recs = NULL;
    double t0 = now_s();
    int rc = pz_recommend(&recs, w->e, user, REC_K, NULL);
    double t1 = now_s();
    if (rc) die_pz("pz_recommend", rc);
    w->short_lists += pz_recs_count(recs) < REC_K;
    pz_recs_free(recs);
    if (w->n == w->cap) {
      w->cap = w->cap ? 2 * w->cap : 4096;
      double *p = realloc(w->ms, w->cap * sizeof *p);
      if (!p) {
        fprintf(stderr, BENCH_NAME ": out of memory\n");
        exit(1);
      }
      w->ms = p;
    }
    w->ms[w->n++] = (t1 - t0) * 1e3;
  }
  return NULL;
}

typedef struct rround {
  cpu_use use;
  double qps;
  size_t calls;
  uint32_t short_lists;
} rround;

/* One round: `threads` readers for `seconds`; their latencies are added
 * to *all (n_all of them). */
static void recommend_round(pz_engine *e, const dataset *d, unsigned threads,
                            double seconds, uint64_t seed, rround *out,
                            double **all, size_t *n_all, size_t *cap_all) {
  pthread_barrier_t go;
  _Atomic int stop;
  atomic_init(&stop, 0);
  if (pthread_barrier_init(&go, NULL, threads + 1) != 0) {
    fprintf(stderr, BENCH_NAME ": pthread_barrier_init failed\n");
    exit(1);
  }
  rthread w[4];
  for (unsigned t = 0; t < threads; t++) {
    w[t] = (rthread){.go = &go, .stop = &stop, .e = e, .d = d,
                     .r = synth_rng_for(seed, 11, t)};
    if (pthread_create(&w[t].t, NULL, reader, &w[t]) != 0) {
      fprintf(stderr, BENCH_NAME ": pthread_create failed\n");
      exit(1);
    }
  }
  meter m;
  pthread_barrier_wait(&go);
  meter_start(&m);
  struct timespec ts = {(time_t)seconds,
                        (long)((seconds - (double)(time_t)seconds) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  atomic_store(&stop, 1);
  for (unsigned t = 0; t < threads; t++) pthread_join(w[t].t, NULL);
  /* the readers' last calls ended before the joins returned: the wall
   * time covers every counted call */
  meter_stop(&m, &out->use);
  double wall = out->use.wall;
  pthread_barrier_destroy(&go);
  out->calls = 0;
  out->short_lists = 0;
  for (unsigned t = 0; t < threads; t++) {
    out->calls += w[t].n;
    out->short_lists += w[t].short_lists;
    if (*n_all + w[t].n > *cap_all) {
      *cap_all = 2 * (*n_all + w[t].n);
      double *p = realloc(*all, *cap_all * sizeof *p);
      if (!p) {
        fprintf(stderr, BENCH_NAME ": out of memory\n");
        exit(1);
      }
      *all = p;
    }
    memcpy(*all + *n_all, w[t].ms, w[t].n * sizeof **all);
    *n_all += w[t].n;
    free(w[t].ms);
  }
  out->qps = (double)out->calls / wall;
}

static void section_threads(const opts *o, const char *mach, const char *cmd,
                            double *ph) {
  meter sm; /* the whole section */
  meter_start(&sm);
  fprintf(stderr, BENCH_NAME ": threads: generating %llu events...\n",
          (unsigned long long)o->rec_events);
  dataset d;
  dataset_make(&d, o->rec_users, o->rec_items, o->rec_events, o->seed + 3);
  pz_engine *e = engine_open(NULL);
  load_items(e, &d);
  ingest(e, &d);
  size_t n_ev = d.n_ev;
  dataset_drop_events(&d);
  fprintf(stderr, BENCH_NAME ": threads: training ALS...\n");
  train_als(e);
  pz_cf_stats st;
  if (!cf_stats(e, &st)) {
    fprintf(stderr, BENCH_NAME ": no model after training\n");
    exit(1);
  }
  size_t n_prof = profile_count(e);

  /* warm-up (untimed): caches, lazily built state */
  synth_rng r = synth_rng_for(o->seed, 12, 0);
  for (uint32_t i = 0; i < WARMUP; i++) {
    pz_recs *recs = NULL;
    int rc = pz_recommend(&recs, e, d.user_ids[synth_below(&r, o->rec_users)],
                          REC_K, NULL);
    if (rc) die_pz("pz_recommend", rc);
    pz_recs_free(recs);
  }

  double *qps[N_TC], *cores[N_TC], *all[N_TC];
  size_t n_all[N_TC], cap_all[N_TC], calls[N_TC];
  uint32_t short_lists[N_TC];
  double *others[N_TC];
  for (size_t k = 0; k < N_TC; k++) {
    qps[k] = xmalloc(o->runs * sizeof *qps[k]);
    cores[k] = xmalloc(o->runs * sizeof *cores[k]);
    others[k] = xmalloc(o->runs * sizeof *others[k]);
    all[k] = NULL;
    n_all[k] = cap_all[k] = calls[k] = 0;
    short_lists[k] = 0;
  }
  /* rounds interleave the thread counts, so that drift in the machine's
   * speed (a shared VM) hits each alike */
  for (uint32_t run = 0; run < o->runs; run++)
    for (size_t k = 0; k < N_TC; k++) {
      unsigned tc = thread_counts[k];
      fprintf(stderr, BENCH_NAME ": threads: round %u/%u, %u thread%s, "
              "%.1f s...\n", run + 1, o->runs, tc, tc == 1 ? "" : "s",
              o->seconds);
      rround rr;
      recommend_round(e, &d, tc, o->seconds,
                      o->seed + run * 16 + k, &rr, &all[k], &n_all[k],
                      &cap_all[k]);
      qps[k][run] = rr.qps;
      cores[k][run] = rr.use.cores;
      others[k][run] = rr.use.others;
      calls[k] += rr.calls;
      short_lists[k] += rr.short_lists;
    }
  pz_engine_free(e);
  dataset_free(&d);
  cpu_use use;
  meter_stop(&sm, &use);
  *ph = use.wall;

  heading("pz_recommend throughput on threads", mach);
  printf("data:    synthetic (examples/synth.h): %u users x %u items x %zu "
         "events, %u features per item, seed %llu, fixed clock;\n"
         "         %zu profiles; implicit ALS %u factors, regularization %g, "
         "alpha %g, %u sweeps (%llu interactions),\n"
         "         default configuration otherwise (CF blended with content "
         "and popularity)\n",
         o->rec_users, o->rec_items, n_ev, FEATURES,
         (unsigned long long)o->seed + 3, n_prof, ALS_FACTORS, ALS_REG,
         ALS_ALPHA, ALS_ITERATIONS, (unsigned long long)st.interactions);
  printf("command: %s\n", cmd);
  printf("rounds:  each thread calls pz_recommend(k = %u, default options) "
         "for uniformly random users until the round's %.1f s\n"
         "         are up; %u round(s) per thread count, interleaved 1, 2, "
         "4, 1, 2, 4, ...; queries/s: median of the rounds;\n"
         "         p50 / p99: of every call of the rounds together; cores: "
         "process CPU time / wall time, others: cores other\n"
         "         processes used (medians of the rounds); libc allocator\n\n",
         REC_K, o->seconds, o->runs);
  table_head();
  double q1 = median(qps[0], o->runs);
  for (size_t k = 0; k < N_TC; k++) {
    char fg[96], m[64], n[128];
    double q = median(qps[k], o->runs);
    double lo, hi;
    min_max(qps[k], o->runs, &lo, &hi); /* before median() sorts them */
    qsort(all[k], n_all[k], sizeof *all[k], cmp_double);
    snprintf(fg, sizeof fg, "recommend k=%u, %u thread%s", REC_K,
             thread_counts[k], thread_counts[k] == 1 ? "" : "s");
    snprintf(m, sizeof m, "%.0f queries/s", q);
    snprintf(n, sizeof n, "%.2fx of 1 thread; min-max %.0f-%.0f q/s",
             q / q1, lo, hi);
    row(fg, m, n);
    snprintf(m, sizeof m, "%.3f / %.3f ms",
             percentile(all[k], n_all[k], 0.50),
             percentile(all[k], n_all[k], 0.99));
    snprintf(n, sizeof n, "%zu calls; %.2f cores, others %.2f; short "
             "lists %u", calls[k], median(cores[k], o->runs),
             median(others[k], o->runs), short_lists[k]);
    row("  per call p50 / p99", m, n);
    free(qps[k]);
    free(cores[k]);
    free(others[k]);
    free(all[k]);
  }
  use_line(&use);
}

/* ---- options ------------------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_store [--quick] [--section all|snapshot|journal|"
          "threads]\n"
          "                   [--runs N] [--seed S] [--dir DIR] [--seconds S]\n"
          "                   [--users N] [--items N] [--events-per-user N]\n"
          "                   [--als-users N] [--als-items N] [--als-events N]\n"
          "                   [--journal-ops N] [--always-ops N]\n"
          "                   [--rec-users N] [--rec-items N] [--rec-events N]\n"
          "Defaults: 3 runs, seed 42, dir /tmp, 3 s per recommend round;\n"
          "  snapshots: 100000 users x 5000 items x 20 events per user, and\n"
          "    ALS (64 factors) on 20000 users x 50000 items x 1000000 "
          "events;\n"
          "  journal: 1000000 calls (none, never, interval), 2000 (always);\n"
          "  threads: 50000 users x 20000 items x 1000000 events.\n"
          "--quick (first) shrinks them all for a smoke run; options after "
          "it still apply.\n");
}

static void defaults(opts *o, int quick) {
  o->quick = quick;
  o->snapshot = o->journal = o->threads = 1;
  o->seed = 42;
  o->dir = "/tmp";
  o->runs = quick ? 2 : 3;
  o->seconds = quick ? 0.3 : 3.0;
  o->users = quick ? 10000 : 100000;
  o->items = quick ? 1000 : 5000;
  o->epu = 20;
  o->als_users = quick ? 2000 : 20000;
  o->als_items = quick ? 5000 : 50000;
  o->als_events = quick ? 50000 : 1000000;
  /* a run with `interval` must outlast fsync_interval (1s) a few times */
  o->journal_ops = quick ? 20000 : 1000000;
  o->always_ops = quick ? 200 : 2000;
  o->rec_users = quick ? 5000 : 50000;
  o->rec_items = quick ? 2000 : 20000;
  o->rec_events = quick ? 100000 : 1000000;
}

static void parse(int argc, char **argv, opts *o) {
  int quick = 0;
  for (int i = 1; i < argc; i++) quick |= strcmp(argv[i], "--quick") == 0;
  defaults(o, quick);
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
      usage(stdout);
      exit(0);
    }
    if (strcmp(opt, "--quick") == 0) continue;
    if (strcmp(opt, "--section") == 0) {
      const char *v = i + 1 < argc ? argv[++i] : "";
      o->snapshot = strcmp(v, "all") == 0 || strcmp(v, "snapshot") == 0;
      o->journal = strcmp(v, "all") == 0 || strcmp(v, "journal") == 0;
      o->threads = strcmp(v, "all") == 0 || strcmp(v, "threads") == 0;
      if (!o->snapshot && !o->journal && !o->threads) {
        fprintf(stderr, BENCH_NAME ": --section needs all, snapshot, "
                "journal or threads\n");
        exit(2);
      }
      continue;
    }
    if (strcmp(opt, "--dir") == 0) {
      if (i + 1 >= argc || !argv[i + 1][0]) {
        fprintf(stderr, BENCH_NAME ": --dir needs a directory\n");
        exit(2);
      }
      o->dir = argv[++i];
      continue;
    }
    if (strcmp(opt, "--seconds") == 0) {
      char *end = NULL;
      double v = i + 1 < argc ? strtod(argv[i + 1], &end) : 0;
      if (!end || *end || !(v >= 0.05 && v <= 600)) {
        fprintf(stderr, BENCH_NAME ": --seconds needs a number from 0.05 "
                "to 600\n");
        exit(2);
      }
      o->seconds = v;
      i++;
      continue;
    }
    uint64_t v, lo = 1, hi = 100000000;
    if (strcmp(opt, "--seed") == 0) lo = 0, hi = UINT64_MAX;
    else if (strcmp(opt, "--runs") == 0) hi = 100;
    else if (strcmp(opt, "--events-per-user") == 0) hi = 10000;
    else if (strcmp(opt, "--als-events") == 0 ||
             strcmp(opt, "--rec-events") == 0) hi = 1000000000;
    else if (strcmp(opt, "--users") && strcmp(opt, "--items") &&
             strcmp(opt, "--als-users") && strcmp(opt, "--als-items") &&
             strcmp(opt, "--journal-ops") && strcmp(opt, "--always-ops") &&
             strcmp(opt, "--rec-users") && strcmp(opt, "--rec-items")) {
      fprintf(stderr, BENCH_NAME ": unknown option %s\n", opt);
      usage(stderr);
      exit(2);
    }
    if (i + 1 >= argc || synth_parse_u64(argv[i + 1], lo, hi, &v)) {
      fprintf(stderr, BENCH_NAME ": %s needs a whole number from %llu to "
              "%llu\n", opt, (unsigned long long)lo, (unsigned long long)hi);
      exit(2);
    }
    i++;
    if (strcmp(opt, "--seed") == 0) o->seed = v;
    else if (strcmp(opt, "--runs") == 0) o->runs = (uint32_t)v;
    else if (strcmp(opt, "--users") == 0) o->users = (uint32_t)v;
    else if (strcmp(opt, "--items") == 0) o->items = (uint32_t)v;
    else if (strcmp(opt, "--events-per-user") == 0) o->epu = (uint32_t)v;
    else if (strcmp(opt, "--als-users") == 0) o->als_users = (uint32_t)v;
    else if (strcmp(opt, "--als-items") == 0) o->als_items = (uint32_t)v;
    else if (strcmp(opt, "--als-events") == 0) o->als_events = v;
    else if (strcmp(opt, "--journal-ops") == 0) o->journal_ops = (uint32_t)v;
    else if (strcmp(opt, "--always-ops") == 0) o->always_ops = (uint32_t)v;
    else if (strcmp(opt, "--rec-users") == 0) o->rec_users = (uint32_t)v;
    else if (strcmp(opt, "--rec-items") == 0) o->rec_items = (uint32_t)v;
    else o->rec_events = v;
  }
  if (o->items < REC_K || o->als_items < REC_K || o->rec_items < REC_K) {
    fprintf(stderr, BENCH_NAME ": every --*items must be at least %u "
            "(k = %u)\n", REC_K, REC_K);
    exit(2);
  }
  if (o->journal_ops < 2 || o->always_ops < 2) {
    fprintf(stderr, BENCH_NAME ": --journal-ops and --always-ops must be at "
            "least 2 (2 writers)\n");
    exit(2);
  }
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv) {
  opts o;
  parse(argc, argv, &o);
  char mach[512], cmd[1024];
  machine(mach, sizeof mach);
  const char *sec = o.snapshot && o.journal && o.threads ? "all"
                    : o.snapshot                          ? "snapshot"
                    : o.journal                           ? "journal"
                                                          : "threads";
  snprintf(cmd, sizeof cmd,
           "%s%s --section %s --runs %u --seed %llu --dir %s --seconds %g "
           "--users %u --items %u --events-per-user %u --als-users %u "
           "--als-items %u --als-events %llu --journal-ops %u "
           "--always-ops %u --rec-users %u --rec-items %u --rec-events %llu",
           argv[0], o.quick ? " --quick" : "", sec, o.runs,
           (unsigned long long)o.seed, o.dir, o.seconds, o.users, o.items,
           o.epu, o.als_users, o.als_items, (unsigned long long)o.als_events,
           o.journal_ops, o.always_ops, o.rec_users, o.rec_items,
           (unsigned long long)o.rec_events);
  synth_params p;
  synth_params_default(&p);
  the_time = p.start_ms + p.span_ms;
  tmp_make(o.dir);

  double t_start = now_s(), ph_snap = 0, ph_jour = 0, ph_thr = 0;
  if (o.snapshot) {
    section_snapshot(&o, mach, cmd, &ph_snap);
    fflush(stdout);
  }
  if (o.journal) {
    section_journal(&o, mach, cmd, &ph_jour);
    fflush(stdout);
  }
  if (o.threads) section_threads(&o, mach, cmd, &ph_thr);
  printf("\nphases (wall s): snapshots %.1f, journal %.1f, threads %.1f; "
         "total %.1f (data generation and setup included)\n",
         ph_snap, ph_jour, ph_thr, now_s() - t_start);
  tmp_cleanup();
  return 0;
}
