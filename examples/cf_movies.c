/*
 * cf_movies - collaborative filtering with libpersonalize: "people who liked
 * this also liked", learnt from a ratings file.
 *
 *   cf_movies [RATINGS_CSV | --synthetic]
 *
 * 1. import a MovieLens ratings.csv (default:
 *    ../shared/data/ml-latest-small/ratings.csv) with pz_cf_import: ratings
 *    of 4 or more become interactions of weight 1, the rest are skipped.
 *    When the default file is absent (or with --synthetic) a small
 *    synthetic ratings file is written to a temporary directory instead,
 *    so the example always runs;
 * 2. train the configured model (item-kNN and implicit ALS, blended) with
 *    pz_cf_train and print what it is;
 * 3. list the movies most similar to the two most popular ones;
 * 4. recommend to two users, with the reason and the movies of their own
 *    history that drove each recommendation (pz_recs_because);
 * 5. a brand-new user rates three movies and gets CF recommendations at
 *    once: a user's side of the model is computed from their history at
 *    request time, so nothing is retrained.
 *
 * When a movies.csv sits next to the ratings file, titles are shown next to
 * the ids. MovieLens data is not part of the project; see its README.txt
 * for its terms.
 */
#include <personalize.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_RATINGS "../shared/data/ml-latest-small/ratings.csv"
#define NOW_MS 1767225600000LL /* 2026-01-01T00:00Z: the clock's "now" */
#define TOP_K 5
#define TITLE_MAX 96

/* The cf: section keeps its defaults (item-kNN with BM25 weighting and
 * implicit ALS, blended; see personalize.yaml(5)) but trains on two
 * threads: the model is the same whatever the thread count. */
static const char config[] = "cf:\n"
                             "  threads: 2\n";

/* Print a failed call and its detail; returns 1 for main's exit status. */
static int report(const char *call, int rc) {
  fprintf(stderr, "cf_movies: %s failed: %s: %s\n", call, pz_strerror(rc),
          pz_errmsg());
  return 1;
}

static int64_t fixed_clock(void *ud) { return *(const int64_t *)ud; }

/* ---- titles -------------------------------------------------------------- */

typedef struct title {
  long id;
  char *text;
} title;

/* Titles by movie id: from movies.csv, or made up for the synthetic data. */
typedef struct titles {
  title *t;
  size_t n, cap;
  int synthetic;
} titles;

static const char *const genres[] = {"Western", "Horror", "Musical",
                                     "Sci-Fi",  "Romance", "Documentary"};
#define N_GENRES (sizeof genres / sizeof *genres)

static int cmp_title(const void *x, const void *y) {
  long a = ((const title *)x)->id, b = ((const title *)y)->id;
  return (a > b) - (a < b);
}

/* The title field of a movies.csv line at s: quoted with "" for a quote,
 * or plain up to the next comma. Copied into out (cap bytes, truncated). */
static void csv_field(const char *s, char *out, size_t cap) {
  size_t n = 0;
  if (*s == '"') {
    for (s++; *s && !(s[0] == '"' && s[1] != '"'); s++) {
      if (s[0] == '"') s++; /* "" is one quote */
      if (n + 1 < cap) out[n++] = *s;
    }
  } else {
    for (; *s && *s != ',' && *s != '\n' && *s != '\r'; s++)
      if (n + 1 < cap) out[n++] = *s;
  }
  out[n] = '\0';
}

/* movies.csv next to the ratings file, if there is one; 0 on success or
 * when there is no such file, 1 when out of memory. */
static int titles_load(titles *ts, const char *ratings_path) {
  char path[4096], line[1024], text[TITLE_MAX];
  const char *slash = strrchr(ratings_path, '/');
  int dir = slash ? (int)(slash - ratings_path + 1) : 0;
  snprintf(path, sizeof path, "%.*smovies.csv", dir, ratings_path);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  while (fgets(line, sizeof line, f)) {
    char *end;
    long id = strtol(line, &end, 10);
    if (end == line || *end != ',') continue; /* the header, or not a row */
    csv_field(end + 1, text, sizeof text);
    if (ts->n == ts->cap) {
      size_t cap = ts->cap ? 2 * ts->cap : 1024;
      title *t = realloc(ts->t, cap * sizeof *t);
      if (!t) break;
      ts->t = t;
      ts->cap = cap;
    }
    ts->t[ts->n].id = id;
    if (!(ts->t[ts->n].text = strdup(text))) break;
    ts->n++;
  }
  int oom = !feof(f);
  fclose(f);
  if (oom) {
    fprintf(stderr, "cf_movies: %s: out of memory or line too long\n", path);
    return 1;
  }
  qsort(ts->t, ts->n, sizeof *ts->t, cmp_title);
  return 0;
}

