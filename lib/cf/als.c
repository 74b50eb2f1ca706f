/* Implicit ALS (Hu, Koren, Volinsky 2008): minimise
 *   sum over all (u, i) of c_ui (p_ui - x_u . y_i)^2 + reg (|X|^2 + |Y|^2)
 * with p = 1 and c = 1 + alpha r on observed cells, p = 0 and c = 1
 * elsewhere, alternating user and item sweeps. Each row takes cg_steps
 * conjugate-gradient steps from its previous value (Takacs, Pilaszy,
 * Tikk 2011), as implicit does. Rows are independent, and Gram matrices
 * are summed over fixed blocks in a fixed order, so the result does not
 * depend on the thread count. */
#include "cf.h"

#include <math.h>
#include <string.h>

#define ROWS_PER_TASK 32
#define GRAM_BLOCKS 16
#define MAX_FS 1024

typedef struct side { /* the rows being solved */
  const uint64_t *ptr;
  const uint32_t *idx;
  const float *val;
  float *rows;
  uint32_t n;
} side;

typedef struct als {
  const pz__cf_cfg *cfg;
  uint32_t fs;
  pz__cf_cg g;   /* the fixed side */
  side s;        /* the side being solved */
  float *blocks; /* GRAM_BLOCKS partial Gram matrices */
  const float *gram_rows;
  uint32_t gram_n;
  double *row_loss;
} als;

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform [0, 0.01) per factor, from the seed and a per-row key (user id
 * hash, item index): the same whatever order rows come in. */
static void init_row(float *row, uint32_t f, uint64_t seed, uint64_t key) {
  uint64_t st = seed ^ (key * 0xD1B54A32D192ED03ull);
  for (uint32_t j = 0; j < f; j++)
    row[j] = (float)((double)(splitmix(&st) >> 40) * 0x1p-24 * 0.01);
}

static void gram_task(void *ud, uint32_t t, uint32_t worker) {
  (void)worker;
  als *x = ud;
  uint32_t per = (x->gram_n + GRAM_BLOCKS - 1) / GRAM_BLOCKS;
  uint32_t from = t * per, to = PZ__MIN(x->gram_n, from + per);
  float *G = x->blocks + (size_t)t * x->fs * x->fs;
  memset(G, 0, (size_t)x->fs * x->fs * sizeof *G);
  if (from < to) pz__cf_gram(x->gram_rows, from, to, G, x->fs);
}

/* G = sum of y y^T over the rows. */
static void gram(als *x, const float *rows, uint32_t n, float *G) {
  x->gram_rows = rows;
  x->gram_n = n;
  pz__cf_parallel(x->cfg->threads, GRAM_BLOCKS, gram_task, x);
  size_t ff = (size_t)x->fs * x->fs;
  memcpy(G, x->blocks, ff * sizeof *G);
  for (uint32_t b = 1; b < GRAM_BLOCKS; b++)
    for (size_t k = 0; k < ff; k++) G[k] += x->blocks[b * ff + k];
  pz__cf_gram_mirror(G, x->fs);
}

static void solve_task(void *ud, uint32_t t, uint32_t worker) {
  (void)worker;
  const als *x = ud;
  float work[3 * MAX_FS];
  uint32_t from = t * ROWS_PER_TASK,
           to = PZ__MIN(x->s.n, from + ROWS_PER_TASK);
  for (uint32_t r = from; r < to; r++) {
    uint64_t b = x->s.ptr[r], n = x->s.ptr[r + 1] - b;
    pz__cf_cg_row(&x->g, x->s.idx + b, x->s.val + b, (uint32_t)n,
                  x->s.rows + (size_t)r * x->fs, work);
  }
}

static void loss_task(void *ud, uint32_t t, uint32_t worker) {
  (void)worker;
  const als *x = ud;
  float work[MAX_FS];
  uint32_t from = t * ROWS_PER_TASK,
           to = PZ__MIN(x->s.n, from + ROWS_PER_TASK);
  for (uint32_t r = from; r < to; r++) {
    uint64_t b = x->s.ptr[r], n = x->s.ptr[r + 1] - b;
    x->row_loss[r] =
        pz__cf_loss_row(&x->g, x->s.idx + b, x->s.val + b, (uint32_t)n,
                        x->s.rows + (size_t)r * x->fs, work);
  }
}

