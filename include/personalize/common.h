/*
 * personalize/common.h - shared types and the export macro of libpersonalize.
 *
 * Thread safety (the whole library; see libpersonalize(7)):
 *   - A pz_engine may be shared by many threads. Reads (pz_recommend,
 *     pz_profile_interests, pz_profile_export, getters) run concurrently;
 *     writes (pz_track, setters, pz_item_put, erase, merge) are serialized
 *     per user shard or on the catalogue, never across the whole engine.
 *   - Result objects (pz_recs, pz_interests, pz_list, pz_svec) belong to the thread
 *     that holds them; they do not refer back to the engine and may outlive
 *     it. They free through the engine's allocator, so its `alloc_ud` must
 *     stay valid until they are freed.
 *   - pz_strerror, pz_errmsg, pz_version_* and pz_feature_hash may be
 *     called from any thread at any time. There is no library init function
 *     and no global mutable state.
 *
 * Ownership: what comes back through a `T **out` parameter belongs to the
 * caller and is freed with the matching pz_*_free. A returned `const char *`
 * is borrowed; each function says until when. Inputs are always copied.
 */
#ifndef PERSONALIZE_COMMON_H
#define PERSONALIZE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifndef PZ_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define PZ_API __attribute__((visibility("default")))
#else
#define PZ_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** The root handle: configuration, catalogue, profiles. */
typedef struct pz_engine pz_engine;
/** A ranked list returned by pz_recommend(). */
typedef struct pz_recs pz_recs;
/** A list of a user's top interests returned by pz_profile_interests(). */
typedef struct pz_interests pz_interests;
/** A list of (text, value) pairs: segment names, members, personas. */
typedef struct pz_list pz_list;
/** A hashed sparse vector (see personalize/svec.h). */
typedef struct pz_svec pz_svec;

/**
 * Allocator with Lua's lua_Alloc semantics.
 *   nsize == 0: free ptr (which may be NULL) and return NULL;
 *   ptr == NULL: allocate nsize bytes (osize is then unspecified);
 *   otherwise:   resize the block of osize bytes to nsize bytes.
 * Returning NULL for nsize > 0 means failure; the block is left unchanged.
 * The library always passes the exact osize of the block it frees or resizes.
 */
typedef void *(*pz_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);

/** A clock returning milliseconds since the Unix epoch (UTC). */
typedef int64_t (*pz_clock_fn)(void *ud);

/** Longest identifier (user, item, attribute name, purpose) in bytes. */
#define PZ_ID_MAX 255
/** Longest feature string (`namespace=value`) in bytes. */
#define PZ_FEATURE_MAX 1024

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_COMMON_H */
