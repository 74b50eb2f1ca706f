/* The table of write operations (lib/engine/ops.h): every exported
 * function is either a row's entry point or known not to write; the
 * snapshot man page's op table is the table's; every row's record
 * decodes to the arguments it was encoded from; a journal holding every
 * op with non-default arguments replays to the same snapshot; a write
 * that cannot be recorded changes nothing and leaves the journal usable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support.h"
#include "engine/ops.h"

#define T0 (1700000000000LL)
#define DAY (86400000LL)

#define OK(x)                                                                 \
  do {                                                                        \
    int rc_ = (x);                                                            \
    if (rc_ != PZ_OK) print_error("%s: %s\n", #x, pz_errmsg());               \
    assert_int_equal(rc_, PZ_OK);                                             \
  } while (0)

static const pz__oprow *row_of_api(const char *name) {
  for (int op = 1; op < PZ__OP_END; op++)
    for (int k = 0; k < 3 && pz__ops[op].api[k]; k++)
      if (strcmp(pz__ops[op].api[k], name) == 0) return &pz__ops[op];
  return NULL;
}

/* ---- every export is a row's entry point or a known non-write ------------- */

/* Public functions that change nothing a snapshot or journal holds. A new
 * export must be added either to a row (ops.c) or here, with a reason:
 * the test fails until it is. */
static const char *const not_writes[] = {
    /* reads and result objects */
    "pz_cf_loss", "pz_cf_stats_get", "pz_choices_count", "pz_choices_created",
    "pz_choices_expires", "pz_choices_factor", "pz_choices_free",
    "pz_choices_kind", "pz_choices_position", "pz_choices_target",
    "pz_cluster_count", "pz_cluster_describe", "pz_cluster_name",
    "pz_cluster_of", "pz_cluster_size", "pz_engine_now", "pz_errmsg",
    "pz_experiment_assign", /* deterministic: nothing is stored */
    "pz_experiment_bucket", "pz_feature_hash", "pz_interests_count",
    "pz_interests_feature", "pz_interests_free", "pz_interests_score",
    "pz_item_count", "pz_item_popularity", "pz_list_count", "pz_list_free",
    "pz_list_text", "pz_list_value", "pz_override_list",
    "pz_override_opted_out", "pz_override_rules", "pz_profile_count",
    "pz_profile_event_count", "pz_profile_export", "pz_profile_get_bool",
    "pz_profile_get_consent", "pz_profile_get_number",
    "pz_profile_get_string", "pz_profile_get_timestamp",
    "pz_profile_get_type", "pz_profile_interests", "pz_recommend",
    "pz_recs_because", "pz_recs_because_share", "pz_recs_contribution",
    "pz_recs_count", "pz_recs_entries", "pz_recs_entry_init",
    "pz_recs_factor", "pz_recs_flags", "pz_recs_free", "pz_recs_item",
    "pz_recs_reason", "pz_recs_reason_code", "pz_recs_rule", "pz_recs_score",
    "pz_segment_counts", "pz_segment_members", "pz_segment_of",
    "pz_segment_test", "pz_similar_items", "pz_strerror", "pz_version_number",
    "pz_version_string",
    /* option structs */
    "pz_cf_import_options_init", "pz_cf_options_init",
    "pz_cluster_options_init", "pz_engine_options_init",
    "pz_recommend_options_init",
    /* sparse vectors: the caller's objects, not the engine's state */
    "pz_svec_add", "pz_svec_add_feature", "pz_svec_cosine", "pz_svec_dot",
    "pz_svec_entry", "pz_svec_free", "pz_svec_new", "pz_svec_nnz",
    "pz_svec_norm", "pz_svec_scale", "pz_svec_top",
    /* the engine's life and its store */
    "pz_engine_open", "pz_engine_open_string", "pz_engine_open_with",
    "pz_engine_load", "pz_engine_free", "pz_engine_save", "pz_engine_sync",
    "pz_engine_set_clock", /* the process's clock, not state */
    /* composites: recorded as the rows they call */
    "pz_cf_import", /* one track per row */
};

