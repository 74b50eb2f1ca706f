/*
 * personalize/override.h - customization: the person's own choices, and
 * the business's rules, over the model.
 *
 * A person can block an item, block a feature (every item carrying it),
 * require a feature (only items carrying it), pin an item (optionally at a
 * slot), ask for more or less of a feature (a multiplier within the bounds
 * of config `overrides:`), dismiss an item as "not interested", and opt
 * out of personalization altogether. The business writes rules (config
 * `rules:`, or pz_override_rules_load() at run time): filters, boosts,
 * buries, promotions and editorial pins, each optionally only for the
 * members of a segment.
 *
 * pz_recommend() applies them in one documented order (libpersonalize(7),
 * "PRECEDENCE"): privacy gate; business filters; the person's blocks and
 * requirements; the model's score; the person's multipliers; the
 * business's boosts and buries; ordering (with optional diversity); pins
 * and promotions at their slots, a person's pin winning a contested slot.
 *
 * One choice per target: a person has at most one choice per item (block
 * or pin) and one per feature (block, require, or a multiplier). A new
 * choice on a target replaces the older one. Choices are stated data: they
 * are kept whatever the consent, exported by pz_profile_export(), carried
 * over by pz_profile_merge() (the newer choice wins a shared target) and
 * erased by pz_profile_erase(). Pins and more/less apply only while the
 * person is personalized (consent to "personalization" and not opted
 * out); blocks and requirements hold whatever the consent (since 1.2). In a
 * merge, of two choices on one target the one made later wins; made at
 * the same millisecond, the account's (`into`) wins.
 *
 * Features match an item by their hashed index alone, whatever the
 * weight (even negative) the item gives them.
 *
 * Times are milliseconds since the Unix epoch. `expires_ms` 0 means the
 * choice never expires; otherwise it applies while now < expires_ms and is
 * ignored from expires_ms on (and wiped at the next write to the person's
 * choices). A setter creates the person's profile when there is none.
 *
 * Thread safety: setters are writes serialized per user shard; lists and
 * recommendations are reads. Rule loads swap the rule set atomically.
 */
#ifndef PERSONALIZE_OVERRIDE_H
#define PERSONALIZE_OVERRIDE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A person's choice set, returned by pz_override_list(). */
typedef struct pz_choices pz_choices;

/** What a choice does (pz_choices_kind()). */
typedef enum pz_choice_kind {
  PZ_CHOICE_BLOCK_ITEM = 1,    /**< never show this item */
  PZ_CHOICE_BLOCK_FEATURE = 2, /**< never show items carrying this feature */
  PZ_CHOICE_REQUIRE = 3,       /**< only show items carrying this feature */
  PZ_CHOICE_PIN = 4,           /**< always show this item (at a slot) */
  PZ_CHOICE_ADJUST = 5,        /**< multiply scores of items carrying this
                                    feature (> 1 more, < 1 less) */
  PZ_CHOICE_OPT_OUT = 6        /**< personalization off (listed only) */
} pz_choice_kind;

/**
 * Block an item for `user`: pz_recommend() never returns it, not even when
 * a business rule pins or promotes it. `item` must be in the catalogue
 * unless config `overrides.unknown_items` is `accept` (then the block
 * waits for the item).
 * @return PZ_OK; PZ_EINVAL (NULL, empty, overlong or non-UTF-8 ids,
 *         negative expires_ms); PZ_ERANGE (expires_ms already past by the
 *         engine's clock: nothing is stored); PZ_ENOTFOUND (unknown item
 *         with `refuse`, the default); PZ_ELIMIT (more than
 *         `overrides.max_choices` choices); PZ_ENOMEM. Since 0.4.
 */
PZ_API int pz_override_block_item(pz_engine *e, const char *user,
                                  const char *item, int64_t expires_ms);

/**
 * Block a feature (`genre=horror`): every item carrying it is left out.
 * Features need not exist yet: the block applies to items added later.
 * @return as pz_override_block_item(), with PZ_EINVAL for a feature that
 *         is empty, longer than PZ_FEATURE_MAX or not UTF-8. Since 0.4.
 */
