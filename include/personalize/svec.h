/*
 * personalize/svec.h - signed feature hashing and hashed sparse vectors.
 *
 * A feature is a UTF-8 string "namespace=value" ("genre=jazz"). Its 64-bit
 * hash is XXH3_64bits_withSeed(bytes, length, seed); the vector index is the
 * low `bits` bits of that hash and its sign is the top bit (bit 63 set:
 * -1, clear: +1). tests/data/feature_hash_vectors.tsv lists reference
 * values so that ports in other languages can check themselves.
 *
 * A pz_svec is a sorted list of (index, value) pairs. It copies the
 * allocator and hash identity of the engine it was made from, so it may
 * outlive that engine as long as the allocator's `ud` stays valid.
 * Thread safety: a pz_svec is used by one thread at a time; pz_svec_dot and
 * pz_svec_cosine only read their arguments.
 */
#ifndef PERSONALIZE_SVEC_H
#define PERSONALIZE_SVEC_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Smallest and largest number of hash bits (the default is 20). */
#define PZ_HASH_BITS_MIN 16
#define PZ_HASH_BITS_MAX 28

/**
 * Hash one feature string.
 * @param index_out  receives the index (0 .. 2^bits - 1)
 * @param sign_out   receives +1 or -1 (may be NULL)
 * @param feature    NUL-terminated UTF-8, 1..PZ_FEATURE_MAX bytes
 * @param seed       hash seed (config `hashing.seed`, default 0)
 * @param bits       PZ_HASH_BITS_MIN..PZ_HASH_BITS_MAX
 * @return PZ_OK; PZ_EINVAL for NULL, empty, overlong or invalid UTF-8;
 *         PZ_ERANGE for bits out of bounds.
 * Thread safety: any thread. Since 0.1.
 */
PZ_API int pz_feature_hash(uint32_t *index_out, int *sign_out,
                           const char *feature, uint64_t seed,
                           unsigned int bits);

/**
 * Create an empty sparse vector that hashes with the engine's identity
 * (hashing.seed, hashing.bits) and allocates with its allocator. With
 * e == NULL the vector uses realloc/free and the default identity (seed 0,
 * 20 bits). Free with pz_svec_free().
 * @return PZ_OK, PZ_EINVAL (out NULL), PZ_ENOMEM. Since 0.1.
 */
PZ_API int pz_svec_new(pz_svec **out, const pz_engine *e);

/** Free a vector; NULL is ignored. Since 0.1. */
PZ_API void pz_svec_free(pz_svec *v);

/**
 * Add weight * sign(feature) at the feature's hashed index (a feature seen
 * twice accumulates). A value that becomes exactly 0 is removed.
 * @return PZ_OK; PZ_EINVAL for NULL, bad feature text, NaN or infinite
 *         weight; PZ_ERANGE when the value would leave the float range
 *         (|value| > 3e38); PZ_ENOMEM. On failure the vector is unchanged.
 * Since 0.1.
 */
PZ_API int pz_svec_add_feature(pz_svec *v, const char *feature, double weight);

/**
 * v += scale * other. Both vectors must share hash identity.
 * @return PZ_OK; PZ_EINVAL for NULL, NaN/infinite scale or a different
 *         identity; PZ_ERANGE when a value could leave the float range;
 *         PZ_ENOMEM. On failure v is unchanged. Since 0.1.
 */
PZ_API int pz_svec_add(pz_svec *v, const pz_svec *other, double scale);

/**
 * Multiply every value by factor (0 empties the vector).
 * @return PZ_OK; PZ_EINVAL for NULL or a NaN/infinite factor; PZ_ERANGE
 *         when a value would leave the float range (v unchanged).
 * Since 0.1.
 */
PZ_API int pz_svec_scale(pz_svec *v, double factor);

/** Dot product of a and b. @return PZ_OK; PZ_EINVAL for NULL or
 *  differing identities. Since 0.1. */
PZ_API int pz_svec_dot(double *out, const pz_svec *a, const pz_svec *b);

/** Euclidean norm of v. @return PZ_OK; PZ_EINVAL for NULL. Since 0.1. */
PZ_API int pz_svec_norm(double *out, const pz_svec *v);

/** Cosine similarity of a and b, 0 when either is empty.
 *  @return PZ_OK; PZ_EINVAL for NULL or differing identities. Since 0.1. */
PZ_API int pz_svec_cosine(double *out, const pz_svec *a, const pz_svec *b);

/** Number of nonzero entries; 0 for NULL. Since 0.1. */
PZ_API size_t pz_svec_nnz(const pz_svec *v);

/**
 * The i-th entry in index order.
 * @return PZ_OK; PZ_EINVAL for NULL; PZ_ERANGE when i >= pz_svec_nnz(v).
 * Since 0.1.
 */
PZ_API int pz_svec_entry(uint32_t *index_out, double *value_out,
                         const pz_svec *v, size_t i);

/**
 * The entries with the largest values, best first; ties break by the
 * smaller index. Writes min(k, nnz) entries into the caller's arrays of
 * `cap` elements each.
 * @return PZ_OK with *n_out set; PZ_EINVAL for NULL pointers or k == 0;
 *         PZ_EBUFS when cap < min(k, nnz), with *n_out = the needed count.
 * Since 0.1.
 */
PZ_API int pz_svec_top(uint32_t *indices, double *values, size_t cap,
                       size_t *n_out, const pz_svec *v, size_t k);

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_SVEC_H */
