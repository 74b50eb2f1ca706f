/* The interaction matrix: every consented user's history summed per item,
 * in CSR by user and by item. */
#include "cf.h"

#include <stdlib.h>
#include <string.h>

typedef struct pair {
  uint32_t item;
  float r;
} pair;

static int cmp_pair(const void *x, const void *y) {
  uint32_t a = ((const pair *)x)->item, b = ((const pair *)y)->item;
  return (a > b) - (a < b);
}

/* Sum the history into sorted (item, amount > 0) pairs; returns count. */
static uint32_t aggregate(const pz__profiles *ps, const pz__profile *p,
                          uint32_t n_items, pair *buf) {
  uint32_t n = 0;
  pz__hist_it at = pz__hist_iter(&p->h);
  pz__event ev;
  uint8_t type;
  while (pz__hist_next(&at, &ev, &type)) {
    if (ev.item >= n_items) continue;
    double amt = pz__profile_event_amount(ps->cfg, type, ev.value);
    if (amt > 0) buf[n++] = (pair){ev.item, (float)amt};
  }
  qsort(buf, n, sizeof *buf, cmp_pair);
  uint32_t w = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (w && buf[w - 1].item == buf[i].item) buf[w - 1].r += buf[i].r;
    else buf[w++] = buf[i];
  }
  return w;
}

int pz__cfhist_read(const pz__alloc *a, const pz__profiles *ps,
                    const pz__profile *p, uint32_t n_items, pz__cfhist *h,
                    uint32_t *cap) {
  memset(h, 0, sizeof *h);
  *cap = p->h.n;
  if (!p->h.n) return PZ_OK;
  pair *buf = pz__malloc(a, (size_t)p->h.n * sizeof *buf);
  h->item = pz__malloc(a, (size_t)p->h.n * sizeof *h->item);
  h->r = pz__malloc(a, (size_t)p->h.n * sizeof *h->r);
  int rc = PZ_OK;
  if (!buf || !h->item || !h->r) {
    rc = PZ_ENOMEM;
  } else {
    h->n = aggregate(ps, p, n_items, buf);
    for (uint32_t i = 0; i < h->n; i++) {
      h->item[i] = buf[i].item;
      h->r[i] = buf[i].r;
    }
  }
  pz__free(a, buf, (size_t)p->h.n * sizeof *buf);
  if (rc) pz__cfhist_free(a, h, *cap);
  return rc;
}

void pz__cfhist_free(const pz__alloc *a, pz__cfhist *h, uint32_t cap) {
  pz__free_wipe(a, h->item, (size_t)cap * sizeof *h->item);
  pz__free_wipe(a, h->r, (size_t)cap * sizeof *h->r);
  memset(h, 0, sizeof *h);
}

/* The user side while it grows. */
typedef struct collect {
  const pz__alloc *a;
  const pz__profiles *ps;
  pz__cfmat *m;
  pair *buf;
  uint32_t buf_cap;
} collect;

static int grow64(const pz__alloc *a, void **p, uint64_t *cap, uint64_t need,
                  size_t elem) {
  if (need <= *cap) return PZ_OK;
  uint64_t nc = *cap ? *cap : 1024;
  while (nc < need) nc *= 2;
  if (nc > SIZE_MAX / elem) return pz__oom();
  void *q = pz__realloc(a, *p, (size_t)*cap * elem, (size_t)nc * elem);
  if (!q) return PZ_ENOMEM;
  *p = q;
  *cap = nc;
  return PZ_OK;
}

