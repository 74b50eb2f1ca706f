/*
 * pz-eval - score libpersonalize recommenders offline on a train/test split.
 *
 *   pz-eval [--k N] [--repeat R] [--json] [--quiet] [--terse] [--holdout SEED]
 *           --train TRAIN [--test TEST] [--model SPEC...]
 *
 * The protocol is that of ../shared/data/README.md, so that our figures sit
 * beside the peers' there: every row is a positive interaction of weight 1;
 * top-k lists leave out the user's train items; the catalogue is every item
 * of train or test; precision, recall, nDCG and MAP at k are averaged over
 * the users with at least one test item.
 *
 * For each model: open an engine with the model's YAML configuration, load
 * the train rows (pz_cf_import, the library's own file path; or pz_track row
 * by row in holdout mode), add the items only the test rows name, train
 * (pz_cf_train), then time pz_recommend for every scored user and score the
 * list. With --holdout SEED the test file is never read: TRAIN itself is
 * split by the same protocol and the held-out part is scored, which is how
 * defaults are tuned without looking at test rows.
 *
 * The engine's clock is fixed for the whole run, so every event has the
 * same time: popularity is then a plain count (as the peers' "most popular")
 * and runs are reproducible.
 */
#include <personalize.h>

#include "synth.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define EVENT_TYPE "view" /* weight 1 in the default event table */
#define HOLDOUT_SHARE 0.2 /* round(0.2 n) of a user's items are held out */
#define MIN_SPLIT_ITEMS 3 /* users with fewer stay train-only */

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: pz-eval [--k N] [--repeat R] [--json] [--quiet] [--terse]\n"
      "               [--holdout SEED] --train TRAIN.tsv [--test TEST.tsv]\n"
      "               [--model SPEC ...]\n"
      "Scores libpersonalize models offline: each row (user<TAB>item<TAB>\n"
      "value, or user,item,value in CSV, an optional header line) is a\n"
      "positive interaction of weight 1; top-k lists leave out the user's\n"
      "train items; the catalogue is every item of train or test; precision,\n"
      "recall, nDCG and MAP at k are averaged over the users with a test\n"
      "item. Files are TSV when their first line has a tab, else CSV.\n"
      "  --train FILE    rows to train on (loaded with pz_cf_import)\n"
      "  --test FILE     rows to score\n"
      "  --holdout SEED  validation mode: TEST is not read; TRAIN is split\n"
      "                  (users and items in id order, a seeded shuffle puts\n"
      "                  round(0.2 n) of each user's n > 2 items aside) and\n"
      "                  the held-out part is scored\n"
      "  --k N           list length (default 10)\n"
      "  --repeat R      train R times and report the median (default 1)\n"
      "  --json          one JSON object per model per line, no table\n"
      "  --quiet         with --json, no header line on stderr\n"
      "  --terse         ask for terse lists (no reason texts or because-\n"
      "                  items: pz_recommend_options.terse = 1)\n"
      "Model SPECs (the name printed is the SPEC as given; without any\n"
      "--model, default):\n"
      "  default             the library's defaults (empty configuration)\n"
      "  popular             cf: {algorithm: off}, popularity only\n"
      "  knn|als|both        pure CF ranking (cf_weight 1, other weights 0)\n"
      "  NAME:KEY=V,...      any of the above with keys set on top\n"
      "  cf keys: neighbours, weighting (none|tfidf|bm25), bm25_k1, bm25_b,\n"
      "    factors, regularization, alpha, iterations, cg_steps, threads,\n"
      "    seed, als_share\n"
      "  ranking keys: ranking.cf_weight, ranking.content_weight,\n"
      "    ranking.popularity_weight, ranking.segment_weight,\n"
      "    ranking.segment_min_members, ranking.max_k\n"
      "Note on alpha: our ALS confidence is c = 1 + alpha*r (Hu-Koren-\n"
      "  Volinsky); implicit's is c = alpha*r. So implicit's alpha A is our\n"
      "  alpha A-1: implicit alpha=1 is alpha=0 here, alpha=10 is alpha=9.\n"
      "Example: pz-eval --train train.tsv --test test.tsv --model default \\\n"
      "           --model als:factors=64,alpha=0,threads=2 --model popular\n"
      "Exit status: 0 done, 1 error (file, library), 2 bad command line.\n");
}

/* ---- memory: a command-line tool may stop on out of memory --------------- */

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fputs("pz-eval: out of memory\n", stderr);
    exit(1);
  }
  return q;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) {
    fputs("pz-eval: out of memory\n", stderr);
    exit(1);
  }
  return p;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Print a failed library call the same way everywhere; returns 1 for the
 * exit status. */
static int lib_fail(const char *what, int rc) {
  fprintf(stderr, "pz-eval: %s: %s: %s\n", what, pz_strerror(rc), pz_errmsg());
  return 1;
}

/* ---- id tables: strings interned to dense indices ------------------------ */

typedef struct idtab {
  char **id; /* by index */
  uint32_t n, cap;
  uint32_t *slot; /* open addressing: index + 1, 0 = empty */
  uint32_t mask;  /* slots - 1; slots a power of two, >= 2n */
} idtab;

static uint64_t hash_str(const char *s, size_t len) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return synth_mix64(h);
}

static uint32_t *idtab_probe(const idtab *t, const char *s, size_t len) {
  uint64_t h = hash_str(s, len);
  for (uint32_t j = (uint32_t)h & t->mask;; j = (j + 1) & t->mask) {
    uint32_t v = t->slot[j];
    if (!v) return &t->slot[j];
    const char *o = t->id[v - 1];
    if (strncmp(o, s, len) == 0 && o[len] == '\0') return &t->slot[j];
  }
}

/* Rehash every id into a table of `slots` slots. */
static void idtab_rehash(idtab *t, uint32_t slots) {
  free(t->slot);
  t->slot = xcalloc(slots, sizeof *t->slot);
  t->mask = slots - 1;
  for (uint32_t i = 0; i < t->n; i++)
    *idtab_probe(t, t->id[i], strlen(t->id[i])) = i + 1;
}

