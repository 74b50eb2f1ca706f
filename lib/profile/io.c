/* Profiles in a snapshot: every profile of every shard, in shard and slot
 * order, with the event types and purposes named so that a snapshot can be
 * read under a configuration that lists them in another order. */
#include "profile.h"

#include <math.h>
#include <string.h>

static void save_one(pz__buf *b, const pz__profile *p) {
  pz__buf_str(b, p->id, p->idlen);
  pz__buf_i64(b, p->landmark);
  pz__buf_u32(b, p->iv.n);
  pz__buf_array(b, p->iv.e, p->iv.n, sizeof *p->iv.e);
  pz__buf_u32(b, p->h.n);
  pz__hist_it at = pz__hist_iter(&p->h);
  pz__event ev;
  uint8_t type;
  while (pz__hist_next(&at, &ev, &type)) {
    pz__buf_i64(b, ev.ts);
    pz__buf_u32(b, ev.item);
    pz__buf_f32(b, ev.value);
    pz__buf_u8(b, type);
  }
  pz__buf_u16(b, p->n_attrs);
  for (uint16_t i = 0; i < p->n_attrs; i++) {
    const pz__attr *t = &p->attrs[i];
    pz__buf_str(b, pz__attr_name(t), t->namelen);
    pz__buf_u8(b, t->type);
    switch (t->type) {
    case PZ_ATTR_STRING: pz__buf_str(b, pz__attr_str(t), t->slen); break;
    case PZ_ATTR_NUMBER: pz__buf_f64(b, t->v.num); break;
    case PZ_ATTR_BOOL: pz__buf_u8(b, (uint8_t)(t->v.b != 0)); break;
    default: pz__buf_i64(b, t->v.ts); break;
    }
  }
  pz__buf_u8(b, p->n_consent);
  for (uint8_t i = 0; i < p->n_consent; i++) {
    pz__buf_i64(b, p->consent[i].ts);
    pz__buf_u8(b, p->consent[i].purpose);
    pz__buf_u8(b, p->consent[i].granted);
  }
  const pz__choices *ch = p->ch;
  pz__buf_u8(b, ch != NULL);
  if (!ch) return;
  pz__buf_u8(b, ch->opted_out);
  pz__buf_i64(b, ch->opt_ts);
  pz__buf_u32(b, ch->n);
  for (uint32_t i = 0; i < ch->n; i++) {
    const pz__choice *c = &ch->c[i];
    pz__buf_i64(b, c->created);
    pz__buf_i64(b, c->expires);
    pz__buf_u8(b, c->kind);
    pz__buf_u32(b, (uint32_t)c->pos);
    pz__buf_f64(b, c->factor);
    pz__buf_str(b, c->target, c->tlen);
  }
}

int pz__profiles_save(pz__profiles *ps, pz__buf *b) {
  const pz__profile_cfg *cfg = ps->cfg;
  pz__buf_u32(b, cfg->n_types);
  for (uint32_t i = 0; i < cfg->n_types; i++)
    pz__buf_str(b, cfg->types[i].name, strlen(cfg->types[i].name));
  pz__buf_u32(b, cfg->n_purposes);
  for (uint32_t i = 0; i < cfg->n_purposes; i++)
    pz__buf_str(b, cfg->purposes[i], strlen(cfg->purposes[i]));
  uint64_t n = 0;
  for (int s = 0; s < PZ__SHARDS; s++) n += ps->shards[s].live;
  pz__buf_u64(b, n);
  for (int s = 0; s < PZ__SHARDS; s++) {
    const pz__shard *sh = &ps->shards[s];
    for (uint32_t j = 0; j < sh->n && !b->err; j++)
      if (sh->p[j]) save_one(b, sh->p[j]);
  }
  return b->err;
}

/* ---- restore ------------------------------------------------------------ */

#define NO_NAME 0xff /* a name the configuration lacks */
typedef struct names_map {
  uint8_t type[PZ__MAX_EVENT_TYPES];
  uint8_t purpose[PZ__MAX_PURPOSES];
  char type_name[PZ__MAX_EVENT_TYPES][64];
  char purpose_name[PZ__MAX_PURPOSES][PZ_ID_MAX + 1];
  uint32_t n_types, n_purposes;
} names_map;

/* The snapshot's i-th name -> this configuration's index. */
static int read_names(pz__rd *r, const pz__profile_cfg *cfg, names_map *m) {
  m->n_types = pz__rd_u32(r);
  if (!pz__rd_count(r, m->n_types, 5, PZ__MAX_EVENT_TYPES)) return r->err;
  for (uint32_t i = 0; i < m->n_types; i++) {
    size_t len;
    const char *s = pz__rd_str(r, 63, &len, false, "event type");
    if (!s) return r->err;
    char name[64];
    memcpy(name, s, len);
    name[len] = '\0';
    int k = pz__profile_event_type(cfg, name);
    m->type[i] = k < 0 ? NO_NAME : (uint8_t)k; /* an error once used */
    memcpy(m->type_name[i], name, len + 1);
  }
  m->n_purposes = pz__rd_u32(r);
  if (!pz__rd_count(r, m->n_purposes, 5, PZ__MAX_PURPOSES)) return r->err;
  for (uint32_t i = 0; i < m->n_purposes; i++) {
    size_t len;
    const char *s = pz__rd_str(r, PZ_ID_MAX, &len, false, "purpose");
    if (!s) return r->err;
    char name[PZ_ID_MAX + 1];
    memcpy(name, s, len);
    name[len] = '\0';
    int k = pz__profile_purpose(cfg, name);
    m->purpose[i] = k < 0 ? NO_NAME : (uint8_t)k;
    memcpy(m->purpose_name[i], name, len + 1);
  }
  return r->err;
}

