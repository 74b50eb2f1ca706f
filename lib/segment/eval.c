/* Evaluating compiled segments against one profile. Typing is strict: a
 * literal matches only an attribute of its own type, a missing attribute
 * makes every operator false except `exists: false`, and `ne`/`not_in`
 * mean "present and not equal". */
#include "segment.h"

#include <math.h>
#include <string.h>

static inline unsigned char fold(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool same_text(const char *a, const char *b, size_t n, bool ci) {
  if (!ci) return memcmp(a, b, n) == 0;
  for (size_t i = 0; i < n; i++)
    if (fold((unsigned char)a[i]) != fold((unsigned char)b[i])) return false;
  return true;
}

static bool lit_eq(const pz__lit *l, const pz__attr *t, bool ci) {
  if (l->type != t->type) return false;
  switch (t->type) {
  case PZ_ATTR_STRING:
    return l->slen == t->slen && same_text(l->v.s, pz__attr_str(t), t->slen, ci);
  case PZ_ATTR_NUMBER: return l->v.num == t->v.num;
  case PZ_ATTR_BOOL: return l->v.b == t->v.b;
  default: return l->v.ts == t->v.ts;
  }
}

static bool any_eq(const pz__pred *p, const pz__attr *t) {
  for (uint32_t i = 0; i < p->n_lit; i++)
    if (lit_eq(&p->lit[i], t, p->ci)) return true;
  return false;
}

/* attribute <=> literal; the types are equal (number or timestamp) */
static int order(const pz__attr *t, const pz__lit *l) {
  if (t->type == PZ_ATTR_NUMBER)
    return (t->v.num > l->v.num) - (t->v.num < l->v.num);
  return (t->v.ts > l->v.ts) - (t->v.ts < l->v.ts);
}

static bool has_text(const pz__attr *t, const pz__lit *l, int op, bool ci) {
  if (l->slen > t->slen) return false;
  const char *s = pz__attr_str(t);
  if (op == PZ__OP_STARTS) return same_text(s, l->v.s, l->slen, ci);
  if (op == PZ__OP_ENDS)
    return same_text(s + t->slen - l->slen, l->v.s, l->slen, ci);
  for (uint32_t i = 0; i + l->slen <= t->slen; i++)
    if (same_text(s + i, l->v.s, l->slen, ci)) return true;
  return false;
}

static bool eval_attr(const pz__segctx *x, const pz__pred *p) {
  const pz__attr *t =
      x->p ? pz__profile_attr_h(x->p, p->name, p->nlen, p->nhash) : NULL;
  if (p->op == PZ__OP_EXISTS) return (t != NULL) == (p->lit[0].v.b != 0);
  if (!t) return false;
  switch (p->op) {
  case PZ__OP_EQ:
  case PZ__OP_IN: return any_eq(p, t);
  case PZ__OP_NE:
  case PZ__OP_NOT_IN: return !any_eq(p, t);
  case PZ__OP_GT:
  case PZ__OP_GTE:
  case PZ__OP_LT:
  case PZ__OP_LTE: {
    if (t->type != p->lit[0].type) return false;
    int c = order(t, &p->lit[0]);
    return p->op == PZ__OP_GT    ? c > 0
           : p->op == PZ__OP_GTE ? c >= 0
           : p->op == PZ__OP_LT  ? c < 0
                                 : c <= 0;
  }
  case PZ__OP_BETWEEN:
    return t->type == p->lit[0].type && order(t, &p->lit[0]) >= 0 &&
           order(t, &p->lit[1]) <= 0;
  case PZ__OP_REGEX:
    return t->type == PZ_ATTR_STRING &&
           regexec(p->re, pz__attr_str(t), 0, NULL, 0) == 0;
  default: /* contains, starts_with, ends_with: any of the values */
    if (t->type != PZ_ATTR_STRING) return false;
    for (uint32_t i = 0; i < p->n_lit; i++)
      if (has_text(t, &p->lit[i], p->op, p->ci)) return true;
    return false;
  }
}

static bool compare(const pz__pred *p, double v) {
  double a = p->lit[0].v.num;
  switch (p->op) {
  case PZ__OP_EQ: return v == a;
  case PZ__OP_NE: return v != a;
  case PZ__OP_GT: return v > a;
  case PZ__OP_GTE: return v >= a;
  case PZ__OP_LT: return v < a;
  case PZ__OP_LTE: return v <= a;
  default: return v >= a && v <= p->lit[1].v.num; /* between */
  }
}

/* One pass over the history fills every behaviour slot of the rules. */
static void summarize(pz__segctx *x) {
  const pz__rules *r = x->r;
  struct pz__bval *bv = x->bv;
  for (uint32_t s = 0; s < r->n_bs; s++) {
    bv[s].count = bv[s].sum = 0;
    bv[s].last = INT64_MIN;
    bv[s].from = r->bs[s].within_ms ? x->now - r->bs[s].within_ms : INT64_MIN;
  }
  x->summed = true;
  const pz__profile *p = x->p;
  if (!p || !p->h.n) return;
  pz__hist_it at = pz__hist_iter(&p->h);
  pz__event ev;
  uint8_t type;
  while (pz__hist_next(&at, &ev, &type)) {
    uint32_t s = r->type_first[type];
    if (s == PZ__NO_SLOT) continue;
    do {
      struct pz__bval *b = &bv[s];
      if (ev.ts > b->last) b->last = ev.ts;
      if (ev.ts >= b->from) {
        b->count += 1;
        b->sum += ev.value;
      }
      s = r->bs[s].next;
    } while (s != PZ__NO_SLOT);
  }
}

/* count, sum or days since the last event of a type. */
static bool eval_behaviour(pz__segctx *x, const pz__pred *p) {
  if (x->p && !x->behaviour) return false;
  if (!x->summed) summarize(x);
  const struct pz__bval *b = &x->bv[p->bslot];
  if (p->kind == PZ__P_COUNT) return compare(p, b->count);
  if (p->kind == PZ__P_SUM) return compare(p, b->sum);
  if (b->last == INT64_MIN) return false; /* never: no recency to compare */
  return compare(p, (double)(x->now - b->last) / 86400000.0);
}

static float stored_interest(const pz__profile *pr, uint32_t idx) {
  int64_t at = pz__sv_find(pr->iv.e, pr->iv.n, idx);
  return at < 0 ? 0.0f : pr->iv.e[at].v;
}

static bool eval_interest(const pz__segctx *x, const pz__pred *p) {
  if (x->p && !x->behaviour) return false;
  if (!x->p) return compare(p, 0);
  double v = stored_interest(x->p, p->fidx) * p->fsign;
  return compare(p, v * pz__profile_decay_factor(x->ps, x->p, x->now));
}

/* Is the feature among the user's n strongest named positive interests,
 * ranked as pz_profile_interests() ranks them (ties to the lower index)? */
static bool eval_topn(const pz__segctx *x, const pz__pred *p) {
  const pz__profile *pr = x->p;
  if (!pr || !x->behaviour) return false;
  float v = stored_interest(pr, p->fidx) * p->fsign;
  if (!(v > 0)) return false;
  uint32_t above = 0;
  for (uint32_t j = 0; j < pr->iv.n && above < p->topn; j++) {
    uint32_t i = pr->iv.e[j].i;
    /* |stored| bounds the signed value: most entries end here, before the
     * dictionary lookup */
    if (i == p->fidx || fabsf(pr->iv.e[j].v) < v) continue;
    const pz__fname *f = pz__catalog_fname(x->c, i);
    if (!f) continue;
    float s = pr->iv.e[j].v * (float)f->sign;
    if (s > v || (s == v && i < p->fidx)) above++;
  }
  return above < p->topn;
}

static bool eval_cluster(pz__segctx *x, const pz__pred *p) {
  if (!x->cl) return false;
  int32_t want = p->cluster >= 0 ? p->cluster
                                 : pz__clusters_by_name(x->cl, p->name,
                                                        p->nlen);
  if (want < 0 || !pz__clusters_targetable(x->cl, want)) return false;
  return pz__segctx_cluster(x) == want;
}

static bool eval(pz__segctx *x, const pz__pred *p) {
  switch (p->kind) {
  case PZ__P_ALL:
    for (uint32_t i = 0; i < p->n_kid; i++)
      if (!eval(x, &p->kid[i])) return false;
    return true;
  case PZ__P_ANY:
    for (uint32_t i = 0; i < p->n_kid; i++)
      if (eval(x, &p->kid[i])) return true;
    return false;
  case PZ__P_NOT: return !eval(x, p->kid);
  case PZ__P_ATTR: return eval_attr(x, p);
  case PZ__P_COUNT:
  case PZ__P_SUM:
  case PZ__P_DAYS: return eval_behaviour(x, p);
  case PZ__P_INTEREST: return eval_interest(x, p);
  case PZ__P_TOPN: return eval_topn(x, p);
  case PZ__P_SEGMENT: return pz__seg_eval(x, p->ref);
  default: return eval_cluster(x, p);
  }
}

bool pz__seg_eval(pz__segctx *x, uint32_t seg) {
  if (!x->memo) return eval(x, &x->r->seg[seg].root);
  uint32_t m = x->memo[seg];
  if (m >> 1 == x->gen) return m & 1;
  bool in = eval(x, &x->r->seg[seg].root);
  x->memo[seg] = x->gen << 1 | (uint32_t)in;
  return in;
}

int pz__segctx_init(pz__segctx *x, const pz__alloc *a, const pz__rules *r,
                    const pz__clusters *cl, const pz__profiles *ps,
                    const pz__catalog *c, int64_t now) {
  memset(x, 0, sizeof *x);
  x->r = r;
  x->cl = cl;
  x->ps = ps;
  x->c = c;
  x->now = now;
  x->cluster = -2;
  x->gen = 1;
  if (r && r->n_bs && !(x->bv = pz__malloc(a, r->n_bs * sizeof *x->bv)))
    return PZ_ENOMEM;
  if (r && r->refs && !(x->memo = pz__calloc(a, r->n_seg, sizeof *x->memo))) {
    pz__segctx_free(x, a);
    return PZ_ENOMEM;
  }
  if (cl) {
    uint32_t m = cl->max_features;
    x->q = pz__malloc(a, m * sizeof *x->q);
    x->tv = pz__malloc(a, m * sizeof *x->tv);
    x->ti = pz__malloc(a, m * sizeof *x->ti);
    if (!x->q || !x->tv || !x->ti) {
      pz__segctx_free(x, a);
      return PZ_ENOMEM;
    }
  }
  return PZ_OK;
}

void pz__segctx_free(pz__segctx *x, const pz__alloc *a) {
  uint32_t m = x->cl ? x->cl->max_features : 0;
  if (x->bv) pz__free(a, x->bv, x->r->n_bs * sizeof *x->bv);
  if (x->memo) pz__free(a, x->memo, x->r->n_seg * sizeof *x->memo);
  x->bv = NULL;
  x->memo = NULL;
  pz__free(a, x->q, m * sizeof *x->q);
  pz__free(a, x->tv, m * sizeof *x->tv);
  pz__free(a, x->ti, m * sizeof *x->ti);
  x->q = NULL;
  x->tv = NULL;
  x->ti = NULL;
}

void pz__segctx_user(pz__segctx *x, const pz__profile *p) {
  x->p = p;
  x->behaviour = p && pz__profile_personalized(x->ps, p);
  x->cluster = -2;
  x->summed = false;
  if (x->memo && ++x->gen >= 1u << 31) { /* stamps wrapped: start over */
    memset(x->memo, 0, x->r->n_seg * sizeof *x->memo);
    x->gen = 1;
  }
}

int pz__segctx_cluster(pz__segctx *x) {
  if (x->cluster != -2) return x->cluster;
  x->cluster = -1;
  if (x->cl && x->p && x->behaviour) {
    uint32_t n = pz__clusters_point(x->p, x->cl->max_features, x->q, x->tv,
                                    x->ti);
    if (n) x->cluster = pz__clusters_nearest(x->cl, x->q, n);
  }
  return x->cluster;
}