static uint32_t idtab_intern(idtab *t, const char *s, size_t len) {
  if (!t->slot) idtab_rehash(t, 1024);
  uint32_t *p = idtab_probe(t, s, len);
  if (*p) return *p - 1;
  if (t->n == t->cap) {
    t->cap = t->cap ? 2 * t->cap : 1024;
    t->id = xrealloc(t->id, t->cap * sizeof *t->id);
  }
  char *copy = xrealloc(NULL, len + 1);
  memcpy(copy, s, len);
  copy[len] = '\0';
  t->id[t->n] = copy;
  *p = ++t->n;
  if (2u * t->n > t->mask) idtab_rehash(t, 2 * (t->mask + 1));
  return t->n - 1;
}

/* Index of s, or -1 when it was never interned. */
static int64_t idtab_find(const idtab *t, const char *s) {
  if (!t->slot) return -1;
  uint32_t v = *idtab_probe(t, s, strlen(s));
  return v ? (int64_t)v - 1 : -1;
}

static void idtab_free(idtab *t) {
  for (uint32_t i = 0; i < t->n; i++) free(t->id[i]);
  free(t->id);
  free(t->slot);
}

/* Ids are ordered as numbers when every id is a decimal number (raw
 * MovieLens ids), else as byte strings: the protocol's "ordered by id". */
static bool idtab_numeric(const idtab *t) {
  for (uint32_t i = 0; i < t->n; i++) {
    const char *s = t->id[i];
    if (!*s) return false;
    for (; *s; s++)
      if (*s < '0' || *s > '9') return false;
  }
  return true;
}

typedef struct ordered {
  const char *s;
  uint32_t old;
} ordered;

static int cmp_str(const void *x, const void *y) {
  return strcmp(((const ordered *)x)->s, ((const ordered *)y)->s);
}

/* Decimal strings of any length by value: fewer significant digits is
 * smaller, equal lengths compare as text; "01" and "1" then by text. */
static int cmp_num(const void *x, const void *y) {
  const char *a = ((const ordered *)x)->s, *b = ((const ordered *)y)->s;
  const char *a1 = a, *b1 = b;
  while (*a1 == '0' && a1[1]) a1++;
  while (*b1 == '0' && b1[1]) b1++;
  size_t la = strlen(a1), lb = strlen(b1);
  if (la != lb) return la < lb ? -1 : 1;
  int c = strcmp(a1, b1);
  return c ? c : strcmp(a, b);
}

/* Renumber the ids in id order; map[old] = new (caller frees). */
static uint32_t *idtab_sort(idtab *t) {
  ordered *o = xcalloc(t->n, sizeof *o);
  for (uint32_t i = 0; i < t->n; i++) o[i] = (ordered){t->id[i], i};
  qsort(o, t->n, sizeof *o, idtab_numeric(t) ? cmp_num : cmp_str);
  uint32_t *map = xcalloc(t->n, sizeof *map);
  for (uint32_t i = 0; i < t->n; i++) {
    map[o[i].old] = i;
    t->id[i] = (char *)o[i].s;
  }
  free(o);
  if (t->slot) idtab_rehash(t, t->mask + 1);
  return map;
}

/* ---- interaction rows and per-user item lists ---------------------------- */

typedef struct pairs {
  uint32_t *u, *i;
  size_t n, cap;
} pairs;

static void pairs_add(pairs *p, uint32_t u, uint32_t i) {
  if (p->n == p->cap) {
    p->cap = p->cap ? 2 * p->cap : 4096;
    p->u = xrealloc(p->u, p->cap * sizeof *p->u);
    p->i = xrealloc(p->i, p->cap * sizeof *p->i);
  }
  p->u[p->n] = u;
  p->i[p->n++] = i;
}

static void pairs_free(pairs *p) {
  free(p->u);
  free(p->i);
}

/* Per user, the sorted distinct items (compressed rows). */
typedef struct csr {
  uint32_t rows;
  size_t *ptr; /* rows + 1 */
  uint32_t *idx;
} csr;

static int cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return (a > b) - (a < b);
}

static size_t csr_len(const csr *c, uint32_t r) {
  return c->ptr[r + 1] - c->ptr[r];
}

static bool csr_has(const csr *c, uint32_t r, uint32_t item) {
  return bsearch(&item, c->idx + c->ptr[r], csr_len(c, r), sizeof item,
                 cmp_u32) != NULL;
}

/* Build c from p; returns how many duplicate pairs were dropped. */
static size_t csr_build(csr *c, uint32_t rows, const pairs *p) {
  c->rows = rows;
  c->ptr = xcalloc((size_t)rows + 1, sizeof *c->ptr);
  c->idx = xcalloc(p->n, sizeof *c->idx);
  for (size_t j = 0; j < p->n; j++) c->ptr[p->u[j] + 1]++;
  for (uint32_t r = 0; r < rows; r++) c->ptr[r + 1] += c->ptr[r];
  size_t *fill = xcalloc((size_t)rows + 1, sizeof *fill);
  memcpy(fill, c->ptr, ((size_t)rows + 1) * sizeof *fill);
  for (size_t j = 0; j < p->n; j++) c->idx[fill[p->u[j]]++] = p->i[j];
  free(fill);
  /* sort each row and squeeze out repeats, rows moving left in place */
  size_t w = 0, start = 0;
  for (uint32_t r = 0; r < rows; r++) {
    size_t end = c->ptr[r + 1];
    qsort(c->idx + start, end - start, sizeof *c->idx, cmp_u32);
    c->ptr[r] = w;
    for (size_t j = start; j < end; j++)
      if (j == start || c->idx[j] != c->idx[j - 1]) c->idx[w++] = c->idx[j];
    start = end;
  }
  c->ptr[rows] = w;
  return p->n - w;
}

static void csr_free(csr *c) {
  free(c->ptr);
  free(c->idx);
}

/* ---- reading TSV files --------------------------------------------------- */

