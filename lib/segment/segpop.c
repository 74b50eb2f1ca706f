/* "Popular in your segment": per segment, the time-decayed popularity of
 * items among its members' retained histories, built by a refresh and
 * read by ranking. Each table remembers whose history it counted (as id
 * hashes), so erasing one of them drops the table. */
#include "segment.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void pz__segpop_table_drop(const pz__alloc *a, pz__segpop_table *t) {
  if (t->name) pz__free(a, t->name, (size_t)t->nlen + 1);
  pz__free_wipe(a, t->item, t->n * sizeof *t->item);
  pz__free_wipe(a, t->pop, t->n * sizeof *t->pop);
  pz__free_wipe(a, t->who, t->n_who * sizeof *t->who);
  memset(t, 0, sizeof *t);
}

void pz__segpop_free(pz__segpop *sp) {
  if (!sp) return;
  for (uint32_t i = 0; i < sp->n; i++) pz__segpop_table_drop(sp->a, &sp->t[i]);
  pz__free(sp->a, sp->t, sp->n * sizeof *sp->t);
  pz__free(sp->a, sp, sizeof *sp);
}

const pz__segpop_table *pz__segpop_find(const pz__segpop *sp,
                                        const char *name, size_t len) {
  if (!sp) return NULL;
  for (uint32_t i = 0; i < sp->n; i++)
    if (sp->t[i].name && sp->t[i].nlen == len &&
        memcmp(sp->t[i].name, name, len) == 0)
      return &sp->t[i];
  return NULL;
}

bool pz__segpop_counts(const pz__segpop_table *t, uint64_t h) {
  uint32_t lo = 0, hi = t->n_who;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (t->who[mid] < h) lo = mid + 1;
    else hi = mid;
  }
  return lo < t->n_who && t->who[lo] == h;
}

