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

#define PZ_RECOMMEND_OPTIONS_VERSION 2

/** Request options. Grows only at the end; version 1 ends after now_ms.
 *  A zero-filled version-2 struct asks for the defaults, except that
 *  diversity 0 turns diversity off for the request (the _init function
 *  sets -1: the config's `ranking.diversity`). Arrays are read during the
 *  call only. */
typedef struct pz_recommend_options {
  unsigned int version; /**< PZ_RECOMMEND_OPTIONS_VERSION (1 or 2) */
  int include_seen;     /**< 1: keep items the user interacted with */
  int64_t now_ms;       /**< decay and expiry reference time; 0 = the
                             engine's clock */
  /* ---- version 2 (since 0.4) ---- */
  size_t offset; /**< paging: skip this many items of the whole list
                      (offset + k <= ranking.max_k); past the end gives
                      an empty list */
  const char *const *exclude; /**< items never to return (unknown ids
                                   exclude nothing); may be NULL */
  size_t n_exclude;
  const char *const *restrict_to; /**< NULL: every item; otherwise only
                                       these (n_restrict may be 0: none) */
  size_t n_restrict;
  const char *const *context; /**< features of this request only
                                   (`ctx:device=kiosk`), added to the
                                   user's interest vector; may be NULL */
  const double *context_weights; /**< one per context feature, each in
                                      (0, 100]; NULL: all 1 */
  size_t n_context;
  double diversity; /**< maximal marginal relevance weight in [0, 1]:
                         0 off, 1 only variety; negative: config
                         `ranking.diversity` */
  int terse;        /**< 0 (default): reason texts and because-items;
                         1: codes, flags, factors and contributions only
                         (the fastest path; reasons are "") */
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
  PZ_REASON_CF = 5,       /**< collaborative filtering, driven by the user's
                               history: "because you interacted with ITEM"
                               (the strongest pz_recs_because() item), or
                               "suggested by your history" when no history
                               item pulls towards it (since 0.3) */
  PZ_REASON_PINNED = 6,   /**< the person pinned it: "pinned by you"
                               (since 0.4) */
  PZ_REASON_EDITORIAL = 7,/**< a business pin rule placed it: "featured
                               (rule NAME)" (since 0.4) */
  PZ_REASON_PROMOTED = 8  /**< a business promote rule placed it in a
                               reserved slot: "promoted (rule NAME)" (since
                               0.4) */
} pz_reason;

/** What moved an item, as bits of pz_recs_flags() (since 0.4). The reason
 *  text names each of them after the main reason, separated by "; ".
 *  MORE/LESS follow the product of the person's multipliers (above or
 *  below 1) and name the strongest choice in that direction; BOOSTED/
 *  BURIED do the same for the rules' product. */
typedef enum pz_recs_flag {
  PZ_RECS_MORE = 1 << 0,     /**< the person's multiplier raised it
                                  ("more of FEATURE, as you asked") */
  PZ_RECS_LESS = 1 << 1,     /**< the person's multiplier lowered it
                                  ("less of FEATURE, as you asked") */
  PZ_RECS_BOOSTED = 1 << 2,  /**< a boost rule raised it ("boosted (rule
                                  NAME)") */
  PZ_RECS_BURIED = 1 << 3,   /**< a bury rule lowered it ("buried (rule
                                  NAME)") */
  PZ_RECS_PINNED = 1 << 4,   /**< placed by the person's pin */
  PZ_RECS_EDITORIAL = 1 << 5,/**< placed by a business pin */
  PZ_RECS_PROMOTED = 1 << 6, /**< placed in a promotion's slot */
  PZ_RECS_DIVERSITY = 1 << 7,/**< ranked above a higher-scored item for
                                  variety ("for variety") */
  PZ_RECS_CONTEXT = 1 << 8,  /**< the request's context features added to
                                  its content score */
  PZ_RECS_NOT_PERSONALIZED = 1 << 9 /**< the privacy gate was closed: no
                                  consent or opted out (opt-out adds
                                  "personalization is off, as you asked") */
} pz_recs_flag;

