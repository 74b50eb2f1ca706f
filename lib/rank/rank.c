/* The pipeline: content (cosine of the user's interests and the item's
 * features), popularity in the user's most specific segment and overall
 * popularity, blended; seen items left out; a reason per item. */
#include "rank.h"
#include "recs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pz__rank_cfg_default(pz__rank_cfg *cfg) {
  cfg->content_weight = 1.0;
  cfg->popularity_weight = 0.2;
  cfg->segment_weight = 0.5;
  cfg->segment_min_members = 20;
  cfg->max_k = 1000;
}

int pz__rank_cfg_read(pz__rank_cfg *cfg, const pz__ydoc *d) {
  const pz__ynode *n = pz__y_get(d->root, "ranking");
  if (!n) return PZ_OK;
  static const char *const keys[] = {"content_weight", "popularity_weight",
                                     "segment_weight", "segment_min_members",
                                     "max_k", NULL};
  int rc = pz__y_map(d, n, "ranking", keys);
  const pz__ynode *v;
  if (!rc && (v = pz__y_get(n, "content_weight")))
    rc = pz__y_double(d, v, "ranking.content_weight", 0, 1000,
                      &cfg->content_weight);
  if (!rc && (v = pz__y_get(n, "popularity_weight")))
    rc = pz__y_double(d, v, "ranking.popularity_weight", 0, 1000,
                      &cfg->popularity_weight);
  if (!rc && (v = pz__y_get(n, "segment_weight")))
    rc = pz__y_double(d, v, "ranking.segment_weight", 0, 1000,
                      &cfg->segment_weight);
  uint64_t k;
  if (!rc && (v = pz__y_get(n, "segment_min_members")) &&
      !(rc = pz__y_uint(d, v, "ranking.segment_min_members", 1, UINT32_MAX,
                        &k)))
    cfg->segment_min_members = (uint32_t)k;
  if (!rc && (v = pz__y_get(n, "max_k")) &&
      !(rc = pz__y_uint(d, v, "ranking.max_k", 1, 1000000, &k)))
    cfg->max_k = (uint32_t)k;
  return rc;
}

static int cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return (a > b) - (a < b);
}

/* What the pipeline copies out of the profile under the shard lock. */
typedef struct user_view {
  bool personalized; /* consented and has interests */
  double norm;
  uint32_t *seen; /* sorted, unique item indices */
  uint32_t n_seen;
  size_t seen_bytes;
  const pz__segpop_table *seg; /* most specific segment with a table */
} user_view;

/* The smallest segment with a popularity table that the user is in
 * (shard lock held, user consented). */
static int pick_segment(const pz__rank_env *env, const pz__rank_req *req,
                        const pz__profile *p, user_view *uv) {
  const pz__segstate *ss = env->seg;
  if (!ss->segpop || !ss->rules) return PZ_OK;
  pz__segctx x;
  int rc = pz__segctx_init(&x, env->a, ss->rules, ss->clusters, env->profiles,
                           env->catalog, req->now);
  if (rc) return rc;
  pz__segctx_user(&x, p);
  for (uint32_t s = 0; s < ss->rules->n_seg; s++) {
    const pz__segdef *sd = &ss->rules->seg[s];
    if (!sd->rank) continue;
    const pz__segpop_table *t = pz__segpop_find(ss->segpop, sd->name, sd->nlen);
    if (!t || (uv->seg && t->members >= uv->seg->members)) continue;
    if (pz__seg_eval(&x, s)) uv->seg = t;
  }
  pz__segctx_free(&x, env->a);
  return PZ_OK;
}

static int read_user(const pz__rank_env *env, const pz__rank_req *req,
                     pz__scratch *s, user_view *uv) {
  memset(uv, 0, sizeof *uv);
  pz__profiles *ps = env->profiles;
  pz__shard_rdlock(ps, req->user->shard);
  pz__profile *p = pz__profiles_find(ps, req->user);
  int rc = PZ_OK;
  /* the privacy gate: without consent nothing is read from the profile */
  if (p && pz__profile_consented(ps, p, PZ__PURPOSE_PERSONALIZATION)) {
    if (p->iv.n) {
      rc = pz__scratch_load(env->a, s, p->iv.e, p->iv.n);
      uv->norm = pz__sv_norm(p->iv.e, p->iv.n);
      uv->personalized = rc == PZ_OK && uv->norm > 0;
    }
    if (!rc) rc = pick_segment(env, req, p, uv);
    if (!rc && !req->include_seen && p->ev_n) {
      uv->seen_bytes = (size_t)p->ev_n * sizeof *uv->seen;
      uv->seen = pz__malloc(env->a, uv->seen_bytes);
      if (!uv->seen) rc = PZ_ENOMEM;
      for (uint32_t i = 0; !rc && i < p->ev_n; i++)
        uv->seen[i] = pz__profile_event(p, i, NULL)->item;
    }
  }
  pz__shard_unlock(ps, req->user->shard);
  if (rc) return rc;
  if (uv->seen) {
    uint32_t n = (uint32_t)(uv->seen_bytes / sizeof *uv->seen), w = 0;
    qsort(uv->seen, n, sizeof *uv->seen, cmp_u32);
    for (uint32_t i = 0; i < n; i++)
      if (!w || uv->seen[w - 1] != uv->seen[i]) uv->seen[w++] = uv->seen[i];
    uv->n_seen = w;
  }
  return PZ_OK;
}

