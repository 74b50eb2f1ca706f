/* Bad input to the segment module (personalize/segment.h): NULL pointers,
 * empty, overlong and non-UTF-8 names and ids, unknown segments,
 * experiments and clusters, cluster ids and k out of range, small buffers,
 * wrong option versions, absurd training options, list accessors out of
 * range, and broken `segments:` / `experiments:` documents, both through
 * pz_engine_open_string() and pz_segment_load().
 *
 * Every rejected call must return its documented code with a message of
 * its own, set *out to NULL where the header says so, and leave the engine
 * answering exactly as before (rules, memberships, experiment variants,
 * the cluster model), with nothing leaked. A rejected document must give
 * PZ_ECONFIG with "<file>:line:col: " naming the offending node.
 *
 * Checks are "soft" (as in test_badinput.c): every mismatch is printed with
 * its line and case, and the test fails at its end with their number.
 *
 * Tests marked "Regression test" reproduce bugs found while writing these
 * tests; each says what was wrong above it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

#include "soft.h"

/* ---- inputs ------------------------------------------------------------------ */

static char id255[PZ_ID_MAX + 1];  /* 255 ASCII bytes: accepted */
static char id256[PZ_ID_MAX + 2];  /* 256 bytes: rejected */
static char id256u[PZ_ID_MAX + 2]; /* 254 ASCII + "é": 256 bytes */
static char id_cut[PZ_ID_MAX + 1]; /* 254 ASCII + 0xC3: cut sequence */
static char id_huge[1 << 16];      /* 64 KiB */

static void fill(char *buf, size_t len, char c) {
  memset(buf, c, len);
  buf[len] = '\0';
}

static void init_inputs(void) {
  fill(id255, 255, 'a');
  fill(id256, 256, 'c');
  fill(id256u, 254, 'd');
  memcpy(id256u + 254, "\xC3\xA9", 3);
  fill(id_cut, 254, 'e');
  id_cut[254] = '\xC3';
  fill(id_huge, sizeof id_huge - 1, 'f');
}

typedef struct bad_str {
  const char *s;     /* the input */
  const char *why;   /* what the message should say about it */
  const char *label; /* printed with a failed check */
} bad_str;

static const bad_str bad_ids[] = {
    {NULL, "NULL", "NULL"},
    {"", "empty", "empty"},
    {id256, "longer", "256 bytes"},
    {id256u, "longer", "256 bytes ending in a 2-byte char"},
    {id_huge, "longer", "64 KiB"},
    {id_cut, "UTF-8", "255 bytes cut inside a char"},
    {"\x80", "UTF-8", "lone 0x80"},
    {"\xC0\x80", "UTF-8", "overlong C0 80"},
    {"\xED\xA0\x80", "UTF-8", "surrogate ED A0 80"},
    {"\xF4\x90\x80\x80", "UTF-8", "F4 90 80 80 above U+10FFFF"},
    {"ok" "\xE2\x82", "UTF-8", "truncated at the end"},
    {"a" "\xFF" "b", "UTF-8", "0xFF in the middle"},
};
#define N_BAD_IDS (sizeof bad_ids / sizeof *bad_ids)

/* Cluster ids that name no cluster of a 3-cluster model. */
static const int bad_clusters[] = {-1, -2, 3, 4, 1023, 1024, INT_MAX, INT_MIN};
#define N_BAD_CLUSTERS (sizeof bad_clusters / sizeof *bad_clusters)

/* ---- text buffer --------------------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t ncap = (b->len + n + 1) * 2;
    char *p = realloc(b->p, ncap);
    assert_non_null(p);
    b->p = p;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  assert_true(n >= 0);
  char *tmp = malloc((size_t)n + 1);
  assert_non_null(tmp);
  va_start(ap, fmt);
  vsnprintf(tmp, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb_put(b, tmp, (size_t)n);
  free(tmp);
}

/* ---- the world: rules, users, a trained and named cluster model ---------- */

#define T0 INT64_C(1700000000000)
#define N_USERS 30

#define WORLD_RULES                                                          \
    "segments:\n" \
    "  - name: adults\n" \
    "    rule: {attr: age, gte: 18}\n" \
    "  - name: buyers\n" \
    "    rule: {count: purchase, gte: 1}\n" \
    "  - name: jazz_fans\n" \
    "    rule: {interest: genre=jazz, gt: 0}\n" \
    "  - name: adult_buyers\n" \
    "    rule:\n" \
    "      all:\n" \
    "        - {segment: adults}\n" \
    "        - {segment: buyers}\n" \
    "  - name: jazzy_cluster\n" \
    "    rule: {cluster: jazzy}\n" \
    "  - name: no_age\n" \
    "    rule: {attr: age, exists: false}\n" \
    "  - name: named_a\n" \
    "    rule: {attr: name, regex: '^User [0-9]*[02468]$'}\n" \
    "experiments:\n" \
    "  - name: color\n" \
    "    seed: 42\n" \
    "    variants:\n" \
    "      - {name: red}\n" \
    "      - {name: blue, weight: 3}\n" \
    "  - name: adults_only\n" \
    "    seed: 7\n" \
    "    segment: adults\n" \
    "    variants: [{name: treatment}]\n"

static const char world_rules[] = WORLD_RULES;
static const char world_config[] =
    "clusters: {k: 3, min_size: 1, seed: 7}\n"
    "ranking: {segment_min_members: 1}\n" WORLD_RULES;


static const char *const world_segments[] = {
    "adults",        "buyers", "jazz_fans", "adult_buyers",
    "jazzy_cluster", "no_age", "named_a"};
#define N_WORLD_SEGMENTS (sizeof world_segments / sizeof *world_segments)

static const char *const genres[] = {"jazz", "rock", "folk"};

static void user_id(char *buf, size_t cap, int i) {
  snprintf(buf, cap, "u%02d", i);
}

/* 9 items, 30 users in three taste groups (jazz, rock, folk), ages 10..39,
 * a purchase for every fourth user, and "nc", an adult without consent. */
static void populate(pz_engine *e) {
  static const char *const decades[] = {"decade=1960s", "decade=1970s",
                                        "decade=1980s"};
  char id[32], feat[32];
  for (int g = 0; g < 3; g++)
    for (int j = 0; j < 3; j++) {
      snprintf(id, sizeof id, "%s%d", genres[g], j);
      snprintf(feat, sizeof feat, "genre=%s", genres[g]);
      const char *f[] = {feat, decades[j]};
      assert_int_equal(pz_item_put(e, id, f, NULL, 2), PZ_OK);
    }
  for (int i = 0; i < N_USERS; i++) {
    char u[16], name[32];
    user_id(u, sizeof u, i);
    int g = i % 3;
    for (int j = 0; j < 3; j++) {
      snprintf(id, sizeof id, "%s%d", genres[g], j);
      assert_int_equal(pz_track(e, u, id, "view", 1, T0 - 1000 * (i + 1)),
                       PZ_OK);
    }
    if (i % 4 == 0) {
      snprintf(id, sizeof id, "%s0", genres[g]);
      assert_int_equal(pz_track(e, u, id, "purchase", 1, T0 - 500), PZ_OK);
    }
    if (i != 5) /* u05 has no age */
      assert_int_equal(pz_profile_set_number(e, u, "age", 10 + i), PZ_OK);
    snprintf(name, sizeof name, "User %d", i);
    assert_int_equal(pz_profile_set_string(e, u, "name", name), PZ_OK);
  }
  assert_int_equal(pz_profile_set_consent(e, "nc", "personalization", 0),
                   PZ_OK);
  assert_int_equal(pz_profile_set_number(e, "nc", "age", 50), PZ_OK);
}

static int sort_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A list as text; sorted when its order is unspecified. */
static void fp_list(sbuf *b, const char *what, int rc, const pz_list *l,
                    bool sorted) {
  size_t n = pz_list_count(l);
  sb_printf(b, "%s: rc %d n %zu\n", what, rc, n);
  if (!n) return;
  char **lines = calloc(n, sizeof *lines);
  assert_non_null(lines);
  for (size_t i = 0; i < n; i++) {
    char tmp[1400];
    const char *t = pz_list_text(l, i);
    snprintf(tmp, sizeof tmp, "  %s %.17g\n", t ? t : "(null)",
             pz_list_value(l, i));
    lines[i] = strdup(tmp);
    assert_non_null(lines[i]);
  }
  if (sorted) qsort(lines, n, sizeof *lines, sort_strings);
  for (size_t i = 0; i < n; i++) {
    sb_printf(b, "%s", lines[i]);
    free(lines[i]);
  }
  free(lines);
}

/* Everything the segment module answers, as text. */
static char *fingerprint(pz_engine *e) {
  sbuf b = {0};
  pz_list *l = NULL;
  int rc = pz_segment_counts(&l, e);
  fp_list(&b, "counts", rc, l, false);
  size_t nseg = pz_list_count(l);
  for (size_t s = 0; s < nseg; s++) {
    const char *name = pz_list_text(l, s);
    pz_list *m = NULL;
    char what[300];
    snprintf(what, sizeof what, "members %s", name);
    rc = pz_segment_members(&m, e, name);
    fp_list(&b, what, rc, m, true);
    pz_list_free(m);
  }
  pz_list_free(l);
  size_t k = 0;
  rc = pz_cluster_count(&k, e);
  sb_printf(&b, "clusters: rc %d k %zu\n", rc, k);
  for (int c = 0; c < (int)k; c++) {
    size_t n = 0, len = 0;
    char name[PZ_ID_MAX + 1] = "";
    rc = pz_cluster_size(&n, e, c);
    int rc2 = pz_cluster_name(name, sizeof name, &len, e, c);
    sb_printf(&b, "cluster %d: size rc %d n %zu name rc %d \"%s\" %zu\n", c,
              rc, n, rc2, name, len);
    pz_list *d = NULL;
    char what[64];
    snprintf(what, sizeof what, "describe %d", c);
    rc = pz_cluster_describe(&d, e, c, 10);
    fp_list(&b, what, rc, d, false);
    pz_list_free(d);
  }
  for (int i = -2; i < N_USERS; i++) {
    char u[16];
    if (i == -2) snprintf(u, sizeof u, "nc");
    else if (i == -1) snprintf(u, sizeof u, "nobody");
    else user_id(u, sizeof u, i);
    char what[64];
    snprintf(what, sizeof what, "of %s", u);
    rc = pz_segment_of(&l, e, u);
    fp_list(&b, what, rc, l, false);
    pz_list_free(l);
    l = NULL;
    int c = -7;
    rc = pz_cluster_of(&c, e, u);
    sb_printf(&b, "cluster_of %s: rc %d %d\n", u, rc, c);
    static const char *const exps[] = {"color", "adults_only"};
    for (size_t x = 0; x < 2; x++) {
      char v[PZ_ID_MAX + 1] = "";
      size_t len = 99;
      rc = pz_experiment_assign(v, sizeof v, &len, e, exps[x], u);
      sb_printf(&b, "assign %s %s: rc %d \"%s\" %zu\n", exps[x], u, rc, v,
                len);
    }
  }
  size_t n = 0;
  rc = pz_profile_count(&n, e);
  sb_printf(&b, "profiles: rc %d n %zu\n", rc, n);
  return b.p;
}

typedef struct world {
  test_alloc ta;
  test_clock tc;
  pz_engine *e;
  int jazz_cluster; /* the cluster of u00, named "jazzy" */
  char *fp;         /* fingerprint taken after setup */
} world;

static void world_build(world *w, bool train) {
  test_alloc_reset(&w->ta);
  w->tc.now = T0;
  int rc = test_open(&w->e, &w->ta, &w->tc, world_config);
  if (rc != PZ_OK) fail_msg("open: %d %s", rc, pz_errmsg());
  populate(w->e);
  w->jazz_cluster = -1;
  if (train) {
    rc = pz_cluster_train(w->e, NULL);
    if (rc != PZ_OK) fail_msg("train: %d %s", rc, pz_errmsg());
    assert_int_equal(pz_cluster_of(&w->jazz_cluster, w->e, "u00"), PZ_OK);
    assert_true(w->jazz_cluster >= 0);
    assert_int_equal(pz_cluster_set_name(w->e, w->jazz_cluster, "jazzy"),
                     PZ_OK);
    assert_int_equal(pz_segment_refresh(w->e), PZ_OK);
  }
  w->fp = fingerprint(w->e);
}

static int world_setup(void **state) {
  soft_begin();
  world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  world_build(w, true);
  *state = w;
  return 0;
}

static int world_setup_untrained(void **state) {
  soft_begin();
  world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  world_build(w, false);
  *state = w;
  return 0;
}

static int world_teardown(void **state) {
  world *w = *state;
  if (w) {
    pz_engine_free(w->e);
    free(w->fp);
    free(w);
  }
  *state = NULL;
  return 0;
}

/* The engine answers exactly what it answered after setup. */
static void world_verify_(world *w, int line) {
  char *now = fingerprint(w->e);
  if (strcmp(now, w->fp) != 0) {
    size_t i = 0;
    while (now[i] && now[i] == w->fp[i]) i++;
    size_t from = i > 80 ? i - 80 : 0;
    g_soft++;
    print_error("%s:%d: [%s] segment answers changed by rejected calls; at "
                "byte %zu\n  before: ...%.240s\n  after:  ...%.240s\n",
                __FILE__, line, g_case, i, w->fp + from, now + from);
  }
  free(now);
}
#define world_verify(w) world_verify_((w), __LINE__)

