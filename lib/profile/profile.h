/*
 * lib/profile/profile.h - internal: per-user profiles in striped shards.
 *
 * Users are spread over PZ__SHARDS shards by the hash of their id; each
 * shard has its own read-write lock, id map and profile table, so writers
 * for different users rarely wait on each other. Lock order everywhere:
 * the catalogue lock first, then shard locks in increasing shard number.
 */
#ifndef PZ_PROFILE_H
#define PZ_PROFILE_H

#include "../catalog/catalog.h"
#include "../core/yaml.h"
#include "personalize/profile.h"

#include <string.h>

#define PZ__SHARDS 64
#define PZ__MAX_PURPOSES 32
#define PZ__MAX_EVENT_TYPES 64
#define PZ__MAX_ATTRS 256
#define PZ__ATTR_STR_MAX 4096
#define PZ__VALUE_MAX 1e9
#define PZ__WEIGHT_MAX 1e6
#define PZ__FUTURE_MAX_MS (366LL * 86400000)

enum { PZ__PURPOSE_PERSONALIZATION = 0 };

/* One event of a history, as read back (pz__hist_next). */
typedef struct pz__event {
  int64_t ts;
  uint32_t item;
  float value;
} pz__event;

/* A person's history: its events in arrival order, each coded in 2 to
 * PZ__HIST_EV_MAX bytes (lib/profile/history.c):
 *   tag      bits 0-4 the event type (31: the type follows in a byte),
 *            bits 5-6 how the value is kept (0: 1.0; 1: a byte holding
 *            twice the value, for 0, 0.5, ... 127.5; 2: the float's 4
 *            bytes; 3: a whole number, zigzag varint), bit 7: the step is
 *            in whole seconds
 *   [type]   only when the tag says 31
 *   step     varint (LEB128) of the zigzag-coded difference from the time
 *            of the event before (in ms, or in s when bit 7 is set)
 *   item     varint of the item index
 *   [value]  as the tag says
 * The bytes [off, off + len) of b hold the events, oldest first. When the
 * history is at its limit the oldest event goes: off moves past it (its
 * bytes are wiped) and base takes its time, the reference of the next
 * event's step. Capacity is compacted or grown by an eighth; every byte
 * outside [off, off + len) is zero, and at least PZ__HIST_PAD of them
 * follow the last event (the decoder reads eight bytes at a time). */
#define PZ__HIST_EV_MAX 21
#define PZ__HIST_PAD 8 /* zero bytes kept past the last event */
typedef struct pz__hist {
  uint8_t *b;
  int64_t base; /* time of the event before the oldest held (0 at first) */
  int64_t last; /* time of the newest event (base when none) */
  uint32_t off, len, cap;
  uint32_t n; /* events held */
} pz__hist;

/* Reading a history, oldest event first. */
typedef struct pz__hist_it {
  const uint8_t *p, *end;
  int64_t ts;
} pz__hist_it;

static inline pz__hist_it pz__hist_iter(const pz__hist *h) {
  pz__hist_it it = {NULL, NULL, h->base};
  if (h->b) {
    it.p = h->b + h->off;
    it.end = it.p + h->len;
  }
  return it;
}

/* Zigzag: small magnitudes of either sign as small unsigned numbers
 * (0, -1, 1, -2 ... as 0, 1, 2, 3 ...), in two's complement. */
static inline uint64_t pz__zigzag(uint64_t x) {
  return (x << 1) ^ (0 - (x >> 63));
}
static inline uint64_t pz__unzigzag(uint64_t z) {
  return (z >> 1) ^ (0 - (z & 1));
}

/* A varint (LEB128) at *q. The buffer holds PZ__HIST_PAD zero bytes past
 * its last event, so eight bytes can be read at once: the first byte with
 * its top bit clear ends the number, and its 7-bit groups are gathered
 * without a branch per byte. */