/* The feature of the item that agrees most with the user's interests. */
static const pz__fname *best_feature(const pz__catalog *c,
                                     const pz__scratch *s,
                                     const pz__item *it) {
  const pz__fname *best = NULL;
  double top = 0;
  for (uint32_t j = 0; j < it->nf; j++) {
    double x = (double)pz__scratch_get(s, it->f[j].i) * it->f[j].v;
    if (x > top) {
      const pz__fname *f = pz__catalog_fname(c, it->f[j].i);
      if (f) {
        top = x;
        best = f;
      }
    }
  }
  return best;
}

/* Everything an item's score depends on besides the item: fixed for one
 * request, copied into a local so the scan keeps it in registers. */
typedef struct scorer {
  const pz__catalog *c;
  const pz__scratch *s;
  const pz__segpop_table *seg; /* or NULL */
  double content_weight, popularity_weight, segment_weight;
  double unorm;     /* user vector norm; 0 when not personalized */
  double decay;     /* stored popularity -> popularity now */
  double inv_pop;   /* 1 / log1p(largest popularity now), or 0 */
  double seg_decay; /* the same two for the segment's table */
  double inv_seg;
} scorer;

/* The weighted signals of item i: scan ranks by them (with a cursor into
 * the segment table, items in increasing order), build explains them
 * (seg_pos NULL). */
PZ__HOT_INLINE void signals(const scorer *k, uint32_t i, uint32_t *seg_pos,
                            double *by) {
  const pz__item *it = k->c->items[i];
  double content = 0;
  if (k->unorm > 0 && it->nf && it->norm > 0)
    content = pz__scratch_dot(k->s, it->f, it->nf) / (k->unorm * it->norm);
  double pop = log1p(pz__catalog_pop_raw(k->c, i) * k->decay) * k->inv_pop;
  double seg = 0;
  if (k->seg)
    seg = log1p(pz__segpop_at(k->seg, i, seg_pos) * k->seg_decay) * k->inv_seg;
  by[PZ_SIGNAL_CONTENT - 1] = k->content_weight * content;
  by[PZ_SIGNAL_POPULARITY - 1] = k->popularity_weight * pop;
  by[PZ_SIGNAL_SEGMENT - 1] = k->segment_weight * seg;
}

static scorer make_scorer(const pz__rank_env *env, const pz__rank_req *req,
                          const pz__scratch *s, const user_view *uv) {
  const pz__catalog *c = env->catalog;
  double max_pop = 0;
  for (uint32_t i = 0; i < c->n; i++)
    if (c->items[i]->alive) max_pop = PZ__MAX(max_pop, pz__catalog_pop_raw(c, i));
  /* normalizing by the maximum cancels the common decay factor, but the
   * log needs the decayed value to compare spreads at the same time */
  double decay = pz__decay_factor(req->now, c->pop_landmark, c->half_life_ms);
  double log_max = log1p(max_pop * decay);
  scorer k = {c, s, uv->seg, env->cfg->content_weight,
              env->cfg->popularity_weight, env->cfg->segment_weight,
              uv->personalized ? uv->norm : 0, decay,
              log_max > 0 ? 1.0 / log_max : 0, 0, 0};
  if (uv->seg) {
    const pz__segpop *sp = env->seg->segpop;
    k.seg_decay = pz__decay_factor(req->now, sp->landmark, c->half_life_ms);
    double seg_max = log1p(uv->seg->max_pop * k.seg_decay);
    k.inv_seg = seg_max > 0 ? 1.0 / seg_max : 0;
  }
  return k;
}