/* A finite number, the whole of s. */
static bool parse_number(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno == ERANGE || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* Split a line into exactly 3 fields separated by sep (a tab or a
 * comma); NULL or a reason. */
static const char *split3(char *line, char sep, char *f[3]) {
  f[0] = line;
  for (int k = 1; k < 3; k++) {
    char *tab = strchr(f[k - 1], sep);
    if (!tab)
      return sep == '\t' ? "expected 3 tab-separated fields: user, item, value"
                         : "expected 3 comma-separated fields: user, item, value";
    *tab = '\0';
    f[k] = tab + 1;
  }
  if (strchr(f[2], sep))
    return sep == '\t' ? "more than 3 tab-separated fields"
                       : "more than 3 comma-separated fields";
  if (sep == ',' && (strchr(f[0], '"') || strchr(f[1], '"')))
    return "quoted fields are not read: ids without commas or quotes";
  if (!*f[0]) return "empty user id";
  if (!*f[1]) return "empty item id";
  if (strlen(f[0]) > PZ_ID_MAX || strlen(f[1]) > PZ_ID_MAX)
    return "id longer than 255 bytes";
  return NULL;
}

/* A file's field separator: a tab when its first line has one, else a
 * comma (CSV). 0 when it cannot be opened. */
static char file_sep(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char *line = NULL;
  size_t cap = 0;
  char sep = '\t';
  if (getline(&line, &cap, f) >= 0 && !strchr(line, '\t') && strchr(line, ','))
    sep = ',';
  free(line);
  fclose(f);
  return sep;
}

/* Read user<TAB>item<TAB>value rows (or user,item,value: CSV) into p,
 * interning the ids. The first line is a header when its value is not a
 * number. *rows_out gets the data lines. Returns 0, or 1 after printing
 * path:line: reason. */
static int read_tsv(const char *path, idtab *users, idtab *items, pairs *p,
                    size_t *rows_out) {
  char sep = file_sep(path);
  FILE *f = sep ? fopen(path, "r") : NULL;
  if (!f) {
    fprintf(stderr, "pz-eval: cannot open %s: %s\n", path, strerror(errno));
    return 1;
  }
  char *line = NULL;
  size_t cap = 0, lineno = 0, rows = 0;
  ssize_t len;
  const char *why = NULL;
  while (!why && (len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if ((size_t)len != strlen(line)) {
      why = "NUL byte in the line";
      break;
    }
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    char *fld[3];
    double v;
    if ((why = split3(line, sep, fld))) break;
    if (!parse_number(fld[2], &v)) {
      if (lineno == 1) continue; /* the header */
      why = "value is not a finite number";
      break;
    }
    pairs_add(p, idtab_intern(users, fld[0], strlen(fld[0])),
              idtab_intern(items, fld[1], strlen(fld[1])));
    rows++;
  }
  int bad = ferror(f);
  free(line);
  fclose(f);
  if (why) {
    fprintf(stderr, "pz-eval: %s:%zu: %s\n", path, lineno, why);
    return 1;
  }
  if (bad) {
    fprintf(stderr, "pz-eval: cannot read %s\n", path);
    return 1;
  }
  *rows_out = rows;
  return 0;
}

/* ---- the data set: train rows for the engine, the truth to score -------- */

typedef struct dataset {
  idtab users, items; /* every id of the files read, in id order */
  pairs train;        /* distinct train pairs, file order: what is loaded */
  csr seen;           /* per user: train items */
  csr truth;          /* per user: test (or held-out) items */
  bool *item_loaded;  /* the item is in `train` */
  uint32_t *scored;   /* users with >= 1 truth item, id order */
  size_t n_scored, n_unknown; /* ... and those with no train item */
  size_t file_rows, train_dups, test_rows, test_dups, overlap;
  uint32_t train_users, train_items, test_only_items;
} dataset;

/* Renumber users and items in id order and the pairs with them. */
static void dataset_sort_ids(dataset *d, pairs *a, pairs *b) {
  uint32_t *um = idtab_sort(&d->users), *im = idtab_sort(&d->items);
  pairs *ps[2] = {a, b};
  for (int k = 0; k < 2; k++)
    for (size_t j = 0; j < ps[k]->n; j++) {
      ps[k]->u[j] = um[ps[k]->u[j]];
      ps[k]->i[j] = im[ps[k]->i[j]];
    }
  free(um);
  free(im);
}

static uint64_t rng_below(synth_rng *r, uint64_t bound) {
  uint64_t lim = (0 - bound) % bound; /* rejection: no modulo bias */
  uint64_t x;
  do x = synth_next(r);
  while (x < lim);
  return x % bound;
}

/* The protocol's split: users in id order, each user's items in id order,
 * one splitmix64 stream seeded with SEED shuffles (Fisher-Yates) the items
 * of each user with n >= 3 and the first round(0.2 n) are held out. */
static void split_holdout(const csr *all, uint64_t seed, pairs *keep,
                          pairs *held) {
  synth_rng r = {seed};
  uint32_t *tmp = xcalloc(all->ptr[all->rows], sizeof *tmp);
  for (uint32_t u = 0; u < all->rows; u++) {
    size_t n = csr_len(all, u);
    memcpy(tmp, all->idx + all->ptr[u], n * sizeof *tmp);
    size_t m = 0;
    if (n >= MIN_SPLIT_ITEMS) {
      for (size_t j = n - 1; j > 0; j--) {
        size_t s = (size_t)rng_below(&r, j + 1);
        uint32_t t = tmp[j];
        tmp[j] = tmp[s];
        tmp[s] = t;
      }
      m = (size_t)lround(HOLDOUT_SHARE * (double)n);
    }
    for (size_t j = 0; j < n; j++) pairs_add(j < m ? held : keep, u, tmp[j]);
  }
  free(tmp);
}

/* d->train: the rows of `file` whose pair is in `keep`, first occurrence
 * only, in file order (so items enter the catalogue as the file has them). */
static void select_rows(dataset *d, const pairs *file, const csr *keep) {
  bool *done = xcalloc(keep->ptr[keep->rows], sizeof *done);
  for (size_t j = 0; j < file->n; j++) {
    uint32_t u = file->u[j], i = file->i[j];
    const uint32_t *row = keep->idx + keep->ptr[u];
    const uint32_t *hit = bsearch(&i, row, csr_len(keep, u), sizeof i, cmp_u32);
    if (!hit || done[hit - keep->idx]) continue;
    done[hit - keep->idx] = true;
    pairs_add(&d->train, u, i);
  }
  free(done);
}

/* Counts for the header and the checks: who is scored, who is unknown. */
static void dataset_count(dataset *d) {
  d->item_loaded = xcalloc(d->items.n, sizeof *d->item_loaded);
  for (size_t j = 0; j < d->train.n; j++) d->item_loaded[d->train.i[j]] = true;
  for (uint32_t i = 0; i < d->items.n; i++)
    if (d->item_loaded[i])
      d->train_items++;
    else
      d->test_only_items++;
  d->scored = xcalloc(d->users.n, sizeof *d->scored);
  for (uint32_t u = 0; u < d->users.n; u++) {
    size_t nt = csr_len(&d->truth, u);
    if (csr_len(&d->seen, u)) d->train_users++;
    if (!nt) continue;
    d->scored[d->n_scored++] = u;
    if (!csr_len(&d->seen, u)) d->n_unknown++;
    for (size_t j = d->truth.ptr[u]; j < d->truth.ptr[u + 1]; j++)
      if (csr_has(&d->seen, u, d->truth.idx[j])) d->overlap++;
  }
}

/* Read the files and build everything the models share. */
static int dataset_load(dataset *d, const char *train_path,
                        const char *test_path, bool holdout, uint64_t seed) {
  pairs file = {0}, test = {0};
  size_t test_rows = 0;
  int rc = read_tsv(train_path, &d->users, &d->items, &file, &d->file_rows);
  if (!rc && !holdout)
    rc = read_tsv(test_path, &d->users, &d->items, &test, &test_rows);
  if (!rc) {
    dataset_sort_ids(d, &file, &test);
    csr all;
    d->train_dups = csr_build(&all, d->users.n, &file);
    if (holdout) {
      pairs keep = {0};
      split_holdout(&all, seed, &keep, &test);
      csr_build(&d->seen, d->users.n, &keep);
      pairs_free(&keep);
      csr_free(&all);
    } else {
      d->seen = all;
    }
    select_rows(d, &file, &d->seen);
    d->test_dups = csr_build(&d->truth, d->users.n, &test);
    d->test_rows = test.n - d->test_dups;
    dataset_count(d);
  }
  pairs_free(&file);
  pairs_free(&test);
  return rc;
}

static void dataset_free(dataset *d) {
  idtab_free(&d->users);
  idtab_free(&d->items);
  pairs_free(&d->train);
  csr_free(&d->seen);
  csr_free(&d->truth);
  free(d->item_loaded);
  free(d->scored);
}

/* ---- model specs --------------------------------------------------------- */

enum kind { K_DEFAULT, K_POPULAR, K_KNN, K_ALS, K_BOTH };
static const char *const kind_names[] = {"default", "popular", "knn", "als",
                                         "both"};
#define N_KINDS (sizeof kind_names / sizeof *kind_names)

enum vtype { V_UINT, V_NUM, V_WEIGHTING };
typedef struct keydef {
  const char *key;
  enum vtype type;
} keydef;

/* The keys a spec may set: section cf, and ranking as "ranking.KEY". */
static const keydef cf_keys[] = {
    {"neighbours", V_UINT}, {"weighting", V_WEIGHTING},
    {"bm25_k1", V_NUM},     {"bm25_b", V_NUM},
    {"factors", V_UINT},    {"regularization", V_NUM},
    {"alpha", V_NUM},       {"iterations", V_UINT},
    {"cg_steps", V_UINT},   {"threads", V_UINT},
    {"seed", V_UINT},       {"als_share", V_NUM},
    {NULL, V_NUM}};
static const keydef rank_keys[] = {{"cf_weight", V_NUM},
                                   {"content_weight", V_NUM},
                                   {"popularity_weight", V_NUM},
                                   {"segment_weight", V_NUM},
                                   {"segment_min_members", V_UINT},
                                   {"max_k", V_UINT},
                                   {NULL, V_NUM}};

#define SECTION_MAX 16 /* more than the keys of either table plus a base */
#define KEY_MAX 32
#define VAL_MAX 64

/* One YAML section as ordered key: value pairs; setting a key again
 * replaces its value, so a spec's keys override its model's base. */
typedef struct section {
  size_t n;
  char key[SECTION_MAX][KEY_MAX];
  char val[SECTION_MAX][VAL_MAX];
} section;

static void section_set(section *s, const char *key, const char *val) {
  size_t j = 0;
  while (j < s->n && strcmp(s->key[j], key) != 0) j++;
  if (j == s->n) s->n++;
  snprintf(s->key[j], KEY_MAX, "%s", key);
  snprintf(s->val[j], VAL_MAX, "%s", val);
}

typedef struct result {
  double p, r, ndcg, map, coverage;
  double import_s, train_s, rec_p50_us, rec_p99_us;
  size_t users, unknown;
} result;

typedef struct model {
  const char *spec; /* as given: the name printed */
  enum kind kind;
  section cf, ranking;
  char yaml[2048];
  size_t yaml_len;
  result res;
} model;

/* Append to m->yaml; -1 when it would not fit. */
static int yaml_put(model *m, const char *a, const char *b, const char *c) {
  int n = snprintf(m->yaml + m->yaml_len, sizeof m->yaml - m->yaml_len,
                   "%s%s%s", a, b, c);
  if (n < 0 || (size_t)n >= sizeof m->yaml - m->yaml_len) return -1;
  m->yaml_len += (size_t)n;
  return 0;
}

/* The YAML the library reads, in flow style: "cf: {k: v, ...}". Values
 * were checked to be plain scalars of their type. Empty for `default`. */
static int model_yaml(model *m) {
  const section *secs[2] = {&m->cf, &m->ranking};
  const char *names[2] = {"cf: {", "ranking: {"};
  int bad = 0;
  m->yaml_len = 0;
  for (int s = 0; s < 2; s++) {
    if (!secs[s]->n) continue;
    bad |= yaml_put(m, names[s], "", "");
    for (size_t j = 0; j < secs[s]->n; j++)
      bad |= yaml_put(m, j ? ", " : "", secs[s]->key[j], ": ") |
             yaml_put(m, secs[s]->val[j], "", "");
    bad |= yaml_put(m, "}\n", "", "");
  }
  return bad;
}

/* A YAML number as the library reads one: -?D+(.D*)?([eE][+-]?D+)? */
static bool is_yaml_number(const char *s) {
  const char *p = s;
  double v;
  if (*p == '-') p++;
  if (*p < '0' || *p > '9') return false;
  while (*p >= '0' && *p <= '9') p++;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++) continue;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (*p < '0' || *p > '9') return false;
    while (*p >= '0' && *p <= '9') p++;
  }
  return !*p && parse_number(s, &v);
}

