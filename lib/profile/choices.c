/* A person's stated choices, stored with the profile: one per target,
 * newest wins, expired ones wiped at the next write. What they mean for a
 * ranking is the override module's business. */
#include "profile.h"

#include <string.h>


static void choice_release(const pz__alloc *a, pz__choice *c) {
  pz__free_wipe(a, c->target, (size_t)c->tlen + 1);
  pz__wipe(c, sizeof *c);
}

void pz__choices_free(const pz__alloc *a, pz__choices *ch) {
  if (!ch) return;
  for (uint32_t i = 0; i < ch->n; i++) choice_release(a, &ch->c[i]);
  pz__free_wipe(a, ch->c, (size_t)ch->cap * sizeof *ch->c);
  pz__free_wipe(a, ch, sizeof *ch);
}

size_t pz__choices_bytes(const pz__choices *ch) {
  if (!ch) return 0;
  size_t b = sizeof *ch + (size_t)ch->cap * sizeof *ch->c;
  for (uint32_t i = 0; i < ch->n; i++) b += (size_t)ch->c[i].tlen + 1;
  return b;
}

static bool same_target(const pz__choice *c, int kind, const char *t,
                        size_t len) {
  return pz__choice_on_item(c->kind) == pz__choice_on_item(kind) &&
         c->tlen == len && memcmp(c->target, t, len) == 0;
}

static void drop_at(const pz__alloc *a, pz__choices *ch, uint32_t i) {
  choice_release(a, &ch->c[i]);
  memmove(&ch->c[i], &ch->c[i + 1], (size_t)(ch->n - i - 1) * sizeof *ch->c);
  ch->n--;
  pz__wipe(&ch->c[ch->n], sizeof *ch->c);
}

/* A stored choice goes (ps counts the stored ones). */
static void remove_at(pz__profiles *ps, pz__choices *ch, uint32_t i) {
  atomic_fetch_sub(&ps->n_choices, 1);
  drop_at(ps->a, ch, i);
}

static void drop_expired(pz__profiles *ps, pz__choices *ch, int64_t now) {
  for (uint32_t i = ch->n; i-- > 0;)
    if (!pz__choice_active(&ch->c[i], now)) remove_at(ps, ch, i);
}

static int obtain(const pz__alloc *a, pz__profile *p) {
  if (p->ch) return PZ_OK;
  p->ch = pz__calloc(a, 1, sizeof *p->ch);
  return p->ch ? PZ_OK : PZ_ENOMEM;
}

/* A choice set that holds nothing is freed, so the profile costs what it
 * did before any choice. */
static void tidy(const pz__alloc *a, pz__profile *p) {
  if (p->ch && !p->ch->n && !p->ch->opt_ts) {
    pz__choices_free(a, p->ch);
    p->ch = NULL;
  }
}