static int collect_user(const pz__profile *p, void *ud) {
  collect *c = ud;
  pz__cfmat *m = c->m;
  if (!p->h.n ||
      !pz__profile_personalized(c->ps, p))
    return PZ_OK;
  if (p->h.n > c->buf_cap) {
    size_t nb = (size_t)p->h.n * sizeof *c->buf;
    pair *b = pz__realloc(c->a, c->buf, (size_t)c->buf_cap * sizeof *c->buf, nb);
    if (!b) return PZ_ENOMEM;
    c->buf = b;
    c->buf_cap = p->h.n;
  }
  uint32_t n = aggregate(c->ps, p, m->n_items, c->buf);
  if (!n) return PZ_OK;
  if (m->n_users >= UINT32_MAX - 2)
    return pz__fail(PZ_ELIMIT, "too many users for one model");
  int rc = grow64(c->a, (void **)&m->uptr, &m->cap[0], m->n_users + 2ull,
                  sizeof *m->uptr);
  if (!rc)
    rc = grow64(c->a, (void **)&m->uhash, &m->cap[1], m->n_users + 1ull,
                sizeof *m->uhash);
  if (!rc)
    rc = grow64(c->a, (void **)&m->uidx, &m->cap[2], m->nnz + n,
                sizeof *m->uidx);
  if (!rc)
    rc = grow64(c->a, (void **)&m->uval, &m->cap[3], m->nnz + n,
                sizeof *m->uval);
  if (rc) return rc;
  if (!m->n_users) m->uptr[0] = 0;
  pz__uref u;
  pz__uref_make(&u, p->id, p->idlen);
  m->uhash[m->n_users] = u.hash;
  for (uint32_t i = 0; i < n; i++) {
    m->uidx[m->nnz + i] = c->buf[i].item;
    m->uval[m->nnz + i] = c->buf[i].r;
  }
  m->nnz += n;
  m->uptr[++m->n_users] = m->nnz;
  return PZ_OK;
}

/* The item side by a counting sort of the user side. */
static int transpose(const pz__alloc *a, pz__cfmat *m) {
  m->iptr = pz__calloc(a, (size_t)m->n_items + 1, sizeof *m->iptr);
  m->iidx = pz__malloc(a, (size_t)m->nnz * sizeof *m->iidx);
  m->ival = pz__malloc(a, (size_t)m->nnz * sizeof *m->ival);
  if (!m->iptr || !m->iidx || !m->ival) return PZ_ENOMEM;
  for (uint64_t k = 0; k < m->nnz; k++) m->iptr[m->uidx[k] + 1]++;
  for (uint32_t i = 0; i < m->n_items; i++) m->iptr[i + 1] += m->iptr[i];
  for (uint32_t u = 0; u < m->n_users; u++)
    for (uint64_t k = m->uptr[u]; k < m->uptr[u + 1]; k++) {
      uint64_t at = m->iptr[m->uidx[k]]++;
      m->iidx[at] = u;
      m->ival[at] = m->uval[k];
    }
  for (uint32_t i = m->n_items; i > 0; i--) m->iptr[i] = m->iptr[i - 1];
  m->iptr[0] = 0;
  return PZ_OK;
}

int pz__cfmat_build(const pz__alloc *a, pz__profiles *ps, pz__catalog *c,
                    pz__cfmat *m) {
  memset(m, 0, sizeof *m);
  pz__catalog_rdlock(c);
  m->n_items = c->n;
  pz__catalog_unlock(c);
  collect cl = {a, ps, m, NULL, 0};
  int rc = pz__profiles_each(ps, collect_user, &cl);
  pz__free_wipe(a, cl.buf, (size_t)cl.buf_cap * sizeof *cl.buf);
  if (!rc && !m->nnz)
    rc = pz__fail(PZ_ENOTFOUND, "no consented user has any interaction");
  if (!rc) rc = transpose(a, m);
  if (rc) pz__cfmat_free(a, m);
  return rc;
}

void pz__cfmat_free(const pz__alloc *a, pz__cfmat *m) {
  pz__free_wipe(a, m->uptr, (size_t)m->cap[0] * sizeof *m->uptr);
  pz__free_wipe(a, m->uidx, (size_t)m->cap[2] * sizeof *m->uidx);
  pz__free_wipe(a, m->uval, (size_t)m->cap[3] * sizeof *m->uval);
  pz__free_wipe(a, m->uhash, (size_t)m->cap[1] * sizeof *m->uhash);
  if (m->iptr) pz__free(a, m->iptr, ((size_t)m->n_items + 1) * sizeof *m->iptr);
  pz__free_wipe(a, m->iidx, (size_t)m->nnz * sizeof *m->iidx);
  pz__free_wipe(a, m->ival, (size_t)m->nnz * sizeof *m->ival);
  memset(m, 0, sizeof *m);
}