static inline uint64_t pz__hist_varint(const uint8_t **q) {
  const uint8_t *p = *q;
  uint64_t w;
  memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  uint64_t stop = ~w & UINT64_C(0x8080808080808080);
  if (__builtin_expect(stop != 0, 1)) {
    unsigned len = ((unsigned)__builtin_ctzll(stop) >> 3) + 1;
    uint64_t v = (w & 0x7f) | (w >> 1 & UINT64_C(0x3f80)) |
                 (w >> 2 & UINT64_C(0x1fc000)) |
                 (w >> 3 & UINT64_C(0xfe00000)) |
                 (w >> 4 & UINT64_C(0x7f0000000)) |
                 (w >> 5 & UINT64_C(0x3f800000000)) |
                 (w >> 6 & UINT64_C(0x1fc0000000000)) |
                 (w >> 7 & UINT64_C(0xfe000000000000));
    *q = p + len;
    return v & ((UINT64_C(1) << (7 * len)) - 1);
  }
  uint64_t v = 0; /* 9 or 10 bytes: times near 2^61 */
  unsigned shift = 0;
  for (;;) {
    v |= (uint64_t)(*p & 0x7f) << shift;
    if (!(*p++ & 0x80)) break;
    shift += 7;
  }
  *q = p;
  return v;
}

/* The next event (type may be NULL); false after the newest. */
static inline bool pz__hist_next(pz__hist_it *it, pz__event *e,
                                 uint8_t *type) {
  if (it->p >= it->end) return false;
  const uint8_t *q = it->p;
  unsigned tag = *q++, t = tag & 31;
  if (t == 31) t = *q++;
  uint64_t z = pz__hist_varint(&q);
  uint64_t step = pz__unzigzag(z);
  if (tag & 0x80) step *= 1000;
  it->ts = (int64_t)((uint64_t)it->ts + step);
  e->ts = it->ts;
  e->item = (uint32_t)pz__hist_varint(&q);
  switch ((tag >> 5) & 3) {
  case 0: e->value = 1.0f; break;
  case 1: e->value = (float)*q++ * 0.5f; break;
  case 2:
    memcpy(&e->value, q, sizeof e->value);
    q += sizeof e->value;
    break;
  default: {
    uint64_t v = pz__hist_varint(&q);
    e->value = (float)(int64_t)pz__unzigzag(v);
    break;
  }
  }
  it->p = q;
  if (type) *type = (uint8_t)t;
  return true;
}

/* An attribute. Short names (< 16 bytes) and short string values (< 8
 * bytes) live inline: segment scans then read one line per attribute
 * instead of chasing pointers. */
#define PZ__ATTR_NAME_INLINE 16
#define PZ__ATTR_STR_INLINE 8
typedef struct pz__attr {
  union {
    char *p;
    char s[PZ__ATTR_NAME_INLINE];
  } name;
  uint8_t namelen;
  uint8_t type;   /* pz_attr_type */
  uint16_t nhash; /* pz__attr_hash of the name: most lookups end here */
  uint32_t slen;
  union {
    double num;
    int64_t ts;
    int b;
    char *str;
    char s[PZ__ATTR_STR_INLINE];
  } v;
} pz__attr;

static inline const char *pz__attr_name(const pz__attr *t) {
  return t->namelen < PZ__ATTR_NAME_INLINE ? t->name.s : t->name.p;
}
/* The value of a string attribute (NUL-terminated). */
static inline const char *pz__attr_str(const pz__attr *t) {
  return t->slen < PZ__ATTR_STR_INLINE ? t->v.s : t->v.str;
}

typedef struct pz__consent {
  int64_t ts;
  uint8_t purpose;
  uint8_t granted;
} pz__consent;

/* The kinds of a stored choice: the values of the public pz_choice_kind
 * (personalize/override.h, which belongs to the override module; the
 * override module checks that they agree). */
enum {
  PZ__CH_BLOCK_ITEM = 1, PZ__CH_BLOCK_FEATURE = 2, PZ__CH_REQUIRE = 3,
  PZ__CH_PIN = 4, PZ__CH_ADJUST = 5, PZ__CH_OPT_OUT = 6
};

/* A person's stated choice (override module semantics; stored here so
 * that erase, merge and export reach it with the rest of the profile).
 * One choice per target: items (block, pin) and features (block,
 * require, adjust) are separate target spaces. */