static void titles_free(titles *ts) {
  for (size_t i = 0; i < ts->n; i++) free(ts->t[i].text);
  free(ts->t);
}

/* The title of an item, or "" when unknown. buf: TITLE_MAX bytes. */
static const char *title_of(const titles *ts, const char *item, char *buf) {
  char *end;
  long id = strtol(item, &end, 10);
  if (end == item || *end) return "";
  if (ts->synthetic) {
    snprintf(buf, TITLE_MAX, "%s #%ld", genres[(unsigned long)id % N_GENRES],
             id);
    return buf;
  }
  title key = {id, NULL};
  const title *t = bsearch(&key, ts->t, ts->n, sizeof *ts->t, cmp_title);
  return t ? t->text : "";
}

/* s cut to at most `width` bytes, ending in "..." when cut (at a UTF-8
 * character boundary). buf: TITLE_MAX bytes. */
static const char *short_title(const char *s, size_t width, char *buf) {
  size_t n = strlen(s);
  if (n <= width || width < 4) return s;
  n = width - 3;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  snprintf(buf, TITLE_MAX, "%.*s...", (int)n, s);
  return buf;
}

/* ---- synthetic ratings --------------------------------------------------- */

static uint64_t next_random(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static unsigned below(uint64_t *s, unsigned n) {
  return (unsigned)(next_random(s) % n);
}

#define SYN_USERS 400
#define SYN_MOVIES 300
#define SYN_PER_USER 40

/* MovieLens-shaped ratings: movie m is of genre m % 6; each user loves one
 * genre (rates its movies 4 to 5) and samples others (rated 1 to 4).
 * Lower-numbered movies of a genre are picked more often, so popularity is
 * skewed as in real logs. Returns 0, or 1 after saying what failed. */
static int write_synthetic(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return 1;
  }
  fprintf(f, "userId,movieId,rating,timestamp\n");
  uint64_t rng = 42;
  for (unsigned u = 1; u <= SYN_USERS; u++) {
    unsigned love = below(&rng, N_GENRES);
    unsigned char rated[SYN_MOVIES + 1] = {0};
    for (unsigned k = 0; k < SYN_PER_USER; k++) {
      unsigned g = below(&rng, 10) < 8 ? love : below(&rng, N_GENRES);
      /* the smaller of two draws: rank r is picked about (n - r) times */
      unsigned per = SYN_MOVIES / N_GENRES, a = below(&rng, per),
               b = below(&rng, per);
      unsigned m = (a < b ? a : b) * (unsigned)N_GENRES + g;
      if (m == 0 || rated[m]) continue;
      rated[m] = 1;
      unsigned half_stars = g == love ? 8 + below(&rng, 3) : 2 + below(&rng, 7);
      fprintf(f, "%u,%u,%.1f,%u\n", u, m, half_stars / 2.0,
              1500000000u + u * 1000u + k);
    }
  }
  if (fclose(f) != 0) {
    perror(path);
    return 1;
  }
  return 0;
}

/* ---- the steps ------------------------------------------------------------- */

static int import(pz_engine *e, const char *path) {
  pz_cf_import_options o;
  int rc = pz_cf_import_options_init(&o, PZ_CF_IMPORT_OPTIONS_VERSION);
  if (rc) return report("pz_cf_import_options_init", rc);
  o.format = PZ_CF_FORMAT_MOVIELENS;
  o.event_type = "rating";
  o.min_value = 4; /* 4 stars or more: the user liked it */
  o.binary = 1;    /* and each like counts 1, whatever its stars */
  /* The ratings span many years; CF ignores time, but popularity decays
   * (decay.half_life), so stamp every row at the clock's now. */
  o.use_timestamps = 0;
  uint64_t rows = 0;
  if ((rc = pz_cf_import(e, path, &o, &rows))) return report("pz_cf_import", rc);
  printf("imported %llu ratings of 4 or more from %s\n",
         (unsigned long long)rows, path);
  return 0;
}

static const char *algorithm_name(int a) {
  switch (a) {
  case PZ_CF_KNN: return "item-kNN";
  case PZ_CF_ALS: return "implicit ALS";
  case PZ_CF_BOTH: return "item-kNN + implicit ALS";
  default: return "?";
  }
}

