/* libFuzzer target: any bytes as the journal (store.journal) of an engine
 * opened with pz_engine_open_with(), which replays it. An engine that
 * opens must work, open again from the same files to the same state, and
 * after new writes and a save (which starts a new journal) open again to
 * the state it had; one that does not open must say why; nothing may
 * crash, leak, hang or leave a lock or a file behind that breaks the next
 * input.
 *
 * The input's last byte is not part of the journal but flags:
 *   bit 0  do not reseal the records
 *   bit 1  do not reseal the header
 *   bit 2  open with a snapshot (store.snapshot): a small fixed one of
 *          generation 0 at offset 0, so that a journal of generation 1
 *          and base 0 follows it (built once per process)
 * Resealing, so that mutations reach the replay instead of stopping at
 * checksums: the header's XXH3 (bytes 56..63 over 0..55) when the journal
 * has 64 bytes and the magic, and each record's guard (its length with
 * every bit inverted) and check (the low 32 bits of the XXH3 of its
 * payload), walking the records from byte 64 while their lengths are
 * 1..64 MiB and fit in the file (personalize-snapshot(5), THE JOURNAL). Before that, trainings that ask for much work are cut down
 * (cf factors above 16, iterations above 4, cg_steps above 8, threads above
 * 4; cluster max_iterations above 100, batch_size above 64) where the
 * value is one the library accepts, so that an input takes milliseconds,
 * not minutes; values out of range are left for the library to refuse.
 *
 * The journal is written to a temporary file (one per process, in
 * /dev/shm when it exists, else /tmp), deleted and written again for each
 * input, with configuration `store: {journal: PATH, snapshot: PATH2,
 * fsync: never}` and event types, purposes, segments, clusters and CF
 * settings for the records to apply to. The allocator is the one of
 * fuzz_snapshot.c (exact osize, nothing left after pz_engine_free(), 256
 * MiB at most, a refusal while opening is a failure).
 *
 * Also linked with tests/fuzz/replay.c so `make check` replays the corpus
 * (tests/fuzz/corpus/journal/). -DFUZZ_JOURNAL_VERBOSE prints what each
 * input did. Built with -DFUZZ_JOURNAL_SEEDS instead, this file is the
 * program that writes the seed journals (`make fuzz-seeds`). */
#include <personalize.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* the table of write operations: the records' layouts (and, from
 * lib/core/core.h, pz__checksum: the XXH3 of snapshots and journals) */
#include "engine/ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NAME "fuzz_journal"
#include "fuzz_alloc.h"

/* ---- files ------------------------------------------------------------------ */

#define NOW 1717200000000LL /* 2024-06-01T00:00:00Z */
#define DAY 86400000LL

static int64_t fixed_clock(void *ud) {
  (void)ud;
  return NOW;
}

static char dir_path[64], journal_path[128], snap_path[128];

static void remove_files(void) {
  unlink(journal_path);
  unlink(snap_path);
}

static void init_paths(void) {
  if (journal_path[0]) return;
  struct stat st;
  const char *dir =
      stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
              access("/dev/shm", W_OK) == 0
          ? "/dev/shm"
          : "/tmp";
  snprintf(dir_path, sizeof dir_path, "%s", dir);
  long pid = (long)getpid();
  snprintf(journal_path, sizeof journal_path, "%s/pz_fuzz_journal.%ld.j",
           dir, pid);
  snprintf(snap_path, sizeof snap_path, "%s/pz_fuzz_journal.%ld.snap", dir,
           pid);
  atexit(remove_files);
}

static void write_file(const char *path, const void *p, size_t len) {
  unlink(path); /* a new inode: nothing of the last input's file stays */
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  CHECK(fd >= 0, "cannot create %s", path);
  const char *c = p;
  while (len) {
    ssize_t n = write(fd, c, len);
    CHECK(n > 0, "cannot write %s", path);
    c += n;
    len -= (size_t)n;
  }
  close(fd);
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  CHECK(f, "cannot open %s", path);
  size_t cap = 4096, n = 0;
  uint8_t *p = malloc(cap);
  CHECK(p, "out of memory");
  for (;;) {
    n += fread(p + n, 1, cap - n, f);
    if (n < cap) break;
    cap *= 2;
    p = realloc(p, cap);
    CHECK(p, "out of memory");
  }
  fclose(f);
  *len = n;
  return p;
}