PZ_API int pz_override_block_feature(pz_engine *e, const char *user,
                                     const char *feature, int64_t expires_ms);

/**
 * Require a feature (`diet=vegetarian`): only items carrying it are shown.
 * Several requirements must all hold. At most 64 per person (PZ_ELIMIT).
 * @return as pz_override_block_feature(). Since 0.4.
 */
PZ_API int pz_override_require(pz_engine *e, const char *user,
                               const char *feature, int64_t expires_ms);

/**
 * Pin an item: it stays in the person's list while it passes the filters
 * (business filters, the person's blocks and requirements, the request's
 * exclude and restrict lists), whatever its score, even if seen. With
 * position >= 0 it takes that slot (0 is the first; counted from the
 * start of the whole list, so pages agree); with position -1 it takes the
 * first slot no positioned pin holds. A person's pin wins a slot over a
 * business pin or promotion, which moves to the next free slot. Two pins
 * of the person at one slot: the newer takes it.
 * @return as pz_override_block_item(); PZ_ERANGE for position < -1 or
 *         beyond config `ranking.max_k`. Since 0.4.
 */
PZ_API int pz_override_pin(pz_engine *e, const char *user, const char *item,
                           int32_t position, int64_t expires_ms);

/**
 * Multiply the scores of items carrying `feature` by `factor` (more of it:
 * > 1; less of it: < 1), after the model and before business boosts. The
 * product over an item's matching features is clamped to
 * [overrides.min_factor, overrides.max_factor]. A negative score is
 * divided by the factor instead, so "more" always moves an item up.
 * @return as pz_override_block_feature(); PZ_EINVAL for NaN or infinite
 *         factors; PZ_ERANGE for factors outside [min_factor, max_factor]
 *         or equal to 1 (which would change nothing: clear the choice
 *         instead). Since 0.4.
 */
PZ_API int pz_override_adjust(pz_engine *e, const char *user,
                              const char *feature, double factor,
                              int64_t expires_ms);
/** pz_override_adjust() with config `overrides.more_factor` (1.5). */
PZ_API int pz_override_more(pz_engine *e, const char *user,
                            const char *feature, int64_t expires_ms);
/** pz_override_adjust() with config `overrides.less_factor` (0.5). */
PZ_API int pz_override_less(pz_engine *e, const char *user,
                            const char *feature, int64_t expires_ms);

/**
 * "Not interested" in an item: blocks it (no expiry) and, when the person
 * is personalized, records an event of type `overrides.not_interested_event`
 * (default "dislike", weight -3): the item's features lose interest, so
 * similar items rank lower too (by content: collaborative filtering reads
 * only positive amounts, so the dismissal does not push down the item's
 * CF neighbours). Without consent (or opted out) only the
 * block is stored. ts_ms 0 = now.
 * @return as pz_override_block_item() and pz_track(). If the event was
 *         recorded but the block could not be stored (PZ_ENOMEM,
 *         PZ_ELIMIT), the event stays. Since 0.4.
 */
PZ_API int pz_override_not_interested(pz_engine *e, const char *user,
                                      const char *item, int64_t ts_ms);

/**
 * Opt out of personalization (opted_out = 1) or back in (0). While opted
 * out: pz_recommend() ranks without the profile (no behaviour, no choices:
 * business rules, popularity and request context only); pz_track() refuses
 * the person's events (PZ_ECONSENT, or drops them with
 * `consent.without_consent: drop`); segments see no behaviour; CF and
 * cluster training leave the person out, and the person is taken out of
 * the derived models at once. History and choices are kept, untouched, so
 * opting back in resumes where it stopped (withdraw consent or erase to
 * delete them). Opt-out does not expire and pz_override_clear_all() leaves
 * it. A merge keeps the newer of the two persons' opt-out decisions.
 * @return PZ_OK; PZ_EINVAL (bad id, opted_out not 0 or 1); PZ_ENOMEM.
 *         Since 0.4.
 */
PZ_API int pz_override_opt_out(pz_engine *e, const char *user, int opted_out);

/**
 * Whether the person is opted out (1) or not (0; also for unknown users).
 * @return PZ_OK; PZ_EINVAL. Since 0.4.
 */