int pz__choices_put(pz__profiles *ps, pz__profile *p, const pz__choice *c,
                    uint32_t max, int64_t now) {
  const pz__alloc *a = ps->a;
  char *t = pz__strndup(a, c->target, c->tlen);
  if (!t) return PZ_ENOMEM;
  int rc = obtain(a, p);
  if (rc) {
    pz__free(a, t, (size_t)c->tlen + 1);
    return rc;
  }
  pz__choices *ch = p->ch;
  /* limits count the choices in force besides the one replaced; nothing
   * changes (not even the wiping of expired ones) until they pass */
  uint32_t at = UINT32_MAX, n_live = 0, n_req = 0;
  for (uint32_t i = 0; i < ch->n; i++) {
    const pz__choice *x = &ch->c[i];
    if (same_target(x, c->kind, c->target, c->tlen)) at = i;
    else if (pz__choice_active(x, now)) {
      n_live++;
      n_req += x->kind == PZ__CH_REQUIRE;
    }
  }
  bool counted = false; /* a new target, counted toward limits.choices */
  if (c->kind == PZ__CH_REQUIRE && n_req >= PZ__REQUIRE_MAX)
    rc = pz__fail(PZ_ELIMIT, "at most %d requirements per person",
                  PZ__REQUIRE_MAX);
  else if (n_live >= max)
    rc = pz__fail(PZ_ELIMIT, "at most %u choices per person", max);
  else if (at == UINT32_MAX) {
    /* counted first, so that writers in other shards cannot pass it */
    uint64_t all = atomic_fetch_add(&ps->n_choices, 1);
    counted = true;
    if (pz__over_limit(all, 1, ps->max_choices))
      rc = pz__fail(PZ_ELIMIT,
                    "%llu choices stored, the most limits.choices allows",
                    (unsigned long long)all);
    else
      rc = pz__grow(a, (void **)&ch->c, &ch->cap, ch->n + 1, sizeof *ch->c);
  }
  if (rc) {
    if (counted) atomic_fetch_sub(&ps->n_choices, 1);
    pz__free(a, t, (size_t)c->tlen + 1);
    tidy(a, p);
    return rc;
  }
  /* the replaced choice goes; the new one is the newest, so last */
  if (at != UINT32_MAX) {
    remove_at(ps, ch, at);
    atomic_fetch_add(&ps->n_choices, 1); /* the new one */
  }
  drop_expired(ps, ch, now);
  pz__choice *slot = &ch->c[ch->n++];
  *slot = *c;
  slot->target = t;
  /* a block changes what the person's history may steer: cached serving
   * state built from it goes stale */
  if (c->kind == PZ__CH_BLOCK_ITEM || c->kind == PZ__CH_BLOCK_FEATURE)
    pz__profile_touch(ps, p);
  return PZ_OK;
}

int pz__choices_remove(pz__profiles *ps, pz__profile *p, int kind,
                       const char *target, size_t len) {
  pz__choices *ch = p->ch;
  for (uint32_t i = 0; ch && i < ch->n; i++)
    if (ch->c[i].kind == kind && same_target(&ch->c[i], kind, target, len)) {
      if (kind == PZ__CH_BLOCK_ITEM || kind == PZ__CH_BLOCK_FEATURE)
        pz__profile_touch(ps, p);
      remove_at(ps, ch, i);
      tidy(ps->a, p);
      return PZ_OK;
    }
  return pz__fail(PZ_ENOTFOUND, "no such choice on \"%.*s\"", (int)len,
                  target);
}

void pz__choices_clear(pz__profiles *ps, pz__profile *p) {
  pz__choices *ch = p->ch;
  if (!ch) return;
  if (ch->n) pz__profile_touch(ps, p);
  while (ch->n) remove_at(ps, ch, ch->n - 1);
  tidy(ps->a, p);
}

int pz__choices_opt(pz__profiles *ps, pz__profile *p, bool out, int64_t ts) {
  int rc = obtain(ps->a, p);
  if (rc) return rc;
  p->ch->opted_out = out;
  p->ch->opt_ts = ts > 0 ? ts : 1; /* 0 means "never decided" */
  return PZ_OK;
}

bool pz__profile_personalized(const pz__profiles *ps, const pz__profile *p) {
  if (p && p->ch && p->ch->opted_out) return false;
  return pz__profile_consented(ps, p, PZ__PURPOSE_PERSONALIZATION);
}

/* ---- merge ------------------------------------------------------------- */

static int add_copy(const pz__alloc *a, pz__choices *m, const pz__choice *c) {
  int rc = pz__grow(a, (void **)&m->c, &m->cap, m->n + 1, sizeof *m->c);
  if (rc) return rc;
  char *t = pz__strndup(a, c->target, c->tlen);
  if (!t) return PZ_ENOMEM;
  m->c[m->n] = *c;
  m->c[m->n++].target = t;
  return PZ_OK;
}