static bool is_not_write(const char *name) {
  for (size_t i = 0; i < sizeof not_writes / sizeof *not_writes; i++)
    if (strcmp(not_writes[i], name) == 0) return true;
  return false;
}

static void test_every_export_is_classified(void **state) {
  (void)state;
  char *map = test_slurp("lib/libpersonalize.map", NULL);
  assert_non_null(map);
  int n = 0, unclassified = 0, both = 0;
  /* symbols: identifiers starting pz_ followed by ';' */
  for (char *p = map; (p = strstr(p, "pz_")) != NULL;) {
    if (p > map && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) {
      p += 3;
      continue;
    }
    char name[96];
    size_t k = 0;
    while (k + 1 < sizeof name && (isalnum((unsigned char)p[k]) || p[k] == '_'))
      name[k] = p[k], k++;
    name[k] = '\0';
    p += k;
    if (*p != ';') continue;
    n++;
    bool w = row_of_api(name) != NULL, r = is_not_write(name);
    if (!w && !r) {
      print_error("%s: exported but neither a row's entry point (ops.c) nor "
                  "listed as a non-write\n",
                  name);
      unclassified++;
    }
    if (w && r) {
      print_error("%s: both a write and a non-write\n", name);
      both++;
    }
  }
  assert_true(n > 100);
  assert_int_equal(unclassified, 0);
  assert_int_equal(both, 0);
  /* and every row's entry points are exported */
  for (int op = 1; op < PZ__OP_END; op++) {
    assert_int_equal(pz__ops[op].op, op);
    assert_non_null(pz__ops[op].apply);
    for (int k = 0; k < 3 && pz__ops[op].api[k]; k++) {
      char want[96];
      snprintf(want, sizeof want, " %s;", pz__ops[op].api[k]);
      if (!strstr(map, want)) print_error("%s is not exported\n", want);
      assert_non_null(strstr(map, want));
    }
  }
  free(map);
}

/* ---- the man page's op table is the table -------------------------------- */

static void squash(char *s) { /* collapse white space */
  char *o = s;
  bool sp = false;
  for (const char *p = s; *p; p++) {
    if (isspace((unsigned char)*p)) {
      sp = true;
      continue;
    }
    if (sp && o != s) *o++ = ' ';
    sp = false;
    *o++ = *p;
  }
  *o = '\0';
}

static void test_man_page_op_table(void **state) {
  (void)state;
  char *man = test_slurp("man/man5/personalize-snapshot.5", NULL);
  assert_non_null(man);
  char *t = strstr(man, "op\tcall\targuments\n");
  assert_non_null(t);
  char *end = strstr(t, ".TE");
  assert_non_null(end);
  *end = '\0';
  t = strchr(t, '\n') + 1;
  /* rows: "op\tcall\targs", continued by lines starting with "\t\t" */
  char rows[PZ__OP_END][512];
  char calls[PZ__OP_END][64];
  memset(rows, 0, sizeof rows);
  memset(calls, 0, sizeof calls);
  int cur = -1, n = 0;
  for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '\t' && line[1] == '\t') {
      assert_true(cur > 0);
      strncat(rows[cur], " ", sizeof rows[cur] - strlen(rows[cur]) - 1);
      strncat(rows[cur], line + 2, sizeof rows[cur] - strlen(rows[cur]) - 1);
      continue;
    }
    char call[64], args[400];
    int op;
    assert_int_equal(sscanf(line, "%d\t%63[^\t]\t%399[^\n]", &op, call, args),
                     3);
    assert_true(op > 0 && op < PZ__OP_END);
    cur = op;
    n++;
    snprintf(calls[op], sizeof calls[op], "%s", call);
    snprintf(rows[op], sizeof rows[op], "%s", args);
  }
  assert_int_equal(n, PZ__OP_END - 1);
  for (int op = 1; op < PZ__OP_END; op++) {
    char want[512];
    pz__op_describe(&pz__ops[op], want, sizeof want);
    squash(want);
    squash(rows[op]);
    if (strcmp(want, rows[op]) != 0)
      print_error("op %d: the man page says \"%s\"; the table \"%s\"\n", op,
                  rows[op], want);
    assert_string_equal(rows[op], want);
    assert_string_equal(calls[op], pz__ops[op].api[0]);
  }
  free(man);
}

