/* libFuzzer target: any bytes as a segment/experiment document for
 * pz_segment_load(). A document that loads must evaluate consistently
 * through every public entry point; one that does not must say why and
 * leave the previous rules in place; nothing may crash, leak or hang.
 *
 * Each input gets a fresh engine with a fixed config, a small catalogue,
 * users holding attributes of every type, events of every type at known
 * times (the clock is fixed), a history that has wrapped, a user without
 * consent, an empty profile, a user without a profile, and a trained,
 * named cluster model, so that every kind of predicate has something to
 * look at. Experiment names are taken loosely from the input (whatever
 * follows `name:`) plus a fixed few. The engine's allocator checks the
 * documented contract (the library always passes the exact osize of the
 * block it frees or resizes); build with -DFUZZ_ALLOC_SIZE_LAX to let a
 * wrong osize pass (to keep fuzzing past a known instance of that bug).
 *
 * Also linked with tests/fuzz/replay.c so `make check` replays the corpus
 * (tests/fuzz/corpus/segments/). Invariant failures print the line and
 * abort(). -DFUZZ_SEGMENTS_VERBOSE prints the counts, each user's segments
 * and experiment variants (to read what a reproducer selects). */
#include <personalize.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)                                                          \
  do {                                                                     \
    fprintf(stderr, "fuzz_segments: invariant failed at line %d: ",        \
            __LINE__);                                                     \
    fprintf(stderr, __VA_ARGS__);                                          \
    fprintf(stderr, " (pz_errmsg: %s)\n", pz_errmsg());                    \
    abort();                                                               \
  } while (0)
#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    if (!(cond)) FAIL(__VA_ARGS__);                                        \
  } while (0)

/* ---- a checking allocator ------------------------------------------------ */

#define HDR 16 /* keeps max_align_t alignment */
#define MAGIC 0x70a110c8u

typedef struct hdr {
  size_t size;
  uint32_t magic;
} hdr;

static size_t live_blocks;

static hdr *header(void *p, size_t osize) {
  (void)osize;
  hdr *h = (hdr *)(void *)((char *)p - HDR);
  if (h->magic != MAGIC) FAIL("allocator: block %p has no header", p);
#ifndef FUZZ_ALLOC_SIZE_LAX
  if (h->size != osize)
    FAIL("allocator: block of %zu bytes freed or resized as %zu bytes",
         h->size, osize);
#endif
  return h;
}

static void *check_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  if (nsize == 0) {
    if (ptr) {
      hdr *h = header(ptr, osize);
      h->magic = 0;
      free(h);
      live_blocks--;
    }
    return NULL;
  }
  if (nsize > SIZE_MAX - HDR) return NULL;
  hdr *h = ptr ? header(ptr, osize) : NULL;
  hdr *n = realloc(h, nsize + HDR);
  if (!n) return NULL;
  if (!h) live_blocks++;
  n->size = nsize;
  n->magic = MAGIC;
  return (char *)n + HDR;
}

/* ---- the fixed engine ---------------------------------------------------- */

#define DAY 86400000LL
#define NOW 1717200000000LL /* 2024-06-01T00:00:00Z */

static int64_t fixed_clock(void *ud) {
  (void)ud;
  return NOW;
}

static const char config[] =
    "events:\n"
    "  view: 1\n"
    "  purchase: {weight: 5}\n"
    "  dislike: -3\n"
    "decay:\n"
    "  half_life: 30d\n"
    "profile:\n"
    "  history_limit: 16\n"
    "ranking:\n"
    "  segment_min_members: 1\n"
    "clusters:\n"
    "  k: 2\n"
    "  min_size: 1\n"
    "  max_features: 8\n"
    "  seed: 7\n";

/* users that get profiles, then one that never does */
static const char *const users[] = {"alice", "bob",   "carol",
                                    "dave",  "erin",  "frank",
                                    "g\xc3\xbcnter x", "empty", "ghost"};
#define N_USERS (sizeof users / sizeof *users)
#define N_PROFILES (N_USERS - 1)

static void ok(int rc, const char *what) {
  if (rc != PZ_OK) FAIL("setup: %s returned %d", what, rc);
}

static void item(pz_engine *e, const char *id, const char *f1,
                 const char *f2) {
  const char *f[] = {f1, f2};
  ok(pz_item_put(e, id, f, NULL, f2 ? 2 : 1), "pz_item_put");
}

static void ev(pz_engine *e, const char *u, const char *i, const char *t,
               double v, int64_t days_ago) {
  ok(pz_track(e, u, i, t, v, NOW - days_ago * DAY), "pz_track");
}

