#include "svec.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

void pz__feature_hash(const pz__hashid *h, const char *s, size_t len,
                      uint32_t *index, int *sign) {
  uint64_t x = XXH3_64bits_withSeed(s, len, h->seed);
  *index = (uint32_t)(x & ((UINT64_C(1) << h->bits) - 1));
  *sign = (x >> 63) ? -1 : 1;
}

PZ_API int pz_feature_hash(uint32_t *index_out, int *sign_out,
                           const char *feature, uint64_t seed,
                           unsigned int bits) {
  if (!index_out) return pz__fail(PZ_EINVAL, "index_out is NULL");
  size_t len;
  int rc = pz__check_str(feature, PZ_FEATURE_MAX, "feature", &len);
  if (rc) return rc;
  if (bits < PZ_HASH_BITS_MIN || bits > PZ_HASH_BITS_MAX)
    return pz__fail(PZ_ERANGE, "bits must be between %d and %d, not %u",
                    PZ_HASH_BITS_MIN, PZ_HASH_BITS_MAX, bits);
  pz__hashid h = {seed, bits};
  int sign;
  pz__feature_hash(&h, feature, len, index_out, &sign);
  if (sign_out) *sign_out = sign;
  return PZ_OK;
}
