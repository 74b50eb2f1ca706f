/* What a snapshot holds (its sections, each encoded by its module) and
 * how an engine's store is opened: the snapshot, then the journal, whose
 * records lib/engine/ops.c replays. The container and the log are
 * lib/store's. */
#include "engine.h"
#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define ID(a, b, c, d)                                                        \
  ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 |                 \
   (uint32_t)(d) << 24)

/* The sections of format 1, in file order. */
enum { SEC_CONF, SEC_CATL, SEC_PROF, SEC_SEGR, SEC_BRUL, SEC_CLUS, SEC_SPOP,
       SEC_CFMD, N_SEC };
static const uint32_t sec_id[N_SEC] = {
    ID('C', 'O', 'N', 'F'), ID('C', 'A', 'T', 'L'), ID('P', 'R', 'O', 'F'),
    ID('S', 'E', 'G', 'R'), ID('B', 'R', 'U', 'L'), ID('C', 'L', 'U', 'S'),
    ID('S', 'P', 'O', 'P'), ID('C', 'F', 'M', 'D')};
static const char *const sec_name[N_SEC] = {
    "section CONF (configuration)", "section CATL (catalogue)",
    "section PROF (profiles)",      "section SEGR (segment rules)",
    "section BRUL (business rules)", "section CLUS (clusters)",
    "section SPOP (segment popularity)", "section CFMD (CF model)"};
_Static_assert(N_SEC <= PZ__SNAP_SECTIONS, "too many sections");

/* ---- save ------------------------------------------------------------------- */

static void put_text(pz__buf *b, const pz__text *t) {
  pz__buf_u8(b, t->p != NULL);
  if (t->p) pz__buf_str(b, t->p, t->len);
}

/* Everything locked (lock_all): encode the sections into body. */
static int encode(pz_engine *e, pz__buf *body, uint64_t off[N_SEC],
                  uint64_t len[N_SEC]) {
  int rc = PZ_OK;
  for (int s = 0; s < N_SEC && !rc; s++) {
    off[s] = body->len;
    switch (s) {
    case SEC_CONF: put_text(body, &e->config); break;
    case SEC_CATL: rc = pz__catalog_save(&e->catalog, body); break;
    case SEC_PROF: rc = pz__profiles_save(&e->profiles, body); break;
    case SEC_SEGR: put_text(body, &e->seg.src); break;
    case SEC_BRUL: put_text(body, &e->ov.src); break;
    case SEC_CLUS: pz__clusters_save(e->seg.clusters, body); break;
    case SEC_SPOP: pz__segpop_save(e->seg.segpop, body); break;
    default: pz__cfmodel_save(e->cf.model, body); break;
    }
    len[s] = body->len - off[s];
    pz__buf_align(body, 8);
  }
  return rc ? rc : body->err;
}

/* Every write excluded (the order lock, exclusive: ops.c), so the
 * profiles need no lock of their own; the derived states and the
 * catalogue are read-locked against trainings and serving's upkeep. */
static void lock_all(pz_engine *e) {
  pz__op_exclusive_begin(e);
  pz__segstate_rdlock(&e->seg);
  pz__ovstate_rdlock(&e->ov);
  pz__cfstate_rdlock(&e->cf);
  pz__catalog_rdlock(&e->catalog);
}

static void unlock_all(pz_engine *e) {
  pz__catalog_unlock(&e->catalog);
  pz__cfstate_unlock(&e->cf);
  pz__ovstate_unlock(&e->ov);
  pz__segstate_unlock(&e->seg);
  pz__op_exclusive_end(e);
}

