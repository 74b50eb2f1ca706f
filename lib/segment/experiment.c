/* Deterministic bucketing. The algorithm is part of the API (documented in
 * pz_experiment_assign(3), pinned by tests/data/experiment_vectors.tsv):
 *   h = XXH3_64bits_withSeed(UTF-8 bytes of the id, seed)
 *   u = (h >> 11) * 2^-53                    (exact: 53 bits in a double)
 *   variant i owns [lo_i, hi_i) with lo_i = S_i / W and
 *   hi_i = lo_i + coverage * (w_i / W), S_i the sum of the weights before
 *   it and W their total, all in IEEE-754 double arithmetic.
 * A variant's start never depends on coverage, so raising coverage only
 * lengthens ranges: nobody already assigned moves. */
#include "segment.h"

double pz__experiment_bucket(const char *id, size_t len, uint64_t seed) {
  uint64_t h = pz__hash_bytes(id, len, seed);
  return (double)(h >> 11) * 0x1p-53;
}

int pz__experiment_variant(const pz__experiment *x, const char *id,
                           size_t len) {
  double u = pz__experiment_bucket(id, len, x->seed);
  for (uint32_t i = 0; i < x->nv; i++)
    if (u >= x->v[i].lo && u < x->v[i].hi) return (int)i;
  return -1;
}