/* No temporary file of the library's (PATH.tmp.PID.N) may stay behind. */
static void check_no_temporaries(void) {
  DIR *d = opendir(dir_path);
  CHECK(d, "opendir %s", dir_path);
  const char *base = strrchr(journal_path, '/') + 1;
  size_t stem = strlen(base) - 2; /* "pz_fuzz_journal.PID." */
  struct dirent *de;
  while ((de = readdir(d)))
    CHECK(strncmp(de->d_name, base, stem) != 0 || !strstr(de->d_name, ".tmp."),
          "a temporary file was left behind: %s", de->d_name);
  closedir(d);
}

/* ---- the engine ------------------------------------------------------------ */

static const char config_body[] =
    "events: {view: 1, purchase: 5, rating: 2}\n"
    "consent: {purposes: [marketing]}\n"
    "profile: {history_limit: 32}\n"
    "clusters: {k: 2, min_size: 1, seed: 3, max_features: 4}\n"
    "cf: {algorithm: both, factors: 2, iterations: 2, neighbours: 3}\n"
    "ranking: {segment_min_members: 1}\n"
    "segments:\n"
    "  - {name: adults, rank: true, rule: {attr: age, gte: 18}}\n"
    "experiments:\n"
    "  - {name: layout, seed: 9, variants: [{name: a}, {name: b}]}\n"
    "rules:\n"
    "  - {name: up, kind: boost, factor: 2, match: {features: [genre=pop]}}\n";

static void options(pz_engine_options *o, char *cfg, size_t cap,
                    bool store) {
  int rc = pz_engine_options_init(o, PZ_ENGINE_OPTIONS_VERSION);
  CHECK(rc == PZ_OK, "options");
  int n = snprintf(cfg, cap, "%s", config_body);
  if (store)
    n += snprintf(cfg + n, cap - (size_t)n,
                  "store: {journal: %s, snapshot: %s, fsync: never}\n",
                  journal_path, snap_path);
  o->alloc = check_alloc;
  o->clock = fixed_clock;
  o->config_text = cfg;
  o->config_len = (size_t)n;
}

static int open_engine(pz_engine **e) {
  char cfg[2048];
  pz_engine_options o;
  options(&o, cfg, sizeof cfg, true);
  size_t refused_before = refused;
  *e = NULL;
  int rc = pz_engine_open_with(e, &o);
  CHECK(rc != PZ_OK || *e, "opened without an engine");
  CHECK(rc == PZ_OK || !*e, "failed (%d) but left an engine", rc);
  CHECK(rc == PZ_OK || strcmp(pz_errmsg(), "no error") != 0,
        "failed (%d) without a message", rc);
#ifndef FUZZ_ALLOC_CAP_LAX
  CHECK(refused == refused_before, "opening asked for %zu bytes with %zu live",
        refused_size, live_bytes);
#endif
  return rc;
}

static void ok(int rc, const char *what) {
  if (rc != PZ_OK) FAIL("setup: %s returned %d", what, rc);
}

/* The snapshot of bit 2: a few items and users, clusters and a CF model,
 * saved without a journal (generation 0, offset 0). */
static uint8_t *base_snap;
static size_t base_snap_len;

static void build_base_snapshot(void) {
  if (base_snap) return;
  char cfg[2048];
  pz_engine_options o;
  options(&o, cfg, sizeof cfg, false);
  pz_engine *e = NULL;
  ok(pz_engine_open_with(&e, &o), "pz_engine_open_with");
  static const char *const genres[] = {"genre=jazz", "genre=rock",
                                       "genre=pop"};
  for (int i = 0; i < 6; i++) {
    char id[16];
    snprintf(id, sizeof id, "item%d", i);
    const char *f[] = {genres[i % 3], i % 2 ? "decade=1960s" : "decade=1990s"};
    ok(pz_item_put(e, id, f, NULL, 2), "pz_item_put");
  }
  for (int u = 0; u < 4; u++) {
    char user[16], item[16];
    snprintf(user, sizeof user, "user%d", u);
    for (int k = 0; k < 3; k++) {
      snprintf(item, sizeof item, "item%d", (u + 2 * k) % 6);
      ok(pz_track(e, user, item, k ? "view" : "purchase", 1,
                  NOW - (int64_t)(u + k) * DAY),
         "pz_track");
    }
    ok(pz_profile_set_number(e, user, "age", 15 + 4 * u), "set");
  }
  ok(pz_override_pin(e, "user0", "item2", 0, 0), "pin");
  ok(pz_cluster_train(e, NULL), "pz_cluster_train");
  ok(pz_segment_refresh(e), "pz_segment_refresh");
  ok(pz_cf_train(e, NULL), "pz_cf_train");
  ok(pz_engine_save(e, snap_path), "pz_engine_save");
  pz_engine_free(e);
  CHECK(live_blocks == 0, "%zu blocks leaked", live_blocks);
  base_snap = read_file(snap_path, &base_snap_len);
  unlink(snap_path);
}