PZ_API int pz_override_opted_out(int *out, pz_engine *e, const char *user);

/**
 * Remove the person's choice of `kind` on `target` (an item for
 * PZ_CHOICE_BLOCK_ITEM and PZ_CHOICE_PIN, a feature otherwise).
 * @return PZ_OK; PZ_EINVAL (bad ids, kind not 1..5); PZ_ENOTFOUND (no
 *         such user, or no choice of that kind on that target). Since 0.4.
 */
PZ_API int pz_override_clear(pz_engine *e, const char *user, int kind,
                             const char *target);

/**
 * Remove every choice of the person except opt-out.
 * @return PZ_OK (also when there were none); PZ_EINVAL; PZ_ENOTFOUND (no
 *         such user). Since 0.4.
 */
PZ_API int pz_override_clear_all(pz_engine *e, const char *user);

/**
 * The person's choices in force at now_ms (0 = the engine's clock), oldest
 * first, with opt-out (if any) last. Free with pz_choices_free().
 * @return PZ_OK (possibly empty); PZ_EINVAL; PZ_ENOTFOUND (no such user);
 *         PZ_ENOMEM. Since 0.4.
 */
PZ_API int pz_override_list(pz_choices **out, pz_engine *e, const char *user,
                            int64_t now_ms);
/** Entries in the set; 0 for NULL. */
PZ_API size_t pz_choices_count(const pz_choices *c);
/** The i-th kind (pz_choice_kind); 0 out of range. */
PZ_API int pz_choices_kind(const pz_choices *c, size_t i);
/** The i-th target (item or feature; "" for opt-out), borrowed until
 *  pz_choices_free(); NULL out of range. */
PZ_API const char *pz_choices_target(const pz_choices *c, size_t i);
/** The i-th multiplier (PZ_CHOICE_ADJUST; 1 for others); NaN out of
 *  range. */
PZ_API double pz_choices_factor(const pz_choices *c, size_t i);
/** The i-th pin slot (-1 without one or for other kinds); -2 out of range. */
PZ_API int32_t pz_choices_position(const pz_choices *c, size_t i);
/** When the i-th choice was made (ms); -1 out of range. */
PZ_API int64_t pz_choices_created(const pz_choices *c, size_t i);
/** When it expires (ms; 0 never); -1 out of range. */
PZ_API int64_t pz_choices_expires(const pz_choices *c, size_t i);
/** Free the set; NULL is ignored. */
PZ_API void pz_choices_free(pz_choices *c);

/**
 * Replace the business rules with those of a YAML document holding a
 * `rules:` sequence (the config's format, personalize.yaml(5)). The
 * document is checked whole first: segments it names must exist, factors
 * must lie within config bounds; on any error (PZ_ECONFIG with
 * "rules:line:col: ...") the rules in force stay. An empty document
 * removes every rule.
 * @return PZ_OK; PZ_EINVAL (NULL engine, or yaml NULL with len > 0);
 *         PZ_ECONFIG; PZ_ENOMEM. Since 0.4.
 */
PZ_API int pz_override_rules_load(pz_engine *e, const char *yaml, size_t len);

/**
 * Names of the business rules in force, in precedence order (earlier
 * wins), each with its kind as the value (pz_rule_kind). Free with
 * pz_list_free().
 * @return PZ_OK; PZ_EINVAL; PZ_ENOMEM. Since 0.4.
 */
PZ_API int pz_override_rules(pz_list **out, pz_engine *e);

/** Business rule kinds (values in pz_override_rules()). */
typedef enum pz_rule_kind {
  PZ_RULE_FILTER = 1,  /**< hard exclusion of matching items */
  PZ_RULE_BOOST = 2,   /**< multiply matching items' scores (> 1) */
  PZ_RULE_BURY = 3,    /**< multiply matching items' scores (< 1) */
  PZ_RULE_PROMOTE = 4, /**< reserve slots for the best matching items */
  PZ_RULE_PIN = 5      /**< an editorial item at a slot */
} pz_rule_kind;

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_OVERRIDE_H */