/* ---- encode and decode --------------------------------------------------- */

static const char *const feats[] = {"genre=jazz", "decade=1960s", "x y z"};
static const pz_event events[] = {
    {PZ_EVENT_VERSION, "user-é", "item\t7", "purchase", -2.5e-3, T0},
    {PZ_EVENT_VERSION, "u2", "i2", "view", 1e9, 1},
};
static const double weights[] = {0.5, -2, 1e-300};

/* Arguments with every field away from its default. */
static void sample_args(const pz__oprow *row, pz__arg *a,
                        pz_cf_options *cf, pz_cluster_options *cl) {
  static const char *const strs[] = {"user-é", "item\t7", "purchase", "z"};
  memset(a, 0, PZ__OP_MAXARGS * sizeof *a);
  for (unsigned i = 0; i < row->nargs; i++) {
    switch (row->kind[i]) {
    case PZ__A_STR: a[i].s = strs[i % 4]; break;
    case PZ__A_DOC: a[i] = PZ__DOC("doc\0with a NUL", 14); break;
    case PZ__A_F64: a[i].f = -1.25e-7 * (i + 1); break;
    case PZ__A_I64: a[i].i = -(INT64_C(1) << 40) - (int64_t)i; break;
    case PZ__A_INT: a[i].i = -7 - (int64_t)i; break;
    case PZ__A_FEATS: a[i] = PZ__FEATS(feats, weights, 3); break;
    case PZ__A_EVENTS: a[i] = PZ__EVENTS(events, 2, NULL); break;
    default:
      if (row->opts->size == sizeof *cf &&
          strcmp(row->opts->type, "pz_cf_options") == 0) {
        pz_cf_options_init(cf, PZ_CF_OPTIONS_VERSION);
        cf->algorithm = PZ_CF_BOTH;
        cf->weighting = PZ_CF_WEIGHT_BM25;
        cf->neighbours = 7;
        cf->factors = 9;
        cf->iterations = 3;
        cf->cg_steps = 2;
        cf->threads = 2;
        cf->seed = UINT64_C(0x123456789abcdef);
        cf->regularization = 0.07;
        cf->alpha = 3.5;
        cf->bm25_k1 = 1.1;
        cf->bm25_b = 0.6;
        cf->als_share = 0.3;
        a[i].opt = cf;
      } else {
        pz_cluster_options_init(cl, PZ_CLUSTER_OPTIONS_VERSION);
        cl->k = 3;
        cl->seed = 77;
        cl->max_iterations = 5;
        cl->batch_size = 2;
        a[i].opt = cl;
      }
    }
  }
}