/* ---- the format, as far as the harness needs it ------------------------- */

static const uint8_t j_magic[8] = {0x89, 'P', 'Z', 'J', '\r', '\n', 0x1a, '\n'};
#define J_MAX_PAYLOAD (64u << 20)
#define J_RH 12 /* a record's header: length, its complement, check */

static uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* v := to when it lies in (to, max]. */
static void clamp32(uint8_t *p, uint32_t to, uint32_t max) {
  uint32_t v = get32(p);
  if (v > to && v <= max) put32(p, to);
}

/* Where an option field of a record sits (op, now, has_options, then the
 * fields in the table's order), or 0 when the record is too short. */
static size_t opt_field(const uint8_t *rec, uint32_t len, const char *name,
                        size_t *size) {
  const pz__oprow *row = &pz__ops[rec[0]];
  if (!row->opts || row->nargs != 1 || len < 10 || !rec[9]) return 0;
  size_t at = 10;
  for (unsigned i = 0; i < row->opts->n; i++) {
    const pz__field *f = &row->opts->f[i];
    size_t w = f->kind == PZ__F_U64 || f->kind == PZ__F_F64 ? 8 : 4;
    if (strcmp(f->name, name) == 0) {
      *size = w;
      return at + w <= len ? at : 0;
    }
    at += w;
  }
  return 0;
}

static void clamp_field(uint8_t *rec, uint32_t len, const char *name,
                        uint32_t to, uint32_t max_ok) {
  size_t w = 0, at = opt_field(rec, len, name, &w);
  if (at && w == 4) clamp32(rec + at, to, max_ok);
}

static void cut_down(uint8_t *rec, uint32_t len) {
  if (len < 10 || rec[0] >= PZ__OP_END) return;
  if (rec[0] == PZ__OP_CF_TRAIN) {
    clamp_field(rec, len, "factors", 16, 1024);
    clamp_field(rec, len, "iterations", 4, 10000);
    clamp_field(rec, len, "cg_steps", 8, 1024);
    clamp_field(rec, len, "threads", 4, 256);
  } else if (rec[0] == PZ__OP_CLUSTER_TRAIN) {
    clamp_field(rec, len, "max_iterations", 100, 100000);
    clamp_field(rec, len, "batch_size", 64, 100000000);
  }
}

/* Walk the records: cut trainings down, reseal their checks (when asked),
 * and note the ids they name. */
#define MAX_IDS 8
typedef struct ids {
  char s[MAX_IDS][256];
  size_t n;
} ids;

static void ids_add(ids *x, const char *s, size_t len) {
  if (len == 0 || len > 255 || memchr(s, 0, len) || x->n == MAX_IDS) return;
  for (size_t i = 0; i < x->n; i++)
    if (strlen(x->s[i]) == len && memcmp(x->s[i], s, len) == 0) return;
  memcpy(x->s[x->n], s, len);
  x->s[x->n++][len] = '\0';
}

static void *dec_alloc(void *ud, void *p, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (!nsize) {
    free(p);
    return NULL;
  }
  return realloc(p, nsize);
}

/* Note the user and item ids a record names, by the table's argument
 * names, when it decodes. */
