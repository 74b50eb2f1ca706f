/* The pz_recs result: one block holding the records and their strings,
 * allocated with the engine's allocator but independent of the engine. */
#include "recs.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static char *copy(char *to, const char *s) {
  memcpy(to, s, strlen(s) + 1);
  return to;
}

int pz__recs_build(const pz__alloc *a, uint32_t n, const pz__rec *src,
                   pz_recs **out) {
  size_t pool = 0;
  for (uint32_t i = 0; i < n; i++) {
    pool += strlen(src[i].item) + 1 + strlen(src[i].reason) + 1;
    if (src[i].rule) pool += strlen(src[i].rule) + 1;
    for (uint32_t j = 0; j < src[i].n_because; j++)
      pool += strlen(src[i].because[j]) + 1;
  }
  size_t size = sizeof(pz_recs) + (size_t)n * sizeof(pz__rec) + pool;
  pz_recs *r = pz__malloc(a, size);
  if (!r) return PZ_ENOMEM;
  r->alloc = *a;
  r->size = size;
  r->n = n;
  r->rec = (pz__rec *)(r + 1);
  char *p = (char *)(r->rec + n);
  for (uint32_t i = 0; i < n; i++) {
    pz__rec *x = &r->rec[i];
    *x = src[i];
    x->item = p = copy(p, src[i].item);
    p += strlen(p) + 1;
    x->reason = p = copy(p, src[i].reason);
    p += strlen(p) + 1;
    if (src[i].rule) {
      x->rule = p = copy(p, src[i].rule);
      p += strlen(p) + 1;
    }
    for (uint32_t j = 0; j < src[i].n_because; j++) {
      x->because[j] = p = copy(p, src[i].because[j]);
      p += strlen(p) + 1;
    }
  }
  *out = r;
  return PZ_OK;
}

PZ_API size_t pz_recs_count(const pz_recs *r) { return r ? r->n : 0; }

PZ_API const char *pz_recs_item(const pz_recs *r, size_t i) {
  return r && i < r->n ? r->rec[i].item : NULL;
}

PZ_API double pz_recs_score(const pz_recs *r, size_t i) {
  return r && i < r->n ? r->rec[i].score : NAN;
}

PZ_API int pz_recs_reason_code(const pz_recs *r, size_t i) {
  return r && i < r->n ? r->rec[i].code : 0;
}

PZ_API const char *pz_recs_reason(const pz_recs *r, size_t i) {
  return r && i < r->n ? r->rec[i].reason : NULL;
}

PZ_API double pz_recs_contribution(const pz_recs *r, size_t i, int signal) {
  if (!r || i >= r->n || signal < 1 || signal > PZ__N_SIGNALS) return NAN;
  return r->rec[i].contrib[signal - 1];
}

PZ_API const char *pz_recs_because(const pz_recs *r, size_t i, size_t j) {
  return r && i < r->n && j < r->rec[i].n_because ? r->rec[i].because[j]
                                                  : NULL;
}

PZ_API double pz_recs_because_share(const pz_recs *r, size_t i, size_t j) {
  return r && i < r->n && j < r->rec[i].n_because
             ? r->rec[i].because_share[j]
             : NAN;
}

PZ_API unsigned int pz_recs_flags(const pz_recs *r, size_t i) {
  return r && i < r->n ? r->rec[i].flags : 0;
}

PZ_API double pz_recs_factor(const pz_recs *r, size_t i, int source) {
  if (!r || i >= r->n || source < PZ_FACTOR_PERSON || source > PZ_FACTOR_RULES)
    return NAN;
  return r->rec[i].factor[source - 1];
}

PZ_API const char *pz_recs_rule(const pz_recs *r, size_t i) {
  return r && i < r->n ? r->rec[i].rule : NULL;
}

/* Bytes of one pz_recs_entry of a layout version, 0 for an unknown one: the
 * stride of the caller's array and how much of each element is written. A
 * later version adds a case with its own size and keeps this one. */
static size_t entry_size(unsigned int version) {
  return version == 1 ? sizeof(pz_recs_entry) : 0;
}
/* Version 1 ends with its last field, so a field appended later cannot
 * fall into its stride. */
_Static_assert(sizeof(pz_recs_entry) ==
                   offsetof(pz_recs_entry, because_share) +
                       sizeof(((pz_recs_entry *)0)->because_share),
               "pz_recs_entry version 1 has trailing padding");
_Static_assert(PZ__N_SIGNALS == 4 && PZ__N_BECAUSE == 3,
               "pz_recs_entry arrays follow pz__rec");

PZ_API int pz_recs_entry_init(pz_recs_entry *e, unsigned int version) {
  if (!e) return pz__fail(PZ_EINVAL, "entry is NULL");
  size_t size = entry_size(version);
  if (!size)
    return pz__fail(PZ_EVERSION, "recs entry version %u is not 1 .. %d",
                    version, PZ_RECS_ENTRY_VERSION);
  memset(e, 0, size);
  e->version = version;
  return PZ_OK;
}

static void fill_entry(pz_recs_entry *e, const pz__rec *x) {
  e->item = x->item;
  e->score = x->score;
  e->reason_code = x->code;
  e->flags = x->flags;
  e->reason = x->reason;
  memcpy(e->contribution, x->contrib, sizeof e->contribution);
  memcpy(e->factor, x->factor, sizeof e->factor);
  e->rule = x->rule;
  e->n_because = x->n_because;
  for (uint32_t j = 0; j < PZ__N_BECAUSE; j++) {
    bool set = j < x->n_because; /* as pz_recs_because() past the end */
    e->because[j] = set ? x->because[j] : NULL;
    e->because_share[j] = set ? x->because_share[j] : NAN;
  }
}

PZ_API int pz_recs_entries(pz_recs_entry *out, size_t cap, size_t *n_out,
                           const pz_recs *r, size_t from) {
  if (!n_out) return pz__fail(PZ_EINVAL, "n_out is NULL");
  *n_out = 0;
  if (!r) return pz__fail(PZ_EINVAL, "recs is NULL");
  if (!cap) return PZ_OK;
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL but cap is %zu", cap);
  unsigned int version = out[0].version;
  size_t stride = entry_size(version);
  if (!stride)
    return pz__fail(PZ_EVERSION, "recs entry version %u is not 1 .. %d",
                    version, PZ_RECS_ENTRY_VERSION);
  if (from >= r->n) return PZ_OK;
  size_t n = r->n - from < cap ? r->n - from : cap;
  for (size_t j = 0; j < n; j++) {
    pz_recs_entry e;
    e.version = version;
    fill_entry(&e, &r->rec[from + j]);
    memcpy((char *)out + j * stride, &e, stride);
  }
  *n_out = n;
  return PZ_OK;
}

PZ_API void pz_recs_free(pz_recs *r) {
  if (!r) return;
  pz__alloc a = r->alloc;
  pz__free(&a, r, r->size);
}
