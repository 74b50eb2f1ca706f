/*
 * lib/store/store.h - internal: snapshots (snapshot.c), the write journal
 * (journal.c) and config section `store` (config.c).
 *
 * Every journaled public write runs as
 *
 *   pz__jtx t;
 *   int rc = pz__jbegin(&t, e, PZ__J_OP, true);  // order lock, fixed clock
 *   pz__jstr(&t, user); ...                       // the call's arguments
 *   if (!rc) rc = pz__jready(&t);                 // encoded (memory)
 *   if (!rc) rc = apply(...);                     // the change
 *   return pz__jend(&t, rc);                      // the record, if it worked
 *
 * The change is applied and then recorded, both under the journal's order
 * lock, with the clock fixed for the call, so the journal holds exactly
 * the calls that succeeded, in the order they were applied, and a replay
 * applies the same calls in the same order at the same times. The call
 * returns once the record is written (and synced, by policy). A record
 * that cannot be written after the change was made leaves the journal out
 * of step: it then refuses writes until a snapshot starts a new one.
 * Trainings are recorded after the fact (ordered = false): they run
 * without the order lock, and a replay that cannot rebuild one goes on.
 * Nested public calls (pz_override_more calls pz_override_adjust) are
 * recorded once, by the outer call. Lock order: the journal's order lock
 * comes before every state lock.
 */
#ifndef PZ_STORE_H
#define PZ_STORE_H

#include "../core/yaml.h"
#include "personalize/engine.h"

/* ---- config -------------------------------------------------------------- */

enum { PZ__FSYNC_NEVER = 0, PZ__FSYNC_INTERVAL = 1, PZ__FSYNC_ALWAYS = 2 };

typedef struct pz__store_cfg {
  pz__text snapshot; /* p NULL: none */
  pz__text journal;  /* p NULL: no journal */
  int fsync;
  int64_t interval_ms;
} pz__store_cfg;

void pz__store_cfg_default(pz__store_cfg *c);
int pz__store_cfg_read(pz__store_cfg *c, const pz__alloc *a,
                       const pz__ydoc *d);
void pz__store_cfg_free(pz__store_cfg *c, const pz__alloc *a);

/* ---- journal --------------------------------------------------------------- */

enum pz__jop {
  PZ__J_TRACK = 1, PZ__J_ATTR_STRING, PZ__J_ATTR_NUMBER, PZ__J_ATTR_BOOL,
  PZ__J_ATTR_TIMESTAMP, PZ__J_ATTR_REMOVE, PZ__J_CONSENT, PZ__J_MERGE,
  PZ__J_ERASE, PZ__J_ITEM_PUT, PZ__J_ITEM_REMOVE, PZ__J_BLOCK_ITEM,
  PZ__J_BLOCK_FEATURE, PZ__J_REQUIRE, PZ__J_PIN, PZ__J_ADJUST,
  PZ__J_NOT_INTERESTED, PZ__J_OPT_OUT, PZ__J_CLEAR, PZ__J_CLEAR_ALL,
  PZ__J_RULES_LOAD, PZ__J_SEGMENT_LOAD, PZ__J_CLUSTER_NAME, PZ__J_CF_TRAIN,
  PZ__J_CLUSTER_TRAIN, PZ__J_SEGMENT_REFRESH,
  PZ__J_OP_END
};

typedef struct pz__journal pz__journal;

typedef struct pz__jtx {
  pz_engine *e;
  pz__journal *j; /* NULL: this call is not recorded */
  bool ordered;
  pz__buf own; /* the record of an unordered call */
  pz__buf *b;  /* the record being written */
} pz__jtx;

int pz__jbegin(pz__jtx *t, pz_engine *e, int op, bool ordered);
void pz__jstr(pz__jtx *t, const char *s); /* NULL allowed */
void pz__ju8(pz__jtx *t, uint8_t v);
void pz__ju32(pz__jtx *t, uint32_t v);
void pz__ju64(pz__jtx *t, uint64_t v);
void pz__ji64(pz__jtx *t, int64_t v);
void pz__jf64(pz__jtx *t, double v);
void pz__jbytes(pz__jtx *t, const char *p, size_t len); /* NULL allowed */
/* Before the change: PZ_ENOMEM when the record could not be encoded. */
int pz__jready(pz__jtx *t);
int pz__jend(pz__jtx *t, int rc);

/* The clock reading fixed for this thread's current write, if any. */
bool pz__jclock(int64_t *now);

/* Open (create when missing) the configured journal, check that it
 * follows the snapshot just loaded (has_snap false: none) and replay it
 * into e, which is not shared yet. On success e journals from then on. */
int pz__journal_attach(pz_engine *e, bool has_snap, uint64_t gen,
                       uint64_t off);
void pz__journal_free(pz__journal *j, const pz__alloc *a);
/* Snapshot support: hold / release the order lock (no journaled write is
 * in progress while it is held), read the current position, and start a
 * new generation holding the records from `off` on. */
void pz__journal_lock(pz__journal *j);
void pz__journal_unlock(pz__journal *j);
void pz__journal_pos(const pz__journal *j, uint64_t *gen, uint64_t *off);
int pz__journal_rotate(pz__journal *j, uint64_t off);
int pz__journal_sync(pz__journal *j);
/* Does the journal refuse writes (an earlier failure)? */
bool pz__journal_broken(pz__journal *j);

/* ---- files ------------------------------------------------------------------ */

/* A test hook: when set, each file operation of the store first asks it;
 * a nonzero answer is taken as that errno, the operation failing as if
 * the system had refused it (full disk, read-only directory...). ops:
 * "create", "write", "sync", "rename", "dirsync" (atomic replace);
 * "append", "fsync", "truncate" (journal). */
extern int (*pz__store_fault)(const char *op);
int pz__fault(const char *op);

/* Write head and body to a temporary file beside path (mode 0600), fsync
 * it, rename it over path and fsync the directory. On failure nothing is
 * left behind and path is as it was, except when only the directory sync
 * failed: the new file is then in place (PZ_EIO says so). fd_out (may be
 * NULL) gets the new file, open and locked (flock), whenever it was
 * renamed into place; -1 otherwise. */
int pz__file_replace(const char *path, const void *head, size_t head_len,
                     const void *body, size_t body_len, int *fd_out);
int pz__file_read(const pz__alloc *a, const char *path, uint8_t **buf,
                  size_t *len);
/* fsync of the directory holding path. */
int pz__dir_sync(const char *path);

/* ---- snapshots ------------------------------------------------------------ */

/* Load a snapshot file into a fresh engine (the store's snapshot at open);
 * *gen and *off get the journal position it covers. */
int pz__snapshot_attach(pz_engine *e, const char *path, uint64_t *gen,
                        uint64_t *off);

#endif /* PZ_STORE_H */