/* Free the engine: every block must come back, each with its exact size. */
static void world_close_(world *w, int line) {
  pz_engine_free(w->e);
  w->e = NULL;
  if (w->ta.live_blocks != 0 || w->ta.bad_osize != 0) {
    g_soft++;
    print_error("%s:%d: after pz_engine_free: live_blocks %ld (%zu bytes), "
                "bad_osize %ld\n",
                __FILE__, line, w->ta.live_blocks, w->ta.live_bytes,
                w->ta.bad_osize);
  }
}
#define world_close(w) world_close_((w), __LINE__)

/* A segment document must be refused by pz_engine_open_string(), by
 * pz_engine_open_with() (nothing leaked) and by pz_segment_load() on the
 * world (which must then answer exactly as before). The message starts
 * with "<file>:line:col: " and, when want_line > 0, names that place. */
static void check_position(const char *msg, const char *file,
                           unsigned want_line, unsigned want_col,
                           const char *needle) {
  size_t fl = strlen(file);
  unsigned line = 0, col = 0;
  int end = 0;
  int ok = strncmp(msg, file, fl) == 0 &&
           sscanf(msg + fl, ":%u:%u: %n", &line, &col, &end) == 2 && end > 0 &&
           line >= 1 && col >= 1;
  CHECK(ok, "errmsg \"%s\" does not start with \"%s:line:col: \"", msg, file);
  if (ok && want_line)
    CHECK(line == want_line && col == want_col,
          "errmsg \"%s\" names %u:%u, expected %s:%u:%u", msg, line, col, file,
          want_line, want_col);
  CHECK(mentions(msg, needle), "errmsg \"%s\" does not mention \"%s\"", msg,
        needle ? needle : "");
}

static void refused_(world *w, const char *text, size_t len,
                     unsigned want_line, unsigned want_col,
                     const char *needle) {
  /* plain open */
  pz_engine *e = SENTINEL(pz_engine);
  FAILS(PZ_ECONFIG, NULL, NULL, pz_engine_open_string(&e, text, len));
  CHECK(e == NULL, "pz_engine_open_string left *out set");
  if (e != NULL && e != SENTINEL(pz_engine)) pz_engine_free(e);
  check_position(pz_errmsg(), "<string>", want_line, want_col, needle);

  /* with the counting allocator: nothing left behind */
  test_alloc ta;
  test_alloc_reset(&ta);
  pz_engine_options o;
  pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
  o.alloc = test_alloc_fn;
  o.alloc_ud = &ta;
  o.config_text = text;
  o.config_len = len;
  e = SENTINEL(pz_engine);
  FAILS(PZ_ECONFIG, NULL, NULL, pz_engine_open_with(&e, &o));
  CHECK(e == NULL, "pz_engine_open_with left *out set");
  if (e != NULL && e != SENTINEL(pz_engine)) pz_engine_free(e);
  CHECK(ta.live_blocks == 0 && ta.bad_osize == 0,
        "open leaked: live_blocks %ld bad_osize %ld", ta.live_blocks,
        ta.bad_osize);

  /* at run time: the old rules stay */
  if (w) {
    long blocks = w->ta.live_blocks, bad_osize = w->ta.bad_osize;
    FAILS(PZ_ECONFIG, NULL, NULL, pz_segment_load(w->e, text, len));
    check_position(pz_errmsg(), "segments", want_line, want_col, needle);
    CHECK(w->ta.live_blocks == blocks && w->ta.bad_osize == bad_osize,
          "pz_segment_load: %ld blocks before, %ld after; %ld wrong osizes",
          blocks, w->ta.live_blocks, w->ta.bad_osize - bad_osize);
  }
}

/* A document with one '@' marking the offending node: the marker is taken
 * out and its line:column is the place the message must name. Without a
 * marker any place will do. */
static void refused_marked(world *w, const char *marked, const char *needle) {
  size_t n = strlen(marked);
  char *text = malloc(n + 1);
  assert_non_null(text);
  unsigned line = 1, col = 1, want_line = 0, want_col = 0;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (marked[i] == '@') {
      want_line = line;
      want_col = col;
      continue;
    }
    text[j++] = marked[i];
    if (marked[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  text[j] = '\0';
  refused_(w, text, j, want_line, want_col, needle);
  free(text);
}

/* ---- pz_list ------------------------------------------------------------------ */

static void test_segment_badinput_list_accessors(void **state) {
  world *w = *state;
  CHECK(pz_list_count(NULL) == 0, "count(NULL) = %zu", pz_list_count(NULL));
  CHECK(pz_list_text(NULL, 0) == NULL, "text(NULL, 0) not NULL");
  CHECK(pz_list_text(NULL, SIZE_MAX) == NULL, "text(NULL, SIZE_MAX) not NULL");
  CHECK(isnan(pz_list_value(NULL, 0)), "value(NULL, 0) = %g",
        pz_list_value(NULL, 0));
  pz_list_free(NULL);

  pz_list *l = NULL;
  OK(pz_segment_counts(&l, w->e));
  size_t n = pz_list_count(l);
  CHECK(n == N_WORLD_SEGMENTS, "%zu segments", n);
  for (size_t i = 0; i < n; i++)
    CHECK(pz_list_text(l, i) && isfinite(pz_list_value(l, i)), "entry %zu", i);
  static const size_t beyond[] = {0, 1, 1000, SIZE_MAX / 2, SIZE_MAX};
  for (size_t i = 0; i < sizeof beyond / sizeof *beyond; i++) {
    size_t at = n + beyond[i] < n ? SIZE_MAX : n + beyond[i];
    CHECK(pz_list_text(l, at) == NULL, "text(%zu) not NULL", at);
    CHECK(isnan(pz_list_value(l, at)), "value(%zu) = %g", at,
          pz_list_value(l, at));
  }
  CHECK(pz_list_text(l, SIZE_MAX) == NULL, "text(SIZE_MAX) not NULL");
  pz_list_free(l);

  /* an empty list: every index is out of range */
  l = NULL;
  OK(pz_segment_of(&l, w->e, "nobody-at-all-here"));
  pz_list *m = NULL;
  OK(pz_segment_members(&m, w->e, "jazzy_cluster"));
  pz_list_free(m);
  pz_list *empty = NULL;
  OK(pz_segment_load(w->e, "segments: []\n", 13));
  OK(pz_segment_counts(&empty, w->e));
  CHECK(pz_list_count(empty) == 0, "count %zu", pz_list_count(empty));
  CHECK(pz_list_text(empty, 0) == NULL, "text(0) of an empty list");
  CHECK(isnan(pz_list_value(empty, 0)), "value(0) of an empty list");
  pz_list_free(empty);
  pz_list_free(l);
  world_close(w);
  soft_end();
}

/* ---- rule segments ------------------------------------------------------------ */

static void test_segment_badinput_load_args(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  static const char doc[] = "segments: []\n";
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_load(NULL, doc, sizeof doc - 1));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_load(NULL, NULL, 0));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_load(e, NULL, 1));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_load(e, NULL, SIZE_MAX));
  world_verify(w);
  /* sections of the engine's configuration are not segment documents */
  static const char *const others[] = {
      "hashing: {bits: 20}\n", "events: {view: 1}\n",
      "clusters: {k: 3}\n",    "ranking: {segment_min_members: 1}\n",
      "consent: {}\n",         "decay: {half_life: 30d}\n"};
  for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
    g_case = others[i];
    FAILS(PZ_ECONFIG, "unknown key", NULL,
          pz_segment_load(e, others[i], strlen(others[i])));
    check_position(pz_errmsg(), "segments", 1, 1, NULL);
  }
  g_case = "";
  world_verify(w);
  /* NULL with length 0 is an empty document: no rules at all */
  OK(pz_segment_load(e, NULL, 0));
  pz_list *l = SENTINEL(pz_list);
  OK(pz_segment_counts(&l, e));
  CHECK(pz_list_count(l) == 0, "%zu segments after loading nothing",
        pz_list_count(l));
  pz_list_free(l);
  int in = -1;
  FAILS(PZ_ENOTFOUND, "adults", NULL, pz_segment_test(&in, e, "adults", "u20"));
  char v[16];
  size_t len = 0;
  FAILS(PZ_ENOTFOUND, "color", NULL,
        pz_experiment_assign(v, sizeof v, &len, e, "color", "u20"));
  world_close(w);
  soft_end();
}

static void test_segment_badinput_test_args(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  int in = 7;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_test(NULL, e, "adults", "u20"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_test(&in, NULL, "adults", "u20"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_test(NULL, NULL, NULL, NULL));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    const bad_str *b = &bad_ids[i];
    g_case = b->label;
    FAILS(PZ_EINVAL, "segment", b->why, pz_segment_test(&in, e, b->s, "u20"));
    FAILS(PZ_EINVAL, "user", b->why, pz_segment_test(&in, e, "adults", b->s));
    /* a bad user id is bad whether or not the segment exists */
    FAILS(PZ_EINVAL, "user", b->why, pz_segment_test(&in, e, "ghosts", b->s));
  }
  g_case = "";
  static const char *const unknown[] = {"Adults", "adults ", "adult",
                                        "ghosts", "color", "jazzy"};
  for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    g_case = unknown[i];
    FAILS(PZ_ENOTFOUND, unknown[i], NULL,
          pz_segment_test(&in, e, unknown[i], "u20"));
    FAILS(PZ_ENOTFOUND, unknown[i], NULL,
          pz_segment_test(&in, e, unknown[i], "nobody"));
  }
  g_case = "";
  FAILS(PZ_ENOTFOUND, NULL, NULL, pz_segment_test(&in, e, id255, "u20"));
  world_verify(w);
  /* valid calls: an unknown user is an empty profile */
  in = -1;
  OK(pz_segment_test(&in, e, "adults", "u20"));
  CHECK(in == 1, "u20 (age 30) not in adults");
  OK(pz_segment_test(&in, e, "adults", "u03"));
  CHECK(in == 0, "u03 (age 13) in adults");
  OK(pz_segment_test(&in, e, "no_age", "nobody"));
  CHECK(in == 1, "an unknown user has no age");
  OK(pz_segment_test(&in, e, "adults", "nobody"));
  CHECK(in == 0, "an unknown user is an adult");
  OK(pz_segment_test(&in, e, "adults", id255));
  CHECK(in == 0, "a 255-byte unknown user is an adult");
  world_close(w);
  soft_end();
}

#define LIST_FAILS(code, n1, n2, call_with_l)                                 \
  do {                                                                       \
    pz_list *l = SENTINEL(pz_list);                                          \
    FAILS(code, n1, n2, call_with_l);                                        \
    CHECK(l == NULL, "*out not set to NULL");                                \
    if (l != NULL && l != SENTINEL(pz_list)) pz_list_free(l);                \
  } while (0)

static void test_segment_badinput_of_members_counts(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_of(NULL, e, "u20"));
  LIST_FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_of(&l, NULL, "u20"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_members(NULL, e, "adults"));
  LIST_FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_members(&l, NULL, "adults"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_counts(NULL, e));
  LIST_FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_counts(&l, NULL));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_segment_refresh(NULL));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    const bad_str *b = &bad_ids[i];
    g_case = b->label;
    LIST_FAILS(PZ_EINVAL, "user", b->why, pz_segment_of(&l, e, b->s));
    LIST_FAILS(PZ_EINVAL, "segment", b->why, pz_segment_members(&l, e, b->s));
  }
  g_case = "";
  static const char *const unknown[] = {"Adults", "ghosts", "adults_only",
                                        "jazzy"};
  for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    g_case = unknown[i];
    LIST_FAILS(PZ_ENOTFOUND, unknown[i], NULL,
               pz_segment_members(&l, e, unknown[i]));
  }
  g_case = "";
  world_verify(w);
  /* an unknown user is in the segments an empty profile is in */
  pz_list *l = NULL;
  OK(pz_segment_of(&l, e, "nobody"));
  CHECK(pz_list_count(l) == 1 && strcmp(pz_list_text(l, 0), "no_age") == 0 &&
            pz_list_value(l, 0) == 1,
        "segments of nobody: %zu, first %s", pz_list_count(l),
        pz_list_text(l, 0) ? pz_list_text(l, 0) : "(none)");
  pz_list_free(l);
  /* counts agree with members and with pz_segment_test */
  OK(pz_segment_counts(&l, e));
  for (size_t s = 0; s < pz_list_count(l); s++) {
    const char *name = pz_list_text(l, s);
    g_case = name;
    pz_list *m = NULL;
    OK(pz_segment_members(&m, e, name));
    CHECK(pz_list_value(l, s) == (double)pz_list_count(m),
          "count %g, %zu members", pz_list_value(l, s), pz_list_count(m));
    size_t tested = 0;
    for (int i = -1; i < N_USERS; i++) {
      char u[16];
      if (i < 0) snprintf(u, sizeof u, "nc");
      else user_id(u, sizeof u, i);
      int in = -1;
      OK(pz_segment_test(&in, e, name, u));
      tested += in == 1;
    }
    CHECK(tested == pz_list_count(m), "%zu by test, %zu members", tested,
          pz_list_count(m));
    pz_list_free(m);
  }
  g_case = "";
  pz_list_free(l);
  world_close(w);
  soft_end();
}