PZ_API int pz_engine_save(pz_engine *e, const char *path) {
  PZ__ENGINE_CHECK(e);
  if (!path) path = e->scfg.snapshot.p;
  if (!path)
    return pz__fail(PZ_EINVAL, "path is NULL and the configuration has no "
                               "store.snapshot");
  int rc = pz__check_str(path, 4000, "path", NULL);
  if (rc) return rc;
  if (!pz__host_little_endian())
    return pz__fail(PZ_EFORMAT, "snapshots need a little-endian host");
  if (e->jr && pz__same_file(path, e->scfg.journal.p))
    return pz__fail(PZ_EINVAL,
                    "%s is the engine's journal (store.journal): a snapshot "
                    "there would replace it and strand every write since",
                    path);
  /* a new journal generation starts after the store's snapshot (a copy
   * saved elsewhere leaves the journal as it is) */
  bool rotate = e->jr && (!e->scfg.snapshot.p ||
                          pz__same_file(e->scfg.snapshot.p, path));
  pthread_mutex_lock(&e->save_mu);
  /* what saves that died mid-write left beside the target */
  pz__file_sweep(path);
  pz__buf body;
  pz__buf_init(&body, &e->alloc);
  uint64_t off[N_SEC], len[N_SEC];
  pz__snapinfo h = {e->hid.seed, e->hid.bits, 0, 0};
  lock_all(e);
  rc = encode(e, &body, off, len);
  if (e->jr) pz__journal_pos(e->jr, &h.gen, &h.off);
  unlock_all(e);
  /* the journal must reach the snapshot's offset on disk before the
   * snapshot names it, or a power cut could leave a snapshot that
   * expects more journal than there is; a journal out of step (deleted,
   * failed) is about to be replaced by the store's save, which holds all
   * it should have */
  if (!rc && e->jr && !(rotate && pz__journal_broken(e->jr)))
    rc = pz__journal_sync(e->jr);
  if (!rc) rc = pz__snap_write(path, &h, sec_id, N_SEC, &body, off, len);
  pz__buf_free(&body);
  if (!rc && rotate)
    /* on failure the old journal still fits the new snapshot; but a
     * journal that refuses writes stays so until a new one starts */
    if (pz__journal_rotate(e->jr, h.off) && pz__journal_broken(e->jr))
      rc = PZ_EIO; /* the message says why the new journal failed */
  pthread_mutex_unlock(&e->save_mu);
  return rc;
}

PZ_API int pz_engine_sync(pz_engine *e) {
  PZ__ENGINE_CHECK(e);
  return e->jr ? pz__journal_sync(e->jr) : PZ_OK;
}

/* ---- load ------------------------------------------------------------------- */

static int read_text(pz__rd *r, pz__text *t, const pz__alloc *a) {
  uint8_t present = pz__rd_u8(r);
  if (r->err || !present) return r->err;
  uint32_t n = pz__rd_u32(r);
  const char *p = pz__rd_bytes(r, n);
  if (!p) return r->err;
  if (present != 1) return pz__rd_bad(r, "bad presence flag");
  return pz__text_set(a, t, p, n);
}

static int restore(pz_engine *e, const pz__snap *s) {
  if (s->info.seed != e->hid.seed || s->info.bits != e->hid.bits)
    return pz__fail(PZ_ECONFIG,
                    "%s: the snapshot's features were hashed with seed "
                    "%llu, bits %u; the configuration has seed %llu, bits %u",
                    s->path, (unsigned long long)s->info.seed, s->info.bits,
                    (unsigned long long)e->hid.seed, e->hid.bits);
  int rc = PZ_OK;
  pz__unbounded++; /* a snapshot holds what was accepted once */
  for (int k = SEC_CATL; k < N_SEC && !rc; k++) {
    pz__rd r;
    pz__rd_init(&r, s->sec[k], s->sec_len[k], sec_name[k]);
    pz__text doc = {NULL, 0};
    switch (k) {
    case SEC_CATL: rc = pz__catalog_restore(&e->catalog, &r); break;
    case SEC_PROF:
      rc = pz__profiles_restore(&e->profiles, &r, &e->hid, e->catalog.n);
      break;
    case SEC_SEGR:
    case SEC_BRUL:
      rc = read_text(&r, &doc, &e->alloc);
      if (!rc && doc.p) {
        pz__arg a[] = {PZ__DOC(doc.p, doc.len)};
        rc = pz__op_apply(e, k == SEC_SEGR ? PZ__OP_SEGMENT_LOAD
                                           : PZ__OP_RULES_LOAD,
                          a);
      }
      pz__text_free(&e->alloc, &doc);
      break;
    case SEC_CLUS:
      rc = pz__clusters_restore(&e->seg.clusters, &e->alloc, &r, e->hid.bits);
      break;
    case SEC_SPOP:
      rc = pz__segpop_restore(&e->seg.segpop, &e->alloc, &r, e->catalog.n);
      break;
    default:
      rc = pz__cfmodel_restore(&e->alloc, &r, e->catalog.n, &e->cf.model);
      if (!rc) e->cf.gen++;
      break;
    }
    if (!rc && r.pos != r.len)
      rc = pz__rd_bad(&r, "%zu bytes left over", r.len - r.pos);
    if (rc == PZ_ECORRUPT || rc == PZ_ECONFIG) {
      char msg[400];
      snprintf(msg, sizeof msg, "%s", pz_errmsg());
      pz__fail(rc, "%s: %s", s->path, msg);
    }
  }
  pz__unbounded--;
  return rc;
}