static pz_engine *open_engine(void) {
  pz_engine_options o;
  ok(pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION), "options");
  o.alloc = check_alloc;
  o.clock = fixed_clock;
  o.config_text = config;
  o.config_len = sizeof config - 1;
  pz_engine *e = NULL;
  ok(pz_engine_open_with(&e, &o), "pz_engine_open_with");

  item(e, "a", "genre=jazz", "decade=1960s");
  item(e, "b", "genre=rock", "decade=1980s");
  item(e, "c", "genre=jazz", "mood=calm");
  item(e, "d", "genre=horror", "decade=1980s");
  item(e, "e", "genre=pop", NULL);

  /* alice: every attribute type, recent views and purchases */
  ok(pz_profile_set_string(e, "alice", "plan", "Gold"), "set");
  ok(pz_profile_set_string(e, "alice", "country", "fr"), "set");
  ok(pz_profile_set_string(e, "alice", "email", "alice@example.com"), "set");
  ok(pz_profile_set_number(e, "alice", "age", 34), "set");
  ok(pz_profile_set_bool(e, "alice", "vip", 1), "set");
  ok(pz_profile_set_timestamp(e, "alice", "signup", 1709251200000LL), "set");
  ev(e, "alice", "a", "view", 1, 1);
  ev(e, "alice", "c", "view", 1, 2);
  ev(e, "alice", "a", "purchase", 2, 3);
  ev(e, "alice", "b", "view", 1, 40);
  /* bob: a minor, old activity and a dislike (negative interest) */
  ok(pz_profile_set_string(e, "bob", "plan", "free"), "set");
  ok(pz_profile_set_string(e, "bob", "country", "DE"), "set");
  ok(pz_profile_set_number(e, "bob", "age", 17), "set");
  ok(pz_profile_set_bool(e, "bob", "vip", 0), "set");
  ok(pz_profile_set_timestamp(e, "bob", "signup", -86400000LL), "set");
  ev(e, "bob", "b", "view", 1, 90);
  ev(e, "bob", "d", "dislike", 1, 60);
  ev(e, "bob", "d", "view", 3, 200);
  ev(e, "bob", "b", "purchase", 1, 0);
  /* carol: attributes of other types under the same names, no consent */
  ok(pz_profile_set_string(e, "carol", "plan", "gold"), "set");
  ok(pz_profile_set_string(e, "carol", "age", "34"), "set");
  ok(pz_profile_set_number(e, "carol", "vip", 1), "set");
  ok(pz_profile_set_string(e, "carol", "signup", "2024-03-01"), "set");
  ev(e, "carol", "a", "purchase", 10, 1);
  ok(pz_profile_set_consent(e, "carol", "personalization", 0), "consent");
  /* dave: attributes only, fractional and negative numbers, UTF-8 */
  ok(pz_profile_set_number(e, "dave", "age", 34.5), "set");
  ok(pz_profile_set_number(e, "dave", "score", -2.25), "set");
  ok(pz_profile_set_string(e, "dave", "name", "Zo\xc3\xab"), "set");
  ok(pz_profile_set_string(e, "dave", "email", "DAVE@EXAMPLE.ORG"), "set");
  ok(pz_profile_set_timestamp(e, "dave", "signup", 1717199999999LL), "set");
  /* erin: a heavy buyer of jazz */
  ok(pz_profile_set_string(e, "erin", "plan", "GOLD"), "set");
  ok(pz_profile_set_bool(e, "erin", "vip", 1), "set");
  for (int i = 0; i < 6; i++) ev(e, "erin", "a", "purchase", i + 1, i * 5);
  ev(e, "erin", "c", "view", 1, 0);
  ev(e, "erin", "e", "view", 1, 10);
  /* frank: events only */
  ev(e, "frank", "d", "view", 1, 2);
  ev(e, "frank", "b", "view", 1, 4);
  ev(e, "frank", "e", "purchase", 0.5, 400);
  /* more events than profile.history_limit: the history ring wraps */
  static const char *const its[] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < 20; i++)
    ev(e, "frank", its[i % 5], i % 3 ? "view" : "purchase", 1 + i % 4,
       3 * i + 1);
  /* a user id with a space and UTF-8, with a bool and an empty string */
  ok(pz_profile_set_bool(e, "g\xc3\xbcnter x", "vip", 0), "set");
  ok(pz_profile_set_string(e, "g\xc3\xbcnter x", "plan", ""), "set");
  /* empty: a profile holding only the default consent, stated */
  ok(pz_profile_set_consent(e, "empty", "personalization", 1), "consent");

  ok(pz_cluster_train(e, NULL), "pz_cluster_train");
  size_t k = 0;
  ok(pz_cluster_count(&k, e), "pz_cluster_count");
  if (k >= 1) ok(pz_cluster_set_name(e, 0, "jazzfans"), "name");
  if (k >= 2) ok(pz_cluster_set_name(e, 1, "others"), "name");
  return e;
}

