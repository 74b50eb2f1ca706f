/* Public profile functions: each validates, takes the locks in the one
 * order (catalogue, then shards by number) and calls the profile module. */
#include "engine.h"
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_name(const char *name, const char *what, size_t *len) {
  return pz__check_str(name, PZ_ID_MAX, what, len);
}

/* Add (sign +1) or give back (sign -1) the share of item popularity of
 * every event in p's history (catalogue lock held). */
static void share_popularity(pz_engine *e, const pz__profile *p, int sign) {
  pz__hist_it at = pz__hist_iter(&p->h);
  pz__event ev;
  uint8_t type;
  while (pz__hist_next(&at, &ev, &type)) {
    double amount = pz__profile_event_amount(&e->pcfg, type, ev.value);
    pz__catalog_pop_add(&e->catalog, ev.item, ev.ts, sign * amount, sign);
  }
}

static int no_consent(const pz_engine *e, const char *user, bool opted_out) {
  if (e->pcfg.drop_without_consent) return PZ_OK;
  if (opted_out)
    return pz__fail(PZ_ECONSENT, "user \"%s\" has opted out of personalization",
                    user);
  return pz__fail(PZ_ECONSENT,
                  "user \"%s\" has not consented to personalization", user);
}

/* An event checked and resolved, before any lock. */
typedef struct trk {
  pz__uref u;
  const char *user, *item;
  size_t ilen;
  int type;
  double value;
  int64_t ts;
} trk;

static int track_prepare(pz_engine *e, trk *t, const char *user,
                         const char *item, const char *event_type,
                         double value, int64_t ts_ms, int64_t now) {
  size_t tlen;
  int rc = pz__engine_user(&t->u, user);
  if (!rc) rc = pz__check_str(item, PZ_ID_MAX, "item id", &t->ilen);
  if (!rc) rc = check_name(event_type, "event type", &tlen);
  if (!rc) rc = pz__check_finite(value, "value");
  if (!rc && fabs(value) > PZ__VALUE_MAX)
    rc = pz__fail(PZ_ERANGE, "value %g is beyond +/-%g", value, PZ__VALUE_MAX);
  if (!rc && ts_ms < 0)
    rc = pz__fail(PZ_EINVAL, "timestamp %lld is negative", (long long)ts_ms);
  if (rc) return rc;
  t->user = user;
  t->item = item;
  t->value = value;
  t->ts = ts_ms ? ts_ms : (now > 0 ? now : 0);
  /* a year past the clock is a unit mistake (microseconds?) or a broken
   * clock; such an event would outweigh every real one forever */
  if (t->ts > now + PZ__FUTURE_MAX_MS)
    return pz__fail(PZ_ERANGE,
                    "timestamp %lld is more than 366 days after the engine's "
                    "clock",
                    (long long)t->ts);
  t->type = pz__profile_event_type(&e->pcfg, event_type);
  if (t->type < 0)
    return pz__fail(PZ_ENOTFOUND, "unknown event type \"%s\"", event_type);
  return PZ_OK;
}

/* The locks a run of events holds: the catalogue's read lock, one shard's
 * write lock, and the profile found under it. */
typedef struct held {
  bool cat;
  uint32_t shard; /* PZ__SHARDS: none */
  pz__profile *p; /* the last event's profile (under the shard lock) */
  uint64_t hash;
} held;

static void held_release(pz_engine *e, held *h) {
  if (h->shard < PZ__SHARDS) pz__shard_unlock(&e->profiles, h->shard);
  if (h->cat) pz__catalog_unlock(&e->catalog);
  h->cat = false;
  h->shard = PZ__SHARDS;
  h->p = NULL;
}

/* One event, taking (or keeping) the locks in h. The rare steps that need
 * the catalogue's write lock (a new item, moving the popularity landmark)
 * drop every lock, do their work, and start over, so the lock order
 * (catalogue, then shard) always holds. */
