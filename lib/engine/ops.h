/*
 * lib/engine/ops.h - internal: the table of write operations.
 *
 * Every write that changes what an engine serves is one row of pz__ops
 * (ops.c): a pinned on-disk op number, a name, the public function(s)
 * that enter it, its argument schema, flags and one apply function. The
 * public functions only pack their arguments and call pz__op_call; one
 * generic encoder writes any row's journal record and one decoder reads
 * it back for replay, which calls the apply function directly. The
 * snapshot man page's op table and the journal fuzzer are checked
 * against the table (tests/unit/test_ops.c).
 *
 * pz__op_call, with a journal: under the locks that order it (ops.c,
 * "ordering": a person's stripe, or every write), encode the record,
 * refuse it if it cannot be written (too large, journal out of step, no
 * disk space: nothing changes), apply it with the clock fixed for the
 * call, append the record if the apply worked; then, without the locks,
 * sync by policy. Rows flagged PZ__OP_AFTER (trainings, a refresh) run
 * without those locks and are recorded once done.
 */
#ifndef PZ_ENGINE_OPS_H
#define PZ_ENGINE_OPS_H

#include "engine.h"

/* Op numbers are on disk: never renumber, never reuse. */
enum pz__opnum {
  PZ__OP_TRACK = 1, PZ__OP_ATTR_STRING, PZ__OP_ATTR_NUMBER, PZ__OP_ATTR_BOOL,
  PZ__OP_ATTR_TIMESTAMP, PZ__OP_ATTR_REMOVE, PZ__OP_CONSENT, PZ__OP_MERGE,
  PZ__OP_ERASE, PZ__OP_ITEM_PUT, PZ__OP_ITEM_REMOVE, PZ__OP_BLOCK_ITEM,
  PZ__OP_BLOCK_FEATURE, PZ__OP_REQUIRE, PZ__OP_PIN, PZ__OP_ADJUST,
  PZ__OP_NOT_INTERESTED, PZ__OP_OPT_OUT, PZ__OP_CLEAR, PZ__OP_CLEAR_ALL,
  PZ__OP_RULES_LOAD, PZ__OP_SEGMENT_LOAD, PZ__OP_CLUSTER_NAME,
  PZ__OP_CF_TRAIN, PZ__OP_CLUSTER_TRAIN, PZ__OP_SEGMENT_REFRESH,
  PZ__OP_TRACK_BATCH, /* 1.2 */
  PZ__OP_END
};

/* Argument kinds and their record encodings (personalize-snapshot(5)). */
enum pz__akind {
  PZ__A_STR,   /* u32 n (0xFFFFFFFF: NULL), n bytes, NUL */
  PZ__A_DOC,   /* the same, any bytes, with its length */
  PZ__A_F64,   /* f64 */
  PZ__A_I64,   /* i64 */
  PZ__A_INT,   /* int: u32, read back as i32 */
  PZ__A_FEATS, /* u32 n, str feature[n], u8 has_weights, f64 weight[n] */
  PZ__A_OPTS,  /* u8 has_options, then the option struct's fields */
  PZ__A_EVENTS /* u32 n, then n times: str user, str item, str event_type,
                  f64 value, i64 ts_ms */
};

/* One argument of a call, by kind: s (STR: NUL-terminated or NULL; DOC:
 * n bytes), f, i (I64, INT), sv/fv/n (FEATS: fv may be NULL), opt (OPTS:
 * NULL for the configuration's), ev/n/done (EVENTS: done, which may be
 * NULL, gets how many were applied). */
typedef struct pz__arg {
  const char *s;
  size_t n;
  double f;
  int64_t i;
  const char *const *sv;
  const double *fv;
  const void *opt;
  const pz_event *ev;
  size_t *done;
} pz__arg;

#define PZ__STR(x) ((pz__arg){.s = (x)})
#define PZ__DOC(x, len) ((pz__arg){.s = (x), .n = (len)})
#define PZ__F64(x) ((pz__arg){.f = (x)})
#define PZ__I64(x) ((pz__arg){.i = (x)})
#define PZ__INT(x) ((pz__arg){.i = (x)})
#define PZ__FEATS(v, w, count) ((pz__arg){.sv = (v), .fv = (w), .n = (count)})
#define PZ__OPTS(x) ((pz__arg){.opt = (x)})
#define PZ__EVENTS(v, count, d) ((pz__arg){.ev = (v), .n = (count), .done = (d)})

/* An option struct's field: its record encoding and where it is. */
enum pz__fkind { PZ__F_INT, PZ__F_U32, PZ__F_U64, PZ__F_F64 };
typedef struct pz__field {
  const char *name;
  uint8_t kind;
  size_t off;
} pz__field;
typedef struct pz__optdesc {
  const char *type; /* the public struct's name */
  size_t size;
  unsigned version; /* the version its first member must carry */
  int (*init)(void *opts, unsigned version);
  const pz__field *f;
  unsigned n;
} pz__optdesc;

