/*
 * personalize/segment.h - audiences: rule segments, experiments and
 * discovered clusters. See personalize.yaml(5) for the rule language and
 * pz_segment_load(3), pz_experiment_assign(3), pz_cluster_train(3) for the
 * functions.
 *
 * Rule segments are compiled once (from config `segments:` or at run time
 * with pz_segment_load()) and evaluated against a profile's current state
 * on every call: membership follows the latest event at once, nothing is
 * cached per user and no batch refresh is needed.
 *
 * Experiments assign users to variants deterministically from a 64-bit
 * XXH3 of the UTF-8 user id; nothing is stored per user, so an erased user
 * leaves no assignment behind.
 *
 * Clusters (spherical k-means over users' interest vectors) are a trained
 * model: pz_cluster_train() builds a new one beside the serving one and
 * swaps it in. The model keeps each member's contribution so that erasing
 * a person removes it exactly.
 *
 * Thread safety: every function here may be called from many threads on a
 * shared engine. pz_segment_load(), pz_segment_refresh() and
 * pz_cluster_train() build their result without blocking readers and swap
 * it in under a short exclusive lock.
 */
#ifndef PERSONALIZE_SEGMENT_H
#define PERSONALIZE_SEGMENT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- a list of (text, value) pairs ------------------------------------- */

/** Number of entries; 0 for NULL. Since 0.2. */
PZ_API size_t pz_list_count(const pz_list *l);
/** The i-th text (a segment name, user id or feature), borrowed until
 *  pz_list_free(); NULL if out of range. Since 0.2. */
PZ_API const char *pz_list_text(const pz_list *l, size_t i);
/** The i-th value (a count, a weight; 1 when the list has no values);
 *  NaN if out of range. Since 0.2. */
PZ_API double pz_list_value(const pz_list *l, size_t i);
/** Free the list; NULL is ignored. Since 0.2. */
PZ_API void pz_list_free(pz_list *l);

/* ---- rule segments -------------------------------------------------- */

/**
 * Replace the engine's segments and experiments with those of a YAML
 * document holding `segments:` and/or `experiments:` (the same shape as
 * in the config file; a key left out means none). The whole document is
 * compiled and checked (types, regexes, dates, references, cycles) before
 * anything changes: on any error the engine keeps its previous rules and
 * pz_errmsg() names the place as "segments:LINE:COL: ...".
 * Per-segment popularity (pz_segment_refresh) is kept for segments whose
 * name survives, even if their rule changed: refresh after changing rules.
 * @return PZ_OK; PZ_EINVAL (NULL engine, yaml NULL with len > 0);
 *         PZ_ECONFIG; PZ_ENOMEM. Since 0.2.
 */
PZ_API int pz_segment_load(pz_engine *e, const char *yaml, size_t len);

/**
 * Is `user` in `segment` now? *in_out gets 1 or 0. A user without a
 * profile is evaluated as an empty one: no attributes, counts and sums of
 * 0, no recency, interests of 0 (so `{count: purchase, lt: 1}` holds).
 * Without consent to personalization a profile's behaviour and interests
 * are not read at all: behaviour and interest predicates are false.
 * Evaluating creates nothing.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND (no such segment); PZ_ENOMEM.
 * Since 0.2.
 */
PZ_API int pz_segment_test(int *in_out, pz_engine *e, const char *segment,
                           const char *user);

/**
 * All segments `user` is in now, in definition order (values are 1).
 * @return PZ_OK; PZ_EINVAL; PZ_ENOMEM. Since 0.2.
 */
PZ_API int pz_segment_of(pz_list **out, pz_engine *e, const char *user);

/**
 * The ids of every profile in `segment` (values are 1), shard by shard:
 * each shard is read under its own lock, so users written during the call
 * may or may not appear. Order is unspecified but stable while nothing
 * changes.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND; PZ_ENOMEM. Since 0.2.
 */
PZ_API int pz_segment_members(pz_list **out, pz_engine *e,
                              const char *segment);

/**
 * Member counts of every segment in one pass over the profiles: entry i
 * is a segment name (definition order) and its count.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOMEM. Since 0.2.
 */
PZ_API int pz_segment_counts(pz_list **out, pz_engine *e);

/**
 * Recompute "popular in your segment": for each segment used in ranking
 * (`rank: true`, the default), the time-decayed popularity of items among
 * its members' retained histories. Segments with fewer contributing
 * members than config `ranking.segment_min_members` get no table, so that
 * a small audience cannot reveal one person's history. The tables are
 * built beside the serving ones and swapped in. Erasing a person drops the
 * tables they were counted in until the next refresh. The scan holds the
 * segment state and catalogue read locks throughout: erasures, merges,
 * rule loads and catalogue writes wait for it.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOMEM. Since 0.2.
 */
PZ_API int pz_segment_refresh(pz_engine *e);

/* ---- experiments ---------------------------------------------------------- */