typedef struct pz__choice {
  int64_t created, expires; /* expires 0: never */
  char *target;             /* NUL-terminated item id or feature */
  uint16_t tlen;
  uint8_t kind;  /* PZ__CH_* */
  int8_t fsign;  /* features: hashed sign */
  uint32_t fidx; /* features: hashed index */
  int32_t pos;   /* pin slot or -1 */
  double factor; /* adjust (a double: 2.2 is exported as 2.2) */
} pz__choice;

#define PZ__REQUIRE_MAX 64 /* requirements per person (a bit each) */

typedef struct pz__choices {
  pz__choice *c;
  uint32_t n, cap;
  bool opted_out;
  int64_t opt_ts; /* time of the last opt-out or opt-in; 0 never */
} pz__choices;

static inline bool pz__choice_on_item(int kind) {
  return kind == PZ__CH_BLOCK_ITEM || kind == PZ__CH_PIN;
}
static inline bool pz__choice_active(const pz__choice *c, int64_t now) {
  return c->expires == 0 || now < c->expires;
}

typedef struct pz__profile {
  int64_t landmark; /* forward-decay landmark of iv */
  pz__sv iv;        /* interests, signed hashed features */
  pz__hist h;       /* history, at most history_limit events */
  pz__attr *attrs;
  uint16_t n_attrs, attrs_cap;
  pz__consent *consent;
  uint8_t n_consent;
  uint8_t idlen;
  pz__choices *ch; /* NULL: no choices ever made */
  uint64_t hver;    /* history version: a new engine-wide unique number
                       whenever the history changes (serving caches key on
                       it) */
  char id[];
} pz__profile;

typedef struct pz__shard {
  pthread_rwlock_t lock;
  pz__profile **p; /* slots; NULL = free */
  uint32_t n, cap;
  uint32_t *freelist;
  uint32_t n_free, free_cap;
  pz__idmap map;
  uint32_t live;
} pz__shard;

typedef struct pz__event_type {
  char name[64];
  double weight;
} pz__event_type;

typedef struct pz__profile_cfg {
  int64_t half_life_ms; /* 0: no decay */
  uint32_t history_limit;
  pz__event_type types[PZ__MAX_EVENT_TYPES];
  uint32_t n_types;
  char purposes[PZ__MAX_PURPOSES][PZ_ID_MAX + 1];
  uint32_t n_purposes;
  uint32_t consent_default; /* bit per purpose */
  bool drop_without_consent;
} pz__profile_cfg;

typedef struct pz__profiles {
  const pz__alloc *a;
  const pz__profile_cfg *cfg;
  pz__shard shards[PZ__SHARDS];
  _Atomic uint64_t hver_next; /* last history version handed out */
  uint64_t max_live;          /* limits.profiles (0: none) */
  _Atomic uint64_t n_live;    /* profiles in all shards */
  uint64_t max_choices;       /* limits.choices (0: none) */
  _Atomic uint64_t n_choices; /* choices stored in all profiles (expired
                                 ones too, until a write wipes them) */
} pz__profiles;

/* Shard write lock held: the profile's history changed. */
static inline void pz__profile_touch(pz__profiles *ps, pz__profile *p) {
  p->hver = atomic_fetch_add_explicit(&ps->hver_next, 1,
                                      memory_order_relaxed) + 1;
}

/* ---- config (sections events, decay, profile, consent) ---------------- */
void pz__profile_cfg_default(pz__profile_cfg *cfg);
int pz__profile_cfg_read(pz__profile_cfg *cfg, const pz__ydoc *d);
/* Index of an event type or purpose, or -1. */
int pz__profile_event_type(const pz__profile_cfg *cfg, const char *name);
int pz__profile_purpose(const pz__profile_cfg *cfg, const char *name);

/* ---- table -------------------------------------------------------------- */
int pz__profiles_init(pz__profiles *ps, const pz__alloc *a,
                      const pz__profile_cfg *cfg);
void pz__profiles_free(pz__profiles *ps);

typedef struct pz__uref { /* a user id resolved to its shard */
  const char *id;
  size_t len;
  uint64_t hash;
  uint32_t shard;
} pz__uref;
void pz__uref_make(pz__uref *u, const char *id, size_t len);