int pz__choices_merge(const pz__alloc *a, pz__choices **out,
                      const pz__choices *d, const pz__choices *s,
                      uint32_t max) {
  *out = NULL;
  if (!d && !s) return PZ_OK;
  pz__choices *m = pz__calloc(a, 1, sizeof *m);
  if (!m) return PZ_ENOMEM;
  const pz__choices *both[2] = {d, s};
  int rc = PZ_OK;
  /* a choice survives unless the other side has a newer one on its
   * target (ties: the account's, d, wins) */
  for (int w = 0; !rc && w < 2; w++) {
    const pz__choices *me = both[w], *other = both[1 - w];
    for (uint32_t i = 0; !rc && me && i < me->n; i++) {
      const pz__choice *c = &me->c[i];
      bool beaten = false;
      for (uint32_t j = 0; other && j < other->n && !beaten; j++) {
        const pz__choice *o = &other->c[j];
        if (same_target(o, c->kind, c->target, c->tlen))
          beaten = o->created > c->created || (o->created == c->created && w);
      }
      if (!beaten) rc = add_copy(a, m, c);
    }
  }
  if (!rc) { /* oldest first, as the list reads; the newest survive a cap */
    for (uint32_t i = 1; i < m->n; i++) {
      pz__choice x = m->c[i];
      uint32_t j = i;
      while (j > 0 && m->c[j - 1].created > x.created) {
        m->c[j] = m->c[j - 1];
        j--;
      }
      m->c[j] = x;
    }
    /* the caps of one person hold for the merged one: the newest
     * requirements and the newest choices stay */
    uint32_t n_req = 0;
    for (uint32_t i = m->n; i-- > 0;)
      if (m->c[i].kind == PZ__CH_REQUIRE && ++n_req > PZ__REQUIRE_MAX)
        drop_at(a, m, i);
    while (m->n > max) drop_at(a, m, 0);
    const pz__choices *od = d && d->opt_ts ? d : NULL;
    const pz__choices *os = s && s->opt_ts ? s : NULL;
    const pz__choices *win = !od ? os : !os ? od : os->opt_ts > od->opt_ts ? os : od;
    if (win) {
      m->opted_out = win->opted_out;
      m->opt_ts = win->opt_ts;
    }
  }
  if (rc || (!m->n && !m->opt_ts)) {
    pz__choices_free(a, m);
    m = NULL;
  }
  *out = m;
  return rc;
}

/* ---- export ------------------------------------------------------------- */

static const char *const kind_names[] = {"",        "block_item",
                                         "block_feature", "require",
                                         "pin",     "adjust"};

void pz__choices_export(pz__buf *b, const pz__choices *ch, int64_t now) {
  pz__buf_puts(b, "\"choices\":[");
  for (uint32_t i = 0; ch && i < ch->n; i++) {
    const pz__choice *c = &ch->c[i];
    if (i) pz__buf_puts(b, ",");
    pz__buf_printf(b, "{\"kind\":\"%s\",\"target\":", kind_names[c->kind]);
    pz__buf_json_str(b, c->target, c->tlen);
    if (c->kind == PZ__CH_ADJUST) {
      pz__buf_puts(b, ",\"factor\":");
      pz__buf_json_num(b, c->factor);
    }
    if (c->kind == PZ__CH_PIN && c->pos >= 0)
      pz__buf_printf(b, ",\"position\":%d", c->pos);
    pz__buf_printf(b, ",\"created\":%lld", (long long)c->created);
    if (c->expires)
      pz__buf_printf(b, ",\"expires\":%lld,\"expired\":%s",
                     (long long)c->expires,
                     pz__choice_active(c, now) ? "false" : "true");
    pz__buf_puts(b, "}");
  }
  pz__buf_puts(b, "],\"opt_out\":");
  if (ch && ch->opt_ts)
    pz__buf_printf(b, "{\"opted_out\":%s,\"ts\":%lld}",
                   ch->opted_out ? "true" : "false", (long long)ch->opt_ts);
  else
    pz__buf_puts(b, "null");
}