static void test_round_trip_every_row(void **state) {
  (void)state;
  pz__alloc al = {0};
  test_alloc ta = {0};
  al.fn = test_alloc_fn;
  al.ud = &ta;
  for (int op = 1; op < PZ__OP_END; op++) {
    const pz__oprow *row = &pz__ops[op];
    pz__arg a[PZ__OP_MAXARGS], b[PZ__OP_MAXARGS];
    pz_cf_options cf;
    pz_cluster_options cl;
    sample_args(row, a, &cf, &cl);
    pz__buf buf;
    pz__buf_init(&buf, &al);
    OK(pz__op_encode(&buf, row, T0 + op, a));
    const pz__oprow *back;
    int64_t now;
    OK(pz__op_decode(&al, (const uint8_t *)buf.p, buf.len, &back, &now, b));
    assert_ptr_equal(back, row);
    assert_int_equal(now, T0 + op);
    for (unsigned i = 0; i < row->nargs; i++) {
      switch (row->kind[i]) {
      case PZ__A_STR: assert_string_equal(a[i].s, b[i].s); break;
      case PZ__A_DOC:
        assert_int_equal(a[i].n, b[i].n);
        assert_memory_equal(a[i].s, b[i].s, a[i].n);
        break;
      case PZ__A_F64: assert_memory_equal(&a[i].f, &b[i].f, 8); break;
      case PZ__A_I64:
      case PZ__A_INT: assert_int_equal(a[i].i, b[i].i); break;
      case PZ__A_FEATS:
        assert_int_equal(b[i].n, 3);
        for (int k = 0; k < 3; k++) {
          assert_string_equal(b[i].sv[k], feats[k]);
          assert_memory_equal(&b[i].fv[k], &weights[k], 8);
        }
        break;
      case PZ__A_EVENTS:
        assert_int_equal(b[i].n, 2);
        for (int k = 0; k < 2; k++) {
          assert_int_equal(b[i].ev[k].version, PZ_EVENT_VERSION);
          assert_string_equal(b[i].ev[k].user, events[k].user);
          assert_string_equal(b[i].ev[k].item, events[k].item);
          assert_string_equal(b[i].ev[k].event_type, events[k].event_type);
          assert_memory_equal(&b[i].ev[k].value, &events[k].value, 8);
          assert_int_equal(b[i].ev[k].ts_ms, events[k].ts_ms);
        }
        break;
      default:
        assert_non_null(b[i].opt);
        assert_memory_equal(a[i].opt, b[i].opt, row->opts->size);
      }
    }
    pz__op_decoded_free(&al, row, b);
    /* every truncation is refused, never read past */
    for (size_t cut = 0; cut < buf.len; cut++) {
      assert_int_not_equal(
          pz__op_decode(&al, (const uint8_t *)buf.p, cut, &back, &now, b),
          PZ_OK);
    }
    /* and a byte too many */
    pz__buf_u8(&buf, 0);
    assert_int_equal(
        pz__op_decode(&al, (const uint8_t *)buf.p, buf.len, &back, &now, b),
        PZ_ECORRUPT);
    /* NULL options and NULL strings round-trip as NULL */
    for (unsigned i = 0; i < row->nargs; i++)
      if (row->kind[i] == PZ__A_STR || row->kind[i] == PZ__A_OPTS)
        a[i].s = NULL, a[i].opt = NULL;
    buf.len = 0;
    OK(pz__op_encode(&buf, row, T0, a));
    OK(pz__op_decode(&al, (const uint8_t *)buf.p, buf.len, &back, &now, b));
    for (unsigned i = 0; i < row->nargs; i++)
      if (row->kind[i] == PZ__A_STR || row->kind[i] == PZ__A_OPTS)
        assert_true(b[i].s == NULL && b[i].opt == NULL);
    pz__op_decoded_free(&al, row, b);
    pz__buf_free(&buf);
  }
  /* an unknown op, a wrong version of an option struct */
  uint8_t junk[9] = {PZ__OP_END};
  const pz__oprow *back;
  int64_t now;
  pz__arg b[PZ__OP_MAXARGS];
  assert_int_equal(pz__op_decode(&al, junk, sizeof junk, &back, &now, b),
                   PZ_ECORRUPT);
  junk[0] = 0;
  assert_int_equal(pz__op_decode(&al, junk, sizeof junk, &back, &now, b),
                   PZ_ECORRUPT);
  pz_cf_options cf;
  pz_cf_options_init(&cf, PZ_CF_OPTIONS_VERSION);
  cf.version = 99;
  pz__arg o[] = {PZ__OPTS(&cf)};
  pz__buf buf;
  pz__buf_init(&buf, &al);
  assert_int_equal(pz__op_encode(&buf, &pz__ops[PZ__OP_CF_TRAIN], T0, o),
                   PZ_EVERSION);
  pz__arg f[] = {PZ__STR("i"), PZ__FEATS(NULL, NULL, 2)};
  buf.len = 0;
  assert_int_equal(pz__op_encode(&buf, &pz__ops[PZ__OP_ITEM_PUT], T0, f),
                   PZ_EINVAL);
  f[1] = PZ__FEATS(feats, NULL, PZ__ITEM_MAX_FEATURES + 1);
  buf.len = 0;
  assert_int_equal(pz__op_encode(&buf, &pz__ops[PZ__OP_ITEM_PUT], T0, f),
                   PZ_ELIMIT);
  pz__buf_free(&buf);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_osize, 0);
}