/* NULL when val has the key's type, else what it should be. Ranges are
 * left to the library, which checks them when the engine opens. */
static const char *check_value(enum vtype t, const char *val) {
  uint64_t u;
  switch (t) {
  case V_UINT:
    return synth_parse_u64(val, 0, UINT64_MAX, &u) ? "a whole number" : NULL;
  case V_NUM:
    return is_yaml_number(val) ? NULL : "a decimal number";
  case V_WEIGHTING:
    return strcmp(val, "none") && strcmp(val, "tfidf") && strcmp(val, "bm25")
               ? "none, tfidf or bm25"
               : NULL;
  }
  return "valid";
}

static const keydef *find_key(const keydef *defs, const char *key) {
  for (; defs->key; defs++)
    if (strcmp(defs->key, key) == 0) return defs;
  return NULL;
}

/* The base configuration of each kind: `default` is the library's own
 * (empty), `popular` popularity only, the others pure CF. */
static void model_base(model *m) {
  static const char *const algo[] = {NULL, "off", "knn", "als", "both"};
  if (m->kind == K_DEFAULT) return;
  bool pop = m->kind == K_POPULAR;
  section_set(&m->cf, "algorithm", algo[m->kind]);
  section_set(&m->ranking, "cf_weight", pop ? "0" : "1");
  section_set(&m->ranking, "content_weight", "0");
  section_set(&m->ranking, "popularity_weight", pop ? "1" : "0");
  section_set(&m->ranking, "segment_weight", "0");
}

