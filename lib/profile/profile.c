/* The sharded profile table and the behaviour a profile records. */
#include "profile.h"

#include <math.h>
#include <string.h>

static const char *profile_key(const void *ctx, uint32_t idx, size_t *len) {
  const pz__shard *s = ctx;
  *len = s->p[idx]->idlen;
  return s->p[idx]->id;
}

int pz__profiles_init(pz__profiles *ps, const pz__alloc *a,
                      const pz__profile_cfg *cfg) {
  memset(ps, 0, sizeof *ps);
  ps->a = a;
  ps->cfg = cfg;
  for (int i = 0; i < PZ__SHARDS; i++) {
    pz__idmap_init(&ps->shards[i].map);
    if (pthread_rwlock_init(&ps->shards[i].lock, NULL) != 0) {
      while (--i >= 0) pthread_rwlock_destroy(&ps->shards[i].lock);
      return pz__fail(PZ_ERROR, "cannot create profile locks");
    }
  }
  return PZ_OK;
}

static void profile_destroy(const pz__alloc *a, pz__profile *p) {
  if (!p) return;
  pz__sv_free(a, &p->iv, true);
  pz__hist_free(a, &p->h);
  for (uint16_t i = 0; i < p->n_attrs; i++) pz__attr_release(a, &p->attrs[i]);
  pz__free_wipe(a, p->attrs, (size_t)p->attrs_cap * sizeof *p->attrs);
  pz__free_wipe(a, p->consent, (size_t)p->n_consent * sizeof *p->consent);
  pz__choices_free(a, p->ch);
  pz__free_wipe(a, p, sizeof *p + p->idlen + 1);
}

void pz__profiles_free(pz__profiles *ps) {
  for (int i = 0; i < PZ__SHARDS; i++) {
    pz__shard *s = &ps->shards[i];
    for (uint32_t j = 0; j < s->n; j++) profile_destroy(ps->a, s->p[j]);
    pz__free(ps->a, s->p, (size_t)s->cap * sizeof *s->p);
    pz__free(ps->a, s->freelist, (size_t)s->free_cap * sizeof *s->freelist);
    pz__idmap_free(ps->a, &s->map);
    pthread_rwlock_destroy(&s->lock);
  }
}

void pz__uref_make(pz__uref *u, const char *id, size_t len) {
  u->id = id;
  u->len = len;
  u->hash = pz__hash_bytes(id, len, 0);
  u->shard = (uint32_t)(u->hash >> 58) % PZ__SHARDS;
}

void pz__shard_rdlock(pz__profiles *ps, uint32_t s) {
  pthread_rwlock_rdlock(&ps->shards[s].lock);
}
void pz__shard_wrlock(pz__profiles *ps, uint32_t s) {
  pthread_rwlock_wrlock(&ps->shards[s].lock);
}
void pz__shard_unlock(pz__profiles *ps, uint32_t s) {
  pthread_rwlock_unlock(&ps->shards[s].lock);
}

pz__profile *pz__profiles_find(pz__profiles *ps, const pz__uref *u) {
  pz__shard *s = &ps->shards[u->shard];
  uint32_t idx =
      pz__idmap_find(&s->map, u->hash, u->id, u->len, profile_key, s);
  return idx == UINT32_MAX ? NULL : s->p[idx];
}

void pz__profiles_prefetch(const pz__profiles *ps, const pz__uref *u,
                           int stage) {
  const pz__shard *s = &ps->shards[u->shard];
  if (stage == 0) {
    pz__idmap_prefetch(&s->map, u->hash);
    return;
  }
  uint32_t idx = pz__idmap_peek(&s->map, u->hash);
  if (idx >= s->n) return;
  if (stage == 1) {
    PZ__PREFETCH(&s->p[idx]);
    return;
  }
  const pz__profile *p = s->p[idx];
  if (!p) return;
  if (stage == 2) {
    PZ__PREFETCH(p);
    PZ__PREFETCH((const char *)p + 64);
    return;
  }
  if (p->iv.e) {
    const char *c = (const char *)p->iv.e;
    size_t bytes = PZ__MIN((size_t)p->iv.n * sizeof *p->iv.e, (size_t)2048);
    for (size_t off = 0; off < bytes; off += 64) PZ__PREFETCH(c + off);
  }
  if (p->h.b) PZ__PREFETCH(p->h.b + p->h.off + p->h.len); /* the end */
}