/* ---- experiments --------------------------------------------------------------- */

static void test_segment_badinput_experiment_assign(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  char v[32];
  size_t len = 99;
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_experiment_assign(v, sizeof v, NULL, e, "color", "u20"));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_experiment_assign(v, sizeof v, &len, NULL, "color", "u20"));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_experiment_assign(NULL, 8, &len, e, "color", "u20"));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_experiment_assign(NULL, 0, NULL, NULL, NULL, NULL));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    const bad_str *b = &bad_ids[i];
    g_case = b->label;
    FAILS(PZ_EINVAL, "experiment", b->why,
          pz_experiment_assign(v, sizeof v, &len, e, b->s, "u20"));
    FAILS(PZ_EINVAL, "user", b->why,
          pz_experiment_assign(v, sizeof v, &len, e, "color", b->s));
    FAILS(PZ_EINVAL, "user", b->why,
          pz_experiment_assign(v, sizeof v, &len, e, "ghost", b->s));
  }
  g_case = "";
  static const char *const unknown[] = {"Color", "colour", "adults", "red"};
  for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    g_case = unknown[i];
    FAILS(PZ_ENOTFOUND, unknown[i], NULL,
          pz_experiment_assign(v, sizeof v, &len, e, unknown[i], "u20"));
  }
  g_case = "";

  /* the variant of u20, and buffers too small for it */
  char want[32];
  size_t wlen = 0;
  OK(pz_experiment_assign(want, sizeof want, &wlen, e, "color", "u20"));
  CHECK(wlen == strlen(want) &&
            (strcmp(want, "red") == 0 || strcmp(want, "blue") == 0),
        "u20 got \"%s\" (%zu)", want, wlen);
  for (size_t cap = 0; cap <= wlen; cap++) {
    char buf[8];
    memset(buf, 'x', sizeof buf);
    len = 99;
    FAILS(PZ_EBUFS, NULL, NULL,
          pz_experiment_assign(cap ? buf : NULL, cap, &len, e, "color",
                               "u20"));
    CHECK(len == wlen, "cap %zu: *len_out %zu, want %zu", cap, len, wlen);
    for (size_t i = 0; i < sizeof buf; i++)
      CHECK(buf[i] == 'x', "cap %zu: EBUFS wrote buf[%zu]", cap, i);
  }
  len = 99;
  OK(pz_experiment_assign(v, wlen + 1, &len, e, "color", "u20"));
  CHECK(len == wlen && strcmp(v, want) == 0, "exact fit: \"%s\" %zu", v, len);

  /* outside the targeting segment: no variant, the empty string */
  len = 99;
  memset(v, 'x', sizeof v);
  OK(pz_experiment_assign(v, sizeof v, &len, e, "adults_only", "u03"));
  CHECK(len == 0 && v[0] == '\0', "u03 (13) got \"%.8s\" %zu", v, len);
  len = 99;
  FAILS(PZ_EBUFS, NULL, NULL,
        pz_experiment_assign(NULL, 0, &len, e, "adults_only", "u03"));
  CHECK(len == 0, "cap 0 for the empty variant: *len_out %zu", len);
  len = 99;
  OK(pz_experiment_assign(v, 1, &len, e, "adults_only", "nobody"));
  CHECK(len == 0 && v[0] == '\0', "nobody got \"%.8s\" %zu", v, len);
  len = 99;
  OK(pz_experiment_assign(v, sizeof v, &len, e, "adults_only", "u20"));
  CHECK(len == 9 && strcmp(v, "treatment") == 0, "u20 got \"%s\"", v);
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_segment_badinput_experiment_bucket(void **state) {
  (void)state;
  soft_begin();
  double u = -1;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_experiment_bucket(NULL, "u20", 1));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_experiment_bucket(NULL, NULL, 1));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    u = -1;
    FAILS(PZ_EINVAL, "user", bad_ids[i].why,
          pz_experiment_bucket(&u, bad_ids[i].s, 42));
    CHECK(u == -1, "*bucket_out written on failure: %g", u);
  }
  g_case = "";
  static const uint64_t seeds[] = {0, 1, 42, UINT64_MAX};
  static const char *const ids[] = {"u", id255, "\xF4\x8F\xBF\xBF"};
  for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++)
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
      u = -1;
      OK(pz_experiment_bucket(&u, ids[i], seeds[s]));
      CHECK(u >= 0 && u < 1, "bucket %g", u);
    }
  soft_end();
}

/* ---- clusters -------------------------------------------------------------------- */

static void test_segment_badinput_cluster_options(void **state) {
  (void)state;
  soft_begin();
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_cluster_options_init(NULL, PZ_CLUSTER_OPTIONS_VERSION));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_options_init(NULL, 99));
  static const unsigned bad_versions[] = {0, 2, 99, UINT_MAX};
  for (size_t i = 0; i < sizeof bad_versions / sizeof *bad_versions; i++) {
    pz_cluster_options o;
    FAILS(PZ_EVERSION, "version", NULL,
          pz_cluster_options_init(&o, bad_versions[i]));
  }
  pz_cluster_options o;
  memset(&o, 0xAB, sizeof o);
  OK(pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION));
  CHECK(o.version == PZ_CLUSTER_OPTIONS_VERSION && o.k == 0 && o.seed == 0 &&
            o.max_iterations == 0 && o.batch_size == 0,
        "init did not give the config's values");
  soft_end();
}

static void test_segment_badinput_cluster_train(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_train(NULL, NULL));
  pz_cluster_options o;
  pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_train(NULL, &o));
  static const unsigned bad_versions[] = {0, 2, UINT_MAX};
  for (size_t i = 0; i < sizeof bad_versions / sizeof *bad_versions; i++) {
    pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
    o.version = bad_versions[i];
    FAILS(PZ_EVERSION, "version", NULL, pz_cluster_train(e, &o));
  }
  /* absurd options */
  static const uint32_t huge_k[] = {1025, 4096, 100000, UINT32_MAX};
  for (size_t i = 0; i < sizeof huge_k / sizeof *huge_k; i++) {
    pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
    o.k = huge_k[i];
    FAILS(PZ_ERANGE, "k", NULL, pz_cluster_train(e, &o));
  }
  pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
  o.max_iterations = 100001;
  FAILS(PZ_ERANGE, "max_iterations", NULL, pz_cluster_train(e, &o));
  o.max_iterations = UINT32_MAX;
  FAILS(PZ_ERANGE, "max_iterations", NULL, pz_cluster_train(e, &o));
  pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
  o.batch_size = 100000001;
  FAILS(PZ_ERANGE, "batch_size", NULL, pz_cluster_train(e, &o));
  o.batch_size = UINT32_MAX;
  FAILS(PZ_ERANGE, "batch_size", NULL, pz_cluster_train(e, &o));
  world_verify(w);
  /* more clusters than users with interests (30): the old model stays,
   * with its names */
  static const uint32_t too_many[] = {31, 100, 1024};
  for (size_t i = 0; i < sizeof too_many / sizeof *too_many; i++) {
    pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
    o.k = too_many[i];
    FAILS(PZ_ERANGE, NULL, NULL, pz_cluster_train(e, &o));
    o.batch_size = 10;
    FAILS(PZ_ERANGE, NULL, NULL, pz_cluster_train(e, &o));
  }
  world_verify(w);
  /* "nc" and "late" withheld consent: still 30 users, not 31 or 32 */
  pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
  o.k = 31;
  OK(pz_track(e, "late", "jazz0", "view", 1, 0));
  OK(pz_profile_set_consent(e, "late", "personalization", 0));
  FAILS(PZ_ERANGE, NULL, NULL, pz_cluster_train(e, &o));
  size_t k = 0, n = 0;
  OK(pz_cluster_count(&k, e));
  CHECK(k == 3, "k %zu after a refused training", k);
  OK(pz_cluster_size(&n, e, w->jazz_cluster));
  CHECK(n == 10, "%zu in the jazz cluster after a refused training", n);
  /* k = 30 (every user their own cluster) is fine */
  o.k = 30;
  OK(pz_cluster_train(e, &o));
  OK(pz_cluster_count(&k, e));
  CHECK(k == 30, "k %zu", k);
  size_t total = 0;
  for (int c = 0; c < (int)k; c++) {
    n = 0;
    OK(pz_cluster_size(&n, e, c));
    total += n;
  }
  CHECK(total == N_USERS, "cluster sizes add up to %zu", total);
  world_close(w);
  soft_end();
}

static void test_segment_badinput_cluster_untrained(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  size_t n = 99;
  OK(pz_cluster_count(&n, e));
  CHECK(n == 0, "k %zu without a model", n);
  int c = 7;
  OK(pz_cluster_of(&c, e, "u00"));
  CHECK(c == -1, "cluster of u00 without a model: %d", c);
  static const int ids[] = {0, 1, -1, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
    char label[24];
    snprintf(label, sizeof label, "cluster %d", ids[i]);
    g_case = label;
    FAILS(PZ_ENOTFOUND, "cluster", NULL, pz_cluster_size(&n, e, ids[i]));
    LIST_FAILS(PZ_ENOTFOUND, "cluster", NULL,
               pz_cluster_describe(&l, e, ids[i], 5));
    FAILS(PZ_ENOTFOUND, "cluster", NULL, pz_cluster_set_name(e, ids[i], "x"));
    FAILS(PZ_ENOTFOUND, "cluster", NULL, pz_cluster_set_name(e, ids[i], NULL));
    char buf[8];
    size_t len = 99;
    FAILS(PZ_ENOTFOUND, "cluster", NULL,
          pz_cluster_name(buf, sizeof buf, &len, e, ids[i]));
  }
  g_case = "";
  /* no users with interests at all */
  {
    test_alloc ta;
    test_alloc_reset(&ta);
    pz_engine *o = NULL;
    OK(test_open(&o, &ta, NULL, "clusters: {k: 1}\n"));
    FAILS(PZ_ERANGE, NULL, NULL, pz_cluster_train(o, NULL));
    OK(pz_profile_set_number(o, "x", "age", 3));
    FAILS(PZ_ERANGE, NULL, NULL, pz_cluster_train(o, NULL));
    OK(pz_cluster_count(&n, o));
    CHECK(n == 0, "k %zu", n);
    pz_engine_free(o);
    CHECK(ta.live_blocks == 0 && ta.bad_osize == 0, "leak %ld %ld",
          ta.live_blocks, ta.bad_osize);
  }
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_segment_badinput_cluster_lookups(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  size_t n = 99;
  int c = 7;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_count(NULL, e));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_count(&n, NULL));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_of(NULL, e, "u00"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_of(&c, NULL, "u00"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_size(NULL, e, 0));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_size(&n, NULL, 0));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "user", bad_ids[i].why, pz_cluster_of(&c, e, bad_ids[i].s));
  }
  g_case = "";
  for (size_t i = 0; i < N_BAD_CLUSTERS; i++) {
    char label[24];
    snprintf(label, sizeof label, "cluster %d", bad_clusters[i]);
    g_case = label;
    n = 99;
    FAILS(PZ_ENOTFOUND, "cluster", NULL, pz_cluster_size(&n, e, bad_clusters[i]));
  }
  g_case = "";
  /* no profile, no consent: no cluster, and not an error */
  c = 7;
  OK(pz_cluster_of(&c, e, "nobody"));
  CHECK(c == -1, "nobody is in cluster %d", c);
  c = 7;
  OK(pz_cluster_of(&c, e, "nc"));
  CHECK(c == -1, "nc (no consent) is in cluster %d", c);
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_segment_badinput_cluster_describe(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_describe(NULL, e, 0, 5));
  LIST_FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_describe(&l, NULL, 0, 5));
  LIST_FAILS(PZ_EINVAL, "k", NULL, pz_cluster_describe(&l, e, 0, 0));
  static const size_t huge_k[] = {10001, 1000000, SIZE_MAX / 4, SIZE_MAX};
  for (size_t i = 0; i < sizeof huge_k / sizeof *huge_k; i++) {
    char label[32];
    snprintf(label, sizeof label, "k %zu", huge_k[i]);
    g_case = label;
    LIST_FAILS(PZ_ERANGE, "k", NULL, pz_cluster_describe(&l, e, 0, huge_k[i]));
    LIST_FAILS(PZ_ERANGE, "k", NULL, pz_cluster_describe(&l, e, -1, huge_k[i]));
  }
  for (size_t i = 0; i < N_BAD_CLUSTERS; i++) {
    char label[24];
    snprintf(label, sizeof label, "cluster %d", bad_clusters[i]);
    g_case = label;
    LIST_FAILS(PZ_ENOTFOUND, "cluster", NULL,
               pz_cluster_describe(&l, e, bad_clusters[i], 5));
    LIST_FAILS(PZ_ENOTFOUND, "cluster", NULL,
               pz_cluster_describe(&l, e, bad_clusters[i], 10000));
  }
  g_case = "";
  world_verify(w);
  /* the limits: k = 1 and k = 10000 */
  pz_list *l = NULL;
  OK(pz_cluster_describe(&l, e, w->jazz_cluster, 1));
  CHECK(pz_list_count(l) == 1 && pz_list_text(l, 0) &&
            strcmp(pz_list_text(l, 0), "genre=jazz") == 0,
        "persona of the jazz cluster: %s",
        pz_list_text(l, 0) ? pz_list_text(l, 0) : "(none)");
  pz_list_free(l);
  l = NULL;
  OK(pz_cluster_describe(&l, e, w->jazz_cluster, 10000));
  CHECK(pz_list_count(l) == 4, "%zu features (genre and three decades)",
        pz_list_count(l));
  double norm2 = 0;
  for (size_t i = 0; i < pz_list_count(l); i++) {
    double v = pz_list_value(l, i);
    CHECK(v > 0 && v <= 1, "weight %g", v);
    CHECK(i == 0 || v <= pz_list_value(l, i - 1), "not strongest first");
    norm2 += v * v;
  }
  CHECK(fabs(norm2 - 1) < 1e-6, "weights of a unit centroid: |c|^2 = %g",
        norm2);
  pz_list_free(l);
  world_close(w);
  soft_end();
}

