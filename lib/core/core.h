/*
 * lib/core/core.h - internal: allocator, error reporting, validation,
 * id maps, clock, growable text buffers. Every module may use it.
 */
#ifndef PZ_CORE_H
#define PZ_CORE_H

#include "personalize/common.h"
#include "personalize/errors.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- allocator ------------------------------------------------------ */

typedef struct pz__alloc {
  pz_alloc_fn fn;
  void *ud;
} pz__alloc;

void pz__alloc_default(pz__alloc *a);
/* malloc-like; sets PZ_ENOMEM text on failure. size 0 returns NULL. */
void *pz__malloc(const pz__alloc *a, size_t size);
/* n * size zeroed bytes; overflow counts as failure. */
void *pz__calloc(const pz__alloc *a, size_t n, size_t size);
/* Resize; on failure returns NULL and leaves p intact. */
void *pz__realloc(const pz__alloc *a, void *p, size_t osize, size_t nsize);
void pz__free(const pz__alloc *a, void *p, size_t size);
/* Overwrite the block before freeing it (erased personal data). */
void pz__free_wipe(const pz__alloc *a, void *p, size_t size);
void pz__wipe(void *p, size_t size);
/* Copy len bytes plus a NUL. */
char *pz__strndup(const pz__alloc *a, const char *s, size_t len);
/* Grow an array of elem-sized entries so that it holds at least need;
 * *cap is updated. Returns PZ_OK or PZ_ENOMEM (array untouched). */
int pz__grow(const pz__alloc *a, void **arr, uint32_t *cap, uint32_t need,
             size_t elem);

/* ---- errors --------------------------------------------------------- */

