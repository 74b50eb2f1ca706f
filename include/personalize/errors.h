/*
 * personalize/errors.h - status codes and error text.
 *
 * Every fallible function returns PZ_OK (0) or one of the negative codes
 * below. Values are pinned forever: a code is never renumbered or reused.
 */
#ifndef PERSONALIZE_ERRORS_H
#define PERSONALIZE_ERRORS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pz_status {
  PZ_OK = 0,         /**< success */
  PZ_ERROR = -1,     /**< internal error (a bug: please report it) */
  PZ_ENOMEM = -2,    /**< out of memory; nothing was changed */
  PZ_EINVAL = -3,    /**< invalid argument (NULL, empty, too long, bad UTF-8, NaN...) */
  PZ_ENOTFOUND = -4, /**< no such user, item, attribute, event type or purpose */
  PZ_EEXISTS = -5,   /**< already exists */
  PZ_EBUFS = -6,     /**< caller buffer too small; the needed size was stored */
  PZ_ERANGE = -7,    /**< a number outside its documented bounds */
  PZ_EVERSION = -8,  /**< an options struct or file of an unknown version */
  PZ_ECONFIG = -9,   /**< configuration error; pz_errmsg() gives file:line:column */
  PZ_EIO = -10,      /**< a file could not be read or written */
  PZ_EFORMAT = -11,  /**< input is not in the expected format */
  PZ_ECORRUPT = -12, /**< input is damaged (checksum mismatch, inconsistent) */
  PZ_ECONSENT = -13, /**< the user has not consented to this purpose */
  PZ_ETYPE = -14,    /**< a value of another type is stored under that name */
  PZ_ELIMIT = -15,   /**< a capacity limit of the engine would be exceeded */
  PZ_EFORK = -16,    /**< the engine belongs to another process: this one is a
                          fork() of the one that opened it (since 1.2) */
  PZ_EUSER = -30     /**< reserved for callers' callbacks; never produced here */
} pz_status;

/**
 * Fixed English text for a status code ("out of memory"). Never NULL: an
 * unknown code gives "unknown status code". The string is static.
 * Thread safety: any thread. Since 0.1.
 */
PZ_API const char *pz_strerror(int status);

/**
 * Detail of the last failure of a pz_* call on the calling thread, one line
 * (e.g. "config.yaml:12:7: unknown key \"half_lfe\" in decay"). Returns
 * "no error" when the thread has seen no failure. Successful calls do not
 * clear it. The string is thread-local and valid until the thread's next
 * failing pz_* call. Out of memory never allocates to report itself.
 * Thread safety: any thread. Since 0.1.
 */
PZ_API const char *pz_errmsg(void);

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_ERRORS_H */