static int read_history(pz__rd *r, pz__profiles *ps, pz__profile *p,
                        const names_map *m, uint32_t n_items) {
  uint32_t n = pz__rd_u32(r);
  const size_t rec = 8 + 4 + 4 + 1;
  if (!pz__rd_count(r, n, rec, UINT32_MAX)) return r->err;
  uint32_t limit = ps->cfg->history_limit;
  uint32_t skip = n > limit ? n - limit : 0;
  for (uint32_t i = 0; i < n; i++) {
    int64_t ts = pz__rd_i64(r);
    uint32_t item = pz__rd_u32(r);
    float value = pz__rd_f32(r);
    uint8_t type = pz__rd_u8(r);
    if (r->err) return r->err;
    if (ts < 0 || ts > PZ__FILE_TIME_MAX || item >= n_items ||
        type >= m->n_types || !isfinite(value) ||
        fabsf(value) > PZ__VALUE_MAX)
      return pz__rd_bad(r, "event %u of user \"%s\" is out of range", i,
                        p->id);
    if (m->type[type] == NO_NAME)
      return pz__fail(PZ_ECONFIG,
                      "the snapshot has events of type \"%s\", which the "
                      "configuration does not define",
                      m->type_name[type]);
    if (i < skip) continue;
    int rc = pz__hist_add(ps->a, &p->h, ts, item, m->type[type], value, limit);
    if (rc) return rc;
  }
  return PZ_OK;
}

static int read_attrs(pz__rd *r, pz__profiles *ps, pz__profile *p) {
  uint16_t n = pz__rd_u16(r);
  if (!pz__rd_count(r, n, 6, PZ__MAX_ATTRS)) return r->err;
  for (uint16_t i = 0; i < n; i++) {
    size_t len, slen = 0;
    const char *name = pz__rd_str(r, PZ_ID_MAX, &len, false, "attribute name");
    uint8_t type = pz__rd_u8(r);
    double num = 0;
    int64_t ts = 0;
    const char *str = NULL;
    switch (type) {
    case PZ_ATTR_STRING:
      str = pz__rd_str(r, PZ__ATTR_STR_MAX, &slen, true, "attribute value");
      break;
    case PZ_ATTR_NUMBER:
      num = pz__rd_f64(r);
      if (!r->err && !isfinite(num))
        return pz__rd_bad(r, "attribute %u is not finite", i);
      break;
    case PZ_ATTR_BOOL:
      num = pz__rd_u8(r);
      if (num > 1) return pz__rd_bad(r, "attribute %u is not a boolean", i);
      break;
    case PZ_ATTR_TIMESTAMP: ts = pz__rd_i64(r); break;
    default: return pz__rd_bad(r, "attribute %u has unknown type %u", i, type);
    }
    if (r->err) return r->err;
    if (pz__profile_attr(p, name, len))
      return pz__rd_bad(r, "attribute \"%.*s\" appears twice", (int)len, name);
    int rc = pz__profile_attr_set(ps, p, name, len, type, num, ts,
                                  str ? str : "", slen);
    if (rc) return rc;
  }
  return PZ_OK;
}

static int read_consent(pz__rd *r, pz__profiles *ps, pz__profile *p,
                        const names_map *m) {
  uint8_t n = pz__rd_u8(r);
  if (!pz__rd_count(r, n, 10, PZ__MAX_PURPOSES)) return r->err;
  for (uint8_t i = 0; i < n; i++) {
    int64_t ts = pz__rd_i64(r);
    uint8_t purpose = pz__rd_u8(r), granted = pz__rd_u8(r);
    if (r->err) return r->err;
    if (purpose >= m->n_purposes || granted > 1)
      return pz__rd_bad(r, "consent %u of user \"%s\" is out of range", i,
                        p->id);
    if (m->purpose[purpose] == NO_NAME)
      return pz__fail(PZ_ECONFIG,
                      "the snapshot has consent to purpose \"%s\", which "
                      "the configuration does not define",
                      m->purpose_name[purpose]);
    for (uint8_t j = 0; j < p->n_consent; j++)
      if (p->consent[j].purpose == m->purpose[purpose])
        return pz__rd_bad(r, "consent of user \"%s\" repeats a purpose",
                          p->id);
    int rc = pz__profile_consent_set(ps, p, m->purpose[purpose], granted, ts);
    if (rc) return rc;
  }
  return PZ_OK;
}