static void test_segment_badinput_cluster_names(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  int jc = w->jazz_cluster, other = (jc + 1) % 3;
  char buf[PZ_ID_MAX + 1];
  size_t len = 99;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_set_name(NULL, 0, "x"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_set_name(NULL, 0, NULL));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_name(buf, sizeof buf, NULL, e, jc));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_name(buf, sizeof buf, &len, NULL, jc));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cluster_name(NULL, 8, &len, e, jc));
  for (size_t i = 1; i < N_BAD_IDS; i++) { /* NULL removes a name */
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "cluster name", bad_ids[i].why,
          pz_cluster_set_name(e, other, bad_ids[i].s));
    FAILS(PZ_EINVAL, "cluster name", bad_ids[i].why,
          pz_cluster_set_name(e, jc, bad_ids[i].s));
    /* the name is checked whatever the cluster */
    FAILS(PZ_EINVAL, "cluster name", bad_ids[i].why,
          pz_cluster_set_name(e, 99, bad_ids[i].s));
  }
  g_case = "";
  /* rules read a leading digit as a cluster id */
  static const char *const digits[] = {"0", "1", "7up", "2024-01-01"};
  for (size_t i = 0; i < sizeof digits / sizeof *digits; i++) {
    g_case = digits[i];
    FAILS(PZ_EINVAL, "digit", NULL, pz_cluster_set_name(e, other, digits[i]));
  }
  g_case = "";
  for (size_t i = 0; i < N_BAD_CLUSTERS; i++) {
    char label[24];
    snprintf(label, sizeof label, "cluster %d", bad_clusters[i]);
    g_case = label;
    FAILS(PZ_ENOTFOUND, "cluster", NULL,
          pz_cluster_set_name(e, bad_clusters[i], "jazzy"));
    FAILS(PZ_ENOTFOUND, "cluster", NULL,
          pz_cluster_set_name(e, bad_clusters[i], NULL));
    len = 99;
    FAILS(PZ_ENOTFOUND, "cluster", NULL,
          pz_cluster_name(buf, sizeof buf, &len, e, bad_clusters[i]));
  }
  g_case = "";
  world_verify(w); /* "jazzy" still on the jazz cluster */

  /* buffers: "jazzy" is 5 bytes */
  for (size_t cap = 0; cap <= 5; cap++) {
    char small[8];
    memset(small, 'x', sizeof small);
    len = 99;
    FAILS(PZ_EBUFS, NULL, NULL,
          pz_cluster_name(cap ? small : NULL, cap, &len, e, jc));
    CHECK(len == 5, "cap %zu: *len_out %zu", cap, len);
    for (size_t i = 0; i < sizeof small; i++)
      CHECK(small[i] == 'x', "cap %zu: EBUFS wrote small[%zu]", cap, i);
  }
  len = 99;
  OK(pz_cluster_name(buf, 6, &len, e, jc));
  CHECK(len == 5 && strcmp(buf, "jazzy") == 0, "name \"%s\" %zu", buf, len);
  /* an unnamed cluster: "" needs one byte */
  len = 99;
  FAILS(PZ_EBUFS, NULL, NULL, pz_cluster_name(NULL, 0, &len, e, other));
  CHECK(len == 0, "unnamed, cap 0: *len_out %zu", len);
  len = 99;
  OK(pz_cluster_name(buf, 1, &len, e, other));
  CHECK(len == 0 && buf[0] == '\0', "unnamed: \"%s\" %zu", buf, len);

  /* names are unique: giving "jazzy" to another cluster moves it */
  OK(pz_cluster_set_name(e, other, "jazzy"));
  OK(pz_cluster_name(buf, sizeof buf, &len, e, jc));
  CHECK(len == 0, "jazz cluster kept its name \"%s\"", buf);
  OK(pz_cluster_name(buf, sizeof buf, &len, e, other));
  CHECK(len == 5 && strcmp(buf, "jazzy") == 0, "moved name \"%s\"", buf);
  int in0 = -1;
  OK(pz_segment_test(&in0, e, "jazzy_cluster", "u00"));
  CHECK(in0 == 0, "u00 still in the cluster named jazzy");
  /* a 255-byte name; NULL removes it; removing twice is fine */
  OK(pz_cluster_set_name(e, jc, id255));
  OK(pz_cluster_name(buf, sizeof buf, &len, e, jc));
  CHECK(len == 255 && strcmp(buf, id255) == 0, "255-byte name: %zu", len);
  OK(pz_cluster_set_name(e, jc, NULL));
  OK(pz_cluster_set_name(e, jc, NULL));
  OK(pz_cluster_name(buf, sizeof buf, &len, e, jc));
  CHECK(len == 0, "removed name still there: \"%s\"", buf);
  OK(pz_cluster_set_name(e, jc, "jazzy"));
  OK(pz_cluster_set_name(e, other, NULL));
  world_verify(w); /* back as it was */

  /* a rule may name a cluster that does not exist (yet): it matches nobody */
  static const char rules[] =
      "segments:\n"
      "  - {name: by_name, rule: {cluster: nosuch}}\n"
      "  - {name: by_id, rule: {cluster: 1023}}\n"
      "  - {name: neither, rule: {not: {any: [{cluster: nosuch}, {cluster: "
      "1023}]}}}\n";
  OK(pz_segment_load(e, rules, sizeof rules - 1));
  pz_list *l = NULL;
  OK(pz_segment_counts(&l, e));
  CHECK(pz_list_count(l) == 3 && pz_list_value(l, 0) == 0 &&
            pz_list_value(l, 1) == 0 && pz_list_value(l, 2) == N_USERS + 1,
        "counts %g %g %g", pz_list_value(l, 0), pz_list_value(l, 1),
        pz_list_value(l, 2));
  pz_list_free(l);
  OK(pz_cluster_set_name(e, other, "nosuch"));
  int in = -1;
  OK(pz_segment_test(&in, e, "by_name", "u00"));
  CHECK(in == 0, "u00 (jazz) in the cluster now named nosuch");
  char u[8] = "";
  for (int i = 0; i < N_USERS; i++) {
    int c = -1;
    user_id(u, sizeof u, i);
    OK(pz_cluster_of(&c, e, u));
    if (c == other) break;
  }
  OK(pz_segment_test(&in, e, "by_name", u));
  CHECK(in == 1, "%s not in the cluster just named nosuch", u);
  world_close(w);
  soft_end();
}

/* ---- documents: one place to blame ------------------------------------------- */

typedef struct bad_doc {
  const char *label;
  const char *text;   /* '@' marks the node the message must name */
  const char *needle; /* the message names the offending thing */
} bad_doc;

/* A valid segment to put around broken ones. */
#define SEG_OK "  - name: ok\n    rule: {attr: age, exists: true}\n"