static uint32_t tasks(uint32_t n) {
  return (n + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
}

static void solve(als *x, const float *G, const float *fixed, side s) {
  x->g.G = G;
  x->g.Y = fixed;
  x->s = s;
  pz__cf_parallel(x->cfg->threads, tasks(s.n), solve_task, x);
}

static double sq_norm(const float *rows, size_t n) {
  double s = 0;
  for (size_t k = 0; k < n; k++) s += (double)rows[k] * rows[k];
  return s;
}

/* The loss of the current X and Y, with G the Gram matrix of Y. */
static double loss(als *x, const pz__cfmat *m, const float *G, float *X,
                   const float *Y, double total_weight) {
  x->g.G = G;
  x->g.Y = Y;
  x->s = (side){m->uptr, m->uidx, m->uval, X, m->n_users};
  pz__cf_parallel(x->cfg->threads, tasks(m->n_users), loss_task, x);
  double l = 0;
  for (uint32_t u = 0; u < m->n_users; u++) l += x->row_loss[u];
  l += x->cfg->regularization *
       (sq_norm(X, (size_t)m->n_users * x->fs) +
        sq_norm(Y, (size_t)m->n_items * x->fs));
  return l / total_weight;
}

/* The fold-in matrix for users whose confidences are all 1. */
static int fold_in_factor(const pz__alloc *a, pz__cfmodel *out) {
  uint32_t f = out->f, fs = out->fs;
  float *A = pz__malloc(a, (size_t)fs * fs * sizeof *A);
  out->L0 = pz__malloc(a, (size_t)f * f * sizeof *out->L0);
  if (!A || !out->L0) {
    pz__free(a, A, (size_t)fs * fs * sizeof *A);
    return PZ_ENOMEM;
  }
  memcpy(A, out->YtY, (size_t)fs * fs * sizeof *A);
  for (uint32_t j = 0; j < f; j++) A[(size_t)j * fs + j] += (float)out->reg;
  bool ok = pz__cf_cholesky(A, fs, f, out->L0);
  for (double jitter = 1e-6; !ok && jitter < 1e3; jitter *= 100) {
    /* reg 0 and fewer items than factors: make it definite */
    for (uint32_t j = 0; j < f; j++) A[(size_t)j * fs + j] += (float)jitter;
    ok = pz__cf_cholesky(A, fs, f, out->L0);
  }
  pz__free(a, A, (size_t)fs * fs * sizeof *A);
  return ok ? PZ_OK : pz__fail(PZ_ERROR, "ALS fold-in matrix is singular");
}

int pz__cf_als_train(const pz__alloc *a, const pz__cf_cfg *cfg,
                     const pz__cfmat *m, pz__cfmodel *out) {
  uint32_t f = cfg->factors, fs = (f + 7) & ~7u;
  size_t ff = (size_t)fs * fs;
  out->f = f;
  out->fs = fs;
  out->reg = cfg->regularization;
  out->alpha = cfg->alpha;
  out->iterations = cfg->iterations; /* the size of out->loss */
  size_t xs = (size_t)m->n_users * fs, ys = (size_t)m->n_items * fs;
  float *X = pz__calloc(a, xs, sizeof *X);
  out->Y = pz__calloc(a, ys, sizeof *out->Y);
  out->YtY = pz__malloc(a, ff * sizeof *out->YtY);
  out->loss = pz__calloc(a, cfg->iterations, sizeof *out->loss);
  float *XtX = pz__malloc(a, ff * sizeof *XtX);
  als x = {cfg, fs, {NULL, NULL, fs, cfg->cg_steps, (float)cfg->regularization,
                     (float)cfg->alpha},
           {0}, pz__malloc(a, GRAM_BLOCKS * ff * sizeof(float)), NULL, 0,
           pz__malloc(a, (size_t)m->n_users * sizeof(double))};
  int rc = PZ_OK;
  if (!X || !out->Y || !out->YtY || !out->loss || !XtX || !x.blocks ||
      !x.row_loss) {
    rc = PZ_ENOMEM;
    goto done;
  }
  for (uint32_t u = 0; u < m->n_users; u++)
    init_row(X + (size_t)u * fs, f, cfg->seed, m->uhash[u]);
  for (uint32_t i = 0; i < m->n_items; i++)
    init_row(out->Y + (size_t)i * fs, f, cfg->seed, ~(uint64_t)i);
  /* float32 CG cannot move rows whose confidences reach ~1e7 (p.Ap
   * overflows): refuse rather than serve a model that never fit */
  double c_max = 1;
  for (uint64_t k = 0; k < m->nnz; k++)
    c_max = PZ__MAX(c_max, 1.0 + cfg->alpha * m->uval[k]);
  if (c_max > 1e6) {
    rc = pz__fail(PZ_ERANGE,
                  "ALS confidence 1 + alpha * r reaches %g (above 1e6): "
                  "lower cf.alpha or the event amounts", c_max);
    goto done;
  }
  double total = (double)m->n_users * m->n_items - (double)m->nnz;
  for (uint64_t k = 0; k < m->nnz; k++) total += 1.0 + cfg->alpha * m->uval[k];
  gram(&x, out->Y, m->n_items, out->YtY);
  for (uint32_t it = 0; it < cfg->iterations; it++) {
    solve(&x, out->YtY, out->Y,
          (side){m->uptr, m->uidx, m->uval, X, m->n_users});
    gram(&x, X, m->n_users, XtX);
    solve(&x, XtX, X,
          (side){m->iptr, m->iidx, m->ival, out->Y, m->n_items});
    gram(&x, out->Y, m->n_items, out->YtY);
    out->loss[it] = loss(&x, m, out->YtY, X, out->Y, total);
    if (!isfinite(out->loss[it])) { /* float overflow: refuse the model */
      rc = pz__fail(PZ_ERANGE,
                    "ALS diverged at sweep %u (values overflow float): "
                    "raise cf.regularization or lower cf.alpha",
                    it + 1);
      goto done;
    }
  }
  rc = fold_in_factor(a, out);
done:
  pz__free_wipe(a, X, xs * sizeof *X);
  pz__free(a, XtX, ff * sizeof *XtX);
  pz__free(a, x.blocks, GRAM_BLOCKS * ff * sizeof(float));
  pz__free(a, x.row_loss, (size_t)m->n_users * sizeof(double));
  return rc;
}
