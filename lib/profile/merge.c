/* Identity merge: an anonymous visitor's profile folds into an account.
 * Everything new is built first; only when every allocation succeeded is
 * the destination changed, so a failure leaves both profiles as they were. */
#include "profile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct merged {
  pz__consent *consent;
  uint8_t n_consent;
  pz__sv iv;
  int64_t landmark;
  pz__hist h;
  pz__attr *attrs;
  uint16_t n_attrs;
  pz__choices *ch;
} merged;

static void merged_free(const pz__alloc *a, merged *m) {
  pz__free(a, m->consent, (size_t)m->n_consent * sizeof *m->consent);
  pz__sv_free(a, &m->iv, true);
  pz__hist_free(a, &m->h);
  for (uint16_t i = 0; i < m->n_attrs; i++) pz__attr_release(a, &m->attrs[i]);
  pz__choices_free(a, m->ch);
}

/* For each purpose the more recent explicit choice wins. */
static int merge_consent(const pz__alloc *a, merged *m, const pz__profile *d,
                         const pz__profile *s) {
  pz__consent all[2 * PZ__MAX_PURPOSES];
  uint8_t k = 0;
  const pz__profile *both[2] = {d, s};
  for (int w = 0; w < 2; w++)
    for (uint8_t i = 0; i < both[w]->n_consent; i++) {
      const pz__consent *c = &both[w]->consent[i];
      uint8_t j = 0;
      while (j < k && all[j].purpose != c->purpose) j++;
      if (j == k) all[k++] = *c;
      else if (c->ts > all[j].ts) all[j] = *c;
    }
  if (!k) return PZ_OK;
  m->consent = pz__malloc(a, k * sizeof *m->consent);
  if (!m->consent) return PZ_ENOMEM;
  memcpy(m->consent, all, k * sizeof *m->consent);
  m->n_consent = k;
  return PZ_OK;
}

bool pz__profile_merge_consented(const pz__profiles *ps, const pz__profile *d,
                                 const pz__profile *s) {
  const pz__consent *best = NULL;
  const pz__profile *both[2] = {d, s};
  for (int w = 0; w < 2; w++)
    for (uint8_t i = 0; i < both[w]->n_consent; i++) {
      const pz__consent *c = &both[w]->consent[i];
      if (c->purpose == PZ__PURPOSE_PERSONALIZATION &&
          (!best || c->ts > best->ts))
        best = c;
    }
  return best ? best->granted
              : pz__profile_consented(ps, NULL, PZ__PURPOSE_PERSONALIZATION);
}

static int cmp_ts(const void *x, const void *y) {
  const pz__event *a = x, *b = y;
  if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
  return 0;
}

typedef struct tagged {
  pz__event e; /* first member: cmp_ts reads it */
  uint32_t type, seq;
} tagged;

/* Histories merged by time (ties keep arrival order); the newest
 * history_limit events are kept. */
static int merge_history(pz__profiles *ps, merged *m, const pz__profile *d,
                         const pz__profile *s) {
  size_t n = (size_t)d->h.n + s->h.n;
  if (!n) return PZ_OK;
  tagged *t = pz__malloc(ps->a, n * sizeof *t);
  if (!t) return PZ_ENOMEM;
  size_t k = 0;
  const pz__profile *both[2] = {d, s};
  for (int w = 0; w < 2; w++) {
    pz__hist_it at = pz__hist_iter(&both[w]->h);
    uint8_t ty;
    while (pz__hist_next(&at, &t[k].e, &ty)) {
      t[k].type = ty;
      t[k].seq = (uint32_t)k;
      k++;
    }
  }
  qsort(t, n, sizeof *t, cmp_ts);
  for (size_t i = 1; i < n; i++) { /* qsort is not stable: restore order */
    tagged x = t[i];
    size_t j = i;
    while (j > 0 && t[j - 1].e.ts == x.e.ts && t[j - 1].seq > x.seq) {
      t[j] = t[j - 1];
      j--;
    }
    t[j] = x;
  }
  size_t keep = PZ__MIN(n, (size_t)ps->cfg->history_limit);
  size_t first = n - keep;
  int rc = PZ_OK;
  for (size_t i = first; !rc && i < n; i++)
    rc = pz__hist_add(ps->a, &m->h, t[i].e.ts, t[i].e.item, t[i].type,
                      t[i].e.value, ps->cfg->history_limit);
  pz__free_wipe(ps->a, t, n * sizeof *t);
  return rc;
}