static void note_ids(const uint8_t *rec, uint32_t len, ids *users,
                     ids *items) {
  const pz__alloc al = {dec_alloc, NULL};
  const pz__oprow *row;
  int64_t now;
  pz__arg a[PZ__OP_MAXARGS];
  if (pz__op_decode(&al, rec, len, &row, &now, a) != PZ_OK) return;
  for (unsigned i = 0; i < row->nargs; i++) {
    if (row->kind[i] != PZ__A_STR || !a[i].s) continue;
    const char *nm = row->arg[i];
    if (!strcmp(nm, "user") || !strcmp(nm, "from") || !strcmp(nm, "into"))
      ids_add(users, a[i].s, a[i].n);
    else if (!strcmp(nm, "item"))
      ids_add(items, a[i].s, a[i].n);
  }
  pz__op_decoded_free(&al, row, a);
}

static void walk_records(uint8_t *j, size_t size, bool seal, ids *users,
                         ids *items) {
  size_t off = 64;
  while (size - off >= J_RH) {
    uint32_t len = get32(j + off);
    if (len == 0 || len > J_MAX_PAYLOAD || len > size - off - J_RH) break;
    uint8_t *rec = j + off + J_RH;
    cut_down(rec, len);
    if (seal) {
      put32(j + off + 4, ~len);
      put32(j + off + 8, (uint32_t)pz__checksum(rec, len));
    }
    note_ids(rec, len, users, items);
    off += J_RH + (size_t)len;
  }
}

/* ---- observing an engine ---------------------------------------------------- */

static int ok_or(int rc, int a, int b) { return rc == PZ_OK || rc == a || rc == b; }

static char *observe(pz_engine *e, const ids *users, const ids *items) {
  char *out = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&out, &len);
  CHECK(m, "open_memstream");
  size_t n = 0;
  int rc = pz_profile_count(&n, e);
  CHECK(rc == PZ_OK, "pz_profile_count: %d", rc);
  fprintf(m, "profiles %zu\n", n);
  rc = pz_item_count(&n, e);
  CHECK(rc == PZ_OK, "pz_item_count: %d", rc);
  fprintf(m, "items %zu\n", n);
  pz_list *l = NULL;
  rc = pz_segment_counts(&l, e);
  CHECK(rc == PZ_OK, "pz_segment_counts: %d", rc);
  for (size_t i = 0; i < pz_list_count(l); i++)
    fprintf(m, "segment %s %g\n", pz_list_text(l, i), pz_list_value(l, i));
  pz_list_free(l);
  l = NULL;
  rc = pz_override_rules(&l, e);
  CHECK(rc == PZ_OK, "pz_override_rules: %d", rc);
  for (size_t i = 0; i < pz_list_count(l); i++)
    fprintf(m, "rule %s %g\n", pz_list_text(l, i), pz_list_value(l, i));
  pz_list_free(l);
  rc = pz_cluster_count(&n, e);
  CHECK(rc == PZ_OK, "pz_cluster_count: %d", rc);
  fprintf(m, "clusters %zu\n", n);
  for (size_t c = 0; c < n && c < 4; c++) {
    char name[300];
    size_t nl = 0, sz = 0;
    rc = pz_cluster_name(name, sizeof name, &nl, e, (int)c);
    CHECK(ok_or(rc, PZ_ENOTFOUND, PZ_ENOTFOUND), "pz_cluster_name: %d", rc);
    CHECK(pz_cluster_size(&sz, e, (int)c) == PZ_OK, "pz_cluster_size");
    fprintf(m, "cluster %zu %s %zu\n", c, rc == PZ_OK ? name : "-", sz);
  }
  pz_cf_stats st;
  memset(&st, 0, sizeof st);
  st.version = PZ_CF_STATS_VERSION;
  rc = pz_cf_stats_get(&st, e);
  CHECK(ok_or(rc, PZ_ENOTFOUND, PZ_ENOTFOUND), "pz_cf_stats_get: %d", rc);
  if (rc == PZ_OK)
    fprintf(m, "cf %d %u users %u items %llu nnz %u %u %u %u %u\n",
            st.algorithm, st.users, st.items,
            (unsigned long long)st.interactions, st.factors, st.neighbours,
            st.iterations, st.threads, st.erased_since);
  static char buf[1 << 16];
  for (size_t u = 0; u < users->n; u++) {
    const char *user = users->s[u];
    size_t bl = 0;
    rc = pz_profile_export(buf, sizeof buf, &bl, e, user);
    CHECK(rc == PZ_OK || rc == PZ_ENOTFOUND || rc == PZ_EBUFS ||
              rc == PZ_EINVAL,
          "pz_profile_export(%s): %d", user, rc);
    fprintf(m, "user %s: %d %.*s\n", user, rc, rc == PZ_OK ? (int)bl : 0,
            buf);
    pz_recs *r = NULL;
    rc = pz_recommend(&r, e, user, 5, NULL);
    CHECK(rc == PZ_OK || rc == PZ_EINVAL, "pz_recommend(%s): %d", user, rc);
    for (size_t i = 0; i < pz_recs_count(r); i++) {
      CHECK(pz_recs_item(r, i) && pz_recs_reason(r, i), "recommendation");
      fprintf(m, "  %s %.17g %s\n", pz_recs_item(r, i), pz_recs_score(r, i),
              pz_recs_reason(r, i));
    }
    pz_recs_free(r);
    int c = -9;
    rc = pz_cluster_of(&c, e, user);
    CHECK(rc == PZ_OK || rc == PZ_EINVAL, "pz_cluster_of: %d", rc);
    fprintf(m, "  cluster %d\n", c);
    char v[64];
    size_t vl = 0;
    rc = pz_experiment_assign(v, sizeof v, &vl, e, "layout", user);
    fprintf(m, "  layout %d %s\n", rc, rc == PZ_OK ? v : "-");
  }
  for (size_t i = 0; i < items->n; i++) {
    pz_recs *r = NULL;
    rc = pz_similar_items(&r, e, items->s[i], 5);
    CHECK(rc == PZ_OK || rc == PZ_ENOTFOUND || rc == PZ_EINVAL,
          "pz_similar_items(%s): %d", items->s[i], rc);
    fprintf(m, "similar to %s: %d\n", items->s[i], rc);
    for (size_t j = 0; j < pz_recs_count(r); j++)
      fprintf(m, "  %s %.17g\n", pz_recs_item(r, j), pz_recs_score(r, j));
    pz_recs_free(r);
    double pop = 0;
    uint64_t evs = 0;
    rc = pz_item_popularity(&pop, &evs, e, items->s[i], NOW);
    fprintf(m, "  popularity %d %.17g %llu\n", rc, pop,
            (unsigned long long)evs);
  }
  fclose(m);
  return out;
}

