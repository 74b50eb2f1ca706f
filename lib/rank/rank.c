/* The pipeline: content (cosine of the user's interests and the item's
 * features), collaborative filtering (from the user's current history),
 * popularity in the user's most specific segment and overall popularity,
 * blended; seen items left out; a reason per item. */
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
  cfg->cf_weight = 1.0;
  cfg->diversity = 0;
  cfg->diversity_pool = 100;
  cfg->segment_min_members = 20;
  cfg->max_k = 1000;
  cfg->user_cache = PZ__USER_CACHE_DEFAULT;
}

int pz__rank_cfg_read(pz__rank_cfg *cfg, const pz__ydoc *d) {
  const pz__ynode *n = pz__y_get(d->root, "ranking");
  if (!n) return PZ_OK;
  static const char *const keys[] = {"content_weight", "popularity_weight",
                                     "segment_weight", "cf_weight",
                                     "segment_min_members", "max_k",
                                     "diversity", "diversity_pool",
                                     "user_cache", "fill", NULL};
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
  if (!rc && (v = pz__y_get(n, "cf_weight")))
    rc = pz__y_double(d, v, "ranking.cf_weight", 0, 1000, &cfg->cf_weight);
  if (!rc && (v = pz__y_get(n, "diversity")))
    rc = pz__y_double(d, v, "ranking.diversity", 0, 1, &cfg->diversity);
  uint64_t k;
  if (!rc && (v = pz__y_get(n, "diversity_pool")) &&
      !(rc = pz__y_uint(d, v, "ranking.diversity_pool", 2, 10000, &k)))
    cfg->diversity_pool = (uint32_t)k;
  if (!rc && (v = pz__y_get(n, "segment_min_members")) &&
      !(rc = pz__y_uint(d, v, "ranking.segment_min_members", 1, UINT32_MAX,
                        &k)))
    cfg->segment_min_members = (uint32_t)k;
  if (!rc && (v = pz__y_get(n, "max_k")) &&
      !(rc = pz__y_uint(d, v, "ranking.max_k", 1, 1000000, &k)))
    cfg->max_k = (uint32_t)k;
  if (!rc && (v = pz__y_get(n, "user_cache")))
    rc = pz__y_uint(d, v, "ranking.user_cache", 0, PZ__USER_CACHE_MAX,
                    &cfg->user_cache);
  if (!rc && (v = pz__y_get(n, "fill"))) {
    static const char *const fills[] = {"catalogue", "none", NULL};
    int w;
    if (!(rc = pz__y_enum(d, v, "ranking.fill", fills, &w)))
      cfg->fill_none = w == 1;
  }
  return rc;
}

static int cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return (a > b) - (a < b);
}

/* What the pipeline reads of the person: copied out of the profile under
 * the shard lock, or taken from the serving cache. */
typedef struct user_view {
  bool personalized; /* the scratch holds a vector (interests, context) */
  bool gate_closed;  /* no consent, or opted out */
  bool opted_out;
  double norm;
  const pz__segpop_table *seg; /* most specific segment with a table */
  pz__uentry *ent; /* seen-set, CF history, ALS vector; NULL: no history */
  bool fresh;      /* ent was built by this request */
  bool keep;       /* ... and may be cached */
  uint64_t *cand;  /* candidates: live items less the seen ones (bits) */
  size_t cand_words;
} user_view;

static const pz__cfhist no_hist = {NULL, NULL, 0};

static const pz__cfhist *user_hist(const user_view *uv) {
  return uv->ent ? &uv->ent->hist : &no_hist;
}

/* The smallest segment with a popularity table that the user is in
 * (shard lock held, user personalized). */
static void pick_segment(const pz__rank_env *env, pz__segctx *x,
                         user_view *uv) {
  const pz__segstate *ss = env->seg;
  if (!ss->segpop || !ss->rules) return;
  for (uint32_t s = 0; s < ss->rules->n_seg; s++) {
    const pz__segdef *sd = &ss->rules->seg[s];
    if (!sd->rank) continue;
    const pz__segpop_table *t = pz__segpop_find(ss->segpop, sd->name, sd->nlen);
    if (!t || (uv->seg && t->members >= uv->seg->members)) continue;
    if (pz__seg_eval(x, s)) uv->seg = t;
  }
}

static bool rules_name_segments(const pz__brules *r) {
  for (uint32_t k = 0; r && k < r->n; k++)
    if (r->r[k].segment) return true;
  return false;
}

/* The person's feature and item blocks in force: what may no longer steer
 * their recommendations (PRECEDENCE in libpersonalize(7)). Catalogue and
 * shard locked. */
typedef struct blocks {
  uint32_t *feat, *item; /* feature indices, item indices */
  uint32_t n_feat, n_item, cap;
  bool expires; /* one of them ends: what they filter must not be cached */
} blocks;

static void blocks_free(const pz__alloc *a, blocks *b) {
  pz__free(a, b->feat, (size_t)b->cap * sizeof *b->feat);
  pz__free(a, b->item, (size_t)b->cap * sizeof *b->item);
  memset(b, 0, sizeof *b);
}

static int blocks_read(const pz__alloc *a, const pz__catalog *c,
                       const pz__choices *ch, int64_t now, blocks *b) {
  memset(b, 0, sizeof *b);
  uint32_t n = 0;
  for (uint32_t k = 0; ch && k < ch->n; k++)
    n += ch->c[k].kind == PZ_CHOICE_BLOCK_FEATURE ||
         ch->c[k].kind == PZ_CHOICE_BLOCK_ITEM;
  if (!n) return PZ_OK;
  b->feat = pz__malloc(a, (size_t)n * sizeof *b->feat);
  b->item = pz__malloc(a, (size_t)n * sizeof *b->item);
  b->cap = n;
  if (!b->feat || !b->item) {
    blocks_free(a, b);
    return PZ_ENOMEM;
  }
  for (uint32_t k = 0; k < ch->n; k++) {
    const pz__choice *x = &ch->c[k];
    if (!pz__choice_active(x, now)) continue;
    if (x->kind == PZ_CHOICE_BLOCK_FEATURE) {
      b->feat[b->n_feat++] = x->fidx;
    } else if (x->kind == PZ_CHOICE_BLOCK_ITEM) {
      uint32_t i = pz__catalog_find(c, x->target, x->tlen);
      if (i == PZ__NO_ITEM) continue;
      b->item[b->n_item++] = i;
    } else {
      continue;
    }
    b->expires |= x->expires != 0;
  }
  return PZ_OK;
}

static bool in_list(const uint32_t *l, uint32_t n, uint32_t v) {
  for (uint32_t j = 0; j < n; j++)
    if (l[j] == v) return true;
  return false;
}

/* Is a history item blocked, or does it carry a blocked feature (by index,
 * whatever the sign, as blocks match)? */
static bool item_blocked(const pz__catalog *c, const blocks *b, uint32_t i) {
  if (in_list(b->item, b->n_item, i)) return true;
  if (i >= c->n) return false;
  const pz__item *it = c->items[i];
  for (uint32_t f = 0; f < it->nf; f++)
    if (in_list(b->feat, b->n_feat, it->f[f].i)) return true;
  return false;
}

/* The user's interests (when personalized) plus the request's context
 * features, loaded into the scratch. A context feature of weight w counts
 * w times the norm of the stored interests (1 without interests): as much
 * as the person's whole taste, whatever the decay's scale. */
static int load_vector(const pz__rank_env *env, const pz__rank_req *req,
                       const pz__profile *p, const blocks *b, pz__scratch *s,
                       user_view *uv) {
  const pz__ent *e = p ? p->iv.e : NULL;
  uint32_t n = p ? p->iv.n : 0;
  if (!n && !req->n_ctx) return PZ_OK;
  int rc;
  pz__ent *kept = NULL; /* the interests less the blocked features */
  uint32_t n_in = n;
  if (n && b->n_feat) {
    if (!(kept = pz__malloc(env->a, (size_t)n * sizeof *kept))) return PZ_ENOMEM;
    uint32_t w = 0;
    for (uint32_t j = 0; j < n; j++)
      if (!in_list(b->feat, b->n_feat, e[j].i)) kept[w++] = e[j];
    e = kept;
    n = w;
  }
  if (!req->n_ctx) {
    rc = pz__scratch_load(env->a, s, e, n);
    uv->norm = pz__sv_norm(e, n);
  } else {
    double un = pz__sv_norm(e, n);
    pz__sv v = {NULL, 0, 0};
    rc = n ? pz__sv_axpy(env->a, &v, e, n, 1.0, NULL) : PZ_OK;
    if (!rc)
      rc = pz__sv_axpy(env->a, &v, req->ctx, req->n_ctx, un > 0 ? un : 1.0,
                       NULL);
    if (!rc) rc = pz__scratch_load(env->a, s, v.e, v.n);
    uv->norm = pz__sv_norm(v.e, v.n);
    pz__sv_free(env->a, &v, true);
  }
  pz__free_wipe(env->a, kept, (size_t)n_in * sizeof *kept);
  uv->personalized = rc == PZ_OK && uv->norm > 0;
  return rc;
}

