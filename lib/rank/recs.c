/* The pz_recs result: one block holding the records and their strings,
 * allocated with the engine's allocator but independent of the engine. */
#include "recs.h"

#include <math.h>
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

PZ_API void pz_recs_free(pz_recs *r) {
  if (!r) return;
  pz__alloc a = r->alloc;
  pz__free(&a, r, r->size);
}
