/*
 * lib/cf/cf.h - internal: collaborative filtering. The interaction matrix
 * (from profiles), item-item kNN, implicit ALS (conjugate-gradient sweeps,
 * exact Cholesky fold-in of a user's history), the serving model and its
 * state.
 *
 * A model is immutable once swapped in, except for its list of trained
 * users, which erasures shorten under the state's write lock. It holds only
 * item-side data: a user's side is computed from their history when asked
 * (and kept by the serving cache of lib/rank until the history or the model
 * changes).
 */
#ifndef PZ_CF_H
#define PZ_CF_H

#include "../profile/profile.h"
#include "personalize/cf.h"

/* ---- config (section cf) ------------------------------------------------ */

#define PZ__CF_MAX_FACTORS 1024
#define PZ__CF_MAX_NEIGHBOURS 1024
#define PZ__CF_MAX_THREADS 256
#define PZ__CF_MAX_ITERATIONS 10000
#define PZ__CF_MAX_CG 1024
#define PZ__CF_BECAUSE 3 /* history items named per recommendation */

typedef struct pz__cf_cfg {
  int algorithm; /* pz_cf_algorithm, never CONFIG */
  int weighting; /* pz_cf_weighting, never CONFIG */
  uint32_t neighbours, factors, iterations, cg_steps, threads;
  uint64_t seed;
  double regularization, alpha, bm25_k1, bm25_b, als_share;
} pz__cf_cfg;

void pz__cf_cfg_default(pz__cf_cfg *cfg);
int pz__cf_cfg_read(pz__cf_cfg *cfg, const pz__ydoc *d);
/* cfg with the options' non-default fields applied; checks them. */
int pz__cf_cfg_apply(pz__cf_cfg *cfg, const pz_cf_options *o);

/* ---- the interaction matrix ----------------------------------------------- */

/* Users x items in CSR, and its transpose. Values are summed event amounts
 * (> 0). Rows are sorted by item; columns by user row. */
typedef struct pz__cfmat {
  uint32_t n_users, n_items;
  uint64_t nnz;
  uint64_t *uptr; /* n_users + 1 */
  uint32_t *uidx;
  float *uval;
  uint64_t *iptr; /* n_items + 1 */
  uint32_t *iidx;
  float *ival;
  uint64_t *uhash; /* id hash of each user row */
  uint64_t cap[4]; /* capacities of uptr, uhash, uidx, uval */
} pz__cfmat;

/* Read every consented profile's history (shards read-locked here, one at
 * a time) into m; n_items is the catalogue's size when it starts. Removed
 * items stay in: they still say what a user likes. */
int pz__cfmat_build(const pz__alloc *a, pz__profiles *ps, pz__catalog *c,
                    pz__cfmat *m);
void pz__cfmat_free(const pz__alloc *a, pz__cfmat *m);

/* One user's aggregated history, sorted by item (request time). */
typedef struct pz__cfhist {
  uint32_t *item;
  float *r;
  uint32_t n;
} pz__cfhist;

/* Shard lock held: the profile's history as (item, summed amount > 0),
 * items below n_items. Arrays from a, sized cap = p->h.n (freed by
 * pz__cfhist_free with that). */
int pz__cfhist_read(const pz__alloc *a, const pz__profiles *ps,
                    const pz__profile *p, uint32_t n_items, pz__cfhist *h,
                    uint32_t *cap);
void pz__cfhist_free(const pz__alloc *a, pz__cfhist *h, uint32_t cap);

/* ---- plain interaction files (import.c) ---------------------------------- */

#define PZ__CF_IMPORT_DECLARED
typedef struct pz__irow {
  const char *user; /* not NUL-terminated; valid only during the callback */
  size_t ulen;
  const char *item;
  size_t ilen;
  double value;  /* finite */
  int64_t ts_ms; /* the row's timestamp (file seconds * 1000) if has_ts */
  bool has_ts;
  uint64_t line; /* 1-based */
} pz__irow;
typedef int (*pz__irow_fn)(const pz__irow *row, void *ud);
/* Read `path` in `format` (pz_cf_format; AUTO guesses from the first line).
 * fn == NULL: validate only. Otherwise fn is called for every data row in
 * file order; a nonzero return stops the read and is returned.
 * *format_out (may be NULL) gets the format decided (never AUTO) when the
 * read returns PZ_OK.
 * Errors set the thread's message: PZ_EINVAL (path NULL or empty, unknown
 * format); PZ_EIO "PATH: cannot open: ..." or "PATH: read error: ...";
 * PZ_EFORMAT "PATH:LINE: what is wrong"; PZ_ENOMEM. */
int pz__cf_read_file(const pz__alloc *a, const char *path, int format,
                     pz__irow_fn fn, void *ud, int *format_out);

/* ---- threads --------------------------------------------------------------- */

