/*
 * lib/segment/segment.h - internal: compiled rule segments, experiments,
 * the cluster model and per-segment popularity.
 *
 * The engine holds one pz__segstate. Its rwlock guards the three swappable
 * parts (rules, clusters, segment popularity): readers hold it shared for
 * the length of a call, writers build the replacement without it and take
 * it exclusively only to swap. Lock order: segment state, then catalogue,
 * then user shards by number.
 */
#ifndef PZ_SEGMENT_H
#define PZ_SEGMENT_H

#include "../profile/profile.h"
#include "personalize/segment.h"

#include <regex.h>

#define PZ__SEG_MAX 4096       /* segments per rule set */
#define PZ__EXP_MAX 1024       /* experiments per rule set */
#define PZ__VARIANT_MAX 256    /* variants per experiment */
#define PZ__LIT_MAX 10000      /* values of one in / not_in */
#define PZ__REGEX_MAX 1024     /* bytes of one pattern */
#define PZ__CLUSTER_MAX 1024   /* k */
#define PZ__TOPN_MAX 1000      /* top_interests n */

/* ---- rules ------------------------------------------------------------- */

enum pz__pk { /* what a predicate looks at */
  PZ__P_ALL = 1, PZ__P_ANY, PZ__P_NOT, PZ__P_ATTR, PZ__P_COUNT, PZ__P_SUM,
  PZ__P_DAYS, PZ__P_INTEREST, PZ__P_TOPN, PZ__P_SEGMENT, PZ__P_CLUSTER
};

enum pz__op { /* how it compares */
  PZ__OP_EQ = 1, PZ__OP_NE, PZ__OP_IN, PZ__OP_NOT_IN, PZ__OP_GT, PZ__OP_GTE,
  PZ__OP_LT, PZ__OP_LTE, PZ__OP_BETWEEN, PZ__OP_EXISTS, PZ__OP_CONTAINS,
  PZ__OP_STARTS, PZ__OP_ENDS, PZ__OP_REGEX
};

typedef struct pz__lit { /* a typed literal (pz_attr_type) */
  uint8_t type;
  uint32_t slen;
  union {
    double num;
    int64_t ts;
    int b;
    char *s;
  } v;
} pz__lit;

typedef struct pz__pred {
  uint8_t kind, op;
  bool ci; /* case-insensitive (ASCII letters) */
  char *name; /* attribute name, or cluster name */
  uint32_t nlen;
  uint16_t nhash;    /* pz__attr_hash of an attribute name */
  uint32_t bslot;    /* behaviour: its slot in the one-pass summary */
  uint32_t etype;    /* event type (count, sum, days_since) */
  int64_t within_ms; /* 0: the whole retained history */
  uint32_t fidx;     /* interest feature: index and sign */
  float fsign;
  uint32_t topn;
  uint32_t ref;    /* segment index */
  int32_t cluster; /* cluster id, or -1 with a name */
  pz__lit *lit;
  uint32_t n_lit;
  regex_t *re;
  struct pz__pred *kid;
  uint32_t n_kid;
} pz__pred;

typedef struct pz__segdef {
  char *name;
  uint32_t nlen;
  bool rank; /* used by "popular in your segment" */
  pz__pred root;
} pz__segdef;

typedef struct pz__variant {
  char *name;
  uint32_t nlen;
  double weight;
  double lo, hi; /* owns [lo, hi): lo = S/W, hi = lo + coverage * (w/W) */
} pz__variant;

typedef struct pz__experiment {
  char *name;
  uint32_t nlen;
  uint64_t seed;
  double coverage;
  int32_t segment; /* targeting segment index, or -1 */
  pz__variant *v;
  uint32_t nv;
} pz__experiment;

/* Behaviour predicates (count, sum, days_since) read one summary of the
 * history, made in a single pass per user: a slot per predicate, chained
 * per event type. */
#define PZ__NO_SLOT UINT32_MAX
typedef struct pz__bslot {
  uint32_t etype;
  uint32_t next; /* next slot of the same type, or PZ__NO_SLOT */
  int64_t within_ms;
} pz__bslot;

typedef struct pz__rules {
  const pz__alloc *a;
  pz__segdef *seg;
  uint32_t n_seg, seg_cap;
  pz__experiment *exp;
  uint32_t n_exp, exp_cap;
  bool refs; /* some segment refers to another: evaluation memoizes */
  pz__bslot *bs;
  uint32_t n_bs, bs_cap;
  uint32_t type_first[PZ__MAX_EVENT_TYPES];
} pz__rules;

/* What compiling needs from the rest of the engine. */
typedef struct pz__rules_env {
  const pz__alloc *a;
  const pz__profile_cfg *pcfg; /* event types */
  pz__hashid hid;              /* interest features */
} pz__rules_env;

/* Compile `segments:` and `experiments:` of a document (either may be
 * absent). *out is NULL when both are absent. */
int pz__rules_compile(pz__rules **out, const pz__rules_env *env,
                      const pz__ydoc *d);
