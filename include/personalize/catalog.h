/*
 * personalize/catalog.h - items and their features.
 *
 * An item is an id (UTF-8, 1..PZ_ID_MAX bytes) with weighted features
 * ("genre=jazz" with weight 1.0). Features are hashed with the engine's
 * identity into the item's sparse vector. An item's index is stable for
 * the life of the engine: removing an item hides it from rankings but its
 * id still names it in histories and exports; putting it again revives it.
 * Thread safety: writers take the catalogue lock; readers share it.
 */
#ifndef PERSONALIZE_CATALOG_H
#define PERSONALIZE_CATALOG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Create or replace an item with n_features features. weights may be NULL
 * (every weight 1.0). A feature listed twice accumulates. n_features may be
 * 0 (an item known only by popularity and, later, collaborative filtering).
 * @return PZ_OK; PZ_EINVAL (NULL engine or id, bad id or feature text,
 *         NaN/infinite weight, features NULL with n_features > 0);
 *         PZ_ERANGE (a weight beyond +/-1e6);
 *         PZ_ELIMIT (more than 4096 features, or the catalogue is full);
 *         PZ_ENOMEM. On failure the catalogue is unchanged. Since 0.1.
 */
PZ_API int pz_item_put(pz_engine *e, const char *item,
                       const char *const *features, const double *weights,
                       size_t n_features);

/**
 * Remove an item from rankings. Its popularity and id are kept so that
 * histories still name it.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND (unknown or already removed).
 * Since 0.1.
 */
PZ_API int pz_item_remove(pz_engine *e, const char *item);

/**
 * An item's popularity: the time-decayed sum of the positive weights of
 * the events on it (read at now_ms; 0 = the engine's clock), and the plain
 * count of events. Either output may be NULL.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND. Since 0.1.
 */
PZ_API int pz_item_popularity(double *score_out, uint64_t *events_out,
                              pz_engine *e, const char *item, int64_t now_ms);

/**
 * Number of live (not removed) items.
 * @return PZ_OK; PZ_EINVAL. Since 0.1.
 */
PZ_API int pz_item_count(size_t *n_out, pz_engine *e);

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_CATALOG_H */