static const bad_doc bad_docs[] = {
    /* not YAML */
    {"{{{", "{{{", NULL},
    {"unclosed flow list", "segments: [{name: a, rule: {attr: x, exists: true}}\n",
     NULL},
    {"unclosed quote", "segments:\n  - name: 'a\n", NULL},
    {"tab indentation", "segments:\n  - name: a\n\trule: {attr: x, exists: true}\n",
     NULL},
    {"two documents", "segments: []\n@---\nsegments: []\n", "document"},
    {"alias", "segments:\n  - &s {name: a, rule: {attr: x, exists: true}}\n"
              "  - @*s\n",
     "alias"},
    {"top-level list", "@- segments\n", "mapping"},
    {"top-level scalar", "@segments", "mapping"},
    /* unknown keys at every level */
    {"unknown top-level key", "segments: []\n@segmentz: []\n", "segmentz"},
    {"unknown key in a segment",
     "segments:\n  - name: a\n    @rulez: {attr: x, exists: true}\n", "rulez"},
    {"unknown key in a segment, with a rule",
     "segments:\n  - name: a\n    rule: {attr: x, exists: true}\n    @ranks: "
     "true\n",
     "ranks"},
    {"unknown operator", "segments:\n  - name: a\n    rule: {attr: x, @equals: 1}\n",
     "equals"},
    {"unknown key beside an operator",
     "segments:\n  - name: a\n    rule: {attr: x, exists: true, @bogus: 1}\n",
     "bogus"},
    {"unknown operator nested",
     "segments:\n  - name: a\n    rule: {all: [{attr: x, exists: true}, "
     "{not: {attr: x, @gte_: 1}}]}\n",
     "gte_"},
    {"unknown key in an experiment",
     "experiments:\n  - name: x\n    seed: 1\n    @colour: red\n    variants: "
     "[{name: a}]\n",
     "colour"},
    {"unknown key in a variant",
     "experiments:\n  - name: x\n    seed: 1\n    variants: [{name: a, @wieght: "
     "2}]\n",
     "wieght"},
    {"key that is a list", "segments:\n  - @[name]: a\n", NULL},
    {"duplicate key in a condition",
     "segments:\n  - name: a\n    rule: {attr: x, exists: true, @exists: false}\n",
     "exists"},
    {"duplicate key in a segment",
     "segments:\n  - name: a\n    @name: b\n    rule: {attr: x, exists: true}\n",
     "name"},
    /* wrong types */
    {"segments is a mapping", "segments: @{name: a}\n", "list"},
    {"segments is a scalar", "segments: @all\n", "list"},
    {"a segment is a scalar", "segments:\n  - @adults\n", "segment"},
    {"a segment is a list", "segments:\n  - @[adults]\n", "segment"},
    {"name is a list", "segments:\n  - name: @[a, b]\n    rule: {attr: x, "
                       "exists: true}\n",
     "name"},
    {"description is a mapping",
     "segments:\n  - name: a\n    description: @{text: hi}\n    rule: {attr: "
     "x, exists: true}\n",
     "description"},
    {"rank: yes", "segments:\n  - name: a\n    rank: @yes\n    rule: {attr: x, "
                  "exists: true}\n",
     "rank"},
    {"rule is a list", "segments:\n  - name: a\n    rule: @[{attr: x, exists: "
                       "true}]\n",
     "mapping"},
    {"rule is a scalar", "segments:\n  - name: a\n    rule: @adults\n",
     "mapping"},
    {"attr is a mapping", "segments:\n  - name: a\n    rule: {attr: @{a: 1}, "
                          "eq: 1}\n",
     "attribute name"},
    {"eq with a list", "segments:\n  - name: a\n    rule: {attr: x, eq: @[1, "
                       "2]}\n",
     "eq"},
    {"eq with a mapping", "segments:\n  - name: a\n    rule: {attr: x, eq: "
                          "@{a: 1}}\n",
     NULL},
    {"in with a scalar", "segments:\n  - name: a\n    rule: {attr: x, in: "
                         "@a}\n",
     "list"},
    {"in with an empty list", "segments:\n  - name: a\n    rule: {attr: x, in: "
                              "@[]}\n",
     "in"},
    {"in with a nested list", "segments:\n  - name: a\n    rule: {attr: x, in: "
                              "[a, @[b]]}\n",
     NULL},
    {"exists: yes", "segments:\n  - name: a\n    rule: {attr: x, exists: "
                    "@yes}\n",
     "exists"},
    {"exists on a count", "segments:\n  - name: a\n    rule: {count: view, "
                          "@exists: true}\n",
     "exists"},
    {"in on a count", "segments:\n  - name: a\n    rule: {count: view, @in: [1, "
                      "2]}\n",
     "in"},
    {"contains on an interest",
     "segments:\n  - name: a\n    rule: {interest: genre=jazz, @contains: j}\n",
     "contains"},
    {"top_interests: lots", "segments:\n  - name: a\n    rule: "
                            "{top_interests: @lots, include: genre=jazz}\n",
     "top_interests"},
    {"top_interests: 0", "segments:\n  - name: a\n    rule: {top_interests: "
                         "@0, include: genre=jazz}\n",
     "top_interests"},
    {"top_interests: 1001", "segments:\n  - name: a\n    rule: "
                            "{top_interests: @1001, include: genre=jazz}\n",
     "top_interests"},
    {"top_interests without include",
     "segments:\n  - name: a\n    rule: {@top_interests: 3}\n", "include"},
    {"within: 3 fortnights", "segments:\n  - name: a\n    rule: {count: view, "
                             "gte: 1, within: @3 fortnights}\n",
     "within"},
    {"within: -1d", "segments:\n  - name: a\n    rule: {count: view, gte: 1, "
                    "within: @-1d}\n",
     "within"},
    {"within on an attribute", "segments:\n  - name: a\n    rule: {attr: x, "
                               "exists: true, @within: 7d}\n",
     "within"},
    {"include on an attribute", "segments:\n  - name: a\n    rule: {attr: x, "
                                "exists: true, @include: genre=jazz}\n",
     "include"},
    {"cluster 1024", "segments:\n  - name: a\n    rule: {cluster: @1024}\n",
     "cluster"},
    {"cluster 3x", "segments:\n  - name: a\n    rule: {cluster: @3x}\n",
     "cluster"},
    {"cluster 99999999999999999999", "segments:\n  - name: a\n    rule: "
                                     "{cluster: @99999999999999999999}\n",
     "cluster"},
    {"cluster with an operator", "segments:\n  - name: a\n    rule: {cluster: "
                                 "0, @eq: 1}\n",
     "eq"},
    {"segment with an operator", "segments:\n" SEG_OK "  - name: a\n    rule: "
                                 "{segment: ok, @eq: true}\n",
     "eq"},
    {"segment is a list", "segments:\n" SEG_OK "  - name: a\n    rule: "
                          "{segment: @[ok]}\n",
     "segment"},
    {"experiments is a mapping", "experiments: @{name: x}\n", "list"},
    {"an experiment is a scalar", "experiments:\n  - @x\n", "experiment"},
    {"seed -1", "experiments:\n  - name: x\n    seed: @-1\n    variants: "
                "[{name: a}]\n",
     "seed"},
    {"seed abc", "experiments:\n  - name: x\n    seed: @abc\n    variants: "
                 "[{name: a}]\n",
     "seed"},
    {"seed 2^64", "experiments:\n  - name: x\n    seed: "
                  "@18446744073709551616\n    variants: [{name: a}]\n",
     "seed"},
    {"seed 1.5", "experiments:\n  - name: x\n    seed: @1.5\n    variants: "
                 "[{name: a}]\n",
     "seed"},
    {"seed quoted", "experiments:\n  - name: x\n    seed: @\"1\"\n    "
                    "variants: [{name: a}]\n",
     "seed"},
    {"no seed", "experiments:\n  - @name: x\n    variants: [{name: a}]\n",
     "seed"},
    {"variants is a scalar", "experiments:\n  - name: x\n    seed: 1\n    "
                             "variants: @red\n",
     "variants"},
    {"no variants", "experiments:\n  - @name: x\n    seed: 1\n", "variants"},
    {"variants: []", "experiments:\n  - name: x\n    seed: 1\n    variants: "
                     "@[]\n",
     "variants"},
    {"a variant is a scalar", "experiments:\n  - name: x\n    seed: 1\n    "
                              "variants: [@red]\n",
     "variant"},
    {"variant without a name", "experiments:\n  - name: x\n    seed: 1\n    "
                               "variants: [@{weight: 1}]\n",
     "name"},
    {"experiment segment is a list",
     "segments:\n" SEG_OK "experiments:\n  - name: x\n    seed: 1\n    "
     "segment: @[ok]\n    variants: [{name: a}]\n",
     "segment"},
    /* empty and overlong names */
    {"segment without a name", "segments:\n  - @rule: {attr: x, exists: true}\n",
     "name"},
    /* the message: see test_segment_badinput_empty_segment_name */
    {"empty segment name", "segments:\n  - name: @\"\"\n    rule: {attr: x, "
                           "exists: true}\n",
     NULL},
    {"empty experiment name", "experiments:\n  - name: @\"\"\n    seed: 1\n    "
                              "variants: [{name: a}]\n",
     "experiment name"},
    {"empty variant name", "experiments:\n  - name: x\n    seed: 1\n    "
                           "variants: [{name: @''}]\n",
     "variant name"},
    {"empty attribute name", "segments:\n  - name: a\n    rule: {attr: @\"\", "
                             "exists: true}\n",
     "attribute name"},
    {"empty interest feature", "segments:\n  - name: a\n    rule: {interest: "
                               "@\"\", gt: 0}\n",
     "feature"},
    {"empty include feature", "segments:\n  - name: a\n    rule: "
                              "{top_interests: 3, include: @\"\"}\n",
     "feature"},
    {"empty cluster name", "segments:\n  - name: a\n    rule: {cluster: "
                           "@\"\"}\n",
     "cluster name"},
    {"empty string value", "segments:\n  - name: a\n    rule: {attr: x, eq: "
                           "@\"\"}\n",
     "empty"},
    {"empty contains", "segments:\n  - name: a\n    rule: {attr: x, contains: "
                       "@''}\n",
     "empty"},
    {"empty segment reference", "segments:\n" SEG_OK "  - name: a\n    rule: "
                                "{segment: @\"\"}\n",
     "segment"},
    /* duplicates */
    {"duplicate segment", "segments:\n" SEG_OK "  - name: b\n    rule: {attr: "
                          "x, exists: true}\n  - name: @ok\n    rule: {attr: "
                          "y, exists: true}\n",
     "duplicate"},
    {"duplicate segment, quoted", "segments:\n" SEG_OK "  - name: @\"ok\"\n    "
                                  "rule: {attr: y, exists: true}\n",
     "duplicate"},
    {"duplicate experiment", "experiments:\n  - {name: x, seed: 1, variants: "
                             "[{name: a}]}\n  - {name: @x, seed: 2, variants: "
                             "[{name: a}]}\n",
     "duplicate"},
    {"duplicate variant", "experiments:\n  - name: x\n    seed: 1\n    "
                          "variants: [{name: a}, {name: b}, {name: @a}]\n",
     "duplicate"},
    /* regexes */
    {"regex (", "segments:\n  - name: a\n    rule: {attr: x, regex: "
                "@\"(\"}\n",
     "regex"},
    {"regex [a-", "segments:\n  - name: a\n    rule: {attr: x, regex: "
                  "@'[a-'}\n",
     "regex"},
    {"regex a{2,1}", "segments:\n  - name: a\n    rule: {attr: x, regex: "
                     "@'a{2,1}'}\n",
     "regex"},
    {"regex trailing backslash", "segments:\n  - name: a\n    rule:\n      "
                                 "attr: x\n      regex: @'ab\\'\n",
     "regex"},
    {"regex back-reference \\1", "segments:\n  - name: a\n    rule: {attr: x, "
                                 "regex: @'(a)\\1'}\n",
     "back-reference"},
    {"regex back-reference \\9", "segments:\n  - name: a\n    rule: {attr: x, "
                                 "regex: @'(a)(b)(c)\\9'}\n",
     "back-reference"},
    {"regex back-reference, case-insensitive",
     "segments:\n  - name: a\n    rule: {attr: x, regex: @'^(.)\\1$', "
     "case_insensitive: true}\n",
     "back-reference"},
    {"regex is a list", "segments:\n  - name: a\n    rule: {attr: x, regex: "
                        "@[a, b]}\n",
     "regex"},
    {"regex on a count", "segments:\n  - name: a\n    rule: {count: view, "
                         "@regex: a}\n",
     "regex"},
    {"empty regex", "segments:\n  - name: a\n    rule: {attr: x, regex: "
                    "@''}\n",
     NULL},
    /* weights and coverage */
    {"weights sum to 0", "experiments:\n  - name: x\n    seed: 1\n    "
                         "variants: @[{name: a, weight: 0}, {name: b, weight: "
                         "0}]\n",
     "weight"},
    {"single weight 0", "experiments:\n  - name: x\n    seed: 1\n    "
                        "variants:\n      @- {name: a, weight: 0}\n",
     "weight"},
    {"negative weight", "experiments:\n  - name: x\n    seed: 1\n    "
                        "variants: [{name: a, weight: 2}, {name: b, weight: "
                        "@-1}]\n",
     "weight"},
    {"weight .nan", "experiments:\n  - name: x\n    seed: 1\n    variants: "
                    "[{name: a, weight: @.nan}]\n",
     "weight"},
    {"weight .inf", "experiments:\n  - name: x\n    seed: 1\n    variants: "
                    "[{name: a, weight: @.inf}]\n",
     "weight"},
    {"weight 1e10", "experiments:\n  - name: x\n    seed: 1\n    variants: "
                    "[{name: a, weight: @1e10}]\n",
     "weight"},
    {"weight 50%", "experiments:\n  - name: x\n    seed: 1\n    variants: "
                   "[{name: a, weight: @50%}]\n",
     "weight"},
    {"coverage 1.5", "experiments:\n  - name: x\n    seed: 1\n    coverage: "
                     "@1.5\n    variants: [{name: a}]\n",
     "coverage"},
    {"coverage -0.1", "experiments:\n  - name: x\n    seed: 1\n    coverage: "
                      "@-0.1\n    variants: [{name: a}]\n",
     "coverage"},
    {"coverage 2", "experiments:\n  - name: x\n    seed: 1\n    coverage: @2\n "
                   "   variants: [{name: a}]\n",
     "coverage"},
    {"coverage 50%", "experiments:\n  - name: x\n    seed: 1\n    coverage: "
                     "@50%\n    variants: [{name: a}]\n",
     "coverage"},
    {"coverage .nan", "experiments:\n  - name: x\n    seed: 1\n    coverage: "
                      "@.nan\n    variants: [{name: a}]\n",
     "coverage"},
    {"coverage -inf", "experiments:\n  - name: x\n    seed: 1\n    coverage: "
                      "@-.inf\n    variants: [{name: a}]\n",
     "coverage"},
    /* event types */
    {"unknown event type in count", "segments:\n  - name: a\n    rule: "
                                    "{count: @viewed, gte: 1}\n",
     "viewed"},
    {"event type in the wrong case", "segments:\n  - name: a\n    rule: {sum: "
                                     "@Purchase, gte: 1}\n",
     "Purchase"},
    {"unknown event type in days_since",
     "segments:\n  - name: a\n    rule: {days_since: @login, lte: 7}\n",
     "login"},
    {"event type that is a list", "segments:\n  - name: a\n    rule: {count: "
                                  "@[view], gte: 1}\n",
     "event type"},
    /* unknown segment references */
    {"unknown segment", "segments:\n" SEG_OK "  - name: a\n    rule: "
                        "{segment: @nobody}\n",
     "nobody"},
    {"unknown segment, nested", "segments:\n" SEG_OK "  - name: a\n    rule: "
                                "{any: [{segment: ok}, {not: {segment: "
                                "@Ok}}]}\n",
     "Ok"},
    {"unknown targeting segment", "segments:\n" SEG_OK "experiments:\n  - "
                                  "name: x\n    seed: 1\n    segment: "
                                  "@nobody\n    variants: [{name: a}]\n",
     "nobody"},
    {"targeting segment without segments",
     "experiments:\n  - name: x\n    seed: 1\n    segment: @ok\n    variants: "
     "[{name: a}]\n",
     "ok"},
    /* cycles */
    {"self reference", "segments:\n  - name: a\n    rule: {segment: @a}\n",
     "cycle"},
    {"self reference, nested", "segments:\n  - name: a\n    rule: {all: "
                               "[{attr: x, exists: true}, {not: {segment: "
                               "@a}}]}\n",
     "cycle"},
    {"cycle of two", "segments:\n  - name: a\n    rule: {segment: b}\n  - "
                     "name: b\n    rule: {segment: @a}\n",
     "cycle"},
    {"cycle of three", "segments:\n" SEG_OK "  - name: a\n    rule: {segment: "
                       "b}\n  - name: b\n    rule: {any: [{segment: ok}, "
                       "{segment: c}]}\n  - name: c\n    rule: {not: "
                       "{segment: @a}}\n",
     "cycle"},
    /* null values */
    {"segments: ~", "segments: @~\n", "list"},
    {"experiments: null", "experiments: @null\n", "list"},
    {"rule: ~", "segments:\n  - name: a\n    rule: @~\n", "mapping"},
    {"rule: (empty)", "segments:\n  - name: a\n    rule:\n", "mapping"},
    {"eq: ~", "segments:\n  - name: a\n    rule: {attr: x, eq: @~}\n", "null"},
    {"eq: null", "segments:\n  - name: a\n    rule: {attr: x, eq: @null}\n",
     "null"},
    {"eq: NULL", "segments:\n  - name: a\n    rule: {attr: x, eq: @NULL}\n",
     "null"},
    {"ne: (empty)", "segments:\n  - name: a\n    rule:\n      attr: x\n      "
                    "ne:\n",
     "null"},
    {"null in a list", "segments:\n  - name: a\n    rule: {attr: x, in: [a, "
                       "@~]}\n",
     "null"},
    {"gte: ~", "segments:\n  - name: a\n    rule: {count: view, gte: @~}\n",
     NULL},
    {"between with a null", "segments:\n  - name: a\n    rule: {attr: x, "
                            "between: [@~, 3]}\n",
     "null"},
    {"exists: ~", "segments:\n  - name: a\n    rule: {attr: x, exists: @~}\n",
     "exists"},
    {"rank: ~", "segments:\n  - name: a\n    rank: @~\n    rule: {attr: x, "
                "exists: true}\n",
     "rank"},
    {"seed: ~", "experiments:\n  - name: x\n    seed: @~\n    variants: "
                "[{name: a}]\n",
     "seed"},
    {"coverage: null", "experiments:\n  - name: x\n    seed: 1\n    coverage: "
                       "@null\n    variants: [{name: a}]\n",
     "coverage"},
    {"variants: ~", "experiments:\n  - name: x\n    seed: 1\n    variants: "
                    "@~\n",
     "variants"},
    {"weight: ~", "experiments:\n  - name: x\n    seed: 1\n    variants: "
                  "[{name: a, weight: @~}]\n",
     "weight"},
    {"a null segment", "segments:\n  - @~\n", "segment"},
    {"a null condition in all", "segments:\n  - name: a\n    rule: {all: "
                                "[{attr: x, exists: true}, @~]}\n",
     "mapping"},
    /* dates */
    {"2024-02-30", "segments:\n  - name: a\n    rule: {attr: d, gt: "
                   "@2024-02-30}\n",
     "2024-02-30"},
    {"2024-13-01", "segments:\n  - name: a\n    rule: {attr: d, lt: "
                   "@2024-13-01}\n",
     "2024-13-01"},
    {"2023-02-29", "segments:\n  - name: a\n    rule: {attr: d, gte: "
                   "@2023-02-29}\n",
     "2023-02-29"},
    {"2024-00-10", "segments:\n  - name: a\n    rule: {attr: d, lte: "
                   "@2024-00-10}\n",
     "2024-00-10"},
    {"2024-04-31", "segments:\n  - name: a\n    rule: {attr: d, eq: "
                   "@2024-04-31}\n",
     "2024-04-31"},
    {"2024-01-01T25:00", "segments:\n  - name: a\n    rule:\n      attr: d\n  "
                         "    gt: @2024-01-01T25:00\n",
     "2024-01-01T25:00"},
    {"2024-01-01T23:60", "segments:\n  - name: a\n    rule:\n      attr: d\n  "
                         "    gt: @2024-01-01T23:60\n",
     "date"},
    {"2024-01-01T12:00:60", "segments:\n  - name: a\n    rule:\n      attr: "
                            "d\n      gt: @2024-01-01T12:00:60\n",
     "date"},
    {"2024-01-01T12:00+24:00", "segments:\n  - name: a\n    rule:\n      "
                               "attr: d\n      gt: @2024-01-01T12:00+24:00\n",
     "date"},
    {"2024-01-01T12:00Q", "segments:\n  - name: a\n    rule:\n      attr: d\n "
                          "     gt: @2024-01-01T12:00Q\n",
     "date"},
    {"2024-1-01", "segments:\n  - name: a\n    rule: {attr: d, gt: "
                  "@2024-1-01}\n",
     NULL},
    {"quoted bad date in an ordering", "segments:\n  - name: a\n    rule: "
                                       "{attr: d, gt: @\"2024-02-30\"}\n",
     "date"},
    {"bad date in between", "segments:\n  - name: a\n    rule: {attr: d, "
                            "between: [@2024-02-30, 2024-03-01]}\n",
     "date"},
    {"bad date in a list", "segments:\n  - name: a\n    rule: {attr: d, in: "
                           "[2024-01-01, @2024-02-31]}\n",
     "date"},
    /* ordering operators with a string */
    {"gt: abc", "segments:\n  - name: a\n    rule: {attr: age, gt: @abc}\n",
     "number"},
    {"lte: \"18\"", "segments:\n  - name: a\n    rule: {attr: age, lte: "
                    "@\"18\"}\n",
     "number"},
    {"gte: true", "segments:\n  - name: a\n    rule: {attr: age, gte: "
                  "@true}\n",
     "number"},
    {"count gte: many", "segments:\n  - name: a\n    rule: {count: view, gte: "
                        "@many}\n",
     "number"},
    {"count eq: a date", "segments:\n  - name: a\n    rule: {count: view, eq: "
                         "@2024-01-01}\n",
     "number"},
    {"interest gt: high", "segments:\n  - name: a\n    rule: {interest: "
                          "genre=jazz, gt: @high}\n",
     "number"},
    {"days_since lt: 1e999", "segments:\n  - name: a\n    rule: {days_since: "
                             "view, lt: @1e999}\n",
     "number"},
    {"sum gte: .nan", "segments:\n  - name: a\n    rule: {sum: purchase, gte: "
                      "@.nan}\n",
     "number"},
    {"gt: a list", "segments:\n  - name: a\n    rule: {attr: age, gt: @[1, "
                   "2]}\n",
     "gt"},
    /* between */
    {"between number and date", "segments:\n  - name: a\n    rule: {attr: x, "
                                "between: @[1, 2024-01-01]}\n",
     "between"},
    {"between date and number", "segments:\n  - name: a\n    rule: {attr: x, "
                                "between: @[2024-01-01, 5]}\n",
     "between"},
    {"between low > high", "segments:\n  - name: a\n    rule: {attr: age, "
                           "between: @[30, 18]}\n",
     "low"},
    {"between dates low > high", "segments:\n  - name: a\n    rule: {attr: d, "
                                 "between: @[2024-02-01, 2024-01-31]}\n",
     "low"},
    {"between counts low > high", "segments:\n  - name: a\n    rule: {count: "
                                  "view, between: @[5, 1]}\n",
     "low"},
    {"between strings", "segments:\n  - name: a\n    rule: {attr: x, between: "
                        "[@a, b]}\n",
     "number"},
    {"between one value", "segments:\n  - name: a\n    rule: {attr: x, "
                          "between: @5}\n",
     "between"},
    {"between three values", "segments:\n  - name: a\n    rule: {attr: x, "
                             "between: @[1, 2, 3]}\n",
     "between"},
    {"between empty", "segments:\n  - name: a\n    rule: {attr: x, between: "
                      "@[]}\n",
     "between"},
    /* case_insensitive */
    {"case_insensitive on gte", "segments:\n  - name: a\n    rule: {attr: age, "
                                "gte: 18, @case_insensitive: true}\n",
     "case_insensitive"},
    {"case_insensitive on between",
     "segments:\n  - name: a\n    rule: {attr: age, between: [1, 2], "
     "@case_insensitive: true}\n",
     "case_insensitive"},
    {"case_insensitive on exists",
     "segments:\n  - name: a\n    rule: {attr: age, exists: true, "
     "@case_insensitive: false}\n",
     "case_insensitive"},
    {"case_insensitive on a count",
     "segments:\n  - name: a\n    rule: {count: view, gte: 1, "
     "@case_insensitive: true}\n",
     "case_insensitive"},
    {"case_insensitive: yes", "segments:\n  - name: a\n    rule: {attr: x, "
                              "eq: a, case_insensitive: @yes}\n",
     "case_insensitive"},
    /* the shape of a condition */
    {"two subjects", "segments:\n  - name: a\n    rule: {attr: x, @count: "
                     "view, gte: 1}\n",
     "subject"},
    {"two subjects, all and any", "segments:\n  - name: a\n    rule: {all: "
                                  "[{attr: x, exists: true}], @any: [{attr: "
                                  "y, exists: true}]}\n",
     "subject"},
    {"two operators", "segments:\n  - name: a\n    rule: {attr: x, eq: 1, "
                      "@ne: 2}\n",
     "operator"},
    {"two operators on a count", "segments:\n  - name: a\n    rule: {count: "
                                 "view, gte: 1, @lte: 5}\n",
     "operator"},
    {"no operator", "segments:\n  - name: a\n    rule: {@attr: x}\n",
     "operator"},
    {"no operator on a count", "segments:\n  - name: a\n    rule: {@count: "
                               "view}\n",
     "operator"},
    {"no operator on an interest", "segments:\n  - name: a\n    rule: "
                                   "{@interest: genre=jazz}\n",
     "operator"},
    {"no operator, block style", "segments:\n  - name: a\n    rule:\n      "
                                 "@attr: x\n      case_insensitive: true\n",
     "operator"},
    {"no subject", "segments:\n  - name: a\n    rule: @{eq: 1}\n", "subject"},
    {"empty condition", "segments:\n  - name: a\n    rule: @{}\n", "subject"},
    {"operator on all", "segments:\n  - name: a\n    rule: {all: [{attr: x, "
                        "exists: true}], @eq: 1}\n",
     "eq"},
    /* empty lists */
    {"all: []", "segments:\n  - name: a\n    rule: {all: @[]}\n", "all"},
    {"any: []", "segments:\n  - name: a\n    rule: {any: @[]}\n", "any"},
    {"all: {}", "segments:\n  - name: a\n    rule: {all: @{attr: x, exists: "
                "true}}\n",
     "all"},
    {"nested any: []", "segments:\n  - name: a\n    rule: {all: [{attr: x, "
                       "exists: true}, {any: @[]}]}\n",
     "any"},
    {"not: []", "segments:\n  - name: a\n    rule: {not: @[]}\n", "mapping"},
    {"not: [a condition]", "segments:\n  - name: a\n    rule: {not: @[{attr: "
                           "x, exists: true}]}\n",
     "mapping"},
    /* a broken segment after good ones, in block style */
    {"error in the 3rd segment",
     "segments:\n" SEG_OK "  - name: b\n    rule:\n      any:\n        - "
     "{attr: city, in: [Oslo, Lyon]}\n        - {count: purchase, gte: 2, "
     "within: 30d}\n  - name: c\n    rule:\n      all:\n        - {segment: "
     "b}\n        - attr: joined\n          between: @[2024-01-01, "
     "2023-12-31]\n",
     "low"},
    {"error in the 2nd experiment",
     "segments:\n" SEG_OK "experiments:\n  - name: x\n    seed: 1\n    "
     "segment: ok\n    variants: [{name: a}]\n  - name: y\n    seed: 2\n    "
     "coverage: 0.5\n    variants:\n      - name: a\n        weight: 1\n      "
     "- name: b\n        weight: @-0.5\n",
     "weight"},
};
#define N_BAD_DOCS (sizeof bad_docs / sizeof *bad_docs)