static void same(const char *a, const char *b, const char *what) {
  if (strcmp(a, b) == 0) return;
  fprintf(stderr, "--- before:\n%s--- after:\n%s", a, b);
  FAIL("%s", what);
}

/* ---- the target ------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_paths();
  uint8_t flags = size ? data[size - 1] : 0;
  size_t jsize = size ? size - 1 : 0;
  uint8_t *j = malloc(jsize ? jsize : 1);
  CHECK(j, "out of memory");
  if (jsize) memcpy(j, data, jsize);
  ids users, items;
  users.n = items.n = 0;
  if (jsize >= 64 && memcmp(j, j_magic, 8) == 0) {
    walk_records(j, jsize, !(flags & 1), &users, &items);
    if (!(flags & 2)) put64(j + 56, pz__checksum(j, 56));
  }
  const char *u0 = "user0", *i0 = "item0";
  ids_add(&users, u0, strlen(u0));
  ids_add(&items, i0, strlen(i0));

  if (flags & 4) {
    build_base_snapshot();
    write_file(snap_path, base_snap, base_snap_len);
  } else {
    unlink(snap_path);
  }
  write_file(journal_path, j, jsize);
  free(j);

  pz_engine *e = NULL;
  int rc = open_engine(&e);
#ifdef FUZZ_JOURNAL_VERBOSE
  fprintf(stderr, "%zu bytes, flags %u: %d %s\n", jsize, flags, rc,
          rc ? pz_errmsg() : "");
#endif
  if (rc != PZ_OK) {
    CHECK(rc == PZ_EFORMAT || rc == PZ_ECORRUPT || rc == PZ_EVERSION ||
              rc == PZ_ECONFIG || rc == PZ_ENOMEM,
          "pz_engine_open_with: %d", rc);
    CHECK(live_blocks == 0, "%zu blocks leaked by a failed open",
          live_blocks);
    check_no_temporaries();
    return 0;
  }

  /* what was replayed is replayed again the same way (the torn tail, if
   * any, is gone now) */
  char *a = observe(e, &users, &items);
  pz_engine_free(e);
  CHECK(live_blocks == 0, "%zu blocks leaked by the engine", live_blocks);
  rc = open_engine(&e);
  CHECK(rc == PZ_OK, "a journal that was replayed once fails the second "
                     "time: %d",
        rc);
  char *b = observe(e, &users, &items);
  same(a, b, "the second replay gives another state");
  free(a);
  free(b);

  /* it takes new writes; a save starts a new journal after a snapshot
   * that, with that journal, opens to the same state */
  rc = pz_track(e, users.s[0], items.s[0], "purchase", 2, 0);
  CHECK(rc == PZ_OK || rc == PZ_ENOTFOUND || rc == PZ_ECONSENT ||
            rc == PZ_EINVAL || rc == PZ_ERANGE || rc == PZ_ELIMIT,
        "pz_track: %d", rc);
  rc = pz_profile_set_string(e, "fuzz-new-user", "city", "Lyon");
  CHECK(rc == PZ_OK, "pz_profile_set_string: %d", rc);
  rc = pz_engine_save(e, NULL);
  CHECK(rc == PZ_OK, "pz_engine_save: %d", rc);
  rc = pz_track(e, "fuzz-new-user", "fuzz-new-item", "view", 1, 0);
  CHECK(rc == PZ_OK || rc == PZ_ENOTFOUND, "pz_track: %d", rc);
  a = observe(e, &users, &items);
  pz_engine_free(e);
  CHECK(live_blocks == 0, "%zu blocks leaked by the engine", live_blocks);
  rc = open_engine(&e);
  CHECK(rc == PZ_OK, "the saved snapshot and its new journal do not open: "
                     "%d",
        rc);
  b = observe(e, &users, &items);
  same(a, b, "the snapshot and its new journal give another state");
  free(a);
  free(b);
  pz_engine_free(e);
  CHECK(live_blocks == 0, "%zu blocks leaked by the engine", live_blocks);
  check_no_temporaries();
  return 0;
}