int pz__profiles_obtain(pz__profiles *ps, const pz__uref *u,
                        pz__profile **out, bool *created) {
  pz__shard *s = &ps->shards[u->shard];
  *created = false;
  if ((*out = pz__profiles_find(ps, u))) return PZ_OK;
  if (!s->n_free && s->n == s->cap) {
    if (s->n == UINT32_MAX - 1) return pz__fail(PZ_ELIMIT, "too many users");
    int rc = pz__grow(ps->a, (void **)&s->p, &s->cap, s->n + 1, sizeof *s->p);
    if (rc) return rc;
  }
  /* the free list can always take back the slot we use, so erasing never
   * needs to allocate */
  int rc = pz__grow(ps->a, (void **)&s->freelist, &s->free_cap,
                    s->n + 1, sizeof *s->freelist);
  if (!rc) rc = pz__idmap_reserve(ps->a, &s->map, profile_key, s);
  if (rc) return rc;
  /* counted first, so that writers in other shards cannot pass it */
  uint64_t live = atomic_fetch_add(&ps->n_live, 1);
  if (pz__over_limit(live, 1, ps->max_live)) {
    atomic_fetch_sub(&ps->n_live, 1);
    return pz__fail(PZ_ELIMIT,
                    "%llu profiles, the most limits.profiles allows: no "
                    "profile for \"%.*s\"",
                    (unsigned long long)live, (int)u->len, u->id);
  }
  pz__profile *p = pz__calloc(ps->a, 1, sizeof *p + u->len + 1);
  if (!p) {
    atomic_fetch_sub(&ps->n_live, 1);
    return PZ_ENOMEM;
  }
  p->idlen = (uint8_t)u->len;
  memcpy(p->id, u->id, u->len);
  pz__profile_touch(ps, p);
  uint32_t idx = s->n_free ? s->freelist[--s->n_free] : s->n++;
  s->p[idx] = p;
  pz__idmap_insert(&s->map, u->hash, idx);
  s->live++;
  *out = p;
  *created = true;
  return PZ_OK;
}

void pz__profiles_remove(pz__profiles *ps, const pz__uref *u) {
  pz__shard *s = &ps->shards[u->shard];
  uint32_t idx =
      pz__idmap_find(&s->map, u->hash, u->id, u->len, profile_key, s);
  if (idx == UINT32_MAX) return;
  pz__idmap_remove(&s->map, u->hash, idx);
  if (s->p[idx]->ch) atomic_fetch_sub(&ps->n_choices, s->p[idx]->ch->n);
  profile_destroy(ps->a, s->p[idx]);
  s->p[idx] = NULL;
  s->freelist[s->n_free++] = idx;
  s->live--;
  atomic_fetch_sub(&ps->n_live, 1);
}

/* Ask for a profile's parts ahead of use (its struct must be in cache
 * already, or this stalls on it). */
static inline void prefetch_parts(const pz__profile *p) {
  PZ__PREFETCH(p->attrs);
  if (p->h.b) { /* NULL + off: UB */
    PZ__PREFETCH(p->h.b + p->h.off);
    PZ__PREFETCH(p->h.b + p->h.off + 64);
  }
  PZ__PREFETCH(p->iv.e);
}

int pz__profiles_each(pz__profiles *ps, pz__profile_fn fn, void *ud) {
  int rc = 0;
  for (uint32_t s = 0; !rc && s < PZ__SHARDS; s++) {
    pz__shard *sh = &ps->shards[s];
    pz__shard_rdlock(ps, s);
    for (uint32_t j = 0; !rc && j < sh->n; j++) {
      /* two profiles ahead for the struct, one ahead for its parts */
      if (j + 2 < sh->n && sh->p[j + 2]) PZ__PREFETCH(sh->p[j + 2]);
      if (j + 1 < sh->n && sh->p[j + 1]) prefetch_parts(sh->p[j + 1]);
      if (sh->p[j]) rc = fn(sh->p[j], ud);
    }
    pz__shard_unlock(ps, s);
  }
  return rc;
}

size_t pz__profiles_count(pz__profiles *ps) {
  size_t n = 0;
  for (uint32_t i = 0; i < PZ__SHARDS; i++) {
    pz__shard_rdlock(ps, i);
    n += ps->shards[i].live;
    pz__shard_unlock(ps, i);
  }
  return n;
}

size_t pz__profile_bytes(const pz__profile *p) {
  size_t b = sizeof *p + p->idlen + 1 + pz__sv_bytes(&p->iv) +
             p->h.cap +
             (size_t)p->attrs_cap * sizeof *p->attrs +
             (size_t)p->n_consent * sizeof *p->consent +
             pz__choices_bytes(p->ch);
  for (uint16_t i = 0; i < p->n_attrs; i++) b += pz__attr_bytes(&p->attrs[i]);
  return b;
}

