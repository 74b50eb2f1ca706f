/* Bad input through the public API (DESIGN.md section 4): NULL pointers,
 * empty, overlong and non-UTF-8 ids and features, NaN and infinite numbers,
 * out-of-range k, unknown names, wrong option versions, small buffers and
 * broken configuration. Every rejected call must return its documented code
 * with a message, set *out to NULL where the header says so, and leave the
 * engine usable with its data intact and nothing leaked.
 *
 * Checks inside a test are "soft": every mismatch is printed with its line
 * and case, and the test fails at its end with the number of mismatches, so
 * one run lists every broken case instead of stopping at the first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

#include "soft.h"

/* ---- inputs ------------------------------------------------------------------ */

static char id255[PZ_ID_MAX + 1];      /* 255 ASCII bytes: accepted */
static char id255u[PZ_ID_MAX + 1];     /* 253 ASCII + "é": 255 bytes, accepted */
static char id256[PZ_ID_MAX + 2];      /* 256 bytes: rejected */
static char id256u[PZ_ID_MAX + 2];     /* 254 ASCII + "é": 256 bytes */
static char id_cut[PZ_ID_MAX + 1];     /* 254 ASCII + 0xC3: cut sequence */
static char id_huge[1 << 16];          /* 64 KiB */
static char feat1024[PZ_FEATURE_MAX + 1];
static char feat1025[PZ_FEATURE_MAX + 2];
static char str4096[4097];
static char str4097[4098];

static void fill(char *buf, size_t len, char c) {
  memset(buf, c, len);
  buf[len] = '\0';
}

static void init_inputs(void) {
  fill(id255, 255, 'a');
  fill(id255u, 253, 'b');
  memcpy(id255u + 253, "\xC3\xA9", 3);
  fill(id256, 256, 'c');
  fill(id256u, 254, 'd');
  memcpy(id256u + 254, "\xC3\xA9", 3);
  fill(id_cut, 254, 'e');
  id_cut[254] = '\xC3';
  fill(id_huge, sizeof id_huge - 1, 'f');
  fill(feat1024, 1024, 'g');
  memcpy(feat1024, "genre=", 6);
  fill(feat1025, 1025, 'h');
  memcpy(feat1025, "genre=", 6);
  fill(str4096, 4096, 'i');
  fill(str4097, 4097, 'j');
}

typedef struct bad_str {
  const char *s;     /* the input */
  const char *why;   /* what the message should say about it */
  const char *label; /* printed with a failed check */
} bad_str;

#define BAD_UTF8_CASES                                                       \
  {"\x80", "UTF-8", "lone 0x80"},                                           \
  {"\xC0\x80", "UTF-8", "overlong C0 80"},                                  \
  {"\xED\xA0\x80", "UTF-8", "surrogate ED A0 80"},                          \
  {"\xF4\x90\x80\x80", "UTF-8", "F4 90 80 80 above U+10FFFF"},              \
  {"\xE2\x82", "UTF-8", "truncated E2 82"},                                 \
  {"\xFF", "UTF-8", "0xFF"},                                                \
  {"ok" "\xE2\x82", "UTF-8", "truncated at the end"},                       \
  {"a" "\x80" "b", "UTF-8", "0x80 in the middle"},                          \
  {"\xE0\x80\xAF", "UTF-8", "overlong E0 80 AF"},                           \
  {"\xF8\x88\x80\x80\x80", "UTF-8", "5-byte form"}

static const bad_str bad_ids[] = {
    {NULL, "NULL", "NULL id"},
    {"", "empty", "empty id"},
    {id256, "longer", "256-byte id"},
    {id256u, "longer", "256-byte id ending in a 2-byte char"},
    {id_huge, "longer", "64 KiB id"},
    {id_cut, "UTF-8", "255-byte id cut inside a char"},
    BAD_UTF8_CASES};
#define N_BAD_IDS (sizeof bad_ids / sizeof *bad_ids)

static const bad_str bad_features[] = {
    {NULL, "NULL", "NULL feature"},
    {"", "empty", "empty feature"},
    {feat1025, "longer", "1025-byte feature"},
    {id_huge, "longer", "64 KiB feature"},
    BAD_UTF8_CASES};
#define N_BAD_FEATURES (sizeof bad_features / sizeof *bad_features)

typedef struct bad_num {
  double v;
  const char *why;
  const char *label;
} bad_num;

static const bad_num nonfinite[] = {
    {NAN, "NaN", "NaN"}, {INFINITY, "infinite", "+inf"},
    {-INFINITY, "infinite", "-inf"}};
#define N_NONFINITE (sizeof nonfinite / sizeof *nonfinite)

/* ---- a populated engine and a fingerprint of everything it holds --------- */

#define T0 INT64_C(1700000000000)

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  assert_true(n >= 0);
  if (b->len + (size_t)n + 1 > b->cap) {
    size_t ncap = (b->len + (size_t)n + 1) * 2;
    char *p = realloc(b->p, ncap);
    assert_non_null(p);
    b->p = p;
    b->cap = ncap;
  }
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

static void fp_export(sbuf *b, pz_engine *e, const char *user) {
  size_t len = 0;
  int rc = pz_profile_export(NULL, 0, &len, e, user);
  sb_printf(b, "export %s: rc %d len %zu\n", user, rc, len);
  if (rc != PZ_EBUFS) return;
  char *buf = malloc(len + 1);
  assert_non_null(buf);
  rc = pz_profile_export(buf, len + 1, &len, e, user);
  sb_printf(b, "%d %s\n", rc, rc == PZ_OK ? buf : "");
  free(buf);
}

static void fp_recs(sbuf *b, pz_engine *e, const char *user, size_t k,
                    int include_seen) {
  pz_recommend_options o;
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  o.include_seen = include_seen;
  pz_recs *r = NULL;
  int rc = pz_recommend(&r, e, user, k, &o);
  sb_printf(b, "recs %s k=%zu seen=%d: rc %d n %zu\n", user, k, include_seen,
            rc, pz_recs_count(r));
  for (size_t i = 0; i < pz_recs_count(r); i++)
    sb_printf(b, "  %s %.17g %d %.17g %.17g %s\n", pz_recs_item(r, i),
              pz_recs_score(r, i), pz_recs_reason_code(r, i),
              pz_recs_contribution(r, i, PZ_SIGNAL_CONTENT),
              pz_recs_contribution(r, i, PZ_SIGNAL_POPULARITY),
              pz_recs_reason(r, i));
  pz_recs_free(r);
}

static void fp_interests(sbuf *b, pz_engine *e, const char *user) {
  pz_interests *l = NULL;
  int rc = pz_profile_interests(&l, e, user, 50, 0);
  sb_printf(b, "interests %s: rc %d n %zu\n", user, rc, pz_interests_count(l));
  for (size_t i = 0; i < pz_interests_count(l); i++)
    sb_printf(b, "  %s %.17g\n", pz_interests_feature(l, i),
              pz_interests_score(l, i));
  pz_interests_free(l);
}

/* Everything a rejected call must not change, as text. */
static char *fingerprint(pz_engine *e) {
  sbuf b = {0};
  static const char *const users[] = {"alice", "carol", "dora", "bob", "zed"};
  for (size_t i = 0; i < sizeof users / sizeof *users; i++) {
    fp_export(&b, e, users[i]);
    fp_interests(&b, e, users[i]);
    size_t n = 0;
    int rc = pz_profile_event_count(&n, e, users[i]);
    sb_printf(&b, "events %s: rc %d n %zu\n", users[i], rc, n);
  }
  fp_recs(&b, e, "alice", 10, 0);
  fp_recs(&b, e, "alice", 30, 1);
  fp_recs(&b, e, "carol", 5, 0);
  fp_recs(&b, e, "nobody", 30, 0);
  size_t n = 0;
  int rc = pz_item_count(&n, e);
  sb_printf(&b, "items: rc %d n %zu\n", rc, n);
  rc = pz_profile_count(&n, e);
  sb_printf(&b, "profiles: rc %d n %zu\n", rc, n);
  for (int i = 0; i < 22; i++) {
    char id[32];
    snprintf(id, sizeof id, "item%d", i);
    double s = -1;
    uint64_t ev = 0;
    rc = pz_item_popularity(&s, &ev, e, id, 0);
    sb_printf(&b, "pop %s: rc %d %.17g %llu\n", id, rc, s,
              (unsigned long long)ev);
  }
  static const char *const ghosts[] = {"ghost", "newitem"};
  for (size_t i = 0; i < 2; i++)
    sb_printf(&b, "pop %s: rc %d\n", ghosts[i],
              pz_item_popularity(NULL, NULL, e, ghosts[i], 0));
  return b.p;
}

typedef struct world {
  test_alloc ta;
  test_clock tc;
  pz_engine *e;
  char *fp; /* fingerprint taken after setup */
} world;

static int world_setup(void **state) {
  soft_begin();
  world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  test_alloc_reset(&w->ta);
  w->tc.now = T0;
  assert_int_equal(test_open(&w->e, &w->ta, &w->tc, NULL), PZ_OK);
  pz_engine *e = w->e;
  test_put_items(e, 20);
  assert_int_equal(pz_profile_set_string(e, "alice", "name", "Alice"), PZ_OK);
  assert_int_equal(pz_profile_set_number(e, "alice", "age", 42.5), PZ_OK);
  assert_int_equal(pz_profile_set_bool(e, "alice", "vip", 1), PZ_OK);
  assert_int_equal(pz_profile_set_timestamp(e, "alice", "joined", T0 - 1000),
                   PZ_OK);
  assert_int_equal(pz_profile_set_consent(e, "alice", "analytics", 0), PZ_OK);
  assert_int_equal(pz_track(e, "alice", "item0", "view", 1, T0 - 50000), PZ_OK);
  assert_int_equal(pz_track(e, "alice", "item3", "purchase", 2, T0 - 40000),
                   PZ_OK);
  assert_int_equal(pz_track(e, "alice", "item5", "rating", 4.5, 0), PZ_OK);
  assert_int_equal(pz_track(e, "alice", "item10", "dislike", 1, 0), PZ_OK);
  assert_int_equal(pz_track(e, "carol", "item1", "click", 1, 0), PZ_OK);
  assert_int_equal(pz_track(e, "carol", "item6", "view", 1, T0 - 1), PZ_OK);
  assert_int_equal(pz_profile_set_consent(e, "dora", "personalization", 0),
                   PZ_OK);
  assert_int_equal(pz_profile_set_string(e, "dora", "city", "Oslo"), PZ_OK);
  w->fp = fingerprint(e);
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

/* The engine still answers and holds exactly what it held after setup. */
static void world_verify_(world *w, int line) {
  char *now = fingerprint(w->e);
  if (strcmp(now, w->fp) != 0) {
    size_t i = 0;
    while (now[i] && now[i] == w->fp[i]) i++;
    size_t from = i > 80 ? i - 80 : 0;
    g_soft++;
    print_error("%s:%d: engine state changed by rejected calls; at byte %zu\n"
                "  before: ...%.200s\n  after:  ...%.200s\n",
                __FILE__, line, i, w->fp + from, now + from);
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

/* An engine of a test's own, with its own allocator. */
typedef struct own {
  test_alloc ta;
  test_clock tc;
  pz_engine *e;
} own;

static void own_open_(own *o, const char *config, int line) {
  test_alloc_reset(&o->ta);
  o->tc.now = T0;
  o->e = NULL;
  int rc = test_open(&o->e, &o->ta, &o->tc, config);
  if (rc != PZ_OK) {
    print_error("%s:%d: test_open: %d %s\n", __FILE__, line, rc, pz_errmsg());
    fail();
  }
}
#define own_open(o, config) own_open_((o), (config), __LINE__)

static void own_close_(own *o, int line) {
  pz_engine_free(o->e);
  o->e = NULL;
  if (o->ta.live_blocks != 0 || o->ta.bad_osize != 0) {
    g_soft++;
    print_error("%s:%d: after pz_engine_free: live_blocks %ld (%zu bytes), "
                "bad_osize %ld\n",
                __FILE__, line, o->ta.live_blocks, o->ta.live_bytes,
                o->ta.bad_osize);
  }
}
#define own_close(o) own_close_((o), __LINE__)

/* ---- status text, error messages, version ---------------------------------- */

static void *errmsg_in_thread(void *arg) {
  const char **out = arg;
  *out = pz_errmsg(); /* thread-local: this thread has seen no failure */
  out[1] = strcmp(*out, "no error") == 0 ? "yes" : "no";
  return NULL;
}

static void test_badinput_strerror_errmsg_version(void **state) {
  (void)state;
  soft_begin();
  static const int unknown[] = {1, 2, -17, -29, -31, 100, -100, INT_MIN,
                                INT_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    const char *s = pz_strerror(unknown[i]);
    CHECK(s != NULL && strcmp(s, "unknown status code") == 0,
          "pz_strerror(%d) = \"%s\"", unknown[i], s ? s : "(null)");
  }
  for (int c = -16; c <= 0; c++) {
    const char *s = pz_strerror(c);
    CHECK(s != NULL && strcmp(s, "unknown status code") != 0,
          "pz_strerror(%d) = \"%s\"", c, s ? s : "(null)");
  }
  /* a failure here is not visible from a fresh thread */
  prime_errmsg();
  const char *seen[2] = {NULL, NULL};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, errmsg_in_thread, seen), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  CHECK(strcmp(seen[1], "yes") == 0,
        "pz_errmsg() in a new thread is not \"no error\"");
  CHECK(strstr(pz_errmsg(), PRIME_MARK) != NULL,
        "this thread's message was lost: %s", pz_errmsg());
  /* no input, but exported: the run-time version matches the header */
  CHECK(pz_version_number() == PZ_VERSION_NUMBER, "pz_version_number %u",
        pz_version_number());
  CHECK(pz_version_string() != NULL &&
            strcmp(pz_version_string(), PZ_VERSION_STRING) == 0,
        "pz_version_string %s", pz_version_string());
  soft_end();
}

/* ---- options and opening ----------------------------------------------------- */

static void test_badinput_options_init(void **state) {
  (void)state;
  soft_begin();
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_engine_options_init(NULL, PZ_ENGINE_OPTIONS_VERSION));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_recommend_options_init(NULL, PZ_RECOMMEND_OPTIONS_VERSION));
  static const unsigned int bad[] = {0, 2, 3, 100, UINT_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    pz_engine_options eo;
    pz_recommend_options ro;
    FAILS(PZ_EVERSION, "version", NULL, pz_engine_options_init(&eo, bad[i]));
    if (bad[i] != 2) /* recommend options have a version 2 since 0.4 */
      FAILS(PZ_EVERSION, "version", NULL,
            pz_recommend_options_init(&ro, bad[i]));
  }
  soft_end();
}

