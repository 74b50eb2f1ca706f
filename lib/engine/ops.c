/* The table of write operations (ops.h): the rows, the generic record
 * encoder and decoder, the journaled call and the replay. */
#include "ops.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define J_NULL UINT32_MAX /* the length of a NULL string */

/* ---- option structs ----------------------------------------------------- */

static int cf_init(void *o, unsigned v) { return pz_cf_options_init(o, v); }
static int cl_init(void *o, unsigned v) {
  return pz_cluster_options_init(o, v);
}

#define FLD(T, k, m) {#m, k, offsetof(T, m)}
static const pz__field cf_fields[] = {
    FLD(pz_cf_options, PZ__F_INT, algorithm),
    FLD(pz_cf_options, PZ__F_INT, weighting),
    FLD(pz_cf_options, PZ__F_U32, neighbours),
    FLD(pz_cf_options, PZ__F_U32, factors),
    FLD(pz_cf_options, PZ__F_U32, iterations),
    FLD(pz_cf_options, PZ__F_U32, cg_steps),
    FLD(pz_cf_options, PZ__F_U32, threads),
    FLD(pz_cf_options, PZ__F_U64, seed),
    FLD(pz_cf_options, PZ__F_F64, regularization),
    FLD(pz_cf_options, PZ__F_F64, alpha),
    FLD(pz_cf_options, PZ__F_F64, bm25_k1),
    FLD(pz_cf_options, PZ__F_F64, bm25_b),
    FLD(pz_cf_options, PZ__F_F64, als_share)};
static const pz__optdesc cf_opts = {
    "pz_cf_options", sizeof(pz_cf_options), PZ_CF_OPTIONS_VERSION, cf_init,
    cf_fields, sizeof cf_fields / sizeof *cf_fields};

static const pz__field cl_fields[] = {
    FLD(pz_cluster_options, PZ__F_U32, k),
    FLD(pz_cluster_options, PZ__F_U64, seed),
    FLD(pz_cluster_options, PZ__F_U32, max_iterations),
    FLD(pz_cluster_options, PZ__F_U32, batch_size)};
static const pz__optdesc cl_opts = {
    "pz_cluster_options", sizeof(pz_cluster_options),
    PZ_CLUSTER_OPTIONS_VERSION, cl_init, cl_fields,
    sizeof cl_fields / sizeof *cl_fields};

/* ---- the table ------------------------------------------------------------ */