/* ---- seeds ---------------------------------------------------------------- */

#ifdef FUZZ_JOURNAL_SEEDS
static pz_engine *open_store(bool with_snapshot) {
  unlink(journal_path);
  if (with_snapshot) {
    build_base_snapshot();
    write_file(snap_path, base_snap, base_snap_len);
  } else {
    unlink(snap_path);
  }
  pz_engine *e = NULL;
  ok(open_engine(&e), "open_engine");
  return e;
}

/* Close e and write its journal, with the flag byte, as a seed. */
static void seed(pz_engine *e, const char *dir, const char *name,
                 uint8_t flags, size_t cut) {
  pz_engine_free(e);
  size_t len;
  uint8_t *p = read_file(journal_path, &len);
  if (cut > len - 64) cut = len - 64;
  len -= cut;
  p = realloc(p, len + 1);
  p[len] = flags;
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  write_file(path, p, len + 1);
  printf("%s: %zu bytes\n", path, len + 1);
  free(p);
}

static void profile_ops(pz_engine *e) {
  ok(pz_item_put(e, "item0", (const char *[]){"genre=jazz", "decade=1960s"},
                 NULL, 2),
     "pz_item_put");
  ok(pz_item_put(e, "item1", (const char *[]){"genre=pop"},
                 (const double[]){0.5}, 1),
     "pz_item_put");
  ok(pz_track(e, "user0", "item0", "view", 1, NOW - DAY), "pz_track");
  ok(pz_track(e, "user0", "item1", "purchase", 2, 0), "pz_track");
  ok(pz_track(e, "user1", "item1", "rating", 4, NOW - 2 * DAY), "pz_track");
  ok(pz_profile_set_string(e, "user0", "city", "Lyon"), "set");
  ok(pz_profile_set_number(e, "user0", "age", 34), "set");
  ok(pz_profile_set_bool(e, "user1", "vip", 1), "set");
  ok(pz_profile_set_timestamp(e, "user1", "joined", NOW - DAY), "set");
  ok(pz_profile_remove_attribute(e, "user1", "vip"), "remove");
  ok(pz_profile_set_consent(e, "user1", "marketing", 1), "consent");
  ok(pz_track(e, "user2", "item0", "view", 1, 0), "pz_track");
  ok(pz_profile_merge(e, "user2", "user1"), "pz_profile_merge");
  ok(pz_track(e, "user3", "item0", "view", 1, 0), "pz_track");
  ok(pz_profile_erase(e, "user3"), "pz_profile_erase");
}