/* ---- a journal with every op replays to the same snapshot ------------------ */

typedef struct fixture {
  test_alloc ta;
  test_clock tc;
  char dir[64];
  char cfg[2048];
} fixture;

extern int (*pz__store_fault)(const char *op);

static int setup(void **state) {
  pz__store_fault = NULL;
  fixture *f = test_calloc(1, sizeof *f);
  f->tc.now = T0;
  if (test_tmpdir_make(f->dir, "pz_ops")) return -1;
  snprintf(f->cfg, sizeof f->cfg,
           "events: {view: 1, purchase: 5, rating: 2}\n"
           "consent: {purposes: [marketing]}\n"
           "clusters: {k: 2, min_size: 1, seed: 3}\n"
           "cf: {algorithm: both, factors: 8, iterations: 4, neighbours: 5}\n"
           "profile: {history_limit: 100000}\n"
           "store: {journal: %s/journal, snapshot: %s/store.snap, fsync: never}\n",
           f->dir, f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  pz__store_fault = NULL;
  assert_int_equal(f->ta.live_blocks, 0);
  assert_int_equal(f->ta.bad_osize, 0);
  test_tmpdir_remove(f->dir);
  test_free(f);
  return 0;
}

/* Which ops a journal file holds (each record decoded by the table). */
static void ops_in_journal(const char *path, bool seen[PZ__OP_END]) {
  size_t len;
  char *j = test_slurp(path, &len);
  assert_non_null(j);
  pz__alloc al = {0};
  test_alloc ta = {0};
  al.fn = test_alloc_fn;
  al.ud = &ta;
  size_t off = 64;
  while (off + PZ__JREC_HEAD <= len) {
    uint32_t n;
    memcpy(&n, j + off, 4);
    assert_true(n > 0 && off + PZ__JREC_HEAD + n <= len);
    const pz__oprow *row;
    int64_t now;
    pz__arg a[PZ__OP_MAXARGS];
    OK(pz__op_decode(&al, (const uint8_t *)j + off + PZ__JREC_HEAD, n, &row,
                     &now, a));
    seen[row->op] = true;
    pz__op_decoded_free(&al, row, a);
    off += PZ__JREC_HEAD + n;
  }
  assert_int_equal(off, len);
  free(j);
}

static void every_op(pz_engine *e, fixture *f) {
  const char *genres[] = {"genre=jazz", "genre=rock", "genre=pop"};
  for (int i = 0; i < 12; i++) {
    char id[16];
    snprintf(id, sizeof id, "item%d", i);
    const char *fe[] = {genres[i % 3], "decade=1960s"};
    double w[] = {1.5, -0.25};
    OK(pz_item_put(e, id, fe, w, 2));
  }
  OK(pz_item_put(e, "plain", (const char *[]){"genre=pop"}, NULL, 1));
  OK(pz_item_remove(e, "item11"));
  for (int u = 0; u < 8; u++) {
    char user[16], item[16];
    snprintf(user, sizeof user, "user%d", u);
    for (int k = 0; k < 5; k++) {
      snprintf(item, sizeof item, "item%d", (u * 3 + k * 2) % 11);
      f->tc.now += 1000;
      OK(pz_track(e, user, item, k % 2 ? "view" : "purchase", 0.5 + k,
                  T0 - (int64_t)k * DAY / 2));
    }
    OK(pz_profile_set_string(e, user, "city", u % 2 ? "Lyon" : "Oslo"));
    OK(pz_profile_set_number(e, user, "age", 17.5 + u));
    OK(pz_profile_set_bool(e, user, "vip", u % 2));
    OK(pz_profile_set_timestamp(e, user, "joined", T0 - u * DAY));
    OK(pz_profile_set_consent(e, user, "marketing", 1));
  }
  OK(pz_profile_remove_attribute(e, "user1", "vip"));
  pz_event batch[] = {
      {PZ_EVENT_VERSION, "user1", "item2", "view", 2.5, T0 - 1000},
      {PZ_EVENT_VERSION, "user1", "item4", "purchase", 1, 0},
      {PZ_EVENT_VERSION, "user9", "item2", "rating", 4, T0 - 2000},
      {PZ_EVENT_VERSION, "user9", "item2", "no-such-type", 4, 0},
  };
  size_t done = 99;
  OK(pz_track_batch(e, batch, 3, &done));
  assert_int_equal(done, 3);
  /* a batch stopped part way records the part it applied */
  assert_int_equal(pz_track_batch(e, batch + 1, 3, &done), PZ_ENOTFOUND);
  assert_int_equal(done, 2);
  assert_non_null(strstr(pz_errmsg(), "event 2: "));
  OK(pz_override_block_item(e, "user1", "item3", T0 + 5 * DAY));
  OK(pz_override_block_feature(e, "user1", "genre=rock", T0 + DAY));
  OK(pz_override_require(e, "user2", "decade=1960s", T0 + 2 * DAY));
  OK(pz_override_pin(e, "user2", "item5", 2, T0 + 3 * DAY));
  OK(pz_override_adjust(e, "user3", "genre=jazz", 1.75, T0 + 4 * DAY));
  OK(pz_override_more(e, "user3", "genre=pop", 0));
  OK(pz_override_not_interested(e, "user4", "item8", T0 - 1000));
  OK(pz_override_opt_out(e, "user5", 1));
  OK(pz_override_clear(e, "user1", PZ_CHOICE_BLOCK_ITEM, "item3"));
  OK(pz_override_clear_all(e, "user2"));
  const char *segs = "segments:\n"
                     "  - {name: lyon, rank: true, rule: {attr: city, eq: Lyon}}\n";
  OK(pz_segment_load(e, segs, strlen(segs)));
  const char *rules = "rules:\n"
                      "  - {name: up, kind: boost, factor: 2, match: "
                      "{features: [genre=pop]}}\n";
  OK(pz_override_rules_load(e, rules, strlen(rules)));
  pz_cluster_options co;
  pz_cluster_options_init(&co, PZ_CLUSTER_OPTIONS_VERSION);
  co.k = 2;
  co.seed = 11;
  co.max_iterations = 6;
  co.batch_size = 3;
  OK(pz_cluster_train(e, &co));
  OK(pz_cluster_set_name(e, 1, "the second"));
  OK(pz_segment_refresh(e));
  pz_cf_options o;
  pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION);
  o.algorithm = PZ_CF_BOTH;
  o.weighting = PZ_CF_WEIGHT_TFIDF;
  o.neighbours = 4;
  o.factors = 6;
  o.iterations = 3;
  o.cg_steps = 2;
  o.threads = 2;
  o.seed = 5;
  o.regularization = 0.2;
  o.alpha = 2.5;
  o.bm25_k1 = 1.5;
  o.bm25_b = 0.5;
  o.als_share = 0.35;
  OK(pz_cf_train(e, &o));
  OK(pz_profile_merge(e, "user6", "user7"));
  OK(pz_profile_erase(e, "user0"));
}

