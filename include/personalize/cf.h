/*
 * personalize/cf.h - collaborative filtering: item-kNN and implicit ALS.
 *
 * The interaction matrix is built from the engine's profiles: each user who
 * consented to personalization contributes, per item, the sum of the
 * amounts of their history events on it (event-type weight x value, events
 * with a negative amount count 0; no time decay). pz_cf_import() loads a
 * plain ratings file into the engine as events, so a model can be trained
 * from a file.
 *
 * pz_cf_train() builds a model beside the serving one and swaps it in
 * atomically: recommendations never wait for training and never see a
 * half-built model. The model holds item-side data only (neighbour lists,
 * item factors); a user's side is computed from their current history at
 * request time, so a new event changes their CF scores at once, a brand-new
 * user gets CF recommendations after a few events, and erasing a person
 * removes their row immediately. Their diffuse influence on item factors and
 * similarities is gone at the next training (pz_cf_stats_get() counts the
 * trained users erased since).
 *
 * pz_recommend() blends the CF score (per request, each model's scores are
 * min-max normalized over the candidate items, then mixed by cf.als_share)
 * with the other signals using ranking.cf_weight, and names the user's
 * history items that drove it (pz_recs_because()).
 *
 * Thread safety: every function may be called from any thread on a shared
 * engine. Training runs beside readers; one training runs at a time.
 */
#ifndef PERSONALIZE_CF_H
#define PERSONALIZE_CF_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** CF models (config cf.algorithm). */
typedef enum pz_cf_algorithm {
  PZ_CF_CONFIG = 0, /**< in options: the config's value */
  PZ_CF_OFF = 1,    /**< no CF model: training drops the model */
  PZ_CF_KNN = 2,    /**< item-item kNN */
  PZ_CF_ALS = 3,    /**< implicit ALS */
  PZ_CF_BOTH = 4    /**< both, scores mixed by als_share */
} pz_cf_algorithm;

/** Weighting of the interaction matrix before kNN similarities
 *  (config cf.weighting). */
typedef enum pz_cf_weighting {
  PZ_CF_WEIGHT_CONFIG = 0, /**< in options: the config's value */
  PZ_CF_WEIGHT_NONE = 1,   /**< plain cosine */
  PZ_CF_WEIGHT_TFIDF = 2,  /**< TF-IDF over users; the similarity is the dot
                                product of the weighted columns, as in
                                implicit's ItemItemRecommender */
  PZ_CF_WEIGHT_BM25 = 3    /**< BM25 (bm25_k1, bm25_b), dot product too */
} pz_cf_weighting;

#define PZ_CF_OPTIONS_VERSION 1

/** Training options. pz_cf_options_init() sets every field to "the
 *  config's value": 0 for the integer fields, -1 for the real ones. */
typedef struct pz_cf_options {
  unsigned int version;  /**< PZ_CF_OPTIONS_VERSION */
  int algorithm;         /**< pz_cf_algorithm (cf.algorithm) */
  int weighting;         /**< pz_cf_weighting (cf.weighting) */
  uint32_t neighbours;   /**< kNN: neighbours kept per item (cf.neighbours) */
  uint32_t factors;      /**< ALS: latent factors (cf.factors) */
  uint32_t iterations;   /**< ALS: alternating sweeps (cf.iterations) */
  uint32_t cg_steps;     /**< ALS: conjugate-gradient steps per row */
  uint32_t threads;      /**< training threads (cf.threads); never more are used */
  uint64_t seed;         /**< ALS: initialisation seed (cf.seed) */
  double regularization; /**< ALS: L2 penalty lambda (cf.regularization) */
  double alpha;          /**< ALS: confidence c = 1 + alpha * r (cf.alpha) */
  double bm25_k1;        /**< BM25 K1 (cf.bm25_k1) */
  double bm25_b;         /**< BM25 B (cf.bm25_b) */
  double als_share;      /**< with both models: ALS's share of the CF score */
} pz_cf_options;