static int spec_error(const model *m, const char *key, const char *why) {
  fprintf(stderr, "pz-eval: model %s: %s: %s\n", m->spec, key, why);
  return 2;
}

/* Apply one KEY=VALUE of a spec (kv is modified). `given` holds the keys
 * seen so far, to refuse one given twice. Returns 0, or 2 after a message. */
static int model_key(model *m, char *kv, const keydef **given,
                     size_t *n_given) {
  char *eq = strchr(kv, '=');
  if (!eq || eq == kv || !eq[1]) {
    fprintf(stderr, "pz-eval: model %s: \"%s\" is not KEY=VALUE\n", m->spec,
            kv);
    return 2;
  }
  *eq = '\0';
  const char *key = kv, *val = eq + 1;
  bool rank = strncmp(key, "ranking.", 8) == 0;
  const keydef *def =
      rank ? find_key(rank_keys, key + 8) : find_key(cf_keys, key);
  if (!def) return spec_error(m, key, "unknown key (see pz-eval --help)");
  if (!rank && m->kind == K_POPULAR)
    return spec_error(m, key, "popular takes only ranking.* keys");
  for (size_t j = 0; j < *n_given; j++)
    if (given[j] == def) return spec_error(m, key, "given twice");
  if (strlen(val) >= VAL_MAX) return spec_error(m, key, "value too long");
  const char *want = check_value(def->type, val);
  if (want) {
    fprintf(stderr, "pz-eval: model %s: %s=%s: the value must be %s\n", m->spec,
            key, val, want);
    return 2;
  }
  given[(*n_given)++] = def;
  section_set(rank ? &m->ranking : &m->cf, def->key, val);
  return 0;
}

/* Parse NAME[:KEY=VAL,...] into m and build its YAML; 0 or 2. */
static int model_parse(model *m, const char *spec) {
  memset(m, 0, sizeof *m);
  m->spec = spec;
  size_t nlen = strcspn(spec, ":");
  size_t k = 0;
  while (k < N_KINDS && (strlen(kind_names[k]) != nlen ||
                         strncmp(kind_names[k], spec, nlen) != 0))
    k++;
  if (k == N_KINDS)
    return spec_error(m, spec,
                      "unknown model (default, popular, knn, als, both)");
  m->kind = (enum kind)k;
  model_base(m);
  if (!spec[nlen]) return model_yaml(m) ? spec_error(m, spec, "too long") : 0;
  char *rest = xrealloc(NULL, strlen(spec + nlen + 1) + 1);
  strcpy(rest, spec + nlen + 1);
  const keydef *given[sizeof cf_keys / sizeof *cf_keys +
                      sizeof rank_keys / sizeof *rank_keys];
  size_t n_given = 0;
  int rc = 0;
  for (char *kv = rest, *next; !rc && kv; kv = next) {
    next = strchr(kv, ',');
    if (next) *next++ = '\0';
    rc = model_key(m, kv, given, &n_given);
  }
  free(rest);
  if (!rc && model_yaml(m)) rc = spec_error(m, spec, "too long");
  return rc;
}

/* ---- command line -------------------------------------------------------- */

typedef struct config {
  unsigned k, repeat;
  bool json, quiet, holdout, terse;
  uint64_t seed;
  const char *train_path, *test_path;
  model *models;
  size_t n_models;
  int64_t now_ms; /* the engines' fixed clock */
} config;

static int bad_arg(const char *opt, const char *why) {
  fprintf(stderr, "pz-eval: %s: %s\n", opt, why);
  usage(stderr);
  return 2;
}