static int train(pz_engine *e) {
  int rc = pz_cf_train(e, NULL); /* everything from the config's cf: */
  if (rc) return report("pz_cf_train", rc);
  pz_cf_stats st;
  memset(&st, 0, sizeof st);
  st.version = PZ_CF_STATS_VERSION;
  if ((rc = pz_cf_stats_get(&st, e))) return report("pz_cf_stats_get", rc);
  printf("model: %s, %u users x %u items, %llu interactions, %u thread%s, "
         "%.2f s\n",
         algorithm_name(st.algorithm), st.users, st.items,
         (unsigned long long)st.interactions, st.threads,
         st.threads == 1 ? "" : "s", st.train_seconds);
  if (st.neighbours) printf("  kNN: %u neighbours per item\n", st.neighbours);
  if (st.factors) {
    double loss[64];
    size_t n = 0;
    rc = pz_cf_loss(loss, sizeof loss / sizeof *loss, &n, e);
    if (rc == PZ_EBUFS) { /* more sweeps than we keep: skip the curve */
      printf("  ALS: %u factors, %u sweeps\n", st.factors, st.iterations);
    } else if (rc) {
      return report("pz_cf_loss", rc);
    } else {
      printf("  ALS: %u factors, %u sweeps, loss %.5f after the first, "
             "%.5f after the last\n",
             st.factors, st.iterations, loss[0], loss[n - 1]);
    }
  }
  return 0;
}

/* The n most popular items: what a visitor without history is shown. */
static int most_popular(pz_engine *e, size_t n, char out[][64]) {
  pz_recs *r = NULL;
  int rc = pz_recommend(&r, e, "a-visitor-without-history", n, NULL);
  if (rc) return report("pz_recommend", rc);
  for (size_t i = 0; i < n; i++)
    snprintf(out[i], sizeof out[i], "%s",
             i < pz_recs_count(r) ? pz_recs_item(r, i) : "");
  pz_recs_free(r);
  return 0;
}

static int show_similar(pz_engine *e, const titles *ts, const char *item) {
  char b1[TITLE_MAX], b2[TITLE_MAX];
  pz_recs *r = NULL;
  int rc = pz_similar_items(&r, e, item, TOP_K);
  if (rc) return report("pz_similar_items", rc);
  printf("\nsimilar to %s %s (%s):\n", item, title_of(ts, item, b1),
         pz_recs_count(r) ? pz_recs_reason(r, 0) : "none found");
  for (size_t i = 0; i < pz_recs_count(r); i++)
    printf("  %zu. %-6s %.3f  %s\n", i + 1, pz_recs_item(r, i),
           pz_recs_score(r, i), title_of(ts, pz_recs_item(r, i), b2));
  pz_recs_free(r);
  return 0;
}

/* Top-K for a user: id, score, title, reason; then the user's own items
 * behind the CF part of the score, with their shares. */
static int show_recommendations(pz_engine *e, const titles *ts,
                                const char *user) {
  char b1[TITLE_MAX], b2[TITLE_MAX];
  pz_recs *r = NULL;
  int rc = pz_recommend(&r, e, user, TOP_K, NULL);
  if (rc) return report("pz_recommend", rc);
  for (size_t i = 0; i < pz_recs_count(r); i++) {
    const char *item = pz_recs_item(r, i), *why;
    printf("  %zu. %-6s %.3f  %s\n       %s", i + 1, item, pz_recs_score(r, i),
           title_of(ts, item, b1), pz_recs_reason(r, i));
    for (size_t j = 0; (why = pz_recs_because(r, i, j)) != NULL; j++)
      printf("%s %s %s %.0f%%", j ? "," : "; CF shares:", why,
             short_title(title_of(ts, why, b1), 24, b2),
             100 * pz_recs_because_share(r, i, j));
    printf("\n");
  }
  pz_recs_free(r);
  return 0;
}

/* Three items a newcomer likes: the original Star Wars trilogy when the
 * catalogue has it, else `seed` and the two items most similar to it. */
