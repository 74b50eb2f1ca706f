/* Bad input to the collaborative-filtering API (DESIGN.md section 4): NULL
 * pointers, wrong struct versions, unknown enum values, NaN, negative and
 * huge option values, bad item ids and k for pz_similar_items, small loss
 * buffers, broken `cf:` configuration, training with nothing to train on,
 * missing and malformed import files, and interactions that must not count
 * (value 0, negative weights, no consent). Every rejected call returns its
 * documented code with a message of its own, sets *out to NULL where the
 * header says so, and leaves the serving model as it was; and every score
 * that comes back, whatever the options, is finite.
 *
 * Checks are "soft" (soft.h): every mismatch is printed with its line and
 * case, and the test fails at its end with their number. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

#include "soft.h"

#define T0 INT64_C(1700000000000)

/* ---- inputs --------------------------------------------------------------- */

static char id255[PZ_ID_MAX + 1]; /* 255 ASCII bytes: a valid id */
static char id256[PZ_ID_MAX + 2]; /* 256 bytes: too long */
static char id_cut[PZ_ID_MAX + 1]; /* 254 ASCII + 0xC3: cut inside a char */
static char id_huge[1 << 16];

static void fill(char *buf, size_t len, char c) {
  memset(buf, c, len);
  buf[len] = '\0';
}

static int init_inputs(void **state) {
  (void)state;
  fill(id255, 255, 'a');
  fill(id256, 256, 'c');
  fill(id_cut, 254, 'e');
  id_cut[254] = '\xC3';
  fill(id_huge, sizeof id_huge - 1, 'f');
  return 0;
}

typedef struct bad_str {
  const char *s, *why, *label;
} bad_str;

static const bad_str bad_ids[] = {
    {NULL, "NULL", "NULL id"},
    {"", "empty", "empty id"},
    {id256, "longer", "256-byte id"},
    {id_huge, "longer", "64 KiB id"},
    {id_cut, "UTF-8", "255-byte id cut inside a char"},
    {"\x80", "UTF-8", "lone 0x80"},
    {"\xC0\x80", "UTF-8", "overlong C0 80"},
    {"\xED\xA0\x80", "UTF-8", "surrogate"},
    {"\xF4\x90\x80\x80", "UTF-8", "above U+10FFFF"},
    {"ok\xE2\x82", "UTF-8", "truncated at the end"},
    {"\xFF", "UTF-8", "0xFF"},
};
#define N_BAD_IDS (sizeof bad_ids / sizeof *bad_ids)

/* ---- engines ---------------------------------------------------------------- */

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
    print_error("%s:%d: after pz_engine_free: live_blocks %ld, bad_osize %ld\n",
                __FILE__, line, o->ta.live_blocks, o->ta.bad_osize);
  }
}
#define own_close(o) own_close_((o), __LINE__)

static const char small_cfg[] =
    "events: {view: 1, buy: 3, dislike: -1}\n"
    "ranking: {content_weight: 0.5, popularity_weight: 0.2, cf_weight: 1, "
    "max_k: 50}\n"
    "cf: {algorithm: both, factors: 4, iterations: 3, neighbours: 5}\n";

/* 12 items with features, 10 users with 4 items each (the first viewed
 * with value 3). */
static void populate(pz_engine *e) {
  char id[16], user[16];
  for (int i = 0; i < 12; i++) {
    snprintf(id, sizeof id, "i%d", i);
    const char *f[] = {i % 2 ? "genre=jazz" : "genre=rock", "tag=x"};
    OK(pz_item_put(e, id, f, NULL, 2));
  }
  for (int u = 0; u < 10; u++) {
    snprintf(user, sizeof user, "u%d", u);
    for (int j = 0; j < 4; j++) {
      snprintf(id, sizeof id, "i%d", (u + 5 * j) % 12);
      OK(pz_track(e, user, id, "view", j ? 1 : 3, 0));
    }
  }
}

/* What the serving model is, as text ("none" without one). */
static void model_text(char *buf, size_t cap, pz_engine *e) {
  pz_cf_stats s;
  memset(&s, 0, sizeof s);
  s.version = PZ_CF_STATS_VERSION;
  int rc = pz_cf_stats_get(&s, e);
  if (rc) {
    snprintf(buf, cap, "none (%d)", rc);
    return;
  }
  snprintf(buf, cap, "alg %d users %u items %u nnz %llu f %u k %u it %u th %u "
                     "erased %u at %lld",
           s.algorithm, s.users, s.items, (unsigned long long)s.interactions,
           s.factors, s.neighbours, s.iterations, s.threads, s.erased_since,
           (long long)s.trained_at_ms);
}

/* Every score and contribution of a list is finite, and there are at
 * most k. */
static void check_finite_(const pz_recs *r, size_t k, int line) {
  size_t n = pz_recs_count(r);
  if (n > k) {
    g_soft++;
    print_error("%s:%d: [%s] %zu entries for k %zu\n", __FILE__, line, g_case,
                n, k);
  }
  for (size_t i = 0; i < n; i++) {
    bool ok = isfinite(pz_recs_score(r, i));
    for (int s = PZ_SIGNAL_CONTENT; s <= PZ_SIGNAL_CF; s++)
      ok = ok && isfinite(pz_recs_contribution(r, i, s));
    for (size_t j = 0; pz_recs_because(r, i, j); j++)
      ok = ok && isfinite(pz_recs_because_share(r, i, j));
    if (!ok) {
      g_soft++;
      print_error("%s:%d: [%s] %s: score %g, CF %g, share %g: not finite\n",
                  __FILE__, line, g_case, pz_recs_item(r, i),
                  pz_recs_score(r, i),
                  pz_recs_contribution(r, i, PZ_SIGNAL_CF),
                  pz_recs_because_share(r, i, 0));
      return;
    }
  }
}
#define check_finite(r, k) check_finite_((r), (k), __LINE__)

/* ---- options init ---------------------------------------------------------- */