/**
 * Fill *opts with "use the config" for the given struct version.
 * @return PZ_OK; PZ_EINVAL (NULL); PZ_EVERSION. Thread safety: any.
 * Since 0.3.
 */
PZ_API int pz_cf_options_init(pz_cf_options *opts, unsigned int version);

/**
 * Build the interaction matrix from the profiles, train the configured
 * model(s) on it, and swap the result in. Same profiles, options and seed
 * give the same model whatever the thread count (on one machine: the
 * AVX2 and baseline kernels round differently). Training threads that
 * cannot be started leave their work to the others. With algorithm OFF
 * the model is dropped. On any failure the serving model is kept.
 * @return PZ_OK; PZ_EINVAL (NULL, unknown algorithm or weighting, a NaN
 *         real); PZ_EVERSION; PZ_ERANGE (a field above its bound: factors
 *         or neighbours 1024, threads 256, iterations 10000, cg_steps 1024;
 *         a real outside its range: regularization, alpha, bm25_k1 in
 *         [0, 1e9], bm25_b and als_share in [0, 1], -1 meaning "config");
 *         PZ_ENOTFOUND (no consented user has any interaction: the old
 *         model is kept); PZ_ERANGE also when an ALS confidence
 *         1 + alpha * r exceeds 1e6 or the sweeps overflow float (the
 *         message says which); PZ_ELIMIT (more than 2^32 - 3 users);
 *         PZ_ENOMEM; PZ_ERROR (the ALS fold-in matrix stayed singular:
 *         cannot happen with regularization > 0). Since 0.3.
 */
PZ_API int pz_cf_train(pz_engine *e, const pz_cf_options *opts);

#define PZ_CF_STATS_VERSION 1

/** What the serving model is. The caller sets version; the library fills
 *  the fields that version has. */
typedef struct pz_cf_stats {
  unsigned int version;   /**< PZ_CF_STATS_VERSION, set by the caller */
  int algorithm;          /**< pz_cf_algorithm of the model */
  uint32_t users;         /**< users whose rows were trained, less erased */
  uint32_t items;         /**< items in the model (catalogue size then) */
  uint64_t interactions;  /**< nonzero (user, item) cells trained on */
  uint32_t factors;       /**< ALS factors, or 0 */
  uint32_t neighbours;    /**< kNN neighbours per item, or 0 */
  uint32_t iterations;    /**< ALS sweeps run, or 0 */
  uint32_t threads;       /**< the thread setting it was trained with */
  uint32_t erased_since;  /**< trained users erased or withdrawn since (a
                               merge that keeps the history moves it and is
                               not counted, except during a training):
                               retrain to purge them */
  double train_seconds;   /**< wall time of the training */
  int64_t trained_at_ms;  /**< the engine's clock when it was swapped in */
} pz_cf_stats;

/**
 * Describe the serving model.
 * @return PZ_OK; PZ_EINVAL; PZ_EVERSION; PZ_ENOTFOUND (no model).
 * Since 0.3.
 */
PZ_API int pz_cf_stats_get(pz_cf_stats *out, pz_engine *e);

/**
 * The ALS training loss after each sweep (confidence-weighted squared error
 * over every cell plus the L2 penalty, divided by the total weight), first
 * sweep first, into buf[0..cap). *n_out gets the number of sweeps.
 * @return PZ_OK; PZ_EINVAL; PZ_EBUFS (cap too small: *n_out tells);
 *         PZ_ENOTFOUND (no ALS model). Since 0.3.
 */
PZ_API int pz_cf_loss(double *buf, size_t cap, size_t *n_out, pz_engine *e);

/** Plain interaction files (pz_cf_import_options.format). */
typedef enum pz_cf_format {
  PZ_CF_FORMAT_AUTO = 0,      /**< guess from the first line */
  PZ_CF_FORMAT_TSV = 1,       /**< user TAB item TAB value [TAB ts_seconds];
                                   optional header line */
  PZ_CF_FORMAT_CSV = 2,       /**< user,item,value[,ts_seconds]; optional
                                   header line; no quoting */
  PZ_CF_FORMAT_MOVIELENS = 3, /**< ratings.csv: header
                                   userId,movieId,rating,timestamp */
  PZ_CF_FORMAT_UDATA = 4      /**< MovieLens 100k u.data: user TAB item TAB
                                   rating TAB timestamp, no header */
} pz_cf_format;