/* Run fn(ud, t, worker) for t in [0, n) on up to `threads` threads (the
 * caller is worker 0; worker < threads indexes per-thread scratch). Tasks
 * are independent; which worker runs one is not defined, so results must
 * not depend on it. If threads cannot be started, the others run the
 * rest. */
typedef void (*pz__cf_task)(void *ud, uint32_t t, uint32_t worker);
void pz__cf_parallel(uint32_t threads, uint32_t n, pz__cf_task fn, void *ud);

/* ---- kernels (f a multiple of 8; arrays 32-byte aligned not required) ---- */

float pz__cf_dot(const float *a, const float *b, uint32_t f);
void pz__cf_axpy(float *y, float a, const float *x, uint32_t f);
/* out = A x, A a full symmetric f x f matrix. */
void pz__cf_symv(const float *A, const float *x, float *out, uint32_t f);
/* A += sum over k < h of c[k] y y^T, y = Y row idx[k] (stride f), one k
 * after the other: the upper triangle (in steps of 8 columns) only, all
 * pz__cf_cholesky reads. */
void pz__cf_syrk(float *A, const float *Y, const uint32_t *idx, const float *c,
                 uint32_t h, uint32_t f);
/* sum over j < f of z[j] y[j], in double (z: f doubles, zero beyond the
 * factors in use). */
double pz__cf_dot_fd(const double *z, const float *y, uint32_t f);
/* out[i] = dot(Y row i, x) for i in [0, n) (rows of stride f). */
void pz__cf_gemv(const float *Y, uint32_t n, const float *x, float *out,
                 uint32_t f);
/* G += sum of y y^T over rows [from, to) of Y: upper triangle (in steps of
 * 8 columns) only; pz__cf_gram_mirror completes it. */
void pz__cf_gram(const float *Y, uint32_t from, uint32_t to, float *G,
                 uint32_t f);
void pz__cf_gram_mirror(float *G, uint32_t f);

/* One side's fixed data while the other side's rows are solved. */
typedef struct pz__cf_cg {
  const float *G; /* fs x fs Gram matrix of the fixed side */
  const float *Y; /* fixed side's rows */
  uint32_t fs, steps;
  float reg, alpha;
} pz__cf_cg;
/* Conjugate-gradient steps on one row x (fs floats) whose interactions are
 * (idx[k], r[k]): confidence 1 + alpha r, target 1. work: 3 fs floats. */
void pz__cf_cg_row(const pz__cf_cg *g, const uint32_t *idx, const float *r,
                   uint32_t n, float *x, float *work);
/* That row's share of the loss (without the penalty). work: fs floats. */
double pz__cf_loss_row(const pz__cf_cg *g, const uint32_t *idx,
                       const float *r, uint32_t n, const float *x,
                       float *work);

/* Cholesky of the leading n x n block of A (stride ld; its upper triangle
 * is read) into L (lower, n x n doubles). Returns false if A is not
 * positive definite. */
bool pz__cf_cholesky(const float *A, uint32_t ld, uint32_t n, double *L);
/* Solve L L^T z = b in place (n doubles). */
void pz__cf_chol_solve(const double *L, uint32_t n, double *b);
/* m right-hand sides at once (B: m vectors of n, ld apart), each solved
 * exactly as pz__cf_chol_solve would. */
void pz__cf_chol_solve_many(const double *L, uint32_t n, double *B,
                            uint32_t ld, uint32_t m);

/* ---- the model ------------------------------------------------------------ */

typedef struct pz__cfmodel {
  const pz__alloc *a;
  int algorithm; /* KNN, ALS or BOTH */
  int weighting;
  uint32_t n_items, n_users, threads;
  uint64_t nnz;
  double train_seconds;
  int64_t trained_at;
  double als_share;
  uint32_t *users_of; /* per item: users it was trained with (0: none) */
  /* kNN: neighbour lists per item, sorted by item index */
  uint32_t k;
  uint64_t *nptr; /* n_items + 1 */
  uint32_t *nidx;
  float *nsim;
  /* ALS: item factors (n_items rows of fs floats, zero padded) */
  uint32_t f, fs, iterations;
  double reg, alpha;
  float *Y;
  float *ynorm; /* n_items: the Euclidean norm of each row of Y */
  float *YtY;  /* fs x fs */
  double *L0;  /* Cholesky of YtY + reg I (f x f): the fold-in matrix when
                  alpha == 0 or the user has no history weight beyond 1 */
  double *loss; /* per sweep */
  /* users trained on (id hashes, sorted), less those erased since */
  uint64_t *who;
  uint32_t n_who, erased;
} pz__cfmodel;

/* Train a model of cfg->algorithm on m (which the caller frees). */
int pz__cfmodel_train(const pz__alloc *a, const pz__cf_cfg *cfg,
                      pz__cfmat *m, pz__cfmodel **out);