static void test_segment_badinput_documents(void **state) {
  world *w = *state;
  for (size_t i = 0; i < N_BAD_DOCS; i++) {
    g_case = bad_docs[i].label;
    refused_marked(w, bad_docs[i].text, bad_docs[i].needle);
    /* the previous rules still answer exactly as before */
    world_verify(w);
  }
  g_case = "";
  world_close(w);
  soft_end();
}

/* The engine's own keys for the module: `clusters:` and the ranking's
 * segment keys (pz_engine_open only: pz_segment_load does not take them). */
static void test_segment_badinput_cluster_config(void **state) {
  (void)state;
  soft_begin();
  static const bad_doc docs[] = {
      {"clusters is a list", "clusters: @[3]\n", "clusters"},
      {"unknown key in clusters", "clusters:\n  k: 3\n  @kk: 4\n", "kk"},
      {"k: 0", "clusters: {k: @0}\n", "clusters.k"},
      {"k: 1025", "clusters: {k: @1025}\n", "clusters.k"},
      {"k: -1", "clusters: {k: @-1}\n", "clusters.k"},
      {"k: three", "clusters: {k: @three}\n", "clusters.k"},
      {"k: ~", "clusters: {k: @~}\n", "clusters.k"},
      {"max_iterations: 0", "clusters: {max_iterations: @0}\n",
       "max_iterations"},
      {"max_iterations: 100001", "clusters: {max_iterations: @100001}\n",
       "max_iterations"},
      {"batch_size: 100000001", "clusters: {batch_size: @100000001}\n",
       "batch_size"},
      {"min_size: 0", "clusters: {min_size: @0}\n", "min_size"},
      {"max_features: 0", "clusters: {max_features: @0}\n", "max_features"},
      {"max_features: 1025", "clusters: {max_features: @1025}\n",
       "max_features"},
      {"seed: 2^64", "clusters: {seed: @18446744073709551616}\n", "seed"},
      {"segment_min_members: 0", "ranking: {segment_min_members: @0}\n",
       "segment_min_members"},
      {"segment_weight: -1", "ranking: {segment_weight: @-1}\n",
       "segment_weight"},
      {"segment_weight: 1001", "ranking: {segment_weight: @1001}\n",
       "segment_weight"},
      {"segment_weight: .nan", "ranking: {segment_weight: @.nan}\n",
       "segment_weight"},
  };
  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
    g_case = docs[i].label;
    refused_marked(NULL, docs[i].text, docs[i].needle);
  }
  g_case = "";
  soft_end();
}