/* ---- helpers ------------------------------------------------------------- */

static int list_find(const pz_list *l, const char *s) {
  for (size_t i = 0; i < pz_list_count(l); i++)
    if (strcmp(pz_list_text(l, i), s) == 0) return (int)i;
  return -1;
}

static bool known_profile(const char *id) {
  for (size_t i = 0; i < N_PROFILES; i++)
    if (strcmp(users[i], id) == 0) return true;
  return false;
}

/* Candidate experiment names: a fixed set, and whatever follows a
 * `name:` in the input (loosely: a plain or quoted token). */
#define MAX_NAMES 64
typedef struct names {
  char s[MAX_NAMES][256];
  size_t n;
} names;

static void names_add(names *ns, const char *s, size_t len) {
  if (len == 0 || len > 255 || ns->n == MAX_NAMES) return;
  if (memchr(s, 0, len)) return;
  for (size_t i = 0; i < ns->n; i++)
    if (strlen(ns->s[i]) == len && memcmp(ns->s[i], s, len) == 0) return;
  memcpy(ns->s[ns->n], s, len);
  ns->s[ns->n++][len] = '\0';
}

static void names_scan(names *ns, const uint8_t *d, size_t size) {
  static const char *const fixed[] = {"exp", "ab", "checkout", "homepage",
                                      "e1", "e2", "x", NULL};
  for (int i = 0; fixed[i]; i++) names_add(ns, fixed[i], strlen(fixed[i]));
  for (size_t i = 0; i + 4 <= size; i++) {
    if (memcmp(d + i, "name", 4) != 0) continue;
    size_t j = i + 4;
    while (j < size && (d[j] == '"' || d[j] == '\'' || d[j] == ' ')) j++;
    if (j >= size || d[j] != ':') continue;
    j++;
    while (j < size && (d[j] == ' ' || d[j] == '\t')) j++;
    if (j < size && (d[j] == '"' || d[j] == '\'')) j++;
    size_t s = j;
    while (j < size && d[j] != '"' && d[j] != '\'' && d[j] != ',' &&
           d[j] != '}' && d[j] != ']' && d[j] != '\n' && d[j] != '\r' &&
           d[j] != '#')
      j++;
    size_t e = j;
    while (e > s && (d[e - 1] == ' ' || d[e - 1] == '\t')) e--;
    names_add(ns, (const char *)d + s, e - s);
  }
}

/* ---- the checks ---------------------------------------------------------- */

/* The segment names and counts now, as one comparable string. */
static void snapshot(pz_engine *e, char *buf, size_t cap) {
  pz_list *c = NULL;
  int rc = pz_segment_counts(&c, e);
  CHECK(rc == PZ_OK, "pz_segment_counts: %d", rc);
  size_t at = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < pz_list_count(c) && at < cap; i++) {
    int n = snprintf(buf + at, cap - at, "%s=%g;", pz_list_text(c, i),
                     pz_list_value(c, i));
    if (n < 0) break;
    at += (size_t)n;
  }
  pz_list_free(c);
}