static int track_one(pz_engine *e, const trk *t, held *h) {
  pz__catalog *c = &e->catalog;
  pz__profiles *ps = &e->profiles;
  bool new_item = false;
  uint32_t idx;
  int rc;
  for (;;) {
    if (!h->cat) {
      pz__catalog_rdlock(c);
      h->cat = true;
    }
    if (!pz__catalog_pop_ready(c, t->ts)) {
      held_release(e, h);
      pz__catalog_pop_prepare(c, t->ts);
      continue;
    }
    idx = pz__catalog_find(c, t->item, t->ilen);
    if (idx != PZ__NO_ITEM) break;
    held_release(e, h);
    if (e->refuse_unknown_items)
      return pz__fail(PZ_ENOTFOUND, "no item \"%s\"", t->item);
    /* consent first, so a refused event creates nothing, not even an item */
    pz__shard_rdlock(ps, t->u.shard);
    const pz__profile *q = pz__profiles_find(ps, &t->u);
    bool ok = pz__profile_personalized(ps, q);
    bool out = q && q->ch && q->ch->opted_out;
    pz__shard_unlock(ps, t->u.shard);
    if (!ok) return no_consent(e, t->user, out);
    pz__op_created_item(e); /* creations reach the journal in order */
    if ((rc = pz__catalog_ensure(c, t->item, t->ilen, true, &idx, &new_item)))
      return rc;
  }

  if (h->shard != t->u.shard) {
    if (h->shard < PZ__SHARDS) pz__shard_unlock(ps, h->shard);
    pz__shard_wrlock(ps, t->u.shard);
    h->shard = t->u.shard;
    h->p = NULL;
  }
  /* a run of one user's events: one lookup */
  pz__profile *p = h->p && h->hash == t->u.hash && h->p->idlen == t->u.len &&
                           memcmp(h->p->id, t->u.id, t->u.len) == 0
                       ? h->p
                       : pz__profiles_find(ps, &t->u);
  bool created = false;
  rc = PZ_OK;
  if (!pz__profile_personalized(ps, p)) {
    rc = no_consent(e, t->user, p && p->ch && p->ch->opted_out);
    if (rc == PZ_OK) rc = 1; /* dropped: record nothing, report success */
  } else if (!p) {
    rc = pz__profiles_obtain(ps, &t->u, &p, &created);
  }
  if (!rc) {
    const pz__item *it = c->items[idx];
    rc = pz__profile_track(ps, p, idx, it->f, it->nf, (uint32_t)t->type,
                           t->value, t->ts);
    if (!rc)
      pz__catalog_pop_add(c, idx, t->ts,
                          pz__profile_event_amount(&e->pcfg,
                                                   (uint32_t)t->type,
                                                   t->value),
                          1);
  }
  if (rc && created) {
    pz__profiles_remove(ps, &t->u);
    p = NULL;
  }
  h->p = p;
  h->hash = t->u.hash;
  if (rc && new_item) {
    /* nothing recorded: not even the item the event would have created */
    held_release(e, h);
    pz__catalog_unmake(c, idx);
  }
  return rc == 1 ? PZ_OK : rc;
}

static int track_apply(pz_engine *e, const char *user, const char *item,
                       const char *event_type, double value, int64_t ts_ms) {
  PZ__ENGINE_CHECK(e);
  trk t;
  int rc = track_prepare(e, &t, user, item, event_type, value, ts_ms,
                         pz__engine_clock(e));
  if (rc) return rc;
  held h = {false, PZ__SHARDS, NULL, 0};
  rc = track_one(e, &t, &h);
  held_release(e, &h);
  return rc;
}

/* Events in order, locks kept across a run; *done: how many were applied.
 * The locks are let go every BATCH_HOLD events, so a long batch does not
 * keep the catalogue's writers (and, behind them, its readers) waiting.
 *
 * A batch runs with every other writer excluded (the engine's order lock
 * held exclusively: ops.c), so it may look ahead without locks: events
 * are checked AHEAD events early, and the memory the coming events will
 * touch (their person's id slot, profile, interest vector and history
 * slot, their item) is prefetched in stages, several events at once, so
 * that each event does not wait for its own cache misses one after the
 * other. A refused event stops the batch when it is reached, with its
 * message made again. */
