/*
 * personalize/rank.h - the recommendation pipeline.
 *
 * pz_recommend is the single entry point for rankings. It scores every
 * live item by a blend of content (cosine of the user's decayed interest
 * vector and the item's features), collaborative filtering (the CF
 * model's scores from the user's current history, min-max normalized over
 * the candidates; see cf.h), segment popularity (log-scaled popularity
 * among the members of the most specific segment the user is in, from the
 * last pz_segment_refresh()) and popularity (log-scaled, time-decayed),
 * with weights from config `ranking:`. A user with
 * attributes but no events gets segment popularity: the cold start. Users
 * with no profile or no consent to personalization get popularity.
 * Items the user already interacted with are left out unless asked.
 * Every item carries a reason: a code, per-signal contributions, and one
 * line of text.
 */
#ifndef PERSONALIZE_RANK_H
#define PERSONALIZE_RANK_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PZ_RECOMMEND_OPTIONS_VERSION 1

/** Request options. Grows only at the end. */
typedef struct pz_recommend_options {
  unsigned int version; /**< PZ_RECOMMEND_OPTIONS_VERSION */
  int include_seen;     /**< 1: keep items the user interacted with */
  int64_t now_ms;       /**< decay reference time; 0 = the engine's clock */
} pz_recommend_options;

/** Why an item is in the list: the signal whose weighted contribution
 *  is largest (ties go to content, then CF, then segment, then
 *  popularity); FALLBACK when none contributed. */
typedef enum pz_reason {
  PZ_REASON_POPULAR = 1,  /**< popularity: "popular" */
  PZ_REASON_CONTENT = 2,  /**< the user's interests: "matches your interest in
                               genre=jazz" (the item's feature that agrees most),
                               or "matches your interests" when no feature name
                               is known */
  PZ_REASON_FALLBACK = 3, /**< no signal: "no signal yet: catalogue order" */
  PZ_REASON_SEGMENT = 4,  /**< popular among the members of a segment the user
                               is in: "popular in your segment NAME" (since
                               0.2) */
  PZ_REASON_CF = 5        /**< collaborative filtering, driven by the user's
                               history: "because you interacted with ITEM"
                               (the strongest pz_recs_because() item), or
                               "suggested by your history" when no history
                               item pulls towards it (since 0.3) */
} pz_reason;

/** Signals whose contributions pz_recs_contribution() reports. */
typedef enum pz_signal {
  PZ_SIGNAL_CONTENT = 1,
  PZ_SIGNAL_POPULARITY = 2,
  PZ_SIGNAL_SEGMENT = 3, /**< "popular in your segment" (since 0.2) */
  PZ_SIGNAL_CF = 4       /**< collaborative filtering (since 0.3) */
} pz_signal;

/**
 * Fill *opts with defaults for the given struct version.
 * @return PZ_OK; PZ_EINVAL; PZ_EVERSION. Thread safety: any. Since 0.1.
 */
PZ_API int pz_recommend_options_init(pz_recommend_options *opts,
                                     unsigned int version);

/**
 * Rank items for `user` (who need not have a profile) and return the best
 * k, best first; ties break by catalogue order. Fewer than k come back when
 * fewer items are eligible. Free the result with pz_recs_free().
 * @return PZ_OK; PZ_EINVAL (NULL, bad id, k == 0, negative now_ms,
 *         include_seen not 0 or 1);
 *         PZ_ERANGE (k > config `ranking.max_k`, default 1000);
 *         PZ_EVERSION (unknown opts->version); PZ_ENOMEM. Since 0.1.
 */
PZ_API int pz_recommend(pz_recs **out, pz_engine *e, const char *user,
                        size_t k, const pz_recommend_options *opts);

/** Number of items in the list; 0 for NULL. */
PZ_API size_t pz_recs_count(const pz_recs *r);
/** The i-th item id, borrowed until pz_recs_free(); NULL if out of range. */
PZ_API const char *pz_recs_item(const pz_recs *r, size_t i);
/** The i-th blended score, the sum of its pz_recs_contribution() values;
 *  NaN if out of range. (Ordering compares scores as floats.) */
PZ_API double pz_recs_score(const pz_recs *r, size_t i);
/** The i-th reason as a pz_reason value; 0 if out of range. */
PZ_API int pz_recs_reason_code(const pz_recs *r, size_t i);
/** The i-th reason as one line of English, borrowed until pz_recs_free();
 *  NULL if out of range. */
PZ_API const char *pz_recs_reason(const pz_recs *r, size_t i);
/** The weighted contribution of a pz_signal to the i-th score (the score is
 *  their sum); NaN if out of range or an unknown signal. */
PZ_API double pz_recs_contribution(const pz_recs *r, size_t i, int signal);
/** Free the list; NULL is ignored. */
PZ_API void pz_recs_free(pz_recs *r);

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_RANK_H */