static int snap_read(pz__snap *s, const pz__alloc *a, const char *path) {
  return pz__snap_read(s, a, path, sec_id, sec_name, N_SEC);
}

/* Open the configured journal after the snapshot at (gen, off), if any,
 * replaying it into e (not shared yet); e journals from then on. */
static int attach_journal(pz_engine *e, bool has_snap, uint64_t gen,
                          uint64_t off) {
  pz__jopen o = {&e->alloc, &e->scfg, e->hid.seed, e->hid.bits, has_snap,
                 gen, off, pz__ops_replay, e};
  return pz__journal_open(&e->jr, &o);
}

int pz__engine_attach_store(pz_engine *e) {
  uint64_t gen = 0, off = 0;
  bool has = false;
  const char *path = e->scfg.snapshot.p;
  /* temporary files of saves and journal rotations that died mid-write */
  if (path) pz__file_sweep(path);
  if (e->scfg.journal.p) pz__file_sweep(e->scfg.journal.p);
  if (path) {
    struct stat st;
    if (stat(path, &st) == 0) {
      pz__snap s;
      int rc = snap_read(&s, &e->alloc, path);
      if (!rc) rc = restore(e, &s);
      gen = s.info.gen;
      off = s.info.off;
      pz__snap_free(&s, &e->alloc);
      if (rc) return rc;
      has = true;
    } else if (errno != ENOENT) {
      return pz__fail(PZ_EIO, "%s: %s", path, strerror(errno));
    }
  }
  return attach_journal(e, has, gen, off);
}

PZ_API int pz_engine_load(pz_engine **out, const char *path,
                          const pz_engine_options *opts) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  int rc = pz__check_str(path, 4000, "path", NULL);
  if (rc) return rc;
  if (opts && opts->version != PZ_ENGINE_OPTIONS_VERSION)
    return pz__fail(PZ_EVERSION, "engine options version %u is not %d",
                    opts->version, PZ_ENGINE_OPTIONS_VERSION);
  pz__alloc a;
  pz__alloc_default(&a);
  if (opts && opts->alloc) {
    a.fn = opts->alloc;
    a.ud = opts->alloc_ud;
  }
  pz__snap s;
  if ((rc = snap_read(&s, &a, path))) {
    pz__snap_free(&s, &a);
    return rc;
  }
  /* the configuration: the caller's, or the one saved in the snapshot */
  pz__rd r;
  pz__text conf = {NULL, 0};
  pz__rd_init(&r, s.sec[SEC_CONF], s.sec_len[SEC_CONF], sec_name[SEC_CONF]);
  rc = read_text(&r, &conf, &a);
  pz_engine *e = NULL;
  if (!rc) rc = pz__engine_create(&e, opts, &conf);
  pz__text_free(&a, &conf);
  /* with the snapshot's own configuration, the file is loaded as it is:
   * its store (a live service's journal, perhaps) is not attached */
  if (!rc && (!opts || (!opts->config_path && !opts->config_text &&
                        !opts->config_len))) {
    pz__store_cfg_free(&e->scfg, &e->alloc);
    pz__store_cfg_default(&e->scfg);
  }
  if (!rc) rc = restore(e, &s);
  pz__snap_free(&s, &a);
  if (!rc) rc = attach_journal(e, true, s.info.gen, s.info.off);
  if (rc) {
    pz_engine_free(e);
    return rc;
  }
  *out = e;
  return PZ_OK;
}