static void test_badinput_engine_open_args(void **state) {
  (void)state;
  soft_begin();
  test_alloc ta;
  test_alloc_reset(&ta);
  pz_engine_options o;

  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_open(NULL, NULL));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_open_string(NULL, "", 0));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_open_with(NULL, NULL));
  pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_open_with(NULL, &o));

  /* yaml NULL with a length */
  pz_engine *e = SENTINEL(pz_engine);
  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_open_string(&e, NULL, 5));
  CHECK(e == NULL, "pz_engine_open_string(&e, NULL, 5) left *out set");
  if (e != SENTINEL(pz_engine)) pz_engine_free(e);

  /* ...and the same through the options */
  pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
  o.alloc = test_alloc_fn;
  o.alloc_ud = &ta;
  o.config_len = 12;
  e = SENTINEL(pz_engine);
  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_open_with(&e, &o));
  CHECK(e == NULL, "open_with(config_text NULL, len 12) left *out set");
  if (e != SENTINEL(pz_engine)) pz_engine_free(e);

  /* an options struct of another version: zeroed (never initialised),
   * newer, or garbage */
  static const unsigned int bad[] = {0, 2, 0xDEADBEEFu, UINT_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
    o.alloc = test_alloc_fn;
    o.alloc_ud = &ta;
    o.version = bad[i];
    e = SENTINEL(pz_engine);
    FAILS(PZ_EVERSION, "version", NULL, pz_engine_open_with(&e, &o));
    CHECK(e == NULL, "open_with(version %u) left *out set", bad[i]);
    if (e != SENTINEL(pz_engine)) pz_engine_free(e);
  }

  /* yaml NULL with length 0 is documented as fine */
  e = NULL;
  OK(pz_engine_open_string(&e, NULL, 0));
  pz_engine_free(e);

  CHECK(ta.live_blocks == 0 && ta.bad_osize == 0,
        "leak after failed opens: live_blocks %ld bad_osize %ld",
        ta.live_blocks, ta.bad_osize);
  soft_end();
}

static void test_badinput_engine_open_missing_file(void **state) {
  (void)state;
  soft_begin();
  static const char *const paths[] = {
      "/nonexistent/dir/personalize.yaml", "/tmp/pz-badinput-no-such-file",
      "", "/"};
  static const char *const labels[] = {"missing dir", "missing file",
                                       "empty path", "a directory"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    g_case = labels[i];
    pz_engine *e = SENTINEL(pz_engine);
    FAILS(PZ_EIO, paths[i][0] ? paths[i] : NULL, NULL,
          pz_engine_open(&e, paths[i]));
    CHECK(e == NULL, "*out not NULL");
    if (e != SENTINEL(pz_engine)) pz_engine_free(e);

    test_alloc ta;
    test_alloc_reset(&ta);
    pz_engine_options o;
    pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
    o.alloc = test_alloc_fn;
    o.alloc_ud = &ta;
    o.config_path = paths[i];
    e = SENTINEL(pz_engine);
    FAILS(PZ_EIO, NULL, NULL, pz_engine_open_with(&e, &o));
    CHECK(e == NULL, "*out not NULL");
    if (e != SENTINEL(pz_engine)) pz_engine_free(e);
    CHECK(ta.live_blocks == 0 && ta.bad_osize == 0,
          "leak: live_blocks %ld bad_osize %ld", ta.live_blocks,
          ta.bad_osize);
  }
  soft_end();
}

/* ---- configuration ------------------------------------------------------------ */

typedef struct bad_config {
  const char *label;
  const char *text;
  size_t len;         /* 0: strlen(text) */
  const char *where;  /* exact "<string>:L:C:" prefix, or NULL: any L:C */
  const char *needle; /* the message names the offending thing */
} bad_config;

static const bad_config bad_configs[] = {
    /* not YAML at all */
    {"{{{", "{{{", 0, NULL, NULL},
    {"unclosed flow list", "a: [1, 2", 0, NULL, NULL},
    {"unclosed quote", "hashing: {bits: \"20}\n", 0, NULL, NULL},
    {"tab-indented mess", "hashing:\n\tbits: 20\n\t  seed:\t\t1\n", 0, NULL,
     NULL},
    {"binary bytes", "\x7f\x01\x02\x80\xfe\x00\x10\x1b[0m", 12, NULL, NULL},
    {"NUL inside", "hashing: {bits: 20}\n\0decay: {}\n", 31, NULL, NULL},
    {"invalid UTF-8 in a comment", "hashing: {bits: 20}\n# \xC0\x80\n", 0,
     NULL, NULL},
    {"two documents", "hashing: {bits: 20}\n---\nhashing: {bits: 21}\n", 0,
     NULL, "document"},
    /* YAML, but not a configuration */
    {"top-level list", "- hashing\n- events\n", 0, "<string>:1:1:",
     "mapping"},
    {"top-level scalar", "hello", 0, "<string>:1:1:", "mapping"},
    {"unknown top-level key", "hashing:\n  bits: 20\nhasing: {}\n", 0,
     "<string>:3:1:", "hasing"},
    {"unknown nested key", "hashing:\n  bitz: 20\n", 0, "<string>:2:3:",
     "bitz"},
    {"unknown key in ranking", "ranking:\n  max_k: 10\n  boost: 2\n", 0,
     "<string>:3:3:", "boost"},
    {"key that is a list", "[a, b]: 1\n", 0, "<string>:1:1:", NULL},
    {"key with a NUL", "\"hashing\\0x\": {bits: 20}\n", 0, "<string>:1:1:",
     "hashing"},
    {"enum word with a NUL", "catalog: {unknown_items: \"refuse\\0x\"}", 0,
     "<string>:1:26:", "unknown_items"},
    {"duration with a NUL", "decay: {half_life: \"30d\\0junk\"}", 0,
     "<string>:1:20:", "half_life"},
    {"consent default key with a NUL",
     "consent:\n  defaults: {\"analytics\\0x\": true}\n", 0, "<string>:2:14:",
     "analytics"},
    {"section of wrong type", "hashing: 20\n", 0, "<string>:1:10:",
     "hashing"},
    {"wrong type: bits: many", "hashing: {bits: many}", 0, "<string>:1:17:",
     "many"},
    {"wrong type: bits is a list", "hashing:\n  bits: [20]\n", 0,
     "<string>:2:9:", "bits"},
    {"wrong type: quoted number", "hashing: {bits: \"20\"}", 0,
     "<string>:1:17:", "bits"},
    {"wrong type: negative seed", "hashing: {seed: -1}", 0, "<string>:1:17:",
     "seed"},
    {"out of range: bits 40", "hashing: {bits: 40}", 0, "<string>:1:17:",
     "40"},
    {"out of range: bits 15", "hashing:\n  bits: 15\n", 0, "<string>:2:9:",
     "15"},
    {"out of range: seed 2^64", "hashing: {seed: 18446744073709551616}", 0,
     "<string>:1:17:", "seed"},
    {"out of range: max_k 0", "ranking: {max_k: 0}", 0, "<string>:1:18:",
     "max_k"},
    {"NaN weight", "ranking: {content_weight: .nan}", 0, "<string>:1:27:",
     "content_weight"},
    {"nan weight", "ranking: {content_weight: nan}", 0, "<string>:1:27:",
     "content_weight"},
    {"inf weight", "ranking: {popularity_weight: inf}", 0, "<string>:1:30:",
     "popularity_weight"},
    {"negative weight", "ranking: {popularity_weight: -1}", 0,
     "<string>:1:30:", "popularity_weight"},
    {"event weight not a number", "events:\n  view: heavy\n", 0,
     "<string>:2:9:", "heavy"},
    {"event weight 1e300", "events:\n  view: 1e300\n", 0, "<string>:2:9:",
     "weight"},
    {"no event types", "events: {}\n", 0, "<string>:1:9:", "events"},
    {"empty event type", "events: {\"\": 1}\n", 0, "<string>:1:10:",
     "event type"},
    {"bad duration", "decay: {half_life: 3 fortnights}", 0, "<string>:1:20:",
     "half_life"},
    {"history_limit 0", "profile: {history_limit: 0}", 0, "<string>:1:26:",
     "history_limit"},
    {"bad enum", "catalog: {unknown_items: sometimes}", 0, "<string>:1:26:",
     "sometimes"},
    {"bad without_consent", "consent:\n  without_consent: maybe\n", 0,
     "<string>:2:20:", "maybe"},
    {"consent default for an unknown purpose",
     "consent:\n  defaults: {marketing: true}\n", 0, "<string>:2:14:",
     "marketing"},
    {"consent default not a bool", "consent:\n  defaults: {analytics: 2}\n",
     0, "<string>:2:25:", "consent default"},
    {"purposes not a list", "consent: {purposes: marketing}", 0,
     "<string>:1:21:", "purposes"},
    {"purpose with a NUL", "consent: {purposes: [\"m\\0x\"]}", 0,
     "<string>:1:22:", "purposes"},
    {"event type with a NUL", "events: {\"vi\\0ew\": 1}", 0,
     "<string>:1:10:", "events"},
    /* YAML features a configuration does not accept */
    {"alias", "hashing: &h {bits: 20}\ncatalog: *h\n", 0, "<string>:2:10:",
     "alias"},
    {"duplicate section", "hashing: {bits: 20}\nhashing: {bits: 21}\n", 0,
     "<string>:2:1:", "hashing"},
    {"duplicate nested key", "hashing:\n  bits: 20\n  bits: 21\n", 0,
     "<string>:3:3:", "bits"},
};
#define N_BAD_CONFIGS (sizeof bad_configs / sizeof *bad_configs)

/* The message starts with "<file>:line:col: " and names what it should. */
static void check_position(const char *msg, const char *file,
                           const char *where, const char *needle) {
  size_t fl = strlen(file);
  unsigned line = 0, col = 0;
  int end = 0;
  int ok = strncmp(msg, file, fl) == 0 &&
           sscanf(msg + fl, ":%u:%u: %n", &line, &col, &end) == 2 && end > 0 &&
           line >= 1 && col >= 1;
  CHECK(ok, "errmsg \"%s\" does not start with \"%s:line:col: \"", msg, file);
  if (where)
    CHECK(strncmp(msg, where, strlen(where)) == 0,
          "errmsg \"%s\" does not start with \"%s\"", msg, where);
  CHECK(mentions(msg, needle), "errmsg \"%s\" does not mention \"%s\"", msg,
        needle ? needle : "");
}

static void test_badinput_config_rejected(void **state) {
  (void)state;
  soft_begin();
  for (size_t i = 0; i < N_BAD_CONFIGS; i++) {
    const bad_config *c = &bad_configs[i];
    size_t len = c->len ? c->len : strlen(c->text);
    g_case = c->label;

    /* plain open, default allocator */
    pz_engine *e = SENTINEL(pz_engine);
    FAILS(PZ_ECONFIG, NULL, NULL, pz_engine_open_string(&e, c->text, len));
    CHECK(e == NULL, "*out not NULL");
    if (e != SENTINEL(pz_engine)) pz_engine_free(e);
    check_position(pz_errmsg(), "<string>", c->where, c->needle);

    /* with the counting allocator: nothing left behind */
    test_alloc ta;
    test_alloc_reset(&ta);
    pz_engine_options o;
    pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
    o.alloc = test_alloc_fn;
    o.alloc_ud = &ta;
    o.config_text = c->text;
    o.config_len = len;
    e = SENTINEL(pz_engine);
    FAILS(PZ_ECONFIG, NULL, NULL, pz_engine_open_with(&e, &o));
    CHECK(e == NULL, "*out not NULL");
    if (e != SENTINEL(pz_engine)) pz_engine_free(e);
    CHECK(ta.live_blocks == 0 && ta.bad_osize == 0,
          "leak: live_blocks %ld bad_osize %ld", ta.live_blocks,
          ta.bad_osize);
  }
  g_case = "nested too deep";
  {
    char deep[200];
    int n = snprintf(deep, sizeof deep, "hashing: ");
    for (int d = 0; d < 70; d++) deep[n++] = '[';
    for (int d = 0; d < 70; d++) deep[n++] = ']';
    deep[n++] = '\n';
    deep[n] = '\0';
    test_alloc ta;
    test_alloc_reset(&ta);
    pz_engine_options o;
    pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
    o.alloc = test_alloc_fn;
    o.alloc_ud = &ta;
    o.config_text = deep;
    o.config_len = (size_t)n;
    pz_engine *e = SENTINEL(pz_engine);
    FAILS(PZ_ECONFIG, "deep", NULL, pz_engine_open_with(&e, &o));
    CHECK(e == NULL, "*out not NULL");
    check_position(pz_errmsg(), "<string>", NULL, NULL);
    CHECK(ta.live_blocks == 0 && ta.bad_osize == 0,
          "leak: live_blocks %ld bad_osize %ld", ta.live_blocks,
          ta.bad_osize);
  }
  g_case = "";

  /* a 256-byte purpose name is refused; 255 bytes are fine */
  char yaml[700];
  snprintf(yaml, sizeof yaml, "consent:\n  purposes: [%s]\n", id256);
  pz_engine *e = SENTINEL(pz_engine);
  FAILS(PZ_ECONFIG, NULL, NULL, pz_engine_open_string(&e, yaml, strlen(yaml)));
  CHECK(e == NULL, "*out not NULL");
  check_position(pz_errmsg(), "<string>", "<string>:2:14:", "purpose");
  snprintf(yaml, sizeof yaml, "consent:\n  purposes: [%s]\n", id255);
  e = NULL;
  OK(pz_engine_open_string(&e, yaml, strlen(yaml)));
  pz_engine_free(e);
  soft_end();
}