#define BATCH_HOLD 256u
#define AHEAD 8u
static int track_batch_apply(pz_engine *e, const pz_event *ev, size_t n,
                             size_t *done) {
  *done = 0;
  int64_t now = pz__engine_clock(e);
  held h = {false, PZ__SHARDS, NULL, 0};
  trk ring[AHEAD];
  int ok[AHEAD];
  uint64_t ih[AHEAD];
  size_t i;
  int rc = PZ_OK;
  for (i = 0; i < n && i < AHEAD - 1; i++) {
    ok[i] = track_prepare(e, &ring[i], ev[i].user, ev[i].item,
                          ev[i].event_type, ev[i].value, ev[i].ts_ms, now);
    if (!ok[i]) ih[i] = pz__hash_bytes(ring[i].item, ring[i].ilen, 0);
  }
  for (i = 0; i < n && !rc; i++) {
    size_t k = i + AHEAD - 1; /* enters the window */
    if (k < n) {
      size_t r = k % AHEAD;
      ok[r] = track_prepare(e, &ring[r], ev[k].user, ev[k].item,
                            ev[k].event_type, ev[k].value, ev[k].ts_ms, now);
      if (!ok[r]) {
        ih[r] = pz__hash_bytes(ring[r].item, ring[r].ilen, 0);
        pz__profiles_prefetch(&e->profiles, &ring[r].u, 0);
        pz__catalog_prefetch(&e->catalog, ih[r], 0);
      }
    }
    static const unsigned dist[] = {6, 4, 2};
    for (int st = 0; st < 3; st++) {
      size_t q = i + dist[st];
      if (q < n && q < i + AHEAD && !ok[q % AHEAD]) {
        pz__profiles_prefetch(&e->profiles, &ring[q % AHEAD].u, st + 1);
        if (st < 2) pz__catalog_prefetch(&e->catalog, ih[q % AHEAD], st + 1);
      }
    }
    size_t r = i % AHEAD;
    if (ok[r]) { /* the message again, for this event */
      trk t;
      rc = track_prepare(e, &t, ev[i].user, ev[i].item, ev[i].event_type,
                         ev[i].value, ev[i].ts_ms, now);
      if (!rc) rc = ok[r];
    } else {
      rc = track_one(e, &ring[r], &h);
    }
    if (!rc && i % BATCH_HOLD == BATCH_HOLD - 1) held_release(e, &h);
  }
  held_release(e, &h);
  if (rc) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s", pz_errmsg());
    pz__fail(rc, "event %zu: %s", i - 1, msg);
    *done = i - 1;
    return rc;
  }
  *done = n;
  return PZ_OK;
}

/* ---- attributes ------------------------------------------------------- */

static int set_attr(pz_engine *e, const char *user, const char *name, int type,
                    double num, int64_t ts, const char *str) {
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  size_t nlen, slen = 0;
  int rc = pz__engine_user(&u, user);
  if (!rc) rc = check_name(name, "attribute name", &nlen);
  if (!rc && type == PZ_ATTR_STRING) {
    if (!str) return pz__fail(PZ_EINVAL, "value is NULL");
    slen = strnlen(str, PZ__ATTR_STR_MAX + 1);
    if (slen > PZ__ATTR_STR_MAX)
      return pz__fail(PZ_EINVAL, "value is longer than %d bytes",
                      PZ__ATTR_STR_MAX);
    if (!pz__utf8_valid(str, slen))
      return pz__fail(PZ_EINVAL, "value is not valid UTF-8");
  }
  if (rc) return rc;
  pz__shard_wrlock(&e->profiles, u.shard);
  pz__profile *p;
  bool created;
  rc = pz__profiles_obtain(&e->profiles, &u, &p, &created);
  if (!rc) rc = pz__profile_attr_set(&e->profiles, p, name, nlen, type, num,
                                     ts, str, slen);
  if (rc && created) pz__profiles_remove(&e->profiles, &u);
  pz__shard_unlock(&e->profiles, u.shard);
  return rc;
}

static int set_string_apply(pz_engine *e, const char *user,
                                 const char *name, const char *value) {
  return set_attr(e, user, name, PZ_ATTR_STRING, 0, 0, value);
}

static int set_number_apply(pz_engine *e, const char *user,
                                 const char *name, double value) {
  int rc = pz__check_finite(value, "value");
  return rc ? rc : set_attr(e, user, name, PZ_ATTR_NUMBER, value, 0, NULL);
}