/* ---- behaviour ----------------------------------------------------------- */

double pz__profile_event_amount(const pz__profile_cfg *cfg, uint32_t type,
                                double value) {
  double a = cfg->types[type].weight * value;
  return a > 0 ? a : 0;
}

double pz__profile_decay_factor(const pz__profiles *ps, const pz__profile *p,
                              int64_t now) {
  return pz__decay_factor(now, p->landmark, ps->cfg->half_life_ms);
}

int pz__profile_track(pz__profiles *ps, pz__profile *p, uint32_t item,
                      const pz__ent *f, uint32_t nf, uint32_t type,
                      double value, int64_t ts) {
  const pz__profile_cfg *cfg = ps->cfg;
  uint8_t code[PZ__HIST_EV_MAX];
  uint32_t len = pz__hist_encode(&p->h, ts, item, type, (float)value, code);
  int rc = pz__hist_reserve(ps->a, &p->h, len);
  if (rc) return rc;
  double amount = cfg->types[type].weight * value;
  if (nf && amount != 0) {
    if (p->iv.n == 0) p->landmark = ts;
    double x = cfg->half_life_ms > 0
                   ? (double)(ts - p->landmark) / (double)cfg->half_life_ms
                   : 0;
    if (x > PZ__DECAY_MAX_EXP) { /* move the landmark forward */
      pz__sv_scale(&p->iv, exp2(-x));
      p->landmark = ts;
      x = 0;
    }
    /* One event adds at most 1e6 * 1e6 * 1e9 * 2^48 < 3e35, so a value
     * below PZ__FLOAT_SAFE stays finite after it. When a written value
     * passes that mark, move the landmark on by whole half-lives: every
     * stored value is divided by a power of two and nothing is lost.
     * Without decay there is no landmark: the vector is scaled down, which
     * keeps rankings (cosines) and understates absolute interests. */
    float top;
    if ((rc = pz__sv_axpy(ps->a, &p->iv, f, nf, amount * exp2(x), &top)))
      return rc;
    if (top > PZ__FLOAT_SAFE) {
      double k = ceil(log2(top / PZ__FLOAT_SAFE)) + 8;
      pz__sv_scale(&p->iv, exp2(-k));
      if (cfg->half_life_ms > 0) p->landmark += (int64_t)k * cfg->half_life_ms;
    }
  }
  pz__hist_append(&p->h, code, len, ts, cfg->history_limit);
  pz__profile_touch(ps, p);
  return PZ_OK;
}

void pz__profile_clear_behaviour(pz__profiles *ps, pz__profile *p) {
  pz__sv_free(ps->a, &p->iv, true);
  pz__hist_free(ps->a, &p->h);
  p->landmark = 0;
  pz__profile_touch(ps, p);
}

/* ---- attributes ------------------------------------------------------- */

const pz__attr *pz__profile_attr(const pz__profile *p, const char *name,
                                 size_t len) {
  return pz__profile_attr_h(p, name, len, pz__attr_hash(name, len));
}

/* ---- attribute storage ----------------------------------------------- */

static void release_str(const pz__alloc *a, pz__attr *t) {
  if (t->type != PZ_ATTR_STRING) return;
  if (t->slen >= PZ__ATTR_STR_INLINE) pz__free_wipe(a, t->v.str, t->slen + 1);
  pz__wipe(&t->v, sizeof t->v);
}

void pz__attr_release(const pz__alloc *a, pz__attr *t) {
  if (t->namelen >= PZ__ATTR_NAME_INLINE)
    pz__free_wipe(a, t->name.p, (size_t)t->namelen + 1);
  release_str(a, t);
  pz__wipe(t, sizeof *t);
}

size_t pz__attr_bytes(const pz__attr *t) {
  size_t b = 0;
  if (t->namelen >= PZ__ATTR_NAME_INLINE) b += t->namelen + 1u;
  if (t->type == PZ_ATTR_STRING && t->slen >= PZ__ATTR_STR_INLINE)
    b += t->slen + 1u;
  return b;
}

/* Store a name or string value inline (< max bytes) or on the heap. */
static int store(const pz__alloc *a, const char *s, size_t len, size_t max,
                 char *inl, char **heap) {
  if (len < max) {
    memcpy(inl, s, len);
    inl[len] = '\0';
    return PZ_OK;
  }
  return (*heap = pz__strndup(a, s, len)) ? PZ_OK : PZ_ENOMEM;
}