static void test_badinput_config_file_positions(void **state) {
  (void)state;
  soft_begin();
  char path[] = "/tmp/pz_badinput_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  static const char text[] = "# personalize.yaml\nhashing:\n  bitz: 20\n";
  assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fd);

  pz_engine *e = SENTINEL(pz_engine);
  FAILS(PZ_ECONFIG, "bitz", NULL, pz_engine_open(&e, path));
  CHECK(e == NULL, "*out not NULL");
  char where[64];
  snprintf(where, sizeof where, "%s:3:3:", path);
  check_position(pz_errmsg(), path, where, "bitz");

  test_alloc ta;
  test_alloc_reset(&ta);
  pz_engine_options o;
  pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
  o.alloc = test_alloc_fn;
  o.alloc_ud = &ta;
  o.config_path = path;
  e = SENTINEL(pz_engine);
  FAILS(PZ_ECONFIG, "bitz", NULL, pz_engine_open_with(&e, &o));
  CHECK(e == NULL, "*out not NULL");
  check_position(pz_errmsg(), path, where, "bitz");
  CHECK(ta.live_blocks == 0 && ta.bad_osize == 0,
        "leak: live_blocks %ld bad_osize %ld", ta.live_blocks, ta.bad_osize);

  /* not YAML, from a file */
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs("ranking:\n  max_k: [1, 2\n", f);
  fclose(f);
  e = SENTINEL(pz_engine);
  FAILS(PZ_ECONFIG, NULL, NULL, pz_engine_open_with(&e, &o));
  CHECK(e == NULL, "*out not NULL");
  check_position(pz_errmsg(), path, NULL, NULL);
  CHECK(ta.live_blocks == 0 && ta.bad_osize == 0,
        "leak: live_blocks %ld bad_osize %ld", ta.live_blocks, ta.bad_osize);
  unlink(path);
  soft_end();
}

/* ---- engine clock, free ------------------------------------------------------ */

static void test_badinput_engine_clock(void **state) {
  world *w = *state;
  test_clock tc = {T0};
  int64_t t = 0;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_set_clock(NULL, test_clock_fn, &tc));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_set_clock(NULL, NULL, NULL));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_now(NULL, w->e));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_now(&t, NULL));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_engine_now(NULL, NULL));
  OK(pz_engine_now(&t, w->e));
  CHECK(t == T0, "pz_engine_now = %lld", (long long)t);
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_badinput_free_null(void **state) {
  (void)state;
  soft_begin();
  pz_engine_free(NULL);
  pz_svec_free(NULL);
  pz_recs_free(NULL);
  pz_interests_free(NULL);
  soft_end();
}

/* ---- feature hashing and sparse vectors ----------------------------------- */

static void test_badinput_feature_hash(void **state) {
  (void)state;
  soft_begin();
  uint32_t ix = 0;
  int sign = 0;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_feature_hash(NULL, &sign, "a=b", 0, 20));
  for (size_t i = 0; i < N_BAD_FEATURES; i++) {
    g_case = bad_features[i].label;
    FAILS(PZ_EINVAL, "feature", bad_features[i].why,
          pz_feature_hash(&ix, &sign, bad_features[i].s, 0, 20));
  }
  g_case = "";
  static const unsigned int bad_bits[] = {0, 1, 15, 29, 32, 64, UINT_MAX};
  for (size_t i = 0; i < sizeof bad_bits / sizeof *bad_bits; i++)
    FAILS(PZ_ERANGE, "bits", NULL,
          pz_feature_hash(&ix, &sign, "genre=jazz", 0, bad_bits[i]));
  /* the limits themselves are accepted */
  OK(pz_feature_hash(&ix, &sign, feat1024, 0, 20));
  OK(pz_feature_hash(&ix, NULL, "genre=jazz", UINT64_MAX, PZ_HASH_BITS_MIN));
  CHECK(ix < (1u << PZ_HASH_BITS_MIN), "index %u out of 16 bits", ix);
  OK(pz_feature_hash(&ix, &sign, "genre=jazz", 0, PZ_HASH_BITS_MAX));
  CHECK(ix < (1u << PZ_HASH_BITS_MAX), "index %u out of 28 bits", ix);
  CHECK(sign == 1 || sign == -1, "sign %d", sign);
  soft_end();
}

/* The entries of a vector, as text. */
static char *svec_dump(const pz_svec *v) {
  sbuf b = {0};
  sb_printf(&b, "nnz %zu:", pz_svec_nnz(v));
  for (size_t i = 0; i < pz_svec_nnz(v); i++) {
    uint32_t ix = 0;
    double val = 0;
    int rc = pz_svec_entry(&ix, &val, v, i);
    sb_printf(&b, " %d:%u=%.9g", rc, ix, val);
  }
  return b.p;
}

#define SVEC_UNCHANGED(v, before)                                            \
  do {                                                                       \
    char *now_ = svec_dump(v);                                               \
    CHECK(strcmp(now_, (before)) == 0, "vector changed: %s -> %s", (before), \
          now_);                                                             \
    free(now_);                                                              \
  } while (0)

static void test_badinput_svec_args(void **state) {
  world *w = *state;
  own other; /* another hash identity */
  own_open(&other, "hashing: {bits: 18, seed: 7}");

  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_new(NULL, w->e));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_new(NULL, NULL));

  pz_svec *v = NULL, *x = NULL;
  OK(pz_svec_new(&v, w->e));
  OK(pz_svec_new(&x, other.e));
  assert_non_null(v);
  assert_non_null(x);
  OK(pz_svec_add_feature(v, "genre=jazz", 1.0));
  OK(pz_svec_add_feature(v, "genre=rock", -2.0));
  OK(pz_svec_add_feature(x, "genre=jazz", 1.0));
  char *before = svec_dump(v);
  char *xbefore = svec_dump(x);

  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_add_feature(NULL, "genre=jazz", 1));
  for (size_t i = 0; i < N_BAD_FEATURES; i++) {
    g_case = bad_features[i].label;
    FAILS(PZ_EINVAL, "feature", bad_features[i].why,
          pz_svec_add_feature(v, bad_features[i].s, 1.0));
  }
  g_case = "";
  SVEC_UNCHANGED(v, before);

  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_add(NULL, v, 1.0));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_add(v, NULL, 1.0));
  FAILS(PZ_EINVAL, "identit", NULL, pz_svec_add(v, x, 1.0));
  FAILS(PZ_EINVAL, "identit", NULL, pz_svec_add(x, v, 1.0));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_scale(NULL, 2.0));

  double d = 12345;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_dot(NULL, v, v));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_dot(&d, NULL, v));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_dot(&d, v, NULL));
  FAILS(PZ_EINVAL, "identit", NULL, pz_svec_dot(&d, v, x));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_norm(NULL, v));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_norm(&d, NULL));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_cosine(NULL, v, v));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_cosine(&d, NULL, v));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_cosine(&d, v, NULL));
  FAILS(PZ_EINVAL, "identit", NULL, pz_svec_cosine(&d, x, v));

  uint32_t ix = 0;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_entry(&ix, &d, NULL, 0));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_entry(NULL, &d, v, 0));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_entry(&ix, NULL, v, 0));
  FAILS(PZ_ERANGE, NULL, NULL, pz_svec_entry(&ix, &d, v, pz_svec_nnz(v)));
  FAILS(PZ_ERANGE, NULL, NULL, pz_svec_entry(&ix, &d, v, SIZE_MAX));
  CHECK(pz_svec_nnz(NULL) == 0, "pz_svec_nnz(NULL) = %zu", pz_svec_nnz(NULL));

  SVEC_UNCHANGED(v, before);
  SVEC_UNCHANGED(x, xbefore);
  /* still usable, and the limit is accepted */
  OK(pz_svec_norm(&d, v));
  CHECK(fabs(d - sqrt(5.0)) < 1e-6, "norm %g", d);
  OK(pz_svec_add_feature(v, feat1024, 0.5));
  CHECK(pz_svec_nnz(v) == 3, "nnz %zu after a 1024-byte feature",
        pz_svec_nnz(v));

  /* a vector without an engine uses the default identity and malloc */
  pz_svec *m = NULL;
  OK(pz_svec_new(&m, NULL));
  FAILS(PZ_EINVAL, "identit", NULL, pz_svec_add(m, x, 1.0));
  pz_svec_free(m);

  free(before);
  free(xbefore);
  pz_svec_free(v);
  pz_svec_free(x);
  own_close(&other);
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_badinput_svec_nonfinite(void **state) {
  world *w = *state;
  pz_svec *v = NULL, *u = NULL;
  OK(pz_svec_new(&v, w->e));
  OK(pz_svec_new(&u, w->e));
  OK(pz_svec_add_feature(v, "genre=jazz", 1.5));
  OK(pz_svec_add_feature(v, "decade=1970s", 0.25));
  OK(pz_svec_add_feature(u, "genre=jazz", 1.0));
  char *before = svec_dump(v);
  for (size_t i = 0; i < N_NONFINITE; i++) {
    g_case = nonfinite[i].label;
    FAILS(PZ_EINVAL, "weight", nonfinite[i].why,
          pz_svec_add_feature(v, "genre=jazz", nonfinite[i].v));
    FAILS(PZ_EINVAL, "weight", nonfinite[i].why,
          pz_svec_add_feature(v, "genre=new", nonfinite[i].v));
    FAILS(PZ_EINVAL, "scale", nonfinite[i].why,
          pz_svec_add(v, u, nonfinite[i].v));
    FAILS(PZ_EINVAL, "scale", nonfinite[i].why,
          pz_svec_add(v, v, nonfinite[i].v));
    FAILS(PZ_EINVAL, "factor", nonfinite[i].why,
          pz_svec_scale(v, nonfinite[i].v));
    SVEC_UNCHANGED(v, before);
  }
  g_case = "";
  free(before);
  pz_svec_free(v);
  pz_svec_free(u);
  world_verify(w);
  world_close(w);
  soft_end();
}

/* Finite numbers too big for the vector's float values must not leave
 * infinite values behind: refused (vector unchanged) or kept finite. */
static void test_badinput_svec_huge_finite(void **state) {
  world *w = *state;
  static const double huge[] = {1e39, 1e300, DBL_MAX, -DBL_MAX};
  for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
    char label[32];
    snprintf(label, sizeof label, "%g", huge[i]);
    g_case = label;
    pz_svec *v = NULL, *u = NULL;
    OK(pz_svec_new(&v, w->e));
    OK(pz_svec_new(&u, w->e));
    OK(pz_svec_add_feature(v, "genre=jazz", 2.0));
    OK(pz_svec_add_feature(u, "genre=rock", 3.0));
    char *before = svec_dump(v);

    prime_errmsg();
    int rc = pz_svec_add_feature(v, "genre=rock", huge[i]);
    CHECK(rc == PZ_ERANGE, "add_feature(%g) returned %d (%s)", huge[i], rc,
          pz_strerror(rc));
    if (rc != PZ_OK) SVEC_UNCHANGED(v, before);

    static const char *const ops[] = {"pz_svec_scale", "pz_svec_add",
                                      "pz_svec_add(v, v)"};
    for (int op = 0; op < 3; op++) {
      pz_svec *t = NULL;
      OK(pz_svec_new(&t, w->e));
      OK(pz_svec_add(t, v, 1.0));
      char *tb = svec_dump(t);
      prime_errmsg();
      rc = op == 0   ? pz_svec_scale(t, huge[i])
           : op == 1 ? pz_svec_add(t, u, huge[i])
                     : pz_svec_add(t, t, huge[i]);
      if (rc != PZ_OK) {
        CHECK(rc == PZ_EINVAL || rc == PZ_ERANGE, "%s returned %d", ops[op],
              rc);
        CHECK(!strstr(pz_errmsg(), PRIME_MARK), "%s: no message", ops[op]);
        SVEC_UNCHANGED(t, tb);
      } else {
        size_t bad = 0;
        double first = 0;
        for (size_t j = 0; j < pz_svec_nnz(t); j++) {
          uint32_t ix;
          double val;
          OK(pz_svec_entry(&ix, &val, t, j));
          if (!isfinite(val) && bad++ == 0) first = val;
        }
        double nrm = 0;
        OK(pz_svec_norm(&nrm, t));
        CHECK(bad == 0 && isfinite(nrm),
              "%s(%g) returned PZ_OK and left %zu non-finite entries (e.g. "
              "%g), norm %g",
              ops[op], huge[i], bad, first, nrm);
      }
      free(tb);
      pz_svec_free(t);
    }
    free(before);
    pz_svec_free(v);
    pz_svec_free(u);
  }
  g_case = "";
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_badinput_svec_top(void **state) {
  world *w = *state;
  pz_svec *v = NULL;
  OK(pz_svec_new(&v, w->e));
  OK(pz_svec_add_feature(v, "genre=jazz", 3.0));
  OK(pz_svec_add_feature(v, "genre=rock", 1.0));
  OK(pz_svec_add_feature(v, "genre=pop", 2.0));
  size_t nnz = pz_svec_nnz(v);
  assert_int_equal(nnz, 3);
  uint32_t ix[8];
  double val[8];
  size_t n = 999;

  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_top(ix, val, 8, &n, NULL, 3));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_top(ix, val, 8, NULL, v, 3));
  FAILS(PZ_EINVAL, "k", NULL, pz_svec_top(ix, val, 8, &n, v, 0));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_top(NULL, val, 8, &n, v, 3));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_top(ix, NULL, 8, &n, v, 3));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_svec_top(NULL, NULL, 8, &n, v, 3));

  /* too small: PZ_EBUFS with the needed count, nothing written */
  for (size_t i = 0; i < 8; i++) {
    ix[i] = 0xA5A5A5A5u;
    val[i] = -7.0;
  }
  n = 999;
  FAILS(PZ_EBUFS, NULL, NULL, pz_svec_top(ix, val, 2, &n, v, 3));
  CHECK(n == 3, "needed count %zu, want 3", n);
  n = 999;
  FAILS(PZ_EBUFS, NULL, NULL, pz_svec_top(ix, val, 2, &n, v, 1000000000));
  CHECK(n == 3, "needed count %zu for huge k, want 3", n);
  n = 999;
  FAILS(PZ_EBUFS, NULL, NULL, pz_svec_top(NULL, NULL, 0, &n, v, 10));
  CHECK(n == 3, "needed count %zu with cap 0, want 3", n);
  for (size_t i = 0; i < 8; i++)
    CHECK(ix[i] == 0xA5A5A5A5u && val[i] == -7.0,
          "EBUFS call wrote element %zu", i);

  /* huge k is fine: min(k, nnz) come back, nothing past them is written */
  static const size_t big[] = {1000000000u, SIZE_MAX};
  for (size_t b = 0; b < 2; b++) {
    n = 999;
    OK(pz_svec_top(ix, val, 8, &n, v, big[b]));
    CHECK(n == 3, "k=%zu gave %zu entries", big[b], n);
    CHECK(val[0] >= val[1] && val[1] >= val[2], "not best first: %g %g %g",
          val[0], val[1], val[2]);
    for (size_t i = 3; i < 8; i++)
      CHECK(ix[i] == 0xA5A5A5A5u && val[i] == -7.0,
            "k=%zu wrote element %zu past n", big[b], i);
  }
  /* an empty vector: nothing needed, NULL arrays are fine */
  pz_svec *z = NULL;
  OK(pz_svec_new(&z, w->e));
  n = 999;
  OK(pz_svec_top(NULL, NULL, 0, &n, z, 5));
  CHECK(n == 0, "empty vector gave %zu", n);
  pz_svec_free(z);
  CHECK(pz_svec_nnz(v) == nnz, "vector changed by svec_top");
  pz_svec_free(v);
  world_verify(w);
  world_close(w);
  soft_end();
}