static void test_replay_every_op(void **state) {
  fixture *f = *state;
  pz_engine *e;
  OK(test_open(&e, &f->ta, &f->tc, f->cfg));
  every_op(e, f);
  int64_t end = f->tc.now;
  char a[128], b[128], jp[128];
  snprintf(a, sizeof a, "%s/a.snap", f->dir);
  snprintf(b, sizeof b, "%s/b.snap", f->dir);
  snprintf(jp, sizeof jp, "%s/journal", f->dir);
  OK(pz_engine_save(e, a)); /* a copy elsewhere: the journal stays */
  pz_engine_free(e);
  bool seen[PZ__OP_END] = {0};
  ops_in_journal(jp, seen);
  for (int op = 1; op < PZ__OP_END; op++) {
    if (!seen[op])
      print_error("op %d (%s) is not in the scenario: add a call to "
                  "every_op()\n",
                  op, pz__ops[op].name);
    assert_true(seen[op]);
  }
  /* the same clock at open: a new catalogue takes it as its popularity
   * landmark */
  f->tc.now = T0;
  OK(test_open(&e, &f->ta, &f->tc, f->cfg)); /* replays it all */
  f->tc.now = end;
  OK(pz_engine_save(e, b));
  pz_engine_free(e);
  size_t al, bl;
  char *sa = test_slurp(a, &al), *sb = test_slurp(b, &bl);
  assert_int_equal(al, bl);
  /* section by section (personalize-snapshot(5)); the CF model's
   * train_seconds (a wall-clock measure, at byte 29 of CFMD) aside */
  uint32_t n;
  memcpy(&n, sa + 28, 4);
  assert_true(n > 0 && n < 64);
  for (uint32_t i = 0; i < n; i++) {
    const char *ta = sa + 64 + i * 32, *tb = sb + 64 + i * 32;
    uint64_t off, len;
    memcpy(&off, ta + 8, 8);
    memcpy(&len, ta + 16, 8);
    assert_memory_equal(ta, tb, 24); /* id, flags, offset, length */
    assert_true(off + len <= al);
    if (memcmp(ta, "CFMD", 4) == 0 && len >= 37) {
      memset(sa + off + 29, 0, 8);
      memset(sb + off + 29, 0, 8);
    }
    if (memcmp(sa + off, sb + off, len) != 0)
      print_error("section %.4s differs after the replay\n", ta);
    assert_memory_equal(sa + off, sb + off, len);
  }
  free(sa);
  free(sb);
}

