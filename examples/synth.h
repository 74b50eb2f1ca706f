/*
 * examples/synth.h - a deterministic generator of synthetic catalogues,
 * users and events, shared by pz-gen, quickstart and the benchmark.
 *
 * The shape of the data is what a recommender sees in a shop or a media
 * library, reduced to what matters for libpersonalize:
 *   - items carry features from several namespaces (genre=, decade=, mood=,
 *     brand=, price_band=, tag=), `features_per_item` of them (default 8);
 *   - each user has hidden tastes (one genre, one mood, one decade) and
 *     mostly interacts with items that match them, so there is something
 *     for the library to learn;
 *   - popularity is skewed (Zipf-like): a few items and a few users account
 *     for a large share of the events, as in real logs;
 *   - event types are those of the library's default configuration (view,
 *     click, add_to_cart, purchase, rating with a value of 1..5, play).
 *
 * Everything derives from one 64-bit seed. Item features and user tastes
 * are a pure function of (seed, index), so any tool can ask for them in any
 * order; the event stream is a sequence that replays identically for the
 * same seed and sizes.
 *
 * Header-only: every function is `static inline`, so a program that uses
 * part of it gets no unused-function warnings. Depends only on libc and
 * libm; it does not use libpersonalize, so the same data can be fed to
 * other systems for comparison.
 */
#ifndef PZ_EXAMPLES_SYNTH_H
#define PZ_EXAMPLES_SYNTH_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG: splitmix64 ------------------------------------------------------
 * Tiny, fast, statistically good enough for test data, and trivially
 * seekable: mixing (seed, index) gives an independent stream per item or
 * per user without storing any state. */

typedef struct synth_rng {
  uint64_t s;
} synth_rng;

static inline uint64_t synth_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t synth_next(synth_rng *r) {
  r->s += 0x9e3779b97f4a7c15ULL;
  return synth_mix64(r->s);
}

/* A stream of its own for (seed, domain, index). */
static inline synth_rng synth_rng_for(uint64_t seed, uint64_t domain,
                                      uint64_t index) {
  synth_rng r = {synth_mix64(seed ^ synth_mix64(domain * 0x9e3779b97f4a7c15ULL
                                                ^ index))};
  return r;
}