/* ---- catalogue --------------------------------------------------------------- */

static void test_badinput_item_put(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  const char *f1[] = {"genre=jazz"};
  double w1[] = {1.0};

  FAILS(PZ_EINVAL, "NULL", NULL, pz_item_put(NULL, "newitem", f1, w1, 1));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "item id", bad_ids[i].why,
          pz_item_put(e, bad_ids[i].s, f1, w1, 1));
  }
  g_case = "";
  FAILS(PZ_EINVAL, "features", "NULL", pz_item_put(e, "newitem", NULL, w1, 1));
  FAILS(PZ_EINVAL, "features", "NULL",
        pz_item_put(e, "item0", NULL, NULL, 3));

  /* a bad feature anywhere in the list, for a new and an existing item */
  static const char *const targets[] = {"newitem", "item0"};
  for (size_t t = 0; t < 2; t++) {
    for (size_t i = 0; i < N_BAD_FEATURES; i++) {
      g_case = bad_features[i].label;
      const char *fs[] = {"genre=jazz", "decade=1980s", bad_features[i].s};
      FAILS(PZ_EINVAL, "feature", bad_features[i].why,
            pz_item_put(e, targets[t], fs, NULL, 3));
    }
    g_case = "";
    for (size_t i = 0; i < N_NONFINITE; i++) {
      g_case = nonfinite[i].label;
      const char *fs[] = {"genre=jazz", "decade=1980s"};
      double ws[] = {1.0, nonfinite[i].v};
      FAILS(PZ_EINVAL, "weight", nonfinite[i].why,
            pz_item_put(e, targets[t], fs, ws, 2));
    }
    g_case = "";
    /* more than 4096 features */
    size_t nf = 4097;
    const char **many = malloc(nf * sizeof *many);
    assert_non_null(many);
    for (size_t i = 0; i < nf; i++) many[i] = "genre=jazz";
    FAILS(PZ_ELIMIT, "4096", NULL, pz_item_put(e, targets[t], many, NULL, nf));
    free(many);
  }
  world_verify(w);

  /* the limits are accepted */
  const char *fl[] = {feat1024, "genre=jazz"};
  OK(pz_item_put(e, id255, fl, NULL, 2));
  OK(pz_item_put(e, id255u, NULL, NULL, 0));
  size_t nf = 4096;
  const char **many = malloc(nf * sizeof *many);
  assert_non_null(many);
  for (size_t i = 0; i < nf; i++) many[i] = (i & 1) ? "genre=jazz" : "a=b";
  OK(pz_item_put(e, "many", many, NULL, nf));
  free(many);
  size_t n = 0;
  OK(pz_item_count(&n, e));
  CHECK(n == 23, "item count %zu, want 23", n);
  world_close(w);
  soft_end();
}

/* Huge finite feature weights must not put infinities in the catalogue. */
static void test_badinput_item_put_huge_weight(void **state) {
  world *w = *state;
  static const double huge[] = {1e39, 1e300, DBL_MAX, -DBL_MAX};
  const char *fs[] = {"genre=jazz"};
  for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
    char label[32];
    snprintf(label, sizeof label, "%g", huge[i]);
    g_case = label;
    FAILS(PZ_ERANGE, "weight", NULL, pz_item_put(w->e, "item2", fs, &huge[i], 1));
    FAILS(PZ_ERANGE, "weight", NULL,
          pz_item_put(w->e, "newitem", fs, &huge[i], 1));
  }
  g_case = "";
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_badinput_item_remove(void **state) {
  world *w = *state;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_item_remove(NULL, "item0"));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "item id", bad_ids[i].why,
          pz_item_remove(w->e, bad_ids[i].s));
  }
  g_case = "";
  FAILS(PZ_ENOTFOUND, "ghost", NULL, pz_item_remove(w->e, "ghost"));
  FAILS(PZ_ENOTFOUND, NULL, NULL, pz_item_remove(w->e, id255));
  world_verify(w);
  /* removing twice */
  OK(pz_item_put(w->e, "temp", NULL, NULL, 0));
  OK(pz_item_remove(w->e, "temp"));
  FAILS(PZ_ENOTFOUND, "temp", NULL, pz_item_remove(w->e, "temp"));
  world_close(w);
  soft_end();
}

static void test_badinput_item_popularity_count(void **state) {
  world *w = *state;
  double s = 0;
  uint64_t ev = 0;
  size_t n = 0;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_item_popularity(&s, &ev, NULL, "item0", 0));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "item id", bad_ids[i].why,
          pz_item_popularity(&s, &ev, w->e, bad_ids[i].s, 0));
  }
  g_case = "";
  FAILS(PZ_ENOTFOUND, "ghost", NULL,
        pz_item_popularity(&s, &ev, w->e, "ghost", 0));
  FAILS(PZ_EINVAL, "negative", NULL,
        pz_item_popularity(&s, &ev, w->e, "item0", -1));
  FAILS(PZ_EINVAL, "negative", NULL,
        pz_item_popularity(&s, &ev, w->e, "item0", INT64_MIN));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_item_count(NULL, w->e));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_item_count(&n, NULL));
  /* both outputs may be NULL */
  OK(pz_item_popularity(NULL, NULL, w->e, "item0", 0));
  world_verify(w);
  world_close(w);
  soft_end();
}

/* ---- events ----------------------------------------------------------------- */

static void test_badinput_track_ids(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_track(NULL, "alice", "item0", "view", 1, 0));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    const bad_str *b = &bad_ids[i];
    g_case = b->label;
    FAILS(PZ_EINVAL, "user id", b->why, pz_track(e, b->s, "item0", "view", 1, 0));
    FAILS(PZ_EINVAL, "item id", b->why, pz_track(e, "alice", b->s, "view", 1, 0));
    FAILS(PZ_EINVAL, "item id", b->why, pz_track(e, "bob", b->s, "view", 1, 0));
    FAILS(PZ_EINVAL, "event type", b->why,
          pz_track(e, "alice", "item0", b->s, 1, 0));
    FAILS(PZ_EINVAL, "event type", b->why,
          pz_track(e, "bob", "ghost", b->s, 1, 0));
  }
  g_case = "";
  world_verify(w); /* no "bob", no "ghost", alice's history unchanged */
  /* 255-byte ids are ids like any other */
  OK(pz_track(e, id255, id255u, "view", 1, 0));
  size_t n = 0;
  OK(pz_profile_event_count(&n, e, id255));
  CHECK(n == 1, "event count %zu", n);
  world_close(w);
  soft_end();
}

static void test_badinput_track_values(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  for (size_t i = 0; i < N_NONFINITE; i++) {
    g_case = nonfinite[i].label;
    FAILS(PZ_EINVAL, "value", nonfinite[i].why,
          pz_track(e, "alice", "item0", "view", nonfinite[i].v, 0));
    FAILS(PZ_EINVAL, "value", nonfinite[i].why,
          pz_track(e, "bob", "ghost", "rating", nonfinite[i].v, 0));
  }
  static const double beyond[] = {1e10, -1e10, 1.0000001e9, 1e300, DBL_MAX,
                                  -DBL_MAX};
  for (size_t i = 0; i < sizeof beyond / sizeof *beyond; i++) {
    char label[32];
    snprintf(label, sizeof label, "%g", beyond[i]);
    g_case = label;
    FAILS(PZ_ERANGE, "value", NULL,
          pz_track(e, "alice", "item0", "play", beyond[i], 0));
    FAILS(PZ_ERANGE, "value", NULL,
          pz_track(e, "bob", "ghost", "play", beyond[i], 0));
  }
  g_case = "";
  static const int64_t bad_ts[] = {-1, -T0, INT64_MIN};
  for (size_t i = 0; i < sizeof bad_ts / sizeof *bad_ts; i++) {
    FAILS(PZ_EINVAL, "negative", NULL,
          pz_track(e, "alice", "item0", "view", 1, bad_ts[i]));
    FAILS(PZ_EINVAL, "negative", NULL,
          pz_track(e, "bob", "ghost", "view", 1, bad_ts[i]));
  }
  world_verify(w);
  OK(pz_track(e, "erin", "item0", "play", 1e9, 0));
  OK(pz_track(e, "erin", "item1", "play", -1e9, 0));
  OK(pz_track(e, "erin", "item2", "play", 0, 0));
  world_close(w);
  soft_end();
}

static void test_badinput_track_unknown_names(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  static const char *const unknown[] = {"viewed", "VIEW", "view ", " view",
                                        "purchase\t", "clicks"};
  for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    g_case = unknown[i];
    FAILS(PZ_ENOTFOUND, unknown[i], NULL,
          pz_track(e, "alice", "item0", unknown[i], 1, 0));
    FAILS(PZ_ENOTFOUND, unknown[i], NULL,
          pz_track(e, "bob", "ghost", unknown[i], 1, 0));
  }
  g_case = "";
  FAILS(PZ_ENOTFOUND, "event type", NULL,
        pz_track(e, "alice", "item0", id255, 1, 0));
  /* dora withdrew consent to personalization */
  FAILS(PZ_ECONSENT, "dora", NULL, pz_track(e, "dora", "item0", "view", 1, 0));
  FAILS(PZ_ECONSENT, "dora", NULL, pz_track(e, "dora", "ghost", "view", 1, 0));
  world_verify(w);
  world_close(w);

  /* unknown items refused by config; custom event types */
  own o;
  own_open(&o, "catalog: {unknown_items: refuse}\nevents: {view: 1, buy: 4}\n");
  const char *f[] = {"genre=jazz"};
  OK(pz_item_put(o.e, "known", f, NULL, 1));
  FAILS(PZ_ENOTFOUND, "ghost", NULL, pz_track(o.e, "u", "ghost", "view", 1, 0));
  FAILS(PZ_ENOTFOUND, "click", NULL, pz_track(o.e, "u", "known", "click", 1, 0));
  FAILS(PZ_ENOTFOUND, "purchase", NULL,
        pz_track(o.e, "u", "known", "purchase", 1, 0));
  size_t n = 99;
  OK(pz_item_count(&n, o.e));
  CHECK(n == 1, "item count %zu after refused events", n);
  OK(pz_profile_count(&n, o.e));
  CHECK(n == 0, "profile count %zu after refused events", n);
  FAILS(PZ_ENOTFOUND, "ghost", NULL,
        pz_item_popularity(NULL, NULL, o.e, "ghost", 0));
  OK(pz_track(o.e, "u", "known", "buy", 1, 0));
  own_close(&o);
  soft_end();
}

/* A timestamp far in the future must not wreck the decayed state of the
 * other items: refused, or accepted with their popularity (read now)
 * unchanged and every score a number. Each case gets a fresh engine. */
static void test_badinput_track_far_future(void **state) {
  (void)state;
  soft_begin();
  static const int64_t year = INT64_C(86400000) * 365;
  static const int64_t far[] = {T0 + 10 * year, T0 + 200 * year,
                                T0 + 100000 * year, INT64_MAX / 2, INT64_MAX};
  for (size_t f = 0; f < sizeof far / sizeof *far; f++) {
    char label[48];
    snprintf(label, sizeof label, "ts %lld", (long long)far[f]);
    g_case = label;
    own o;
    own_open(&o, NULL);
    test_put_items(o.e, 10);
    OK(pz_track(o.e, "u", "item0", "view", 1, T0 - 1000));
    OK(pz_track(o.e, "u", "item1", "purchase", 1, 0));
    OK(pz_track(o.e, "v", "item2", "play", 3, 0));
    double before[3];
    for (int i = 0; i < 3; i++) {
      char id[16];
      snprintf(id, sizeof id, "item%d", i);
      OK(pz_item_popularity(&before[i], NULL, o.e, id, 0));
    }
    prime_errmsg();
    int rc = pz_track(o.e, "fred", "item9", "view", 1, far[f]);
    if (rc != PZ_OK) {
      CHECK(rc == PZ_EINVAL || rc == PZ_ERANGE, "returned %d", rc);
      CHECK(!strstr(pz_errmsg(), PRIME_MARK), "no message");
    }
    for (int i = 0; i < 3; i++) {
      char id[16];
      snprintf(id, sizeof id, "item%d", i);
      double s = -1;
      OK(pz_item_popularity(&s, NULL, o.e, id, 0));
      CHECK(isfinite(s) && fabs(s - before[i]) <= 1e-9 * fabs(before[i]),
            "track returned %d; popularity of %s now %g, was %g", rc, id, s,
            before[i]);
    }
    pz_recs *r = NULL;
    OK(pz_recommend(&r, o.e, "nobody", 10, NULL));
    size_t bad = 0;
    for (size_t i = 0; i < pz_recs_count(r); i++)
      bad += !isfinite(pz_recs_score(r, i));
    CHECK(bad == 0, "%zu of %zu recommendation scores are not finite", bad,
          pz_recs_count(r));
    pz_recs_free(r);
    /* reading far in the future gives numbers, not NaN */
    double s = -1;
    OK(pz_item_popularity(&s, NULL, o.e, "item0", INT64_MAX));
    CHECK(!isnan(s), "popularity read at INT64_MAX is NaN");
    own_close(&o);
  }
  g_case = "";
  soft_end();
}