/* ---- a write that cannot be recorded changes nothing ------------------------- */

static int fail_reserve(const char *op) {
  return strcmp(op, "reserve") == 0 ? ENOSPC : 0;
}

static void test_refused_write_changes_nothing(void **state) {
  fixture *f = *state;
  pz_engine *e;
  OK(test_open(&e, &f->ta, &f->tc, f->cfg));
  OK(pz_track(e, "u", "i", "view", 1, 0));
  char jp[128];
  snprintf(jp, sizeof jp, "%s/journal", f->dir);
  uint64_t before = test_file_size(jp);
  /* a rules document over the 64 MiB record limit */
  size_t big = (64u << 20) + 100;
  char *doc = malloc(big);
  assert_non_null(doc);
  const char *head = "rules:\n  - {name: big, kind: boost, factor: 2, match: "
                     "{features: [genre=pop]}}\n#";
  memset(doc, 'x', big);
  memcpy(doc, head, strlen(head));
  doc[big - 1] = '\n';
  assert_int_equal(pz_override_rules_load(e, doc, big), PZ_ELIMIT);
  free(doc);
  pz_list *l;
  OK(pz_override_rules(&l, e));
  assert_int_equal(pz_list_count(l), 0); /* not applied */
  pz_list_free(l);
  assert_int_equal(test_file_size(jp), before);
  /* the journal is still usable */
  OK(pz_track(e, "u", "i", "view", 1, 0));
  assert_true(test_file_size(jp) > before);
  /* no disk space to claim: refused before the change */
  size_t n0 = 0, n1 = 0;
  OK(pz_profile_count(&n0, e));
  pz__store_fault = fail_reserve;
  /* the claim is ahead by 1 MiB: write until a new one is needed */
  int rc = PZ_OK, i;
  for (i = 0; i < 200000 && rc == PZ_OK; i++) {
    char user[32];
    snprintf(user, sizeof user, "new-user-%d", i);
    rc = pz_track(e, user, "i", "view", 1, 0);
  }
  pz__store_fault = NULL;
  assert_int_equal(rc, PZ_EIO);
  OK(pz_profile_count(&n1, e));
  assert_int_equal(n1, n0 + (size_t)(i - 1)); /* the refused one is absent */
  uint64_t size = test_file_size(jp);
  /* and the journal takes writes again, then replays to the same state */
  OK(pz_track(e, "after", "i", "view", 1, 0));
  assert_true(test_file_size(jp) > size);
  pz_engine_free(e);
  OK(test_open(&e, &f->ta, &f->tc, f->cfg));
  OK(pz_profile_count(&n1, e));
  assert_int_equal(n1, n0 + (size_t)i);
  pz_engine_free(e);
}

