/* Files written atomically (temporary file, fsync, rename, fsync of the
 * directory) and files read whole. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int (*pz__store_fault)(const char *op);

int pz__fault(const char *op) {
  int err = pz__store_fault ? pz__store_fault(op) : 0;
  if (err) errno = err;
  return err;
}

static int write_all(int fd, const void *p, size_t len) {
  if (pz__fault("write")) return -1;
  const char *c = p;
  while (len) {
    ssize_t n = write(fd, c, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    c += n;
    len -= (size_t)n;
  }
  return 0;
}

int pz__dir_sync(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (!slash) {
    strcpy(dir, ".");
  } else if (slash == path) {
    strcpy(dir, "/");
  } else {
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir) return pz__fail(PZ_EIO, "%s: path too long", path);
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  int fd = pz__fault("dirsync") ? -1
                                : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return pz__fail(PZ_EIO, "%s: cannot open the directory: %s", dir,
                    strerror(errno));
  int rc = fsync(fd) == 0 || errno == EINVAL ? PZ_OK
               : pz__fail(PZ_EIO, "%s: cannot sync the directory: %s", dir,
                          strerror(errno));
  close(fd);
  return rc;
}

/* dir gets path's directory ("." when none), *base its last component. */
static void split_path(const char *path, char dir[4096], const char **base) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, 4096, ".");
    *base = path;
    return;
  }
  size_t n = (size_t)(slash - path);
  if (n == 0) n = 1; /* "/x": the root */
  if (n > 4095) n = 4095;
  memcpy(dir, path, n);
  dir[n] = '\0';
  *base = slash + 1;
}

const char *pz__path_hint(const char *path, int err) {
  if (err == EACCES || err == EROFS)
    return " (the directory must be writable by this process)";
  if (err != ENOENT) return "";
  char dir[4096];
  const char *base;
  split_path(path, dir, &base);
  struct stat st;
  if (stat(dir, &st) == 0) return "";
  return " (its directory does not exist: the library does not create "
         "directories; make it first, e.g. mkdir -p -m 700)";
}

bool pz__same_file(const char *a, const char *b) {
  struct stat sa, sb;
  bool ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
  if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (ea || eb) return false;
  /* neither exists yet: the same name in the same directory */
  char da[4096], db[4096];
  const char *na, *nb;
  split_path(a, da, &na);
  split_path(b, db, &nb);
  if (strcmp(na, nb) != 0) return false;
  if (stat(da, &sa) != 0 || stat(db, &sb) != 0) return strcmp(da, db) == 0;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int pz__file_sweep(const char *path) {
  char dir[4096];
  const char *base;
  if (strlen(path) > 4000) return 0;
  split_path(path, dir, &base);
  size_t blen = strlen(base);
  DIR *d = opendir(dir);
  if (!d) return 0;
  int removed = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    /* BASE.tmp.PID.N, as pz__file_replace names them */
    const char *n = de->d_name;
    if (strncmp(n, base, blen) != 0 || strncmp(n + blen, ".tmp.", 5) != 0)
      continue;
    char *end;
    errno = 0;
    long pid = strtol(n + blen + 5, &end, 10);
    if (errno || pid <= 0 || end == n + blen + 5 || *end != '.') continue;
    const char *serial = end + 1;
    if (!*serial || strspn(serial, "0123456789") != strlen(serial)) continue;
    /* only when its writer is gone (a live process may be mid-save) */
    if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
      continue;
    char full[8192];
    snprintf(full, sizeof full, "%s/%s", dir, n);
    struct stat st;
    if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && unlink(full) == 0)
      removed++;
  }
  closedir(d);
  return removed;
}

int pz__file_replace(const char *path, const void *head, size_t head_len,
                     const void *body, size_t body_len, int *fd_out) {
  if (fd_out) *fd_out = -1;
  size_t plen = strlen(path);
  if (plen > 4000) return pz__fail(PZ_EINVAL, "path longer than 4000 bytes");
  static _Atomic unsigned long serial;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lu", path, (long)getpid(),
           (unsigned long)atomic_fetch_add(&serial, 1));
  /* 0600: the file holds personal data */
  int fd = pz__fault("create")
               ? -1
               : open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    return pz__fail(PZ_EIO, "%s: cannot create: %s%s", tmp, strerror(err),
                    pz__path_hint(path, err));
  }
  const char *step = "write";
  /* a journal is locked before its name appears */
  int ok = (!fd_out || flock(fd, LOCK_EX | LOCK_NB) == 0 ||
            (step = "lock", false)) &&
           write_all(fd, head, head_len) == 0 &&
           (!body_len || write_all(fd, body, body_len) == 0);
  if (ok && !(ok = !pz__fault("sync") && fdatasync(fd) == 0)) step = "sync";
  if (ok && !(ok = !pz__fault("rename") && rename(tmp, path) == 0))
    step = "rename over the target";
  if (!ok) {
    int err = errno;
    close(fd);
    unlink(tmp);
    return pz__fail(PZ_EIO, "%s: cannot %s: %s", path, step,
                    strerror(err ? err : EIO));
  }
  /* renamed: the new file is the one at path now, whatever the directory
   * sync says, so the caller gets it */
  int rc = pz__dir_sync(path);
  if (rc) {
    char why[256];
    snprintf(why, sizeof why, "%s", pz_errmsg());
    pz__fail(PZ_EIO, "%s: written and renamed, but the directory could not "
                     "be synced (%s): the new file may not survive a crash",
             path, why);
  }
  if (fd_out)
    *fd_out = fd;
  else
    close(fd);
  return rc;
}

int pz__file_read(const pz__alloc *a, const char *path, uint8_t **buf,
                  size_t *len) {
  *buf = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return pz__fail(PZ_EIO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return pz__fail(PZ_EIO, "%s: not a regular file", path);
  }
  size_t size = (size_t)st.st_size;
  uint8_t *p = size ? pz__malloc(a, size) : NULL;
  if (size && !p) {
    close(fd);
    return PZ_ENOMEM;
  }
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, p + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  int err = errno;
  close(fd);
  if (got != size) {
    pz__free(a, p, size);
    return pz__fail(PZ_EIO, "%s: read error: %s", path,
                    got < size ? "the file shrank while read" : strerror(err));
  }
  *buf = p;
  *len = size;
  return PZ_OK;
}