static int set_bool_apply(pz_engine *e, const char *user,
                               const char *name, int value) {
  if (value != 0 && value != 1)
    return pz__fail(PZ_EINVAL, "a bool attribute must be 0 or 1, not %d",
                    value);
  return set_attr(e, user, name, PZ_ATTR_BOOL, value, 0, NULL);
}

static int set_timestamp_apply(pz_engine *e, const char *user,
                                    const char *name, int64_t ms) {
  return set_attr(e, user, name, PZ_ATTR_TIMESTAMP, 0, ms, NULL);
}

/* Find an attribute under the shard read lock; the caller unlocks. */
static int get_attr(pz_engine *e, const char *user, const char *name,
                    pz__uref *u, const pz__attr **out) {
  PZ__ENGINE_CHECK(e);
  size_t nlen;
  int rc = pz__engine_user(u, user);
  if (!rc) rc = check_name(name, "attribute name", &nlen);
  if (rc) return rc;
  pz__shard_rdlock(&e->profiles, u->shard);
  pz__profile *p = pz__profiles_find(&e->profiles, u);
  *out = p ? pz__profile_attr(p, name, nlen) : NULL;
  if (*out) return PZ_OK;
  pz__shard_unlock(&e->profiles, u->shard);
  if (!p) return pz__fail(PZ_ENOTFOUND, "no user \"%s\"", user);
  return pz__fail(PZ_ENOTFOUND, "user \"%s\" has no attribute \"%s\"", user,
                  name);
}

static int wrong_type(const char *name, int want) {
  static const char *const names[] = {"", "string", "number", "bool",
                                      "timestamp"};
  return pz__fail(PZ_ETYPE, "attribute \"%s\" is not a %s", name, names[want]);
}

PZ_API int pz_profile_get_type(int *type_out, pz_engine *e, const char *user,
                               const char *name) {
  if (!type_out) return pz__fail(PZ_EINVAL, "type_out is NULL");
  pz__uref u;
  const pz__attr *t;
  int rc = get_attr(e, user, name, &u, &t);
  if (rc) return rc;
  *type_out = t->type;
  pz__shard_unlock(&e->profiles, u.shard);
  return PZ_OK;
}

PZ_API int pz_profile_get_string(char *buf, size_t cap, size_t *len_out,
                                 pz_engine *e, const char *user,
                                 const char *name) {
  if (!len_out) return pz__fail(PZ_EINVAL, "len_out is NULL");
  if (!buf && cap) return pz__fail(PZ_EINVAL, "buf is NULL");
  pz__uref u;
  const pz__attr *t;
  int rc = get_attr(e, user, name, &u, &t);
  if (rc) return rc;
  if (t->type != PZ_ATTR_STRING) {
    rc = wrong_type(name, PZ_ATTR_STRING);
  } else {
    *len_out = t->slen;
    if (cap <= t->slen)
      rc = pz__fail(PZ_EBUFS, "%u bytes and a NUL do not fit in %zu",
                    t->slen, cap);
    else
      memcpy(buf, pz__attr_str(t), (size_t)t->slen + 1);
  }
  pz__shard_unlock(&e->profiles, u.shard);
  return rc;
}

/* The scalar getters differ only in type and where the value goes. */
static int get_scalar(pz_engine *e, const char *user, const char *name,
                      int type, double *num, int *b, int64_t *ts) {
  pz__uref u;
  const pz__attr *t;
  int rc = get_attr(e, user, name, &u, &t);
  if (rc) return rc;
  if (t->type != type) rc = wrong_type(name, type);
  else if (num) *num = t->v.num;
  else if (b) *b = t->v.b;
  else *ts = t->v.ts;
  pz__shard_unlock(&e->profiles, u.shard);
  return rc;
}

PZ_API int pz_profile_get_number(double *out, pz_engine *e, const char *user,
                                 const char *name) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  return get_scalar(e, user, name, PZ_ATTR_NUMBER, out, NULL, NULL);
}

PZ_API int pz_profile_get_bool(int *out, pz_engine *e, const char *user,
                               const char *name) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  return get_scalar(e, user, name, PZ_ATTR_BOOL, NULL, out, NULL);
}

