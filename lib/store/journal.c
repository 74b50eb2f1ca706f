/* The write journal: an append-only file of records (the writes since the
 * last snapshot), replayed when an engine opens. What a record holds is
 * the engine's business (lib/engine/ops.c); see store.h for the protocol
 * and personalize-snapshot(5) for the file format. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* fallocate(FALLOC_FL_KEEP_SIZE) */
#endif
#include "store.h"

#include <errno.h>
#include <sched.h>
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
#define J_MAX_PAYLOAD PZ__JREC_MAX
#define J_RH PZ__JREC_HEAD /* a record's header: length, its complement, check */
#define J_RESERVE ((uint64_t)1 << 20) /* disk space claimed ahead */

struct pz__journal {
  pthread_mutex_t mu;      /* the file's end: the fields below but sync */
  pthread_mutex_t sync_mu; /* the sync state below; taken after mu */
  pthread_cond_t sync_cv;  /* a sync ended */
  const pz__alloc *a;
  int fd;
  pz__text path;
  uint64_t seed;
  uint32_t bits;
  uint64_t gen;
  _Atomic uint64_t end; /* written under mu; read by syncs without it */
  _Atomic uint64_t reserved; /* the file's blocks are allocated up to here
                                (written under mu) */
  _Atomic uint64_t claimed;  /* bytes checked for records not appended */
  _Atomic int pending;       /* writes between their check and append */
  _Atomic uint64_t records;  /* appended since open (written under mu) */
  /* Positions a commit waits for are logical: base + a file offset, where
   * base grows by the old file's length at each rotation, so a write that
   * took its position before a rotation compares right after it. */
  uint64_t base;   /* written under mu and sync_mu, with no sync running */
  uint64_t synced; /* logical position the file is synced to */
  bool syncing;    /* a thread is in fdatasync (without sync_mu) */
  uint64_t synced_records; /* records the last sync covered, and how many */
  uint64_t group;          /* were new to it (all under sync_mu) */
  _Atomic int64_t last_sync; /* written under sync_mu */
  _Atomic int64_t last_check; /* of the file's identity (mono ms) */
  int fsync;
  int64_t interval_ms;
  _Atomic int broken; /* the file may not match the state: refuse writes */
  /* store.journal_buffer: records not yet handed to the kernel (under
   * mu); the file holds end - wb_len bytes */
  char *wb;
  size_t wb_len, wb_cap;
};

#define GROUP_WAIT_US 200

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- recording ------------------------------------------------------------ */

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

/* Order lock held: claim disk blocks for the file up to `upto`, so that
 * a record written below it cannot fail for want of space. A file system
 * that cannot preallocate (EOPNOTSUPP, EINVAL) is written without a
 * claim, as before 1.2. */
static int reserve(pz__journal *j, uint64_t upto) {
  if (upto <= j->reserved) return PZ_OK;
  uint64_t to = PZ__MAX(upto, j->end + J_RESERVE);
  int err = 0;
  if (pz__fault("reserve")) {
    err = errno;
  } else {
#if defined(__linux__) && defined(FALLOC_FL_KEEP_SIZE)
    /* the blocks only: the file's size stays the records' end */
    if (fallocate(j->fd, FALLOC_FL_KEEP_SIZE, (off_t)j->end,
                  (off_t)(to - j->end)) != 0)
      err = errno;
#else
    /* the blocks and the size: a zero tail, which a replay drops */
    err = posix_fallocate(j->fd, (off_t)j->end, (off_t)(to - j->end));
#endif
  }
  if (err == EOPNOTSUPP || err == EINVAL) {
    j->reserved = UINT64_MAX;
    return PZ_OK;
  }
  if (err)
    return pz__fail(PZ_EIO,
                    "journal %s: cannot claim %llu bytes of disk space: %s; "
                    "nothing was changed",
                    j->path.p, (unsigned long long)(to - j->end),
                    strerror(err));
  j->reserved = to;
  return PZ_OK;
}

/* mu held */
static int check_locked(pz__journal *j, size_t len) {
  if (atomic_load(&j->broken))
    return pz__fail(PZ_EIO,
                    "journal %s: an earlier failure left it out of step "
                    "with the engine; save a snapshot to start a new one",
                    j->path.p);
  if (len > J_MAX_PAYLOAD)
    return pz__fail(PZ_ELIMIT,
                    "a journal record of %zu bytes is above the limit of "
                    "64 MiB; nothing was changed",
                    len);
  return reserve(j, j->end + j->claimed + J_RH + len);
}