static void check_segments(pz_engine *e) {
  pz_list *counts = NULL;
  int rc = pz_segment_counts(&counts, e);
  CHECK(rc == PZ_OK, "pz_segment_counts: %d", rc);
  size_t ns = pz_list_count(counts);
  size_t n_profiles = 0;
  CHECK(pz_profile_count(&n_profiles, e) == PZ_OK, "pz_profile_count");
  CHECK(n_profiles == N_PROFILES, "%zu profiles", n_profiles);

  /* memberships[s][u] from pz_segment_test */
  static unsigned char in[4096][N_USERS];
  CHECK(ns <= 4096, "%zu segments", ns);
  for (size_t s = 0; s < ns; s++) {
    const char *name = pz_list_text(counts, s);
    double count = pz_list_value(counts, s);
    CHECK(name && *name, "segment %zu has no name", s);
    CHECK(list_find(counts, name) == (int)s, "segment \"%s\" listed twice",
          name);
    CHECK(count >= 0 && count <= (double)N_PROFILES &&
              count == (double)(size_t)count,
          "segment \"%s\": count %g", name, count);

    size_t expect = 0;
    for (size_t u = 0; u < N_USERS; u++) {
      int r = -1;
      rc = pz_segment_test(&r, e, name, users[u]);
      CHECK(rc == PZ_OK && (r == 0 || r == 1), "pz_segment_test(%s, %s): %d %d",
            name, users[u], rc, r);
      in[s][u] = (unsigned char)r;
      if (u < N_PROFILES) expect += (size_t)r;
    }

    pz_list *m = NULL;
    rc = pz_segment_members(&m, e, name);
    CHECK(rc == PZ_OK, "pz_segment_members(%s): %d", name, rc);
    CHECK((double)pz_list_count(m) == count,
          "segment \"%s\": count %g but %zu members", name, count,
          pz_list_count(m));
    CHECK(pz_list_count(m) == expect,
          "segment \"%s\": %zu members but pz_segment_test says %zu", name,
          pz_list_count(m), expect);
    for (size_t i = 0; i < pz_list_count(m); i++) {
      const char *id = pz_list_text(m, i);
      CHECK(id && known_profile(id), "segment \"%s\": unknown member \"%s\"",
            name, id ? id : "(null)");
      CHECK(list_find(m, id) == (int)i, "segment \"%s\": \"%s\" twice", name,
            id);
      CHECK(pz_list_value(m, i) == 1, "member value %g",
            pz_list_value(m, i));
      for (size_t u = 0; u < N_PROFILES; u++)
        if (strcmp(users[u], id) == 0)
          CHECK(in[s][u], "\"%s\" is a member of \"%s\" but the test says no",
                id, name);
    }
    pz_list_free(m);
  }

  for (size_t u = 0; u < N_USERS; u++) {
    pz_list *of = NULL;
    rc = pz_segment_of(&of, e, users[u]);
    CHECK(rc == PZ_OK, "pz_segment_of(%s): %d", users[u], rc);
    size_t n_in = 0, last = 0;
    for (size_t s = 0; s < ns; s++) n_in += in[s][u];
    CHECK(pz_list_count(of) == n_in,
          "pz_segment_of(%s) lists %zu segments, pz_segment_test %zu",
          users[u], pz_list_count(of), n_in);
    for (size_t i = 0; i < pz_list_count(of); i++) {
      int s = list_find(counts, pz_list_text(of, i));
      CHECK(s >= 0 && in[s][u], "pz_segment_of(%s) lists \"%s\"", users[u],
            pz_list_text(of, i));
      CHECK(i == 0 || (size_t)s > last,
            "pz_segment_of(%s) is not in definition order", users[u]);
      CHECK(pz_list_value(of, i) == 1, "of value %g", pz_list_value(of, i));
      last = (size_t)s;
    }
    pz_list_free(of);
  }

  /* a user without a profile is evaluated as an empty one */
  for (size_t s = 0; s < ns; s++)
    CHECK(in[s][N_USERS - 1] == in[s][N_USERS - 2],
          "segment \"%s\": no profile gives %d, an empty profile %d",
          pz_list_text(counts, s), in[s][N_USERS - 1], in[s][N_USERS - 2]);

  /* a name that is not a segment */
  if (list_find(counts, "no such segment") < 0) {
    int r = 7;
    rc = pz_segment_test(&r, e, "no such segment", "alice");
    CHECK(rc == PZ_ENOTFOUND && r == 0, "test of a missing segment: %d", rc);
    pz_list *m = (pz_list *)1;
    rc = pz_segment_members(&m, e, "no such segment");
    CHECK(rc == PZ_ENOTFOUND && m == NULL, "members of a missing segment: %d",
          rc);
  }
  pz_list_free(counts);
}

static void check_experiments(pz_engine *e, const names *ns) {
  for (size_t i = 0; i < ns->n; i++) {
    const char *x = ns->s[i];
    int found = -1;
    for (size_t u = 0; u < N_USERS; u++) {
      char v[256], v2[256];
      size_t len = 999, len2 = 999;
      int rc = pz_experiment_assign(v, sizeof v, &len, e, x, users[u]);
      if (rc == PZ_EINVAL) break; /* not a valid name (UTF-8) */
      CHECK(rc == PZ_OK || rc == PZ_ENOTFOUND, "assign(%s, %s): %d", x,
            users[u], rc);
      int f = rc == PZ_OK;
      CHECK(found < 0 || found == f, "experiment \"%s\" found for some users "
                                     "only", x);
      found = f;
      if (!f) {
        CHECK(len == 0, "assign(%s): not found but len %zu", x, len);
        continue;
      }
      CHECK(len < sizeof v && strlen(v) == len, "assign(%s, %s): len %zu", x,
            users[u], len);
#ifdef FUZZ_SEGMENTS_VERBOSE
      fprintf(stderr, "  experiment %s, %s: \"%s\"\n", x, users[u], v);
#endif
      rc = pz_experiment_assign(v2, sizeof v2, &len2, e, x, users[u]);
      CHECK(rc == PZ_OK && len2 == len && memcmp(v, v2, len) == 0,
            "assign(%s, %s) is not deterministic", x, users[u]);
      /* too small a buffer: PZ_EBUFS with the length still reported */
      len2 = 999;
      rc = pz_experiment_assign(v2, len, &len2, e, x, users[u]);
      CHECK(rc == PZ_EBUFS && len2 == len, "assign(%s) into %zu bytes: %d %zu",
            x, len, rc, len2);
      len2 = 999;
      rc = pz_experiment_assign(NULL, 0, &len2, e, x, users[u]);
      CHECK(rc == PZ_EBUFS && len2 == len, "assign(%s) with cap 0: %d %zu", x,
            rc, len2);
    }
  }
}