/* One option with its value; 0, or 2 after a message. */
static int parse_opt(config *c, const char *opt, const char *val) {
  uint64_t v;
  if (strcmp(opt, "--k") == 0) {
    if (synth_parse_u64(val, 1, 1000000, &v))
      return bad_arg(opt, "not a whole number from 1 to 1000000");
    c->k = (unsigned)v;
  } else if (strcmp(opt, "--repeat") == 0) {
    if (synth_parse_u64(val, 1, 1000, &v))
      return bad_arg(opt, "not a whole number from 1 to 1000");
    c->repeat = (unsigned)v;
  } else if (strcmp(opt, "--holdout") == 0) {
    if (synth_parse_u64(val, 0, UINT64_MAX, &c->seed))
      return bad_arg(opt, "not a non-negative whole number");
    c->holdout = true;
  } else if (strcmp(opt, "--train") == 0 || strcmp(opt, "--test") == 0) {
    if (!*val) return bad_arg(opt, "empty file name");
    *(opt[3] == 'r' ? &c->train_path : &c->test_path) = val;
  } else if (strcmp(opt, "--model") == 0) {
    c->models = xrealloc(c->models, (c->n_models + 1) * sizeof *c->models);
    return model_parse(&c->models[c->n_models++], val);
  } else {
    return bad_arg(opt, "unknown option");
  }
  return 0;
}

static bool takes_value(const char *opt) {
  static const char *const opts[] = {"--k",     "--repeat", "--holdout",
                                     "--train", "--test",   "--model"};
  for (size_t j = 0; j < sizeof opts / sizeof *opts; j++)
    if (strcmp(opt, opts[j]) == 0) return true;
  return false;
}

static int parse_args(config *c, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
      usage(stdout);
      return -1;
    }
    if (strcmp(opt, "--json") == 0 || strcmp(opt, "--quiet") == 0 ||
        strcmp(opt, "--terse") == 0) {
      *(opt[2] == 'j' ? &c->json : opt[2] == 'q' ? &c->quiet : &c->terse) =
          true;
      continue;
    }
    if (!takes_value(opt)) return bad_arg(opt, "unknown option");
    if (i + 1 >= argc) return bad_arg(opt, "missing value");
    int rc = parse_opt(c, opt, argv[++i]);
    if (rc) return rc;
  }
  if (!c->train_path) return bad_arg("--train", "required");
  if (!c->test_path && !c->holdout)
    return bad_arg("--test", "required (or --holdout SEED)");
  if (!c->n_models) { /* the library's defaults */
    c->models = xrealloc(c->models, sizeof *c->models);
    int rc = model_parse(&c->models[c->n_models++], "default");
    if (rc) return rc;
  }
  if (c->holdout && c->test_path) {
    fprintf(stderr, "pz-eval: --holdout: %s is not read\n", c->test_path);
    c->test_path = NULL;
  }
  return 0;
}

/* ---- running one model -------------------------------------------------- */

static int64_t fixed_clock(void *ud) { return *(const int64_t *)ud; }

/* An engine configured for m, on the run's fixed clock. */
static int open_engine(pz_engine **e, const config *c, const model *m) {
  char what[512];
  int rc = pz_engine_open_string(e, m->yaml, m->yaml_len);
  if (!rc) rc = pz_engine_set_clock(*e, fixed_clock, (void *)&c->now_ms);
  if (!rc) return 0;
  snprintf(what, sizeof what, "model %s: opening the engine", m->spec);
  return lib_fail(what, rc);
}

/* Load the train rows: the library's file import, or (holdout, where only
 * part of the file is train) one pz_track per distinct pair. */
static int load_train(pz_engine *e, const config *c, const dataset *d,
                      model *m) {
  char what[512];
  int rc;
  double t0 = now_s();
  if (!c->holdout) {
    pz_cf_import_options io;
    uint64_t rows = 0;
    rc = pz_cf_import_options_init(&io, PZ_CF_IMPORT_OPTIONS_VERSION);
    io.format = file_sep(c->train_path) == ',' ? PZ_CF_FORMAT_CSV
                                                : PZ_CF_FORMAT_TSV;
    io.event_type = EVENT_TYPE;
    io.binary = 1;
    if (!rc) rc = pz_cf_import(e, c->train_path, &io, &rows);
    snprintf(what, sizeof what, "model %s: pz_cf_import %s", m->spec,
             c->train_path);
    if (!rc && rows != d->file_rows)
      fprintf(stderr,
              "pz-eval: warning: pz_cf_import tracked %llu rows of %s, "
              "which has %zu\n",
              (unsigned long long)rows, c->train_path, d->file_rows);
  } else {
    rc = 0;
    for (size_t j = 0; !rc && j < d->train.n; j++)
      rc = pz_track(e, d->users.id[d->train.u[j]], d->items.id[d->train.i[j]],
                    EVENT_TYPE, 1.0, 0);
    snprintf(what, sizeof what, "model %s: pz_track", m->spec);
  }
  if (rc) return lib_fail(what, rc);
  m->res.import_s = now_s() - t0;
  return 0;
}

/* The catalogue is every item of train or test: put the items only the
 * test rows name (no features), then check the engine agrees. */