PZ_API int pz_profile_get_timestamp(int64_t *out, pz_engine *e,
                                    const char *user, const char *name) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  return get_scalar(e, user, name, PZ_ATTR_TIMESTAMP, NULL, NULL, out);
}

static int remove_attribute_apply(pz_engine *e, const char *user,
                                       const char *name) {
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  size_t nlen;
  int rc = pz__engine_user(&u, user);
  if (!rc) rc = check_name(name, "attribute name", &nlen);
  if (rc) return rc;
  pz__shard_wrlock(&e->profiles, u.shard);
  pz__profile *p = pz__profiles_find(&e->profiles, &u);
  rc = p ? pz__profile_attr_remove(&e->profiles, p, name, nlen)
         : pz__fail(PZ_ENOTFOUND, "no user \"%s\"", user);
  pz__shard_unlock(&e->profiles, u.shard);
  return rc;
}

/* ---- consent ---------------------------------------------------------- */

static int purpose_of(const pz_engine *e, const char *purpose, int *out) {
  size_t len;
  int rc = check_name(purpose, "purpose", &len);
  if (rc) return rc;
  *out = pz__profile_purpose(&e->pcfg, purpose);
  if (*out < 0) return pz__fail(PZ_ENOTFOUND, "unknown purpose \"%s\"", purpose);
  return PZ_OK;
}

static int set_consent_apply(pz_engine *e, const char *user,
                                  const char *purpose, int granted) {
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  int pi, rc = pz__engine_user(&u, user);
  if (!rc) rc = purpose_of(e, purpose, &pi);
  if (!rc && granted != 0 && granted != 1)
    rc = pz__fail(PZ_EINVAL, "granted must be 0 or 1, not %d", granted);
  if (rc) return rc;
  int64_t now = pz__engine_clock(e);
  bool withdraw = pi == PZ__PURPOSE_PERSONALIZATION && !granted;
  if (withdraw) pz__engine_derived_wrlock(e);
  pz__catalog_rdlock(&e->catalog);
  pz__shard_wrlock(&e->profiles, u.shard);
  pz__profile *p;
  bool created;
  rc = pz__profiles_obtain(&e->profiles, &u, &p, &created);
  if (!rc) rc = pz__profile_consent_set(&e->profiles, p, pi, granted, now);
  if (!rc && withdraw) {
    /* withdrawn: behavioural data may no longer be processed, nor what
     * was derived from it */
    share_popularity(e, p, -1);
    pz__profile_clear_behaviour(&e->profiles, p);
    pz__engine_forget(e, &u, NULL);
  }
  if (rc && created) pz__profiles_remove(&e->profiles, &u);
  pz__shard_unlock(&e->profiles, u.shard);
  pz__catalog_unlock(&e->catalog);
  if (withdraw) pz__engine_derived_unlock(e);
  return rc;
}