static void choice_ops(pz_engine *e) {
  ok(pz_item_put(e, "item0", (const char *[]){"genre=jazz"}, NULL, 1),
     "pz_item_put");
  ok(pz_item_put(e, "item1", (const char *[]){"genre=rock"}, NULL, 1),
     "pz_item_put");
  ok(pz_item_put(e, "item2", (const char *[]){"genre=pop"}, NULL, 1),
     "pz_item_put");
  ok(pz_item_remove(e, "item2"), "pz_item_remove");
  ok(pz_override_block_item(e, "user0", "item1", 0), "block");
  ok(pz_override_block_feature(e, "user0", "genre=rock", NOW + DAY), "block");
  ok(pz_override_require(e, "user1", "genre=jazz", 0), "require");
  ok(pz_override_pin(e, "user1", "item0", 1, 0), "pin");
  ok(pz_override_adjust(e, "user1", "genre=pop", 1.5, 0), "adjust");
  ok(pz_override_less(e, "user1", "genre=jazz", 0), "less");
  ok(pz_override_not_interested(e, "user0", "item0", 0), "not interested");
  ok(pz_override_opt_out(e, "user2", 1), "opt out");
  ok(pz_override_clear(e, "user0", PZ_CHOICE_BLOCK_ITEM, "item1"), "clear");
  ok(pz_override_clear_all(e, "user1"), "clear all");
}

static void doc_ops(pz_engine *e) {
  const char *segs = "segments:\n"
                     "  - {name: lyon, rule: {attr: city, eq: Lyon}}\n"
                     "experiments:\n"
                     "  - {name: layout, seed: 1, variants: [{name: a}, {name: b}]}\n";
  const char *rules = "rules:\n"
                      "  - {name: lyon-jazz, kind: promote, slots: 1, "
                      "segment: lyon, match: {features: [genre=jazz]}}\n";
  ok(pz_item_put(e, "item0", (const char *[]){"genre=jazz"}, NULL, 1),
     "pz_item_put");
  ok(pz_profile_set_string(e, "user0", "city", "Lyon"), "set");
  ok(pz_segment_load(e, segs, strlen(segs)), "pz_segment_load");
  ok(pz_override_rules_load(e, rules, strlen(rules)), "pz_override_rules_load");
  ok(pz_segment_refresh(e), "pz_segment_refresh");
  ok(pz_override_rules_load(e, NULL, 0), "pz_override_rules_load");
}

static void training_ops(pz_engine *e) {
  for (int i = 0; i < 4; i++) {
    char id[16];
    snprintf(id, sizeof id, "item%d", i);
    const char *f[] = {i % 2 ? "genre=jazz" : "genre=rock"};
    ok(pz_item_put(e, id, f, NULL, 1), "pz_item_put");
  }
  for (int u = 0; u < 4; u++) {
    char user[16], item[16];
    snprintf(user, sizeof user, "user%d", u);
    for (int k = 0; k < 2; k++) {
      snprintf(item, sizeof item, "item%d", (u + k) % 4);
      ok(pz_track(e, user, item, "view", 1, 0), "pz_track");
    }
  }
  ok(pz_cluster_train(e, NULL), "pz_cluster_train");
  ok(pz_cluster_set_name(e, 0, "first"), "pz_cluster_set_name");
  pz_cluster_options co;
  ok(pz_cluster_options_init(&co, PZ_CLUSTER_OPTIONS_VERSION), "init");
  co.k = 2;
  co.seed = 5;
  co.max_iterations = 5;
  co.batch_size = 2;
  ok(pz_cluster_train(e, &co), "pz_cluster_train");
  ok(pz_cf_train(e, NULL), "pz_cf_train");
  pz_cf_options o;
  ok(pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION), "init");
  o.algorithm = PZ_CF_ALS;
  o.factors = 3;
  o.iterations = 2;
  o.threads = 2;
  ok(pz_cf_train(e, &o), "pz_cf_train");
  o.algorithm = PZ_CF_KNN;
  o.weighting = PZ_CF_WEIGHT_BM25;
  o.neighbours = 2;
  ok(pz_cf_train(e, &o), "pz_cf_train");
  ok(pz_profile_erase(e, "user3"), "pz_profile_erase");
}