/* Membership before and after a refused load, spelled out. */
static void test_segment_badinput_refused_load_keeps_rules(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  static const char good[] =
      "segments:\n"
      "  - name: teens\n"
      "    rule: {attr: age, between: [13, 19]}\n"
      "  - name: rock_fans\n"
      "    rule: {top_interests: 1, include: genre=rock}\n"
      "experiments:\n"
      "  - name: layout\n"
      "    seed: 9\n"
      "    segment: teens\n"
      "    variants: [{name: grid}]\n";
  OK(pz_segment_load(e, good, sizeof good - 1));
  int in = -1;
  OK(pz_segment_test(&in, e, "teens", "u03"));
  CHECK(in == 1, "u03 (13) is not a teen");
  OK(pz_segment_test(&in, e, "teens", "u20"));
  CHECK(in == 0, "u20 (30) is a teen");
  OK(pz_segment_test(&in, e, "rock_fans", "u01"));
  CHECK(in == 1, "u01 is not a rock fan");
  OK(pz_segment_test(&in, e, "rock_fans", "u00"));
  CHECK(in == 0, "u00 is a rock fan");
  FAILS(PZ_ENOTFOUND, "adults", NULL, pz_segment_test(&in, e, "adults", "u20"));
  char *fp = fingerprint(e);

  /* a document that redefines everything but fails at its very end */
  static const char bad[] =
      "segments:\n"
      "  - name: teens\n"
      "    rule: {attr: age, exists: false}\n"
      "  - name: adults\n"
      "    rule: {attr: age, gte: 18}\n"
      "experiments:\n"
      "  - name: layout\n"
      "    seed: 10\n"
      "    variants: [{name: list}]\n"
      "  - name: layout2\n"
      "    seed: 10\n"
      "    variants: [{name: list, weight: -1}]\n";
  FAILS(PZ_ECONFIG, "weight", NULL, pz_segment_load(e, bad, sizeof bad - 1));
  check_position(pz_errmsg(), "segments", 12, 37, "weight");
  OK(pz_segment_test(&in, e, "teens", "u03"));
  CHECK(in == 1, "after a refused load, u03 (13) is not a teen");
  OK(pz_segment_test(&in, e, "teens", "u20"));
  CHECK(in == 0, "after a refused load, u20 (30) is a teen");
  FAILS(PZ_ENOTFOUND, "adults", NULL, pz_segment_test(&in, e, "adults", "u20"));
  char v[16];
  size_t len = 0;
  OK(pz_experiment_assign(v, sizeof v, &len, e, "layout", "u03"));
  CHECK(strcmp(v, "grid") == 0, "u03 got \"%s\"", v);
  char *after = fingerprint(e);
  CHECK(strcmp(fp, after) == 0, "answers changed by a refused load");
  free(after);
  free(fp);
  world_close(w);
  soft_end();
}

/* The exact line:column of a few errors, counted by hand. */
static void test_segment_badinput_positions(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  static const struct {
    const char *text;
    unsigned line, col;
    const char *needle;
  } cases[] = {
      /* the unknown key "rulez" */
      {"segments:\n  - name: a\n    rulez: {}\n", 3, 5, "rulez"},
      /* the date: "    rule: {attr: d, gt: " is 24 characters */
      {"segments:\n  - name: a\n    rule: {attr: d, gt: 2024-13-01}\n", 3, 25,
       "2024-13-01"},
      /* the second "a" of b's rule closes the cycle a -> b -> a */
      {"segments:\n  - name: a\n    rule: {segment: b}\n  - name: b\n    "
       "rule: {segment: a}\n",
       5, 21, "cycle"},
      /* the variants list whose weights sum to 0 */
      {"experiments:\n  - name: x\n    seed: 1\n    variants:\n      - {name: "
       "a, weight: 0}\n",
       5, 7, "weight"},
      /* the second operator */
      {"segments:\n  - name: a\n    rule:\n      attr: x\n      eq: 1\n      "
       "ne: 2\n",
       6, 7, "operator"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    g_case = cases[i].text;
    FAILS(PZ_ECONFIG, NULL, NULL,
          pz_segment_load(e, cases[i].text, strlen(cases[i].text)));
    check_position(pz_errmsg(), "segments", cases[i].line, cases[i].col,
                   cases[i].needle);
    pz_engine *o = SENTINEL(pz_engine);
    FAILS(PZ_ECONFIG, NULL, NULL,
          pz_engine_open_string(&o, cases[i].text, strlen(cases[i].text)));
    CHECK(o == NULL, "*out not NULL");
    check_position(pz_errmsg(), "<string>", cases[i].line, cases[i].col,
                   cases[i].needle);
  }
  g_case = "";
  world_verify(w);
  world_close(w);
  soft_end();
}

/* ---- documents built at run time: sizes, depth, long names ------------------ */

/* A segment named `name` whose rule is `rule` (flow style). */
static void add_segment(sbuf *b, const char *name, const char *rule) {
  sb_printf(b, "  - name: %s\n    rule: %s\n", name, rule);
}

/* fmt with its one "%s" replaced by s, into out[cap]. */
static void subst(char *out, size_t cap, const char *fmt, const char *s) {
  const char *at = strstr(fmt, "%s");
  assert_non_null(at);
  size_t a = (size_t)(at - fmt), n = strlen(s), z = strlen(at + 2);
  assert_true(a + n + z < cap);
  memcpy(out, fmt, a);
  memcpy(out + a, s, n);
  memcpy(out + a + n, at + 2, z + 1);
}

static void test_segment_badinput_long_names(void **state) {
  world *w = *state;
  /* 256-byte names and values, at "@": the marker stays in the template */
  static const struct {
    const char *fmt; /* %s is the long text */
    const char *needle;
  } tmpl[] = {
      {"segments:\n  - name: @%s\n    rule: {attr: x, exists: true}\n",
       "segment name"},
      {"segments:\n  - name: a\n    rule: {attr: @%s, exists: true}\n",
       "attribute name"},
      {"segments:\n  - name: a\n    rule: {cluster: @%s}\n", "cluster name"},
      {"experiments:\n  - name: @%s\n    seed: 1\n    variants: [{name: a}]\n",
       "experiment name"},
      {"experiments:\n  - name: x\n    seed: 1\n    variants: [{name: @%s}]\n",
       "variant name"},
  };
  static const char *const longs[] = {id256, id256u};
  char *text = malloc(1 << 20);
  assert_non_null(text);
  for (size_t t = 0; t < sizeof tmpl / sizeof *tmpl; t++)
    for (size_t l = 0; l < 2; l++) {
      subst(text, 1 << 20, tmpl[t].fmt, longs[l]);
      g_case = tmpl[t].needle;
      refused_marked(w, text, "255");
      /* 255 bytes are fine */
      subst(text, 1 << 20, tmpl[t].fmt, id255);
      char *at = strchr(text, '@');
      memmove(at, at + 1, strlen(at));
      OK(pz_segment_load(w->e, text, strlen(text)));
      OK(pz_segment_load(w->e, world_rules, sizeof world_rules - 1));
    }
  g_case = "";
  world_verify(w);
  /* a feature over PZ_FEATURE_MAX bytes */
  char *feat = malloc(PZ_FEATURE_MAX + 2);
  assert_non_null(feat);
  memset(feat, 'g', PZ_FEATURE_MAX + 1);
  memcpy(feat, "genre=", 6);
  feat[PZ_FEATURE_MAX + 1] = '\0';
  snprintf(text, 1 << 20, "segments:\n  - name: a\n    rule: {interest: @%s, "
                          "gt: 0}\n",
           feat);
  g_case = "1025-byte feature";
  refused_marked(w, text, "feature");
  snprintf(text, 1 << 20, "segments:\n  - name: a\n    rule: {top_interests: "
                          "2, include: @%s}\n",
           feat);
  refused_marked(w, text, "feature");
  /* a string value over 4096 bytes */
  char *val = malloc(4098);
  assert_non_null(val);
  fill(val, 4097, 'v');
  snprintf(text, 1 << 20, "segments:\n  - name: a\n    rule: {attr: x, eq: "
                          "@%s}\n",
           val);
  g_case = "4097-byte value";
  refused_marked(w, text, "4096");
  snprintf(text, 1 << 20, "segments:\n  - name: a\n    rule: {attr: x, "
                          "contains: [a, @%s]}\n",
           val);
  refused_marked(w, text, "4096");
  /* a regex over 1024 bytes */
  fill(val, 1025, 'r');
  snprintf(text, 1 << 20, "segments:\n  - name: a\n    rule: {attr: x, regex: "
                          "@%s}\n",
           val);
  g_case = "1025-byte regex";
  refused_marked(w, text, "regex");
  g_case = "";
  free(val);
  free(feat);
  free(text);
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_segment_badinput_sizes(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  sbuf b = {0};
  /* 4096 segments load; 4097 do not */
  sb_printf(&b, "segments:\n");
  for (int i = 0; i < 4096; i++) {
    char name[16];
    snprintf(name, sizeof name, "s%d", i);
    add_segment(&b, name,
                i % 2 ? "{attr: age, gte: 18}" : "{not: {segment: s1}}");
  }
  g_case = "4096 segments";
  OK(pz_segment_load(e, b.p, b.len));
  int in = -1;
  OK(pz_segment_test(&in, e, "s4095", "u20"));
  CHECK(in == 1, "u20 not in s4095");
  OK(pz_segment_test(&in, e, "s4094", "u20"));
  CHECK(in == 0, "u20 in s4094");
  pz_list *l = NULL;
  OK(pz_segment_counts(&l, e));
  CHECK(pz_list_count(l) == 4096, "%zu counts", pz_list_count(l));
  pz_list_free(l);
  l = NULL;
  OK(pz_segment_of(&l, e, "u20"));
  CHECK(pz_list_count(l) == 2048, "u20 in %zu segments", pz_list_count(l));
  pz_list_free(l);
  char *fp4096 = fingerprint(e);
  add_segment(&b, "s4096", "{attr: age, exists: true}");
  g_case = "4097 segments";
  FAILS(PZ_ECONFIG, "4096", NULL, pz_segment_load(e, b.p, b.len));
  check_position(pz_errmsg(), "segments", 2, 3, NULL);
  {
    pz_engine *o = SENTINEL(pz_engine);
    FAILS(PZ_ECONFIG, "4096", NULL, pz_engine_open_string(&o, b.p, b.len));
    CHECK(o == NULL, "*out not NULL");
  }
  char *fp_after = fingerprint(e);
  CHECK(strcmp(fp4096, fp_after) == 0, "4097 segments changed the answers");
  free(fp_after);
  free(fp4096);

  /* 1024 experiments load; 1025 do not */
  b.len = 0;
  sb_printf(&b, "experiments:\n");
  for (int i = 0; i < 1025; i++) {
    sb_printf(&b, "  - {name: x%d, seed: %d, variants: [{name: a}, {name: b}]}\n",
              i, i);
    if (i == 1023) {
      g_case = "1024 experiments";
      OK(pz_segment_load(e, b.p, b.len));
    }
  }
  g_case = "1025 experiments";
  FAILS(PZ_ECONFIG, "1024", NULL, pz_segment_load(e, b.p, b.len));
  char v[8];
  size_t len;
  OK(pz_experiment_assign(v, sizeof v, &len, e, "x1023", "u20"));

  /* 256 variants load; 257 do not */
  b.len = 0;
  sb_printf(&b, "experiments:\n  - name: many\n    seed: 3\n    variants:\n");
  for (int i = 0; i < 257; i++) {
    sb_printf(&b, "      - {name: v%d, weight: %d}\n", i, 1 + i % 3);
    if (i == 255) {
      g_case = "256 variants";
      OK(pz_segment_load(e, b.p, b.len));
    }
  }
  g_case = "257 variants";
  FAILS(PZ_ECONFIG, "256", NULL, pz_segment_load(e, b.p, b.len));
  check_position(pz_errmsg(), "segments", 5, 7, "variants");

  /* 10000 values in a list load; 10001 do not */
  b.len = 0;
  sb_printf(&b, "segments:\n  - name: big\n    rule:\n      attr: name\n"
                "      in:\n");
  for (int i = 0; i < 10001; i++) {
    sb_printf(&b, "        - User %d\n", i);
    if (i == 9999) {
      g_case = "10000 values";
      OK(pz_segment_load(e, b.p, b.len));
      OK(pz_segment_test(&in, e, "big", "u29"));
      CHECK(in == 1, "u29 (\"User 29\") not in the list");
    }
  }
  g_case = "10001 values";
  FAILS(PZ_ECONFIG, "10000", NULL, pz_segment_load(e, b.p, b.len));
  check_position(pz_errmsg(), "segments", 6, 9, "in");
  OK(pz_segment_test(&in, e, "big", "u29"));
  CHECK(in == 1, "u29 left the list after a refused load");
  g_case = "";
  free(b.p);
  world_close(w);
  soft_end();
}

/* Nesting: 32 levels below the rule are accepted, 33 are not. */
static void test_segment_badinput_depth(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  static const char head[] = "segments:\n  - name: deep\n    rule: ";
  for (int levels = 30; levels <= 40; levels++) {
    sbuf b = {0};
    sb_printf(&b, "%s", head);
    unsigned col33 = 0;
    for (int d = 0; d < levels; d++) {
      if (d == 33) col33 = (unsigned)(b.len - (sizeof "segments:\n  - name: "
                                                      "deep\n" - 1)) + 1;
      sb_printf(&b, "{not: ");
    }
    if (levels == 33) col33 = (unsigned)(b.len - (sizeof "segments:\n  - name: "
                                                         "deep\n" - 1)) + 1;
    sb_printf(&b, "{attr: age, exists: true}");
    for (int d = 0; d < levels; d++) sb_printf(&b, "}");
    sb_printf(&b, "\n");
    char label[32];
    snprintf(label, sizeof label, "%d nots", levels);
    g_case = label;
    if (levels <= 32) {
      OK(pz_segment_load(e, b.p, b.len));
      int in = -1;
      OK(pz_segment_test(&in, e, "deep", "u20"));
      CHECK(in == (levels % 2 == 0), "u20 in deep: %d", in);
    } else {
      refused_(w, b.p, b.len, 3, col33, "deeper");
    }
    free(b.p);
  }
  /* deeper than the YAML reader takes at all */
  sbuf b = {0};
  sb_printf(&b, "segments:\n  - name: deep\n    rule: ");
  for (int d = 0; d < 100; d++) sb_printf(&b, "{all: [");
  sb_printf(&b, "{attr: age, exists: true}");
  for (int d = 0; d < 100; d++) sb_printf(&b, "]}");
  sb_printf(&b, "\n");
  g_case = "100 levels of all";
  refused_(w, b.p, b.len, 0, 0, "deep");
  free(b.p);
  g_case = "";
  world_close(w);
  soft_end();
}

/* Bytes that are not UTF-8, and NUL bytes, anywhere in a document. */
static void test_segment_badinput_document_bytes(void **state) {
  world *w = *state;
  static const struct {
    const char *label;
    const char *text;
    size_t len; /* 0: strlen */
  } cases[] = {
      {"0xC0 0x80 in a name", "segments:\n  - name: \xC0\x80\n    rule: {attr: "
                              "x, exists: true}\n",
       0},
      {"0xFF in a quoted name", "segments:\n  - name: \"a\xFF\"\n    rule: "
                                "{attr: x, exists: true}\n",
       0},
      {"surrogate in a value", "segments:\n  - name: a\n    rule: {attr: x, "
                               "eq: \xED\xA0\x80}\n",
       0},
      {"truncated sequence in a regex", "segments:\n  - name: a\n    rule: "
                                        "{attr: x, regex: 'a\xE2\x82'}\n",
       0},
      {"invalid byte in a comment", "segments: []\n# \x80\x80\n", 0},
      {"invalid byte in a key", "segments:\n  - n\xFE" "ame: a\n", 0},
      {"0xFF at the very end", "segments: []\n\xFF", 0},
      {"NUL in a name", "segments:\n  - name: \"a\\0b\"\n    rule: {attr: x, "
                        "exists: true}\n",
       0},
      {"raw NUL byte", "segments:\n  - name: a\0b\n    rule: {}\n", 37},
      {"binary", "\x7f\x01\x02\x80\xfe\x00\x10\x1b[0m", 12},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    g_case = cases[i].label;
    size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
    refused_(w, cases[i].text, len, 0, 0, NULL);
    world_verify(w);
  }
  /* escapes give valid UTF-8, which is fine */
  static const char ok[] = "segments:\n  - name: \"caf\\u00e9\"\n    rule: "
                           "{attr: name, eq: \"Z\\u00fcrich\"}\n";
  OK(pz_segment_load(w->e, ok, sizeof ok - 1));
  int in = -1;
  OK(pz_segment_test(&in, w->e, "caf\xC3\xA9", "u00"));
  CHECK(in == 0, "u00 named Zürich");
  g_case = "";
  world_close(w);
  soft_end();
}

/* ---- known library bugs ------------------------------------------------------- */

/* Regression test (fixed before 0.2 shipped): libyaml reports a reader error (bytes that are not UTF-8)
 * with problem_offset, not problem_mark, and lib/core/yaml.c prints the
 * zero problem_mark: every such error is blamed on "1:1", wherever the
 * byte is. */
static void test_segment_badinput_utf8_error_position(void **state) {
  (void)state;
  soft_begin();
  static const char text[] = "segments:\n  - name: a\n    rule: {attr: x, "
                             "eq: \xC0\x80}\n";
  pz_engine *e = NULL;
  FAILS(PZ_ECONFIG, "UTF-8", NULL, pz_engine_open_string(&e, text,
                                                          sizeof text - 1));
  const char *m = pz_errmsg();
  unsigned line = 0, col = 0;
  CHECK(sscanf(m, "<string>:%u:%u:", &line, &col) == 2 && line == 3,
        "invalid byte on line 3 blamed on %u:%u (%s)", line, col, m);
  pz_engine_free(e);
  soft_end();
}

/* An empty segment name (`name: ""` or `name:`) is an empty name, not a
 * duplicate. At 7a05656 compile_segment() looked the name up before
 * checking it, and the segment being compiled (already counted, name NULL,
 * nlen 0) matched a 0-byte name: 'duplicate segment ""'. */
static void test_segment_badinput_empty_segment_name(void **state) {
  (void)state;
  soft_begin();
  static const char *const texts[] = {
      "segments:\n  - name: \"\"\n    rule: {attr: x, exists: true}\n",
      "segments:\n  - name:\n    rule: {attr: x, exists: true}\n",
      "segments:\n  - name: ok\n    rule: {attr: x, exists: true}\n  - name: "
      "''\n    rule: {attr: x, exists: true}\n"};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    g_case = texts[i];
    pz_engine *e = NULL;
    FAILS(PZ_ECONFIG, "segment name", NULL,
          pz_engine_open_string(&e, texts[i], strlen(texts[i])));
    CHECK(!strstr(pz_errmsg(), "duplicate"), "blamed as a duplicate: %s",
          pz_errmsg());
    pz_engine_free(e);
  }
  soft_end();
}

/* Regression test (fixed before 0.2 shipped): when a document fails in any segment but the last (or any
 * experiment but the last), pz__rules_free() gives back the `seg` (`exp`)
 * array with n_seg (n_exp) elements, the number compiled so far, while it
 * was allocated for all of them: the allocator is passed a wrong osize,
 * which breaks the pz_alloc_fn contract ("the library always passes the
 * exact osize"). */
static void test_segment_badinput_refused_rules_osize(void **state) {
  (void)state;
  soft_begin();
  static const char *const texts[] = {
      "segments:\n  - name: a\n    rule: {attr: x, eq: ~}\n  - name: b\n    "
      "rule: {attr: x, exists: true}\n",
      "segments:\n  - {name: a, rule: {attr: x, exists: true}}\n  - {name: b, "
      "rule: {count: nope, gte: 1}}\n  - {name: c, rule: {attr: x, exists: "
      "true}}\n",
      "experiments:\n  - {name: x, seed: ~, variants: [{name: a}]}\n  - {name: "
      "y, seed: 1, variants: [{name: a}]}\n"};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    g_case = texts[i];
    test_alloc ta;
    test_alloc_reset(&ta);
    pz_engine_options o;
    pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
    o.alloc = test_alloc_fn;
    o.alloc_ud = &ta;
    o.config_text = texts[i];
    o.config_len = strlen(texts[i]);
    pz_engine *e = NULL;
    FAILS(PZ_ECONFIG, NULL, NULL, pz_engine_open_with(&e, &o));
    CHECK(ta.live_blocks == 0 && ta.bad_osize == 0,
          "pz_engine_open_with: live_blocks %ld, wrong osizes %ld",
          ta.live_blocks, ta.bad_osize);
    test_alloc_reset(&ta);
    OK(test_open(&e, &ta, NULL, NULL));
    FAILS(PZ_ECONFIG, NULL, NULL,
          pz_segment_load(e, texts[i], strlen(texts[i])));
    pz_engine_free(e);
    CHECK(ta.live_blocks == 0 && ta.bad_osize == 0,
          "pz_segment_load: live_blocks %ld, wrong osizes %ld",
          ta.live_blocks, ta.bad_osize);
  }
  soft_end();
}