/* A small rule set loaded before the input: a failed load must keep it. */
static const char base[] =
    "segments:\n"
    "  - {name: base_adults, rule: {attr: age, gte: 18}}\n"
    "  - {name: base_jazz, rule: {any: [{interest: genre=jazz, gt: 0},"
    " {segment: base_adults}]}}\n"
    "experiments:\n"
    "  - {name: base_exp, seed: 1, variants: [{name: a}, {name: b}]}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pz_engine *e = open_engine();
  int rc = pz_segment_load(e, base, sizeof base - 1);
  CHECK(rc == PZ_OK, "loading the base rules: %d", rc);
  static char before[8192], after[8192];
  snapshot(e, before, sizeof before);

  rc = pz_segment_load(e, (const char *)data, size);
  if (rc != PZ_OK) {
    CHECK(rc == PZ_ECONFIG || rc == PZ_ENOMEM, "pz_segment_load: %d", rc);
    CHECK(rc != PZ_ECONFIG || strncmp(pz_errmsg(), "segments:", 9) == 0,
          "error message does not name the place");
    snapshot(e, after, sizeof after);
    CHECK(strcmp(before, after) == 0, "a failed load changed the rules: "
                                      "%s -> %s", before, after);
    char v[8];
    size_t len;
    CHECK(pz_experiment_assign(v, sizeof v, &len, e, "base_exp", "alice") ==
              PZ_OK,
          "a failed load lost the experiments");
    pz_engine_free(e);
    CHECK(live_blocks == 0, "%zu blocks leaked by the engine", live_blocks);
    return 0;
  }

  check_segments(e);
#ifdef FUZZ_SEGMENTS_VERBOSE /* show what the document selects */
  snapshot(e, after, sizeof after);
  fprintf(stderr, "counts: %s\n", after);
  for (size_t u = 0; u < N_USERS; u++) {
    pz_list *of = NULL;
    pz_segment_of(&of, e, users[u]);
    fprintf(stderr, "  %s:", users[u]);
    for (size_t i = 0; i < pz_list_count(of); i++)
      fprintf(stderr, " %s", pz_list_text(of, i));
    fprintf(stderr, "\n");
    pz_list_free(of);
  }
#endif
  names ns;
  ns.n = 0;
  names_scan(&ns, data, size);
  check_experiments(e, &ns);

  /* popularity per segment, and ranking that reads it */
  rc = pz_segment_refresh(e);
  CHECK(rc == PZ_OK, "pz_segment_refresh: %d", rc);
  for (size_t u = 0; u < N_USERS; u++) {
    pz_recs *r = NULL;
    rc = pz_recommend(&r, e, users[u], 3, NULL);
    CHECK(rc == PZ_OK, "pz_recommend(%s): %d", users[u], rc);
    pz_recs_free(r);
  }

  /* the same document again gives the same segments and counts */
  snapshot(e, before, sizeof before);
  rc = pz_segment_load(e, (const char *)data, size);
  CHECK(rc == PZ_OK, "the same document failed the second time: %d", rc);
  snapshot(e, after, sizeof after);
  CHECK(strcmp(before, after) == 0, "reloading changed the counts: %s -> %s",
        before, after);

  /* an empty document removes every rule */
  rc = pz_segment_load(e, NULL, 0);
  CHECK(rc == PZ_OK, "loading nothing: %d", rc);
  snapshot(e, after, sizeof after);
  CHECK(after[0] == '\0', "rules left after an empty load: %s", after);

  pz_engine_free(e);
  CHECK(live_blocks == 0, "%zu blocks leaked by the engine", live_blocks);
  return 0;
}
