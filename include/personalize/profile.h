/*
 * personalize/profile.h - what the engine knows about a person.
 *
 * A profile holds typed attributes, consent per purpose, the history of
 * events and a time-decayed interest vector (the features of the items the
 * person interacted with, weighted by event type and value, halving every
 * `decay.half_life`). A profile is created by its first write.
 *
 * User ids, attribute names and purposes are UTF-8, 1..PZ_ID_MAX bytes.
 * Timestamps are milliseconds since the Unix epoch; 0 means "now" by the
 * engine's clock. Negative timestamps are invalid.
 *
 * Thread safety: writes to different users run in parallel (striped
 * locks); reads share locks with each other.
 */
#ifndef PERSONALIZE_PROFILE_H
#define PERSONALIZE_PROFILE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Attribute value types, as returned by pz_profile_get_type(). */
typedef enum pz_attr_type {
  PZ_ATTR_STRING = 1,
  PZ_ATTR_NUMBER = 2,
  PZ_ATTR_BOOL = 3,
  PZ_ATTR_TIMESTAMP = 4
} pz_attr_type;

/**
 * Record that `user` did `event_type` (a name from config `events:`, e.g.
 * "view", "purchase", "rating") on `item`, with `value` (1 for a plain
 * event; the rating, play count or amount otherwise) at ts_ms.
 * The interest vector gains the item's features times
 * weight(event_type) * value, decayed from ts_ms; the item's popularity
 * gains max(0, weight * value). An item not in the catalogue is created
 * without features unless config `catalog.unknown_items` is `refuse`.
 * Without consent to "personalization" the event is refused with
 * PZ_ECONSENT, or dropped with PZ_OK when config
 * `consent.without_consent` is `drop`; either way nothing is recorded.
 * @return PZ_OK; PZ_EINVAL (NULL/bad ids, NaN/infinite value, negative
 *         ts); PZ_ERANGE (|value| > 1e9, or ts more than 366 days after
 *         the engine's clock: such a timestamp is a unit mistake and would
 *         outweigh every real event); PZ_ENOTFOUND (unknown event type;
 *         unknown item with `refuse`); PZ_ECONSENT; PZ_ELIMIT; PZ_ENOMEM.
 *         On any failure nothing is recorded, not even a new item.
 * Since 0.1.
 */
PZ_API int pz_track(pz_engine *e, const char *user, const char *item,
                    const char *event_type, double value, int64_t ts_ms);

/* ---- batches (since 1.2) --------------------------------------------- */

#define PZ_EVENT_VERSION 1
/** The most events one pz_track_batch() call takes. */
#define PZ_BATCH_MAX 1000000

/** One event of pz_track_batch(): the arguments of pz_track(). Grows only
 *  at the end; events[0].version fixes the layout of the whole array.
 *  Since 1.2. */
typedef struct pz_event {
  unsigned int version;   /**< PZ_EVENT_VERSION the caller was built with */
  const char *user;       /**< as pz_track() */
  const char *item;
  const char *event_type;
  double value;
  int64_t ts_ms;          /**< 0: the engine's clock */
} pz_event;

/**
 * Record n events, in order, as n pz_track() calls would, in one call:
 * consecutive events of one user share one lock and one profile lookup,
 * the locks are taken once per run of events rather than per event, and
 * with a journal the batch is one record. The engine's clock is read once
 * for the whole batch.
 *
 * events[0].version says which pz_event layout the array has (1 ..
 * PZ_EVENT_VERSION). The first event that pz_track() would refuse stops
 * the batch: the events before it are recorded (and journaled), that one
 * and every later one are not, *applied_out (when not NULL) is its index,
 * and the status and pz_errmsg() are pz_track()'s, the message prefixed
 * with "event N: ". On success *applied_out is n. An event dropped for
 * want of consent (config `consent.without_consent: drop`) counts as
 * applied, as pz_track() returns PZ_OK for it.
 * @return PZ_OK (n may be 0); PZ_EINVAL (e NULL; events NULL with n > 0);
 *         PZ_ELIMIT (n > PZ_BATCH_MAX; with a journal, a batch whose
 *         record would exceed 64 MiB: nothing is applied, split it);
 *         PZ_EVERSION (events[0].version); PZ_EIO (journal: nothing is
 *         applied when the record cannot be claimed room); any status of
 *         pz_track() for the event that stopped the batch.
 * Thread safety: as pz_track(). Since 1.2.
 */
PZ_API int pz_track_batch(pz_engine *e, const pz_event *events, size_t n,
                          size_t *applied_out);

/**
 * Set a typed attribute (replacing any previous value of any type).
 * Strings are UTF-8, at most 4096 bytes; numbers must be finite;
 * bools are 0 or 1; timestamps are ms since the epoch (may be negative).
 * Attributes are stated data, so they are kept whatever the consent.
 * @return PZ_OK; PZ_EINVAL; PZ_ELIMIT (more than 256 attributes);
 *         PZ_ENOMEM. Since 0.1.
 */
PZ_API int pz_profile_set_string(pz_engine *e, const char *user,
                                 const char *name, const char *value);
PZ_API int pz_profile_set_number(pz_engine *e, const char *user,
                                 const char *name, double value);
PZ_API int pz_profile_set_bool(pz_engine *e, const char *user,
                               const char *name, int value);
PZ_API int pz_profile_set_timestamp(pz_engine *e, const char *user,
                                    const char *name, int64_t ms);

/**
 * The type of a stored attribute (a pz_attr_type value).
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND (no such user or attribute).
 * Since 0.1.
 */
PZ_API int pz_profile_get_type(int *type_out, pz_engine *e, const char *user,
                               const char *name);