void pz__rules_free(pz__rules *r);
/* Index of a segment or experiment by name, or -1. */
int32_t pz__rules_segment(const pz__rules *r, const char *name, size_t len);
int32_t pz__rules_experiment(const pz__rules *r, const char *name,
                             size_t len);

/* A literal from a YAML scalar (exposed for tests). ISO-8601 dates:
 * YYYY-MM-DD, optionally followed by THH:MM[:SS[.fff]] and Z or +-HH:MM;
 * no zone means UTC. Returns 0 on success, -1 if not a date. */
int pz__parse_date(const char *s, size_t len, int64_t *ms_out);
enum { /* what a literal may be */
  PZ__LIT_ANY = 0,   /* eq, ne, in: typed by how it is written */
  PZ__LIT_ORDER = 1, /* gt...between on attributes: a number or a date */
  PZ__LIT_STRING = 2,
  PZ__LIT_NUMBER = 3 /* behaviour and interests */
};
int pz__seg_literal(const pz__alloc *a, const pz__ydoc *d, const pz__ynode *n,
                    int kind, pz__lit *l);
void pz__seg_literal_free(const pz__alloc *a, pz__lit *l);

/* ---- clusters ------------------------------------------------------------ */

#define PZ__Q_ONE 1073741824.0 /* 2^30: a contribution of 1.0 */

typedef struct pz__qent { /* a quantized contribution entry */
  uint32_t i;
  int32_t q;
} pz__qent;

typedef struct pz__csum { /* a centroid sum entry, exact */
  uint32_t i;
  int64_t s;
} pz__csum;

typedef struct pz__cluster {
  pz__csum *sum; /* sorted by index */
  uint32_t nsum;
  uint32_t count;
  double norm; /* |sum| / 2^30 */
  char *name;
  uint32_t nlen;
} pz__cluster;

typedef struct pz__cmember {
  uint32_t cluster;
  uint32_t n; /* entries of q */
  uint8_t idlen;
  bool gone; /* erased or merged away */
  pz__qent *q;
  char id[];
} pz__cmember;

typedef struct pz__clusters {
  const pz__alloc *a;
  uint32_t k, max_features, min_size;
  pz__cluster *c;
  pz__cmember **m;
  uint32_t n_m;
  pz__idmap map; /* member id -> index */
  /* inverted index: feature index -> postings (cluster, sum as float) */
  uint32_t *key;  /* open addressing; UINT32_MAX empty */
  uint32_t *kpos; /* first posting of slot j */
  uint32_t *kcnt; /* postings of slot j */
  uint32_t kcap;
  uint16_t *post_c;
  float *post_v;
  uint32_t n_post;
} pz__clusters;

typedef struct pz__cluster_cfg {
  uint32_t k, max_iterations, batch_size, min_size, max_features;
  uint64_t seed;
} pz__cluster_cfg;

void pz__cluster_cfg_default(pz__cluster_cfg *cfg);
int pz__cluster_cfg_read(pz__cluster_cfg *cfg, const pz__ydoc *d);

/* One user's training input: a normalized, quantized top-M vector. */
typedef struct pz__cpoint {
  pz__qent *q;
  uint32_t n;
  uint8_t idlen;
  char id[PZ_ID_MAX + 1];
} pz__cpoint;

/* Train on points (which the model takes over on success). */
int pz__clusters_train(pz__clusters **out, const pz__alloc *a,
                       const pz__cluster_cfg *cfg, pz__cpoint *pts,
                       uint32_t n);
void pz__clusters_free(pz__clusters *m);
/* Top-M of a profile's interests, normalized and quantized into q[cap]
 * (sorted by index); returns the count (0: no interests). */
uint32_t pz__clusters_point(const pz__profile *p, uint32_t max_features,
                            pz__qent *q, float *tmp_v, uint32_t *tmp_i);
/* Nearest cluster of a point (sorted qents), or -1. */
int pz__clusters_nearest(const pz__clusters *m, const pz__qent *q,
                         uint32_t n);
/* Remove a member's contribution (erase) exactly; false if not a member. */
bool pz__clusters_remove(pz__clusters *m, const char *id, size_t len,
                         uint64_t hash);
/* Cluster id by name, or -1. */
int32_t pz__clusters_by_name(const pz__clusters *m, const char *name,
                             size_t len);
/* Move names of old clusters to the most similar new ones. */
int pz__clusters_inherit_names(pz__clusters *to, const pz__clusters *from);
bool pz__clusters_targetable(const pz__clusters *m, int32_t c);

/* Snapshot sections (store module): a presence flag, then the model.
 * Restores give *out NULL when the snapshot had none. */
void pz__clusters_save(const pz__clusters *m, pz__buf *b);
int pz__clusters_restore(pz__clusters **out, const pz__alloc *a, pz__rd *r,
                         unsigned bits);

/* ---- per-segment popularity ------------------------------------------- */