/* Shard lock held: a new entry for the profile's current history (the
 * ALS vector is added after the lock is let go). */
static int entry_build(const pz__rank_env *env, const pz__profile *p,
                       const pz__cfmodel *m, const blocks *b,
                       pz__uentry **out) {
  const pz__alloc *a = env->a;
  pz__uentry *e = pz__calloc(a, 1, sizeof *e);
  if (!e) return PZ_ENOMEM;
  atomic_init(&e->refs, 1);
  e->hver = p->hver;
  e->seen_cap = p->h.n;
  e->seen = pz__malloc(a, (size_t)p->h.n * sizeof *e->seen);
  int rc = e->seen ? PZ_OK : PZ_ENOMEM;
  if (!rc) {
    pz__hist_it at = pz__hist_iter(&p->h);
    pz__event ev;
    for (uint32_t i = 0; pz__hist_next(&at, &ev, NULL); i++)
      e->seen[i] = ev.item;
  }
  e->gen = env->cf->gen;
  if (!rc && m) {
    rc = pz__cfhist_read(a, env->profiles, p, m->n_items, &e->hist,
                         &e->hist_cap);
    /* what the person blocked no longer steers CF (nor is it cited) */
    if (!rc && (b->n_feat || b->n_item)) {
      uint32_t w = 0;
      for (uint32_t j = 0; j < e->hist.n; j++)
        if (!item_blocked(env->catalog, b, e->hist.item[j])) {
          e->hist.item[w] = e->hist.item[j];
          e->hist.r[w++] = e->hist.r[j];
        }
      e->hist.n = w;
    }
  }
  if (rc) {
    pz__uentry_release(a, e);
    return rc;
  }
  qsort(e->seen, p->h.n, sizeof *e->seen, cmp_u32);
  uint32_t w = 0;
  for (uint32_t i = 0; i < p->h.n; i++)
    if (!w || e->seen[w - 1] != e->seen[i]) e->seen[w++] = e->seen[i];
  e->n_seen = w;
  *out = e;
  return PZ_OK;
}

/* Shard lock let go (CF state read-locked): the ALS vector of a new
 * entry. */
static int entry_fold(const pz__rank_env *env, pz__uentry *e) {
  const pz__cfmodel *m = env->cf->model;
  if (m && m->fs && e->hist.n && env->cfg->cf_weight != 0) {
    e->x = pz__malloc(env->a, (size_t)m->fs * sizeof *e->x);
    if (!e->x) return PZ_ENOMEM;
    e->fs = m->fs;
    int rc = pz__cf_fold(env->a, m, &e->hist, e->x);
    if (rc) return rc;
  }
  e->bytes = pz__uentry_bytes(e->seen_cap, e->hist_cap, e->fs);
  return PZ_OK;
}

/* The entry into the cache, if the profile still has the history it was
 * built from: under the shard lock, so that an erasure (which drops the
 * entry under the write lock) cannot come between the check and the
 * insertion. A cache that cannot take it changes nothing. */
static bool entry_keep(const pz__rank_env *env, const pz__uref *u,
                       pz__uentry *e, bool evict) {
  if (!env->uc->sh) return false;
  pz__shard_rdlock(env->profiles, u->shard);
  const pz__profile *p = pz__profiles_find(env->profiles, u);
  bool kept = p && p->hver == e->hver && pz__ucache_put(env->uc, u, e, evict);
  pz__shard_unlock(env->profiles, u->shard);
  return kept;
}

static int read_user(const pz__rank_env *env, const pz__rank_req *req,
                     pz__scratch *s, user_view *uv, pz__plan *pl) {
  memset(uv, 0, sizeof *uv);
  pz__profiles *ps = env->profiles;
  const pz__brules *br = env->ov->rules;
  const pz__cfmodel *m = env->cf->model;
  pz__shard_rdlock(ps, req->user->shard);
  pz__profile *p = pz__profiles_find(ps, req->user);
  /* the privacy gate: without consent, or opted out, nothing is read
   * from the profile but what business rules about segments need */
  bool open = pz__profile_personalized(ps, p);
  uv->gate_closed = !open;
  uv->opted_out = p && p->ch && p->ch->opted_out;
  /* stated exclusions hold whatever the gate (an allergen stays out) */
  const pz__choices *gated_choices = !open && p ? p->ch : NULL;
  if (!open) p = NULL;
  pz__segctx x;
  bool segs = (p && env->seg->segpop && env->seg->rules) ||
              rules_name_segments(br);
  int rc = segs ? pz__segctx_init(&x, env->a, env->seg->rules,
                                  env->seg->clusters, ps, env->catalog,
                                  req->now)
                : PZ_OK;
  if (rc) segs = false; /* a failed init freed its parts */
  if (!rc && segs)
    pz__segctx_user(&x, open ? p : pz__profiles_find(ps, req->user));
  blocks b = {0};
  if (!rc) rc = blocks_read(env->a, env->catalog, p ? p->ch : NULL, req->now, &b);
  if (!rc) rc = load_vector(env, req, p, &b, s, uv);
  if (!rc && p) {
    if (segs) pick_segment(env, &x, uv);
    if (p->h.n) {
      uv->ent = pz__ucache_get(env->uc, req->user, p->hver);
      if (uv->ent && uv->ent->gen != env->cf->gen) {
        pz__uentry_release(env->a, uv->ent); /* built for another model */
        uv->ent = NULL;
      }
      if (!uv->ent) {
        rc = entry_build(env, p, m, &b, &uv->ent);
        uv->fresh = rc == PZ_OK;
        /* filtered by a block that ends: valid for this request only */
        uv->keep = !b.expires;
      }
    }
    if (!rc) rc = pz__plan_choices(pl, p->ch, false, env->catalog, req->now);
  } else if (!rc && gated_choices) {
    rc = pz__plan_choices(pl, gated_choices, true, env->catalog, req->now);
  }
  if (!rc)
    rc = pz__plan_rules(pl, br, env->seg->rules, segs ? &x : NULL,
                        env->catalog);
  blocks_free(env->a, &b);
  if (segs) pz__segctx_free(&x, env->a);
  pz__shard_unlock(ps, req->user->shard);
  if (!rc && uv->fresh && !(rc = entry_fold(env, uv->ent)) && uv->keep)
    entry_keep(env, req->user, uv->ent, true);
  return rc;
}

/* Warming the cache after a training, shard by shard. */
typedef struct warm_one {
  char id[PZ_ID_MAX + 1];
  pz__uref u;
  pz__uentry *e;
} warm_one;

static void warm_shard(const pz__rank_env *env, uint32_t s) {
  pz__profiles *ps = env->profiles;
  const pz__cfmodel *m = env->cf->model;
  pz__shard *sh = &ps->shards[s];
  /* build no more than the stripe can take without evicting */
  size_t room = pz__ucache_room(env->uc, s), want = 0;
  uint32_t fs = m->fs && env->cfg->cf_weight != 0 ? m->fs : 0;
  pz__shard_rdlock(ps, s);
  uint32_t n = 0, cap = sh->n;
  warm_one *list = cap ? pz__malloc(env->a, (size_t)cap * sizeof *list) : NULL;
  for (uint32_t j = 0; list && j < sh->n; j++) {
    const pz__profile *p = sh->p[j];
    if (!p || !p->h.n || !pz__profile_personalized(ps, p)) continue;
    bool blocked = false; /* left to their first request, which knows now */
    for (uint32_t k = 0; p->ch && k < p->ch->n && !blocked; k++)
      blocked = p->ch->c[k].kind == PZ_CHOICE_BLOCK_FEATURE ||
                p->ch->c[k].kind == PZ_CHOICE_BLOCK_ITEM;
    if (blocked) continue;
    size_t est = pz__uentry_bytes(p->h.n, p->h.n, fs);
    if (want + est > room) break;
    want += est;
    warm_one *o = &list[n];
    memcpy(o->id, p->id, p->idlen);
    o->id[p->idlen] = '\0';
    pz__uref_make(&o->u, o->id, p->idlen);
    pz__uentry *old = pz__ucache_get(env->uc, &o->u, p->hver);
    bool have = old && old->gen == env->cf->gen;
    pz__uentry_release(env->a, old);
    static const blocks none; /* people with blocks were skipped */
    if (!have && entry_build(env, p, m, &none, &o->e) == PZ_OK) n++;
  }
  pz__shard_unlock(ps, s);
  /* an entry that no longer fits, or whose person changed meanwhile, is
   * left to the person's next request */
  for (uint32_t j = 0; j < n; j++) {
    pz__uentry *e = list[j].e;
    if (entry_fold(env, e) == PZ_OK) entry_keep(env, &list[j].u, e, false);
    pz__uentry_release(env->a, e);
  }
  pz__free_wipe(env->a, list, (size_t)cap * sizeof *list);
}