float pz__segpop_at(const pz__segpop_table *t, uint32_t item, uint32_t *pos) {
  if (!pos) { /* random access */
    uint32_t lo = 0, hi = t->n;
    while (lo < hi) {
      uint32_t mid = (lo + hi) / 2;
      if (t->item[mid] < item) lo = mid + 1;
      else hi = mid;
    }
    return lo < t->n && t->item[lo] == item ? t->pop[lo] : 0.0f;
  }
  uint32_t p = *pos;
  while (p < t->n && t->item[p] < item) p++;
  *pos = p;
  return p < t->n && t->item[p] == item ? t->pop[p] : 0.0f;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* One segment's accumulation during a build. */
typedef struct acc {
  uint32_t seg;
  float *pop; /* dense over items */
  uint64_t *who;
  uint32_t n_who, who_cap;
} acc;

static int add_member(const pz__segpop_env *env, acc *g, const pz__profile *p,
                      uint64_t hash, int64_t landmark) {
  if (pz__grow(env->a, (void **)&g->who, &g->who_cap, g->n_who + 1,
               sizeof *g->who))
    return PZ_ENOMEM;
  g->who[g->n_who++] = hash;
  pz__hist_it at = pz__hist_iter(&p->h);
  pz__event e, *ev = &e;
  uint8_t type;
  while (pz__hist_next(&at, &e, &type)) {
    if (ev->item >= env->n_items) continue;
    double amount = pz__profile_event_amount(env->pcfg, type, ev->value);
    float add = (float)(amount * pz__decay_gain(ev->ts, landmark,
                                                env->pcfg->half_life_ms));
    if (isnan(add)) continue; /* no weight times an overflowed gain */
    /* An event many half-lives after the landmark (a short half-life, an
     * event dated ahead) overflows a float: saturate, so that the item
     * still comes first and the table stays finite (a snapshot refuses
     * infinities). */
    float v = g->pop[ev->item] + add;
    g->pop[ev->item] = isfinite(v) ? v : v > 0 ? FLT_MAX : -FLT_MAX;
  }
  return PZ_OK;
}

typedef struct group_scan {
  const pz__segpop_env *env;
  pz__segctx *x;
  acc *g;
  uint32_t ng;
  int64_t landmark;
} group_scan;

static int scan_one(const pz__profile *p, void *ud) {
  group_scan *gs = ud;
  if (!p->h.n) return PZ_OK;
  pz__segctx_user(gs->x, p);
  if (!gs->x->behaviour) return PZ_OK;
  pz__uref u;
  pz__uref_make(&u, p->id, p->idlen);
  for (uint32_t k = 0; k < gs->ng; k++)
    if (pz__seg_eval(gs->x, gs->g[k].seg)) {
      int rc = add_member(gs->env, &gs->g[k], p, u.hash, gs->landmark);
      if (rc) return rc;
    }
  return PZ_OK;
}

/* Scan every profile once for a group of segments. */
static int scan_group(const pz__segpop_env *env, pz__segctx *x, acc *g,
                      uint32_t ng, int64_t landmark) {
  group_scan gs = {env, x, g, ng, landmark};
  return pz__profiles_each(env->ps, scan_one, &gs);
}

static int finish_table(const pz__segpop_env *env, acc *g,
                        pz__segpop_table *t) {
  const pz__alloc *a = env->a;
  const pz__segdef *sd = &env->rules->seg[g->seg];
  if (g->n_who < env->min_members) return PZ_OK; /* too few: no table */
  uint32_t n = 0;
  for (uint32_t i = 0; i < env->n_items; i++) n += g->pop[i] > 0;
  if (!n) return PZ_OK; /* nothing popular: no table */
  t->name = pz__strndup(a, sd->name, sd->nlen);
  t->item = pz__malloc(a, n * sizeof *t->item);
  t->pop = pz__malloc(a, n * sizeof *t->pop);
  t->who = pz__malloc(a, g->n_who * sizeof *t->who);
  if (!t->name || !t->item || !t->pop || !t->who) {
    if (t->name) pz__free(a, t->name, (size_t)sd->nlen + 1);
    pz__free(a, t->item, n * sizeof *t->item);
    pz__free(a, t->pop, n * sizeof *t->pop);
    pz__free(a, t->who, g->n_who * sizeof *t->who);
    memset(t, 0, sizeof *t);
    return PZ_ENOMEM;
  }
  t->nlen = sd->nlen;
  for (uint32_t i = 0; i < env->n_items; i++) {
    if (!(g->pop[i] > 0)) continue;
    t->item[t->n] = i;
    t->pop[t->n++] = g->pop[i];
    if (g->pop[i] > t->max_pop) t->max_pop = g->pop[i];
  }
  qsort(g->who, g->n_who, sizeof *g->who, cmp_u64);
  memcpy(t->who, g->who, g->n_who * sizeof *t->who);
  t->n_who = t->members = g->n_who;
  return PZ_OK;
}

int pz__segpop_build(pz__segpop **out, const pz__segpop_env *env,
                     pz__segctx *x) {
  const pz__alloc *a = env->a;
  *out = NULL;
  pz__segpop *sp = pz__calloc(a, 1, sizeof *sp);
  if (!sp) return PZ_ENOMEM;
  sp->a = a;
  sp->landmark = env->now;
  uint32_t nr = 0;
  for (uint32_t i = 0; env->rules && i < env->rules->n_seg; i++)
    nr += env->rules->seg[i].rank;
  int rc = PZ_OK;
  if (nr && !(sp->t = pz__calloc(a, nr, sizeof *sp->t))) rc = PZ_ENOMEM;
  if (!rc) sp->n = nr;
  /* dense accumulators, a group at a time, within about 64 MiB */
  size_t per = (size_t)(env->n_items ? env->n_items : 1) * sizeof(float);
  uint32_t group = (uint32_t)PZ__MAX((size_t)1, ((size_t)64 << 20) / per);
  group = PZ__MIN(group, nr ? nr : 1);
  acc *g = rc ? NULL : pz__calloc(a, group, sizeof *g);
  if (!rc && !g) rc = PZ_ENOMEM;
  uint32_t seg = 0, done = 0;
  while (!rc && done < nr) {
    uint32_t ng = 0;
    for (; seg < env->rules->n_seg && ng < group; seg++) {
      if (!env->rules->seg[seg].rank) continue;
      g[ng].seg = seg;
      g[ng].pop = pz__calloc(a, env->n_items ? env->n_items : 1, sizeof(float));
      if (!g[ng++].pop) rc = PZ_ENOMEM;
    }
    if (!rc) rc = scan_group(env, x, g, ng, sp->landmark);
    for (uint32_t k = 0; k < ng; k++) {
      if (!rc) rc = finish_table(env, &g[k], &sp->t[done + k]);
      pz__free(a, g[k].pop, per);
      pz__free_wipe(a, g[k].who, g[k].who_cap * sizeof *g[k].who);
      memset(&g[k], 0, sizeof g[k]);
    }
    done += ng;
  }
  pz__free(a, g, group * sizeof *g);
  if (rc) {
    pz__segpop_free(sp);
    return rc;
  }
  *out = sp;
  return PZ_OK;
}

/* ---- snapshot section ------------------------------------------------------ */

void pz__segpop_save(const pz__segpop *sp, pz__buf *b) {
  pz__buf_u8(b, sp != NULL);
  if (!sp) return;
  pz__buf_i64(b, sp->landmark);
  pz__buf_u32(b, sp->n);
  for (uint32_t i = 0; i < sp->n; i++) {
    const pz__segpop_table *t = &sp->t[i];
    pz__buf_u8(b, t->name != NULL);
    if (!t->name) continue;
    pz__buf_str(b, t->name, t->nlen);
    pz__buf_u32(b, t->members);
    pz__buf_u32(b, t->n);
    pz__buf_array(b, t->item, t->n, sizeof *t->item);
    pz__buf_array(b, t->pop, t->n, sizeof *t->pop);
    pz__buf_f32(b, t->max_pop);
    pz__buf_u32(b, t->n_who);
    pz__buf_array(b, t->who, t->n_who, sizeof *t->who);
  }
}

static int restore_table(const pz__alloc *a, pz__rd *r, pz__segpop_table *t,
                         uint32_t n_items) {
  uint8_t present = pz__rd_u8(r);
  if (r->err || !present) return r->err;
  size_t len;
  const char *name = pz__rd_str(r, PZ_ID_MAX, &len, false, "segment name");
  if (!name) return r->err;
  if (present != 1) return pz__rd_bad(r, "bad table flag");
  if (!(t->name = pz__strndup(a, name, len))) return PZ_ENOMEM;
  t->nlen = (uint32_t)len;
  t->members = pz__rd_u32(r);
  uint32_t n = pz__rd_u32(r);
  if (!pz__rd_count(r, n, 8, n_items)) return r->err;
  int rc = PZ_OK;
  t->item = pz__rd_take(r, a, n, sizeof *t->item, &rc);
  if (!rc) t->pop = pz__rd_take(r, a, n, sizeof *t->pop, &rc);
  if (rc && t->item) {
    pz__free(a, t->item, (size_t)n * sizeof *t->item);
    t->item = NULL;
  }
  if (rc) return rc;
  t->n = n;
  t->max_pop = pz__rd_f32(r);
  uint32_t nw = pz__rd_u32(r);
  if (!pz__rd_count(r, nw, 8, UINT32_MAX)) return r->err;
  t->who = pz__rd_take(r, a, nw, sizeof *t->who, &rc);
  if (rc) return rc;
  t->n_who = nw;
  for (uint32_t j = 0; j < n; j++)
    if (t->item[j] >= n_items || (j && t->item[j] <= t->item[j - 1]) ||
        !isfinite(t->pop[j]) || t->pop[j] < 0)
      return pz__rd_bad(r, "segment popularity of \"%s\" is out of order or "
                           "range",
                        t->name);
  for (uint32_t j = 1; j < nw; j++)
    if (t->who[j] <= t->who[j - 1])
      return pz__rd_bad(r, "segment popularity users out of order");
  if (!isfinite(t->max_pop) || t->max_pop < 0)
    return pz__rd_bad(r, "bad maximum popularity");
  return PZ_OK;
}

int pz__segpop_restore(pz__segpop **out, const pz__alloc *a, pz__rd *r,
                       uint32_t n_items) {
  *out = NULL;
  uint8_t present = pz__rd_u8(r);
  if (r->err || !present) return r->err;
  if (present != 1) return pz__rd_bad(r, "bad segment popularity flag");
  int64_t landmark = pz__rd_i64(r);
  uint32_t n = pz__rd_u32(r);
  if (!pz__rd_count(r, n, 1, PZ__SEG_MAX)) return r->err;
  if (!PZ__FILE_TIME_OK(landmark))
    return pz__rd_bad(r, "popularity landmark out of range");
  pz__segpop *sp = pz__calloc(a, 1, sizeof *sp);
  if (!sp) return PZ_ENOMEM;
  sp->a = a;
  sp->landmark = landmark;
  int rc = PZ_OK;
  if (n && !(sp->t = pz__calloc(a, n, sizeof *sp->t))) rc = PZ_ENOMEM;
  else sp->n = n;
  for (uint32_t i = 0; !rc && i < n; i++)
    rc = restore_table(a, r, &sp->t[i], n_items);
  if (rc) {
    pz__segpop_free(sp);
    return rc;
  }
  *out = sp;
  return PZ_OK;
}
