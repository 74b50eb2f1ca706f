/* Snapshots: one file with a header, a table of sections and the
 * sections, each with an XXH3 checksum (personalize-snapshot(5)). */
#include "../engine/engine.h"
#include "personalize.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define S_MAGIC "\x89PZS\r\n\x1a\n"
#define S_VERSION 1u
#define S_HEADER 64u
#define S_ENTRY 32u
#define S_FLAG_OPTIONAL 1u /* a reader that does not know it may skip it */

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

static size_t table_end(void) { return S_HEADER + N_SEC * S_ENTRY + 8; }

/* ---- save ------------------------------------------------------------------- */

static void put_text(pz__buf *b, const pz__text *t) {
  pz__buf_u8(b, t->p != NULL);
  if (t->p) pz__buf_str(b, t->p, t->len);
}

/* Everything read-locked (and the journal's order lock held): encode the
 * sections into body. */
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

static void lock_all(pz_engine *e) {
  pz__segstate_rdlock(&e->seg);
  pz__ovstate_rdlock(&e->ov);
  pz__cfstate_rdlock(&e->cf);
  pz__catalog_rdlock(&e->catalog);
  for (uint32_t s = 0; s < PZ__SHARDS; s++) pz__shard_rdlock(&e->profiles, s);
}

static void unlock_all(pz_engine *e) {
  for (uint32_t s = PZ__SHARDS; s-- > 0;) pz__shard_unlock(&e->profiles, s);
  pz__catalog_unlock(&e->catalog);
  pz__cfstate_unlock(&e->cf);
  pz__ovstate_unlock(&e->ov);
  pz__segstate_unlock(&e->seg);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

PZ_API int pz_engine_save(pz_engine *e, const char *path) {
  if (!e) return pz__fail(PZ_EINVAL, "engine is NULL");
  if (!path) path = e->scfg.snapshot.p;
  if (!path)
    return pz__fail(PZ_EINVAL, "path is NULL and the configuration has no "
                               "store.snapshot");
  int rc = pz__check_str(path, 4000, "path", NULL);
  if (rc) return rc;
  if (!pz__host_little_endian())
    return pz__fail(PZ_EFORMAT, "snapshots need a little-endian host");
  pthread_mutex_lock(&e->save_mu);
  pz__buf body;
  pz__buf_init(&body, &e->alloc);
  uint64_t off[N_SEC], len[N_SEC], jgen = 0, joff = 0;
  if (e->jr) pz__journal_lock(e->jr);
  lock_all(e);
  rc = encode(e, &body, off, len);
  if (e->jr) pz__journal_pos(e->jr, &jgen, &joff);
  unlock_all(e);
  if (e->jr) pz__journal_unlock(e->jr);
  uint8_t head[S_HEADER + N_SEC * S_ENTRY + 8];
  if (!rc) {
    memset(head, 0, sizeof head);
    memcpy(head, S_MAGIC, 8);
    put32(head + 8, S_VERSION);
    put32(head + 12, S_HEADER);
    put64(head + 16, e->hid.seed);
    put32(head + 24, e->hid.bits);
    put32(head + 28, N_SEC);
    put64(head + 32, table_end() + body.len);
    put64(head + 40, jgen);
    put64(head + 48, joff);
    put64(head + 56, pz__checksum(head, 56));
    for (int s = 0; s < N_SEC; s++) {
      uint8_t *t = head + S_HEADER + s * S_ENTRY;
      put32(t, sec_id[s]);
      put32(t + 4, 0);
      put64(t + 8, table_end() + off[s]);
      put64(t + 16, len[s]);
      put64(t + 24, pz__checksum(body.p + off[s], (size_t)len[s]));
    }
    put64(head + S_HEADER + N_SEC * S_ENTRY,
          pz__checksum(head + S_HEADER, N_SEC * S_ENTRY));
    /* the journal must reach the snapshot's offset on disk before the
     * snapshot names it, or a power cut could leave a snapshot that
     * expects more journal than there is */
    if (e->jr) rc = pz__journal_sync(e->jr);
    if (!rc)
      rc = pz__file_replace(path, head, sizeof head, body.p, body.len, NULL);
  }
  pz__buf_free(&body);
  /* a new journal generation starts after the store's snapshot (a copy
   * saved elsewhere leaves the journal as it is) */
  if (!rc && e->jr &&
      (!e->scfg.snapshot.p || strcmp(e->scfg.snapshot.p, path) == 0))
    /* on failure the old journal still fits the new snapshot; but a
     * journal that refuses writes stays so until a new one starts */
    if (pz__journal_rotate(e->jr, joff) && pz__journal_broken(e->jr))
      rc = PZ_EIO; /* the message says why the new journal failed */
  pthread_mutex_unlock(&e->save_mu);
  return rc;
}

/* ---- load ------------------------------------------------------------------- */

typedef struct snap {
  const char *path;
  uint8_t *buf;
  size_t size;
  uint64_t seed, gen, off;
  uint32_t bits;
  const uint8_t *sec[N_SEC];
  size_t sec_len[N_SEC];
} snap;

static uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint64_t get64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* Check the header, the table and every checksum. */
static int parse(snap *s) {
  const char *path = s->path;
  const uint8_t *h = s->buf;
  if (s->size < 8 || memcmp(h, S_MAGIC, 8) != 0)
    return pz__fail(PZ_EFORMAT, "%s: not a libpersonalize snapshot", path);
  if (s->size < S_HEADER)
    return pz__fail(PZ_ECORRUPT, "%s: truncated in the header (%zu bytes)",
                    path, s->size);
  if (get64(h + 56) != pz__checksum(h, 56))
    return pz__fail(PZ_ECORRUPT, "%s: the header checksum does not match",
                    path);
  uint32_t version = get32(h + 8), n = get32(h + 28);
  if (version > S_VERSION)
    return pz__fail(PZ_EVERSION,
                    "%s: snapshot format %u is newer than this library's "
                    "(%u)",
                    path, version, S_VERSION);
  if (version < 1 || get32(h + 12) != S_HEADER)
    return pz__fail(PZ_EFORMAT, "%s: unknown snapshot header", path);
  uint64_t size = get64(h + 32);
  if (size != s->size)
    return pz__fail(PZ_ECORRUPT, "%s: the file has %zu bytes; its header "
                                 "says %llu (truncated or extended)",
                    path, s->size, (unsigned long long)size);
  s->seed = get64(h + 16);
  s->bits = get32(h + 24);
  s->gen = get64(h + 40);
  s->off = get64(h + 48);
  if (n < 1 || n > 1024)
    return pz__fail(PZ_ECORRUPT, "%s: %u sections", path, n);
  uint64_t tend = S_HEADER + (uint64_t)n * S_ENTRY + 8;
  if (tend > s->size)
    return pz__fail(PZ_ECORRUPT, "%s: truncated in the section table", path);
  const uint8_t *t = h + S_HEADER;
  if (get64(t + (size_t)n * S_ENTRY) != pz__checksum(t, (size_t)n * S_ENTRY))
    return pz__fail(PZ_ECORRUPT, "%s: the section table checksum does not "
                                 "match",
                    path);
  uint64_t at = tend;
  int next = 0;
  for (uint32_t i = 0; i < n; i++, t += S_ENTRY) {
    uint32_t id = get32(t), flags = get32(t + 4);
    uint64_t off = get64(t + 8), len = get64(t + 16), sum = get64(t + 24);
    if (off < at || off % 8 || off > s->size || len > s->size - off)
      return pz__fail(PZ_ECORRUPT,
                      "%s: section %u lies outside the file or overlaps "
                      "another",
                      path, i);
    at = off + len;
    if (pz__checksum(s->buf + off, (size_t)len) != sum)
      return pz__fail(PZ_ECORRUPT, "%s: the checksum of section %u does not "
                                   "match",
                      path, i);
    if (next < N_SEC && id == sec_id[next]) {
      s->sec[next] = s->buf + off;
      s->sec_len[next++] = (size_t)len;
    } else if (!(flags & S_FLAG_OPTIONAL)) {
      return pz__fail(PZ_EVERSION,
                      "%s: section %u (id %08x) is not one this library "
                      "knows",
                      path, i, id);
    }
  }
  if (next != N_SEC)
    return pz__fail(PZ_ECORRUPT, "%s: %s is missing", path, sec_name[next]);
  return PZ_OK;
}

static int read_text(pz__rd *r, pz__text *t, const pz__alloc *a) {
  uint8_t present = pz__rd_u8(r);
  if (r->err || !present) return r->err;
  uint32_t n = pz__rd_u32(r);
  const char *p = pz__rd_bytes(r, n);
  if (!p) return r->err;
  if (present != 1) return pz__rd_bad(r, "bad presence flag");
  return pz__text_set(a, t, p, n);
}

static int restore(pz_engine *e, const snap *s) {
  if (s->seed != e->hid.seed || s->bits != e->hid.bits)
    return pz__fail(PZ_ECONFIG,
                    "%s: the snapshot's features were hashed with seed "
                    "%llu, bits %u; the configuration has seed %llu, bits %u",
                    s->path, (unsigned long long)s->seed, s->bits,
                    (unsigned long long)e->hid.seed, e->hid.bits);
  int rc = PZ_OK;
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
      if (!rc && doc.p)
        rc = k == SEC_SEGR ? pz_segment_load(e, doc.p, doc.len)
                           : pz_override_rules_load(e, doc.p, doc.len);
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
  return rc;
}

static int snap_read(snap *s, const pz__alloc *a, const char *path) {
  memset(s, 0, sizeof *s);
  s->path = path;
  if (!pz__host_little_endian())
    return pz__fail(PZ_EFORMAT, "snapshots need a little-endian host");
  int rc = pz__file_read(a, path, &s->buf, &s->size);
  if (!rc) rc = parse(s);
  return rc;
}

static void snap_free(snap *s, const pz__alloc *a) {
  pz__free_wipe(a, s->buf, s->size);
  s->buf = NULL;
}

int pz__snapshot_attach(pz_engine *e, const char *path, uint64_t *gen,
                        uint64_t *off) {
  snap s;
  int rc = snap_read(&s, &e->alloc, path);
  if (!rc) rc = restore(e, &s);
  *gen = s.gen;
  *off = s.off;
  snap_free(&s, &e->alloc);
  return rc;
}

int pz__engine_attach_store(pz_engine *e) {
  uint64_t gen = 0, off = 0;
  bool has = false;
  const char *path = e->scfg.snapshot.p;
  if (path) {
    struct stat st;
    if (stat(path, &st) == 0) {
      int rc = pz__snapshot_attach(e, path, &gen, &off);
      if (rc) return rc;
      has = true;
    } else if (errno != ENOENT) {
      return pz__fail(PZ_EIO, "%s: %s", path, strerror(errno));
    }
  }
  return pz__journal_attach(e, has, gen, off);
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
  snap s;
  if ((rc = snap_read(&s, &a, path))) {
    snap_free(&s, &a);
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
  snap_free(&s, &a);
  if (!rc) rc = pz__journal_attach(e, true, s.gen, s.off);
  if (rc) {
    pz_engine_free(e);
    return rc;
  }
  *out = e;
  return PZ_OK;
}