int pz__attr_copy(const pz__alloc *a, pz__attr *dst, const pz__attr *src) {
  *dst = *src;
  if (src->namelen >= PZ__ATTR_NAME_INLINE &&
      !(dst->name.p = pz__strndup(a, src->name.p, src->namelen)))
    return PZ_ENOMEM;
  if (src->type == PZ_ATTR_STRING && src->slen >= PZ__ATTR_STR_INLINE &&
      !(dst->v.str = pz__strndup(a, src->v.str, src->slen))) {
    if (src->namelen >= PZ__ATTR_NAME_INLINE)
      pz__free(a, dst->name.p, (size_t)src->namelen + 1);
    return PZ_ENOMEM;
  }
  return PZ_OK;
}

int pz__profile_attr_set(pz__profiles *ps, pz__profile *p, const char *name,
                         size_t len, int type, double num, int64_t ts,
                         const char *str, size_t slen) {
  pz__attr *t = (pz__attr *)pz__profile_attr(p, name, len);
  /* the new value first, so that a failure changes nothing */
  pz__attr val;
  memset(&val, 0, sizeof val);
  val.type = (uint8_t)type;
  switch (type) {
  case PZ_ATTR_STRING:
    val.slen = (uint32_t)slen;
    if (store(ps->a, str, slen, PZ__ATTR_STR_INLINE, val.v.s, &val.v.str))
      return PZ_ENOMEM;
    break;
  case PZ_ATTR_NUMBER: val.v.num = num; break;
  case PZ_ATTR_BOOL: val.v.b = num != 0; break;
  default: val.v.ts = ts; break;
  }
  if (!t) {
    int rc = PZ_OK;
    if (p->n_attrs == PZ__MAX_ATTRS)
      rc = pz__fail(PZ_ELIMIT, "at most %d attributes per user",
                    PZ__MAX_ATTRS);
    uint32_t cap = p->attrs_cap;
    if (!rc)
      rc = pz__grow(ps->a, (void **)&p->attrs, &cap, (uint32_t)p->n_attrs + 1,
                    sizeof *p->attrs);
    pz__attr *slot = rc ? NULL : &p->attrs[p->n_attrs];
    if (!rc) {
      p->attrs_cap = (uint16_t)PZ__MIN(cap, 65535u);
      memset(slot, 0, sizeof *slot);
      rc = store(ps->a, name, len, PZ__ATTR_NAME_INLINE, slot->name.s,
                 &slot->name.p);
    }
    if (rc) {
      release_str(ps->a, &val);
      return rc;
    }
    t = slot;
    p->n_attrs++;
    t->namelen = (uint8_t)len;
    t->nhash = pz__attr_hash(name, len);
  } else {
    release_str(ps->a, t);
  }
  t->type = val.type;
  t->slen = val.slen;
  t->v = val.v;
  return PZ_OK;
}

int pz__profile_attr_remove(pz__profiles *ps, pz__profile *p,
                            const char *name, size_t len) {
  pz__attr *t = (pz__attr *)pz__profile_attr(p, name, len);
  if (!t) return pz__fail(PZ_ENOTFOUND, "no attribute \"%s\"", name);
  pz__attr_release(ps->a, t);
  size_t i = (size_t)(t - p->attrs);
  memmove(t, t + 1, (p->n_attrs - i - 1) * sizeof *t);
  p->n_attrs--;
  pz__wipe(&p->attrs[p->n_attrs], sizeof *t);
  return PZ_OK;
}

/* ---- consent ---------------------------------------------------------- */

bool pz__profile_consented(const pz__profiles *ps, const pz__profile *p,
                           int purpose) {
  if (p)
    for (uint8_t i = 0; i < p->n_consent; i++)
      if (p->consent[i].purpose == purpose) return p->consent[i].granted;
  return (ps->cfg->consent_default >> purpose) & 1u;
}

int pz__profile_consent_set(pz__profiles *ps, pz__profile *p, int purpose,
                            bool granted, int64_t ts) {
  for (uint8_t i = 0; i < p->n_consent; i++)
    if (p->consent[i].purpose == purpose) {
      p->consent[i].granted = granted;
      p->consent[i].ts = ts;
      return PZ_OK;
    }
  pz__consent *c = pz__realloc(ps->a, p->consent,
                               (size_t)p->n_consent * sizeof *c,
                               (size_t)(p->n_consent + 1) * sizeof *c);
  if (!c) return PZ_ENOMEM;
  p->consent = c;
  c[p->n_consent++] = (pz__consent){ts, (uint8_t)purpose, granted};
  return PZ_OK;
}