/* The largest accepted value on an item with the largest accepted feature
 * weight must not leave infinities in the profile. */
static void test_badinput_track_overflow(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  const char *fs[] = {"genre=huge", "genre=jazz"};
  double ws[] = {1e30, 1.0};
  prime_errmsg();
  int rc = pz_item_put(e, "big", fs, ws, 2);
  CHECK(rc == PZ_OK || rc == PZ_ERANGE, "item_put: %d", rc);
  rc = pz_track(e, "gus", "big", "purchase", 1e9, 0);
  CHECK(rc == PZ_OK || rc == PZ_ERANGE, "track: %d %s", rc, pz_errmsg());
  rc = pz_track(e, "gus", "big", "purchase", 1e9, 0);
  CHECK(rc == PZ_OK || rc == PZ_ERANGE, "track: %d %s", rc, pz_errmsg());
  pz_interests *l = NULL;
  if (pz_profile_interests(&l, e, "gus", 10, 0) == PZ_OK) {
    for (size_t i = 0; i < pz_interests_count(l); i++)
      CHECK(isfinite(pz_interests_score(l, i)), "interest %s = %g",
            pz_interests_feature(l, i), pz_interests_score(l, i));
    pz_interests_free(l);
  }
  size_t len = 0;
  if (pz_profile_export(NULL, 0, &len, e, "gus") == PZ_EBUFS) {
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    OK(pz_profile_export(buf, len + 1, &len, e, "gus"));
    CHECK(!strstr(buf, "inf") && !strstr(buf, "nan") && !strstr(buf, "NaN") &&
              !strstr(buf, "Inf"),
          "export holds a non-number: %.300s", buf);
    free(buf);
  }
  pz_recs *r = NULL;
  OK(pz_recommend(&r, e, "gus", 10, NULL));
  for (size_t i = 0; i < pz_recs_count(r); i++)
    CHECK(isfinite(pz_recs_score(r, i)), "score of %s is %g",
          pz_recs_item(r, i), pz_recs_score(r, i));
  pz_recs_free(r);
  world_close(w);
  soft_end();
}

/* ---- attributes ------------------------------------------------------------- */

static void test_badinput_set_attributes(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_set_string(NULL, "alice", "name", "x"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_set_number(NULL, "alice", "age", 1));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_set_bool(NULL, "alice", "vip", 0));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_profile_set_timestamp(NULL, "alice", "joined", 1));
  static const char *const users[] = {"alice", "bob"};
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    const bad_str *b = &bad_ids[i];
    g_case = b->label;
    FAILS(PZ_EINVAL, "user id", b->why, pz_profile_set_string(e, b->s, "name", "x"));
    FAILS(PZ_EINVAL, "user id", b->why, pz_profile_set_number(e, b->s, "age", 1));
    FAILS(PZ_EINVAL, "user id", b->why, pz_profile_set_bool(e, b->s, "vip", 0));
    FAILS(PZ_EINVAL, "user id", b->why,
          pz_profile_set_timestamp(e, b->s, "joined", 1));
    for (size_t u = 0; u < 2; u++) {
      FAILS(PZ_EINVAL, "attribute name", b->why,
            pz_profile_set_string(e, users[u], b->s, "x"));
      FAILS(PZ_EINVAL, "attribute name", b->why,
            pz_profile_set_number(e, users[u], b->s, 1));
      FAILS(PZ_EINVAL, "attribute name", b->why,
            pz_profile_set_bool(e, users[u], b->s, 1));
      FAILS(PZ_EINVAL, "attribute name", b->why,
            pz_profile_set_timestamp(e, users[u], b->s, 1));
    }
  }
  /* string values: NULL, too long, not UTF-8 */
  static const bad_str bad_values[] = {
      {NULL, "NULL", "NULL value"},
      {str4097, "longer", "4097-byte value"},
      {id_huge, "longer", "64 KiB value"},
      BAD_UTF8_CASES};
  for (size_t i = 0; i < sizeof bad_values / sizeof *bad_values; i++) {
    g_case = bad_values[i].label;
    for (size_t u = 0; u < 2; u++) {
      FAILS(PZ_EINVAL, "value", bad_values[i].why,
            pz_profile_set_string(e, users[u], "name", bad_values[i].s));
      FAILS(PZ_EINVAL, "value", bad_values[i].why,
            pz_profile_set_string(e, users[u], "age", bad_values[i].s));
    }
  }
  for (size_t i = 0; i < N_NONFINITE; i++) {
    g_case = nonfinite[i].label;
    for (size_t u = 0; u < 2; u++) {
      FAILS(PZ_EINVAL, "value", nonfinite[i].why,
            pz_profile_set_number(e, users[u], "age", nonfinite[i].v));
      FAILS(PZ_EINVAL, "value", nonfinite[i].why,
            pz_profile_set_number(e, users[u], "name", nonfinite[i].v));
    }
  }
  static const int bad_bools[] = {2, -1, 255, 256, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof bad_bools / sizeof *bad_bools; i++) {
    char label[24];
    snprintf(label, sizeof label, "bool %d", bad_bools[i]);
    g_case = label;
    for (size_t u = 0; u < 2; u++) {
      FAILS(PZ_EINVAL, "0 or 1", NULL,
            pz_profile_set_bool(e, users[u], "vip", bad_bools[i]));
      FAILS(PZ_EINVAL, "0 or 1", NULL,
            pz_profile_set_bool(e, users[u], "name", bad_bools[i]));
    }
  }
  g_case = "";
  world_verify(w); /* alice's attributes unchanged, no "bob" */

  /* the limits are accepted, and negative timestamps are valid here */
  OK(pz_profile_set_string(e, "hal", "bio", str4096));
  OK(pz_profile_set_string(e, "hal", "empty", ""));
  OK(pz_profile_set_string(e, id255, id255u, "\xF4\x8F\xBF\xBF"));
  OK(pz_profile_set_number(e, "hal", "n", DBL_MAX));
  OK(pz_profile_set_number(e, "hal", "m", -DBL_MAX));
  OK(pz_profile_set_timestamp(e, "hal", "born", -1));
  OK(pz_profile_set_timestamp(e, "hal", "epoch", INT64_MIN));
  OK(pz_profile_set_bool(e, "hal", "b", 0));
  size_t len = 0;
  char buf[8];
  FAILS(PZ_EBUFS, NULL, NULL, pz_profile_get_string(buf, sizeof buf, &len, e,
                                                    "hal", "bio"));
  CHECK(len == 4096, "len %zu", len);
  world_close(w);
  soft_end();
}

static void test_badinput_attribute_limit(void **state) {
  (void)state;
  soft_begin();
  own o;
  own_open(&o, NULL);
  char name[16];
  for (int i = 0; i < 256; i++) {
    snprintf(name, sizeof name, "a%d", i);
    OK(pz_profile_set_number(o.e, "u", name, i));
  }
  FAILS(PZ_ELIMIT, "256", NULL, pz_profile_set_number(o.e, "u", "a256", 1));
  FAILS(PZ_ELIMIT, "256", NULL, pz_profile_set_string(o.e, "u", "a257", "x"));
  int type = 0;
  FAILS(PZ_ENOTFOUND, "a256", NULL, pz_profile_get_type(&type, o.e, "u", "a256"));
  double v = -1;
  OK(pz_profile_get_number(&v, o.e, "u", "a255"));
  CHECK(v == 255, "a255 = %g", v);
  /* replacing an existing one is still fine, even with another type */
  OK(pz_profile_set_string(o.e, "u", "a0", "zero"));
  own_close(&o);
  soft_end();
}

static void test_badinput_get_attributes(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  int type = -1, b = -1;
  double num = -1;
  int64_t ts = -1;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_get_type(NULL, e, "alice", "name"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_get_type(&type, NULL, "alice", "name"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_get_number(NULL, e, "alice", "age"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_get_number(&num, NULL, "alice", "age"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_get_bool(NULL, e, "alice", "vip"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_get_bool(&b, NULL, "alice", "vip"));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_profile_get_timestamp(NULL, e, "alice", "joined"));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_profile_get_timestamp(&ts, NULL, "alice", "joined"));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    const bad_str *x = &bad_ids[i];
    g_case = x->label;
    FAILS(PZ_EINVAL, "user id", x->why, pz_profile_get_type(&type, e, x->s, "name"));
    FAILS(PZ_EINVAL, "attribute name", x->why,
          pz_profile_get_type(&type, e, "alice", x->s));
    FAILS(PZ_EINVAL, "user id", x->why, pz_profile_get_number(&num, e, x->s, "age"));
    FAILS(PZ_EINVAL, "attribute name", x->why,
          pz_profile_get_number(&num, e, "alice", x->s));
    FAILS(PZ_EINVAL, "user id", x->why, pz_profile_get_bool(&b, e, x->s, "vip"));
    FAILS(PZ_EINVAL, "attribute name", x->why,
          pz_profile_get_bool(&b, e, "alice", x->s));
    FAILS(PZ_EINVAL, "user id", x->why,
          pz_profile_get_timestamp(&ts, e, x->s, "joined"));
    FAILS(PZ_EINVAL, "attribute name", x->why,
          pz_profile_get_timestamp(&ts, e, "alice", x->s));
  }
  g_case = "";
  /* unknown user, unknown attribute */
  FAILS(PZ_ENOTFOUND, "nobody", NULL, pz_profile_get_type(&type, e, "nobody", "name"));
  FAILS(PZ_ENOTFOUND, "shoe", NULL, pz_profile_get_type(&type, e, "alice", "shoe"));
  FAILS(PZ_ENOTFOUND, "nobody", NULL, pz_profile_get_number(&num, e, "nobody", "age"));
  FAILS(PZ_ENOTFOUND, "shoe", NULL, pz_profile_get_number(&num, e, "alice", "shoe"));
  FAILS(PZ_ENOTFOUND, "nobody", NULL, pz_profile_get_bool(&b, e, "nobody", "vip"));
  FAILS(PZ_ENOTFOUND, "shoe", NULL, pz_profile_get_bool(&b, e, "alice", "shoe"));
  FAILS(PZ_ENOTFOUND, "nobody", NULL,
        pz_profile_get_timestamp(&ts, e, "nobody", "joined"));
  FAILS(PZ_ENOTFOUND, "shoe", NULL,
        pz_profile_get_timestamp(&ts, e, "alice", "shoe"));
  FAILS(PZ_ENOTFOUND, NULL, NULL, pz_profile_get_type(&type, e, "alice", id255));
  /* attribute names are case-sensitive */
  FAILS(PZ_ENOTFOUND, "Name", NULL, pz_profile_get_type(&type, e, "alice", "Name"));
  /* wrong type */
  FAILS(PZ_ETYPE, "name", NULL, pz_profile_get_number(&num, e, "alice", "name"));
  FAILS(PZ_ETYPE, "age", NULL, pz_profile_get_bool(&b, e, "alice", "age"));
  FAILS(PZ_ETYPE, "vip", NULL, pz_profile_get_timestamp(&ts, e, "alice", "vip"));
  FAILS(PZ_ETYPE, "joined", NULL, pz_profile_get_number(&num, e, "alice", "joined"));
  /* dora has a profile but not that attribute */
  FAILS(PZ_ENOTFOUND, "age", NULL, pz_profile_get_number(&num, e, "dora", "age"));
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_badinput_get_string_bufs(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  char buf[16];
  size_t len = 999;
  memset(buf, 'x', sizeof buf);
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_profile_get_string(buf, sizeof buf, NULL, e, "alice", "name"));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_profile_get_string(NULL, 8, &len, e, "alice", "name"));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_profile_get_string(buf, sizeof buf, &len, NULL, "alice", "name"));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "user id", bad_ids[i].why,
          pz_profile_get_string(buf, sizeof buf, &len, e, bad_ids[i].s, "name"));
    FAILS(PZ_EINVAL, "attribute name", bad_ids[i].why,
          pz_profile_get_string(buf, sizeof buf, &len, e, "alice", bad_ids[i].s));
  }
  g_case = "";
  FAILS(PZ_ENOTFOUND, "nobody", NULL,
        pz_profile_get_string(buf, sizeof buf, &len, e, "nobody", "name"));
  FAILS(PZ_ENOTFOUND, "shoe", NULL,
        pz_profile_get_string(buf, sizeof buf, &len, e, "alice", "shoe"));
  FAILS(PZ_ETYPE, "age", NULL,
        pz_profile_get_string(buf, sizeof buf, &len, e, "alice", "age"));
  for (size_t i = 0; i < sizeof buf; i++)
    CHECK(buf[i] == 'x', "a failed call wrote buf[%zu]", i);

  /* too small: PZ_EBUFS, the length reported, the buffer untouched */
  static const size_t caps[] = {0, 1, 4, 5};
  for (size_t c = 0; c < sizeof caps / sizeof *caps; c++) {
    len = 999;
    memset(buf, 'x', sizeof buf);
    FAILS(PZ_EBUFS, NULL, NULL,
          pz_profile_get_string(caps[c] ? buf : NULL, caps[c], &len, e,
                                "alice", "name"));
    CHECK(len == 5, "cap %zu: len %zu, want 5", caps[c], len);
    for (size_t i = 0; i < sizeof buf; i++)
      CHECK(buf[i] == 'x', "cap %zu: EBUFS wrote buf[%zu]", caps[c], i);
  }
  len = 999;
  OK(pz_profile_get_string(buf, 6, &len, e, "alice", "name"));
  CHECK(len == 5 && strcmp(buf, "Alice") == 0, "got \"%.6s\" len %zu", buf, len);
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_badinput_remove_attribute(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_remove_attribute(NULL, "alice", "name"));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "user id", bad_ids[i].why,
          pz_profile_remove_attribute(e, bad_ids[i].s, "name"));
    FAILS(PZ_EINVAL, "attribute name", bad_ids[i].why,
          pz_profile_remove_attribute(e, "alice", bad_ids[i].s));
  }
  g_case = "";
  FAILS(PZ_ENOTFOUND, "nobody", NULL, pz_profile_remove_attribute(e, "nobody", "name"));
  FAILS(PZ_ENOTFOUND, "shoe", NULL, pz_profile_remove_attribute(e, "alice", "shoe"));
  FAILS(PZ_ENOTFOUND, "name", NULL, pz_profile_remove_attribute(e, "carol", "name"));
  world_verify(w);
  world_close(w);
  soft_end();
}