void pz__shard_rdlock(pz__profiles *ps, uint32_t shard);
void pz__shard_wrlock(pz__profiles *ps, uint32_t shard);
void pz__shard_unlock(pz__profiles *ps, uint32_t shard);

/* Shard lock held. */
pz__profile *pz__profiles_find(pz__profiles *ps, const pz__uref *u);
/* Prefetch what a write of u's profile touches, in stages that each read
 * what the one before fetched: 0 the id slot, 1 the profile's pointer,
 * 2 the profile, 3 its interest vector and the history slot the next
 * event takes. Only while no other thread writes profiles (the engine's
 * order lock held exclusively); it changes nothing. */
void pz__profiles_prefetch(const pz__profiles *ps, const pz__uref *u,
                           int stage);
/* Shard write lock held. Find or create. *created tells which. */
int pz__profiles_obtain(pz__profiles *ps, const pz__uref *u,
                        pz__profile **out, bool *created);
/* Shard write lock held. Remove, wiping the memory. */
void pz__profiles_remove(pz__profiles *ps, const pz__uref *u);
size_t pz__profiles_count(pz__profiles *ps);
/* Call fn on every profile, each shard under its own read lock, fetching
 * the next profiles ahead (scans over many profiles are memory-bound).
 * Stops at the first nonzero return of fn and returns it. */
typedef int (*pz__profile_fn)(const pz__profile *p, void *ud);
int pz__profiles_each(pz__profiles *ps, pz__profile_fn fn, void *ud);
size_t pz__profile_bytes(const pz__profile *p);

/* ---- behaviour (shard write lock held) ------------------------------ */
/* Add an event: interests += item features * amount decayed from ts, and
 * the history gets the event. On failure nothing changed. */
int pz__profile_track(pz__profiles *ps, pz__profile *p, uint32_t item,
                      const pz__ent *f, uint32_t nf, uint32_t type,
                      double value, int64_t ts);
/* ---- history coding (lib/profile/history.c) -------------------------- */
/* Code an event that would follow h's newest into out; returns its
 * length. ts >= 0 and type < PZ__MAX_EVENT_TYPES. */
uint32_t pz__hist_encode(const pz__hist *h, int64_t ts, uint32_t item,
                         uint32_t type, float value,
                         uint8_t out[PZ__HIST_EV_MAX]);
/* Room for len more bytes at the end. On failure nothing changed. */
int pz__hist_reserve(const pz__alloc *a, pz__hist *h, uint32_t len);
/* Append a coded event (room reserved), first dropping the oldest events
 * while limit or more are held. Cannot fail. */
void pz__hist_append(pz__hist *h, const uint8_t *code, uint32_t len,
                     int64_t ts, uint32_t limit);
/* Encode, reserve, append. On failure nothing changed. */
int pz__hist_add(const pz__alloc *a, pz__hist *h, int64_t ts, uint32_t item,
                 uint32_t type, float value, uint32_t limit);
/* Wipe and free; h becomes empty. */
void pz__hist_free(const pz__alloc *a, pz__hist *h);
/* Popularity amount of an event: max(0, weight * value). */
double pz__profile_event_amount(const pz__profile_cfg *cfg, uint32_t type,
                                double value);
/* Forget history and interests (wiping them). */
void pz__profile_clear_behaviour(pz__profiles *ps, pz__profile *p);
/* Multiply a stored interest by this to read it at now. */
double pz__profile_decay_factor(const pz__profiles *ps, const pz__profile *p,
                              int64_t now);

/* ---- attributes --------------------------------------------------------- */
static inline uint16_t pz__attr_hash(const char *name, size_t len) {
  return (uint16_t)pz__hash_bytes(name, len, 0);
}
const pz__attr *pz__profile_attr(const pz__profile *p, const char *name,
                                 size_t len);
/* The same with the name's pz__attr_hash known (compiled rules). */
static inline const pz__attr *pz__profile_attr_h(const pz__profile *p,
                                                 const char *name, size_t len,
                                                 uint16_t h) {
  for (uint16_t i = 0; i < p->n_attrs; i++) {
    const pz__attr *t = &p->attrs[i];
    if (t->nhash == h && t->namelen == len &&
        memcmp(pz__attr_name(t), name, len) == 0)
      return t;
  }
  return NULL;
}
/* Set from a prepared value (str copied). */
int pz__profile_attr_set(pz__profiles *ps, pz__profile *p, const char *name,
                         size_t len, int type, double num, int64_t ts,
                         const char *str, size_t slen);