int pz__journal_check(pz__journal *j, size_t len) {
  uint64_t need = J_RH + (uint64_t)len;
  /* the common case without the lock: claimed room within the blocks
   * already allocated */
  if (len <= J_MAX_PAYLOAD && !atomic_load(&j->broken)) {
    uint64_t c = atomic_fetch_add(&j->claimed, need) + need;
    if (atomic_load(&j->end) + c <= atomic_load(&j->reserved)) {
      atomic_fetch_add(&j->pending, 1);
      return PZ_OK;
    }
    atomic_fetch_sub(&j->claimed, need);
  }
  pthread_mutex_lock(&j->mu);
  int rc = check_locked(j, len);
  if (!rc) {
    atomic_fetch_add(&j->claimed, need);
    atomic_fetch_add(&j->pending, 1);
  }
  pthread_mutex_unlock(&j->mu);
  return rc;
}

void pz__journal_unclaim(pz__journal *j, size_t bytes) {
  atomic_fetch_sub(&j->claimed, (uint64_t)bytes);
}

void pz__journal_done(pz__journal *j) { atomic_fetch_sub(&j->pending, 1); }

/* mu held: hand the buffered records to the kernel. A failure loses
 * acknowledged records: the journal is then out of step. */
static int flush_locked(pz__journal *j) {
  if (!j->wb_len) return PZ_OK;
  uint64_t at = j->end - j->wb_len;
  if (pwrite_all(j->fd, j->wb, j->wb_len, at) == 0) {
    j->wb_len = 0;
    return PZ_OK;
  }
  int err = errno ? errno : EIO;
  atomic_store(&j->broken, 1);
  return pz__fail(PZ_EIO,
                  "journal %s: cannot write %zu buffered bytes: %s; "
                  "acknowledged writes are lost from it, and writes are "
                  "refused until a snapshot is saved",
                  j->path.p, j->wb_len, strerror(err));
}

/* mu held: write the record at the end. */
static int append_locked(pz__journal *j, pz__buf *b) {
  if (atomic_load(&j->broken))
    return pz__fail(PZ_EIO,
                    "journal %s: an earlier failure left it out of step "
                    "with the engine",
                    j->path.p);
  size_t len = b->len - J_RH;
  int rc = reserve(j, j->end + J_RH + len); /* claimed: a no-op */
  if (rc) return rc;
  uint32_t n = (uint32_t)len, guard = ~n;
  uint32_t check = (uint32_t)pz__checksum(b->p + J_RH, len);
  memcpy(b->p, &n, 4);
  memcpy(b->p + 4, &guard, 4);
  memcpy(b->p + 8, &check, 4);
  if (j->wb_cap) { /* buffered: the kernel gets it with the others */
    if (j->wb_len + b->len > j->wb_cap && (rc = flush_locked(j))) return rc;
    if (b->len <= j->wb_cap) {
      memcpy(j->wb + j->wb_len, b->p, b->len);
      j->wb_len += b->len;
      j->end += b->len;
      j->records++;
      return PZ_OK;
    }
  }
  if (pwrite_all(j->fd, b->p, b->len, j->end) == 0) {
    j->end += b->len;
    j->records++;
    return PZ_OK;
  }
  int err = errno ? errno : EIO;
  /* cut off what part of it reached the file (and the claimed blocks: a
   * failure here is the device's, or a full disk that could not be
   * claimed ahead) */
  if (pz__fault("truncate") || ftruncate(j->fd, (off_t)j->end) != 0)
    atomic_store(&j->broken, 1);
  j->reserved = j->end;
  return pz__fail(PZ_EIO, "journal %s: cannot write: %s", j->path.p,
                  strerror(err));
}

int pz__journal_append(pz__journal *j, pz__buf *b, bool claimed,
                       uint64_t *end_out) {
  if (b->err) {
    if (claimed) pz__journal_unclaim(j, b->len);
    return b->err;
  }
  if (b->len < J_RH) return pz__fail(PZ_EINVAL, "a record without a header");
  pthread_mutex_lock(&j->mu);
  if (claimed) atomic_fetch_sub(&j->claimed, (uint64_t)b->len);
  int rc = claimed ? PZ_OK : check_locked(j, b->len - J_RH);
  if (!rc) rc = append_locked(j, b);
  *end_out = j->base + j->end;
  pthread_mutex_unlock(&j->mu);
  return rc;
}