/* Catalogue read lock held. */
static void scan(const scorer *kp, const user_view *uv, pz__topk *top) {
  const scorer k = *kp;
  const pz__catalog *c = k.c;
  uint32_t seen_at = 0, seg_pos = 0;
  for (uint32_t i = 0; i < c->n; i++) {
    const pz__item *it = c->items[i];
    if (!it->alive) continue;
    while (seen_at < uv->n_seen && uv->seen[seen_at] < i) seen_at++;
    if (seen_at < uv->n_seen && uv->seen[seen_at] == i) continue;
    double by[PZ__N_SIGNALS];
    signals(&k, i, &seg_pos, by);
    pz__topk_push(top, (float)(by[0] + by[1] + by[2]), i);
  }
  pz__topk_sort(top);
}

/* Catalogue read lock held: item ids and feature names are read here. */
static int build(const pz__rank_env *env, const scorer *k,
                 const pz__topk *top, pz_recs **out) {
  const pz__catalog *c = env->catalog;
  uint32_t n = top->n;
  pz__rec *src = pz__calloc(env->a, n ? n : 1, sizeof *src);
  pz__buf text;
  pz__buf_init(&text, env->a);
  if (!src) return PZ_ENOMEM;
  size_t *off = pz__calloc(env->a, n ? n : 1, sizeof *off);
  if (!off) {
    pz__free(env->a, src, (n ? n : 1) * sizeof *src);
    return PZ_ENOMEM;
  }
  for (uint32_t r = 0; r < n; r++) {
    uint32_t i = top->id[r];
    const pz__item *it = c->items[i];
    double by[PZ__N_SIGNALS];
    signals(k, i, NULL, by);
    double by_content = by[PZ_SIGNAL_CONTENT - 1],
           by_pop = by[PZ_SIGNAL_POPULARITY - 1],
           by_seg = by[PZ_SIGNAL_SEGMENT - 1];
    src[r].item = it->id;
    memcpy(src[r].contrib, by, sizeof by);
    src[r].score = by[0] + by[1] + by[2]; /* exact; the heap kept floats */
    off[r] = text.len;
    if (by_content > 0 && by_content >= by_pop && by_content >= by_seg) {
      src[r].code = PZ_REASON_CONTENT;
      const pz__fname *f = best_feature(c, k->s, it);
      if (f) {
        pz__buf_puts(&text, "matches your interest in ");
        pz__buf_put(&text, f->text, f->len);
      } else {
        pz__buf_puts(&text, "matches your interests");
      }
    } else if (by_seg > 0 && by_seg >= by_pop) {
      src[r].code = PZ_REASON_SEGMENT;
      pz__buf_puts(&text, "popular in your segment ");
      pz__buf_put(&text, k->seg->name, k->seg->nlen);
    } else if (by_pop > 0) {
      src[r].code = PZ_REASON_POPULAR;
      pz__buf_puts(&text, "popular");
    } else {
      src[r].code = PZ_REASON_FALLBACK;
      pz__buf_puts(&text, "no signal yet: catalogue order");
    }
    pz__buf_put(&text, "", 1); /* keep each reason's NUL */
  }
  int rc = text.err;
  if (!rc) {
    for (uint32_t r = 0; r < n; r++) src[r].reason = text.p + off[r];
    rc = pz__recs_build(env->a, n, src, out);
  }
  pz__buf_free(&text);
  pz__free(env->a, off, (n ? n : 1) * sizeof *off);
  pz__free(env->a, src, (n ? n : 1) * sizeof *src);
  return rc;
}

int pz__rank_recommend(const pz__rank_env *env, const pz__rank_req *req,
                       pz_recs **out) {
  pz__scratch *s;
  int rc = pz__scratch_take(env->pool, &s);
  if (rc) return rc;
  user_view uv;
  pz__segstate_rdlock(env->seg);
  pz__catalog_rdlock(env->catalog);
  rc = read_user(env, req, s, &uv);
  if (!rc) {
    uint32_t k = (uint32_t)PZ__MIN((size_t)req->k, (size_t)env->catalog->live);
    size_t cells = k ? k : 1;
    float *score = pz__malloc(env->a, cells * sizeof *score);
    uint32_t *id = score ? pz__malloc(env->a, cells * sizeof *id) : NULL;
    if (!id) {
      rc = PZ_ENOMEM;
    } else {
      pz__topk top;
      pz__topk_init(&top, score, id, k);
      scorer sc = make_scorer(env, req, s, &uv);
      scan(&sc, &uv, &top);
      rc = build(env, &sc, &top, out);
    }
    pz__free(env->a, score, cells * sizeof *score);
    pz__free(env->a, id, cells * sizeof *id);
  }
  pz__catalog_unlock(env->catalog);
  pz__segstate_unlock(env->seg);
  pz__free(env->a, uv.seen, uv.seen_bytes);
  pz__scratch_give(env->pool, s);
  return rc;
}