int pz__profile_attr_remove(pz__profiles *ps, pz__profile *p,
                            const char *name, size_t len);
/* Free (wiping) what an attribute owns. */
void pz__attr_release(const pz__alloc *a, pz__attr *t);
/* A deep copy; on failure dst owns nothing. */
int pz__attr_copy(const pz__alloc *a, pz__attr *dst, const pz__attr *src);
/* Heap bytes an attribute owns besides its slot. */
size_t pz__attr_bytes(const pz__attr *t);

/* ---- consent --------------------------------------------------------- */
/* Granted? (p may be NULL: the default.) */
bool pz__profile_consented(const pz__profiles *ps, const pz__profile *p,
                           int purpose);
int pz__profile_consent_set(pz__profiles *ps, pz__profile *p, int purpose,
                            bool granted, int64_t ts);

/* Consented to personalization and not opted out: the privacy gate of
 * everything behavioural (tracking, ranking, segments, models). */
bool pz__profile_personalized(const pz__profiles *ps, const pz__profile *p);

/* ---- choices (shard write lock held for the writers) ------------------ */
/* Store a copy of c (target copied), replacing the choice on the same
 * target; expired choices are wiped first (at now). PZ_ELIMIT beyond max
 * choices or, for requirements, beyond 64. On failure nothing changed. */
int pz__choices_put(pz__profiles *ps, pz__profile *p, const pz__choice *c,
                    uint32_t max, int64_t now);
/* Remove the choice of kind on target; PZ_ENOTFOUND when none. */
int pz__choices_remove(pz__profiles *ps, pz__profile *p, int kind,
                       const char *target, size_t len);
/* Remove every choice (opt-out stays). */
void pz__choices_clear(pz__profiles *ps, pz__profile *p);
int pz__choices_opt(pz__profiles *ps, pz__profile *p, bool out, int64_t ts);
void pz__choices_free(const pz__alloc *a, pz__choices *ch);
size_t pz__choices_bytes(const pz__choices *ch);
/* The merged choice set of two profiles (the newer choice wins a shared
 * target; the newer opt-out decision wins); *out NULL when neither has
 * any. On failure nothing is allocated. */
int pz__choices_merge(const pz__alloc *a, pz__choices **out,
                      const pz__choices *d, const pz__choices *s,
                      uint32_t max);
void pz__choices_export(pz__buf *b, const pz__choices *ch, int64_t now);

/* ---- interests, export, merge ---------------------------------------- */
/* Top k positive interests with names; lock on catalogue and shard held.
 * Fills caller arrays of k; returns count. */
uint32_t pz__profile_top_interests(const pz__profiles *ps,
                                   const pz__profile *p,
                                   const pz__catalog *c, int64_t now,
                                   uint32_t k, uint32_t *index_out,
                                   double *score_out, float *tmp_score,
                                   uint32_t *tmp_id);
/* JSON document; catalogue and shard locks held. */
int pz__profile_export(const pz__profiles *ps, const pz__profile *p,
                       const pz__catalog *c, int64_t now, pz__buf *out);
/* Fold src into dst (both locked for writing; dst may be fresh).
 * On failure neither changed. */
/* Would the merged profile be allowed behaviour (personalization)? */
bool pz__profile_merge_consented(const pz__profiles *ps, const pz__profile *d,
                                 const pz__profile *s);
int pz__profile_merge(pz__profiles *ps, pz__profile *dst,
                      const pz__profile *src, uint32_t max_choices);

/* ---- snapshot section (store module) ------------------------------------ */
/* Every shard read-locked by the caller. */
int pz__profiles_save(pz__profiles *ps, pz__buf *b);
/* Into a fresh table (nobody else sees it); events must name items below
 * n_items. On failure the caller frees the table. */
int pz__profiles_restore(pz__profiles *ps, pz__rd *r, const pz__hashid *hid,
                         uint32_t n_items);

#endif /* PZ_PROFILE_H */
