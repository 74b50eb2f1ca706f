/*
 * tests/bench/common.h - helpers shared by the benchmarks (bench.c,
 * bench_cf.c): clocks, medians and percentiles, fatal errors, resident
 * memory and the machine line. Define BENCH_NAME (the program's name in
 * messages) before including it.
 */
#ifndef PZ_BENCH_COMMON_H
#define PZ_BENCH_COMMON_H

#include <personalize.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of n values (sorts them). */
static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *sorted, size_t n, double q) {
  size_t r = (size_t)(q * (double)n + 0.999999);
  if (r < 1) r = 1;
  if (r > n) r = n;
  return sorted[r - 1];
}

static void die_pz(const char *call, int rc) {
  fprintf(stderr, BENCH_NAME ": %s failed: %s: %s\n", call, pz_strerror(rc),
          pz_errmsg());
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, BENCH_NAME ": out of memory (%zu bytes)\n", n);
    exit(1);
  }
  return p;
}

/* Resident set size in bytes, from /proc/self/statm (0 if unreadable). */
static double rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long size = 0, res = 0;
  if (!f) return 0;
  if (fscanf(f, "%llu %llu", &size, &res) != 2) res = 0;
  fclose(f);
  return (double)res * 4096.0;
}

static void machine(char *buf, size_t cap) {
  char model[256] = "unknown CPU", line[512];
  unsigned cores = 0;
  unsigned long long mem_kb = 0;
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "processor", 9) == 0) cores++;
      char *colon = strchr(line, ':');
      if (cores <= 1 && colon && strncmp(line, "model name", 10) == 0) {
        colon += 1 + (colon[1] == ' ');
        colon[strcspn(colon, "\n")] = 0;
        snprintf(model, sizeof model, "%s", colon);
      }
    }
    fclose(f);
  }
  if ((f = fopen("/proc/meminfo", "r"))) {
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "MemTotal: %llu kB", &mem_kb) == 1) break;
    fclose(f);
  }
#if defined(__clang__)
  const char *cc = "clang ";
#elif defined(__GNUC__)
  const char *cc = "gcc ";
#else
  const char *cc = "";
#endif
#ifdef __VERSION__
  const char *ver = __VERSION__;
#else
  const char *ver = "(unknown version)";
#endif
  snprintf(buf, cap, "%s, %u cores, %.1f GiB RAM, %s%s", model, cores,
           (double)mem_kb / (1024.0 * 1024.0), cc, ver);
}


/* ---- a counting allocator -------------------------------------------------
 * The library passes the exact old size when it frees or resizes, so the
 * bytes it holds are a running sum; malloc's own headers are not counted
 * (an RSS figure shows them). Atomic, because training runs threads;
 * uncontended, so it costs a few nanoseconds per allocation. */

typedef struct counter {
  _Atomic size_t live, peak;
} counter;

static inline void counter_add(counter *c, size_t osize, size_t nsize) {
  if (nsize >= osize) {
    size_t now = atomic_fetch_add_explicit(&c->live, nsize - osize,
                                           memory_order_relaxed) +
                 (nsize - osize);
    size_t p = atomic_load_explicit(&c->peak, memory_order_relaxed);
    while (now > p && !atomic_compare_exchange_weak_explicit(
                          &c->peak, &p, now, memory_order_relaxed,
                          memory_order_relaxed)) {
    }
  } else {
    atomic_fetch_sub_explicit(&c->live, osize - nsize, memory_order_relaxed);
  }
}

static inline void *count_alloc(void *ud, void *ptr, size_t osize,
                                size_t nsize) {
  counter *c = ud;
  if (nsize == 0) {
    if (ptr) counter_add(c, osize, 0);
    free(ptr);
    return NULL;
  }
  void *q = realloc(ptr, nsize);
  if (!q) return NULL;
  counter_add(c, ptr ? osize : 0, nsize);
  return q;
}

static inline void counter_init(counter *c) {
  atomic_init(&c->live, 0);
  atomic_init(&c->peak, 0);
}
static inline size_t live_bytes(counter *c) { return atomic_load(&c->live); }
static inline size_t peak_bytes(counter *c) { return atomic_load(&c->peak); }
/* Start a new peak measurement at the bytes held now. */
static inline void peak_reset(counter *c) {
  atomic_store(&c->peak, live_bytes(c));
}

#endif /* PZ_BENCH_COMMON_H */