void pz__journal_break(pz__journal *j) { atomic_store(&j->broken, 1); }

/* Is the file at the journal's path still the one it writes to? A
 * journal deleted or replaced (rename, copy over) under the engine would
 * take writes that no reopen finds. */
static int check_identity(pz__journal *j) {
  struct stat fs, ps;
  bool gone = fstat(j->fd, &fs) != 0 || fs.st_nlink == 0 ||
              stat(j->path.p, &ps) != 0 || ps.st_dev != fs.st_dev ||
              ps.st_ino != fs.st_ino;
  if (!gone) return PZ_OK;
  atomic_store(&j->broken, 1);
  return pz__fail(PZ_EIO,
                  "journal %s was deleted or replaced while the engine wrote "
                  "to it: the writes since are in no file a reopen reads; "
                  "save a snapshot (pz_engine_save) to start a new journal",
                  j->path.p);
}

/* At most once per IDENTITY_CHECK_MS when no sync runs (fsync never, or
 * interval between syncs): one thread checks. */
#define IDENTITY_CHECK_MS 1000
static int check_identity_now_and_then(pz__journal *j, int64_t now) {
  int64_t last = atomic_load(&j->last_check);
  if (now - last < IDENTITY_CHECK_MS ||
      !atomic_compare_exchange_strong(&j->last_check, &last, now))
    return PZ_OK;
  return check_identity(j);
}

/* Sync the file up to logical position target. One thread syncs (the
 * leader), without the lock, so the writers it covers learn so at once;
 * the others wait for it to end and lead the next sync if it did not cover
 * them. */
static int sync_to(pz__journal *j, uint64_t target) {
  int rc = PZ_OK;
  if (j->wb_cap) { /* what is buffered goes to the kernel first */
    pthread_mutex_lock(&j->mu);
    rc = flush_locked(j);
    pthread_mutex_unlock(&j->mu);
    if (rc) return rc;
  }
  pthread_mutex_lock(&j->sync_mu);
  while (j->synced < target && j->syncing)
    pthread_cond_wait(&j->sync_cv, &j->sync_mu);
  if (j->synced >= target) {
    pthread_mutex_unlock(&j->sync_mu);
    return PZ_OK;
  }
  j->syncing = true; /* rotation waits for this to end: base stays */
  uint64_t want = j->synced_records + j->group;
  pthread_mutex_unlock(&j->sync_mu);
  /* Group commit: writes that are between their check and their record
   * (applying their change) will want a sync too, and so will as many
   * writers as the last sync served (each waits for its sync before it
   * writes again, so they come back): give them a moment (at most
   * GROUP_WAIT_US) to append, so this sync covers them. A lone writer
   * finds its group complete and does not wait. */
  if (j->fsync == PZ__FSYNC_ALWAYS) {
    int64_t t0 = mono_us();
    while ((atomic_load(&j->pending) > 0 || atomic_load(&j->records) < want) &&
           mono_us() - t0 < GROUP_WAIT_US)
      sched_yield();
  }
  /* every record below end is written: the sync covers the other
   * writers' records too */
  uint64_t recs = atomic_load(&j->records);
  uint64_t upto = j->base + atomic_load(&j->end);
  int idrc = check_identity(j);
  bool ok = !idrc && !pz__fault("fsync") && fdatasync(j->fd) == 0;
  int err = errno;
  pthread_mutex_lock(&j->sync_mu);
  if (idrc) {
    rc = idrc;
  } else if (ok) {
    j->synced = PZ__MAX(j->synced, PZ__MAX(target, upto));
    j->group = recs - j->synced_records;
    j->synced_records = recs;
  } else {
    atomic_store(&j->broken, 1);
    rc = pz__fail(PZ_EIO,
                  "journal %s: cannot sync: %s; the change is made but "
                  "may not survive a crash",
                  j->path.p, strerror(err));
  }
  j->last_sync = mono_ms();
  j->syncing = false;
  pthread_cond_broadcast(&j->sync_cv);
  pthread_mutex_unlock(&j->sync_mu);
  return rc;
}