enum {
  PZ__OP_AFTER = 1u,   /* runs without the order lock, recorded once done */
  PZ__OP_DERIVED = 2u, /* rebuildable: a replay that cannot apply it goes on */
  PZ__OP_USER = 4u,    /* the first argument is a user id */
  PZ__OP_PARTIAL = 8u, /* an EVENTS row whose apply may stop part way
                          (*done applied): that prefix is recorded */
  PZ__OP_WIDE = 16u    /* a USER row that also changes others' data (a
                          merge, an erasure): ordered against every write */
};

#define PZ__OP_MAXARGS 5
typedef struct pz__oprow {
  uint8_t op;
  const char *name;
  const char *api[3];  /* the public functions that record it (NULL-ended) */
  uint8_t nargs;
  uint8_t kind[PZ__OP_MAXARGS];
  const char *arg[PZ__OP_MAXARGS];
  const pz__optdesc *opts; /* of the PZ__A_OPTS argument */
  unsigned flags;
  int (*apply)(pz_engine *e, const pz__arg *a);
} pz__oprow;

extern const pz__oprow pz__ops[PZ__OP_END];

/* Run a public write: argument checks the record needs, the journal
 * protocol above, the apply function. */
int pz__op_call(pz_engine *e, int op, const pz__arg *a);
/* Apply a write without recording it (a snapshot's restore). */
int pz__op_apply(pz_engine *e, int op, const pz__arg *a);
/* The journal's replay callback (ctx: the engine). */
int pz__ops_replay(void *ctx, const uint8_t *payload, size_t len);
/* An apply function is about to create a catalogue item: hold the
 * engine's creation lock until the call's record is written (ops.c,
 * ordering). */
void pz__op_created_item(pz_engine *e);
/* Exclude every write (pz_engine_save). */
void pz__op_exclusive_begin(pz_engine *e);
void pz__op_exclusive_end(pz_engine *e);
/* The clock reading fixed for this thread's current write, if any. */
bool pz__op_clock(int64_t *now);

/* Encode a row's arguments as a record payload (op, now, arguments). */
int pz__op_encode(pz__buf *b, const pz__oprow *row, int64_t now,
                  const pz__arg *a);
/* Decode a payload: *row, *now, the arguments into a (PZ__OP_MAXARGS);
 * arrays and option structs are allocated: free with pz__op_decoded_free. */
int pz__op_decode(const pz__alloc *al, const uint8_t *p, size_t len,
                  const pz__oprow **row, int64_t *now, pz__arg *a);
void pz__op_decoded_free(const pz__alloc *al, const pz__oprow *row,
                         pz__arg *a);
/* The row's argument list as personalize-snapshot(5) prints it. */
void pz__op_describe(const pz__oprow *row, char *out, size_t cap);

/* The apply functions, with each module's API file. */
int pz__ap_track(pz_engine *e, const pz__arg *a);
int pz__ap_attr_string(pz_engine *e, const pz__arg *a);
int pz__ap_attr_number(pz_engine *e, const pz__arg *a);
int pz__ap_attr_bool(pz_engine *e, const pz__arg *a);
int pz__ap_attr_timestamp(pz_engine *e, const pz__arg *a);
int pz__ap_attr_remove(pz_engine *e, const pz__arg *a);
int pz__ap_consent(pz_engine *e, const pz__arg *a);
int pz__ap_merge(pz_engine *e, const pz__arg *a);
int pz__ap_erase(pz_engine *e, const pz__arg *a);
int pz__ap_item_put(pz_engine *e, const pz__arg *a);
int pz__ap_item_remove(pz_engine *e, const pz__arg *a);
int pz__ap_block_item(pz_engine *e, const pz__arg *a);
int pz__ap_block_feature(pz_engine *e, const pz__arg *a);
int pz__ap_require(pz_engine *e, const pz__arg *a);
int pz__ap_pin(pz_engine *e, const pz__arg *a);
int pz__ap_adjust(pz_engine *e, const pz__arg *a);
int pz__ap_not_interested(pz_engine *e, const pz__arg *a);
int pz__ap_opt_out(pz_engine *e, const pz__arg *a);
int pz__ap_clear(pz_engine *e, const pz__arg *a);
int pz__ap_clear_all(pz_engine *e, const pz__arg *a);
int pz__ap_rules_load(pz_engine *e, const pz__arg *a);
int pz__ap_segment_load(pz_engine *e, const pz__arg *a);
int pz__ap_cluster_name(pz_engine *e, const pz__arg *a);
int pz__ap_cf_train(pz_engine *e, const pz__arg *a);
int pz__ap_cluster_train(pz_engine *e, const pz__arg *a);
int pz__ap_segment_refresh(pz_engine *e, const pz__arg *a);
int pz__ap_track_batch(pz_engine *e, const pz__arg *a);

#endif /* PZ_ENGINE_OPS_H */