static void test_cf_badinput_options_init(void **state) {
  (void)state;
  soft_begin();
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cf_options_init(NULL, PZ_CF_OPTIONS_VERSION));
  pz_cf_options o;
  pz_cf_import_options io;
  static const unsigned versions[] = {0, 2, 99, UINT_MAX};
  for (size_t i = 0; i < 4; i++) {
    FAILS(PZ_EVERSION, "version", NULL, pz_cf_options_init(&o, versions[i]));
    FAILS(PZ_EVERSION, "version", NULL,
          pz_cf_import_options_init(&io, versions[i]));
  }
  memset(&o, 0x5A, sizeof o);
  OK(pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION));
  CHECK(o.version == PZ_CF_OPTIONS_VERSION && o.algorithm == PZ_CF_CONFIG &&
            o.weighting == PZ_CF_WEIGHT_CONFIG && o.neighbours == 0 &&
            o.factors == 0 && o.iterations == 0 && o.cg_steps == 0 &&
            o.threads == 0 && o.seed == 0,
        "integer fields not 0 after init");
  CHECK(o.regularization == -1 && o.alpha == -1 && o.bm25_k1 == -1 &&
            o.bm25_b == -1 && o.als_share == -1,
        "real fields not -1 after init");
  FAILS(PZ_EINVAL, "NULL", NULL,
        pz_cf_import_options_init(NULL, PZ_CF_IMPORT_OPTIONS_VERSION));
  memset(&io, 0x5A, sizeof io);
  OK(pz_cf_import_options_init(&io, PZ_CF_IMPORT_OPTIONS_VERSION));
  CHECK(io.format == PZ_CF_FORMAT_AUTO && io.event_type == NULL &&
            io.binary == 0 && isinf(io.min_value) && io.min_value < 0 &&
            io.use_timestamps == 1 && io.now_ms == 0,
        "import defaults");
  soft_end();
}

/* ---- training options ---------------------------------------------------------- */

typedef struct bad_opt {
  const char *label;
  int code;
  const char *needle;
  void (*set)(pz_cf_options *o);
} bad_opt;

#define SETTER(name, stmt) \
  static void name(pz_cf_options *o) { stmt; }
SETTER(alg_neg, o->algorithm = -1)
SETTER(alg_5, o->algorithm = 5)
SETTER(alg_big, o->algorithm = INT_MAX)
SETTER(wt_neg, o->weighting = -1)
SETTER(wt_4, o->weighting = 4)
SETTER(factors_1025, o->factors = 1025)
SETTER(factors_2000, o->factors = 2000)
SETTER(factors_max, o->factors = UINT32_MAX)
SETTER(neigh_1025, o->neighbours = 1025)
SETTER(iter_10001, o->iterations = 10001)
SETTER(cg_1025, o->cg_steps = 1025)
SETTER(threads_257, o->threads = 257)
SETTER(threads_100000, o->threads = 100000)
SETTER(reg_nan, o->regularization = NAN)
SETTER(alpha_nan, o->alpha = NAN)
SETTER(k1_nan, o->bm25_k1 = NAN)
SETTER(b_nan, o->bm25_b = NAN)
SETTER(share_nan, o->als_share = NAN)
SETTER(reg_neg, o->regularization = -0.5)
SETTER(reg_m2, o->regularization = -2)
SETTER(reg_huge, o->regularization = 1e10)
SETTER(reg_inf, o->regularization = INFINITY)
SETTER(alpha_neg, o->alpha = -1e-9)
SETTER(alpha_inf, o->alpha = INFINITY)
SETTER(alpha_minf, o->alpha = -INFINITY)
SETTER(k1_huge, o->bm25_k1 = 2e9)
SETTER(b_15, o->bm25_b = 1.5)
SETTER(b_neg, o->bm25_b = -0.25)
SETTER(share_15, o->als_share = 1.5)
SETTER(share_dbl_max, o->als_share = DBL_MAX)
SETTER(ver_0, o->version = 0)
SETTER(ver_2, o->version = 2)

static const bad_opt bad_opts[] = {
    {"algorithm -1", PZ_EINVAL, "algorithm", alg_neg},
    {"algorithm 5", PZ_EINVAL, "algorithm", alg_5},
    {"algorithm INT_MAX", PZ_EINVAL, "algorithm", alg_big},
    {"weighting -1", PZ_EINVAL, "weighting", wt_neg},
    {"weighting 4", PZ_EINVAL, "weighting", wt_4},
    {"factors 1025", PZ_ERANGE, "factors", factors_1025},
    {"factors 2000", PZ_ERANGE, "factors", factors_2000},
    {"factors UINT32_MAX", PZ_ERANGE, "factors", factors_max},
    {"neighbours 1025", PZ_ERANGE, "neighbours", neigh_1025},
    {"iterations 10001", PZ_ERANGE, "iterations", iter_10001},
    {"cg_steps 1025", PZ_ERANGE, "cg_steps", cg_1025},
    {"threads 257", PZ_ERANGE, "threads", threads_257},
    {"threads 100000", PZ_ERANGE, "threads", threads_100000},
    {"regularization NaN", PZ_EINVAL, "regularization", reg_nan},
    {"alpha NaN", PZ_EINVAL, "alpha", alpha_nan},
    {"bm25_k1 NaN", PZ_EINVAL, "bm25_k1", k1_nan},
    {"bm25_b NaN", PZ_EINVAL, "bm25_b", b_nan},
    {"als_share NaN", PZ_EINVAL, "als_share", share_nan},
    {"regularization -0.5", PZ_ERANGE, "regularization", reg_neg},
    {"regularization -2", PZ_ERANGE, "regularization", reg_m2},
    {"regularization 1e10", PZ_ERANGE, "regularization", reg_huge},
    {"regularization inf", PZ_ERANGE, "regularization", reg_inf},
    {"alpha -1e-9", PZ_ERANGE, "alpha", alpha_neg},
    {"alpha inf", PZ_ERANGE, "alpha", alpha_inf},
    {"alpha -inf", PZ_ERANGE, "alpha", alpha_minf},
    {"bm25_k1 2e9", PZ_ERANGE, "bm25_k1", k1_huge},
    {"bm25_b 1.5", PZ_ERANGE, "bm25_b", b_15},
    {"bm25_b -0.25", PZ_ERANGE, "bm25_b", b_neg},
    {"als_share 1.5", PZ_ERANGE, "als_share", share_15},
    {"als_share DBL_MAX", PZ_ERANGE, "als_share", share_dbl_max},
    {"version 0", PZ_EVERSION, "version", ver_0},
    {"version 2", PZ_EVERSION, "version", ver_2},
};