int pz__journal_commit(pz__journal *j, uint64_t end) {
  if (j->fsync == PZ__FSYNC_ALWAYS) return sync_to(j, end);
  int64_t now = mono_ms(); /* one clock reading for both questions */
  if (j->fsync == PZ__FSYNC_INTERVAL &&
      now - atomic_load(&j->last_sync) >= j->interval_ms)
    return sync_to(j, end);
  return check_identity_now_and_then(j, now);
}

int pz__journal_sync(pz__journal *j) {
  pthread_mutex_lock(&j->mu);
  uint64_t target = j->base + j->end;
  pthread_mutex_unlock(&j->mu);
  return sync_to(j, target);
}

bool pz__journal_broken(pz__journal *j) { return atomic_load(&j->broken); }
void pz__journal_pos(pz__journal *j, uint64_t *gen, uint64_t *off) {
  pthread_mutex_lock(&j->mu);
  *gen = j->gen;
  *off = j->end;
  pthread_mutex_unlock(&j->mu);
}

/* ---- the file -------------------------------------------------------------- */

/* gen: the generation; base: where in the previous generation this one
 * starts (the offset the snapshot that began it records), 0 for the
 * first. */
static void header(uint8_t h[J_HEADER], uint64_t gen, uint64_t base,
                   const pz__journal *hid) {
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
                        const pz__journal *hid, uint64_t *gen,
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

static pz__journal *journal_new(const pz__jopen *o) {
  pz__journal *j = pz__calloc(o->a, 1, sizeof *j);
  if (!j) return NULL;
  j->a = o->a;
  j->fd = -1;
  j->seed = o->seed;
  j->bits = o->bits;
  j->fsync = o->cfg->fsync;
  j->interval_ms = o->cfg->interval_ms;
  j->last_sync = j->last_check = mono_ms();
  if (pz__text_set(o->a, &j->path, o->cfg->journal.p, o->cfg->journal.len)) {
    pz__free(o->a, j, sizeof *j);
    return NULL;
  }
  /* with fsync: always every record is written and synced at once */
  if (o->cfg->buffer && o->cfg->fsync != PZ__FSYNC_ALWAYS) {
    if (!(j->wb = pz__malloc(o->a, o->cfg->buffer))) {
      pz__text_free(o->a, &j->path);
      pz__free(o->a, j, sizeof *j);
      return NULL;
    }
    j->wb_cap = o->cfg->buffer;
  }
#if defined(__GLIBC__) && defined(PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP)
  /* held for one pwrite: waiters spin a little before they sleep, which
   * spares concurrent writers a futex round trip per record */
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ADAPTIVE_NP);
  pthread_mutex_init(&j->mu, &at);
  pthread_mutexattr_destroy(&at);
#else
  pthread_mutex_init(&j->mu, NULL);
#endif
  pthread_mutex_init(&j->sync_mu, NULL);
  pthread_cond_init(&j->sync_cv, NULL);
  return j;
}

void pz__journal_free(pz__journal *j, const pz__alloc *a) {
  if (!j) return;
  if (j->fd >= 0 && !atomic_load(&j->broken)) (void)flush_locked(j);
  if (j->wb) pz__free(a, j->wb, j->wb_cap);
  if (j->fd >= 0) {
    /* the blocks claimed ahead go back (a crash leaves them: a zero tail,
     * which a replay drops) */
    if (j->reserved > j->end && j->reserved != UINT64_MAX &&
        !atomic_load(&j->broken))
      (void)!ftruncate(j->fd, (off_t)j->end);
    if (j->fsync != PZ__FSYNC_NEVER && j->synced < j->base + j->end)
      fdatasync(j->fd);
    close(j->fd);
  }
  pz__text_free(a, &j->path);
  pthread_mutex_destroy(&j->mu);
  pthread_mutex_destroy(&j->sync_mu);
  pthread_cond_destroy(&j->sync_cv);
  pz__free(a, j, sizeof *j);
}

void pz__journal_abandon(pz__journal *j) {
  if (j && j->fd >= 0) {
    close(j->fd);
    j->fd = -1;
  }
}