/* A record appended by hand to the journal file: op, now, the arguments. */
static void append_record(uint8_t op, const void *args, size_t n_args) {
  uint8_t rec[256];
  CHECK(J_RH + 9 + n_args <= sizeof rec, "record too long");
  size_t n = J_RH;
  rec[n++] = op;
  int64_t now = NOW;
  memcpy(rec + n, &now, 8);
  n += 8;
  memcpy(rec + n, args, n_args);
  n += n_args;
  put32(rec, (uint32_t)(n - J_RH));
  put32(rec + 4, ~(uint32_t)(n - J_RH));
  put32(rec + 8, (uint32_t)pz__checksum(rec + J_RH, n - J_RH));
  FILE *f = fopen(journal_path, "ab");
  CHECK(f && fwrite(rec, 1, n, f) == n, "append");
  fclose(f);
}

/* pz_track's arguments with an event type the configuration lacks. */
static size_t bad_track_args(uint8_t *a) {
  size_t n = 0;
  const char *strs[] = {"user0", "item0", "no-such-type"};
  for (int i = 0; i < 3; i++) {
    uint32_t l = (uint32_t)strlen(strs[i]);
    memcpy(a + n, &l, 4);
    memcpy(a + n + 4, strs[i], l + 1);
    n += 4 + l + 1;
  }
  double v = 1;
  int64_t ts = 0;
  memcpy(a + n, &v, 8);
  memcpy(a + n + 8, &ts, 8);
  return n + 16;
}

/* The journal file as it is, with the flag byte, as a seed. */
static void seed_file(const char *dir, const char *name, uint8_t flags) {
  size_t len;
  uint8_t *p = read_file(journal_path, &len);
  p = realloc(p, len + 1);
  p[len] = flags;
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  write_file(path, p, len + 1);
  printf("%s: %zu bytes\n", path, len + 1);
  free(p);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  init_paths();
  pz_engine *e = open_store(false);
  seed(e, dir, "empty.j", 0, 0);
  e = open_store(false);
  profile_ops(e);
  seed(e, dir, "profiles.j", 0, 0);
  e = open_store(false);
  choice_ops(e);
  seed(e, dir, "choices.j", 0, 0);
  e = open_store(false);
  doc_ops(e);
  seed(e, dir, "documents.j", 0, 0);
  e = open_store(false);
  training_ops(e);
  seed(e, dir, "trainings.j", 0, 0);
  /* a torn last record */
  e = open_store(false);
  profile_ops(e);
  seed(e, dir, "torn.j", 0, 5);
  /* a record that cannot be replayed (an event type the configuration
   * lacks): the journal is corrupt; then trainings and a cluster name that
   * cannot be made again (no users, no clusters): left out */
  e = open_store(false);
  ok(pz_item_put(e, "item0", (const char *[]){"genre=jazz"}, NULL, 1),
     "pz_item_put");
  pz_engine_free(e);
  uint8_t args[128];
  size_t n = bad_track_args(args);
  append_record(1, args, n);
  seed_file(dir, "unreplayable.j", 0);
  e = open_store(false);
  pz_engine_free(e);
  args[0] = 0; /* has_options 0 */
  append_record(25, args, 1);
  append_record(24, args, 1);
  uint8_t name[] = {1, 0, 0, 0, 1, 0, 0, 0, 'x', 0};
  append_record(23, name, sizeof name);
  seed_file(dir, "derived-left-out.j", 0);
  /* after the snapshot of bit 2: generation 1, base 0 */
  e = open_store(true);
  ok(pz_track(e, "user0", "item3", "rating", 3, 0), "pz_track");
  ok(pz_override_pin(e, "user1", "item1", 0, 0), "pin");
  ok(pz_cluster_set_name(e, 1, "second"), "pz_cluster_set_name");
  ok(pz_profile_erase(e, "user2"), "pz_profile_erase");
  ok(pz_cf_train(e, NULL), "pz_cf_train");
  seed(e, dir, "after-snapshot.j", 4, 0);
  unlink(journal_path);
  unlink(snap_path);
  return 0;
}
#endif