static void test_cf_badinput_train_options(void **state) {
  (void)state;
  soft_begin();
  own o;
  own_open(&o, small_cfg);
  populate(o.e);
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cf_train(NULL, NULL));
  pz_cf_options opt;
  pz_cf_options_init(&opt, PZ_CF_OPTIONS_VERSION);
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cf_train(NULL, &opt));
  OK(pz_cf_train(o.e, NULL));
  char before[256], after[256];
  model_text(before, sizeof before, o.e);
  o.tc.now = T0 + 1000; /* a retraining would show in trained_at */
  for (size_t i = 0; i < sizeof bad_opts / sizeof *bad_opts; i++) {
    g_case = bad_opts[i].label;
    pz_cf_options_init(&opt, PZ_CF_OPTIONS_VERSION);
    bad_opts[i].set(&opt);
    FAILS(bad_opts[i].code, bad_opts[i].needle, NULL, pz_cf_train(o.e, &opt));
    model_text(after, sizeof after, o.e);
    CHECK(strcmp(before, after) == 0, "model changed: %s -> %s", before,
          after);
  }
  g_case = "";
  /* accepted: 0 and -1 mean the config; the bounds themselves */
  pz_cf_options_init(&opt, PZ_CF_OPTIONS_VERSION);
  OK(pz_cf_train(o.e, &opt));
  model_text(after, sizeof after, o.e);
  CHECK(strstr(after, "alg 4 ") && strstr(after, " f 4 ") &&
            strstr(after, " k 5 ") && strstr(after, " it 3 "),
        "defaults of the options are not the config's: %s", after);
  pz_cf_options_init(&opt, PZ_CF_OPTIONS_VERSION);
  opt.algorithm = PZ_CF_KNN;
  opt.neighbours = 1024;
  opt.threads = 256;
  opt.weighting = PZ_CF_WEIGHT_BM25;
  opt.bm25_k1 = 0;
  opt.bm25_b = 1;
  OK(pz_cf_train(o.e, &opt));
  model_text(after, sizeof after, o.e);
  CHECK(strstr(after, " k 1024 ") && strstr(after, " th 256 "),
        "bounds: %s", after);
  pz_cf_options_init(&opt, PZ_CF_OPTIONS_VERSION);
  opt.algorithm = PZ_CF_ALS;
  opt.iterations = 1;
  opt.cg_steps = 1024;
  opt.regularization = 0;
  opt.alpha = 1e9; /* in range, but confidences above 1e6: refused */
  opt.als_share = 0;
  CHECK(pz_cf_train(o.e, &opt) == PZ_ERANGE, "alpha 1e9 not refused");
  opt.alpha = 1e5; /* confidences up to ~3e5 still train */
  OK(pz_cf_train(o.e, &opt));
  pz_recs *r = NULL;
  g_case = "alpha 1e5, regularization 0";
  OK(pz_recommend(&r, o.e, "u1", 12, NULL));
  check_finite(r, 12);
  pz_recs_free(r);
  g_case = "";
  own_close(&o);
  soft_end();
}

/* Models trained at the edges of the ranges: every score stays finite. */
static void test_cf_badinput_scores_finite(void **state) {
  (void)state;
  soft_begin();
  static const char *const cfs[] = {
      "algorithm: als, factors: 64, iterations: 5, regularization: 0, alpha: 0",
      "algorithm: als, factors: 64, iterations: 5, regularization: 0, "
      "alpha: 1000000000",
      "algorithm: als, factors: 1, iterations: 3, regularization: 1000000000, "
      "alpha: 1000000000",
      "algorithm: both, factors: 3, iterations: 2, regularization: 0, "
      "alpha: 0, als_share: 1",
      "algorithm: knn, weighting: bm25, bm25_k1: 0, bm25_b: 0",
      "algorithm: knn, weighting: bm25, bm25_k1: 1000000000, bm25_b: 1",
      "algorithm: knn, weighting: tfidf",
      "algorithm: knn, weighting: none, neighbours: 1",
  };
  for (size_t c = 0; c < sizeof cfs / sizeof *cfs; c++) {
    g_case = cfs[c];
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "events: {view: 1, heavy: 1000, dislike: -1}\n"
             "ranking: {content_weight: 0.5, popularity_weight: 0.2, "
             "cf_weight: 1000}\n"
             "cf: {%s}\n",
             cfs[c]);
    own o;
    own_open(&o, cfg);
    populate(o.e);
    /* a user with every item (TF-IDF: idf <= 0), huge amounts, a user
     * with one item, equal rows */
    for (int i = 0; i < 12; i++) {
      char id[16];
      snprintf(id, sizeof id, "i%d", i);
      OK(pz_track(o.e, "all", id, "view", 1, 0));
      if (i < 3) OK(pz_track(o.e, "huge", id, "heavy", 1e9, 0));
    }
    OK(pz_track(o.e, "one", "i0", "view", 1e-9, 0));
    OK(pz_track(o.e, "twin1", "i5", "view", 1, 0));
    OK(pz_track(o.e, "twin2", "i5", "view", 1, 0));
    /* alpha 1e9 times an amount of 1e12 overflows float: refused with
     * PZ_ERANGE and a message (no model then); anything else trains */
    pz_cf_options ko;
    pz_cf_options_init(&ko, PZ_CF_OPTIONS_VERSION);
    ko.algorithm = PZ_CF_KNN;
    if (c == 1) OK(pz_cf_train(o.e, &ko)); /* a model to keep */
    prime_errmsg();
    int rc = pz_cf_train(o.e, NULL);
    CHECK(rc == PZ_OK || (rc == PZ_ERANGE && strstr(pz_errmsg(), "alpha")),
          "pz_cf_train: %d %s", rc, pz_errmsg());
    if (c == 1)
      CHECK(rc == PZ_ERANGE, "an overflowing ALS trained (%d)", rc);
    if (rc) {
      pz_cf_stats s;
      s.version = PZ_CF_STATS_VERSION;
      int src = pz_cf_stats_get(&s, o.e);
      CHECK(c == 1 ? src == PZ_OK && s.algorithm == PZ_CF_KNN
                   : src == PZ_ENOTFOUND,
            "after the refused training: stats %d, algorithm %d", src,
            s.algorithm);
    }
    OK(pz_track(o.e, "late", "i3", "heavy", 1e9, 0));
    OK(pz_track(o.e, "late", "i4", "view", 1e-9, 0));
    static const char *const users[] = {"u0",   "all",   "huge", "one",
                                        "twin1", "late", "nobody"};
    for (size_t u = 0; u < sizeof users / sizeof *users; u++) {
      pz_recs *r = NULL;
      OK(pz_recommend(&r, o.e, users[u], 12, NULL));
      check_finite(r, 12);
      pz_recs_free(r);
    }
    for (int i = 0; i < 12; i++) {
      char id[16];
      snprintf(id, sizeof id, "i%d", i);
      pz_recs *r = NULL;
      OK(pz_similar_items(&r, o.e, id, 12));
      check_finite(r, 12);
      pz_recs_free(r);
    }
    /* the loss is a weighted sum of squares: finite and not below 0 (but
     * for rounding) */
    double loss[8];
    size_t n = 0;
    if (pz_cf_loss(loss, 8, &n, o.e) == PZ_OK)
      for (size_t i = 0; i < n; i++)
        CHECK(isfinite(loss[i]) && loss[i] >= -1e-6, "loss[%zu] = %g", i,
              loss[i]);
    own_close(&o);
  }
  g_case = "";
  soft_end();
}