/* Both interest vectors are brought to the later landmark, then added. */
static int merge_interests(pz__profiles *ps, merged *m, const pz__profile *d,
                           const pz__profile *s) {
  int64_t h = ps->cfg->half_life_ms;
  m->landmark = d->iv.n ? d->landmark : s->landmark;
  if (d->iv.n && s->iv.n && s->landmark > d->landmark) m->landmark = s->landmark;
  const pz__profile *both[2] = {d, s};
  for (int w = 0; w < 2; w++) {
    const pz__profile *p = both[w];
    if (!p->iv.n) continue;
    double f = h > 0 ? exp2((double)(p->landmark - m->landmark) / (double)h)
                     : 1.0;
    int rc = pz__sv_axpy(ps->a, &m->iv, p->iv.e, p->iv.n, f, NULL);
    if (rc) return rc;
  }
  return PZ_OK;
}

/* The destination's attributes win; the source fills gaps, up to the
 * per-user limit. */
static int merge_attrs(const pz__alloc *a, merged *m, size_t cap,
                       const pz__profile *d, const pz__profile *s) {
  if (!cap) return PZ_OK;
  m->attrs = pz__calloc(a, cap, sizeof *m->attrs);
  if (!m->attrs) return PZ_ENOMEM;
  const pz__profile *both[2] = {d, s};
  for (int w = 0; w < 2; w++)
    for (uint16_t i = 0; i < both[w]->n_attrs && m->n_attrs < cap; i++) {
      const pz__attr *t = &both[w]->attrs[i];
      if (w == 1 && pz__profile_attr_h(d, pz__attr_name(t), t->namelen,
                                       t->nhash))
        continue;
      int rc = pz__attr_copy(a, &m->attrs[m->n_attrs], t);
      if (rc) return rc;
      m->n_attrs++;
    }
  return PZ_OK;
}

int pz__profile_merge(pz__profiles *ps, pz__profile *d, const pz__profile *s,
                      uint32_t max_choices) {
  const pz__alloc *a = ps->a;
  merged m;
  memset(&m, 0, sizeof m);
  size_t attrs_cap = PZ__MIN((size_t)d->n_attrs + s->n_attrs,
                             (size_t)PZ__MAX_ATTRS);
  bool keep_behaviour = pz__profile_merge_consented(ps, d, s);
  int rc = merge_consent(a, &m, d, s);
  if (!rc && keep_behaviour) rc = merge_history(ps, &m, d, s);
  if (!rc && keep_behaviour) rc = merge_interests(ps, &m, d, s);
  if (!rc) rc = merge_attrs(a, &m, attrs_cap, d, s);
  if (!rc) rc = pz__choices_merge(a, &m.ch, d->ch, s->ch, max_choices);
  if (rc) {
    merged_free(a, &m);
    pz__free(a, m.attrs, attrs_cap * sizeof *m.attrs);
    return rc;
  }
  /* commit: free d's old parts and move the new ones in */
  pz__profile_clear_behaviour(ps, d);
  for (uint16_t i = 0; i < d->n_attrs; i++) pz__attr_release(a, &d->attrs[i]);
  pz__free_wipe(a, d->attrs, (size_t)d->attrs_cap * sizeof *d->attrs);
  pz__free_wipe(a, d->consent, (size_t)d->n_consent * sizeof *d->consent);
  d->consent = m.consent;
  d->n_consent = m.n_consent;
  d->iv = m.iv;
  d->landmark = m.landmark;
  d->h = m.h;
  d->attrs = m.attrs;
  d->n_attrs = m.n_attrs;
  d->attrs_cap = (uint16_t)attrs_cap;
  /* the source's choices are counted until it goes */
  atomic_fetch_add(&ps->n_choices, m.ch ? m.ch->n : 0);
  atomic_fetch_sub(&ps->n_choices, d->ch ? d->ch->n : 0);
  pz__choices_free(a, d->ch);
  d->ch = m.ch;
  return PZ_OK;
}