/* Loads a document in a child process and evaluates segment s0 for one
 * user and every segment's count, within `seconds`. Refusing the document
 * is a fine answer too. Checks that the child neither crashed nor ran out
 * of time. */
static void child_evaluates(const char *what, const char *text, size_t len,
                            unsigned seconds) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGSEGV, SIG_DFL); /* not cmocka's handler: the child must die */
    signal(SIGBUS, SIG_DFL);
    alarm(seconds);
    pz_engine *e = NULL;
    if (pz_engine_open(&e, NULL) != PZ_OK) _exit(3);
    int rc = pz_segment_load(e, text, len);
    if (rc == PZ_ECONFIG) _exit(0);
    if (rc != PZ_OK) _exit(4);
    int in = -1;
    rc = pz_segment_test(&in, e, "s0", "nobody");
    pz_list *l = NULL;
    if (rc == PZ_OK) rc = pz_segment_counts(&l, e);
    pz_list_free(l);
    pz_engine_free(e);
    _exit(rc == PZ_OK ? 0 : 5);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  bool timeout = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: the child %s %d",
        what,
        timeout ? "took more than this many seconds:"
        : WIFSIGNALED(status) ? "died of signal"
                              : "exited with",
        timeout ? (int)seconds
        : WIFSIGNALED(status) ? WTERMSIG(status)
                              : WEXITSTATUS(status));
}

/* Regression test (fixed before 0.2 shipped): a rule may nest 32 levels and there may be 4096 segments, but
 * nothing bounds the depth of a chain of `segment:` references: evaluation
 * recurses through all of them (eval.c), so a valid document of 3000
 * segments, each 32 `not`s deep around a reference to the next, overflows
 * an 8 MiB stack and crashes the host on the first pz_segment_test(). */
static void test_segment_badinput_reference_chain_depth(
    void **state) {
  (void)state;
  soft_begin();
  const int nseg = 4096, depth = 32;
  sbuf b = {0};
  sb_printf(&b, "segments:\n");
  for (int i = 0; i < nseg; i++) {
    sb_printf(&b, "  - name: s%d\n    rule: ", i);
    for (int d = 0; d < depth; d++) sb_put(&b, "{not: ", 6);
    if (i + 1 < nseg) sb_printf(&b, "{segment: s%d}", i + 1);
    else sb_printf(&b, "{attr: age, exists: true}");
    for (int d = 0; d < depth; d++) sb_put(&b, "}", 1);
    sb_put(&b, "\n", 1);
  }
  child_evaluates("a chain of 4096 segments x 32 levels", b.p, b.len, 60);
  free(b.p);
  soft_end();
}

/* Regression test (fixed before 0.2 shipped): a segment evaluates a referenced segment once per reference,
 * with nothing remembered, so references that fan out cost exponential
 * time: with s_i = {any: [{segment: s_i+1}, {segment: s_i+1}]} a valid
 * document of 64 lines makes every membership call take 2^63 steps (26
 * such segments already take 0.4 s; each one more doubles it). */
static void test_segment_badinput_reference_fanout_time(
    void **state) {
  (void)state;
  soft_begin();
  sbuf b = {0};
  sb_printf(&b, "segments:\n");
  for (int i = 0; i < 63; i++)
    sb_printf(&b, "  - {name: s%d, rule: {any: [{segment: s%d}, {segment: "
                  "s%d}]}}\n",
              i, i + 1, i + 1);
  sb_printf(&b, "  - {name: s63, rule: {attr: age, exists: true}}\n");
  child_evaluates("64 segments, each referring twice to the next", b.p, b.len,
                  5);
  free(b.p);
  soft_end();
}

int main(void) {
  init_inputs();
#define W(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
#define U(f)                                                                 \
  cmocka_unit_test_setup_teardown(f, world_setup_untrained, world_teardown)
  const struct CMUnitTest tests[] = {
      W(test_segment_badinput_list_accessors),
      W(test_segment_badinput_load_args),
      W(test_segment_badinput_test_args),
      W(test_segment_badinput_of_members_counts),
      W(test_segment_badinput_experiment_assign),
      cmocka_unit_test(test_segment_badinput_experiment_bucket),
      cmocka_unit_test(test_segment_badinput_cluster_options),
      W(test_segment_badinput_cluster_train),
      U(test_segment_badinput_cluster_untrained),
      W(test_segment_badinput_cluster_lookups),
      W(test_segment_badinput_cluster_describe),
      W(test_segment_badinput_cluster_names),
      W(test_segment_badinput_documents),
      cmocka_unit_test(test_segment_badinput_cluster_config),
      W(test_segment_badinput_refused_load_keeps_rules),
      W(test_segment_badinput_positions),
      W(test_segment_badinput_long_names),
      W(test_segment_badinput_sizes),
      W(test_segment_badinput_depth),
      W(test_segment_badinput_document_bytes),
      cmocka_unit_test(test_segment_badinput_utf8_error_position),
      cmocka_unit_test(test_segment_badinput_empty_segment_name),
      cmocka_unit_test(test_segment_badinput_refused_rules_osize),
      cmocka_unit_test(test_segment_badinput_reference_chain_depth),
      cmocka_unit_test(test_segment_badinput_reference_fanout_time),
  };
#undef W
#undef U
  return cmocka_run_group_tests_name("segment_badinput", tests, NULL, NULL);
}
