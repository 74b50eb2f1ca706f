/* The write journal: an append-only file of the public writes since the
 * last snapshot, replayed when an engine opens. See store.h for how a
 * write is recorded and personalize-snapshot(5) for the file format. */
#include "../engine/engine.h"
#include "personalize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define J_MAGIC "\x89PZJ\r\n\x1a\n"
#define J_VERSION 1u
#define J_HEADER 64u
#define J_MAX_PAYLOAD (64u << 20)
#define J_NULL UINT32_MAX /* the length of a NULL string */
#define J_RH 12u /* a record's header: length, its complement, check */

struct pz__journal {
  pthread_mutex_t mu;      /* order of writes; the fields below but sync */
  pthread_mutex_t sync_mu; /* synced, last_sync; taken after mu */
  const pz__alloc *a;
  int fd;
  pz__text path;
  pz__hashid hid;
  uint64_t gen;
  _Atomic uint64_t end; /* written under mu; read by syncs without it */
  uint64_t synced;
  int64_t last_sync;
  int fsync;
  int64_t interval_ms;
  _Atomic int broken; /* the file may not match the state: refuse writes */
  pz__buf rec;
};

static _Thread_local int tl_depth;
static _Thread_local bool tl_fixed;
static _Thread_local int64_t tl_now;