#define PZ_CF_IMPORT_OPTIONS_VERSION 1

/** Import options; see pz_cf_import_options_init() for the defaults. */
typedef struct pz_cf_import_options {
  unsigned int version;   /**< PZ_CF_IMPORT_OPTIONS_VERSION */
  int format;             /**< pz_cf_format; default AUTO */
  const char *event_type; /**< event type of every row; NULL: the first
                               configured type */
  int binary;             /**< 1: every kept row has value 1; default 0 */
  double min_value;       /**< rows with a smaller value are skipped;
                               default -infinity (keep all) */
  int use_timestamps;     /**< 1 (default): a row's timestamp when the file
                               has one; 0: every row at now_ms */
  int64_t now_ms;         /**< time of rows without one; 0 = the clock */
} pz_cf_import_options;

/**
 * Fill *opts with the defaults for the given struct version.
 * @return PZ_OK; PZ_EINVAL; PZ_EVERSION. Since 0.3.
 */
PZ_API int pz_cf_import_options_init(pz_cf_import_options *opts,
                                     unsigned int version);

/**
 * Read a ratings file and pz_track() each kept row (unknown items are
 * created unless config refuses them); opts NULL means the defaults.
 * *rows_out (may be NULL) gets the number of rows passed to pz_track()
 * (rows dropped for lack of consent with `consent.without_consent: drop`
 * included). The file's format is checked whole before anything is
 * tracked, so a malformed file changes nothing; a row pz_track() refuses
 * (a value above 1e9, a timestamp more than 366 days past the clock, out
 * of memory, no consent) stops the import there, rows before it tracked,
 * and pz_errmsg() gives path:line.
 * @return PZ_OK; PZ_EINVAL; PZ_EVERSION; PZ_ENOTFOUND (unknown
 *         event_type); PZ_EIO (cannot open or read); PZ_EFORMAT (not the
 *         stated format: pz_errmsg() gives path:line); codes of
 *         pz_track(). Since 0.3.
 */
PZ_API int pz_cf_import(pz_engine *e, const char *path,
                        const pz_cf_import_options *opts, uint64_t *rows_out);

/**
 * The k items most similar to `item`, most similar first: kNN neighbours
 * when the model has them (an item's list holds itself, so at most
 * cf.neighbours - 1 come back), else positive cosines of ALS item factors
 * (among items someone interacted with), else (an item nobody interacted
 * with when the model was trained) positive cosines of catalogue
 * features. Scores are the similarities; reasons say which of the three
 * it was. Removed items are
 * left out. Free with pz_recs_free().
 * @return PZ_OK; PZ_EINVAL; PZ_ERANGE (k above ranking.max_k);
 *         PZ_ENOTFOUND (unknown or removed item); PZ_ENOMEM. Since 0.3.
 */
PZ_API int pz_similar_items(pz_recs **out, pz_engine *e, const char *item,
                            size_t k);

/**
 * The j-th history item (0 = the strongest) that drove the CF score of the
 * i-th recommendation, borrowed until pz_recs_free(); NULL past the end or
 * when no history item pulls towards it (see PZ_REASON_CF). At most 3.
 * Since 0.3.
 */
PZ_API const char *pz_recs_because(const pz_recs *r, size_t i, size_t j);

/** Share of the i-th item's CF score due to its j-th because-item: its
 *  weight over the sum of the positive weights of all the user's history
 *  items (ALS weights can be negative), so the named shares add up to at
 *  most 1; NaN past the end. Since 0.3. */
PZ_API double pz_recs_because_share(const pz_recs *r, size_t i, size_t j);

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_CF_H */
