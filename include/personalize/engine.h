/*
 * personalize/engine.h - the root handle.
 *
 * An engine owns its configuration, catalogue and profiles. It is
 * configured by one YAML file (personalize.yaml(5)); every key has a
 * default, so pz_engine_open(&e, NULL) works. Thread safety: see common.h;
 * pz_engine_free must not run concurrently with any other call on e.
 */
#ifndef PERSONALIZE_ENGINE_H
#define PERSONALIZE_ENGINE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PZ_ENGINE_OPTIONS_VERSION 1

/** Options for pz_engine_open_with(). Grows only at the end. */
typedef struct pz_engine_options {
  unsigned int version;    /**< PZ_ENGINE_OPTIONS_VERSION */
  pz_alloc_fn alloc;       /**< NULL: realloc/free */
  void *alloc_ud;          /**< passed to alloc */
  pz_clock_fn clock;       /**< NULL: the system's real-time clock */
  void *clock_ud;          /**< passed to clock */
  const char *config_path; /**< YAML file, or NULL */
  const char *config_text; /**< YAML text (used when config_path is NULL) */
  size_t config_len;       /**< bytes of config_text */
} pz_engine_options;

/**
 * Fill *opts with defaults for the given struct version.
 * @return PZ_OK; PZ_EINVAL (opts NULL); PZ_EVERSION (unknown version).
 * Thread safety: any thread. Since 0.1.
 */
PZ_API int pz_engine_options_init(pz_engine_options *opts, unsigned int version);

/**
 * Open an engine configured by the YAML file at config_path (NULL: all
 * defaults). On failure *out is set to NULL.
 * @return PZ_OK; PZ_EINVAL (out NULL); PZ_EIO (unreadable file);
 *         PZ_ECONFIG (bad YAML, unknown key, wrong type or value; the
 *         message gives file:line:column); PZ_ENOMEM. Since 0.1.
 */
PZ_API int pz_engine_open(pz_engine **out, const char *config_path);

/**
 * Open an engine configured by `len` bytes of YAML text (positions in
 * messages name "<string>"). yaml may be NULL only when len is 0.
 * @return as pz_engine_open(). Since 0.1.
 */
PZ_API int pz_engine_open_string(pz_engine **out, const char *yaml, size_t len);

/**
 * Open an engine with an allocator, a clock and a configuration source.
 * opts == NULL is the same as pz_engine_open(out, NULL).
 * @return as pz_engine_open(), and PZ_EVERSION for an unknown
 *         opts->version. Since 0.1.
 */
PZ_API int pz_engine_open_with(pz_engine **out, const pz_engine_options *opts);

/** Free the engine and everything it owns; NULL is ignored. Since 0.1. */
PZ_API void pz_engine_free(pz_engine *e);

/**
 * Replace the engine's clock (fn NULL restores the system clock). The
 * clock gives "now" wherever a timestamp argument is 0; a reading below 0
 * or past the end of year 9999 (253402300799999 ms) is clamped to that
 * range.
 * Thread safety: not concurrently with other calls on e. Since 0.1.
 * @return PZ_OK; PZ_EINVAL (e NULL).
 */
PZ_API int pz_engine_set_clock(pz_engine *e, pz_clock_fn fn, void *ud);

/**
 * The engine's current time in milliseconds since the epoch.
 * @return PZ_OK; PZ_EINVAL (NULL pointer). Since 0.1.
 */
PZ_API int pz_engine_now(int64_t *now_out, const pz_engine *e);

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_ENGINE_H */