/* Confidences far beyond float's comfort (alpha up to 1e9 and amounts up
 * to 1e9 are both valid): training must either refuse (PZ_ERANGE, the
 * model kept) or fit; it must not answer PZ_OK with a model that never
 * left its random start. (Found: with alpha 1e9 and one amount of 1e6 the
 * loss stays at its first value, 0.9996, sweep after sweep: in the
 * conjugate-gradient step p.Ap overflows float, the step becomes 0, and
 * the item factors stay the initial noise, served as a model.) */
static void test_cf_badinput_als_huge_confidence(void **state) {
  (void)state;
  soft_begin();
  static const struct {
    double alpha, value;
  } cases[] = {{1e9, 1e6}, {1e9, 1e9}, {1e6, 1e9}, {1e9, 1e3}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    char label[64], cfg[300];
    snprintf(label, sizeof label, "alpha %g, value %g", cases[c].alpha,
             cases[c].value);
    g_case = label;
    snprintf(cfg, sizeof cfg,
             "events: {view: 1}\n"
             "cf: {algorithm: als, factors: 8, iterations: 6, "
             "regularization: 1, alpha: %.17g}\n",
             cases[c].alpha);
    own o;
    own_open(&o, cfg);
    populate(o.e);
    for (int i = 0; i < 3; i++) {
      char id[16];
      snprintf(id, sizeof id, "i%d", i);
      OK(pz_track(o.e, "huge", id, "view", cases[c].value, 0));
    }
    int rc = pz_cf_train(o.e, NULL);
    CHECK(rc == PZ_OK || rc == PZ_ERANGE, "pz_cf_train: %d %s", rc,
          pz_errmsg());
    if (rc == PZ_OK) {
      double loss[6];
      size_t n = 0;
      OK(pz_cf_loss(loss, 6, &n, o.e));
      CHECK(n == 6 && loss[5] < loss[0] * (1 - 1e-3),
            "trained, but the loss went %.9g -> %.9g: the model did not fit",
            loss[0], loss[n ? n - 1 : 0]);
    }
    own_close(&o);
  }
  g_case = "";
  soft_end();
}

/* ---- stats and loss ---------------------------------------------------------------- */

static void test_cf_badinput_stats_loss(void **state) {
  (void)state;
  soft_begin();
  own o;
  own_open(&o, small_cfg);
  populate(o.e);
  pz_cf_stats s;
  memset(&s, 0, sizeof s);
  s.version = PZ_CF_STATS_VERSION;
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cf_stats_get(NULL, o.e));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cf_stats_get(&s, NULL));
  FAILS(PZ_ENOTFOUND, "model", NULL, pz_cf_stats_get(&s, o.e));
  double buf[4];
  size_t n = 77;
  FAILS(PZ_ENOTFOUND, "ALS", NULL, pz_cf_loss(buf, 4, &n, o.e));
  OK(pz_cf_train(o.e, NULL)); /* both, 3 iterations */
  static const unsigned versions[] = {0, 2, UINT_MAX};
  for (size_t i = 0; i < 3; i++) {
    s.version = versions[i];
    FAILS(PZ_EVERSION, "version", NULL, pz_cf_stats_get(&s, o.e));
  }
  s.version = PZ_CF_STATS_VERSION;
  OK(pz_cf_stats_get(&s, o.e));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cf_loss(buf, 4, NULL, o.e));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cf_loss(buf, 4, &n, NULL));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cf_loss(NULL, 4, &n, o.e));
  n = 0;
  FAILS(PZ_EBUFS, "3", NULL, pz_cf_loss(NULL, 0, &n, o.e));
  CHECK(n == 3, "*n_out %zu after EBUFS with cap 0", n);
  n = 0;
  buf[2] = -7;
  FAILS(PZ_EBUFS, NULL, NULL, pz_cf_loss(buf, 2, &n, o.e));
  CHECK(n == 3, "*n_out %zu after EBUFS with cap 2", n);
  CHECK(buf[2] == -7, "wrote past the cap");
  OK(pz_cf_loss(buf, 3, &n, o.e));
  CHECK(n == 3, "*n_out %zu", n);
  /* kNN only: no ALS model */
  pz_cf_options opt;
  pz_cf_options_init(&opt, PZ_CF_OPTIONS_VERSION);
  opt.algorithm = PZ_CF_KNN;
  OK(pz_cf_train(o.e, &opt));
  FAILS(PZ_ENOTFOUND, "ALS", NULL, pz_cf_loss(buf, 4, &n, o.e));
  own_close(&o);
  soft_end();
}

/* ---- similar items ---------------------------------------------------------------- */