/* store.journal_buffer: records wait in memory until the buffer fills, a
 * sync, a save or the end; nothing acknowledged is lost by a clean close */
static void test_journal_buffer(void **state) {
  fixture *f = *state;
  char cfg[2300], jp[128];
  snprintf(jp, sizeof jp, "%s/journal", f->dir);
  snprintf(cfg, sizeof cfg, "%sstore: {journal: %s, fsync: never, "
           "journal_buffer: 4096}\n",
           "events: {view: 1, purchase: 5}\n", jp);
  pz_engine *e;
  OK(test_open(&e, &f->ta, &f->tc, cfg));
  OK(pz_track(e, "u0", "i0", "view", 1, 0));
  assert_int_equal(test_file_size(jp), 64); /* the header only: buffered */
  for (int i = 1; i < 500; i++) {
    char u[16], it[16];
    snprintf(u, sizeof u, "u%d", i % 7);
    snprintf(it, sizeof it, "i%d", i % 11);
    OK(pz_track(e, u, it, i % 2 ? "view" : "purchase", 1, 0));
  }
  uint64_t part = test_file_size(jp);
  assert_true(part > 64); /* the buffer filled and was written */
  OK(pz_engine_sync(e));
  uint64_t whole = test_file_size(jp);
  assert_true(whole > part);
  /* a rules document larger than the buffer is written directly */
  const char *rules = "rules:\n  - {name: up, kind: boost, factor: 2, "
                      "match: {features: [genre=pop]}}\n";
  OK(pz_override_rules_load(e, rules, strlen(rules)));
  OK(pz_track(e, "last", "i0", "view", 1, 0));
  pz_engine_free(e); /* writes the rest */
  OK(test_open(&e, &f->ta, &f->tc, cfg));
  size_t n;
  OK(pz_profile_count(&n, e));
  assert_int_equal(n, 8); /* u0..u6, last */
  OK(pz_profile_event_count(&n, e, "last"));
  assert_int_equal(n, 1);
  pz_list *l;
  OK(pz_override_rules(&l, e));
  assert_int_equal(pz_list_count(l), 1);
  pz_list_free(l);
  pz_engine_free(e);
  /* bad values */
  const char *bad[] = {"-1", "67108865", "lots", "[1]", "1.5"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    snprintf(cfg, sizeof cfg, "store: {journal: %s, journal_buffer: %s}\n",
             jp, bad[i]);
    assert_int_equal(test_open(&e, &f->ta, &f->tc, cfg), PZ_ECONFIG);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_export_is_classified),
      cmocka_unit_test(test_man_page_op_table),
      cmocka_unit_test(test_round_trip_every_row),
      cmocka_unit_test_setup_teardown(test_replay_every_op, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused_write_changes_nothing,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_buffer, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