/**
 * The variant of `experiment` for `user`, copied with a NUL into
 * variant[cap]; *len_out gets its length. A user outside the coverage or
 * the targeting segment gets the empty string (length 0): no variant.
 * The algorithm (pz_experiment(3)): h = XXH3_64bits_withSeed(id bytes,
 * seed); u = (h >> 11) * 2^-53; variant i owns
 * [S_i / W, S_i / W + coverage * w_i / W) where S_i is the sum of the
 * weights before it and W their total. Raising coverage only adds users.
 * The experiment's name is not hashed: two experiments with the same seed
 * split users alike (give each its own seed for independent splits).
 * Without a targeting segment nothing but the id is read.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND (no such experiment); PZ_EBUFS
 *         (*len_out still set); PZ_ENOMEM. Since 0.2.
 */
PZ_API int pz_experiment_assign(char *variant, size_t cap, size_t *len_out,
                                pz_engine *e, const char *experiment,
                                const char *user);

/**
 * The bucket u in [0,1) of a user id under a seed, as used by
 * pz_experiment_assign(); for checking other implementations.
 * @return PZ_OK; PZ_EINVAL (NULL, empty, overlong or invalid UTF-8 id).
 * Thread safety: any. Since 0.2.
 */
PZ_API int pz_experiment_bucket(double *bucket_out, const char *user,
                                uint64_t seed);

/* ---- discovered segments (clusters) ---------------------------------------- */

#define PZ_CLUSTER_OPTIONS_VERSION 1

/** Training options; 0 in a field means "the config's value". */
typedef struct pz_cluster_options {
  unsigned int version;    /**< PZ_CLUSTER_OPTIONS_VERSION */
  uint32_t k;              /**< number of clusters (config clusters.k) */
  uint64_t seed;           /**< random seed (config clusters.seed) */
  uint32_t max_iterations; /**< Lloyd or mini-batch rounds */
  uint32_t batch_size;     /**< 0: full batch; else mini-batch size */
} pz_cluster_options;

/**
 * Fill *opts with zeros (use the config) for the given struct version.
 * @return PZ_OK; PZ_EINVAL; PZ_EVERSION. Since 0.2.
 */
PZ_API int pz_cluster_options_init(pz_cluster_options *opts,
                                   unsigned int version);

/**
 * Cluster the users who consented to personalization and have interests
 * with spherical k-means (k-means++ seeding, then Lloyd rounds until no
 * user moves, or mini-batch rounds when batch_size > 0). Each user
 * contributes their `clusters.max_features` strongest interests,
 * normalized. Same data, options and seed give the same model. The new
 * model replaces the old one atomically; names given with
 * pz_cluster_set_name() move to the most similar new cluster (cosine of
 * centroids >= 0.5). Users are read in the engine's internal order, so
 * the same profiles created in another order may give another model.
 * @return PZ_OK; PZ_EINVAL; PZ_EVERSION; PZ_ERANGE (fewer users with
 *         interests than k, k > 1024, batch_size x max_iterations > 1e9,
 *         features x k too large: the old model is kept); PZ_ENOMEM.
 * Since 0.2.
 */
PZ_API int pz_cluster_train(pz_engine *e, const pz_cluster_options *opts);

/** Number of clusters of the serving model (0: none trained).
 *  @return PZ_OK; PZ_EINVAL. Since 0.2. */
PZ_API int pz_cluster_count(size_t *n_out, pz_engine *e);

/**
 * The cluster nearest to `user`'s current interests (highest positive
 * cosine with a centroid; ties to the lower id), or -1 when there is no
 * model, no profile, no consent, no interests or no positive cosine. It
 * follows the interests as they are now, so it can differ from the
 * cluster that counts the user since training.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOMEM. Since 0.2.
 */
PZ_API int pz_cluster_of(int *cluster_out, pz_engine *e, const char *user);

/**
 * Members counted in a cluster's centroid (users assigned at training,
 * minus those erased or merged away since). A cluster smaller than config
 * `clusters.min_size` is not targetable: segment rules never match it.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND (no such cluster). Since 0.2.
 */
PZ_API int pz_cluster_size(size_t *n_out, pz_engine *e, int cluster);

/**
 * The persona of a cluster: its k strongest centroid features with their
 * weights (centroid normalized to length 1), strongest first, e.g.
 * "genre=horror", "genre=thriller", "decade=1980s".
 * @return PZ_OK; PZ_EINVAL (k == 0); PZ_ERANGE (k > 10000);
 *         PZ_ENOTFOUND; PZ_ENOMEM. Since 0.2.
 */
PZ_API int pz_cluster_describe(pz_list **out, pz_engine *e, int cluster,
                               size_t k);

/**
 * Give a cluster a name that segment rules can use (`cluster: name`);
 * NULL removes it. Names are unique: giving a name held by another
 * cluster moves it. A name may not start with a digit (rules read that as
 * a cluster id).
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND; PZ_ENOMEM. Since 0.2.
 */
PZ_API int pz_cluster_set_name(pz_engine *e, int cluster, const char *name);

/**
 * A cluster's name copied with a NUL into buf[cap] ("" when unnamed);
 * *len_out gets its length.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND; PZ_EBUFS. Since 0.2.
 */
PZ_API int pz_cluster_name(char *buf, size_t cap, size_t *len_out,
                           pz_engine *e, int cluster);

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_SEGMENT_H */