void pz__rank_warm(const pz__rank_env *env) {
  const pz__cfmodel *m = env->cf->model;
  if (!env->uc->sh || !m || env->cfg->cf_weight == 0) return;
  for (uint32_t s = 0; s < PZ__SHARDS; s++) warm_shard(env, s);
}

/* Catalogue read lock held: the candidate bits, the live items less the
 * person's seen ones (unless the request keeps them). */
static int candidates(const pz__rank_env *env, const pz__rank_req *req,
                      user_view *uv) {
  const pz__catalog *c = env->catalog;
  uv->cand_words = pz__live_words(c->n);
  uv->cand = pz__malloc(env->a, (uv->cand_words ? uv->cand_words : 1) *
                                    sizeof *uv->cand);
  if (!uv->cand) return PZ_ENOMEM;
  if (uv->cand_words)
    memcpy(uv->cand, c->live_bits, uv->cand_words * sizeof *uv->cand);
  if (c->n & 63) uv->cand[uv->cand_words - 1] &= ((uint64_t)1 << (c->n & 63)) - 1;
  if (uv->ent && !req->include_seen)
    for (uint32_t j = 0; j < uv->ent->n_seen; j++) {
      uint32_t i = uv->ent->seen[j];
      if (i < c->n) uv->cand[i >> 6] &= ~((uint64_t)1 << (i & 63));
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

/* The user's CF scores for one request: each model's raw scores min-max
 * normalized over the candidate items, mixed by the model's ALS share. */
typedef struct cf_view {
  pz__cfuser u;
  bool on;       /* CF has something to say */
  float *knn;    /* raw kNN scores (0 for the items tbits leaves out) */
  uint64_t *tbits;
  uint32_t *touched;
  uint32_t n_touched;
  float *als; /* raw ALS scores, n_items */
  uint32_t n;
  double share, a_min, a_inv, k_min, k_inv;
} cf_view;

/* An item's CF score in [0, 1] (i below v->n). */
PZ__HOT_INLINE float cf_at(const cf_view *v, uint32_t i) {
  double x = 0;
  if (v->knn) {
    x += (1 - v->share) * (v->knn[i] - v->k_min) * v->k_inv; /* 0 untouched */
  }
  if (v->als) x += v->share * (v->als[i] - v->a_min) * v->a_inv;
  return (float)x;
}

/* min and 1 / (max - min) over the candidates (0 when flat) of the kNN
 * and ALS scores: kNN from the touched items alone (the others score 0,
 * which counts when any candidate is untouched). */
static void spans(const user_view *uv, cf_view *v) {
  double kmn = INFINITY, kmx = -INFINITY, amn = INFINITY, amx = -INFINITY;
  const uint64_t *cand = uv->cand;
  if (v->knn) {
    uint32_t hit = 0, all = 0;
    for (uint32_t t = 0; t < v->n_touched; t++) {
      uint32_t i = v->touched[t];
      if (!pz__bit(cand, i)) continue;
      hit++;
      kmn = PZ__MIN(kmn, v->knn[i]);
      kmx = PZ__MAX(kmx, v->knn[i]);
    }
    for (size_t w = 0; w < uv->cand_words && (uint64_t)w * 64 < v->n; w++) {
      uint64_t b = cand[w];
      if ((uint64_t)(w + 1) * 64 > v->n) b &= ((uint64_t)1 << (v->n & 63)) - 1;
      all += (uint32_t)__builtin_popcountll(b);
    }
    if (hit < all) {
      kmn = PZ__MIN(kmn, 0);
      kmx = PZ__MAX(kmx, 0);
    }
  }
  if (v->als)
    for (size_t w = 0; w < uv->cand_words && (uint64_t)w * 64 < v->n; w++)
      for (uint64_t b = cand[w]; b; b &= b - 1) {
        uint32_t i = (uint32_t)(w * 64) + (uint32_t)__builtin_ctzll(b);
        if (i >= v->n) break;
        amn = PZ__MIN(amn, v->als[i]);
        amx = PZ__MAX(amx, v->als[i]);
      }
  v->k_min = kmx > kmn ? kmn : 0;
  v->k_inv = kmx > kmn ? 1.0 / (kmx - kmn) : 0;
  v->a_min = amx > amn ? amn : 0;
  v->a_inv = amx > amn ? 1.0 / (amx - amn) : 0;
}

/* The kNN scores and their bits go back to the scratch zero. */
static void cf_free(const pz__alloc *a, cf_view *v) {
  pz__cfuser_free(a, &v->u);
  if (v->knn) {
    for (uint32_t t = 0; t < v->n_touched; t++) v->knn[v->touched[t]] = 0;
    memset(v->tbits, 0, pz__live_words(v->n) * sizeof *v->tbits);
  }
  memset(v, 0, sizeof *v);
}

/* CF state read-locked. Leaves v->on false when CF has nothing to say.
 * The scores live in the scratch's memory: kNN's (and its bits) in the
 * part that is zero between requests. */
static int cf_prepare(const pz__rank_env *env, pz__scratch *s,
                      const user_view *uv, cf_view *v) {
  memset(v, 0, sizeof *v);
  const pz__cfmodel *m = env->cf->model;
  const pz__cfhist *h = user_hist(uv);
  if (!m || !h->n || env->cfg->cf_weight == 0) return PZ_OK;
  bool als = m->algorithm != PZ_CF_KNN, knn = m->algorithm != PZ_CF_ALS;
  const pz__alloc *a = env->a;
  uint32_t n = m->n_items;
  v->share = !knn ? 1 : !als ? 0 : m->als_share;
  size_t words = pz__live_words(n);
  size_t zbytes = (size_t)n * sizeof(float) + words * sizeof(uint64_t);
  size_t bytes = (size_t)n * (sizeof(float) + sizeof(uint32_t));
  char *z = knn ? pz__scratch_mem(a, s, PZ__MEM_CF_ZERO, zbytes ? zbytes : 8) : NULL;
  char *p = pz__scratch_mem(a, s, PZ__MEM_CF, bytes ? bytes : 8);
  if ((knn && !z) || !p) return PZ_ENOMEM;
  v->n = n;
  if (knn) {
    v->tbits = (uint64_t *)(void *)z; /* first: aligned */
    v->knn = (float *)(void *)(z + words * sizeof(uint64_t));
    v->touched = (uint32_t *)(void *)p;
  }
  if (als) v->als = (float *)(void *)(p + (size_t)n * sizeof(uint32_t));
  pz__cfuser_init(&v->u, m, h, uv->ent->x);
  if (knn) v->n_touched = pz__cfuser_knn(&v->u, v->knn, v->tbits, v->touched);
  if (als) pz__cfuser_als(&v->u, v->als);
  spans(uv, v);
  v->on = true;
  return PZ_OK;
}

/* The history items with the largest shares of item i's CF score. Each
 * history item's term is its weighted contribution to the normalized
 * score; ALS terms can be negative (an item that pulls away), so shares
 * are taken of the positive terms only and the named ones sum to at most
 * 1. buf: 2 * hist.n doubles. */
static void cf_because(const pz__catalog *c, const user_view *uv,
                       const cf_view *v, uint32_t i, const double *z,
                       double *buf, pz__rec *rec) {
  const pz__cfhist *h = user_hist(uv);
  double *kc = buf, *ac = buf + h->n;
  for (uint32_t j = 0; j < 2 * h->n; j++) buf[j] = 0;
  pz__cfuser_explain(&v->u, i, z, kc, ac);
  double total = 0;
  for (uint32_t j = 0; j < h->n; j++) {
    kc[j] = (1 - v->share) * kc[j] * v->k_inv + v->share * ac[j] * v->a_inv;
    if (kc[j] > 0) total += kc[j];
  }
  if (!(total > 0)) return;
  for (uint32_t r = 0; r < PZ__N_BECAUSE; r++) {
    uint32_t best = UINT32_MAX;
    for (uint32_t j = 0; j < h->n; j++)
      if (kc[j] > 0 && (best == UINT32_MAX || kc[j] > kc[best])) best = j;
    if (best == UINT32_MAX) break;
    rec->because[r] = c->items[h->item[best]]->id;
    rec->because_share[r] = kc[best] / total;
    rec->n_because = r + 1;
    kc[best] = 0;
  }
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
  const cf_view *cf; /* CF scores, or NULL */
  double cf_weight;
  bool drop_filler;    /* ranking.fill: none */
  const pz__finv *cx;  /* with cacc: content from the feature index */
  const double *cacc; /* the dot products of the items cx knows, or NULL */
} scorer;

/* An upper bound of log1p(x) for finite x >= 0, within 5e-4 of it, at
 * the cost of a few multiply-adds: log(1 + x) = e log 2 + log(m) with m
 * in [1, 2), and log, being concave, lies below its tangent at the middle
 * of m's sixteenth of [1, 2). The roundings (of 1 + x, of e log 2 and of
 * the sum, which grow with e) are covered by 1e-14 of the result plus
 * 1e-15. */
static double log1p_up(double x) {
  static const double tangent[16][2] = { /* log(a), 1 / a; a = 1 + (j + .5) / 16 */
      {0.030771658666753687, 0.96969696969696972},
      {0.089612158689687138, 0.91428571428571426},
      {0.14518200984449789, 0.86486486486486491},
      {0.19782574332991987, 0.82051282051282048},
      {0.24783616390458127, 0.78048780487804881},
      {0.2954642128938359, 0.7441860465116279},
      {0.34092658697059319, 0.71111111111111114},
      {0.38441169891033206, 0.68085106382978722},
      {0.42608439531090009, 0.65306122448979587},
      {0.46608972992459924, 0.62745098039215685},
      {0.50455601075239531, 0.60377358490566035},
      {0.54159728243274441, 0.58181818181818179},
      {0.57731536503482361, 0.56140350877192979},
      {0.61180154110599294, 0.5423728813559322},
      {0.6451379613735847, 0.52459016393442626},
      {0.67739882359180614, 0.50793650793650791}};
  double y = 1.0 + x, m;
  uint64_t b;
  memcpy(&b, &y, sizeof b);
  int e = (int)((b >> 52) & 0x7ff) - 1023;
  uint32_t j = (uint32_t)(b >> 48) & 15;
  b = (b & (((uint64_t)1 << 52) - 1)) | ((uint64_t)1023 << 52);
  memcpy(&m, &b, sizeof m);
  double a = 1 + (j + 0.5) / 16;
  double r = e * 0.69314718055994531 + tangent[j][0] + (m - a) * tangent[j][1];
  return r + fabs(r) * 1e-14 + 1e-15;
}

/* The weighted signals of item i but popularity (by[POPULARITY - 1] is
 * 0): with a cursor into the segment table (items in increasing order) or
 * seg_pos NULL. A signal of weight 0 is not computed (it adds 0). */
PZ__HOT_INLINE void signals_but_pop_as(const scorer *k, uint32_t i,
                                       uint32_t *seg_pos, double *by,
                                       bool acc) {
  double content = 0;
  if (k->unorm > 0 && k->content_weight != 0) {
    if (acc && !pz__finv_changed(k->cx, i)) {
      float norm = k->cx->norm[i];
      if (norm > 0) content = k->cacc[i] / (k->unorm * norm);
    } else {
      const pz__item *it = k->c->items[i];
      if (it->nf && it->norm > 0)
        content = pz__scratch_dot(k->s, it->f, it->nf) / (k->unorm * it->norm);
    }
  }
  double seg = 0;
  if (k->seg)
    seg = log1p(pz__segpop_at(k->seg, i, seg_pos) * k->seg_decay) * k->inv_seg;
  by[PZ_SIGNAL_CONTENT - 1] = k->content_weight * content;
  by[PZ_SIGNAL_POPULARITY - 1] = 0;
  by[PZ_SIGNAL_SEGMENT - 1] = k->segment_weight * seg;
  by[PZ_SIGNAL_CF - 1] =
      k->cf && i < k->cf->n ? k->cf_weight * cf_at(k->cf, i) : 0;
}

/* acc: k->cacc is not NULL (a constant where the scan is compiled twice) */
PZ__HOT_INLINE void signals_but_pop(const scorer *k, uint32_t i,
                                    uint32_t *seg_pos, double *by) {
  signals_but_pop_as(k, i, seg_pos, by, k->cacc != NULL);
}

PZ__HOT_INLINE double pop_signal(const scorer *k, uint32_t i) {
  return k->popularity_weight * (log1p(pz__catalog_pop_raw(k->c, i) * k->decay) *
                                 k->inv_pop);
}

/* The weighted signals of item i: scan ranks by them, build explains
 * them (seg_pos NULL). */
PZ__HOT_INLINE void signals(const scorer *k, uint32_t i, uint32_t *seg_pos,
                            double *by) {
  signals_but_pop(k, i, seg_pos, by);
  if (k->popularity_weight != 0) by[PZ_SIGNAL_POPULARITY - 1] = pop_signal(k, i);
}

/* Can item i, whose other signals are in by and whose score the plan
 * multiplies by fac, not enter a full heap whatever its popularity? (Its
 * score is at most the bound's, the plan's multiplier keeps the order of
 * scores, and an equal score would lose the tie to the items already
 * in.) */
PZ__HOT_INLINE bool pop_rejects(const scorer *k, uint32_t i, const double *by,
                                double fac, const pz__topk *top) {
  if (top->n < top->k) return false;
  /* first with the largest popularity's term (the weight itself): that
   * rejects most items of a long catalogue without a log */
  double ub0 = by[0] + k->popularity_weight * (1 + 1e-12) + by[2] + by[3];
  ub0 += fabs(ub0) * 1e-12 + 1e-300;
  if ((float)pz__plan_apply(ub0, fac) < top->score[0]) return true;
  double up = k->popularity_weight *
              (log1p_up(pz__catalog_pop_raw(k->c, i) * k->decay) * k->inv_pop);
  double ub = by[0] + up + by[2] + by[3];
  ub += fabs(ub) * 1e-12 + 1e-300;
  return (float)pz__plan_apply(ub, fac) < top->score[0];
}

/* Is an item with these weighted signals filler that ranking.fill: none
 * leaves out (no positive signal: its reason would be
 * PZ_REASON_FALLBACK)? */
PZ__HOT_INLINE bool filler_out(const scorer *k, const double *by) {
  return k->drop_filler && !(by[0] > 0) && !(by[1] > 0) && !(by[2] > 0) &&
         !(by[3] > 0);
}

/* The items whose popularity moved since the catalogue's popularity
 * order was made, as one request sees them: the catalogue's bits are set
 * by writers under the read lock, so a request reads them once (a copy)
 * and uses that copy for every question; an item changed after the copy
 * is read with a value it really had. */
typedef struct pop_view {
  const pz__catalog *c;
  uint64_t *changed; /* words of pop_order_n bits */
  size_t words;
} pop_view;

static int pop_view_take(const pz__alloc *a, const pz__catalog *c,
                         pop_view *v) {
  v->c = c;
  v->words = pz__live_words(c->pop_order_n);
  v->changed = pz__malloc(a, (v->words ? v->words : 1) * sizeof *v->changed);
  if (!v->changed) return PZ_ENOMEM;
  for (size_t w = 0; w < v->words; w++)
    v->changed[w] =
        atomic_load_explicit(&c->pop_dirty[w], memory_order_relaxed);
  return PZ_OK;
}

static void pop_view_free(const pz__alloc *a, pop_view *v) {
  if (v->changed)
    pz__free(a, v->changed, (v->words ? v->words : 1) * sizeof *v->changed);
  v->changed = NULL;
}

static bool pop_changed(const pop_view *v, uint32_t i) {
  return i >= v->c->pop_order_n || pz__bit(v->changed, i);
}

/* The live changed items (and those that came after the order), in index
 * order: fn(ud, i) for each. */
static void each_changed(const pop_view *v, void (*fn)(void *, uint32_t),
                         void *ud) {
  const pz__catalog *c = v->c;
  for (size_t w = 0; w < v->words; w++)
    for (uint64_t b = v->changed[w] & c->live_bits[w]; b; b &= b - 1)
      fn(ud, (uint32_t)(w * 64) + (uint32_t)__builtin_ctzll(b));
  for (uint32_t i = c->pop_order_n; i < c->n; i++)
    if (pz__catalog_live(c, i)) fn(ud, i);
}

typedef struct max_walk {
  const pz__catalog *c;
  double max;
} max_walk;

static void max_one(void *ud, uint32_t i) {
  max_walk *m = ud;
  m->max = PZ__MAX(m->max, pz__catalog_pop_raw(m->c, i));
}

/* The largest popularity of a live item: of the changed ones, and of the
 * first unchanged live item of the order (the others come after it). */
static double max_pop_ordered(const pop_view *v) {
  const pz__catalog *c = v->c;
  max_walk m = {c, 0};
  each_changed(v, max_one, &m);
  for (uint32_t p = 0; p < c->pop_order_n; p++) {
    uint32_t i = c->pop_order[p];
    if (!pz__catalog_live(c, i) || pop_changed(v, i)) continue;
    m.max = PZ__MAX(m.max, pz__catalog_pop_raw(c, i));
    break;
  }
  return m.max;
}

/* The content signal's dot products from the feature index: acc[i] for
 * each item the index knows, summed over the person's features in
 * increasing index, which is the order pz__scratch_dot sums an item's
 * features in, so the values are the same. Taken when the index exists
 * and the lists of the person's features hold at most half as many
 * entries as the candidates have features (a person with a short
 * history in a large catalogue); acc and its bits live in the scratch's
 * memory that is zero between requests. */
typedef struct content_view {
  const pz__finv *x;
  double *acc; /* NULL: not taken */
  uint64_t *bits;
  size_t words;
} content_view;

static void content_prepare(const pz__rank_env *env, pz__scratch *s,
                            const user_view *uv, content_view *v,
                            bool *want) {
  memset(v, 0, sizeof *v);
  pz__catalog *c = env->catalog;
  if (!uv->personalized || env->cfg->content_weight == 0) return;
  const pz__finv *x = c->finv;
  uint64_t work = 0, cand = 0, budget;
  for (size_t w = 0; w < uv->cand_words; w++)
    cand += (uint64_t)__builtin_popcountll(uv->cand[w]);
  /* without an index, one is asked for only by a person with few
   * features for the catalogue (a list holds at least one entry) */
  if (!x || !x->built_n) {
    *want |= s->n_touched < cand / 4;
    return;
  }
  /* a list entry costs about what one feature of a candidate does (a
   * scattered add against a scattered read, measured): worth it at half,
   * which a person with as many features as the candidates have lists
   * of average length never is */
  budget = cand * (x->n_item / x->built_n) / 2;
  if ((uint64_t)s->n_touched * (x->n_groups ? x->n_item / x->n_groups : 0) >
      budget)
    return;
  for (uint32_t j = 0; j < s->n_touched && work <= budget; j++) {
    uint32_t n;
    pz__finv_items(x, s->touched[j], &n);
    work += n;
  }
  if (work > budget) return;
  *want = true; /* used: a stale index is built again */
  size_t words = pz__live_words(x->built_n);
  char *m = pz__scratch_mem(env->a, s, PZ__MEM_CONTENT_ZERO,
                            words * sizeof(uint64_t) +
                                (size_t)x->built_n * sizeof(double));
  if (!m) return; /* the scan computes each item's itself */
  v->x = x;
  v->words = words;
  v->bits = (uint64_t *)(void *)m;
  v->acc = (double *)(void *)(m + words * sizeof(uint64_t));
  for (uint32_t j = 0; j < s->n_touched; j++) {
    uint32_t f = s->touched[j], n;
    double u = pz__scratch_get(s, f);
    const uint32_t *it = pz__finv_items(x, f, &n);
    if (!n) continue;
    const float *val = pz__finv_values(x, it);
    for (uint32_t q = 0; q < n; q++) {
      uint32_t i = it[q];
      v->bits[i >> 6] |= (uint64_t)1 << (i & 63);
      v->acc[i] += u * val[q];
    }
  }
}

/* The dot products go back to the scratch zero. */
static void content_free(content_view *v) {
  for (size_t w = 0; v->acc && w < v->words; w++) {
    for (uint64_t b = v->bits[w]; b; b &= b - 1)
      v->acc[w * 64 + (uint32_t)__builtin_ctzll(b)] = 0;
    v->bits[w] = 0;
  }
  memset(v, 0, sizeof *v);
}

/* ordered (not NULL): the largest popularity from the catalogue's
 * order. */
static scorer make_scorer(const pz__rank_env *env, const pz__rank_req *req,
                          const pz__scratch *s, const user_view *uv,
                          const cf_view *cv, const content_view *ct,
                          const pop_view *ordered) {
  const pz__catalog *c = env->catalog;
  double max_pop = 0, decay = 0, log_max = 0;
  if (env->cfg->popularity_weight != 0) {
    if (ordered)
      max_pop = max_pop_ordered(ordered);
    else
      for (uint32_t w = 0; w < pz__live_words(c->n); w++)
        for (uint64_t b = c->live_bits[w]; b; b &= b - 1) {
          uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(b);
          max_pop = PZ__MAX(max_pop, pz__catalog_pop_raw(c, i));
        }
    /* normalizing by the maximum cancels the common decay factor, but the
     * log needs the decayed value to compare spreads at the same time */
    decay = pz__decay_factor(req->now, c->pop_landmark, c->half_life_ms);
    log_max = log1p(max_pop * decay);
  }
  scorer k = {c, s, uv->seg, env->cfg->content_weight,
              env->cfg->popularity_weight, env->cfg->segment_weight,
              uv->personalized ? uv->norm : 0, decay,
              log_max > 0 ? 1.0 / log_max : 0, 0, 0,
              cv->on ? cv : NULL, env->cfg->cf_weight,
              env->cfg->fill_none, ct->x, ct->acc};
  if (uv->seg) {
    const pz__segpop *sp = env->seg->segpop;
    k.seg_decay = pz__decay_factor(req->now, sp->landmark, c->half_life_ms);
    double seg_max = log1p(uv->seg->max_pop * k.seg_decay);
    k.inv_seg = seg_max > 0 ? 1.0 / seg_max : 0;
  }
  return k;
}

/* Does only kNN score (no ALS, popularity, segment or content signal, no
 * plan)? Then every item its neighbour lists do not reach scores the
 * same below the model's items, and 0 above them. */
static bool knn_alone(const scorer *k, const pz__plan *pl) {
  return !pl->any && k->cf && k->cf->knn && !k->cf->als &&
         k->popularity_weight == 0 && !k->seg &&
         !(k->unorm > 0 && k->content_weight != 0);
}

/* The scan when knn_alone: the candidates the history reaches, then the
 * others in index order only while they can still enter the heap. The
 * heap keeps the best (score, index) pairs whatever the order of pushes,
 * so this is the full scan's result. */
static void scan_knn(const scorer *k, const user_view *uv, pz__topk *top) {
  const cf_view *v = k->cf;
  double by[PZ__N_SIGNALS];
  for (uint32_t t = 0; t < v->n_touched; t++) {
    uint32_t i = v->touched[t];
    if (!pz__bit(uv->cand, i)) continue;
    signals(k, i, NULL, by);
    if (filler_out(k, by)) continue;
    pz__topk_push(top, (float)(by[0] + by[1] + by[2] + by[3]), i);
  }
  size_t tw = pz__live_words(v->n);
  bool below_done = false;
  for (size_t w = 0; w < uv->cand_words; w++) {
    uint64_t b = uv->cand[w] & ~(w < tw ? v->tbits[w] : 0);
    if (below_done && (uint64_t)(w + 1) * 64 <= v->n) continue;
    for (; b; b &= b - 1) {
      uint32_t i = (uint32_t)(w * 64) + (uint32_t)__builtin_ctzll(b);
      if (below_done && i < v->n) continue;
      signals(k, i, NULL, by);
      if (filler_out(k, by)) {
        /* the others of this group are filler too */
        if (i < v->n) {
          below_done = true;
          continue;
        }
        return;
      }
      float f = (float)(by[0] + by[1] + by[2] + by[3]);
      if (top->n == top->k &&
          (f < top->score[0] || (f == top->score[0] && i > top->id[0]))) {
        /* the rest of this group scores the same with larger indices */
        if (i < v->n) {
          below_done = true;
          continue;
        }
        return;
      }
      pz__topk_push(top, f, i);
    }
  }
}

/* Does only popularity score (no CF, segment or content signal, no plan),
 * and is the catalogue's popularity order fresh enough to walk? */
static bool pop_alone(const pz__rank_env *env, const user_view *uv,
                      const cf_view *cv, const pz__plan *pl) {
  if (pl->any || cv->on || uv->seg ||
      (uv->personalized && env->cfg->content_weight != 0) ||
      env->cfg->popularity_weight == 0)
    return false;
  return !pz__catalog_pop_reorder_due(env->catalog);
}

typedef struct pop_push {
  const scorer *k;
  const user_view *uv;
  pz__topk *top;
} pop_push;

static void push_one(void *ud, uint32_t i) {
  pop_push *q = ud;
  if (!pz__bit(q->uv->cand, i)) return;
  double by[PZ__N_SIGNALS];
  signals(q->k, i, NULL, by);
  if (filler_out(q->k, by)) return;
  pz__topk_push(q->top, (float)(by[0] + by[1] + by[2] + by[3]), i);
}

/* The scan when pop_alone: the changed items, then the unchanged ones in
 * the order of their popularity until one scores below the heap's worst
 * (all after it score no higher). The heap keeps the best (score, index)
 * pairs whatever the order of pushes, so this is the full scan's
 * result. */
static void scan_pop(const scorer *k, const user_view *uv, const pop_view *v,
                     pz__topk *top) {
  const pz__catalog *c = k->c;
  pop_push q = {k, uv, top};
  each_changed(v, push_one, &q);
  double by[PZ__N_SIGNALS];
  for (uint32_t p = 0; p < c->pop_order_n; p++) {
    uint32_t i = c->pop_order[p];
    if (!pz__bit(uv->cand, i) || pop_changed(v, i)) continue;
    signals(k, i, NULL, by);
    if (filler_out(k, by)) break; /* so are all after it */
    float f = (float)(by[0] + by[1] + by[2] + by[3]);
    if (top->n == top->k) {
      if (f < top->score[0]) break;
      /* an equal score: a later item of the order may still have a lower
       * index */
      if (f == top->score[0] && i > top->id[0]) continue;
    }
    pz__topk_push(top, f, i);
  }
}

/* Catalogue read lock held, the plan finished: the feature index's answer
 * (pz__plan_prefilter) when the plan acts on features and there is an
 * index (else f->ok NULL); *want: the plan would use one. Without memory
 * for it the scan goes item by item. */
static void prefilter(const pz__rank_env *env, pz__scratch *s,
                      const user_view *uv, const pz__plan *pl,
                      pz__prefilter *f, bool *want) {
  memset(f, 0, sizeof *f);
  pz__catalog *c = env->catalog;
  if (!pl->n_fa) return;
  *want = true;
  if (!c->finv) return;
  void *mem = pz__scratch_mem(env->a, s, PZ__MEM_PLAN,
                              pz__prefilter_bytes(uv->cand_words));
  if (mem)
    pz__plan_prefilter(pl, c->finv, uv->cand, uv->cand_words, mem, f);
}

/* The scan's loop, compiled once with content dot products from the
 * feature index (acc) and once without. */
PZ__HOT_INLINE void scan_items(const scorer *kp, const user_view *uv,
                               const pz__plan *pl, const pz__prefilter *pf,
                               pz__topk *top, pz__topk *promo, bool acc) {
  const scorer k = *kp;
  const pz__catalog *c = k.c;
  uint32_t seg_pos = 0, ia_at = 0, only_at = 0;
  bool any = pl->any, free_pass = pl->req_mask == 0;
  bool items = (any && !pf->ok) ||
               (k.unorm > 0 && k.content_weight != 0 && !acc);
  pz__pitem neutral = {true, 1, 1, 0, -1, -1, -1, -1};
  /* with the feature index, the candidates it leaves in; the others have
   * failed a hard filter */
  const uint64_t *walk = pf->ok ? pf->ok : uv->cand;
  for (size_t w = 0; w < uv->cand_words; w++)
    for (uint64_t b = walk[w]; b; b &= b - 1) {
      uint32_t i = (uint32_t)(w * 64) + (uint32_t)__builtin_ctzll(b);
      /* the item records and their features are scattered: fetch them
       * ahead, so that the branches on them (the plan's above all) do
       * not wait for memory one item at a time */
      if (items) {
        if (i + 16 < c->n) PZ__PREFETCH(c->items[i + 16]);
        if (i + 8 < c->n) PZ__PREFETCH(c->items[i + 8]->f);
      }
      pz__pitem pi = neutral;
      if (any) {
        /* most items meet no action: cursors over the sorted item lists
         * and the feature filter find them without pz__plan_item */
        if (pl->restricted) {
          while (only_at < pl->n_only && pl->only[only_at] < i) only_at++;
          if (only_at == pl->n_only || pl->only[only_at] != i) continue;
        }
        while (ia_at < pl->n_ia && pl->ia[ia_at].key < i) ia_at++;
        bool ia_hit = ia_at < pl->n_ia && pl->ia[ia_at].key == i;
        if (pf->ok && !pz__bit(pf->touched, i))
          ; /* passes as it is: multipliers 1, no promotion */
        else if (pf->ok && !pz__finv_changed(pf->x, i))
          pz__prefilter_item(pl, pf, i, &pi);
        else if (ia_hit || pz__plan_touches(pl, c->items[i]))
          pz__plan_item_at(pl, i, c->items[i], ia_at, &pi);
        else if (!free_pass) /* no feature of it is required */
          continue;
        if (!pi.ok) continue;
      }
      double by[PZ__N_SIGNALS];
      if (!any) { /* popularity, a log, last, and only when it can count */
        signals_but_pop_as(&k, i, &seg_pos, by, acc);
        if (k.popularity_weight != 0) {
          if (pop_rejects(&k, i, by, 1, top)) continue;
          by[PZ_SIGNAL_POPULARITY - 1] = pop_signal(&k, i);
        }
        if (filler_out(&k, by)) continue;
        pz__topk_push(top, (float)(by[0] + by[1] + by[2] + by[3]), i);
        continue;
      }
      double fac = (double)pi.ufac * pi.rfac;
      signals_but_pop_as(&k, i, &seg_pos, by, acc);
      if (k.popularity_weight != 0) {
        /* an item a promotion may take must reach its heap */
        if (!pi.promo && pop_rejects(&k, i, by, fac, top)) continue;
        by[PZ_SIGNAL_POPULARITY - 1] = pop_signal(&k, i);
      }
      double sc = by[0] + by[1] + by[2] + by[3];
      float f = (float)pz__plan_apply(sc, fac);
      /* filler stays off the organic list; a promotion may still take it */
      if (!filler_out(&k, by)) pz__topk_push(top, f, i);
      for (uint32_t m = pi.promo; m; m &= m - 1)
        pz__topk_push(&promo[__builtin_ctz(m)], f, i);
    }
}

/* Catalogue read lock held. Candidates pass the seen filter and the
 * plan's hard filters; scores get the plan's multipliers. promo[j]
 * collects promotion j's matching items. */
static void scan(const scorer *kp, const user_view *uv, const pz__plan *pl,
                 const pz__prefilter *pf, pz__topk *top, pz__topk *promo) {
  if (knn_alone(kp, pl)) {
    scan_knn(kp, uv, top);
    pz__topk_sort(top);
    return;
  }
  if (kp->cacc) scan_items(kp, uv, pl, pf, top, promo, true);
  else scan_items(kp, uv, pl, pf, top, promo, false);
  pz__topk_sort(top);
  for (uint32_t j = 0; j < pl->n_promo; j++) pz__topk_sort(&promo[j]);
}

static bool in_context(const pz__rank_req *req, const pz__item *it) {
  for (uint32_t j = 0; j < it->nf; j++) {
    uint32_t lo = 0, hi = req->n_ctx, key = it->f[j].i;
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (req->ctx[mid].i < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo < req->n_ctx && req->ctx[lo].i == key) return true;
  }
  return false;
}

/* The main reason of one item: the largest weighted signal (ties:
 * content, CF, segment, popularity), in code and (text not NULL) words. */
static void reason(const scorer *k, const pz__rank_req *req,
                   const pz__item *it, pz__rec *rec, pz__buf *text) {
  const double *by = rec->contrib;
  double content = by[PZ_SIGNAL_CONTENT - 1], pop = by[PZ_SIGNAL_POPULARITY - 1],
         seg = by[PZ_SIGNAL_SEGMENT - 1], cf = by[PZ_SIGNAL_CF - 1];
  if (content > 0 && content >= cf && content >= pop && content >= seg) {
    rec->code = PZ_REASON_CONTENT;
    if (!text) return;
    const pz__fname *f = best_feature(k->c, k->s, it);
    if (f && req->n_ctx && pz__sv_find(req->ctx, req->n_ctx, f->index) >= 0) {
      pz__buf_puts(text, "fits this context: ");
      pz__buf_put(text, f->text, f->len);
    } else if (f) {
      pz__buf_puts(text, "matches your interest in ");
      pz__buf_put(text, f->text, f->len);
    } else {
      pz__buf_puts(text, "matches your interests");
    }
  } else if (cf > 0 && cf >= pop && cf >= seg) {
    rec->code = PZ_REASON_CF;
    if (!text) return;
    if (rec->n_because) {
      pz__buf_puts(text, "because you interacted with ");
      pz__buf_puts(text, rec->because[0]);
    } else {
      /* every term is negative: it ranks here because the others
       * score lower still */
      pz__buf_puts(text, "suggested by your history");
    }
  } else if (seg > 0 && seg >= pop) {
    rec->code = PZ_REASON_SEGMENT;
    if (!text) return;
    pz__buf_puts(text, "popular in your segment ");
    pz__buf_put(text, k->seg->name, k->seg->nlen);
  } else if (pop > 0) {
    rec->code = PZ_REASON_POPULAR;
    if (text) pz__buf_puts(text, "popular");
  } else {
    rec->code = PZ_REASON_FALLBACK;
    if (text) pz__buf_puts(text, "no signal yet: catalogue order");
  }
}

static void rule_words(pz__buf *text, const char *what, const pz__rule *r) {
  pz__buf_puts(text, what);
  pz__buf_puts(text, " (rule ");
  pz__buf_put(text, r->name, r->nlen);
  pz__buf_puts(text, ")");
}

/* Placement, flags, factors and the words for what moved the item. */
static void adjustments(const pz__rank_req *req, const user_view *uv,
                        const pz__plan *pl, const pz__placed *pc,
                        const pz__pitem *pi, const scorer *k,
                        const pz__item *it, pz__rec *rec, pz__buf *text) {
  const pz__rule *rules = pl->rules ? pl->rules->r : NULL;
  unsigned int fl = 0;
  if (pc->how == PZ__HOW_PIN) {
    fl |= PZ_RECS_PINNED;
    rec->code = PZ_REASON_PINNED;
  } else if (pc->how == PZ__HOW_EDITORIAL) {
    fl |= PZ_RECS_EDITORIAL;
    rec->code = PZ_REASON_EDITORIAL;
  } else if (pc->how == PZ__HOW_PROMO) {
    fl |= PZ_RECS_PROMOTED;
    rec->code = PZ_REASON_PROMOTED;
  }
  /* what moved the item is the net effect of each side's multipliers,
   * named by its strongest choice or rule in that direction */
  int32_t more = pi->ufac > 1 ? pi->more : -1, less = pi->ufac < 1 ? pi->less : -1;
  int32_t boost = pi->rfac > 1 ? pi->boost : -1, bury = pi->rfac < 1 ? pi->bury : -1;
  if (pc->rule >= 0) rec->rule = rules[pc->rule].name;
  else if (boost >= 0 || bury >= 0)
    rec->rule = rules[boost >= 0 ? boost : bury].name;
  if (more >= 0) fl |= PZ_RECS_MORE;
  if (less >= 0) fl |= PZ_RECS_LESS;
  if (boost >= 0) fl |= PZ_RECS_BOOSTED;
  if (bury >= 0) fl |= PZ_RECS_BURIED;
  if (pc->diverse) fl |= PZ_RECS_DIVERSITY;
  if (uv->gate_closed) fl |= PZ_RECS_NOT_PERSONALIZED;
  if (req->n_ctx && k->unorm > 0 && rec->contrib[PZ_SIGNAL_CONTENT - 1] != 0 &&
      in_context(req, it))
    fl |= PZ_RECS_CONTEXT;
  rec->flags = fl;
  if (!text) return;
  /* a placed item's words are its placement (build wrote no base reason) */
  if (pc->how == PZ__HOW_PIN) {
    pz__buf_puts(text, "pinned by you");
  } else if (pc->how != PZ__HOW_ORGANIC) {
    rule_words(text, pc->how == PZ__HOW_EDITORIAL ? "featured" : "promoted",
               &rules[pc->rule]);
  }
  if (more >= 0 || less >= 0) {
    pz__buf_puts(text, more >= 0 ? "; more of " : "; less of ");
    pz__buf_puts(text, pl->names[more >= 0 ? more : less]);
    pz__buf_puts(text, ", as you asked");
  }
  if (boost >= 0) rule_words(text, "; boosted", &rules[boost]);
  if (bury >= 0) rule_words(text, "; buried", &rules[bury]);
  if (pc->diverse) pz__buf_puts(text, "; for variety");
  if (uv->opted_out) pz__buf_puts(text, "; personalization is off, as you asked");
}

/* Catalogue read lock held: item ids and feature names are read here. */
static int build(const pz__rank_env *env, const pz__rank_req *req,
                 const scorer *k, const user_view *uv, cf_view *cv,
                 const pz__plan *pl, const pz__placed *pc, uint32_t n,
                 pz_recs **out) {
  const pz__catalog *c = env->catalog;
  uint32_t cells = n ? n : 1;
  bool because = cv->on && req->explain;
  size_t ex_n = because ? 2 * (size_t)user_hist(uv)->n : 1;
  pz__rec *src = pz__calloc(env->a, cells, sizeof *src);
  size_t *off = pz__calloc(env->a, cells, sizeof *off);
  double *ex = pz__malloc(env->a, ex_n * sizeof *ex);
  pz__buf text;
  pz__buf_init(&text, env->a);
  int rc = src && off && ex ? PZ_OK : PZ_ENOMEM;
  if (!rc && because && cv->als) rc = pz__cfuser_factor(env->a, &cv->u);
  for (uint32_t r = 0; !rc && r < n; r++)
    signals(k, pc[r].item, NULL, src[r].contrib);
  /* the ALS vectors of the items whose CF term is explained, solved
   * together (off[r] holds row r's place among them for now) */
  uint32_t nz = 0, f = cv->als ? cv->u.m->fs : 0; /* Z's stride */
  uint32_t *zi = NULL;
  double *Z = NULL;
  if (!rc && because && cv->als) {
    zi = pz__malloc(env->a, cells * sizeof *zi);
    for (uint32_t r = 0; zi && r < n; r++) {
      uint32_t i = pc[r].item;
      off[r] = SIZE_MAX;
      if (i < cv->n && src[r].contrib[PZ_SIGNAL_CF - 1] > 0) {
        off[r] = nz;
        zi[nz++] = i;
      }
    }
    Z = zi ? pz__malloc(env->a, (size_t)(nz ? nz : 1) * f * sizeof *Z) : NULL;
    if (!Z) rc = PZ_ENOMEM;
    else pz__cfuser_solve(&cv->u, zi, nz, Z);
  }
  for (uint32_t r = 0; !rc && r < n; r++) {
    uint32_t i = pc[r].item;
    const pz__item *it = c->items[i];
    pz__rec *rec = &src[r];
    const double *by = rec->contrib;
    double sum = by[0] + by[1] + by[2] + by[3];
    pz__pitem pi;
    pz__plan_item(pl, i, it, true, &pi);
    rec->item = it->id;
    rec->factor[PZ_FACTOR_PERSON - 1] = pi.ufac;
    rec->factor[PZ_FACTOR_RULES - 1] = pi.rfac;
    rec->score = pz__plan_apply(sum, (double)pi.ufac * pi.rfac);
    if (because && i < cv->n && by[PZ_SIGNAL_CF - 1] > 0)
      cf_because(c, uv, cv, i, Z ? Z + off[r] * f : NULL, ex, rec);
    off[r] = text.len;
    pz__buf *t = req->explain ? &text : NULL;
    reason(k, req, it, rec, pc[r].how == PZ__HOW_ORGANIC ? t : NULL);
    adjustments(req, uv, pl, &pc[r], &pi, k, it, rec, t);
    pz__buf_put(&text, "", 1); /* keep each reason's NUL */
  }
  if (!rc) rc = text.err;
  if (!rc) {
    for (uint32_t r = 0; r < n; r++) src[r].reason = text.p + off[r];
    rc = pz__recs_build(env->a, n, src, out);
  }
  pz__buf_free(&text);
  pz__free(env->a, zi, cells * sizeof *zi);
  pz__free_wipe(env->a, Z, (size_t)(nz ? nz : 1) * f * sizeof *Z);
  pz__free(env->a, ex, ex_n * sizeof *ex);
  pz__free(env->a, off, cells * sizeof *off);
  pz__free(env->a, src, cells * sizeof *src);
  return rc;
}

/* The heaps of one request: the organic pool and one per promotion. */
typedef struct heaps {
  float *score;
  uint32_t *id;
  size_t cells;
  pz__topk top;
  pz__topk promo[PZ__PROMO_MAX];
} heaps;

static int heaps_init(const pz__rank_env *env, const pz__rank_req *req,
                      const pz__plan *pl, uint32_t len, heaps *h) {
  memset(h, 0, sizeof *h);
  uint32_t live = env->catalog->live;
  /* placed items may also rank organically: the pool makes up for them */
  uint64_t slots[PZ__PROMO_MAX], placed = pl->n_pins;
  for (uint32_t j = 0; j < pl->n_promo; j++)
    placed += slots[j] = pz__promo_slots(&pl->promo[j], len, NULL, len);
  uint64_t pool = (uint64_t)len + placed;
  if (req->diversity > 0) pool = PZ__MAX(pool, env->cfg->diversity_pool);
  pool = PZ__MIN(pool, (uint64_t)live);
  uint64_t cells = pool;
  uint64_t pcap[PZ__PROMO_MAX];
  for (uint32_t j = 0; j < pl->n_promo; j++)
    cells += pcap[j] = PZ__MIN(slots[j] ? slots[j] + placed : 0, (uint64_t)live);
  h->cells = cells ? (size_t)cells : 1;
  h->score = pz__malloc(env->a, h->cells * sizeof *h->score);
  h->id = h->score ? pz__malloc(env->a, h->cells * sizeof *h->id) : NULL;
  if (!h->id) return PZ_ENOMEM;
  pz__topk_init(&h->top, h->score, h->id, (uint32_t)pool);
  size_t at = (size_t)pool;
  for (uint32_t j = 0; j < pl->n_promo; j++) {
    pz__topk_init(&h->promo[j], h->score + at, h->id + at, (uint32_t)pcap[j]);
    at += (size_t)pcap[j];
  }
  return PZ_OK;
}

static void heaps_free(const pz__rank_env *env, heaps *h) {
  pz__free(env->a, h->score, h->cells * sizeof *h->score);
  pz__free(env->a, h->id, h->cells * sizeof *h->id);
}

/* How many slots the arrangement covers: the page's end, and as far as a
 * pin or a promotion can place an item (one bumped by every other
 * placement at worst), so that an item placed beyond the page is not
 * also ranked on it. A promotion by fraction reaches the end of the
 * longest list. */
static uint32_t arrangement(const pz__plan *pl, uint32_t len, uint32_t max_k) {
  uint64_t r = len, bump = pl->n_pins;
  for (uint32_t j = 0; j < pl->n_promo; j++) {
    if (pl->promo[j].fraction > 0) return PZ__MAX(len, max_k);
    bump += pl->promo[j].slots;
  }
  for (uint32_t j = 0; j < pl->n_promo; j++) {
    const pz__promo *p = &pl->promo[j];
    r = PZ__MAX(r, p->start + (uint64_t)(p->slots - 1) * p->every + 1 + bump);
  }
  for (uint32_t j = 0; j < pl->n_pins; j++)
    r = PZ__MAX(r, (uint64_t)(pl->pins[j].pos < 0 ? 0 : pl->pins[j].pos) + 1 +
                       bump);
  return (uint32_t)PZ__MIN(r, PZ__MAX((uint64_t)len, (uint64_t)max_k));
}

int pz__rank_recommend(const pz__rank_env *env, const pz__rank_req *req,
                       pz_recs **out) {
  pz__scratch *s;
  int rc = pz__scratch_take(env->pool, &s);
  if (rc) return rc;
  user_view uv;
  cf_view cv;
  pz__plan pl;
  heaps h;
  bool reorder = false, build_index = false, wants_index = false;
  bool ordered_max = false;
  memset(&cv, 0, sizeof cv);
  memset(&h, 0, sizeof h);
  pz__plan_init(&pl, env->a, env->ocfg);
  pz__segstate_rdlock(env->seg);
  pz__ovstate_rdlock(env->ov);
  pz__cfstate_rdlock(env->cf);
  pz__catalog_rdlock(env->catalog);
  rc = read_user(env, req, s, &uv, &pl);
  if (!rc) rc = candidates(env, req, &uv);
  if (!rc)
    rc = pz__plan_request(&pl, env->catalog, req->exclude, req->n_exclude,
                          req->restrict_to, req->n_restrict);
  if (!rc) rc = pz__plan_finish(&pl);
  if (!rc) rc = cf_prepare(env, s, &uv, &cv);
  uint32_t len = req->offset + req->k; /* checked against max_k */
  if (!rc) len = arrangement(&pl, len, env->cfg->max_k);
  if (!rc) rc = heaps_init(env, req, &pl, len, &h);
  pop_view pv = {NULL, NULL, 0};
  bool ordered = !rc && pop_alone(env, &uv, &cv, &pl);
  /* the popularity order also gives the largest popularity, when it is
   * fresh enough, without a pass over every item; a request that weighs
   * popularity and finds it stale counts toward sorting it again */
  if (!rc && env->cfg->popularity_weight != 0) {
    if (pz__catalog_pop_reorder_due(env->catalog))
      reorder = pz__catalog_pop_want(env->catalog);
    else if (!ordered)
      ordered_max = true;
  }
  if (!rc && (ordered || ordered_max))
    rc = pop_view_take(env->a, env->catalog, &pv);
  if (!rc) {
    content_view ct;
    content_prepare(env, s, &uv, &ct, &wants_index);
    scorer sc = make_scorer(env, req, s, &uv, &cv, &ct, pv.changed ? &pv : NULL);
    if (ordered) {
      scan_pop(&sc, &uv, &pv, &h.top);
      pz__topk_sort(&h.top);
    } else {
      pz__prefilter pf;
      prefilter(env, s, &uv, &pl, &pf, &wants_index);
      scan(&sc, &uv, &pl, &pf, &h.top, h.promo);
      if (pf.ok) pz__prefilter_free(&pf);
    }
    pz__placed *pc;
    uint32_t n;
    rc = pz__rank_place(env->a, env->catalog, &pl, len, &h.top, h.promo,
                        req->diversity, env->cfg->diversity_pool, &pc, &n);
    if (!rc) { /* the page: [offset, offset + k) of the arrangement */
      uint32_t from = PZ__MIN(req->offset, n);
      uint32_t to = PZ__MIN(n, req->offset + req->k);
      rc = build(env, req, &sc, &uv, &cv, &pl, pc + from, to - from, out);
      pz__free(env->a, pc, (size_t)len * sizeof *pc);
    }
    content_free(&ct);
  }
  pop_view_free(env->a, &pv);
  heaps_free(env, &h);
  cf_free(env->a, &cv);
  /* a request that would have used the feature index counts once */
  if (wants_index && pz__catalog_finv_due(env->catalog))
    build_index = pz__catalog_finv_want(env->catalog);
  pz__catalog_unlock(env->catalog);
  pz__cfstate_unlock(env->cf);
  pz__ovstate_unlock(env->ov);
  pz__segstate_unlock(env->seg);
  pz__plan_free(&pl);
  pz__uentry_release(env->a, uv.ent);
  pz__free(env->a, uv.cand, (uv.cand_words ? uv.cand_words : 1) * sizeof *uv.cand);
  pz__scratch_give(env->pool, s);
  if (reorder) pz__catalog_pop_maintain(env->catalog);
  if (build_index) pz__catalog_finv_maintain(env->catalog);
  return rc;
}
