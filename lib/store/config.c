/* Config section `store`: where the snapshot and the journal live, and how
 * often the journal is forced to disk. */
#include "store.h"

#include <string.h>

void pz__store_cfg_default(pz__store_cfg *c) {
  memset(c, 0, sizeof *c);
  c->fsync = PZ__FSYNC_INTERVAL;
  c->interval_ms = 1000;
}

void pz__store_cfg_free(pz__store_cfg *c, const pz__alloc *a) {
  pz__text_free(a, &c->snapshot);
  pz__text_free(a, &c->journal);
}

static int read_path(const pz__ydoc *d, const pz__ynode *n, const char *what,
                     const pz__alloc *a, pz__text *out) {
  int rc = pz__y_scalar(d, n, what);
  if (rc) return rc;
  if (n->len == 0 || n->len > 4000 || memchr(n->str, '\0', n->len))
    return pz__y_err(d, n, "%s must be a path of 1 to 4000 bytes", what);
  return pz__text_set(a, out, n->str, n->len);
}

int pz__store_cfg_read(pz__store_cfg *c, const pz__alloc *a,
                       const pz__ydoc *d) {
  const pz__ynode *n = pz__y_get(d->root, "store");
  if (!n) return PZ_OK;
  static const char *const keys[] = {"snapshot", "journal", "fsync",
                                     "fsync_interval", "journal_buffer",
                                     NULL};
  int rc = pz__y_map(d, n, "store", keys);
  const pz__ynode *v;
  if (!rc && (v = pz__y_get(n, "snapshot")))
    rc = read_path(d, v, "store.snapshot", a, &c->snapshot);
  if (!rc && (v = pz__y_get(n, "journal")))
    rc = read_path(d, v, "store.journal", a, &c->journal);
  if (!rc && (v = pz__y_get(n, "fsync"))) {
    static const char *const words[] = {"never", "interval", "always", NULL};
    rc = pz__y_enum(d, v, "store.fsync", words, &c->fsync);
  }
  if (!rc && (v = pz__y_get(n, "fsync_interval"))) {
    rc = pz__y_duration(d, v, "store.fsync_interval", &c->interval_ms);
    if (!rc && (c->interval_ms < 1 || c->interval_ms > 3600000))
      rc = pz__y_err(d, v, "store.fsync_interval must lie in 1ms..1h");
  }
  if (!rc && (v = pz__y_get(n, "journal_buffer"))) {
    uint64_t b = 0;
    rc = pz__y_uint(d, v, "store.journal_buffer", 0, 64u << 20, &b);
    c->buffer = (size_t)b;
  }
  if (!rc && c->snapshot.p && c->journal.p &&
      pz__same_file(c->snapshot.p, c->journal.p))
    rc = pz__y_err(d, n, "store.snapshot and store.journal are one file");
  return rc;
}