static int read_choices(pz__rd *r, pz__profiles *ps, pz__profile *p,
                        const pz__hashid *hid) {
  uint8_t has = pz__rd_u8(r);
  if (r->err || !has) return r->err;
  if (has != 1) return pz__rd_bad(r, "bad choices flag");
  const pz__alloc *a = ps->a;
  pz__choices *ch = p->ch = pz__calloc(a, 1, sizeof *ch);
  if (!ch) return PZ_ENOMEM;
  uint8_t out = pz__rd_u8(r);
  ch->opt_ts = pz__rd_i64(r);
  uint32_t n = pz__rd_u32(r);
  if (!pz__rd_count(r, n, 34, 10000)) return r->err;
  if (out > 1) return pz__rd_bad(r, "bad opt-out flag");
  ch->opted_out = out;
  if (n && !(ch->c = pz__calloc(a, n, sizeof *ch->c))) return PZ_ENOMEM;
  ch->cap = n;
  uint32_t requires = 0;
  for (uint32_t i = 0; i < n; i++) {
    pz__choice c = {0};
    c.created = pz__rd_i64(r);
    c.expires = pz__rd_i64(r);
    c.kind = pz__rd_u8(r);
    c.pos = (int32_t)pz__rd_u32(r);
    c.factor = pz__rd_f64(r);
    size_t len;
    bool item = pz__choice_on_item(c.kind);
    const char *t = pz__rd_str(r, item ? PZ_ID_MAX : PZ_FEATURE_MAX, &len,
                               false, "choice target");
    if (!t) return r->err;
    if (c.kind < PZ__CH_BLOCK_ITEM || c.kind > PZ__CH_ADJUST ||
        c.pos < -1 || !isfinite(c.factor) || !(c.factor > 0) ||
        c.expires < 0 || (c.kind == PZ__CH_REQUIRE && ++requires > PZ__REQUIRE_MAX))
      return pz__rd_bad(r, "choice %u of user \"%s\" is out of range", i,
                        p->id);
    c.tlen = (uint16_t)len;
    if (!item) {
      int sign;
      pz__feature_hash(hid, t, len, &c.fidx, &sign);
      c.fsign = (int8_t)sign;
    }
    if (!(c.target = pz__strndup(a, t, len))) return PZ_ENOMEM;
    ch->c[ch->n++] = c;
    atomic_fetch_add(&ps->n_choices, 1); /* restores are not limited */
  }
  return PZ_OK;
}

static int restore_all(pz__profiles *ps, pz__rd *r, const pz__hashid *hid,
                       uint32_t n_items, names_map *m);

int pz__profiles_restore(pz__profiles *ps, pz__rd *r, const pz__hashid *hid,
                         uint32_t n_items) {
  names_map *m = pz__calloc(ps->a, 1, sizeof *m);
  if (!m) return PZ_ENOMEM;
  int rc = restore_all(ps, r, hid, n_items, m);
  pz__free(ps->a, m, sizeof *m);
  return rc;
}

static int restore_all(pz__profiles *ps, pz__rd *r, const pz__hashid *hid,
                       uint32_t n_items, names_map *m) {
  int rc = read_names(r, ps->cfg, m);
  if (rc) return rc;
  uint64_t n = pz__rd_u64(r);
  if (!pz__rd_count(r, n, 24, UINT32_MAX)) return r->err;
  for (uint64_t k = 0; k < n; k++) {
    size_t len;
    const char *id = pz__rd_str(r, PZ_ID_MAX, &len, false, "user id");
    int64_t landmark = pz__rd_i64(r);
    uint32_t nv = pz__rd_u32(r);
    if (!id || !pz__rd_count(r, nv, sizeof(pz__ent), UINT32_MAX))
      return r->err;
    if (!PZ__FILE_TIME_OK(landmark))
      return pz__rd_bad(r, "landmark of user \"%.*s\" out of range",
                        (int)len, id);
    const void *iv = pz__rd_array(r, nv, sizeof(pz__ent));
    if (!iv) return r->err;
    pz__uref u;
    pz__uref_make(&u, id, len);
    pz__profile *p;
    bool created;
    if ((rc = pz__profiles_obtain(ps, &u, &p, &created))) return rc;
    if (!created)
      return pz__rd_bad(r, "user \"%.*s\" appears twice", (int)len, id);
    p->landmark = landmark;
    if (nv) {
      if (!(p->iv.e = pz__malloc(ps->a, (size_t)nv * sizeof *p->iv.e)))
        return PZ_ENOMEM;
      memcpy(p->iv.e, iv, (size_t)nv * sizeof *p->iv.e);
      p->iv.n = p->iv.cap = nv;
      /* tracking keeps interests below PZ__FLOAT_SAFE */
      if (!pz__ents_valid(r, p->iv.e, nv, hid->bits, PZ__FLOAT_SAFE,
                          "interests"))
        return r->err;
    }
    if ((rc = read_history(r, ps, p, m, n_items)) ||
        (rc = read_attrs(r, ps, p)) || (rc = read_consent(r, ps, p, m)) ||
        (rc = read_choices(r, ps, p, hid)))
      return rc;
  }
  return r->err;
}