static void test_cf_badinput_similar_items(void **state) {
  (void)state;
  soft_begin();
  own o;
  own_open(&o, small_cfg);
  populate(o.e);
  OK(pz_cf_train(o.e, NULL));
  pz_recs *r = SENTINEL(pz_recs);
  FAILS(PZ_EINVAL, "NULL", NULL, pz_similar_items(NULL, o.e, "i1", 5));
  FAILS(PZ_EINVAL, "NULL", NULL, pz_similar_items(&r, NULL, "i1", 5));
  CHECK(r == NULL, "*out not NULL");
  for (size_t i = 0; i < N_BAD_IDS; i++) {
    g_case = bad_ids[i].label;
    r = SENTINEL(pz_recs);
    FAILS(PZ_EINVAL, bad_ids[i].why, NULL,
          pz_similar_items(&r, o.e, bad_ids[i].s, 5));
    CHECK(r == NULL, "*out not NULL");
  }
  g_case = "";
  r = SENTINEL(pz_recs);
  FAILS(PZ_EINVAL, "k", NULL, pz_similar_items(&r, o.e, "i1", 0));
  CHECK(r == NULL, "*out not NULL");
  r = SENTINEL(pz_recs);
  FAILS(PZ_ERANGE, "max_k", NULL, pz_similar_items(&r, o.e, "i1", 51));
  CHECK(r == NULL, "*out not NULL");
  FAILS(PZ_ERANGE, "max_k", NULL, pz_similar_items(&r, o.e, "i1", SIZE_MAX));
  r = SENTINEL(pz_recs);
  FAILS(PZ_ENOTFOUND, "nosuch", NULL, pz_similar_items(&r, o.e, "nosuch", 5));
  CHECK(r == NULL, "*out not NULL");
  FAILS(PZ_ENOTFOUND, NULL, NULL, pz_similar_items(&r, o.e, id255, 5));
  OK(pz_item_remove(o.e, "i2"));
  FAILS(PZ_ENOTFOUND, "i2", NULL, pz_similar_items(&r, o.e, "i2", 5));
  /* k at max_k: fine, and no more than the other live items */
  r = NULL;
  OK(pz_similar_items(&r, o.e, "i1", 50));
  check_finite(r, 10);
  pz_recs_free(r);
  /* the result accessors past the end and on NULL */
  r = NULL;
  OK(pz_similar_items(&r, o.e, "i1", 3));
  CHECK(pz_recs_count(r) <= 3, "count %zu", pz_recs_count(r));
  CHECK(pz_recs_because(r, 0, 0) == NULL, "similar items have no because");
  CHECK(isnan(pz_recs_because_share(r, 0, 0)), "share not NaN");
  pz_recs_free(r);
  CHECK(pz_recs_because(NULL, 0, 0) == NULL, "because(NULL)");
  CHECK(isnan(pz_recs_because_share(NULL, 0, 0)), "share(NULL)");
  OK(pz_recommend(&r, o.e, "u1", 5, NULL));
  size_t n = pz_recs_count(r);
  CHECK(pz_recs_because(r, n, 0) == NULL, "because past the end");
  CHECK(pz_recs_because(r, SIZE_MAX, 0) == NULL, "because at SIZE_MAX");
  CHECK(pz_recs_because(r, 0, 3) == NULL, "a 4th because-item");
  CHECK(pz_recs_because(r, 0, SIZE_MAX) == NULL, "because j SIZE_MAX");
  CHECK(isnan(pz_recs_because_share(r, n, 0)), "share past the end");
  CHECK(isnan(pz_recs_because_share(r, 0, SIZE_MAX)), "share j SIZE_MAX");
  CHECK(isnan(pz_recs_contribution(r, 0, 5)), "signal 5");
  CHECK(isnan(pz_recs_contribution(r, 0, 0)), "signal 0");
  pz_recs_free(r);
  own_close(&o);
  soft_end();
}

/* ---- configuration ---------------------------------------------------------------- */

typedef struct bad_config {
  const char *label, *text, *where, *needle;
} bad_config;

static const bad_config bad_configs[] = {
    {"cf not a map", "cf: knn\n", "<string>:1:5:", "cf"},
    {"cf a list", "cf: [knn]\n", "<string>:1:5:", "cf"},
    {"unknown key", "cf:\n  algoritm: knn\n", "<string>:2:3:", "algoritm"},
    {"unknown key in flow", "cf: {factors: 8, neighbors: 5}\n",
     "<string>:1:18:", "neighbors"},
    {"bad algorithm", "cf:\n  algorithm: fast\n", "<string>:2:14:", "fast"},
    {"algorithm in capitals", "cf:\n  algorithm: KNN\n", "<string>:2:14:",
     "KNN"},
    {"algorithm a list", "cf:\n  algorithm: [knn]\n", "<string>:2:14:",
     "algorithm"},
    {"bad weighting", "cf:\n  weighting: idf\n", "<string>:2:14:", "idf"},
    {"weighting empty", "cf:\n  weighting: ''\n", "<string>:2:14:",
     "weighting"},
    {"factors 0", "cf:\n  factors: 0\n", "<string>:2:12:", "factors"},
    {"factors 1025", "cf:\n  factors: 1025\n", "<string>:2:12:", "factors"},
    {"factors negative", "cf:\n  factors: -8\n", "<string>:2:12:", "factors"},
    {"factors not whole", "cf:\n  factors: 8.5\n", "<string>:2:12:",
     "factors"},
    {"factors text", "cf:\n  factors: many\n", "<string>:2:12:", "factors"},
    {"factors a map", "cf:\n  factors: {n: 8}\n", "<string>:2:12:", "factors"},
    {"neighbours 0", "cf:\n  neighbours: 0\n", "<string>:2:15:",
     "neighbours"},
    {"neighbours 1025", "cf:\n  neighbours: 1025\n", "<string>:2:15:",
     "neighbours"},
    {"iterations 0", "cf:\n  iterations: 0\n", "<string>:2:15:",
     "iterations"},
    {"iterations 10001", "cf:\n  iterations: 10001\n", "<string>:2:15:",
     "iterations"},
    {"cg_steps 0", "cf:\n  cg_steps: 0\n", "<string>:2:13:", "cg_steps"},
    {"cg_steps 1025", "cf:\n  cg_steps: 1025\n", "<string>:2:13:",
     "cg_steps"},
    {"threads 0", "cf:\n  threads: 0\n", "<string>:2:12:", "threads"},
    {"threads 257", "cf:\n  threads: 257\n", "<string>:2:12:", "threads"},
    {"threads 100000", "cf:\n  threads: 100000\n", "<string>:2:12:",
     "threads"},
    {"seed negative", "cf:\n  seed: -1\n", "<string>:2:9:", "seed"},
    {"seed 2^64", "cf:\n  seed: 18446744073709551616\n", "<string>:2:9:",
     "seed"},
    {"regularization negative", "cf:\n  regularization: -0.1\n",
     "<string>:2:19:", "regularization"},
    {"regularization 1e10", "cf:\n  regularization: 1e10\n", "<string>:2:19:",
     "regularization"},
    {"alpha NaN", "cf:\n  alpha: .nan\n", "<string>:2:10:", "alpha"},
    {"alpha inf", "cf:\n  alpha: .inf\n", "<string>:2:10:", "alpha"},
    {"alpha text", "cf:\n  alpha: high\n", "<string>:2:10:", "alpha"},
    {"alpha bool", "cf:\n  alpha: true\n", "<string>:2:10:", "alpha"},
    {"bm25_k1 negative", "cf:\n  bm25_k1: -1\n", "<string>:2:12:", "bm25_k1"},
    {"bm25_b 1.5", "cf:\n  bm25_b: 1.5\n", "<string>:2:11:", "bm25_b"},
    {"als_share 2", "cf:\n  als_share: 2\n", "<string>:2:14:", "als_share"},
    {"als_share list", "cf:\n  als_share: [0.5]\n", "<string>:2:14:",
     "als_share"},
    {"duplicate key", "cf:\n  factors: 8\n  factors: 9\n", "<string>:3:3:",
     "factors"},
    {"cf_weight negative", "ranking:\n  cf_weight: -1\n", "<string>:2:14:",
     "cf_weight"},
    {"cf_weight 1001", "ranking:\n  cf_weight: 1001\n", "<string>:2:14:",
     "cf_weight"},
    {"cf_weight text", "ranking:\n  cf_weight: lots\n", "<string>:2:14:",
     "cf_weight"},
    {"cf_weight NaN", "ranking: {cf_weight: .nan}\n", "<string>:1:22:",
     "cf_weight"},
    {"cf_wieght", "ranking: {cf_wieght: 1}\n", "<string>:1:11:", "cf_wieght"},
};

