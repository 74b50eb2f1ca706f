/* Read-write locks that let a waiting writer in. Requests hold the model
 * states' and the catalogue's read locks for their whole scan; with glibc's
 * default (readers first), a steady stream of overlapping requests would
 * keep an erasure or a model swap waiting indefinitely. No path takes one
 * of these read locks twice, which writer preference would deadlock. */
#if defined(__linux__)
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#endif
#include "core.h"

int pz__rwlock_init(pthread_rwlock_t *l) {
#if defined(__GLIBC__)
  pthread_rwlockattr_t at;
  if (pthread_rwlockattr_init(&at)) return PZ_ENOMEM;
  pthread_rwlockattr_setkind_np(&at,
                                PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  int rc = pthread_rwlock_init(l, &at);
  pthread_rwlockattr_destroy(&at);
  return rc ? PZ_ENOMEM : PZ_OK;
#else
  return pthread_rwlock_init(l, NULL) ? PZ_ENOMEM : PZ_OK;
#endif
}
