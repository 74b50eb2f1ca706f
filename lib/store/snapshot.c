/* Snapshots: one file with a header, a table of sections and the
 * sections, each with an XXH3 checksum (personalize-snapshot(5)). Which
 * sections a snapshot holds and what they say is the engine's
 * (lib/engine/persist.c); this is the container. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S_MAGIC "\x89PZS\r\n\x1a\n"
#define S_VERSION 1u
#define S_HEADER 64u
#define S_ENTRY 32u
#define S_FLAG_OPTIONAL 1u /* a reader that does not know it may skip it */

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int pz__snap_write(const char *path, const pz__snapinfo *h,
                   const uint32_t *ids, unsigned n, const pz__buf *body,
                   const uint64_t *off, const uint64_t *len) {
  if (n < 1 || n > PZ__SNAP_SECTIONS)
    return pz__fail(PZ_EINVAL, "%u sections", n);
  size_t tend = S_HEADER + (size_t)n * S_ENTRY + 8;
  uint8_t head[S_HEADER + PZ__SNAP_SECTIONS * S_ENTRY + 8];
  memset(head, 0, sizeof head);
  memcpy(head, S_MAGIC, 8);
  put32(head + 8, S_VERSION);
  put32(head + 12, S_HEADER);
  put64(head + 16, h->seed);
  put32(head + 24, h->bits);
  put32(head + 28, n);
  put64(head + 32, tend + body->len);
  put64(head + 40, h->gen);
  put64(head + 48, h->off);
  put64(head + 56, pz__checksum(head, 56));
  for (unsigned s = 0; s < n; s++) {
    uint8_t *t = head + S_HEADER + s * S_ENTRY;
    put32(t, ids[s]);
    put32(t + 4, 0);
    put64(t + 8, tend + off[s]);
    put64(t + 16, len[s]);
    put64(t + 24, pz__checksum(body->p + off[s], (size_t)len[s]));
  }
  put64(head + S_HEADER + n * S_ENTRY,
        pz__checksum(head + S_HEADER, (size_t)n * S_ENTRY));
  return pz__file_replace(path, head, tend, body->p, body->len, NULL);
}

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
static int parse(pz__snap *s, const uint32_t *ids, const char *const *names,
                 unsigned want) {
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
  s->info.seed = get64(h + 16);
  s->info.bits = get32(h + 24);
  s->info.gen = get64(h + 40);
  s->info.off = get64(h + 48);
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
  unsigned next = 0;
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
    if (next < want && id == ids[next]) {
      s->sec[next] = s->buf + off;
      s->sec_len[next++] = (size_t)len;
    } else if (!(flags & S_FLAG_OPTIONAL)) {
      return pz__fail(PZ_EVERSION,
                      "%s: section %u (id %08x) is not one this library "
                      "knows",
                      path, i, id);
    }
  }
  if (next != want)
    return pz__fail(PZ_ECORRUPT, "%s: %s is missing", path, names[next]);
  return PZ_OK;
}

int pz__snap_read(pz__snap *s, const pz__alloc *a, const char *path,
                  const uint32_t *ids, const char *const *names,
                  unsigned n) {
  memset(s, 0, sizeof *s);
  s->path = path;
  if (n > PZ__SNAP_SECTIONS) return pz__fail(PZ_EINVAL, "%u sections", n);
  if (!pz__host_little_endian())
    return pz__fail(PZ_EFORMAT, "snapshots need a little-endian host");
  int rc = pz__file_read(a, path, &s->buf, &s->size);
  if (!rc) rc = parse(s, ids, names, n);
  return rc;
}

void pz__snap_free(pz__snap *s, const pz__alloc *a) {
  pz__free_wipe(a, s->buf, s->size);
  s->buf = NULL;
}