static void check_position(const char *msg, const char *where,
                           const char *needle) {
  unsigned line = 0, col = 0;
  int end = 0;
  int ok = strncmp(msg, "<string>", 8) == 0 &&
           sscanf(msg + 8, ":%u:%u: %n", &line, &col, &end) == 2 && end > 0;
  CHECK(ok, "errmsg \"%s\" does not start with \"<string>:line:col: \"", msg);
  if (where)
    CHECK(strncmp(msg, where, strlen(where)) == 0,
          "errmsg \"%s\" does not start with \"%s\"", msg, where);
  CHECK(mentions(msg, needle), "errmsg \"%s\" does not mention \"%s\"", msg,
        needle ? needle : "");
}

static void test_cf_badinput_config(void **state) {
  (void)state;
  soft_begin();
  for (size_t i = 0; i < sizeof bad_configs / sizeof *bad_configs; i++) {
    const bad_config *c = &bad_configs[i];
    g_case = c->label;
    test_alloc ta;
    test_alloc_reset(&ta);
    pz_engine *e = SENTINEL(pz_engine);
    pz_engine_options o;
    pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
    o.alloc = test_alloc_fn;
    o.alloc_ud = &ta;
    o.config_text = c->text;
    o.config_len = strlen(c->text);
    FAILS(PZ_ECONFIG, NULL, NULL, pz_engine_open_with(&e, &o));
    CHECK(e == NULL, "*out not NULL");
    if (e && e != SENTINEL(pz_engine)) pz_engine_free(e);
    check_position(pz_errmsg(), c->where, c->needle);
    CHECK(ta.live_blocks == 0 && ta.bad_osize == 0,
          "leak: live_blocks %ld bad_osize %ld", ta.live_blocks, ta.bad_osize);
  }
  g_case = "";
  /* the edges are accepted */
  static const char *const good[] = {
      "cf: {algorithm: off}\n",
      "cf: {algorithm: knn, weighting: none}\n",
      "cf: {algorithm: als, weighting: tfidf}\n",
      "cf: {factors: 1, neighbours: 1, iterations: 1, cg_steps: 1, "
      "threads: 1}\n",
      "cf: {factors: 1024, neighbours: 1024, iterations: 10000, "
      "cg_steps: 1024, threads: 256}\n",
      "cf: {seed: 0, regularization: 0, alpha: 0, bm25_k1: 0, bm25_b: 0, "
      "als_share: 0}\n",
      "cf: {seed: 18446744073709551615, regularization: 1e9, alpha: 1e9, "
      "bm25_k1: 1e9, bm25_b: 1, als_share: 1}\n",
      "cf: {}\n",
      "ranking: {cf_weight: 0}\n",
      "ranking: {cf_weight: 1000}\n",
  };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    g_case = good[i];
    pz_engine *e = NULL;
    OK(pz_engine_open_string(&e, good[i], strlen(good[i])));
    pz_engine_free(e);
  }
  g_case = "";
  /* algorithm off in the config: training drops (or makes) no model */
  own o;
  own_open(&o, "cf: {algorithm: off}\n");
  populate(o.e);
  OK(pz_cf_train(o.e, NULL));
  pz_cf_stats s;
  s.version = PZ_CF_STATS_VERSION;
  FAILS(PZ_ENOTFOUND, NULL, NULL, pz_cf_stats_get(&s, o.e));
  own_close(&o);
  soft_end();
}

/* ---- nothing to train on ------------------------------------------------------------ */

static void test_cf_badinput_nothing_to_train(void **state) {
  (void)state;
  soft_begin();
  own o;
  own_open(&o, small_cfg);
  pz_cf_stats s;
  s.version = PZ_CF_STATS_VERSION;
  g_case = "empty engine";
  FAILS(PZ_ENOTFOUND, "interaction", NULL, pz_cf_train(o.e, NULL));
  FAILS(PZ_ENOTFOUND, NULL, NULL, pz_cf_stats_get(&s, o.e));
  g_case = "items, no events";
  for (int i = 0; i < 3; i++) {
    char id[16];
    snprintf(id, sizeof id, "i%d", i);
    OK(pz_item_put(o.e, id, NULL, NULL, 0));
  }
  FAILS(PZ_ENOTFOUND, "interaction", NULL, pz_cf_train(o.e, NULL));
  g_case = "only events that do not count";
  OK(pz_track(o.e, "zero", "i0", "view", 0, 0));     /* value 0 */
  OK(pz_track(o.e, "neg", "i1", "view", -2, 0));     /* negative value */
  OK(pz_track(o.e, "dis", "i2", "dislike", 1, 0));   /* negative weight */
  OK(pz_profile_set_string(o.e, "attrs", "city", "Oslo")); /* no events */
  OK(pz_track(o.e, "gone", "i0", "view", 1, 0));
  OK(pz_profile_set_consent(o.e, "gone", "personalization", 0));
  FAILS(PZ_ENOTFOUND, "interaction", NULL, pz_cf_train(o.e, NULL));
  FAILS(PZ_ENOTFOUND, NULL, NULL, pz_cf_stats_get(&s, o.e));
  pz_cf_options opt;
  pz_cf_options_init(&opt, PZ_CF_OPTIONS_VERSION);
  opt.algorithm = PZ_CF_ALS;
  FAILS(PZ_ENOTFOUND, "interaction", NULL, pz_cf_train(o.e, &opt));
  g_case = "";
  /* one real interaction, then the others are ignored by the model and at
   * request time */
  OK(pz_track(o.e, "real", "i0", "view", 1, 0));
  OK(pz_track(o.e, "real", "i1", "view", 1, 0));
  OK(pz_track(o.e, "real2", "i1", "view", 1, 0));
  OK(pz_track(o.e, "real2", "i2", "view", 1, 0));
  pz_cf_options_init(&opt, PZ_CF_OPTIONS_VERSION);
  opt.algorithm = PZ_CF_KNN;
  OK(pz_cf_train(o.e, &opt));
  OK(pz_cf_stats_get(&s, o.e));
  CHECK(s.users == 2 && s.interactions == 4, "users %u interactions %llu",
        s.users, (unsigned long long)s.interactions);
  static const char *const idle[] = {"zero", "neg", "dis", "attrs", "gone",
                                     "nobody"};
  for (size_t u = 0; u < sizeof idle / sizeof *idle; u++) {
    g_case = idle[u];
    pz_recs *r = NULL;
    OK(pz_recommend(&r, o.e, idle[u], 5, NULL));
    check_finite(r, 5);
    for (size_t i = 0; i < pz_recs_count(r); i++) {
      CHECK(pz_recs_contribution(r, i, PZ_SIGNAL_CF) == 0,
            "%s has CF %g", pz_recs_item(r, i),
            pz_recs_contribution(r, i, PZ_SIGNAL_CF));
      CHECK(pz_recs_because(r, i, 0) == NULL, "because-item");
      CHECK(pz_recs_reason_code(r, i) != PZ_REASON_CF, "CF reason");
    }
    pz_recs_free(r);
  }
  g_case = "";
  /* an item nobody interacted with: no neighbours, no features: empty */
  OK(pz_item_put(o.e, "lonely", NULL, NULL, 0));
  pz_recs *r = NULL;
  OK(pz_similar_items(&r, o.e, "lonely", 5));
  CHECK(pz_recs_count(r) == 0, "lonely has %zu similar items",
        pz_recs_count(r));
  pz_recs_free(r);
  own_close(&o);
  soft_end();
}