static int complete_catalogue(pz_engine *e, const dataset *d, const model *m) {
  char what[512];
  for (uint32_t i = 0; i < d->items.n; i++) {
    if (d->item_loaded[i]) continue;
    int rc = pz_item_put(e, d->items.id[i], NULL, NULL, 0);
    if (rc) {
      snprintf(what, sizeof what, "model %s: pz_item_put %s", m->spec,
               d->items.id[i]);
      return lib_fail(what, rc);
    }
  }
  size_t n = 0;
  int rc = pz_item_count(&n, e);
  if (rc) return lib_fail("pz_item_count", rc);
  if (n != d->items.n)
    fprintf(stderr,
            "pz-eval: warning: model %s: the engine has %zu items, the "
            "files %u\n",
            m->spec, n, d->items.n);
  return 0;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* The median of v[0..n) (sorts v); 0 for n = 0. */
static double median(double *v, size_t n) {
  if (!n) return 0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile of sorted v[0..n); 0 for n = 0. */
static double percentile(const double *v, size_t n, double p) {
  if (!n) return 0;
  size_t r = (size_t)ceil(p * (double)n);
  return v[r ? r - 1 : 0];
}

/* The model's figures should describe the data loaded: a mismatch is a
 * protocol bug here or a bug in the library, so say so. */
static int check_stats(pz_engine *e, const dataset *d, const model *m) {
  if (m->kind == K_POPULAR) return 0; /* no model to describe */
  pz_cf_stats st;
  memset(&st, 0, sizeof st);
  st.version = PZ_CF_STATS_VERSION;
  int rc = pz_cf_stats_get(&st, e);
  if (rc) {
    char what[512];
    snprintf(what, sizeof what, "model %s: pz_cf_stats_get", m->spec);
    return lib_fail(what, rc);
  }
  if (st.interactions != d->train.n || st.users != d->train_users ||
      st.items != d->items.n)
    fprintf(stderr,
            "pz-eval: warning: model %s: trained on %llu cells, %u "
            "users, %u items; the train rows have %zu, %u, catalogue %u\n",
            m->spec, (unsigned long long)st.interactions, st.users, st.items,
            d->train.n, d->train_users, d->items.n);
  return 0;
}

/* Train c->repeat times; the median wall time is the figure. `default`
 * passes NULL options (the configuration), the others explicit ones that
 * say "the configuration" field by field. */
static int train(pz_engine *e, const config *c, const dataset *d, model *m) {
  char what[512];
  pz_cf_options o;
  int rc = pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION);
  if (rc) return lib_fail("pz_cf_options_init", rc);
  double *t = xcalloc(c->repeat, sizeof *t);
  for (unsigned r = 0; !rc && r < c->repeat; r++) {
    double t0 = now_s();
    rc = pz_cf_train(e, m->kind == K_DEFAULT ? NULL : &o);
    t[r] = now_s() - t0;
  }
  m->res.train_s = median(t, c->repeat);
  free(t);
  snprintf(what, sizeof what, "model %s: pz_cf_train", m->spec);
  return rc ? lib_fail(what, rc) : check_stats(e, d, m);
}

/* Metric sums over the scored users, and what the lists should never
 * hold: an item twice, or one the user has in train. */
typedef struct tally {
  double p, r, ndcg, map;
  size_t *stamp; /* per item: 1 + the last scored user it went to; 0 never */
  size_t repeated, seen;
} tally;

/* Score one list against the user's truth: binary gains, ideal DCG and
 * the MAP normaliser over min(k, |truth|) positions. */
static int score_list(tally *t, const pz_recs *recs, const dataset *d, size_t s,
                      unsigned k) {
  uint32_t u = d->scored[s];
  size_t n = pz_recs_count(recs), nt = csr_len(&d->truth, u);
  size_t ideal = nt < k ? nt : k;
  double hits = 0, dcg = 0, idcg = 0, ap = 0;
  for (size_t j = 0; j < n; j++) {
    const char *item = pz_recs_item(recs, j);
    if (!item) {
      fprintf(stderr, "pz-eval: pz_recs_item(%zu) of %zu is NULL\n", j, n);
      return 1;
    }
    int64_t i = idtab_find(&d->items, item);
    if (i < 0) continue; /* not an item of the files: never a hit */
    t->repeated += t->stamp[i] == s + 1;
    t->stamp[i] = s + 1;
    t->seen += csr_has(&d->seen, u, (uint32_t)i);
    if (!csr_has(&d->truth, u, (uint32_t)i)) continue;
    hits++;
    dcg += 1 / log2((double)j + 2);
    ap += hits / (double)(j + 1);
  }
  for (size_t j = 0; j < ideal; j++) idcg += 1 / log2((double)j + 2);
  t->p += hits / k;
  t->r += hits / (double)nt;
  t->ndcg += dcg / idcg;
  t->map += ap / (double)ideal;
  return 0;
}

/* Recommend to every scored user, timing each pz_recommend alone. */
static int score(pz_engine *e, const config *c, const dataset *d, model *m) {
  tally t = {0, 0, 0, 0, xcalloc(d->items.n, sizeof(size_t)), 0, 0};
  double *us = xcalloc(d->n_scored, sizeof *us);
  pz_recommend_options o;
  int rc = pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  if (rc) return lib_fail("pz_recommend_options_init", rc);
  o.terse = c->terse;
  for (size_t s = 0; !rc && s < d->n_scored; s++) {
    const char *user = d->users.id[d->scored[s]];
    pz_recs *recs = NULL;
    double t0 = now_s();
    rc = pz_recommend(&recs, e, user, c->k, &o);
    us[s] = (now_s() - t0) * 1e6;
    if (rc) {
      char what[512];
      snprintf(what, sizeof what, "model %s: pz_recommend for user %s", m->spec,
               user);
      rc = lib_fail(what, rc);
    } else {
      rc = score_list(&t, recs, d, s, c->k);
    }
    pz_recs_free(recs);
  }
  size_t n = d->n_scored, covered = 0;
  for (uint32_t i = 0; i < d->items.n; i++) covered += t.stamp[i] != 0;
  if (t.repeated || t.seen)
    fprintf(stderr,
            "pz-eval: warning: model %s: the lists held %zu repeated items "
            "and %zu items of the users' train rows\n",
            m->spec, t.repeated, t.seen);
  result *r = &m->res;
  r->users = n;
  r->unknown = d->n_unknown;
  r->p = n ? t.p / (double)n : 0;
  r->r = n ? t.r / (double)n : 0;
  r->ndcg = n ? t.ndcg / (double)n : 0;
  r->map = n ? t.map / (double)n : 0;
  r->coverage = d->items.n ? (double)covered / d->items.n : 0;
  r->rec_p50_us = median(us, n);
  r->rec_p99_us = percentile(us, n, 0.99);
  free(us);
  free(t.stamp);
  return rc;
}

static int run_model(const config *c, const dataset *d, model *m) {
  pz_engine *e = NULL;
  int rc = open_engine(&e, c, m);
  if (!rc) rc = load_train(e, c, d, m);
  if (!rc) rc = complete_catalogue(e, d, m);
  if (!rc) rc = train(e, c, d, m);
  if (!rc) rc = score(e, c, d, m);
  pz_engine_free(e);
  return rc;
}

/* Every spec's configuration is opened once before any file is read, so
 * that a bad value (out of range, say) is a command-line error found at
 * once, with the library's own message. */
static int check_configs(const config *c) {
  for (size_t j = 0; j < c->n_models; j++) {
    const model *m = &c->models[j];
    pz_engine *e = NULL;
    int rc = pz_engine_open_string(&e, m->yaml, m->yaml_len);
    pz_engine_free(e);
    if (rc == PZ_ECONFIG) {
      fprintf(stderr, "pz-eval: model %s: %s\n  configuration:\n", m->spec,
              pz_errmsg());
      for (const char *l = m->yaml; *l;) { /* one line each, indented */
        size_t n = strcspn(l, "\n");
        fprintf(stderr, "    %.*s\n", (int)n, l);
        l += n + (l[n] != '\0');
      }
      return 2;
    }
    if (rc) return lib_fail("pz_engine_open_string", rc);
  }
  return 0;
}

/* ---- output -------------------------------------------------------------- */

static void json_str(FILE *f, const char *s) {
  if (!s) {
    fputs("null", f);
    return;
  }
  putc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      putc(ch, f);
  }
  putc('"', f);
}