PZ_API int pz_profile_get_consent(int *granted_out, pz_engine *e,
                                  const char *user, const char *purpose) {
  if (!granted_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  int pi, rc = pz__engine_user(&u, user);
  if (!rc) rc = purpose_of(e, purpose, &pi);
  if (rc) return rc;
  pz__shard_rdlock(&e->profiles, u.shard);
  *granted_out = pz__profile_consented(
      &e->profiles, pz__profiles_find(&e->profiles, &u), pi);
  pz__shard_unlock(&e->profiles, u.shard);
  return PZ_OK;
}

/* ---- counts ----------------------------------------------------------- */

PZ_API int pz_profile_event_count(size_t *n_out, pz_engine *e,
                                  const char *user) {
  if (!n_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  int rc = pz__engine_user(&u, user);
  if (rc) return rc;
  pz__shard_rdlock(&e->profiles, u.shard);
  pz__profile *p = pz__profiles_find(&e->profiles, &u);
  if (p) *n_out = p->h.n;
  pz__shard_unlock(&e->profiles, u.shard);
  return p ? PZ_OK : pz__fail(PZ_ENOTFOUND, "no user \"%s\"", user);
}

PZ_API int pz_profile_count(size_t *n_out, pz_engine *e) {
  if (!n_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  *n_out = pz__profiles_count(&e->profiles);
  return PZ_OK;
}

/* ---- merge and erase --------------------------------------------------- */

static int merge_apply(pz_engine *e, const char *from, const char *into) {
  PZ__ENGINE_CHECK(e);
  pz__uref uf, ui;
  int rc = pz__engine_user(&uf, from);
  if (!rc) rc = pz__engine_user(&ui, into);
  if (rc) return rc;
  if (uf.len == ui.len && memcmp(from, into, uf.len) == 0)
    return pz__fail(PZ_EINVAL, "cannot merge user \"%s\" into itself", from);
  uint32_t lo = PZ__MIN(uf.shard, ui.shard), hi = PZ__MAX(uf.shard, ui.shard);
  pz__engine_derived_wrlock(e);
  pz__catalog_rdlock(&e->catalog);
  pz__shard_wrlock(&e->profiles, lo);
  if (hi != lo) pz__shard_wrlock(&e->profiles, hi);
  pz__profile *src = pz__profiles_find(&e->profiles, &uf), *dst = NULL;
  bool created = false;
  if (!src) rc = pz__fail(PZ_ENOTFOUND, "no user \"%s\"", from);
  if (!rc) rc = pz__profiles_obtain(&e->profiles, &ui, &dst, &created);
  bool keep = true;
  if (!rc) {
    keep = pz__profile_merge_consented(&e->profiles, dst, src);
    if (!keep) { /* neither history survives: give back its popularity */
      share_popularity(e, src, -1);
      share_popularity(e, dst, -1);
    }
    rc = pz__profile_merge(&e->profiles, dst, src, e->ocfg.max_choices);
    if (rc && !keep) {
      share_popularity(e, src, +1);
      share_popularity(e, dst, +1);
    }
  }
  if (!rc) {
    pz__profiles_remove(&e->profiles, &uf);
    if (keep && !pz__profile_personalized(&e->profiles, dst)) {
      /* the merged person is opted out: out of every derived model */
      pz__engine_forget(e, &uf, NULL);
      pz__engine_forget(e, &ui, NULL);
    } else if (keep) { /* the id "from" is gone; its data lives on under "into" */
      pz__engine_forget(e, &uf, &ui);
    } else { /* both histories were dropped, and all derived from them */
      pz__engine_forget(e, &uf, NULL);
      pz__engine_forget(e, &ui, NULL);
    }
  } else if (created) {
    pz__profiles_remove(&e->profiles, &ui);
  }
  if (hi != lo) pz__shard_unlock(&e->profiles, hi);
  pz__shard_unlock(&e->profiles, lo);
  pz__catalog_unlock(&e->catalog);
  pz__engine_derived_unlock(e);
  return rc;
}

static int erase_apply(pz_engine *e, const char *user) {
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  int rc = pz__engine_user(&u, user);
  if (rc) return rc;
  /* the profile and everything derived from it, in one critical section */
  pz__engine_derived_wrlock(e);
  pz__catalog_rdlock(&e->catalog);
  pz__shard_wrlock(&e->profiles, u.shard);
  pz__profile *p = pz__profiles_find(&e->profiles, &u);
  if (p) {
    share_popularity(e, p, -1);
    pz__profiles_remove(&e->profiles, &u);
    pz__engine_forget(e, &u, NULL);
    /* and what the last requests left in the pooled scratch memory */
    pz__scratch_pool_wipe(&e->pool);
  } else {
    rc = pz__fail(PZ_ENOTFOUND, "no user \"%s\"", user);
  }
  pz__shard_unlock(&e->profiles, u.shard);
  pz__catalog_unlock(&e->catalog);
  pz__engine_derived_unlock(e);
  return rc;
}

/* ---- reading out --------------------------------------------------------- */

PZ_API int pz_profile_export(char *buf, size_t cap, size_t *len_out,
                             pz_engine *e, const char *user) {
  if (!len_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  if (!buf && cap) return pz__fail(PZ_EINVAL, "buf is NULL");
  pz__uref u;
  int rc = pz__engine_user(&u, user);
  if (rc) return rc;
  int64_t now = pz__engine_clock(e);
  pz__buf b;
  pz__buf_init(&b, &e->alloc);
  pz__catalog_rdlock(&e->catalog);
  pz__shard_rdlock(&e->profiles, u.shard);
  pz__profile *p = pz__profiles_find(&e->profiles, &u);
  rc = p ? pz__profile_export(&e->profiles, p, &e->catalog, now, &b)
         : pz__fail(PZ_ENOTFOUND, "no user \"%s\"", user);
  pz__shard_unlock(&e->profiles, u.shard);
  pz__catalog_unlock(&e->catalog);
  if (!rc) {
    *len_out = b.len;
    if (cap <= b.len)
      rc = pz__fail(PZ_EBUFS, "the export needs %zu bytes and a NUL", b.len);
    else
      memcpy(buf, b.p, b.len + 1);
  }
  pz__buf_free(&b);
  return rc;
}

/* A pz_interests is a pz_list (feature, score) under its own name. */
#define AS_LIST(l) ((const pz_list *)(const void *)(l))

PZ_API int pz_profile_interests(pz_interests **out, pz_engine *e,
                                const char *user, size_t k, int64_t now_ms) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  PZ__ENGINE_CHECK(e);
  pz__uref u;
  int64_t now;
  int rc = pz__engine_user(&u, user);
  if (!rc && k == 0) rc = pz__fail(PZ_EINVAL, "k is 0");
  if (!rc && k > 10000)
    rc = pz__fail(PZ_ERANGE, "k must be at most 10000, not %zu", k);
  if (!rc) rc = pz__engine_time(e, now_ms, &now);
  if (rc) return rc;
  const pz__alloc *a = &e->alloc;
  size_t per = sizeof(uint32_t) * 2 + sizeof(double) + sizeof(float);
  char *tmp = pz__malloc(a, k * per);
  if (!tmp) return PZ_ENOMEM;
  uint32_t *idx = (uint32_t *)tmp;
  uint32_t *tid = idx + k;
  double *score = (double *)(tid + k);
  float *tsc = (float *)(score + k);
  pz__catalog_rdlock(&e->catalog);
  pz__shard_rdlock(&e->profiles, u.shard);
  pz__profile *p = pz__profiles_find(&e->profiles, &u);
  uint32_t n = 0;
  if (!p) rc = pz__fail(PZ_ENOTFOUND, "no user \"%s\"", user);
  else
    n = pz__profile_top_interests(&e->profiles, p, &e->catalog, now,
                                  (uint32_t)k, idx, score, tsc, tid);
  pz__shard_unlock(&e->profiles, u.shard);
  pz__listb b;
  pz__listb_init(&b, a);
  for (uint32_t j = 0; !rc && j < n; j++) {
    const pz__fname *f = pz__catalog_fname(&e->catalog, idx[j]);
    pz__listb_add(&b, f->text, f->len, score[j]);
  }
  pz__catalog_unlock(&e->catalog);
  pz__free(a, tmp, k * per);
  if (rc) {
    pz__listb_free(&b);
    return rc;
  }
  pz_list *l;
  if ((rc = pz__listb_finish(&b, &l))) return rc;
  *out = (pz_interests *)(void *)l;
  return PZ_OK;
}

PZ_API size_t pz_interests_count(const pz_interests *l) {
  return pz_list_count(AS_LIST(l));
}

PZ_API const char *pz_interests_feature(const pz_interests *l, size_t i) {
  return pz_list_text(AS_LIST(l), i);
}

PZ_API double pz_interests_score(const pz_interests *l, size_t i) {
  return pz_list_value(AS_LIST(l), i);
}

PZ_API void pz_interests_free(pz_interests *l) {
  pz_list_free((pz_list *)(void *)l);
}

/* ---- entry points into the table of writes (ops.h) ---- */

int pz__ap_track(pz_engine *e, const pz__arg *a) {
  return track_apply(e, a[0].s, a[1].s, a[2].s, a[3].f, a[4].i);
}

PZ_API int pz_track(pz_engine *e, const char *user, const char *item,
                    const char *event_type, double value, int64_t ts_ms) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(item), PZ__STR(event_type), PZ__F64(value),
                 PZ__I64(ts_ms)};
  return pz__op_call(e, PZ__OP_TRACK, a);
}

int pz__ap_track_batch(pz_engine *e, const pz__arg *a) {
  size_t done;
  return track_batch_apply(e, a[0].ev, a[0].n, a[0].done ? a[0].done : &done);
}

PZ_API int pz_track_batch(pz_engine *e, const pz_event *events, size_t n,
                          size_t *applied_out) {
  size_t done = 0;
  if (applied_out) *applied_out = 0;
  PZ__ENGINE_CHECK(e);
  if (!n) return PZ_OK;
  if (!events) return pz__fail(PZ_EINVAL, "events is NULL");
  if (n > PZ_BATCH_MAX)
    return pz__fail(PZ_ELIMIT, "%zu events; at most %d per batch", n,
                    PZ_BATCH_MAX);
  if (events[0].version < 1 || events[0].version > PZ_EVENT_VERSION)
    return pz__fail(PZ_EVERSION, "event version %u is not 1 .. %d",
                    events[0].version, PZ_EVENT_VERSION);
  pz__arg a[] = {PZ__EVENTS(events, n, &done)};
  int rc = pz__op_call(e, PZ__OP_TRACK_BATCH, a);
  if (applied_out) *applied_out = done;
  return rc;
}

int pz__ap_attr_string(pz_engine *e, const pz__arg *a) {
  return set_string_apply(e, a[0].s, a[1].s, a[2].s);
}

PZ_API int pz_profile_set_string(pz_engine *e, const char *user,
                                 const char *name, const char *value) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(name), PZ__STR(value)};
  return pz__op_call(e, PZ__OP_ATTR_STRING, a);
}