static int newcomer_picks(pz_engine *e, const char *seed, char out[3][64]) {
  static const char *const saga[3] = {"260", "1196", "1210"};
  int have = 1;
  for (int i = 0; i < 3 && have; i++)
    have = pz_item_popularity(NULL, NULL, e, saga[i], 0) == PZ_OK;
  if (have) {
    for (int i = 0; i < 3; i++) snprintf(out[i], sizeof out[i], "%s", saga[i]);
    return 0;
  }
  pz_recs *r = NULL;
  int rc = pz_similar_items(&r, e, seed, 2);
  if (rc) return report("pz_similar_items", rc);
  snprintf(out[0], sizeof out[0], "%s", seed);
  for (size_t i = 0; i < 2; i++)
    snprintf(out[i + 1], sizeof out[i + 1], "%s",
             i < pz_recs_count(r) ? pz_recs_item(r, i) : seed);
  pz_recs_free(r);
  return 0;
}

static int newcomer(pz_engine *e, const titles *ts, const char *seed) {
  const char *id = "newcomer";
  char picks[3][64], b[TITLE_MAX];
  if (newcomer_picks(e, seed, picks)) return 1;
  printf("\n%s, a new user who has just rated:\n", id);
  for (int i = 0; i < 3; i++) {
    int rc = pz_track(e, id, picks[i], "rating", 1, 0);
    if (rc) return report("pz_track", rc);
    printf("  %-6s %s\n", picks[i], title_of(ts, picks[i], b));
  }
  printf("gets, with no retraining:\n");
  return show_recommendations(e, ts, id);
}

/* ---- main --------------------------------------------------------------- */

static int file_exists(const char *path) {
  FILE *f = fopen(path, "r");
  if (f) fclose(f);
  return f != NULL;
}

int main(int argc, char **argv) {
  if (argc > 2 || (argc == 2 && argv[1][0] == '-' &&
                   strcmp(argv[1], "--synthetic") != 0)) {
    fprintf(stderr, "usage: cf_movies [RATINGS_CSV | --synthetic]\n");
    return 2;
  }
  /* Step 1: the ratings file; synthetic when asked, or when the default
   * one is absent (a path given explicitly must exist). */
  const char *path = argc == 2 ? argv[1] : DEFAULT_RATINGS;
  char dir[4096] = "", synthetic[4200];
  titles ts = {NULL, 0, 0, 0};
  if ((argc == 2 && strcmp(argv[1], "--synthetic") == 0) ||
      (argc == 1 && !file_exists(path))) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/cf_movies.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
      perror(dir);
      return 1;
    }
    snprintf(synthetic, sizeof synthetic, "%s/ratings.csv", dir);
    if (argc == 1)
      printf("%s is absent: using synthetic ratings\n", DEFAULT_RATINGS);
    path = synthetic;
    ts.synthetic = 1;
  }
  int st = ts.synthetic ? write_synthetic(path) : titles_load(&ts, path);

  /* A fixed clock, so every run prints the same (but the training time). */
  int64_t now = NOW_MS;
  pz_engine_options opts;
  pz_engine *e = NULL;
  int rc = pz_engine_options_init(&opts, PZ_ENGINE_OPTIONS_VERSION);
  if (rc) st = report("pz_engine_options_init", rc);
  opts.config_text = config;
  opts.config_len = strlen(config);
  opts.clock = fixed_clock;
  opts.clock_ud = &now;
  if (!st && (rc = pz_engine_open_with(&e, &opts)))
    st = report("pz_engine_open_with", rc);
  if (!st)
    printf("libpersonalize %s cf_movies%s\n", pz_version_string(),
           ts.synthetic ? " (synthetic data)" : "");

  /* Steps 1 to 5; each returns 0 or 1 (and has said what failed). */
  char popular[2][64];
  if (!st) st = import(e, path);
  if (!st) st = train(e);
  if (!st) st = most_popular(e, 2, popular);
  for (int i = 0; i < 2 && !st; i++)
    if (popular[i][0]) st = show_similar(e, &ts, popular[i]);
  static const char *const users[] = {"1", "2"};
  for (int i = 0; i < 2 && !st; i++) {
    size_t n = 0;
    if ((rc = pz_profile_event_count(&n, e, users[i]))) {
      st = report("pz_profile_event_count", rc);
      break;
    }
    printf("\nuser %s, %zu movies liked:\n", users[i], n);
    st = show_recommendations(e, &ts, users[i]);
  }
  if (!st) st = newcomer(e, &ts, popular[0]);

  pz_engine_free(e);
  titles_free(&ts);
  if (dir[0]) { /* the synthetic file and its directory */
    remove(synthetic);
    rmdir(dir);
  }
  return st;
}