/* What was run on what: files, sizes, machine. */
static void print_header(FILE *f, const config *c, const dataset *d) {
  struct utsname un;
  const char *mach = uname(&un) == 0 ? un.machine : "?";
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (c->holdout)
    fprintf(f, "# holdout seed %llu of %s: train %zu rows, validation %zu rows",
            (unsigned long long)c->seed, c->train_path, d->train.n,
            d->test_rows);
  else
    fprintf(f, "# train %s: %zu rows; test %s: %zu rows", c->train_path,
            d->file_rows, c->test_path, d->test_rows);
  fprintf(f,
          "\n# train: %u users, %u items; scored: %zu users (%zu unknown "
          "to train); catalogue %u items (%u only in %s); k=%u; %s, %ld CPUs\n",
          d->train_users, d->train_items, d->n_scored, d->n_unknown, d->items.n,
          d->test_only_items, c->holdout ? "validation" : "test", c->k, mach,
          cpus);
}

static size_t name_width(const config *c) {
  size_t w = 5; /* "model" */
  for (size_t j = 0; j < c->n_models; j++)
    if (strlen(c->models[j].spec) > w) w = strlen(c->models[j].spec);
  return w;
}

static void print_titles(const config *c, int w) {
  char t[4][24];
  const char *names[4] = {"P", "R", "nDCG", "MAP"};
  for (int j = 0; j < 4; j++)
    snprintf(t[j], sizeof t[j], "%s@%u", names[j], c->k);
  /* "µ" is two bytes in one column: its fields are one byte wider */
  printf("%-*s %8s %8s %8s %8s %8s %9s %8s %12s %12s %6s\n", w, "model", t[0],
         t[1], t[2], t[3], "coverage", "import s", "train s", "rec p50 µs",
         "rec p99 µs", "users");
}

static void print_row(const model *m, int w) {
  const result *r = &m->res;
  printf("%-*s %8.4f %8.4f %8.4f %8.4f %8.4f %9.3f %8.3f %11.1f %11.1f %6zu\n",
         w, m->spec, r->p, r->r, r->ndcg, r->map, r->coverage, r->import_s,
         r->train_s, r->rec_p50_us, r->rec_p99_us, r->users);
}

static void print_json(const config *c, const model *m) {
  const result *r = &m->res;
  printf("{\"model\":");
  json_str(stdout, m->spec);
  printf(",\"k\":%u,\"precision\":%.6f,\"recall\":%.6f,\"ndcg\":%.6f,"
         "\"map\":%.6f,\"coverage\":%.6f,\"import_s\":%.6f,\"train_s\":%.6f,"
         "\"rec_p50_us\":%.3f,\"rec_p99_us\":%.3f,\"users\":%zu,"
         "\"unknown_users\":%zu,\"train_file\":",
         c->k, r->p, r->r, r->ndcg, r->map, r->coverage, r->import_s,
         r->train_s, r->rec_p50_us, r->rec_p99_us, r->users, r->unknown);
  json_str(stdout, c->train_path);
  printf(",\"test_file\":");
  json_str(stdout, c->test_path);
  if (c->holdout)
    printf(",\"holdout_seed\":%llu}\n", (unsigned long long)c->seed);
  else
    printf(",\"holdout_seed\":null}\n");
}

/* Warnings about the data that change what the figures mean. */
static void warn_data(const config *c, const dataset *d) {
  if (d->train_dups)
    fprintf(stderr, "pz-eval: warning: %s repeats %zu (user, item) pairs; %s\n",
            c->train_path, d->train_dups,
            c->holdout ? "tracked once"
                       : "pz_cf_import tracks each row, so they weigh more");
  if (d->test_dups)
    fprintf(stderr,
            "pz-eval: warning: %s repeats %zu (user, item) pairs; "
            "counted once\n",
            c->test_path, d->test_dups);
  if (d->overlap)
    fprintf(stderr,
            "pz-eval: warning: %zu test pairs are also train pairs: "
            "they can never be hits\n",
            d->overlap);
}

int main(int argc, char **argv) {
  config c = {10, 1, false, false, false, false, 0, NULL, NULL, NULL, 0, 0};
  int rc = parse_args(&c, argc, argv);
  if (!rc) rc = check_configs(&c);
  dataset d;
  memset(&d, 0, sizeof d);
  if (!rc) rc = dataset_load(&d, c.train_path, c.test_path, c.holdout, c.seed);
  if (!rc) {
    c.now_ms = (int64_t)time(NULL) * 1000;
    warn_data(&c, &d);
    int w = (int)name_width(&c);
    if (!c.json) {
      print_header(stdout, &c, &d);
      print_titles(&c, w);
    } else if (!c.quiet) {
      print_header(stderr, &c, &d);
    }
    for (size_t j = 0; !rc && j < c.n_models; j++) {
      rc = run_model(&c, &d, &c.models[j]);
      if (!rc && c.json) print_json(&c, &c.models[j]);
      if (!rc && !c.json) print_row(&c.models[j], w);
      fflush(stdout);
    }
  }
  dataset_free(&d);
  free(c.models);
  return rc < 0 ? 0 : rc;
}