/* Uniform double in [0, 1): the top 53 bits. */
static inline double synth_unit(synth_rng *r) {
  return (double)(synth_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n > 0. The modulo bias is < n / 2^64: far
 * below anything a test could notice. */
static inline uint32_t synth_below(synth_rng *r, uint32_t n) {
  return (uint32_t)(synth_next(r) % n);
}

/* A Zipf-like rank in [0, n): P(rank r) roughly proportional to
 * (r + 1)^-s. Drawn by inverting the continuous power law, which needs no
 * table and costs one pow() per draw; close enough to a true Zipf for
 * skewing test data. */
static inline uint32_t synth_zipf(synth_rng *r, uint32_t n, double s) {
  double u = synth_unit(r), x;
  if (fabs(s - 1.0) < 1e-9) {
    x = exp(u * log((double)n + 1.0)); /* in [1, n + 1) */
  } else {
    double a = 1.0 - s;
    x = pow(u * (pow((double)n + 1.0, a) - 1.0) + 1.0, 1.0 / a);
  }
  uint32_t k = (uint32_t)x - 1u;
  return k < n ? k : n - 1;
}

/* ---- vocabulary ------------------------------------------------------------ */

static const char *const synth_genres[] = {
    "jazz",     "rock",    "pop",       "classical", "hiphop",  "electronic",
    "folk",     "blues",   "country",   "reggae",    "metal",   "soul",
    "funk",     "latin",   "ambient",   "punk",      "gospel",  "world",
    "soundtrack", "indie"};
static const char *const synth_decades[] = {"1950s", "1960s", "1970s",
                                            "1980s", "1990s", "2000s",
                                            "2010s", "2020s"};
static const char *const synth_moods[] = {
    "calm",  "energetic", "melancholic", "happy",    "dark",     "romantic",
    "epic",  "playful",   "dreamy",      "angry",    "hopeful",  "nostalgic"};
static const char *const synth_price_bands[] = {"budget", "low", "mid",
                                                "high", "premium"};
/* Brands and tags are built from syllables and words, so there are many of
 * them with realistic-looking text of varied length (feature hashing cost
 * depends on the length). */
static const char *const synth_syllables[] = {
    "ka", "lo", "mi", "ven", "tor", "ax", "zu", "rel",
    "on", "dra", "pe", "qui", "sol", "ny", "ber", "ia"};
static const char *const synth_tag_adj[] = {
    "rainy",  "late",   "summer", "winter", "road",  "quiet",
    "loud",   "retro",  "urban",  "acoustic", "live", "lofi",
    "deep",   "golden", "neon",   "slow"};
static const char *const synth_tag_noun[] = {
    "day",     "night",  "drive",  "party",  "study",  "workout",
    "morning", "dinner", "trip",   "focus",  "dance",  "sleep",
    "classic", "remix",  "session", "anthem"};

#define SYNTH_N(a) (sizeof(a) / sizeof *(a))
#define SYNTH_N_GENRES ((uint32_t)SYNTH_N(synth_genres))
#define SYNTH_N_DECADES ((uint32_t)SYNTH_N(synth_decades))
#define SYNTH_N_MOODS ((uint32_t)SYNTH_N(synth_moods))
#define SYNTH_N_PRICES ((uint32_t)SYNTH_N(synth_price_bands))
#define SYNTH_N_BRANDS 256u /* two syllables out of 16 */
#define SYNTH_N_TAGS 256u   /* adjective-noun out of 16 x 16 */

/* genre, decade, mood, brand, price_band, then tags */
#define SYNTH_FIXED_NS 5u
#define SYNTH_MAX_FEATURES 64u
#define SYNTH_MAX_TAGS (SYNTH_MAX_FEATURES - SYNTH_FIXED_NS)
#define SYNTH_FEATURE_MAX 48 /* longest feature text, with its NUL */
#define SYNTH_ID_MAX 24      /* longest "user123" / "item123", with NUL */

/* The namespaces a user's tastes are drawn from. */
enum synth_taste_ns { SYNTH_GENRE = 0, SYNTH_MOOD = 1, SYNTH_DECADE = 2 };
#define SYNTH_N_TASTES 3u

/* Event types: names as in the library's default `events:` config. */
enum synth_event_type {
  SYNTH_VIEW = 0,
  SYNTH_CLICK,
  SYNTH_ADD_TO_CART,
  SYNTH_PURCHASE,
  SYNTH_RATING,
  SYNTH_PLAY,
  SYNTH_N_TYPES
};
static const char *const synth_type_names[SYNTH_N_TYPES] = {
    "view", "click", "add_to_cart", "purchase", "rating", "play"};

/* ---- parameters and state --------------------------------------------------- */

typedef struct synth_params {
  uint32_t users;
  uint32_t items;
  uint64_t events;
  unsigned int features_per_item; /* 0..SYNTH_MAX_FEATURES */
  uint64_t seed;
  int64_t start_ms; /* first event's timestamp */
  int64_t span_ms;  /* events are spread evenly over this window */
  double item_skew; /* Zipf exponent of item popularity */
  double user_skew; /* Zipf exponent of user activity */
  double taste_share; /* share of events on items matching a taste */
} synth_params;

static inline void synth_params_default(synth_params *p) {
  p->users = 1000;
  p->items = 500;
  p->events = 20000;
  p->features_per_item = 8;
  p->seed = 42;
  /* A fixed window (90 days up to 2026-01-01T00:00Z) rather than the wall
   * clock, so two runs with the same seed give the same file. */
  p->start_ms = 1767225600000LL - 90LL * 86400000LL;
  p->span_ms = 90LL * 86400000LL;
  p->item_skew = 1.0;
  /* Below 1 so that even the least active user gets some events. */
  p->user_skew = 0.6;
  p->taste_share = 0.8;
}

/* An item's hidden attributes; its features are rendered from these. */
typedef struct synth_item {
  uint8_t genre, decade, mood, price;
  uint8_t brand;
  uint8_t n_tags;
  uint8_t tags[SYNTH_MAX_TAGS];
} synth_item;

/* A user's hidden tastes: one value per taste namespace. */
typedef struct synth_user {
  uint32_t taste[SYNTH_N_TASTES]; /* genre, mood, decade value indices */
} synth_user;

/* One generated event. Indices, not strings, so a benchmark can keep
 * millions of them in memory; see synth_user_id / synth_item_id. */
typedef struct synth_event {
  uint32_t user;
  uint32_t item;
  uint32_t type; /* enum synth_event_type */
  double value;
  int64_t ts_ms;
} synth_event;

typedef struct synth {
  synth_params p;
  synth_item *items;
  /* For each taste namespace and value, the items carrying it, in item
   * order. Since item order is popularity order (item 0 is the most
   * popular), a Zipf draw over one of these lists keeps the popularity
   * skew inside a taste. */
  uint32_t *by_value[SYNTH_N_TASTES]; /* items grouped by value */
  uint32_t *start[SYNTH_N_TASTES];    /* value v: [start[v], start[v+1]) */
  synth_rng stream;                   /* the event sequence */
  uint64_t emitted;
} synth;

/* ---- items and users ---------------------------------------------------------- */

static inline void synth_make_item(const synth_params *p, uint32_t i,
                                   synth_item *it) {
  synth_rng r = synth_rng_for(p->seed, 1, i);
  it->genre = (uint8_t)synth_below(&r, SYNTH_N_GENRES);
  it->decade = (uint8_t)synth_below(&r, SYNTH_N_DECADES);
  it->mood = (uint8_t)synth_below(&r, SYNTH_N_MOODS);
  it->price = (uint8_t)synth_below(&r, SYNTH_N_PRICES);
  /* Brands and tags are long-tailed: a few are everywhere. */
  it->brand = (uint8_t)synth_zipf(&r, SYNTH_N_BRANDS, 0.8);
  unsigned f = p->features_per_item;
  it->n_tags = (uint8_t)(f > SYNTH_FIXED_NS ? f - SYNTH_FIXED_NS : 0);
  for (unsigned t = 0; t < it->n_tags; t++) {
    uint8_t tag;
    int dup;
    do { /* distinct tags, so an item really has F features */
      tag = (uint8_t)synth_zipf(&r, SYNTH_N_TAGS, 0.7);
      dup = 0;
      for (unsigned u = 0; u < t; u++) dup |= it->tags[u] == tag;
    } while (dup);
    it->tags[t] = tag;
  }
}

static inline void synth_make_user(const synth_params *p, uint32_t u,
                                   synth_user *out) {
  synth_rng r = synth_rng_for(p->seed, 2, u);
  /* Popular genres are popular tastes too. */
  out->taste[SYNTH_GENRE] = synth_zipf(&r, SYNTH_N_GENRES, 0.7);
  out->taste[SYNTH_MOOD] = synth_below(&r, SYNTH_N_MOODS);
  out->taste[SYNTH_DECADE] = synth_below(&r, SYNTH_N_DECADES);
}

static inline uint32_t synth_item_value(const synth_item *it, unsigned ns) {
  return ns == SYNTH_GENRE ? it->genre : ns == SYNTH_MOOD ? it->mood
                                                          : it->decade;
}

static inline uint32_t synth_ns_values(unsigned ns) {
  return ns == SYNTH_GENRE ? SYNTH_N_GENRES
         : ns == SYNTH_MOOD ? SYNTH_N_MOODS
                            : SYNTH_N_DECADES;
}

/* Write the j-th feature of an item ("genre=jazz") into buf. */
static inline void synth_feature(const synth_item *it, unsigned j, char *buf,
                                 size_t cap) {
  switch (j) {
  case 0: snprintf(buf, cap, "genre=%s", synth_genres[it->genre]); break;
  case 1: snprintf(buf, cap, "decade=%s", synth_decades[it->decade]); break;
  case 2: snprintf(buf, cap, "mood=%s", synth_moods[it->mood]); break;
  case 3: {
    /* scramble the rank (odd multiplier: a bijection mod 256) so that the
     * popular brands do not all share their first syllable */
    uint8_t b = (uint8_t)(it->brand * 73u + 31u);
    snprintf(buf, cap, "brand=%s%s", synth_syllables[b >> 4],
             synth_syllables[b & 15]);
    break;
  }
  case 4:
    snprintf(buf, cap, "price_band=%s", synth_price_bands[it->price]);
    break;
  default: {
    uint8_t t = (uint8_t)(it->tags[j - SYNTH_FIXED_NS] * 167u + 89u);
    snprintf(buf, cap, "tag=%s-%s", synth_tag_adj[t >> 4],
             synth_tag_noun[t & 15]);
  }
  }
}

/* The feature text of a taste ("genre=jazz"), for printing. */
static inline void synth_taste_feature(unsigned ns, uint32_t value, char *buf,
                                       size_t cap) {
  if (ns == SYNTH_GENRE) snprintf(buf, cap, "genre=%s", synth_genres[value]);
  else if (ns == SYNTH_MOOD) snprintf(buf, cap, "mood=%s", synth_moods[value]);
  else snprintf(buf, cap, "decade=%s", synth_decades[value]);
}

/* Ids are plain text so that files and printouts are easy to read. */
static inline void synth_user_id(uint32_t u, char *buf, size_t cap) {
  snprintf(buf, cap, "user%u", u);
}
static inline void synth_item_id(uint32_t i, char *buf, size_t cap) {
  snprintf(buf, cap, "item%u", i);
}

/* ---- setup -------------------------------------------------------------- */

static inline void synth_free(synth *s) {
  if (!s) return;
  free(s->items);
  for (unsigned ns = 0; ns < SYNTH_N_TASTES; ns++) {
    free(s->by_value[ns]);
    free(s->start[ns]);
  }
  memset(s, 0, sizeof *s);
}

/* Make the catalogue and the per-taste item lists. Returns 0, or -1 for
 * bad parameters or out of memory (s is then empty). */
static inline int synth_init(synth *s, const synth_params *p) {
  memset(s, 0, sizeof *s);
  if (p->items == 0 || p->users == 0 ||
      p->features_per_item > SYNTH_MAX_FEATURES || p->span_ms < 0)
    return -1;
  s->p = *p;
  s->items = malloc((size_t)p->items * sizeof *s->items);
  if (!s->items) return -1;
  for (uint32_t i = 0; i < p->items; i++) synth_make_item(p, i, &s->items[i]);
  for (unsigned ns = 0; ns < SYNTH_N_TASTES; ns++) {
    uint32_t nv = synth_ns_values(ns);
    s->by_value[ns] = malloc((size_t)p->items * sizeof(uint32_t));
    s->start[ns] = calloc((size_t)nv + 1, sizeof(uint32_t));
    if (!s->by_value[ns] || !s->start[ns]) {
      synth_free(s);
      return -1;
    }
    /* counting sort by value keeps item order inside each value */
    uint32_t *st = s->start[ns];
    for (uint32_t i = 0; i < p->items; i++)
      st[synth_item_value(&s->items[i], ns) + 1]++;
    for (uint32_t v = 0; v < nv; v++) st[v + 1] += st[v];
    uint32_t *fill = calloc(nv, sizeof *fill);
    if (!fill) {
      synth_free(s);
      return -1;
    }
    for (uint32_t i = 0; i < p->items; i++) {
      uint32_t v = synth_item_value(&s->items[i], ns);
      s->by_value[ns][st[v] + fill[v]++] = i;
    }
    free(fill);
  }
  s->stream = synth_rng_for(p->seed, 3, 0);
  s->emitted = 0;
  return 0;
}

/* Draw an item carrying value `v` of taste namespace `ns`, popular ones
 * more often. Falls back to a global draw when no item carries it (tiny
 * catalogues). */
static inline uint32_t synth_pick_with(const synth *s, synth_rng *r,
                                       unsigned ns, uint32_t v) {
  const uint32_t *st = s->start[ns];
  uint32_t n = st[v + 1] - st[v];
  if (n == 0) return synth_zipf(r, s->p.items, s->p.item_skew);
  return s->by_value[ns][st[v] + synth_zipf(r, n, s->p.item_skew)];
}

static inline int synth_matches(const synth *s, const synth_user *u,
                                uint32_t item) {
  const synth_item *it = &s->items[item];
  return it->genre == u->taste[SYNTH_GENRE] ||
         it->mood == u->taste[SYNTH_MOOD] ||
         it->decade == u->taste[SYNTH_DECADE];
}

/* A type for an event, with its value. Browsing dominates; strong
 * signals (purchase, rating) are rarer, as in real logs. */
static inline uint32_t synth_pick_type(synth_rng *r, int matches,
                                       double *value) {
  double x = synth_unit(r);
  *value = 1.0;
  if (x < 0.50) return SYNTH_VIEW;
  if (x < 0.70) return SYNTH_CLICK;
  if (x < 0.82) {
    /* a play count: mostly one, sometimes a replay */
    *value = (double)(1 + synth_zipf(r, 5, 1.5));
    return SYNTH_PLAY;
  }
  if (x < 0.89) return SYNTH_ADD_TO_CART;
  if (x < 0.96) {
    /* people rate what they like higher: 3..5 on a match, 1..4 otherwise */
    *value = matches ? (double)(3 + synth_below(r, 3))
                     : (double)(1 + synth_below(r, 4));
    return SYNTH_RATING;
  }
  return SYNTH_PURCHASE;
}

/* The next event of the stream; returns 0, or -1 once p.events have been
 * produced. Timestamps never decrease: the stream is a log in time order. */
static inline int synth_next_event(synth *s, synth_event *ev) {
  if (s->emitted >= s->p.events) return -1;
  synth_rng *r = &s->stream;
  uint64_t i = s->emitted++;
  ev->user = synth_zipf(r, s->p.users, s->p.user_skew);
  synth_user u;
  synth_make_user(&s->p, ev->user, &u);
  if (synth_unit(r) < s->p.taste_share) {
    /* the genre drives taste most, then mood, then decade */
    double x = synth_unit(r);
    unsigned ns = x < 0.6 ? SYNTH_GENRE : x < 0.85 ? SYNTH_MOOD : SYNTH_DECADE;
    ev->item = synth_pick_with(s, r, ns, u.taste[ns]);
  } else {
    ev->item = synth_zipf(r, s->p.items, s->p.item_skew);
  }
  ev->type = synth_pick_type(r, synth_matches(s, &u, ev->item), &ev->value);
  ev->ts_ms = s->p.start_ms +
              (int64_t)((double)s->p.span_ms * (double)i / (double)s->p.events);
  return 0;
}

/* Restart the event stream from its first event. */
static inline void synth_rewind(synth *s) {
  s->stream = synth_rng_for(s->p.seed, 3, 0);
  s->emitted = 0;
}

/* The end of the data's time window: a natural "now" for queries. */
static inline int64_t synth_end_ms(const synth *s) {
  return s->p.start_ms + s->p.span_ms;
}

/* ---- command-line helpers shared by the programs ------------------------- */

/* Parse a whole decimal number in [min, max]; 0 on success, -1 otherwise. */
static inline int synth_parse_u64(const char *text, uint64_t min, uint64_t max,
                                  uint64_t *out) {
  if (!text || !*text || *text == '-' || *text == '+') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || *end || v < min || v > max) return -1;
  *out = (uint64_t)v;
  return 0;
}

#endif /* PZ_EXAMPLES_SYNTH_H */