/* ---- consent ---------------------------------------------------------------- */

static void test_badinput_consent(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  int g = -1;
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_profile_set_consent(NULL, "alice", "personalization", 0));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_profile_get_consent(NULL, e, "alice", "personalization"));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_profile_get_consent(&g, NULL, "alice", "personalization"));
  static const char *const users[] = {"alice", "bob"};
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    const bad_str *b = &bad_ids[i];
    g_case = b->label;
    FAILS(PZ_EINVAL, "user id", b->why,
          pz_profile_set_consent(e, b->s, "personalization", 0));
    FAILS(PZ_EINVAL, "user id", b->why,
          pz_profile_get_consent(&g, e, b->s, "personalization"));
    for (size_t u = 0; u < 2; u++) {
      FAILS(PZ_EINVAL, "purpose", b->why,
            pz_profile_set_consent(e, users[u], b->s, 0));
      FAILS(PZ_EINVAL, "purpose", b->why,
            pz_profile_get_consent(&g, e, users[u], b->s));
    }
  }
  g_case = "";
  static const char *const unknown[] = {"marketing", "Personalization",
                                        "personalisation", "analytics "};
  for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    g_case = unknown[i];
    for (size_t u = 0; u < 2; u++) {
      FAILS(PZ_ENOTFOUND, unknown[i], NULL,
            pz_profile_set_consent(e, users[u], unknown[i], 0));
      FAILS(PZ_ENOTFOUND, unknown[i], NULL,
            pz_profile_get_consent(&g, e, users[u], unknown[i]));
    }
  }
  g_case = "";
  FAILS(PZ_ENOTFOUND, "purpose", NULL, pz_profile_set_consent(e, "alice", id255, 1));
  /* granted other than 0/1: above all, a bad "withdraw" must not erase */
  static const int bad_granted[] = {2, -1, 255, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof bad_granted / sizeof *bad_granted; i++) {
    char label[24];
    snprintf(label, sizeof label, "granted %d", bad_granted[i]);
    g_case = label;
    for (size_t u = 0; u < 2; u++) {
      FAILS(PZ_EINVAL, "granted", NULL,
            pz_profile_set_consent(e, users[u], "personalization",
                                   bad_granted[i]));
      FAILS(PZ_EINVAL, "granted", NULL,
            pz_profile_set_consent(e, users[u], "ads_sharing", bad_granted[i]));
    }
    FAILS(PZ_EINVAL, "granted", NULL,
          pz_profile_set_consent(e, "dora", "personalization", bad_granted[i]));
  }
  g_case = "";
  world_verify(w);
  world_close(w);

  /* a 255-byte purpose declared in the config is accepted */
  char yaml[400];
  snprintf(yaml, sizeof yaml, "consent:\n  purposes: [%s]\n", id255u);
  own o;
  own_open(&o, yaml);
  OK(pz_profile_set_consent(o.e, "u", id255u, 1));
  g = -1;
  OK(pz_profile_get_consent(&g, o.e, "u", id255u));
  CHECK(g == 1, "granted %d", g);
  FAILS(PZ_ENOTFOUND, NULL, NULL, pz_profile_get_consent(&g, o.e, "u", id255));
  own_close(&o);
  soft_end();
}

/* ---- reading out ----------------------------------------------------------- */

#define INTERESTS_FAIL(code, n1, n2, user, k, now)                            \
  do {                                                                       \
    pz_interests *l_ = SENTINEL(pz_interests);                               \
    FAILS(code, n1, n2, pz_profile_interests(&l_, e, user, k, now));         \
    CHECK(l_ == NULL, "*out not set to NULL");                               \
    if (l_ != SENTINEL(pz_interests)) pz_interests_free(l_);                 \
  } while (0)

static void test_badinput_interests(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_interests(NULL, e, "alice", 5, 0));
  pz_interests *l = SENTINEL(pz_interests);
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_interests(&l, NULL, "alice", 5, 0));
  CHECK(l == NULL, "*out not set to NULL for a NULL engine");
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    INTERESTS_FAIL(PZ_EINVAL, "user id", bad_ids[i].why, bad_ids[i].s, 5, 0);
  }
  g_case = "";
  static const size_t bad_k[] = {0, 10001, 1000000000, SIZE_MAX};
  for (size_t i = 0; i < sizeof bad_k / sizeof *bad_k; i++) {
    char label[32];
    snprintf(label, sizeof label, "k %zu", bad_k[i]);
    g_case = label;
    INTERESTS_FAIL(bad_k[i] ? PZ_ERANGE : PZ_EINVAL, "k", NULL, "alice",
                   bad_k[i], 0);
  }
  g_case = "";
  INTERESTS_FAIL(PZ_ENOTFOUND, "nobody", NULL, "nobody", 5, 0);
  INTERESTS_FAIL(PZ_EINVAL, "negative", NULL, "alice", 5, -1);
  INTERESTS_FAIL(PZ_EINVAL, "negative", NULL, "alice", 5, INT64_MIN);
  world_verify(w);
  l = NULL;
  OK(pz_profile_interests(&l, e, "alice", 10000, 0));
  CHECK(pz_interests_count(l) > 0, "alice has no interests");
  pz_interests_free(l);
  world_close(w);
  soft_end();
}

static void test_badinput_counts(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  size_t n = 999;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_event_count(NULL, e, "alice"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_event_count(&n, NULL, "alice"));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "user id", bad_ids[i].why,
          pz_profile_event_count(&n, e, bad_ids[i].s));
  }
  g_case = "";
  FAILS(PZ_ENOTFOUND, "nobody", NULL, pz_profile_event_count(&n, e, "nobody"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_count(NULL, e));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_count(&n, NULL));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_count(NULL, NULL));
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_badinput_merge(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_merge(NULL, "carol", "alice"));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "user id", bad_ids[i].why,
          pz_profile_merge(e, bad_ids[i].s, "alice"));
    FAILS(PZ_EINVAL, "user id", bad_ids[i].why,
          pz_profile_merge(e, "carol", bad_ids[i].s));
    FAILS(PZ_EINVAL, "user id", bad_ids[i].why,
          pz_profile_merge(e, bad_ids[i].s, bad_ids[i].s));
  }
  g_case = "";
  FAILS(PZ_EINVAL, "alice", NULL, pz_profile_merge(e, "alice", "alice"));
  FAILS(PZ_EINVAL, "itself", NULL, pz_profile_merge(e, "nobody", "nobody"));
  FAILS(PZ_ENOTFOUND, "nobody", NULL, pz_profile_merge(e, "nobody", "alice"));
  FAILS(PZ_ENOTFOUND, "nobody", NULL, pz_profile_merge(e, "nobody", "zed"));
  world_verify(w); /* carol still there, no "zed" */
  OK(pz_profile_merge(e, "carol", id255));
  world_close(w);
  soft_end();
}

static void test_badinput_erase(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_erase(NULL, "alice"));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "user id", bad_ids[i].why, pz_profile_erase(e, bad_ids[i].s));
  }
  g_case = "";
  FAILS(PZ_ENOTFOUND, "nobody", NULL, pz_profile_erase(e, "nobody"));
  FAILS(PZ_ENOTFOUND, NULL, NULL, pz_profile_erase(e, id255));
  FAILS(PZ_ENOTFOUND, "Alice", NULL, pz_profile_erase(e, "Alice"));
  world_verify(w);
  OK(pz_profile_erase(e, "carol"));
  FAILS(PZ_ENOTFOUND, "carol", NULL, pz_profile_erase(e, "carol"));
  world_close(w);
  soft_end();
}

static void test_badinput_export(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  size_t len = 0;
  assert_int_equal(pz_profile_export(NULL, 0, &len, e, "alice"), PZ_EBUFS);
  size_t need = len;
  assert_true(need > 0);
  char *buf = malloc(need + 16);
  assert_non_null(buf);

  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_export(buf, need + 1, NULL, e, "alice"));
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_profile_export(buf, need + 1, &len, NULL, "alice"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_profile_export(NULL, 10, &len, e, "alice"));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    FAILS(PZ_EINVAL, "user id", bad_ids[i].why,
          pz_profile_export(buf, need + 1, &len, e, bad_ids[i].s));
  }
  g_case = "";
  FAILS(PZ_ENOTFOUND, "nobody", NULL,
        pz_profile_export(buf, need + 1, &len, e, "nobody"));

  /* too small: PZ_EBUFS with the length, nothing written */
  const size_t caps[] = {0, 1, need / 2, need};
  for (size_t c = 0; c < sizeof caps / sizeof *caps; c++) {
    memset(buf, 'x', need + 16);
    len = 0;
    FAILS(PZ_EBUFS, NULL, NULL,
          pz_profile_export(caps[c] ? buf : NULL, caps[c], &len, e, "alice"));
    CHECK(len == need, "cap %zu: len %zu, want %zu", caps[c], len, need);
    size_t touched = 0;
    for (size_t i = 0; i < need + 16; i++) touched += buf[i] != 'x';
    CHECK(touched == 0, "cap %zu: EBUFS wrote %zu bytes", caps[c], touched);
  }
  memset(buf, 'x', need + 16);
  OK(pz_profile_export(buf, need + 1, &len, e, "alice"));
  CHECK(len == need && buf[need] == '\0' && buf[need + 1] == 'x',
        "export len %zu, need %zu", len, need);
  free(buf);
  world_verify(w);
  world_close(w);
  soft_end();
}

/* ---- recommendations --------------------------------------------------------- */

#define RECS_FAIL(code, n1, n2, user, k, opts)                                \
  do {                                                                       \
    pz_recs *r_ = SENTINEL(pz_recs);                                         \
    FAILS(code, n1, n2, pz_recommend(&r_, e, user, k, opts));                \
    CHECK(r_ == NULL, "*out not set to NULL");                               \
    if (r_ != SENTINEL(pz_recs)) pz_recs_free(r_);                           \
  } while (0)

static void test_badinput_recommend_args(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_recommend(NULL, e, "alice", 5, NULL));
  pz_recs *r = SENTINEL(pz_recs);
  FAILS(PZ_EINVAL, "NULL", NULL, pz_recommend(&r, NULL, "alice", 5, NULL));
  CHECK(r == NULL, "*out not set to NULL for a NULL engine");
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    RECS_FAIL(PZ_EINVAL, "user id", bad_ids[i].why, bad_ids[i].s, 5, NULL);
  }
  g_case = "";
  world_verify(w);
  /* unknown and 255-byte users get rankings */
  r = NULL;
  OK(pz_recommend(&r, e, id255, 5, NULL));
  CHECK(pz_recs_count(r) == 5, "%zu recs", pz_recs_count(r));
  pz_recs_free(r);
  world_close(w);
  soft_end();
}

static void test_badinput_recommend_k(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  RECS_FAIL(PZ_EINVAL, "k", NULL, "alice", 0, NULL);
  RECS_FAIL(PZ_EINVAL, "k", NULL, "nobody", 0, NULL);
  static const size_t big[] = {1001, 1000000000, SIZE_MAX};
  for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
    char label[32];
    snprintf(label, sizeof label, "k %zu", big[i]);
    g_case = label;
    RECS_FAIL(PZ_ERANGE, "max_k", NULL, "alice", big[i], NULL);
    RECS_FAIL(PZ_ERANGE, "max_k", NULL, "nobody", big[i], NULL);
  }
  g_case = "";
  world_verify(w);
  pz_recs *r = NULL;
  OK(pz_recommend(&r, e, "alice", 1000, NULL));
  CHECK(pz_recs_count(r) > 0 && pz_recs_count(r) <= 20, "%zu recs",
        pz_recs_count(r));
  pz_recs_free(r);
  world_close(w);

  own o;
  own_open(&o, "ranking: {max_k: 5}");
  test_put_items(o.e, 10);
  e = o.e;
  RECS_FAIL(PZ_ERANGE, "max_k", NULL, "u", 6, NULL);
  r = NULL;
  OK(pz_recommend(&r, o.e, "u", 5, NULL));
  CHECK(pz_recs_count(r) == 5, "%zu recs", pz_recs_count(r));
  pz_recs_free(r);
  own_close(&o);
  soft_end();
}