bool pz__jclock(int64_t *now) {
  if (tl_fixed) *now = tl_now;
  return tl_fixed;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- recording ------------------------------------------------------------ */

int pz__jbegin(pz__jtx *t, pz_engine *e, int op, bool ordered) {
  memset(t, 0, sizeof *t);
  t->e = e;
  t->ordered = ordered;
  if (!e || !e->jr || tl_depth) return PZ_OK;
  pz__journal *j = e->jr;
  if (ordered) {
    pthread_mutex_lock(&j->mu);
    if (atomic_load(&j->broken)) {
      pthread_mutex_unlock(&j->mu);
      return pz__fail(PZ_EIO,
                      "journal %s: an earlier failure left it out of step "
                      "with the engine; save a snapshot to start a new one",
                      j->path.p);
    }
    t->b = &j->rec;
    t->b->len = 0;
    t->b->err = PZ_OK;
  } else {
    pz__buf_init(&t->own, j->a);
    t->b = &t->own;
  }
  t->j = j;
  tl_depth++;
  tl_now = e->clock(e->clock_ud);
  tl_fixed = true;
  pz__buf_u64(t->b, 0); /* length, its complement and the check, filled */
  pz__buf_u32(t->b, 0); /* in when the record is written */
  pz__buf_u8(t->b, (uint8_t)op);
  pz__buf_i64(t->b, tl_now);
  return PZ_OK;
}

void pz__jbytes(pz__jtx *t, const char *p, size_t len) {
  if (!t->j) return;
  if (!p) {
    pz__buf_u32(t->b, J_NULL);
    return;
  }
  if (len >= J_NULL) len = J_NULL - 1; /* refused by the call anyway */
  pz__buf_u32(t->b, (uint32_t)len);
  pz__buf_put(t->b, p, len);
  pz__buf_u8(t->b, 0);
}
void pz__jstr(pz__jtx *t, const char *s) {
  pz__jbytes(t, s, s ? strnlen(s, (size_t)1 << 24) : 0);
}
void pz__ju8(pz__jtx *t, uint8_t v) {
  if (t->j) pz__buf_u8(t->b, v);
}
void pz__ju32(pz__jtx *t, uint32_t v) {
  if (t->j) pz__buf_u32(t->b, v);
}
void pz__ju64(pz__jtx *t, uint64_t v) {
  if (t->j) pz__buf_u64(t->b, v);
}
void pz__ji64(pz__jtx *t, int64_t v) {
  if (t->j) pz__buf_i64(t->b, v);
}
void pz__jf64(pz__jtx *t, double v) {
  if (t->j) pz__buf_f64(t->b, v);
}

static int pwrite_all(int fd, const void *p, size_t len, uint64_t off) {
  if (pz__fault("append")) return -1;
  const char *c = p;
  while (len) {
    ssize_t n = pwrite(fd, c, len, (off_t)off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    c += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 0;
}

/* Order lock held: put the record at the end (not yet counted in end). */
static int append(pz__journal *j, pz__buf *b) {
  if (b->err) return b->err;
  size_t len = b->len - J_RH;
  if (len > J_MAX_PAYLOAD)
    return pz__fail(PZ_ELIMIT, "a journal record of %zu bytes is above the "
                               "limit of 64 MiB",
                    len);
  uint32_t n = (uint32_t)len, guard = ~n;
  uint32_t check = (uint32_t)pz__checksum(b->p + J_RH, len);
  memcpy(b->p, &n, 4);
  memcpy(b->p + 4, &guard, 4);
  memcpy(b->p + 8, &check, 4);
  if (pwrite_all(j->fd, b->p, b->len, j->end) == 0) return PZ_OK;
  int err = errno ? errno : EIO;
  /* cut off what part of it reached the file */
  if (pz__fault("truncate") || ftruncate(j->fd, (off_t)j->end) != 0)
    atomic_store(&j->broken, 1);
  return pz__fail(PZ_EIO, "journal %s: cannot write: %s", j->path.p,
                  strerror(err));
}

static int sync_to(pz__journal *j, uint64_t target) {
  int rc = PZ_OK;
  pthread_mutex_lock(&j->sync_mu);
  if (j->synced < target) {
    /* every record below end is written: the sync covers the other
     * writers' records too (group commit) */
    uint64_t upto = atomic_load(&j->end);
    if (!pz__fault("fsync") && fdatasync(j->fd) == 0) {
      j->synced = PZ__MAX(target, upto);
    } else {
      atomic_store(&j->broken, 1);
      rc = pz__fail(PZ_EIO,
                    "journal %s: cannot sync: %s; the change is made but "
                    "may not survive a crash",
                    j->path.p, strerror(errno));
    }
    j->last_sync = mono_ms();
  }
  pthread_mutex_unlock(&j->sync_mu);
  return rc;
}

int pz__jready(pz__jtx *t) {
  return t->j && t->b->err ? t->b->err : PZ_OK; /* its arguments encoded */
}

/* The record is written after the call succeeded, still under the order
 * lock, so the journal holds exactly the calls that succeeded, in the
 * order they were applied; the call returns only once it is written. */
int pz__jend(pz__jtx *t, int rc) {
  pz__journal *j = t->j;
  if (!j) return rc;
  bool recorded = false;
  if (!t->ordered) pthread_mutex_lock(&j->mu);
  if (rc == PZ_OK && !(t->ordered == false && atomic_load(&j->broken))) {
    int arc = append(j, t->b);
    if (!arc) {
      j->end += t->b->len;
      recorded = true;
    } else {
      char why[256];
      snprintf(why, sizeof why, "%s", pz_errmsg());
      if (t->ordered) {
        /* the change is in memory: the journal no longer matches */
        atomic_store(&j->broken, 1);
        rc = pz__fail(PZ_EIO,
                      "%s; the change is made in memory but not recorded, "
                      "and writes are refused until a snapshot is saved",
                      why);
      } else {
        /* a derived model: a replay simply goes without it */
        rc = pz__fail(PZ_EIO, "%s; the model is in use but not recorded",
                      why);
      }
    }
  }
  uint64_t target = j->end;
  /* a large record (a rules document) does not stay in memory */
  if (t->ordered && j->rec.cap > ((size_t)1 << 20)) {
    pz__buf_free(&j->rec);
    pz__buf_init(&j->rec, j->a);
  }
  pthread_mutex_unlock(&j->mu);
  if (!t->ordered) pz__buf_free(&t->own);
  tl_depth--;
  tl_fixed = false;
  if (recorded && j->fsync == PZ__FSYNC_ALWAYS) {
    rc = sync_to(j, target);
  } else if (recorded && j->fsync == PZ__FSYNC_INTERVAL) {
    pthread_mutex_lock(&j->sync_mu);
    bool due = mono_ms() - j->last_sync >= j->interval_ms;
    pthread_mutex_unlock(&j->sync_mu);
    if (due) rc = sync_to(j, target);
  }
  return rc;
}

int pz__journal_sync(pz__journal *j) {
  pthread_mutex_lock(&j->mu);
  uint64_t target = j->end;
  pthread_mutex_unlock(&j->mu);
  return sync_to(j, target);
}

PZ_API int pz_engine_sync(pz_engine *e) {
  if (!e) return pz__fail(PZ_EINVAL, "engine is NULL");
  return e->jr ? pz__journal_sync(e->jr) : PZ_OK;
}

bool pz__journal_broken(pz__journal *j) { return atomic_load(&j->broken); }
void pz__journal_lock(pz__journal *j) { pthread_mutex_lock(&j->mu); }
void pz__journal_unlock(pz__journal *j) { pthread_mutex_unlock(&j->mu); }
void pz__journal_pos(const pz__journal *j, uint64_t *gen, uint64_t *off) {
  *gen = j->gen;
  *off = j->end;
}

/* ---- the file -------------------------------------------------------------- */

/* gen: the generation; base: where in the previous generation this one
 * starts (the offset the snapshot that began it records), 0 for the
 * first. */
static void header(uint8_t h[J_HEADER], uint64_t gen, uint64_t base,
                   const pz__hashid *hid) {
  memset(h, 0, J_HEADER);
  memcpy(h, J_MAGIC, 8);
  uint32_t v = J_VERSION, hs = J_HEADER, bits = hid->bits;
  memcpy(h + 8, &v, 4);
  memcpy(h + 12, &hs, 4);
  memcpy(h + 16, &gen, 8);
  memcpy(h + 24, &hid->seed, 8);
  memcpy(h + 32, &bits, 4);
  memcpy(h + 40, &base, 8);
  uint64_t c = pz__checksum(h, 56);
  memcpy(h + 56, &c, 8);
}

static int check_header(const uint8_t h[J_HEADER], const char *path,
                        const pz__hashid *hid, uint64_t *gen,
                        uint64_t *base) {
  if (memcmp(h, J_MAGIC, 8) != 0)
    return pz__fail(PZ_EFORMAT, "%s: not a libpersonalize journal", path);
  uint32_t v, hs, bits;
  uint64_t seed, c;
  memcpy(&v, h + 8, 4);
  memcpy(&hs, h + 12, 4);
  memcpy(gen, h + 16, 8);
  memcpy(&seed, h + 24, 8);
  memcpy(&bits, h + 32, 4);
  memcpy(base, h + 40, 8);
  memcpy(&c, h + 56, 8);
  if (c != pz__checksum(h, 56))
    return pz__fail(PZ_ECORRUPT, "%s: the journal header is damaged", path);
  if (v != J_VERSION)
    return pz__fail(PZ_EVERSION, "%s: journal format %u; this library reads %u",
                    path, v, J_VERSION);
  if (hs != J_HEADER)
    return pz__fail(PZ_ECORRUPT, "%s: bad journal header size", path);
  if (seed != hid->seed || bits != hid->bits)
    return pz__fail(PZ_ECONFIG,
                    "%s: the journal was written with hashing seed %llu, "
                    "bits %u; the configuration has seed %llu, bits %u",
                    path, (unsigned long long)seed, bits,
                    (unsigned long long)hid->seed, hid->bits);
  return PZ_OK;
}

static pz__journal *journal_new(pz_engine *e) {
  pz__journal *j = pz__calloc(&e->alloc, 1, sizeof *j);
  if (!j) return NULL;
  j->a = &e->alloc;
  j->fd = -1;
  j->hid = e->hid;
  j->fsync = e->scfg.fsync;
  j->interval_ms = e->scfg.interval_ms;
  j->last_sync = mono_ms();
  pz__buf_init(&j->rec, &e->alloc);
  if (pz__text_set(&e->alloc, &j->path, e->scfg.journal.p,
                   e->scfg.journal.len)) {
    pz__free(&e->alloc, j, sizeof *j);
    return NULL;
  }
  pthread_mutex_init(&j->mu, NULL);
  pthread_mutex_init(&j->sync_mu, NULL);
  return j;
}

void pz__journal_free(pz__journal *j, const pz__alloc *a) {
  if (!j) return;
  if (j->fd >= 0) {
    if (j->fsync != PZ__FSYNC_NEVER && j->synced < j->end) fdatasync(j->fd);
    close(j->fd);
  }
  pz__buf_free(&j->rec);
  pz__text_free(a, &j->path);
  pthread_mutex_destroy(&j->mu);
  pthread_mutex_destroy(&j->sync_mu);
  pz__free(a, j, sizeof *j);
}

int pz__journal_rotate(pz__journal *j, uint64_t off) {
  pthread_mutex_lock(&j->mu);
  pthread_mutex_lock(&j->sync_mu);
  int rc = PZ_OK;
  size_t len = (size_t)(j->end - off);
  uint8_t *body = len ? pz__malloc(j->a, len) : NULL;
  if (len && !body) rc = PZ_ENOMEM;
  if (!rc && len) {
    size_t got = 0;
    while (got < len) {
      ssize_t n = pread(j->fd, body + got, len - got, (off_t)(off + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
    }
    if (got != len)
      rc = pz__fail(PZ_EIO, "journal %s: cannot read back: %s", j->path.p,
                    strerror(errno ? errno : EIO));
  }
  uint8_t h[J_HEADER];
  header(h, j->gen + 1, off, &j->hid);
  int fd = -1;
  if (!rc) rc = pz__file_replace(j->path.p, h, J_HEADER, body, len, &fd);
  if (fd >= 0) { /* in place (even if its directory entry is not synced) */
    close(j->fd);
    j->fd = fd;
    j->gen++;
    j->end = j->synced = J_HEADER + len;
    atomic_store(&j->broken, 0);
  }
  pz__free(j->a, body, len);
  pthread_mutex_unlock(&j->sync_mu);
  pthread_mutex_unlock(&j->mu);
  return rc;
}

/* ---- replay ------------------------------------------------------------------ */

static const char *rstr(pz__rd *r) {
  uint32_t n = pz__rd_u32(r);
  if (r->err || n == J_NULL) return NULL;
  const char *s = pz__rd_bytes(r, (uint64_t)n + 1);
  if (s && s[n] != '\0') {
    pz__rd_bad(r, "a string is not terminated");
    return NULL;
  }
  return s;
}

/* After the last argument: the payload must end there. Checked before the
 * call, so that a record refused for its leftover bytes changes nothing
 * (the journal holds only calls that succeeded). */
static int args_end(pz__rd *r) {
  if (!r->err && r->pos != r->len)
    pz__rd_bad(r, "%zu bytes left over", r->len - r->pos);
  return r->err;
}

static int replay_item_put(pz_engine *e, pz__rd *r) {
  const char *item = rstr(r);
  uint32_t n = pz__rd_u32(r);
  if (!pz__rd_count(r, n, 4, 1u << 20)) return r->err;
  const char **f = n ? pz__calloc(&e->alloc, n, sizeof *f) : NULL;
  double *w = n ? pz__calloc(&e->alloc, n, sizeof *w) : NULL;
  int rc = n && (!f || !w) ? PZ_ENOMEM : PZ_OK;
  for (uint32_t i = 0; !rc && i < n; i++) f[i] = rstr(r);
  uint8_t has_w = rc ? 0 : pz__rd_u8(r);
  for (uint32_t i = 0; !rc && has_w && i < n; i++) w[i] = pz__rd_f64(r);
  if (!rc) rc = args_end(r);
  if (!rc) rc = pz_item_put(e, item, f, has_w ? w : NULL, n);
  pz__free(&e->alloc, (void *)f, (size_t)n * sizeof *f);
  pz__free(&e->alloc, w, (size_t)n * sizeof *w);
  return rc;
}

static int replay_cf_train(pz_engine *e, pz__rd *r) {
  if (!pz__rd_u8(r)) return args_end(r) ? r->err : pz_cf_train(e, NULL);
  pz_cf_options o;
  pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION);
  o.algorithm = (int)pz__rd_u32(r);
  o.weighting = (int)pz__rd_u32(r);
  o.neighbours = pz__rd_u32(r);
  o.factors = pz__rd_u32(r);
  o.iterations = pz__rd_u32(r);
  o.cg_steps = pz__rd_u32(r);
  o.threads = pz__rd_u32(r);
  o.seed = pz__rd_u64(r);
  o.regularization = pz__rd_f64(r);
  o.alpha = pz__rd_f64(r);
  o.bm25_k1 = pz__rd_f64(r);
  o.bm25_b = pz__rd_f64(r);
  o.als_share = pz__rd_f64(r);
  return args_end(r) ? r->err : pz_cf_train(e, &o);
}

static int replay_cluster_train(pz_engine *e, pz__rd *r) {
  if (!pz__rd_u8(r)) return args_end(r) ? r->err : pz_cluster_train(e, NULL);
  pz_cluster_options o;
  pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
  o.k = pz__rd_u32(r);
  o.seed = pz__rd_u64(r);
  o.max_iterations = pz__rd_u32(r);
  o.batch_size = pz__rd_u32(r);
  return args_end(r) ? r->err : pz_cluster_train(e, &o);
}

static int replay_one(pz_engine *e, pz__rd *r, int op) {
  const char *u, *s;
  int64_t x;
  switch (op) {
  case PZ__J_TRACK: {
    u = rstr(r);
    const char *item = rstr(r), *type = rstr(r);
    double v = pz__rd_f64(r);
    x = pz__rd_i64(r);
    return args_end(r) ? r->err : pz_track(e, u, item, type, v, x);
  }
  case PZ__J_ATTR_STRING: {
    u = rstr(r);
    s = rstr(r);
    const char *v = rstr(r);
    return args_end(r) ? r->err : pz_profile_set_string(e, u, s, v);
  }
  case PZ__J_ATTR_NUMBER: {
    u = rstr(r);
    s = rstr(r);
    double v = pz__rd_f64(r);
    return args_end(r) ? r->err : pz_profile_set_number(e, u, s, v);
  }
  case PZ__J_ATTR_BOOL: {
    u = rstr(r);
    s = rstr(r);
    int v = (int)(int32_t)pz__rd_u32(r);
    return args_end(r) ? r->err : pz_profile_set_bool(e, u, s, v);
  }
  case PZ__J_ATTR_TIMESTAMP:
    u = rstr(r);
    s = rstr(r);
    x = pz__rd_i64(r);
    return args_end(r) ? r->err : pz_profile_set_timestamp(e, u, s, x);
  case PZ__J_ATTR_REMOVE:
    u = rstr(r);
    s = rstr(r);
    return args_end(r) ? r->err : pz_profile_remove_attribute(e, u, s);
  case PZ__J_CONSENT: {
    u = rstr(r);
    s = rstr(r);
    int g = (int)(int32_t)pz__rd_u32(r);
    return args_end(r) ? r->err : pz_profile_set_consent(e, u, s, g);
  }
  case PZ__J_MERGE:
    u = rstr(r);
    s = rstr(r);
    return args_end(r) ? r->err : pz_profile_merge(e, u, s);
  case PZ__J_ERASE:
    u = rstr(r);
    return args_end(r) ? r->err : pz_profile_erase(e, u);
  case PZ__J_ITEM_PUT: return replay_item_put(e, r);
  case PZ__J_ITEM_REMOVE:
    s = rstr(r);
    return args_end(r) ? r->err : pz_item_remove(e, s);
  case PZ__J_BLOCK_ITEM:
  case PZ__J_BLOCK_FEATURE:
  case PZ__J_REQUIRE: {
    u = rstr(r);
    s = rstr(r);
    x = pz__rd_i64(r);
    if (args_end(r)) return r->err;
    return op == PZ__J_BLOCK_ITEM      ? pz_override_block_item(e, u, s, x)
           : op == PZ__J_BLOCK_FEATURE ? pz_override_block_feature(e, u, s, x)
                                       : pz_override_require(e, u, s, x);
  }
  case PZ__J_PIN: {
    u = rstr(r);
    s = rstr(r);
    int32_t pos = (int32_t)pz__rd_u32(r);
    x = pz__rd_i64(r);
    return args_end(r) ? r->err : pz_override_pin(e, u, s, pos, x);
  }
  case PZ__J_ADJUST: {
    u = rstr(r);
    s = rstr(r);
    double f = pz__rd_f64(r);
    x = pz__rd_i64(r);
    return args_end(r) ? r->err : pz_override_adjust(e, u, s, f, x);
  }
  case PZ__J_NOT_INTERESTED:
    u = rstr(r);
    s = rstr(r);
    x = pz__rd_i64(r);
    return args_end(r) ? r->err : pz_override_not_interested(e, u, s, x);
  case PZ__J_OPT_OUT: {
    u = rstr(r);
    int v = (int)(int32_t)pz__rd_u32(r);
    return args_end(r) ? r->err : pz_override_opt_out(e, u, v);
  }
  case PZ__J_CLEAR: {
    u = rstr(r);
    int kind = (int)(int32_t)pz__rd_u32(r);
    s = rstr(r);
    return args_end(r) ? r->err : pz_override_clear(e, u, kind, s);
  }
  case PZ__J_CLEAR_ALL:
    u = rstr(r);
    return args_end(r) ? r->err : pz_override_clear_all(e, u);
  case PZ__J_RULES_LOAD:
  case PZ__J_SEGMENT_LOAD: {
    uint32_t n = pz__rd_u32(r);
    const char *doc = n == J_NULL ? NULL : pz__rd_bytes(r, (uint64_t)n + 1);
    if (args_end(r)) return r->err;
    size_t len = doc ? n : 0;
    return op == PZ__J_RULES_LOAD ? pz_override_rules_load(e, doc, len)
                                  : pz_segment_load(e, doc, len);
  }
  case PZ__J_CLUSTER_NAME: {
    int c = (int)(int32_t)pz__rd_u32(r);
    s = rstr(r);
    return args_end(r) ? r->err : pz_cluster_set_name(e, c, s);
  }
  case PZ__J_CF_TRAIN: return replay_cf_train(e, r);
  case PZ__J_CLUSTER_TRAIN: return replay_cluster_train(e, r);
  case PZ__J_SEGMENT_REFRESH:
    return args_end(r) ? r->err : pz_segment_refresh(e);
  default: return pz__rd_bad(r, "unknown operation %d", op);
  }
}

static bool all_zero(int fd, uint64_t from, uint64_t to) {
  uint8_t buf[4096];
  while (from < to) {
    size_t n = (size_t)PZ__MIN((uint64_t)sizeof buf, to - from);
    if (pread(fd, buf, n, (off_t)from) != (ssize_t)n) return false;
    for (size_t i = 0; i < n; i++)
      if (buf[i]) return false;
    from += n;
  }
  return true;
}

/* Replay records from off; *good gets the end of the last whole record. */
static int replay(pz_engine *e, pz__journal *j, uint64_t off, uint64_t size,
                  uint64_t *good) {
  char *p = NULL;
  size_t cap = 0;
  int rc = PZ_OK;
  uint64_t n_rec = 0;
  while (off < size) {
    uint8_t hd[J_RH];
    uint32_t len, guard, check;
    if (size - off < J_RH || pread(j->fd, hd, J_RH, (off_t)off) != J_RH)
      break; /* torn in its header */
    memcpy(&len, hd, 4);
    memcpy(&guard, hd + 4, 4);
    memcpy(&check, hd + 8, 4);
    /* a length that does not match its complement is damage, not a torn
     * write (which leaves a whole header or none): never cut on it */
    if (len == 0 || len > J_MAX_PAYLOAD || guard != ~len) {
      if (all_zero(j->fd, off, size)) break; /* a zero-filled tail */
      rc = pz__fail(PZ_ECORRUPT, "journal %s, byte %llu: a damaged record "
                                 "header",
                    j->path.p, (unsigned long long)off);
      break;
    }
    if (off + J_RH + (uint64_t)len > size) break; /* torn: cut by a crash */
    if (cap < len) {
      char *np = pz__malloc(&e->alloc, len);
      if (!np) {
        rc = PZ_ENOMEM;
        break;
      }
      pz__free_wipe(&e->alloc, p, cap);
      p = np;
      cap = len;
    }
    size_t got = 0;
    while (got < len) {
      ssize_t n = pread(j->fd, p + got, len - got, (off_t)(off + J_RH + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
    }
    if (got != len) {
      rc = pz__fail(PZ_EIO, "journal %s: read error", j->path.p);
      break;
    }
    if ((uint32_t)pz__checksum(p, len) != check) {
      if (off + J_RH + len == size) break; /* the last record, torn */
      rc = pz__fail(PZ_ECORRUPT,
                    "journal %s, byte %llu: checksum mismatch in a record "
                    "followed by others",
                    j->path.p, (unsigned long long)off);
      break;
    }
    char what[64];
    snprintf(what, sizeof what, "journal record %llu",
             (unsigned long long)n_rec);
    pz__rd r;
    pz__rd_init(&r, p, len, what);
    int op = pz__rd_u8(&r);
    tl_now = pz__rd_i64(&r);
    if (!r.err && (tl_now < -PZ__FILE_TIME_MAX / 2 ||
                   tl_now > PZ__FILE_TIME_MAX / 2))
      pz__rd_bad(&r, "clock reading %lld out of range", (long long)tl_now);
    tl_fixed = !r.err;
    rc = r.err ? r.err : replay_one(e, &r, op);
    tl_fixed = false;
    if (!rc && r.pos != r.len)
      rc = pz__rd_bad(&r, "%zu bytes left over", r.len - r.pos);
    /* Derived models (trainings, a refresh, a cluster's name) are
     * recorded once built, possibly after writes that changed their input
     * (an erasure) or that named their clusters: when one cannot be built
     * again, the engine goes on without it, as it would have without the
     * training. Every other record is a call that succeeded. */
    if (rc && rc != PZ_ENOMEM &&
        (op == PZ__J_CF_TRAIN || op == PZ__J_CLUSTER_TRAIN ||
         op == PZ__J_SEGMENT_REFRESH || op == PZ__J_CLUSTER_NAME))
      rc = PZ_OK;
    if (rc && rc != PZ_ENOMEM) {
      char msg[256];
      snprintf(msg, sizeof msg, "%s", pz_errmsg());
      rc = pz__fail(PZ_ECORRUPT,
                    "journal %s, byte %llu: record %llu (operation %d) "
                    "cannot be replayed: %s",
                    j->path.p, (unsigned long long)off,
                    (unsigned long long)n_rec, op, msg);
    }
    if (rc) break;
    off += J_RH + (uint64_t)len;
    n_rec++;
  }
  pz__free_wipe(&e->alloc, p, cap);
  *good = off;
  return rc;
}

int pz__journal_attach(pz_engine *e, bool has_snap, uint64_t gen,
                       uint64_t off) {
  const char *path = e->scfg.journal.p;
  if (!path) return PZ_OK;
  if (!pz__host_little_endian())
    return pz__fail(PZ_EFORMAT, "journals need a little-endian host");
  pz__journal *j = journal_new(e);
  if (!j) return PZ_ENOMEM;
  int rc = PZ_OK;
  /* Opened (or created: two engines racing to create it open the same
   * file) and then locked: only one engine gets it. */
  j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  struct stat st0;
  if (j->fd >= 0 && flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
    rc = pz__fail(PZ_EIO, "%s: the journal is in use by another engine",
                  path);
  } else if (j->fd >= 0 && fstat(j->fd, &st0) == 0 && st0.st_size == 0) {
    /* new (or created by a crash before its header was written) */
    uint8_t h[J_HEADER];
    j->gen = has_snap ? gen + 1 : 0;
    header(h, j->gen, has_snap ? off : 0, &j->hid);
    if (pwrite_all(j->fd, h, J_HEADER, 0) != 0 || fdatasync(j->fd) != 0)
      rc = pz__fail(PZ_EIO, "%s: cannot write the journal: %s", path,
                    strerror(errno));
    if (!rc) rc = pz__dir_sync(path);
    j->end = j->synced = J_HEADER;
  } else if (j->fd < 0) {
    rc = pz__fail(PZ_EIO, "%s: cannot open the journal: %s", path,
                  strerror(errno));
  } else {
    struct stat st;
    uint8_t h[J_HEADER];
    uint64_t jgen = 0, base = 0, start = J_HEADER;
    if (fstat(j->fd, &st) != 0 || !S_ISREG(st.st_mode))
      rc = pz__fail(PZ_EIO, "%s: the journal is not a regular file", path);
    else if ((uint64_t)st.st_size < J_HEADER ||
             pread(j->fd, h, J_HEADER, 0) != J_HEADER)
      rc = pz__fail(PZ_EFORMAT, "%s: too short for a journal", path);
    if (!rc) rc = check_header(h, path, &j->hid, &jgen, &base);
    uint64_t size = rc ? 0 : (uint64_t)st.st_size;
    if (rc) {
    } else if (!has_snap && jgen != 0) {
      rc = pz__fail(PZ_ECORRUPT,
                    "%s: the journal continues a snapshot (generation %llu) "
                    "that was not loaded; open that snapshot with "
                    "pz_engine_load() or config store.snapshot",
                    path, (unsigned long long)(jgen - 1));
    } else if (has_snap && jgen == gen) {
      if (off < J_HEADER || off > size)
        rc = pz__fail(PZ_ECORRUPT,
                      "%s: the journal is shorter than the snapshot says "
                      "(%llu < %llu bytes)",
                      path, (unsigned long long)size,
                      (unsigned long long)off);
      start = off;
    } else if (has_snap && (jgen != gen + 1 || base != off)) {
      rc = pz__fail(PZ_ECORRUPT,
                    "%s: the journal (generation %llu from byte %llu) does "
                    "not follow the snapshot (generation %llu at byte %llu)",
                    path, (unsigned long long)jgen, (unsigned long long)base,
                    (unsigned long long)gen, (unsigned long long)off);
    }
    j->gen = jgen;
    uint64_t good = start;
    if (!rc) rc = replay(e, j, start, size, &good);
    if (!rc && good < size) { /* drop the torn tail */
      if (ftruncate(j->fd, (off_t)good) != 0 || fdatasync(j->fd) != 0)
        rc = pz__fail(PZ_EIO, "%s: cannot cut the torn last record: %s",
                      path, strerror(errno));
    }
    j->end = j->synced = good;
  }
  if (rc) {
    pz__journal_free(j, &e->alloc);
    return rc;
  }
  e->jr = j;
  return PZ_OK;
}