#define S PZ__A_STR
#define D PZ__A_DOC
#define F PZ__A_F64
#define I PZ__A_I64
#define N PZ__A_INT
#define U PZ__OP_USER
#define ROW(OP, nm, apis, n, kinds, names, o, fl, fn)                         \
  [PZ__OP_##OP] = {PZ__OP_##OP, nm, apis, n, kinds, names, o, fl, fn}
#define L(...) {__VA_ARGS__}

const pz__oprow pz__ops[PZ__OP_END] = {
    ROW(TRACK, "track", L("pz_track"), 5, L(S, S, S, F, I),
        L("user", "item", "event_type", "value", "ts_ms"), NULL, U,
        pz__ap_track),
    ROW(ATTR_STRING, "attr_string", L("pz_profile_set_string"), 3,
        L(S, S, S), L("user", "name", "value"), NULL, U, pz__ap_attr_string),
    ROW(ATTR_NUMBER, "attr_number", L("pz_profile_set_number"), 3,
        L(S, S, F), L("user", "name", "value"), NULL, U, pz__ap_attr_number),
    ROW(ATTR_BOOL, "attr_bool", L("pz_profile_set_bool"), 3, L(S, S, N),
        L("user", "name", "value"), NULL, U, pz__ap_attr_bool),
    ROW(ATTR_TIMESTAMP, "attr_timestamp", L("pz_profile_set_timestamp"), 3,
        L(S, S, I), L("user", "name", "ms"), NULL, U, pz__ap_attr_timestamp),
    ROW(ATTR_REMOVE, "attr_remove", L("pz_profile_remove_attribute"), 2,
        L(S, S), L("user", "name"), NULL, U, pz__ap_attr_remove),
    ROW(CONSENT, "consent", L("pz_profile_set_consent"), 3, L(S, S, N),
        L("user", "purpose", "granted"), NULL, U, pz__ap_consent),
    ROW(MERGE, "merge", L("pz_profile_merge"), 2, L(S, S),
        L("from", "into"), NULL, U | PZ__OP_WIDE, pz__ap_merge),
    ROW(ERASE, "erase", L("pz_profile_erase"), 1, L(S), L("user"), NULL,
        U | PZ__OP_WIDE, pz__ap_erase),
    ROW(ITEM_PUT, "item_put", L("pz_item_put"), 2, L(S, PZ__A_FEATS),
        L("item", "features"), NULL, 0, pz__ap_item_put),
    ROW(ITEM_REMOVE, "item_remove", L("pz_item_remove"), 1, L(S), L("item"),
        NULL, 0, pz__ap_item_remove),
    ROW(BLOCK_ITEM, "block_item", L("pz_override_block_item"), 3, L(S, S, I),
        L("user", "item", "expires_ms"), NULL, U, pz__ap_block_item),
    ROW(BLOCK_FEATURE, "block_feature", L("pz_override_block_feature"), 3,
        L(S, S, I), L("user", "feature", "expires_ms"), NULL, U,
        pz__ap_block_feature),
    ROW(REQUIRE, "require", L("pz_override_require"), 3, L(S, S, I),
        L("user", "feature", "expires_ms"), NULL, U, pz__ap_require),
    ROW(PIN, "pin", L("pz_override_pin"), 4, L(S, S, N, I),
        L("user", "item", "position", "expires_ms"), NULL, U, pz__ap_pin),
    ROW(ADJUST, "adjust",
        L("pz_override_adjust", "pz_override_more", "pz_override_less"), 4,
        L(S, S, F, I), L("user", "feature", "factor", "expires_ms"), NULL, U,
        pz__ap_adjust),
    ROW(NOT_INTERESTED, "not_interested", L("pz_override_not_interested"), 3,
        L(S, S, I), L("user", "item", "ts_ms"), NULL, U,
        pz__ap_not_interested),
    ROW(OPT_OUT, "opt_out", L("pz_override_opt_out"), 2, L(S, N),
        L("user", "opted_out"), NULL, U, pz__ap_opt_out),
    ROW(CLEAR, "clear", L("pz_override_clear"), 3, L(S, N, S),
        L("user", "kind", "target"), NULL, U, pz__ap_clear),
    ROW(CLEAR_ALL, "clear_all", L("pz_override_clear_all"), 1, L(S),
        L("user"), NULL, U, pz__ap_clear_all),
    ROW(RULES_LOAD, "rules_load", L("pz_override_rules_load"), 1, L(D),
        L("yaml"), NULL, 0, pz__ap_rules_load),
    ROW(SEGMENT_LOAD, "segment_load", L("pz_segment_load"), 1, L(D),
        L("yaml"), NULL, 0, pz__ap_segment_load),
    ROW(CLUSTER_NAME, "cluster_name", L("pz_cluster_set_name"), 2, L(N, S),
        L("cluster", "name"), NULL, PZ__OP_DERIVED, pz__ap_cluster_name),
    ROW(CF_TRAIN, "cf_train", L("pz_cf_train"), 1, L(PZ__A_OPTS),
        L("options"), &cf_opts, PZ__OP_AFTER | PZ__OP_DERIVED,
        pz__ap_cf_train),
    ROW(CLUSTER_TRAIN, "cluster_train", L("pz_cluster_train"), 1,
        L(PZ__A_OPTS), L("options"), &cl_opts, PZ__OP_AFTER | PZ__OP_DERIVED,
        pz__ap_cluster_train),
    ROW(SEGMENT_REFRESH, "segment_refresh", L("pz_segment_refresh"), 0, L(0),
        L(NULL), NULL, PZ__OP_AFTER | PZ__OP_DERIVED, pz__ap_segment_refresh),
    ROW(TRACK_BATCH, "track_batch", L("pz_track_batch"), 1, L(PZ__A_EVENTS),
        L("events"), NULL, PZ__OP_PARTIAL, pz__ap_track_batch),
};

#undef S
#undef D
#undef F
#undef I
#undef N
#undef U

/* ---- encoding --------------------------------------------------------------- */

static void put_bytes(pz__buf *b, const char *p, size_t len) {
  if (!p) {
    pz__buf_u32(b, J_NULL);
    return;
  }
  pz__buf_u32(b, (uint32_t)len);
  pz__buf_put(b, p, len);
  pz__buf_u8(b, 0);
}

static int put_opts(pz__buf *b, const pz__optdesc *d, const void *o) {
  pz__buf_u8(b, o != NULL);
  if (!o) return PZ_OK;
  unsigned v;
  memcpy(&v, o, sizeof v); /* every option struct starts with its version */
  if (v != d->version)
    return pz__fail(PZ_EVERSION, "%s version %u is not %u", d->type, v,
                    d->version);
  const char *p = o;
  for (unsigned i = 0; i < d->n; i++) {
    const char *at = p + d->f[i].off;
    int iv;
    uint32_t u32;
    uint64_t u64;
    double f;
    switch (d->f[i].kind) {
    case PZ__F_INT:
      memcpy(&iv, at, sizeof iv);
      pz__buf_u32(b, (uint32_t)iv);
      break;
    case PZ__F_U32:
      memcpy(&u32, at, sizeof u32);
      pz__buf_u32(b, u32);
      break;
    case PZ__F_U64:
      memcpy(&u64, at, sizeof u64);
      pz__buf_u64(b, u64);
      break;
    default:
      memcpy(&f, at, sizeof f);
      pz__buf_f64(b, f);
      break;
    }
  }
  return PZ_OK;
}

int pz__op_encode(pz__buf *b, const pz__oprow *row, int64_t now,
                  const pz__arg *a) {
  pz__buf_u8(b, row->op);
  pz__buf_i64(b, now);
  for (unsigned i = 0; i < row->nargs; i++) {
    const pz__arg *x = &a[i];
    int rc = PZ_OK;
    switch (row->kind[i]) {
    case PZ__A_STR:
      put_bytes(b, x->s, x->s ? strnlen(x->s, PZ__JREC_MAX + (size_t)1) : 0);
      break;
    case PZ__A_DOC:
      if (x->s && x->n > PZ__JREC_MAX)
        return pz__fail(PZ_ELIMIT,
                        "a journal record of %zu bytes is above the limit "
                        "of 64 MiB; nothing was changed",
                        x->n);
      put_bytes(b, x->s, x->n);
      break;
    case PZ__A_F64: pz__buf_f64(b, x->f); break;
    case PZ__A_I64: pz__buf_i64(b, x->i); break;
    case PZ__A_INT: pz__buf_u32(b, (uint32_t)(int32_t)x->i); break;
    case PZ__A_FEATS:
      if (x->n && !x->sv) return pz__fail(PZ_EINVAL, "features is NULL");
      if (x->n > PZ__ITEM_MAX_FEATURES)
        return pz__fail(PZ_ELIMIT, "%zu features; at most %d per item", x->n,
                        PZ__ITEM_MAX_FEATURES);
      pz__buf_u32(b, (uint32_t)x->n);
      for (size_t k = 0; k < x->n; k++) {
        const char *f = x->sv[k];
        put_bytes(b, f, f ? strnlen(f, PZ__JREC_MAX + (size_t)1) : 0);
      }
      pz__buf_u8(b, x->fv != NULL);
      for (size_t k = 0; x->fv && k < x->n; k++) pz__buf_f64(b, x->fv[k]);
      break;
    case PZ__A_EVENTS:
      if (x->n && !x->ev) return pz__fail(PZ_EINVAL, "events is NULL");
      if (x->n > PZ_BATCH_MAX)
        return pz__fail(PZ_ELIMIT, "%zu events; at most %d per batch", x->n,
                        PZ_BATCH_MAX);
      {
        /* the record's size first: one over the limit is refused before
         * it is built */
        size_t total = 9 + 4;
        for (size_t k = 0; k < x->n; k++) {
          const pz_event *v = &x->ev[k];
          const char *t[3] = {v->user, v->item, v->event_type};
          for (int q = 0; q < 3; q++)
            total += 4 + (t[q] ? strnlen(t[q], PZ_ID_MAX + (size_t)1) + 1 : 0);
          total += 16;
        }
        if (total > PZ__JREC_MAX)
          return pz__fail(PZ_ELIMIT,
                          "a journal record of %zu bytes is above the limit "
                          "of 64 MiB; nothing was changed (split the batch)",
                          total);
      }
      pz__buf_u32(b, (uint32_t)x->n);
      for (size_t k = 0; k < x->n; k++) {
        const pz_event *v = &x->ev[k];
        const char *t[3] = {v->user, v->item, v->event_type};
        for (int q = 0; q < 3; q++)
          put_bytes(b, t[q], t[q] ? strnlen(t[q], PZ_ID_MAX + (size_t)1) : 0);
        pz__buf_f64(b, v->value);
        pz__buf_i64(b, v->ts_ms);
        if (b->len > PZ__JREC_HEAD + PZ__JREC_MAX + (size_t)64) break;
      }
      break;
    default: rc = put_opts(b, row->opts, x->opt); break;
    }
    if (rc) return rc;
    if (b->len > PZ__JREC_HEAD + PZ__JREC_MAX + (size_t)64)
      break; /* refused by the size check: no need to go on */
  }
  return b->err;
}

/* ---- decoding --------------------------------------------------------------- */

static const char *get_bytes(pz__rd *r, size_t *len, bool any) {
  uint32_t n = pz__rd_u32(r);
  *len = 0;
  if (r->err || n == J_NULL) return NULL;
  const char *s = pz__rd_bytes(r, (uint64_t)n + 1);
  if (!s) return NULL;
  if (s[n] != '\0') {
    pz__rd_bad(r, "a string is not terminated");
    return NULL;
  }
  if (!any && memchr(s, '\0', n)) {
    pz__rd_bad(r, "a string holds a NUL byte");
    return NULL;
  }
  *len = n;
  return s;
}

static void *get_opts(pz__rd *r, const pz__alloc *al, const pz__optdesc *d) {
  uint8_t has = pz__rd_u8(r);
  if (r->err || !has) return NULL;
  if (has != 1) {
    pz__rd_bad(r, "bad has_options flag %u", has);
    return NULL;
  }
  char *o = pz__calloc(al, 1, d->size);
  if (!o) {
    r->err = PZ_ENOMEM;
    return NULL;
  }
  d->init(o, d->version);
  for (unsigned i = 0; i < d->n && !r->err; i++) {
    char *at = o + d->f[i].off;
    int iv;
    uint32_t u32;
    uint64_t u64;
    double f;
    switch (d->f[i].kind) {
    case PZ__F_INT:
      iv = (int)(int32_t)pz__rd_u32(r);
      memcpy(at, &iv, sizeof iv);
      break;
    case PZ__F_U32:
      u32 = pz__rd_u32(r);
      memcpy(at, &u32, sizeof u32);
      break;
    case PZ__F_U64:
      u64 = pz__rd_u64(r);
      memcpy(at, &u64, sizeof u64);
      break;
    default:
      f = pz__rd_f64(r);
      memcpy(at, &f, sizeof f);
      break;
    }
  }
  return o;
}

void pz__op_decoded_free(const pz__alloc *al, const pz__oprow *row,
                         pz__arg *a) {
  for (unsigned i = 0; row && i < row->nargs; i++) {
    if (row->kind[i] == PZ__A_FEATS) {
      pz__free(al, (void *)a[i].sv, a[i].n * sizeof *a[i].sv);
      pz__free(al, (void *)a[i].fv, a[i].n * sizeof *a[i].fv);
      a[i].sv = NULL;
      a[i].fv = NULL;
    } else if (row->kind[i] == PZ__A_EVENTS) {
      pz__free(al, (void *)a[i].ev, a[i].n * sizeof *a[i].ev);
      a[i].ev = NULL;
    } else if (row->kind[i] == PZ__A_OPTS && a[i].opt) {
      pz__free(al, (void *)a[i].opt, row->opts->size);
      a[i].opt = NULL;
    }
  }
}

int pz__op_decode(const pz__alloc *al, const uint8_t *p, size_t len,
                  const pz__oprow **row_out, int64_t *now, pz__arg *a) {
  pz__rd r;
  pz__rd_init(&r, p, len, "journal record");
  memset(a, 0, PZ__OP_MAXARGS * sizeof *a);
  *row_out = NULL;
  int op = pz__rd_u8(&r);
  *now = pz__rd_i64(&r);
  if (r.err) return r.err;
  if (op < 1 || op >= PZ__OP_END || !pz__ops[op].apply)
    return pz__fail(PZ_ECORRUPT, "unknown operation %d", op);
  const pz__oprow *row = &pz__ops[op];
  *row_out = row;
  if (*now < -PZ__FILE_TIME_MAX / 2 || *now > PZ__FILE_TIME_MAX / 2)
    return pz__rd_bad(&r, "clock reading %lld out of range", (long long)*now);
  for (unsigned i = 0; i < row->nargs && !r.err; i++) {
    pz__arg *x = &a[i];
    switch (row->kind[i]) {
    case PZ__A_STR: x->s = get_bytes(&r, &x->n, false); break;
    case PZ__A_DOC: x->s = get_bytes(&r, &x->n, true); break;
    case PZ__A_F64: x->f = pz__rd_f64(&r); break;
    case PZ__A_I64: x->i = pz__rd_i64(&r); break;
    case PZ__A_INT: x->i = (int32_t)pz__rd_u32(&r); break;
    case PZ__A_FEATS: {
      uint32_t n = pz__rd_u32(&r);
      if (!pz__rd_count(&r, n, 4, PZ__ITEM_MAX_FEATURES)) break;
      const char **sv = n ? pz__calloc(al, n, sizeof *sv) : NULL;
      double *fv = n ? pz__calloc(al, n, sizeof *fv) : NULL;
      x->sv = sv;
      x->fv = fv;
      x->n = n;
      if (n && (!sv || !fv)) {
        r.err = PZ_ENOMEM;
        break;
      }
      size_t l;
      for (uint32_t k = 0; k < n && !r.err; k++) sv[k] = get_bytes(&r, &l, false);
      uint8_t has_w = pz__rd_u8(&r);
      if (!r.err && has_w > 1) pz__rd_bad(&r, "bad has_weights flag");
      for (uint32_t k = 0; has_w && k < n && !r.err; k++) fv[k] = pz__rd_f64(&r);
      if (!has_w) {
        pz__free(al, fv, (size_t)n * sizeof *fv);
        x->fv = NULL;
      }
      break;
    }
    case PZ__A_EVENTS: {
      uint32_t n = pz__rd_u32(&r);
      /* each event takes at least 3 * 5 + 16 bytes */
      if (!pz__rd_count(&r, n, 31, PZ_BATCH_MAX)) break;
      pz_event *v = n ? pz__calloc(al, n, sizeof *v) : NULL;
      x->ev = v;
      x->n = n;
      if (n && !v) {
        r.err = PZ_ENOMEM;
        break;
      }
      size_t l;
      for (uint32_t k = 0; k < n && !r.err; k++) {
        v[k].version = PZ_EVENT_VERSION;
        v[k].user = get_bytes(&r, &l, false);
        v[k].item = get_bytes(&r, &l, false);
        v[k].event_type = get_bytes(&r, &l, false);
        v[k].value = pz__rd_f64(&r);
        v[k].ts_ms = pz__rd_i64(&r);
      }
      break;
    }
    default: x->opt = get_opts(&r, al, row->opts); break;
    }
  }
  /* the payload must end after the last argument: checked before the
   * apply, so that a record refused for its leftover bytes changes
   * nothing */
  if (!r.err && r.pos != r.len)
    pz__rd_bad(&r, "%zu bytes left over", r.len - r.pos);
  if (r.err) pz__op_decoded_free(al, row, a);
  return r.err;
}

/* ---- calls -------------------------------------------------------------------- */

static _Thread_local int tl_depth;
static _Thread_local bool tl_fixed;
static _Thread_local int64_t tl_now;

bool pz__op_clock(int64_t *now) {
  if (tl_fixed) *now = tl_now;
  return tl_fixed;
}

int pz__op_apply(pz_engine *e, int op, const pz__arg *a) {
  return pz__ops[op].apply(e, a);
}

/* ---- ordering ---------------------------------------------------------------------
 *
 * Writes that conflict keep their order in the journal; others run in
 * parallel. A row flagged PZ__OP_USER (and not PZ__OP_WIDE) changes one
 * person's data: it takes the engine's order lock shared and the stripe
 * of that person's shard (the same hash as the profile shards), so two
 * writes of one person are applied and recorded in the same order, and
 * writes of people in different stripes run side by side. Every other
 * write (the catalogue, rules, segments, merges and erasures, batches,
 * a training's record) takes the order lock exclusively: it is ordered
 * against all of them. pz_engine_save() takes it exclusively too, so it
 * sees no write half done and needs no shard lock.
 *
 * An event on an unknown item creates the item: creations must reach
 * the journal in the order they were made (item indices follow it), so a
 * write that creates one holds the engine's creation lock from the
 * creation to its record (pz__op_created_item()). Any record naming the
 * new item comes after its creation, so the first record naming each
 * new item follows the order of creation, and a replay gives every item
 * the same index.
 *
 * Popularity sums of one item by writers in different stripes may be
 * recorded in another order than they were added: a replay gives the
 * same sums up to the rounding of their last bits. */

static _Thread_local pz_engine *tl_creating; /* holds e->create_mu */

void pz__op_created_item(pz_engine *e) {
  if (!e->jr || tl_depth != 1 || tl_creating == e) return;
  pthread_mutex_lock(&e->create_mu);
  tl_creating = e;
}

static void release_created(pz_engine *e) {
  if (tl_creating != e) return;
  tl_creating = NULL;
  pthread_mutex_unlock(&e->create_mu);
}

static bool shared_scope(const pz__oprow *row) {
  return (row->flags & PZ__OP_USER) && !(row->flags & PZ__OP_WIDE);
}

static uint32_t stripe_of(const pz__arg *a) {
  if (!a[0].s) return 0;
  pz__uref u;
  pz__uref_make(&u, a[0].s, strnlen(a[0].s, PZ_ID_MAX + 1));
  return u.shard;
}

void pz__op_exclusive_begin(pz_engine *e) {
  pthread_rwlock_wrlock(&e->order);
}
void pz__op_exclusive_end(pz_engine *e) { pthread_rwlock_unlock(&e->order); }

/* A derived model (a training, a refresh) is recorded once built: with
 * the clock of its start, ordered against every write when recorded. */
static int call_after(pz_engine *e, const pz__oprow *row, const pz__arg *a) {
  pz__journal *j = e->jr;
  pz__buf b;
  pz__buf_init(&b, &e->alloc);
  tl_depth++;
  tl_now = e->clock(e->clock_ud);
  tl_fixed = true;
  pz__buf_put(&b, (const char[PZ__JREC_HEAD]){0}, PZ__JREC_HEAD);
  int rc = pz__op_encode(&b, row, tl_now, a);
  if (!rc) rc = row->apply(e, a);
  tl_fixed = false;
  tl_depth--;
  uint64_t end = 0;
  bool recorded = false;
  if (!rc) {
    pthread_rwlock_wrlock(&e->order);
    /* a journal out of step refuses records: the model is in use, and a
     * replay simply goes without it */
    if (!pz__journal_broken(j)) {
      int arc = pz__journal_append(j, &b, false, &end);
      if (arc) {
        char why[256];
        snprintf(why, sizeof why, "%s", pz_errmsg());
        rc = pz__fail(PZ_EIO, "%s; the model is in use but not recorded", why);
      } else {
        recorded = true;
      }
    }
    pthread_rwlock_unlock(&e->order);
  }
  pz__buf_free(&b);
  return recorded ? pz__journal_commit(j, end) : rc;
}

int pz__op_call(pz_engine *e, int op, const pz__arg *a) {
  const pz__oprow *row = &pz__ops[op];
  PZ__ENGINE_CHECK(e);
  /* a call made by another write (recorded by it) */
  if (tl_depth) return row->apply(e, a);
  pz__journal *j = e->jr;
  if (row->flags & PZ__OP_AFTER) return j ? call_after(e, row, a) : row->apply(e, a);
  bool shared = shared_scope(row);
  if (shared)
    pthread_rwlock_rdlock(&e->order);
  else
    pthread_rwlock_wrlock(&e->order);
  if (!j) { /* ordered against pz_engine_save() only */
    tl_depth++;
    int rc = row->apply(e, a);
    tl_depth--;
    pthread_rwlock_unlock(&e->order);
    return rc;
  }
  uint32_t st = shared ? stripe_of(a) : 0;
  if (shared) pthread_mutex_lock(&e->stripe[st]);
  tl_depth++;
  tl_now = e->clock(e->clock_ud);
  tl_fixed = true;
  pz__buf *b = &e->jrec[st];
  b->len = 0;
  b->err = PZ_OK;
  pz__buf_put(b, (const char[PZ__JREC_HEAD]){0}, PZ__JREC_HEAD);
  /* the record is made and checked first: a write that could not be
   * recorded changes nothing */
  int rc = pz__op_encode(b, row, tl_now, a);
  size_t claim = b->len - PZ__JREC_HEAD;
  if (!rc) rc = pz__journal_check(j, claim);
  bool claimed = rc == PZ_OK, record = false;
  if (!rc) {
    rc = row->apply(e, a);
    record = rc == PZ_OK;
    /* a batch stopped part way: the part it applied is recorded (a
     * shorter record than the one checked, so it fits), and the call
     * still fails with the stopping event's status and message */
    if (rc && (row->flags & PZ__OP_PARTIAL) && a[0].done && *a[0].done) {
      char why[400];
      snprintf(why, sizeof why, "%s", pz_errmsg());
      pz__arg part[PZ__OP_MAXARGS];
      memcpy(part, a, row->nargs * sizeof *a);
      part[0].n = *a[0].done;
      b->len = 0;
      b->err = PZ_OK;
      pz__buf_put(b, (const char[PZ__JREC_HEAD]){0}, PZ__JREC_HEAD);
      if (pz__op_encode(b, row, tl_now, part) != PZ_OK)
        b->err = PZ_ENOMEM; /* fails the append below */
      pz__fail(rc, "%s", why);
      record = true;
    }
  }
  uint64_t end = 0;
  bool recorded = false;
  if (record) {
    char why[400];
    snprintf(why, sizeof why, "%s", pz_errmsg());
    /* the claim was for the full record; the append gives back its own
     * length, the rest (a shorter partial record) is returned here */
    if (b->len - PZ__JREC_HEAD < claim)
      pz__journal_unclaim(j, claim - (b->len - PZ__JREC_HEAD));
    int arc = pz__journal_append(j, b, true, &end);
    if (arc) {
      /* an I/O error (or no memory) after the change: the journal no
       * longer matches */
      char ewhy[256];
      snprintf(ewhy, sizeof ewhy, "%s", pz_errmsg());
      pz__journal_break(j);
      rc = pz__fail(PZ_EIO,
                    "%s%s%s; the change is made in memory but not recorded, "
                    "and writes are refused until a snapshot is saved",
                    rc ? why : "", rc ? "; " : "", ewhy);
    } else {
      recorded = true;
      if (rc) pz__fail(rc, "%s", why); /* the batch's own failure */
    }
  } else if (claimed) {
    pz__journal_unclaim(j, PZ__JREC_HEAD + claim);
  }
  if (claimed) pz__journal_done(j);
  /* a large record (a rules document) does not stay in memory */
  if (b->cap > ((size_t)1 << 20)) {
    pz__buf_free(b);
    pz__buf_init(b, &e->alloc);
  }
  tl_fixed = false;
  tl_depth--;
  release_created(e);
  if (shared) pthread_mutex_unlock(&e->stripe[st]);
  pthread_rwlock_unlock(&e->order);
  if (!recorded) return rc;
  int crc = pz__journal_commit(j, end);
  return rc ? rc : crc;
}

/* ---- replay --------------------------------------------------------------------- */

int pz__ops_replay(void *ctx, const uint8_t *p, size_t len) {
  pz_engine *e = ctx;
  const pz__oprow *row;
  int64_t now;
  pz__arg a[PZ__OP_MAXARGS];
  int rc = pz__op_decode(&e->alloc, p, len, &row, &now, a);
  if (!rc) {
    tl_now = now;
    tl_fixed = true;
    tl_depth++;
    pz__unbounded++; /* recorded: accepted once, under the limits then */
    rc = row->apply(e, a);
    pz__unbounded--;
    tl_depth--;
    tl_fixed = false;
    pz__op_decoded_free(&e->alloc, row, a);
    /* Derived models (trainings, a refresh, a cluster's name) are
     * recorded once built, possibly after writes that changed their input
     * (an erasure) or that named their clusters: when one cannot be built
     * again, the engine goes on without it, as it would have without the
     * training. Every other record is a call that succeeded. */
    if (rc && rc != PZ_ENOMEM && (row->flags & PZ__OP_DERIVED)) rc = PZ_OK;
  }
  if (rc && rc != PZ_ENOMEM) {
    char msg[300];
    snprintf(msg, sizeof msg, "%s", pz_errmsg());
    if (row)
      rc = pz__fail(PZ_ECORRUPT, "(operation %d, %s) cannot be replayed: %s",
                    row->op, row->name, msg);
    else
      rc = pz__fail(PZ_ECORRUPT, "cannot be replayed: %s", msg);
  }
  return rc;
}

/* ---- description ----------------------------------------------------------------- */

void pz__op_describe(const pz__oprow *row, char *out, size_t cap) {
  static const char *const kn[] = {"str", "doc", "f64", "i64", "int"};
  static const char *const fk[] = {"u32", "u32", "u64", "f64"};
  size_t at = 0;
  out[0] = '\0';
#define ADD(...)                                                              \
  do {                                                                        \
    int w_ = snprintf(out + at, at < cap ? cap - at : 0, __VA_ARGS__);        \
    if (w_ > 0) at += (size_t)w_;                                             \
  } while (0)
  if (!row->nargs) ADD("none");
  for (unsigned i = 0; i < row->nargs; i++) {
    if (i) ADD(", ");
    if (row->kind[i] == PZ__A_FEATS) {
      ADD("u32 n, str feature[n], u8 has_weights, f64 weight[n] when "
          "has_weights is 1");
    } else if (row->kind[i] == PZ__A_EVENTS) {
      ADD("u32 n, then n times: str user, str item, str event_type, f64 "
          "value, i64 ts_ms");
    } else if (row->kind[i] == PZ__A_OPTS) {
      ADD("u8 has_options, then when 1:");
      for (unsigned k = 0; k < row->opts->n; k++)
        ADD("%s %s %s", k ? "," : "", fk[row->opts->f[k].kind],
            row->opts->f[k].name);
    } else {
      ADD("%s %s", kn[row->kind[i]], row->arg[i]);
    }
  }
#undef ADD
}