static void test_badinput_recommend_options(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  pz_recommend_options o;
  static const unsigned int bad_versions[] = {0, 3, 0xDEADBEEFu, UINT_MAX};
  for (size_t i = 0; i < sizeof bad_versions / sizeof *bad_versions; i++) {
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.version = bad_versions[i];
    RECS_FAIL(PZ_EVERSION, "version", NULL, "alice", 5, &o);
  }
  static const int bad_seen[] = {2, -1, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof bad_seen / sizeof *bad_seen; i++) {
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.include_seen = bad_seen[i];
    RECS_FAIL(PZ_EINVAL, "include_seen", NULL, "alice", 5, &o);
  }
  static const int64_t bad_now[] = {-1, INT64_MIN};
  for (size_t i = 0; i < sizeof bad_now / sizeof *bad_now; i++) {
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.now_ms = bad_now[i];
    RECS_FAIL(PZ_EINVAL, "negative", NULL, "alice", 5, &o);
  }
  world_verify(w);
  world_close(w);
  soft_end();
}

/* ---- result accessors ------------------------------------------------------- */

static void test_badinput_result_accessors(void **state) {
  world *w = *state;
  /* NULL lists */
  CHECK(pz_recs_count(NULL) == 0, "recs_count(NULL)");
  CHECK(pz_recs_item(NULL, 0) == NULL, "recs_item(NULL, 0)");
  CHECK(isnan(pz_recs_score(NULL, 0)), "recs_score(NULL, 0)");
  CHECK(pz_recs_reason_code(NULL, 0) == 0, "recs_reason_code(NULL, 0)");
  CHECK(pz_recs_reason(NULL, 0) == NULL, "recs_reason(NULL, 0)");
  CHECK(isnan(pz_recs_contribution(NULL, 0, PZ_SIGNAL_CONTENT)),
        "recs_contribution(NULL, 0, CONTENT)");
  CHECK(pz_interests_count(NULL) == 0, "interests_count(NULL)");
  CHECK(pz_interests_feature(NULL, 0) == NULL, "interests_feature(NULL, 0)");
  CHECK(isnan(pz_interests_score(NULL, 0)), "interests_score(NULL, 0)");
  CHECK(pz_svec_nnz(NULL) == 0, "svec_nnz(NULL)");

  pz_recs *r = NULL;
  OK(pz_recommend(&r, w->e, "alice", 5, NULL));
  size_t n = pz_recs_count(r);
  CHECK(n == 5, "%zu recs", n);
  const size_t out[] = {n, n + 1, 1000000, SIZE_MAX};
  for (size_t j = 0; j < sizeof out / sizeof *out; j++) {
    size_t i = out[j];
    CHECK(pz_recs_item(r, i) == NULL, "recs_item(r, %zu)", i);
    CHECK(isnan(pz_recs_score(r, i)), "recs_score(r, %zu)", i);
    CHECK(pz_recs_reason_code(r, i) == 0, "recs_reason_code(r, %zu)", i);
    CHECK(pz_recs_reason(r, i) == NULL, "recs_reason(r, %zu)", i);
    CHECK(isnan(pz_recs_contribution(r, i, PZ_SIGNAL_CONTENT)),
          "recs_contribution(r, %zu, CONTENT)", i);
  }
  static const int bad_signal[] = {0, 5, -1, 100, INT_MAX, INT_MIN};
  for (size_t j = 0; j < sizeof bad_signal / sizeof *bad_signal; j++)
    CHECK(isnan(pz_recs_contribution(r, 0, bad_signal[j])),
          "recs_contribution(r, 0, signal %d) = %g", bad_signal[j],
          pz_recs_contribution(r, 0, bad_signal[j]));
  CHECK(isfinite(pz_recs_contribution(r, 0, PZ_SIGNAL_CONTENT)) &&
            isfinite(pz_recs_contribution(r, 0, PZ_SIGNAL_POPULARITY)),
        "contributions of a real entry");
  pz_recs_free(r);

  pz_interests *l = NULL;
  OK(pz_profile_interests(&l, w->e, "alice", 3, 0));
  n = pz_interests_count(l);
  CHECK(n >= 1 && n <= 3, "%zu interests", n);
  const size_t lout[] = {n, n + 1, SIZE_MAX};
  for (size_t j = 0; j < sizeof lout / sizeof *lout; j++) {
    CHECK(pz_interests_feature(l, lout[j]) == NULL, "interests_feature(l, %zu)",
          lout[j]);
    CHECK(isnan(pz_interests_score(l, lout[j])), "interests_score(l, %zu)",
          lout[j]);
  }
  pz_interests_free(l);

  /* an empty list is a list */
  l = NULL;
  OK(pz_profile_interests(&l, w->e, "dora", 3, 0));
  CHECK(pz_interests_count(l) == 0, "dora has %zu interests",
        pz_interests_count(l));
  CHECK(pz_interests_feature(l, 0) == NULL, "interests_feature(empty, 0)");
  CHECK(isnan(pz_interests_score(l, 0)), "interests_score(empty, 0)");
  pz_interests_free(l);
  world_verify(w);
  world_close(w);
  soft_end();
}

/* ---- ids at the limit are accepted everywhere ---------------------------- */

static void test_badinput_ids_at_limit(void **state) {
  (void)state;
  soft_begin();
  own o;
  own_open(&o, NULL);
  static const char *const ids[] = {id255, id255u, "\xF0\x9F\x8E\xB5",
                                    "\xEF\xBF\xBF", "\xC2\x80"};
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
    const char *id = ids[i];
    const char *f[] = {feat1024};
    OK(pz_item_put(o.e, id, f, NULL, 1));
    OK(pz_track(o.e, id, id, "view", 1, 0));
    OK(pz_profile_set_string(o.e, id, id, id));
    char buf[PZ_ID_MAX + 1];
    size_t len = 0;
    OK(pz_profile_get_string(buf, sizeof buf, &len, o.e, id, id));
    CHECK(len == strlen(id) && strcmp(buf, id) == 0, "round trip of id %zu", i);
    OK(pz_profile_set_consent(o.e, id, "analytics", 1));
    double s = 0;
    OK(pz_item_popularity(&s, NULL, o.e, id, 0));
    pz_interests *l = NULL;
    OK(pz_profile_interests(&l, o.e, id, 5, 0));
    CHECK(pz_interests_count(l) == 1 && pz_interests_feature(l, 0) &&
              strcmp(pz_interests_feature(l, 0), feat1024) == 0,
          "interest of id %zu", i);
    pz_interests_free(l);
    OK(pz_profile_remove_attribute(o.e, id, id));
  }
  size_t n = 0;
  OK(pz_profile_count(&n, o.e));
  CHECK(n == sizeof ids / sizeof *ids, "%zu profiles", n);
  own_close(&o);
  soft_end();
}


/* ---- overrides (0.4) -------------------------------------------------------- */

static void test_badinput_override_ids(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_block_item(NULL, "alice", "item1", 0));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_block_feature(NULL, "alice", "genre=jazz", 0));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_require(NULL, "alice", "genre=jazz", 0));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_pin(NULL, "alice", "item1", 0, 0));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_adjust(NULL, "alice", "genre=jazz", 2, 0));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_more(NULL, "alice", "genre=jazz", 0));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_less(NULL, "alice", "genre=jazz", 0));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_not_interested(NULL, "alice", "item1", 0));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_opt_out(NULL, "alice", 1));
  int out = 7;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_override_opted_out(&out, NULL, "alice"));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_override_opted_out(NULL, e, "alice"));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_clear(NULL, "alice", PZ_CHOICE_PIN, "item1"));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_clear_all(NULL, "alice"));
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    const bad_str *b = &bad_ids[i];
    g_case = b->label;
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_block_item(e, b->s, "item1", 0));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_block_feature(e, b->s, "genre=jazz", 0));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_require(e, b->s, "genre=jazz", 0));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_pin(e, b->s, "item1", -1, 0));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_adjust(e, b->s, "genre=jazz", 2, 0));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_more(e, b->s, "genre=jazz", 0));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_less(e, b->s, "genre=jazz", 0));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_not_interested(e, b->s, "item1", 0));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_opt_out(e, b->s, 1));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_opted_out(&out, e, b->s));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_clear(e, b->s, PZ_CHOICE_PIN, "item1"));
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_clear_all(e, b->s));
    pz_choices *c = SENTINEL(pz_choices);
    FAILS(PZ_EINVAL, "user id", b->why, pz_override_list(&c, e, b->s, 0));
    CHECK(c == NULL, "*out not set to NULL");
    /* bad item ids */
    FAILS(PZ_EINVAL, "item id", b->why, pz_override_block_item(e, "alice", b->s, 0));
    FAILS(PZ_EINVAL, "item id", b->why, pz_override_pin(e, "alice", b->s, 0, 0));
    FAILS(PZ_EINVAL, "item id", b->why, pz_override_not_interested(e, "alice", b->s, 0));
    FAILS(PZ_EINVAL, "item id", b->why, pz_override_clear(e, "alice", PZ_CHOICE_BLOCK_ITEM, b->s));
  }
  for (size_t i = 0; i < N_BAD_FEATURES; i++) {
    const bad_str *b = &bad_features[i];
    g_case = b->label;
    FAILS(PZ_EINVAL, "feature", b->why, pz_override_block_feature(e, "alice", b->s, 0));
    FAILS(PZ_EINVAL, "feature", b->why, pz_override_require(e, "alice", b->s, 0));
    FAILS(PZ_EINVAL, "feature", b->why, pz_override_adjust(e, "alice", b->s, 2, 0));
    FAILS(PZ_EINVAL, "feature", b->why, pz_override_more(e, "alice", b->s, 0));
    FAILS(PZ_EINVAL, "feature", b->why, pz_override_less(e, "alice", b->s, 0));
    FAILS(PZ_EINVAL, "feature", b->why, pz_override_clear(e, "alice", PZ_CHOICE_REQUIRE, b->s));
  }
  g_case = "";
  /* unknown names: a refused item, a user or a choice that is not there */
  FAILS(PZ_ENOTFOUND, "no item", "ghost", pz_override_block_item(e, "alice", "ghost", 0));
  FAILS(PZ_ENOTFOUND, "no item", "ghost", pz_override_pin(e, "alice", "ghost", 0, 0));
  FAILS(PZ_ENOTFOUND, "no item", "ghost", pz_override_not_interested(e, "alice", "ghost", 0));
  FAILS(PZ_ENOTFOUND, "no user", "zed", pz_override_clear_all(e, "zed"));
  FAILS(PZ_ENOTFOUND, "no user", "zed", pz_override_clear(e, "zed", PZ_CHOICE_PIN, "item1"));
  FAILS(PZ_ENOTFOUND, "no such choice", NULL, pz_override_clear(e, "alice", PZ_CHOICE_PIN, "item1"));
  world_verify(w);
  /* a feature nobody has yet and ids at their limits are fine */
  OK(pz_override_block_feature(e, "nova", feat1024, 0));
  OK(pz_override_require(e, id255, "brand-new=feature", 0));
  OK(pz_override_opted_out(&out, e, "never-seen"));
  CHECK(out == 0, "opted_out %d", out);
  world_close(w);
  soft_end();
}

static void test_badinput_override_numbers(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  for (size_t i = 0; i < N_NONFINITE; i++) {
    g_case = nonfinite[i].label;
    FAILS(PZ_EINVAL, "factor", nonfinite[i].why,
          pz_override_adjust(e, "alice", "genre=jazz", nonfinite[i].v, 0));
  }
  static const double out_of_bounds[] = {0, -1, -0.0, 1, 0.09, 10.5, 1e300,
                                         -1e300, 5e-324};
  for (size_t i = 0; i < sizeof out_of_bounds / sizeof *out_of_bounds; i++) {
    char label[32];
    snprintf(label, sizeof label, "factor %g", out_of_bounds[i]);
    g_case = label;
    FAILS(PZ_ERANGE, "factor", NULL,
          pz_override_adjust(e, "alice", "genre=jazz", out_of_bounds[i], 0));
  }
  g_case = "";
  static const int64_t bad_expiry[] = {-1, INT64_MIN};
  for (size_t i = 0; i < 2; i++) {
    FAILS(PZ_EINVAL, "expires_ms", NULL, pz_override_block_item(e, "alice", "item1", bad_expiry[i]));
    FAILS(PZ_EINVAL, "expires_ms", NULL, pz_override_block_feature(e, "alice", "genre=jazz", bad_expiry[i]));
    FAILS(PZ_EINVAL, "expires_ms", NULL, pz_override_more(e, "alice", "genre=jazz", bad_expiry[i]));
  }
  static const int64_t past[] = {1, T0 - 1, T0};
  for (size_t i = 0; i < 3; i++) {
    FAILS(PZ_ERANGE, "expires_ms", "not after now",
          pz_override_require(e, "alice", "genre=jazz", past[i]));
    FAILS(PZ_ERANGE, "expires_ms", "not after now",
          pz_override_pin(e, "alice", "item1", 0, past[i]));
  }
  static const int32_t bad_pos[] = {-2, INT32_MIN, 1000, INT32_MAX};
  for (size_t i = 0; i < sizeof bad_pos / sizeof *bad_pos; i++)
    FAILS(PZ_ERANGE, "position", NULL, pz_override_pin(e, "alice", "item1", bad_pos[i], 0));
  static const int bad_flag[] = {2, -1, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof bad_flag / sizeof *bad_flag; i++)
    FAILS(PZ_EINVAL, "opted_out", NULL, pz_override_opt_out(e, "alice", bad_flag[i]));
  static const int bad_kind[] = {0, 6, -1, INT_MAX, PZ_CHOICE_OPT_OUT};
  for (size_t i = 0; i < sizeof bad_kind / sizeof *bad_kind; i++)
    FAILS(PZ_EINVAL, "kind", NULL, pz_override_clear(e, "alice", bad_kind[i], "item1"));
  FAILS(PZ_EINVAL, "negative", NULL, pz_override_not_interested(e, "alice", "item1", -1));
  FAILS(PZ_ERANGE, "366 days", NULL,
        pz_override_not_interested(e, "alice", "item1", INT64_MAX));
  pz_choices *c = SENTINEL(pz_choices);
  FAILS(PZ_EINVAL, "negative", NULL, pz_override_list(&c, e, "alice", -1));
  CHECK(c == NULL, "*out not set to NULL");
  world_verify(w);
  /* the bounds themselves are accepted; an expiry one ms ahead too */
  OK(pz_override_adjust(e, "alice", "genre=jazz", 0.1, 0));
  OK(pz_override_adjust(e, "alice", "genre=rock", 10, T0 + 1));
  OK(pz_override_pin(e, "alice", "item2", 999, 0));
  world_close(w);
  soft_end();
}