int pz__journal_rotate(pz__journal *j, uint64_t off) {
  pthread_mutex_lock(&j->mu);
  pthread_mutex_lock(&j->sync_mu);
  while (j->syncing) /* a leader reads base and fd without the locks */
    pthread_cond_wait(&j->sync_cv, &j->sync_mu);
  int rc = flush_locked(j);
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
  header(h, j->gen + 1, off, j);
  int fd = -1;
  if (!rc) rc = pz__file_replace(j->path.p, h, J_HEADER, body, len, &fd);
  if (fd >= 0) { /* in place (even if its directory entry is not synced) */
    close(j->fd);
    j->fd = fd;
    j->gen++;
    /* everything written before is in the snapshot or the new file,
     * synced: every position taken before counts as synced */
    j->base += j->end;
    j->end = J_HEADER + len;
    j->synced = j->base + j->end;
    atomic_store(&j->reserved, J_HEADER + len);
    atomic_store(&j->broken, 0);
  }
  pz__free(j->a, body, len);
  pthread_mutex_unlock(&j->sync_mu);
  pthread_mutex_unlock(&j->mu);
  return rc;
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
static int replay(const pz__jopen *o, pz__journal *j, uint64_t off,
                  uint64_t size, uint64_t *good) {
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
      char *np = pz__malloc(o->a, len);
      if (!np) {
        rc = PZ_ENOMEM;
        break;
      }
      pz__free_wipe(o->a, p, cap);
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
      /* the last record, torn (what follows it: nothing, or the zeros of
       * blocks claimed ahead) */
      if (all_zero(j->fd, off + J_RH + len, size)) break;
      rc = pz__fail(PZ_ECORRUPT,
                    "journal %s, byte %llu: checksum mismatch in a record "
                    "followed by others",
                    j->path.p, (unsigned long long)off);
      break;
    }
    rc = o->replay(o->ctx, (const uint8_t *)p, len);
    if (rc && rc != PZ_ENOMEM) {
      char msg[400];
      snprintf(msg, sizeof msg, "%s", pz_errmsg());
      rc = pz__fail(PZ_ECORRUPT, "journal %s, byte %llu: record %llu %s",
                    j->path.p, (unsigned long long)off,
                    (unsigned long long)n_rec, msg);
    }
    if (rc) break;
    off += J_RH + (uint64_t)len;
    n_rec++;
  }
  pz__free_wipe(o->a, p, cap);
  *good = off;
  return rc;
}

int pz__journal_open(pz__journal **out, const pz__jopen *o) {
  *out = NULL;
  const char *path = o->cfg->journal.p;
  bool has_snap = o->has_snap;
  uint64_t gen = o->gen, off = o->off;
  if (!path) return PZ_OK;
  if (!pz__host_little_endian())
    return pz__fail(PZ_EFORMAT, "journals need a little-endian host");
  pz__journal *j = journal_new(o);
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
    header(h, j->gen, has_snap ? off : 0, j);
    if (pwrite_all(j->fd, h, J_HEADER, 0) != 0 || fdatasync(j->fd) != 0)
      rc = pz__fail(PZ_EIO, "%s: cannot write the journal: %s", path,
                    strerror(errno));
    if (!rc) rc = pz__dir_sync(path);
    j->end = j->synced = J_HEADER;
    atomic_store(&j->reserved, J_HEADER);
  } else if (j->fd < 0) {
    int err = errno;
    rc = pz__fail(PZ_EIO, "%s: cannot open the journal: %s%s", path,
                  strerror(err), pz__path_hint(path, err));
  } else {
    struct stat st;
    uint8_t h[J_HEADER];
    uint64_t jgen = 0, base = 0, start = J_HEADER;
    if (fstat(j->fd, &st) != 0 || !S_ISREG(st.st_mode))
      rc = pz__fail(PZ_EIO, "%s: the journal is not a regular file", path);
    else if ((uint64_t)st.st_size < J_HEADER ||
             pread(j->fd, h, J_HEADER, 0) != J_HEADER)
      rc = pz__fail(PZ_EFORMAT, "%s: too short for a journal", path);
    if (!rc) rc = check_header(h, path, j, &jgen, &base);
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
    if (!rc) rc = replay(o, j, start, size, &good);
    if (!rc && good < size) { /* drop the torn tail */
      if (ftruncate(j->fd, (off_t)good) != 0 || fdatasync(j->fd) != 0)
        rc = pz__fail(PZ_EIO, "%s: cannot cut the torn last record: %s",
                      path, strerror(errno));
    }
    j->end = j->synced = good;
    atomic_store(&j->reserved, good);
  }
  if (rc) {
    pz__journal_free(j, o->a);
    return rc;
  }
  *out = j;
  return PZ_OK;
}