/** Which multiplier pz_recs_factor() reports (since 0.4). */
typedef enum pz_factor_source {
  PZ_FACTOR_PERSON = 1, /**< the person's more/less choices */
  PZ_FACTOR_RULES = 2   /**< the business's boost/bury rules */
} pz_factor_source;

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
 * Rank items for `user` (who need not have a profile) and return items
 * offset .. offset + k - 1 of the whole list, best first; ties break by
 * catalogue order. Fewer than k come back when fewer items are eligible.
 * The list is built in the order of libpersonalize(7), PRECEDENCE:
 * privacy gate, business filters, the person's blocks and requirements
 * (and the request's exclude and restrict lists), the model's score, the
 * person's multipliers, business boosts and buries, ordering with
 * optional diversity, then pins and promotions at their slots. Pages of
 * one list agree: an item shows on one page only, as long as nothing
 * changed between the calls (the arrangement covers every slot a pin or
 * promotion can reach, all of `ranking.max_k` with a promotion by
 * fraction, which costs a larger candidate pool per request). Free the result with pz_recs_free().
 * @return PZ_OK; PZ_EINVAL (NULL, bad id, k == 0, negative now_ms,
 *         include_seen or terse not 0 or 1, a NULL or bad id or feature
 *         in a non-NULL list, a NULL list with a nonzero count, NaN
 *         diversity or context weight);
 *         PZ_ERANGE (offset + k > config `ranking.max_k`, default 1000;
 *         diversity > 1; a context weight outside (0, 100]; more than
 *         100000 exclude, restrict or 1000 context entries);
 *         PZ_EVERSION (unknown opts->version); PZ_ENOMEM. Since 0.1;
 *         options version 2 since 0.4.
 */
PZ_API int pz_recommend(pz_recs **out, pz_engine *e, const char *user,
                        size_t k, const pz_recommend_options *opts);

/** Number of items in the list; 0 for NULL. */
PZ_API size_t pz_recs_count(const pz_recs *r);
/** The i-th item id, borrowed until pz_recs_free(); NULL if out of range. */
PZ_API const char *pz_recs_item(const pz_recs *r, size_t i);
/** The i-th score: the sum of its pz_recs_contribution() values (the
 *  model's blend) times pz_recs_factor() PERSON and RULES (divided by them
 *  when the blend is negative); NaN if out of range. Ordering compares
 *  scores as floats; pinned and promoted items keep their score. */
PZ_API double pz_recs_score(const pz_recs *r, size_t i);
/** The i-th reason as a pz_reason value; 0 if out of range. */
PZ_API int pz_recs_reason_code(const pz_recs *r, size_t i);
/** The i-th reason as one line of English, borrowed until pz_recs_free();
 *  NULL if out of range. */
PZ_API const char *pz_recs_reason(const pz_recs *r, size_t i);
/** The weighted contribution of a pz_signal to the i-th score (the score is
 *  their sum); NaN if out of range or an unknown signal. */
PZ_API double pz_recs_contribution(const pz_recs *r, size_t i, int signal);
/** The i-th item's pz_recs_flag bits: what moved it; 0 if out of range.
 *  Since 0.4. */
PZ_API unsigned int pz_recs_flags(const pz_recs *r, size_t i);
/** The multiplier a pz_factor_source applied to the i-th score (1 when
 *  none); NaN if out of range or an unknown source. Since 0.4. */
PZ_API double pz_recs_factor(const pz_recs *r, size_t i, int source);
/** The business rule that placed the i-th item (pin, promote) or, failing
 *  that, the strongest boost (bury) rule when the rules' product raised
 *  (lowered) it; NULL when none.
 *  Borrowed until pz_recs_free(). Since 0.4. */
PZ_API const char *pz_recs_rule(const pz_recs *r, size_t i);
/** Free the list; NULL is ignored. */
PZ_API void pz_recs_free(pz_recs *r);

/* ---- bulk access (since 1.1) ---------------------------------------- */

#define PZ_RECS_ENTRY_VERSION 1

/** Everything the single pz_recs_* accessors report about one item, for
 *  pz_recs_entries(): one call copies a whole list, where a binding would
 *  otherwise make some fifteen calls per item. Grows only at the end; a
 *  caller built against an older layout keeps getting that layout. The
 *  strings are borrowed from the list until pz_recs_free(). Since 1.1. */
typedef struct pz_recs_entry {
  unsigned int version;   /**< PZ_RECS_ENTRY_VERSION the caller was built
                               with (see pz_recs_entries()) */
  const char *item;       /**< pz_recs_item() */
  double score;           /**< pz_recs_score() */
  int reason_code;        /**< pz_recs_reason_code(): a pz_reason */
  unsigned int flags;     /**< pz_recs_flags(): pz_recs_flag bits */
  const char *reason;     /**< pz_recs_reason(); "" for a terse request */
  double contribution[4]; /**< pz_recs_contribution(), indexed by
                               pz_signal - 1 */
  double factor[2];       /**< pz_recs_factor(), indexed by
                               pz_factor_source - 1 */
  const char *rule;       /**< pz_recs_rule(), or NULL */
  size_t n_because;       /**< how many of because[] are set (0 to 3) */
  const char *because[3]; /**< pz_recs_because() (cf.h): the strongest
                               first; NULL from n_because on */
  double because_share[3];/**< pz_recs_because_share(); NaN from
                               n_because on */
} pz_recs_entry;

/**
 * Zero *e and set e->version, for bindings that cannot see
 * PZ_RECS_ENTRY_VERSION; in C,
 * `pz_recs_entry e = {.version = PZ_RECS_ENTRY_VERSION}` does the same.
 * @return PZ_OK; PZ_EINVAL (e is NULL); PZ_EVERSION (version is not 1 ..
 *         PZ_RECS_ENTRY_VERSION). Thread safety: any. Since 1.1.
 */
PZ_API int pz_recs_entry_init(pz_recs_entry *e, unsigned int version);

/**
 * Copy items from .. from + cap - 1 of r (fewer at the end of the list)
 * into out[0 ..] and set *n_out to how many were written.
 *
 * out is an array of one layout: out[0].version says which (1 ..
 * PZ_RECS_ENTRY_VERSION; set it, or call pz_recs_entry_init() on out[0]),
 * and fixes both the fields written and the size of each element, so a
 * caller built with an older layout is served that layout by a newer
 * library. The version fields of out[1 ..] are not read: every entry
 * written gets out[0].version. A cap smaller than what is left is not an
 * error: page with `from` (pz_recs_count() says how many there are); from
 * at or past the end writes nothing. With cap 0, out may be NULL and is not
 * read.
 *
 * The strings are borrowed from r until pz_recs_free(r). Nothing is
 * allocated. Thread safety: like the other pz_recs accessors, only reads r,
 * which must not be freed during the call.
 * @return PZ_OK with *n_out set (0 when from >= pz_recs_count(r) or cap is
 *         0); PZ_EINVAL (n_out or r is NULL, or out is NULL with cap > 0);
 *         PZ_EVERSION (out[0].version unknown). On failure *n_out is 0
 *         (when n_out is not NULL) and out is untouched. Since 1.1.
 */
PZ_API int pz_recs_entries(pz_recs_entry *out, size_t cap, size_t *n_out,
                           const pz_recs *r, size_t from);

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_RANK_H */
