/*
 * lib/store/store.h - internal: snapshots (snapshot.c: the container),
 * the write journal (journal.c: the log) and config section `store`
 * (config.c). Store knows files, sections and records; what they hold is
 * the engine's (lib/engine/persist.c, lib/engine/ops.c).
 *
 * A journaled write runs, under the locks that order it against
 * conflicting writes (the engine's: lib/engine/ops.c):
 *
 *   pz__journal_check(j, len)         // refuse before the change: broken,
 *                                     // too large, no disk space to claim
 *   apply the change
 *   pz__journal_append(j, &rec, true, &end) // the record, once it worked
 *
 * and then, without them, pz__journal_commit(j, end) syncs by policy
 * (concurrent committers share one fdatasync: group commit). Disk blocks
 * are claimed ahead (fallocate), so a record checked before its change
 * cannot fail for want of space after it; an I/O error after the change
 * leaves the journal out of step: it then refuses writes until a
 * snapshot starts a new one. The journal's own lock (the file's end) is
 * the innermost lock.
 */
#ifndef PZ_STORE_H
#define PZ_STORE_H

#include "../core/yaml.h"

/* ---- config -------------------------------------------------------------- */

enum { PZ__FSYNC_NEVER = 0, PZ__FSYNC_INTERVAL = 1, PZ__FSYNC_ALWAYS = 2 };

typedef struct pz__store_cfg {
  pz__text snapshot; /* p NULL: none */
  pz__text journal;  /* p NULL: no journal */
  int fsync;
  int64_t interval_ms;
  size_t buffer; /* journal_buffer: bytes of records held before a write */
} pz__store_cfg;

void pz__store_cfg_default(pz__store_cfg *c);
int pz__store_cfg_read(pz__store_cfg *c, const pz__alloc *a,
                       const pz__ydoc *d);
void pz__store_cfg_free(pz__store_cfg *c, const pz__alloc *a);

/* ---- journal --------------------------------------------------------------- */

#define PZ__JREC_HEAD 12u          /* length, its complement, checksum */
#define PZ__JREC_MAX (64u << 20)   /* the largest payload */

typedef struct pz__journal pz__journal;

typedef struct pz__jopen {
  const pz__alloc *a;
  const pz__store_cfg *cfg; /* cfg->journal.p NULL: no journal */
  uint64_t seed;            /* the hashing identity the file must carry */
  uint32_t bits;
  bool has_snap;            /* a snapshot was loaded: gen and off from it */
  uint64_t gen, off;
  /* Called for each whole record in file order with its payload; a
   * nonzero status stops the replay (PZ_ECORRUPT naming the record). */
  int (*replay)(void *ctx, const uint8_t *payload, size_t len);
  void *ctx;
} pz__jopen;

/* Open (create when missing) the configured journal, check that it
 * follows the snapshot just loaded and replay it. *out is NULL when no
 * journal is configured. */
int pz__journal_open(pz__journal **out, const pz__jopen *o);
void pz__journal_free(pz__journal *j, const pz__alloc *a);
/* In a fork()ed child: close the descriptor, touching neither the file
 * nor the locks (the memory is left). */
void pz__journal_abandon(pz__journal *j);
/* Before a change: can a record of len payload bytes be written? (not
 * out of step, not too large, disk blocks claimed for it). On PZ_OK the
 * space stays claimed until pz__journal_append(..., true, ...) or
 * pz__journal_unclaim(). */
int pz__journal_check(pz__journal *j, size_t len);
/* Give back bytes (header included) of claimed space. */
void pz__journal_unclaim(pz__journal *j, size_t bytes);
/* After a successful check, once the write is appended or given up: it
 * is no longer one that a group commit waits for. */
void pz__journal_done(pz__journal *j);
/* Write the record in b (PZ__JREC_HEAD bytes of room, then the payload)
 * at the end of the file; claimed: pz__journal_check() claimed its space
 * (else it is checked here). *end gets the file's end after it. Records
 * of concurrent callers go in the order they get the file's lock: the
 * caller orders conflicting writes (lib/engine/ops.c). */
int pz__journal_append(pz__journal *j, pz__buf *b, bool claimed,
                       uint64_t *end);
/* Sync by policy up to end (concurrent committers share one sync). */
int pz__journal_commit(pz__journal *j, uint64_t end);
/* Mark the journal out of step with the state (refuse writes). */
void pz__journal_break(pz__journal *j);
/* Snapshot support: the current position, and a new generation holding
 * the records from `off` on (order lock not held). */
void pz__journal_pos(pz__journal *j, uint64_t *gen, uint64_t *off);
int pz__journal_rotate(pz__journal *j, uint64_t off);
int pz__journal_sync(pz__journal *j);
bool pz__journal_broken(pz__journal *j);

/* ---- files ------------------------------------------------------------------ */

/* A test hook: when set, each file operation of the store first asks it;
 * a nonzero answer is taken as that errno, the operation failing as if
 * the system had refused it (full disk, read-only directory...). ops:
 * "create", "write", "sync", "rename", "dirsync" (atomic replace);
 * "append", "fsync", "truncate", "reserve" (journal). */
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
/* Do two paths name one file? Existing files are compared by device and
 * inode (links and spellings such as ./x and x agree); two paths of which
 * neither exists yet by their directory's identity and last name. */
bool pz__same_file(const char *a, const char *b);
/* Advice to append to a message about path failing with err ("" when
 * none): a missing directory, a directory that cannot be written. */
const char *pz__path_hint(const char *path, int err);
/* Remove the temporary files that pz__file_replace left beside path when
 * its process died mid-write (PATH.tmp.PID.N, regular files, PID not a
 * live process nor this one). Returns how many were removed. */
int pz__file_sweep(const char *path);
int pz__file_read(const pz__alloc *a, const char *path, uint8_t **buf,
                  size_t *len);
/* fsync of the directory holding path. */
int pz__dir_sync(const char *path);

/* ---- snapshots ------------------------------------------------------------ */

#define PZ__SNAP_SECTIONS 16u /* the most sections a snapshot writes */

typedef struct pz__snapinfo {
  uint64_t seed; /* hashing identity */
  uint32_t bits;
  uint64_t gen, off; /* the journal position the snapshot covers */
} pz__snapinfo;

/* Write a snapshot atomically (pz__file_replace): the n sections of body
 * at off[i], len[i] (8-aligned), with ids[i] in the table. */
int pz__snap_write(const char *path, const pz__snapinfo *h,
                   const uint32_t *ids, unsigned n, const pz__buf *body,
                   const uint64_t *off, const uint64_t *len);

typedef struct pz__snap {
  const char *path;
  uint8_t *buf;
  size_t size;
  pz__snapinfo info;
  const uint8_t *sec[PZ__SNAP_SECTIONS];
  size_t sec_len[PZ__SNAP_SECTIONS];
} pz__snap;

/* Read and check a snapshot whose sections must be ids[0..n) in order
 * (others only when flagged optional); names[i] name them in errors.
 * Free with pz__snap_free whatever happened. */
int pz__snap_read(pz__snap *s, const pz__alloc *a, const char *path,
                  const uint32_t *ids, const char *const *names, unsigned n);
void pz__snap_free(pz__snap *s, const pz__alloc *a);

#endif /* PZ_STORE_H */