/* ---- import ------------------------------------------------------------------------ */

static char g_dir[64];

static int setup_all(void **state) {
  init_inputs(state);
  strcpy(g_dir, "/tmp/pz_cf_badinput_XXXXXX");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown_all(void **state) {
  (void)state;
  DIR *d = opendir(g_dir);
  if (!d) return -1;
  struct dirent *de;
  char p[sizeof g_dir + 256];
  while ((de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", g_dir, de->d_name);
    unlink(p);
  }
  closedir(d);
  return rmdir(g_dir);
}

static const char *put_file(char *path, size_t cap, const char *name,
                            const char *text) {
  snprintf(path, cap, "%s/%s", g_dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
  return path;
}

static void counts(pz_engine *e, size_t *profiles, size_t *items) {
  OK(pz_profile_count(profiles, e));
  OK(pz_item_count(items, e));
}

typedef struct bad_file {
  const char *label, *text, *line; /* line: "name:N" in the message */
} bad_file;

static const bad_file bad_files[] = {
    {"value not a number", "u1\ti1\t1\nu2\ti2\tlots\n", "bad1:2"},
    {"missing field", "u1\ti1\t1\nu2\ti2\n", "bad2:2"},
    {"extra field", "u1\ti1\t1\nu2\ti2\t1\t100\t7\n", "bad3:2"},
    {"mixed field counts", "u1\ti1\t1\t100\nu2\ti2\t1\n", "bad4:2"},
    {"empty id", "u1\ti1\t1\n\ti2\t1\n", "bad5:2"},
    {"id not UTF-8", "u1\ti1\t1\nu2\ti\xC3\t1\n", "bad6:2"},
    {"NaN value", "u1\ti1\t1\nu2\ti2\tnan\n", "bad7:2"},
    {"infinite value", "u1\ti1\t1\nu2\ti2\t1e999\n", "bad8:2"},
    {"negative timestamp", "u1\ti1\t1\t5\nu2\ti2\t1\t-5\n", "bad9:2"},
    {"empty line inside", "u1\ti1\t1\n\nu2\ti2\t1\n", "bad10:2"},
    {"late error", "u1\ti1\t1\nu2\ti2\t1\nu3\ti3\t1\nu4\ti4\tx\n", "bad11:4"},
    {"no separator", "just one field\n", "bad12:1"},
};

static void test_cf_badinput_import(void **state) {
  (void)state;
  soft_begin();
  own o;
  own_open(&o, small_cfg);
  populate(o.e);
  size_t p0, i0, p, i;
  counts(o.e, &p0, &i0);
  char path[sizeof g_dir + 64];
  put_file(path, sizeof path, "good.tsv", "u1\tnew1\t1\n");
  uint64_t rows = 99;

  /* arguments */
  FAILS(PZ_EINVAL, "NULL", NULL, pz_cf_import(NULL, path, NULL, &rows));
  CHECK(rows == 0, "rows_out %llu", (unsigned long long)rows);
  rows = 99;
  FAILS(PZ_EINVAL, NULL, NULL, pz_cf_import(o.e, NULL, NULL, &rows));
  CHECK(rows == 0, "rows_out %llu", (unsigned long long)rows);
  FAILS(PZ_EINVAL, NULL, NULL, pz_cf_import(o.e, "", NULL, &rows));
  pz_cf_import_options io;
  pz_cf_import_options_init(&io, PZ_CF_IMPORT_OPTIONS_VERSION);
  io.version = 0;
  FAILS(PZ_EVERSION, "version", NULL, pz_cf_import(o.e, path, &io, &rows));
  io.version = 2;
  FAILS(PZ_EVERSION, "version", NULL, pz_cf_import(o.e, path, &io, &rows));
  static const struct {
    const char *label;
    int binary, use_ts, format;
    double min_value;
    int64_t now;
    const char *type;
    int code;
    const char *needle;
  } bad_io[] = {
      {"binary 2", 2, 1, 0, -INFINITY, 0, NULL, PZ_EINVAL, "binary"},
      {"binary -1", -1, 1, 0, -INFINITY, 0, NULL, PZ_EINVAL, "binary"},
      {"use_timestamps 2", 0, 2, 0, -INFINITY, 0, NULL, PZ_EINVAL,
       "use_timestamps"},
      {"min_value NaN", 0, 1, 0, NAN, 0, NULL, PZ_EINVAL, "min_value"},
      {"now_ms negative", 0, 1, 0, -INFINITY, -1, NULL, PZ_EINVAL, "now_ms"},
      {"format 5", 0, 1, 5, -INFINITY, 0, NULL, PZ_EINVAL, "format"},
      {"format -1", 0, 1, -1, -INFINITY, 0, NULL, PZ_EINVAL, "format"},
      {"event type unknown", 0, 1, 0, -INFINITY, 0, "like", PZ_ENOTFOUND,
       "like"},
      {"event type empty", 0, 1, 0, -INFINITY, 0, "", PZ_EINVAL, "empty"},
      {"event type not UTF-8", 0, 1, 0, -INFINITY, 0, "\xFF", PZ_EINVAL,
       "UTF-8"},
      {"event type 256 bytes", 0, 1, 0, -INFINITY, 0, id256, PZ_EINVAL,
       "longer"},
  };
  for (size_t k = 0; k < sizeof bad_io / sizeof *bad_io; k++) {
    g_case = bad_io[k].label;
    pz_cf_import_options_init(&io, PZ_CF_IMPORT_OPTIONS_VERSION);
    io.binary = bad_io[k].binary;
    io.use_timestamps = bad_io[k].use_ts;
    io.format = bad_io[k].format;
    io.min_value = bad_io[k].min_value;
    io.now_ms = bad_io[k].now;
    io.event_type = bad_io[k].type;
    rows = 99;
    FAILS(bad_io[k].code, bad_io[k].needle, NULL,
          pz_cf_import(o.e, path, &io, &rows));
    CHECK(rows == 0, "rows_out %llu", (unsigned long long)rows);
  }
  g_case = "";
  counts(o.e, &p, &i);
  CHECK(p == p0 && i == i0, "rejected options tracked something");

  /* a missing file, a directory */
  char missing[sizeof g_dir + 64];
  snprintf(missing, sizeof missing, "%s/nope.tsv", g_dir);
  rows = 99;
  const char *missing_p = missing;
  FAILS(PZ_EIO, missing_p, NULL, pz_cf_import(o.e, missing, NULL, &rows));
  CHECK(rows == 0, "rows_out %llu", (unsigned long long)rows);
  FAILS(PZ_EIO, NULL, NULL, pz_cf_import(o.e, g_dir, NULL, &rows));

  /* malformed files: PZ_EFORMAT with path:line, nothing tracked */
  for (size_t k = 0; k < sizeof bad_files / sizeof *bad_files; k++) {
    g_case = bad_files[k].label;
    char name[16];
    snprintf(name, sizeof name, "bad%zu", k + 1);
    put_file(path, sizeof path, name, bad_files[k].text);
    rows = 99;
    FAILS(PZ_EFORMAT, bad_files[k].line, NULL,
          pz_cf_import(o.e, path, NULL, &rows));
    CHECK(rows == 0, "rows_out %llu", (unsigned long long)rows);
    counts(o.e, &p, &i);
    CHECK(p == p0 && i == i0, "a malformed file tracked something: %zu/%zu "
                              "profiles, %zu/%zu items",
          p, p0, i, i0);
  }
  g_case = "";

  /* a failure while tracking stops there, with the line: a timestamp
   * far in the future (ERANGE) on line 3; the two rows before it stay */
  char far[200];
  snprintf(far, sizeof far, "t1\ti1\t1\t100\nt2\ti2\t1\t200\nt3\ti3\t1\t%lld\n"
                            "t4\ti4\t1\t300\n",
           (long long)(T0 / 1000 + 400LL * 86400));
  put_file(path, sizeof path, "far.tsv", far);
  rows = 99;
  FAILS(PZ_ERANGE, "far.tsv:3", NULL, pz_cf_import(o.e, path, NULL, &rows));
  CHECK(rows == 2, "rows_out %llu, expected 2", (unsigned long long)rows);
  counts(o.e, &p, &i);
  CHECK(p == p0 + 2, "%zu profiles, expected %zu", p, p0 + 2);

  /* no consent on line 2 (the config refuses such events) */
  OK(pz_profile_set_consent(o.e, "nc", "personalization", 0));
  put_file(path, sizeof path, "nc.tsv", "t5\ti1\t1\nnc\ti1\t1\nt6\ti1\t1\n");
  rows = 99;
  FAILS(PZ_ECONSENT, "nc.tsv:2", NULL, pz_cf_import(o.e, path, NULL, &rows));
  CHECK(rows == 1, "rows_out %llu, expected 1", (unsigned long long)rows);

  /* empty file and header only: nothing, fine */
  put_file(path, sizeof path, "empty.tsv", "");
  rows = 99;
  OK(pz_cf_import(o.e, path, NULL, &rows));
  CHECK(rows == 0, "rows_out %llu", (unsigned long long)rows);
  put_file(path, sizeof path, "header.csv", "user,item,value\n");
  rows = 99;
  OK(pz_cf_import(o.e, path, NULL, &rows));
  CHECK(rows == 0, "rows_out %llu", (unsigned long long)rows);
  /* a file where every row is below min_value: nothing */
  put_file(path, sizeof path, "low.tsv", "t7\ti1\t1\nt7\ti2\t2\n");
  pz_cf_import_options_init(&io, PZ_CF_IMPORT_OPTIONS_VERSION);
  io.min_value = 2.5;
  OK(pz_cf_import(o.e, path, &io, &rows));
  CHECK(rows == 0, "rows_out %llu", (unsigned long long)rows);
  FAILS(PZ_ENOTFOUND, NULL, NULL, pz_profile_event_count(&p, o.e, "t7"));
  /* the stated format must match: a TSV file read as MovieLens */
  put_file(path, sizeof path, "notml.tsv", "u1\ti1\t1\t100\n");
  io.min_value = -INFINITY;
  io.format = PZ_CF_FORMAT_MOVIELENS;
  FAILS(PZ_EFORMAT, "notml.tsv:1", NULL, pz_cf_import(o.e, path, &io, &rows));
  /* rows_out may be NULL */
  put_file(path, sizeof path, "ok.tsv", "t8\ti1\t1\n");
  OK(pz_cf_import(o.e, path, NULL, NULL));
  own_close(&o);
  soft_end();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cf_badinput_options_init),
      cmocka_unit_test(test_cf_badinput_train_options),
      cmocka_unit_test(test_cf_badinput_scores_finite),
      cmocka_unit_test(test_cf_badinput_als_huge_confidence),
      cmocka_unit_test(test_cf_badinput_stats_loss),
      cmocka_unit_test(test_cf_badinput_similar_items),
      cmocka_unit_test(test_cf_badinput_config),
      cmocka_unit_test(test_cf_badinput_nothing_to_train),
      cmocka_unit_test(test_cf_badinput_import),
  };
  return cmocka_run_group_tests_name("cf_badinput", tests, setup_all,
                                     teardown_all);
}