int pz__ap_attr_number(pz_engine *e, const pz__arg *a) {
  return set_number_apply(e, a[0].s, a[1].s, a[2].f);
}

PZ_API int pz_profile_set_number(pz_engine *e, const char *user,
                                 const char *name, double value) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(name), PZ__F64(value)};
  return pz__op_call(e, PZ__OP_ATTR_NUMBER, a);
}

int pz__ap_attr_bool(pz_engine *e, const pz__arg *a) {
  return set_bool_apply(e, a[0].s, a[1].s, (int)a[2].i);
}

PZ_API int pz_profile_set_bool(pz_engine *e, const char *user,
                               const char *name, int value) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(name), PZ__INT(value)};
  return pz__op_call(e, PZ__OP_ATTR_BOOL, a);
}

int pz__ap_attr_timestamp(pz_engine *e, const pz__arg *a) {
  return set_timestamp_apply(e, a[0].s, a[1].s, a[2].i);
}

PZ_API int pz_profile_set_timestamp(pz_engine *e, const char *user,
                                    const char *name, int64_t ms) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(name), PZ__I64(ms)};
  return pz__op_call(e, PZ__OP_ATTR_TIMESTAMP, a);
}

int pz__ap_attr_remove(pz_engine *e, const pz__arg *a) {
  return remove_attribute_apply(e, a[0].s, a[1].s);
}