static void test_badinput_override_list_and_rules(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  pz_choices *c = SENTINEL(pz_choices);
  FAILS(PZ_EINVAL, "out", NULL, pz_override_list(NULL, e, "alice", 0));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_list(&c, NULL, "alice", 0));
  CHECK(c == NULL, "*out not set to NULL");
  c = SENTINEL(pz_choices);
  FAILS(PZ_ENOTFOUND, "no user", NULL, pz_override_list(&c, e, "zed", 0));
  CHECK(c == NULL, "*out not set to NULL");
  CHECK(pz_choices_count(NULL) == 0, "count(NULL)");
  CHECK(pz_choices_kind(NULL, 0) == 0, "kind(NULL)");
  CHECK(pz_choices_target(NULL, 0) == NULL, "target(NULL)");
  CHECK(isnan(pz_choices_factor(NULL, 0)), "factor(NULL)");
  CHECK(pz_choices_position(NULL, 0) == -2, "position(NULL)");
  CHECK(pz_choices_created(NULL, 0) == -1, "created(NULL)");
  CHECK(pz_choices_expires(NULL, 0) == -1, "expires(NULL)");
  pz_choices_free(NULL);
  OK(pz_override_more(e, "alice", "genre=jazz", 0));
  OK(pz_override_list(&c, e, "alice", 0));
  CHECK(pz_choices_count(c) == 1, "%zu choices", pz_choices_count(c));
  CHECK(pz_choices_kind(c, 1) == 0 && pz_choices_target(c, 1) == NULL &&
            isnan(pz_choices_factor(c, 1)) && pz_choices_position(c, 1) == -2 &&
            pz_choices_created(c, SIZE_MAX) == -1 &&
            pz_choices_expires(c, SIZE_MAX) == -1,
        "out-of-range accessors");
  pz_choices_free(c);
  OK(pz_override_clear_all(e, "alice"));
  /* rules */
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_rules_load(NULL, "", 0));
  FAILS(PZ_EINVAL, "yaml", NULL, pz_override_rules_load(e, NULL, 5));
  pz_list *l = SENTINEL(pz_list);
  FAILS(PZ_EINVAL, "out", NULL, pz_override_rules(NULL, e));
  FAILS(PZ_EINVAL, "engine", NULL, pz_override_rules(&l, NULL));
  CHECK(l == NULL, "*out not set to NULL");
  static const struct {
    const char *doc;
    size_t len;
    const char *why;
  } bad[] = {
      {"rules: [{name: \"\xC0\x80\", kind: filter, match: {items: [x]}}]", 0,
       "UTF-8"},
      {"rules: [{name: a, kind: filter, match: {items: [\"\xFF\"]}}]", 0,
       "UTF-8"},
      {"rules: [{name: a, kind: filter, match: {features: [\"\"]}}]", 0,
       "1 to 1024 bytes"},
      {"rules: [{name: a\0b, kind: filter}]", 33, NULL},
      {"rules: [{name: a, kind: boost, factor: nan, match: {items: [x]}}]", 0,
       "factor"},
      {"rules: [{name: a, kind: boost, factor: 1e999, match: {items: [x]}}]",
       0, "factor"},
      {"rules: [{name: a, kind: promote, slots: -1, match: {items: [x]}}]", 0,
       "slots"},
      {"rules: [{name: a, kind: promote, slots: 99999999999999999999, match: "
       "{items: [x]}}]",
       0, "slots"},
      {"rules: [{name: a, kind: pin, item: x, position: -1}]", 0, "position"},
      {"rules: [[1, 2]]", 0, "a rule must be a map"},
      {"rules: [{name: [a], kind: filter}]", 0, NULL},
      {"rules: [{name: a, kind: filter, match: {items: []}}]", 0,
       "must not be empty"},
      {"rules: [{name: a, kind: filter, match: {items: x, color: red}}]", 0,
       "unknown key"},
      {"- just a list", 0, NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char label[16];
    snprintf(label, sizeof label, "rules %zu", i);
    g_case = label;
    size_t len = bad[i].len ? bad[i].len : strlen(bad[i].doc);
    prime_errmsg();
    int rc = pz_override_rules_load(e, bad[i].doc, len);
    CHECK(rc == PZ_ECONFIG || rc == PZ_EFORMAT, "rc %d: %s", rc, pz_errmsg());
    CHECK(mentions(pz_errmsg(), bad[i].why), "errmsg %s", pz_errmsg());
    CHECK(!strstr(pz_errmsg(), PRIME_MARK), "no message of its own");
  }
  g_case = "";
  /* 257 rules: the limit */
  size_t cap = 300 * 64, n = 0;
  char *doc = malloc(cap);
  n += (size_t)snprintf(doc + n, cap - n, "rules:\n");
  for (int i = 0; i < 257; i++)
    n += (size_t)snprintf(doc + n, cap - n,
                          "  - {name: r%d, kind: filter, match: {items: [x]}}\n",
                          i);
  FAILS(PZ_ECONFIG, "at most 256 rules", NULL, pz_override_rules_load(e, doc, n));
  free(doc);
  world_verify(w);
  world_close(w);
  soft_end();
}

static void test_badinput_recommend_options_v2(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  pz_recommend_options o;
  const char *good[] = {"item1"};
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    const char *one[] = {bad_ids[i].s};
    if (!bad_ids[i].s) continue;
    g_case = bad_ids[i].label;
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.exclude = one;
    o.n_exclude = 1;
    RECS_FAIL(PZ_EINVAL, "exclude[0]", bad_ids[i].why, "alice", 5, &o);
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.restrict_to = one;
    o.n_restrict = 1;
    RECS_FAIL(PZ_EINVAL, "restrict_to[0]", bad_ids[i].why, "alice", 5, &o);
  }
  for (size_t i = 0; i < N_BAD_FEATURES; i++) {
    const char *one[] = {bad_features[i].s};
    g_case = bad_features[i].label;
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.context = one;
    o.n_context = 1;
    RECS_FAIL(PZ_EINVAL, "feature", bad_features[i].why, "alice", 5, &o);
  }
  g_case = "";
  const char *nul[] = {NULL};
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  o.exclude = nul;
  o.n_exclude = 1;
  RECS_FAIL(PZ_EINVAL, "exclude[0]", "NULL", "alice", 5, &o);
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  o.n_exclude = 2;
  RECS_FAIL(PZ_EINVAL, "exclude", "NULL", "alice", 5, &o);
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  o.n_restrict = 2;
  RECS_FAIL(PZ_EINVAL, "restrict_to", "NULL", "alice", 5, &o);
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  o.n_context = 2;
  RECS_FAIL(PZ_EINVAL, "context", "NULL", "alice", 5, &o);
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  o.exclude = good;
  o.n_exclude = 100001;
  RECS_FAIL(PZ_ERANGE, "exclude", "at most", "alice", 5, &o);
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  o.restrict_to = good;
  o.n_restrict = SIZE_MAX;
  RECS_FAIL(PZ_ERANGE, "restrict_to", "at most", "alice", 5, &o);
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  o.context = good;
  o.n_context = 1001;
  RECS_FAIL(PZ_ERANGE, "context", "at most", "alice", 5, &o);
  static const double bad_w[] = {NAN, INFINITY, -INFINITY, 0, -1, 100.5, 1e300};
  for (size_t i = 0; i < sizeof bad_w / sizeof *bad_w; i++) {
    char label[32];
    snprintf(label, sizeof label, "weight %g", bad_w[i]);
    g_case = label;
    const char *ctx[] = {"genre=jazz"};
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.context = ctx;
    o.context_weights = &bad_w[i];
    o.n_context = 1;
    RECS_FAIL(isfinite(bad_w[i]) ? PZ_ERANGE : PZ_EINVAL, "weight", NULL,
              "alice", 5, &o);
  }
  g_case = "";
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  static const double nonfinite_div[] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < 3; i++) {
    o.diversity = nonfinite_div[i]; /* -inf is not "negative: the config's" */
    RECS_FAIL(PZ_EINVAL, "diversity", NULL, "alice", 5, &o);
  }
  static const double big_div[] = {1.0000001, 1e300};
  for (size_t i = 0; i < 2; i++) {
    o.diversity = big_div[i];
    RECS_FAIL(PZ_ERANGE, "diversity", NULL, "alice", 5, &o);
  }
  static const int bad_terse[] = {2, -1, INT_MAX};
  for (size_t i = 0; i < 3; i++) {
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.terse = bad_terse[i];
    RECS_FAIL(PZ_EINVAL, "terse", NULL, "alice", 5, &o);
  }
  static const size_t bad_off[] = {996, 1000, SIZE_MAX, SIZE_MAX - 4};
  for (size_t i = 0; i < sizeof bad_off / sizeof *bad_off; i++) {
    pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
    o.offset = bad_off[i];
    RECS_FAIL(PZ_ERANGE, "offset", "max_k", "alice", 5, &o);
  }
  world_verify(w);
  /* the edges are accepted: offset + k == max_k, -inf diversity (config),
   * an empty restrict list, duplicates */
  pz_recs *r = NULL;
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  o.offset = 995;
  OK(pz_recommend(&r, e, "alice", 5, &o));
  CHECK(pz_recs_count(r) == 0, "%zu recs past the end", pz_recs_count(r));
  pz_recs_free(r);
  o.offset = 0;
  o.diversity = -1; /* negative: the config's */
  const char *dup[] = {"item1", "item1", "ghost"};
  o.restrict_to = dup;
  o.n_restrict = 3;
  r = NULL;
  OK(pz_recommend(&r, e, "alice", 5, &o));
  CHECK(pz_recs_count(r) <= 1, "%zu recs", pz_recs_count(r));
  pz_recs_free(r);
  /* accessors of the new fields */
  CHECK(pz_recs_flags(NULL, 0) == 0, "flags(NULL)");
  CHECK(isnan(pz_recs_factor(NULL, 0, PZ_FACTOR_PERSON)), "factor(NULL)");
  CHECK(pz_recs_rule(NULL, 0) == NULL, "rule(NULL)");
  r = NULL;
  OK(pz_recommend(&r, e, "alice", 2, NULL));
  CHECK(isnan(pz_recs_factor(r, 0, 0)) && isnan(pz_recs_factor(r, 0, 3)) &&
            isnan(pz_recs_factor(r, 5, PZ_FACTOR_RULES)) &&
            pz_recs_factor(r, 0, PZ_FACTOR_RULES) == 1.0,
        "factor sources");
  CHECK(pz_recs_flags(r, 99) == 0 && pz_recs_rule(r, 99) == NULL, "range");
  pz_recs_free(r);
  world_close(w);
  soft_end();
}

/* Limits: the n-th choice past max_choices and the 65th requirement. */
static void test_badinput_override_limits(void **state) {
  world *w = *state;
  pz_engine *e = w->e;
  char f[32];
  for (int i = 0; i < 64; i++) {
    snprintf(f, sizeof f, "req=%d", i);
    OK(pz_override_require(e, "lim", f, 0));
  }
  FAILS(PZ_ELIMIT, "64 requirements", NULL, pz_override_require(e, "lim", "req=64", 0));
  OK(pz_override_require(e, "lim", "req=3", 0)); /* a replacement is fine */
  for (int i = 64; i < 1000; i++) {
    snprintf(f, sizeof f, "more=%d", i);
    OK(pz_override_more(e, "lim", f, 0));
  }
  FAILS(PZ_ELIMIT, "1000 choices", NULL, pz_override_less(e, "lim", "one=more", 0));
  pz_choices *c = NULL;
  OK(pz_override_list(&c, e, "lim", 0));
  CHECK(pz_choices_count(c) == 1000, "%zu choices", pz_choices_count(c));
  pz_choices_free(c);
  world_close(w);
  soft_end();
}

int main(void) {
  init_inputs();
#define W(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_badinput_strerror_errmsg_version),
      cmocka_unit_test(test_badinput_options_init),
      cmocka_unit_test(test_badinput_engine_open_args),
      cmocka_unit_test(test_badinput_engine_open_missing_file),
      cmocka_unit_test(test_badinput_config_rejected),
      cmocka_unit_test(test_badinput_config_file_positions),
      W(test_badinput_engine_clock),
      cmocka_unit_test(test_badinput_free_null),
      cmocka_unit_test(test_badinput_feature_hash),
      W(test_badinput_svec_args),
      W(test_badinput_svec_nonfinite),
      W(test_badinput_svec_huge_finite),
      W(test_badinput_svec_top),
      W(test_badinput_item_put),
      W(test_badinput_item_put_huge_weight),
      W(test_badinput_item_remove),
      W(test_badinput_item_popularity_count),
      W(test_badinput_track_ids),
      W(test_badinput_track_values),
      W(test_badinput_track_unknown_names),
      cmocka_unit_test(test_badinput_track_far_future),
      W(test_badinput_track_overflow),
      W(test_badinput_set_attributes),
      cmocka_unit_test(test_badinput_attribute_limit),
      W(test_badinput_get_attributes),
      W(test_badinput_get_string_bufs),
      W(test_badinput_remove_attribute),
      W(test_badinput_consent),
      W(test_badinput_interests),
      W(test_badinput_counts),
      W(test_badinput_merge),
      W(test_badinput_erase),
      W(test_badinput_export),
      W(test_badinput_recommend_args),
      W(test_badinput_recommend_k),
      W(test_badinput_recommend_options),
      W(test_badinput_result_accessors),
      cmocka_unit_test(test_badinput_ids_at_limit),
      W(test_badinput_override_ids),
      W(test_badinput_override_numbers),
      W(test_badinput_override_list_and_rules),
      W(test_badinput_recommend_options_v2),
      W(test_badinput_override_limits),
  };
#undef W
  return cmocka_run_group_tests_name("badinput", tests, NULL, NULL);
}