/**
 * Copy a string attribute and its terminating NUL into buf (cap bytes).
 * *len_out receives the string's length without the NUL.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND; PZ_ETYPE (not a string);
 *         PZ_EBUFS (cap <= length; *len_out still set). Since 0.1.
 */
PZ_API int pz_profile_get_string(char *buf, size_t cap, size_t *len_out,
                                 pz_engine *e, const char *user,
                                 const char *name);
/** Typed getters. @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND; PZ_ETYPE. */
PZ_API int pz_profile_get_number(double *out, pz_engine *e, const char *user,
                                 const char *name);
PZ_API int pz_profile_get_bool(int *out, pz_engine *e, const char *user,
                               const char *name);
PZ_API int pz_profile_get_timestamp(int64_t *out, pz_engine *e,
                                    const char *user, const char *name);

/**
 * Remove one attribute.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND. Since 0.1.
 */
PZ_API int pz_profile_remove_attribute(pz_engine *e, const char *user,
                                       const char *name);

/**
 * Grant (granted = 1) or withdraw (0) the user's consent to a purpose:
 * "personalization", "analytics", "experimentation", "ads_sharing" or one
 * declared in config `consent.purposes`. Withdrawing "personalization"
 * deletes the behavioural data already held (history and interests): it
 * may no longer be processed, and their share of item popularity is
 * given back. A user with no explicit choice gets the default of config
 * `consent.defaults`. A user without a profile gets one, to hold the
 * record (with the time of the choice, shown in the export).
 * @return PZ_OK; PZ_EINVAL (bad ids, granted not 0/1); PZ_ENOTFOUND
 *         (unknown purpose); PZ_ENOMEM. Since 0.1.
 */
PZ_API int pz_profile_set_consent(pz_engine *e, const char *user,
                                  const char *purpose, int granted);

/**
 * Whether the user has consented to a purpose (1) or not (0); the config
 * default when the user made no choice or has no profile.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND (unknown purpose). Since 0.1.
 */
PZ_API int pz_profile_get_consent(int *granted_out, pz_engine *e,
                                  const char *user, const char *purpose);

/**
 * The user's top k interests at now_ms (0 = the engine's clock): features
 * of the catalogue ranked by decayed interest, best first, positive
 * interests only. Free the list with pz_interests_free().
 * @return PZ_OK (possibly an empty list); PZ_EINVAL (k == 0, NULL, bad
 *         id, negative now_ms); PZ_ERANGE (k > 10000);
 *         PZ_ENOTFOUND (no such user); PZ_ENOMEM. Since 0.1.
 */
PZ_API int pz_profile_interests(pz_interests **out, pz_engine *e,
                                const char *user, size_t k, int64_t now_ms);
/** Entries in the list; 0 for NULL. */
PZ_API size_t pz_interests_count(const pz_interests *l);
/** The i-th feature string, borrowed until pz_interests_free(); NULL when
 *  l is NULL or i is out of range. */
PZ_API const char *pz_interests_feature(const pz_interests *l, size_t i);
/** The i-th decayed score; NaN when l is NULL or i is out of range. */
PZ_API double pz_interests_score(const pz_interests *l, size_t i);
/** Free the list; NULL is ignored. */
PZ_API void pz_interests_free(pz_interests *l);

/**
 * Number of events held in the user's history (at most config
 * `profile.history_limit`; older events are dropped first).
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND (no such user). Since 0.1.
 */
PZ_API int pz_profile_event_count(size_t *n_out, pz_engine *e,
                                  const char *user);

/**
 * Number of profiles in the engine. @return PZ_OK; PZ_EINVAL. Since 0.1.
 */
PZ_API int pz_profile_count(size_t *n_out, pz_engine *e);

/**
 * Identity merge: fold the profile of `from` (say an anonymous visitor)
 * into `into` (the account they logged in as), then erase `from`.
 * Histories are merged by time, interests added, attributes of `into` win
 * over those of `from`, and for consent the more recent explicit choice
 * wins. The person's choices (override.h) are carried over: of two
 * choices on one target the later wins (a tie goes to `into`), and so
 * does the later of two opt-out decisions. If `into` has no profile it is created. If the merged consent to
 * personalization (the newer explicit choice of the two, else the
 * default) is withdrawn, no behavioural data survives the merge: neither
 * the history and interests of `from` nor those of `into`, and both
 * shares of item popularity are given back.
 * @return PZ_OK; PZ_EINVAL (bad ids, from == into); PZ_ENOTFOUND (no
 *         profile for `from`); PZ_ENOMEM (neither profile changed).
 * Since 0.1.
 */
PZ_API int pz_profile_merge(pz_engine *e, const char *from, const char *into);

/**
 * Erase everything held about the user: attributes, consent records,
 * history, interests, and the user's share of item popularity for the
 * events still in the history. The memory is overwritten before it is
 * freed. A later read returns PZ_ENOTFOUND. Consent records go too, so
 * the config defaults apply to the id afterwards: a host that must keep
 * honouring an objection records it again after erasing.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND. Since 0.1.
 */
PZ_API int pz_profile_erase(pz_engine *e, const char *user);

/**
 * Write the user's data as one JSON document (UTF-8) into buf, for access
 * and portability requests: user id, hash identity, attributes, consent,
 * events and interests (schema in pz_profile_export(3)). *len_out receives
 * the document's length without the terminating NUL. Call with cap 0 to
 * learn the size.
 * @return PZ_OK; PZ_EINVAL; PZ_ENOTFOUND; PZ_EBUFS (cap <= length,
 *         *len_out set); PZ_ENOMEM. Since 0.1.
 */
PZ_API int pz_profile_export(char *buf, size_t cap, size_t *len_out,
                             pz_engine *e, const char *user);

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_PROFILE_H */