PZ_API int pz_profile_remove_attribute(pz_engine *e, const char *user,
                                       const char *name) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(name)};
  return pz__op_call(e, PZ__OP_ATTR_REMOVE, a);
}

int pz__ap_consent(pz_engine *e, const pz__arg *a) {
  return set_consent_apply(e, a[0].s, a[1].s, (int)a[2].i);
}

PZ_API int pz_profile_set_consent(pz_engine *e, const char *user,
                                  const char *purpose, int granted) {
  pz__arg a[] = {PZ__STR(user), PZ__STR(purpose), PZ__INT(granted)};
  return pz__op_call(e, PZ__OP_CONSENT, a);
}

int pz__ap_merge(pz_engine *e, const pz__arg *a) {
  return merge_apply(e, a[0].s, a[1].s);
}

PZ_API int pz_profile_merge(pz_engine *e, const char *from, const char *into) {
  pz__arg a[] = {PZ__STR(from), PZ__STR(into)};
  return pz__op_call(e, PZ__OP_MERGE, a);
}

int pz__ap_erase(pz_engine *e, const pz__arg *a) {
  return erase_apply(e, a[0].s);
}

PZ_API int pz_profile_erase(pz_engine *e, const char *user) {
  pz__arg a[] = {PZ__STR(user)};
  return pz__op_call(e, PZ__OP_ERASE, a);
}