/* Set this thread's message (printf-style) and return code. */
int pz__fail(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Out-of-memory: fixed text, no formatting, returns PZ_ENOMEM. */
int pz__oom(void);

/* ---- host-chosen limits (config section limits) ------------------------ */
/* Nonzero while this thread replays a journal or restores a snapshot:
 * what was accepted once is not refused for a limit lowered since. */
extern _Thread_local int pz__unbounded;
/* Would one more make n pass max (0: no limit)? */
/* Bit i of a bitmap of 64-bit words. */
static inline bool pz__bit(const uint64_t *b, uint32_t i) {
  return (b[i >> 6] >> (i & 63)) & 1;
}

static inline bool pz__over_limit(uint64_t n, uint64_t more, uint64_t max) {
  return max && !pz__unbounded && n + more > max;
}

/* ---- validation ----------------------------------------------------- */

bool pz__utf8_valid(const char *s, size_t len);
/* NUL-terminated UTF-8, 1..max bytes; what names the argument in errors.
 * On success *len_out (may be NULL) gets the length. */
int pz__check_str(const char *s, size_t max, const char *what,
                  size_t *len_out);
int pz__check_finite(double v, const char *what);

/* ---- hashing of ids --------------------------------------------------- */

uint64_t pz__hash_bytes(const void *p, size_t len, uint64_t seed);

/* ---- id map: string -> dense uint32 index ----------------------------- */
/* Slots hold a 32-bit hash tag and index+1; the strings live with their
 * owners and are read back through key_of, so a slot costs 8 bytes. */
typedef const char *(*pz__key_fn)(const void *ctx, uint32_t idx,
                                   size_t *len_out);
typedef struct pz__idmap {
  uint64_t *slots; /* (tag << 32) | (idx + 1); 0 empty; UINT64_MAX gone */
  uint32_t cap;    /* power of two, or 0 */
  uint32_t used;   /* live entries */
  uint32_t dead;   /* tombstones */
} pz__idmap;

void pz__idmap_init(pz__idmap *m);
void pz__idmap_free(const pz__alloc *a, pz__idmap *m);
/* Returns idx or UINT32_MAX. */
uint32_t pz__idmap_find(const pz__idmap *m, uint64_t hash, const char *key,
                        size_t len, pz__key_fn key_of, const void *ctx);
/* Make room for one more entry (may rehash). PZ_OK or PZ_ENOMEM. */
int pz__idmap_reserve(const pz__alloc *a, pz__idmap *m, pz__key_fn key_of,
                      const void *ctx);
/* Prefetch the first slot hash probes; the index in that slot when its
 * tag matches (the key is not compared: a guess, for prefetching), else
 * UINT32_MAX. */
void pz__idmap_prefetch(const pz__idmap *m, uint64_t hash);
uint32_t pz__idmap_peek(const pz__idmap *m, uint64_t hash);
/* Insert after pz__idmap_reserve succeeded; key must be absent. */
void pz__idmap_insert(pz__idmap *m, uint64_t hash, uint32_t idx);
/* Remove idx (which must be present under hash). */
void pz__idmap_remove(pz__idmap *m, uint64_t hash, uint32_t idx);

/* ---- clock ------------------------------------------------------------ */

int64_t pz__clock_system(void *ud);

/* Times read from files are refused beyond these bounds, so that the
 * difference of two times, or a time plus a configured duration, cannot
 * overflow: a snapshot's landmarks and event times lie within +/- 2^61 ms
 * (some 73 million years), a journal record's clock reading within half
 * of that (what a replayed call derives from it, such as an event 366
 * days later, stays within the snapshot's bound). */
#define PZ__FILE_TIME_MAX (INT64_C(1) << 61)
#define PZ__FILE_TIME_OK(t) ((t) >= -PZ__FILE_TIME_MAX && (t) <= PZ__FILE_TIME_MAX)

/* ---- text buffer (JSON writing) --------------------------------------- */

typedef struct pz__buf {
  const pz__alloc *a;
  char *p;
  size_t len, cap;
  int err; /* sticky PZ_ENOMEM */
} pz__buf;

void pz__buf_init(pz__buf *b, const pz__alloc *a);
void pz__buf_free(pz__buf *b);
void pz__buf_put(pz__buf *b, const char *s, size_t len);
void pz__buf_puts(pz__buf *b, const char *s);
void pz__buf_printf(pz__buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string literal with quotes; s must be valid UTF-8. */
void pz__buf_json_str(pz__buf *b, const char *s, size_t len);
/* A JSON number (finite doubles; non-finite are written as null). */
void pz__buf_json_num(pz__buf *b, double v);

/* ---- binary encoding (snapshots, journal; little-endian hosts) --------- */

bool pz__host_little_endian(void);
/* XXH3-64 of a block (the snapshot and journal checksums). */
uint64_t pz__checksum(const void *p, size_t len);
void pz__buf_u8(pz__buf *b, uint8_t v);
void pz__buf_u16(pz__buf *b, uint16_t v);
void pz__buf_u32(pz__buf *b, uint32_t v);
void pz__buf_u64(pz__buf *b, uint64_t v);
void pz__buf_i64(pz__buf *b, int64_t v);
void pz__buf_f32(pz__buf *b, float v);
void pz__buf_f64(pz__buf *b, double v);
/* u32 length, then the bytes. */
void pz__buf_str(pz__buf *b, const char *s, size_t len);
void pz__buf_array(pz__buf *b, const void *p, uint64_t n, size_t elem);
/* Zero bytes up to a multiple of `to` (at most 64). */
void pz__buf_align(pz__buf *b, size_t to);

/* A bounded reader. Every read checks the bytes left; the first failure
 * sets err (PZ_ECORRUPT, message "WHAT, byte N: ...") and later reads
 * return zeros / NULL, so a decoder checks err once where convenient. */
typedef struct pz__rd {
  const uint8_t *p;
  size_t len, pos;
  const char *what;
  int err;
} pz__rd;
void pz__rd_init(pz__rd *r, const void *p, size_t len, const char *what);
int pz__rd_bad(pz__rd *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
bool pz__rd_need(pz__rd *r, uint64_t n);
const void *pz__rd_bytes(pz__rd *r, uint64_t n);
uint8_t pz__rd_u8(pz__rd *r);
uint16_t pz__rd_u16(pz__rd *r);
uint32_t pz__rd_u32(pz__rd *r);
uint64_t pz__rd_u64(pz__rd *r);
int64_t pz__rd_i64(pz__rd *r);
float pz__rd_f32(pz__rd *r);
double pz__rd_f64(pz__rd *r);
/* n entries of elem bytes (unaligned: copy them out with memcpy). */
const void *pz__rd_array(pz__rd *r, uint64_t n, size_t elem);
/* Is a count of n sane: at most max, and n * min_elem bytes left? Checked
 * before allocating anything sized by n. */
bool pz__rd_count(pz__rd *r, uint64_t n, size_t min_elem, uint64_t max);
/* n entries of elem bytes copied out of the reader into a new block from
 * a (NULL when n is 0). Returns the reader's error, PZ_ENOMEM or PZ_OK. */
void *pz__rd_take(pz__rd *r, const pz__alloc *a, uint64_t n, size_t elem,
                  int *rc);
/* A u32-length string of at most max bytes of UTF-8 without NULs. */
const char *pz__rd_str(pz__rd *r, size_t max, size_t *len_out, bool empty_ok,
                       const char *what);
bool pz__rd_align(pz__rd *r, size_t to);
bool pz__rd_finite_f32(pz__rd *r, const float *v, uint64_t n,
                       const char *what);

/* ---- kept source text (configuration and rule documents) ---------------- */

typedef struct pz__text {
  char *p; /* len bytes plus a NUL, or NULL when not set */
  size_t len;
} pz__text;
/* Replace t with a copy of len bytes of s; on failure t is unchanged. */
int pz__text_set(const pz__alloc *a, pz__text *t, const char *s, size_t len);
void pz__text_free(const pz__alloc *a, pz__text *t);

/* ---- numbers, whatever the host's LC_NUMERIC ----------------------------- */

/* strtod for plain decimal text ("-1.5e3") that always reads '.' as the
 * decimal point; anything else (hex, inf, nan, "1,5") ends at s. */
double pz__strtod_c(const char *s, char **end);
/* After printf-style formatting: the locale's decimal point back to '.'. */
void pz__fix_decimal_point(char *s);

/* ---- locks ------------------------------------------------------------------ */

/* A read-write lock where a waiting writer goes before new readers (on
 * glibc; elsewhere the system's default). PZ_OK or PZ_ENOMEM. */
int pz__rwlock_init(pthread_rwlock_t *l);

/* ---- model builds ------------------------------------------------------- */

/* A derived model (clusters, CF) is built beside the serving one without
 * holding the state lock, one build at a time. Users erased or merged away
 * meanwhile are noted here so the swap can leave them out. */
typedef struct pz__gone {
  uint8_t len;
  char id[PZ_ID_MAX + 1];
} pz__gone;

typedef struct pz__builds {
  pthread_mutex_t build_mu, gone_mu;
  bool building, lost; /* lost: a note failed (out of memory) */
  pz__gone *gone;
  uint32_t n_gone, gone_cap;
} pz__builds;

int pz__builds_init(pz__builds *b);
void pz__builds_free(const pz__alloc *a, pz__builds *b);
/* Take the build mutex and start an empty list. */
void pz__builds_begin(pz__builds *b);
/* The list so far; false when a note was lost (the caller must then
 * assume anyone may be gone). */
bool pz__builds_gone(pz__builds *b, const pz__gone **list, uint32_t *n);
/* Wipe the list and release the build mutex. */
void pz__builds_end(pz__builds *b);
/* Note an id when a build is running. */
void pz__builds_note(const pz__alloc *a, pz__builds *b, const char *id,
                     size_t len);

/* ---- misc ------------------------------------------------------------- */

/* For the few per-item functions of hot loops that have two callers. */
#if defined(__GNUC__)
#define PZ__HOT_INLINE static inline __attribute__((always_inline))
#else
#define PZ__HOT_INLINE static inline
#endif

/* A hint to fetch the cache line at p (never faults, never reads). */
#if defined(__GNUC__)
#define PZ__PREFETCH(p) __builtin_prefetch(p)
#else
#define PZ__PREFETCH(p) ((void)(p))
#endif

#define PZ__MIN(a, b) ((a) < (b) ? (a) : (b))
#define PZ__MAX(a, b) ((a) > (b) ? (a) : (b))

#endif /* PZ_CORE_H */