typedef struct pz__segpop_table {
  char *name; /* segment name */
  uint32_t nlen;
  uint32_t members; /* contributing members */
  uint32_t *item;   /* sorted item indices */
  float *pop;       /* raw decayed popularity at the landmark */
  uint32_t n;
  float max_pop;
  uint64_t *who; /* sorted hashes of contributing user ids */
  uint32_t n_who;
} pz__segpop_table;

typedef struct pz__segpop {
  const pz__alloc *a;
  int64_t landmark;
  pz__segpop_table *t;
  uint32_t n;
} pz__segpop;

void pz__segpop_free(pz__segpop *sp);
typedef struct pz__segctx pz__segctx;
/* What a build reads; profiles are scanned shard by shard under their
 * read locks, the catalogue and segment state are read-locked by the
 * caller. */
typedef struct pz__segpop_env {
  const pz__alloc *a;
  const pz__rules *rules;
  pz__profiles *ps;
  const pz__profile_cfg *pcfg;
  uint32_t n_items;
  uint32_t min_members;
  int64_t now;
} pz__segpop_env;
int pz__segpop_build(pz__segpop **out, const pz__segpop_env *env,
                     pz__segctx *x);
void pz__segpop_table_drop(const pz__alloc *a, pz__segpop_table *t);
/* Table of a segment by name, or NULL (dropped tables have name NULL). */
const pz__segpop_table *pz__segpop_find(const pz__segpop *sp,
                                        const char *name, size_t len);
/* Does a table count this user? */
bool pz__segpop_counts(const pz__segpop_table *t, uint64_t user_hash);
/* Stored popularity of an item in a table (0 if absent); pos is a cursor
 * for increasing item indices (start at 0), or NULL for random access. */
float pz__segpop_at(const pz__segpop_table *t, uint32_t item, uint32_t *pos);

void pz__segpop_save(const pz__segpop *sp, pz__buf *b);
int pz__segpop_restore(pz__segpop **out, const pz__alloc *a, pz__rd *r,
                       uint32_t n_items);

/* ---- evaluation ----------------------------------------------------------- */

typedef struct pz__segstate {
  pthread_rwlock_t lock;
  const pz__alloc *a;
  pz__rules *rules;       /* may be NULL */
  pz__clusters *clusters; /* may be NULL */
  pz__segpop *segpop;     /* may be NULL */
  pz__text src; /* the last pz_segment_load document (p NULL: the
                   rules came from the configuration) */
  pz__cluster_cfg ccfg;
  /* Builds (training, refresh) copy their input without the state lock;
   * users erased meanwhile are taken out before the swap. */
  pz__builds builds;
} pz__segstate;

int pz__segstate_init(pz__segstate *s, const pz__alloc *a);
void pz__segstate_free(pz__segstate *s);
void pz__segstate_rdlock(pz__segstate *s);
void pz__segstate_wrlock(pz__segstate *s);
void pz__segstate_unlock(pz__segstate *s);
/* State lock held exclusively: take a user out of every derived model
 * (cluster sums, segment popularity), and out of a running build. For a
 * merge, `into` (may be NULL) inherits the user's place in popularity. */
void pz__segstate_forget(pz__segstate *s, const pz__uref *u,
                         const pz__uref *into);

/* One evaluation context: a profile (or NULL) under its shard lock, with
 * the segment state and the catalogue read-locked. */
struct pz__segctx {
  const pz__rules *r;
  const pz__clusters *cl;
  const pz__profiles *ps;
  const pz__catalog *c;
  const pz__profile *p;
  int64_t now;
  bool behaviour; /* consent to personalization: history and interests */
  bool summed;    /* bv holds this user's behaviour summary */
  struct pz__bval {
    double count, sum;
    int64_t last, from;
  } *bv; /* one per behaviour slot of r */
  /* with references: each segment's result for this user, stamped with
   * (user generation << 1 | result), so a shared sub-segment is evaluated
   * once per user */
  uint32_t *memo;
  uint32_t gen;
  int cluster;    /* nearest cluster, computed on first use; -2 unknown */
  pz__qent *q;    /* scratch of max_features entries for the cluster */
  float *tv;
  uint32_t *ti;
};

/* Scratch for cluster lookups (sized for the model's max_features). */
int pz__segctx_init(pz__segctx *x, const pz__alloc *a, const pz__rules *r,
                    const pz__clusters *cl, const pz__profiles *ps,
                    const pz__catalog *c, int64_t now);
void pz__segctx_free(pz__segctx *x, const pz__alloc *a);
/* Point the context at a profile (NULL: nobody). */
void pz__segctx_user(pz__segctx *x, const pz__profile *p);
bool pz__seg_eval(pz__segctx *x, uint32_t seg);
/* The user's nearest cluster (computed once per user). */
int pz__segctx_cluster(pz__segctx *x);

/* Variant index for a user, or -1 (outside coverage). */
int pz__experiment_variant(const pz__experiment *x, const char *id,
                           size_t len);
double pz__experiment_bucket(const char *id, size_t len, uint64_t seed);

#endif /* PZ_SEGMENT_H */