void pz__cfmodel_free(pz__cfmodel *m);
/* Take a user out of the trained list (counting them as erased, unless
 * their data only moved to another id); true if they were in it. */
bool pz__cfmodel_forget(pz__cfmodel *m, uint64_t hash, bool erased);

/* kNN build and ALS training, used by pz__cfmodel_train. */
int pz__cf_knn_build(const pz__alloc *a, const pz__cf_cfg *cfg,
                     const pz__cfmat *m, pz__cfmodel *out);
int pz__cf_als_train(const pz__alloc *a, const pz__cf_cfg *cfg,
                     const pz__cfmat *m, pz__cfmodel *out);

/* The norms of the item factors (ALS), computed once with the model. */
int pz__cfmodel_norms(const pz__alloc *a, pz__cfmodel *m);

/* Snapshot section (store module): a presence flag, then the model. */
void pz__cfmodel_save(const pz__cfmodel *m, pz__buf *b);
/* *out NULL when the snapshot had no model; items below n_items. */
int pz__cfmodel_restore(const pz__alloc *a, pz__rd *r, uint32_t n_items,
                        pz__cfmodel **out);

/* ---- scoring (request time) ------------------------------------------- */

/* The folded-in ALS vector of a history (x: fs floats, zero padded;
 * all zero without ALS or history): x = A^-1 b as above, solved with the
 * user's own Cholesky factor (or the model's shared one). */
int pz__cf_fold(const pz__alloc *a, const pz__cfmodel *m, const pz__cfhist *h,
                float *x);

/* Per-request work space for one user against one model. */
typedef struct pz__cfuser {
  const pz__cfmodel *m;
  const pz__cfhist *h;
  const float *x; /* ALS: the folded-in vector (pz__cf_fold), borrowed */
  double *L;      /* ALS, for explanations: the user's factor, or m->L0 */
  double *tmp;    /* f doubles */
  bool own_L;
} pz__cfuser;

/* x may be NULL when the model has no ALS part or h is empty. */
void pz__cfuser_init(pz__cfuser *u, const pz__cfmodel *m, const pz__cfhist *h,
                     const float *x);
/* The factor pz__cfuser_explain needs (ALS); once per request. */
int pz__cfuser_factor(const pz__alloc *a, pz__cfuser *u);
void pz__cfuser_free(const pz__alloc *a, pz__cfuser *u);
/* Raw ALS scores of every model item (m->n_items floats). */
void pz__cfuser_als(const pz__cfuser *u, float *als);
/* Raw kNN scores of the items the history's neighbour lists reach (every
 * other item scores 0): knn (m->n_items, zero on entry) gets each such
 * item's score, tbits (m->n_items bits, zero on entry) its bit, touched
 * (m->n_items entries at most) its index, in increasing order; returns
 * how many. The sums are taken in history order, neighbour lists in
 * order. */
uint32_t pz__cfuser_knn(const pz__cfuser *u, float *knn, uint64_t *tbits,
                        uint32_t *touched);
/* ALS, after pz__cfuser_factor: z = A^-1 y_i for n items at once into Z
 * (n vectors of m->fs doubles, zero past m->f, as pz__cfuser_explain
 * reads them), as pz__cfuser_explain would solve them. */
void pz__cfuser_solve(const pz__cfuser *u, const uint32_t *items, uint32_t n,
                      double *Z);
/* Contribution of each history item to item i's raw kNN and ALS scores
 * (arrays of h->n; either may be NULL); ALS needs pz__cfuser_factor, and
 * z: item i's vector from pz__cfuser_solve, or NULL to solve it here. */
void pz__cfuser_explain(const pz__cfuser *u, uint32_t i, const double *z,
                        double *knn, double *als);

/* kNN similarity of items a and b (0 when b is not among a's neighbours). */
float pz__cf_knn_sim(const pz__cfmodel *m, uint32_t a, uint32_t b);

/* ---- state ----------------------------------------------------------------- */

typedef struct pz__cfstate {
  pthread_rwlock_t lock;
  const pz__alloc *a;
  pz__cf_cfg cfg;
  pz__cfmodel *model; /* may be NULL */
  uint64_t gen;        /* models (or their absence) swapped in so far:
                          what serving caches of a model key on */
  pz__builds builds;
} pz__cfstate;

int pz__cfstate_init(pz__cfstate *s, const pz__alloc *a);
void pz__cfstate_free(pz__cfstate *s);
void pz__cfstate_rdlock(pz__cfstate *s);
void pz__cfstate_wrlock(pz__cfstate *s);
void pz__cfstate_unlock(pz__cfstate *s);
/* State write-locked: the user is erased, merged away or withdrew. */
void pz__cfstate_forget(pz__cfstate *s, const pz__uref *u, bool erased);

#endif /* PZ_CF_H */
