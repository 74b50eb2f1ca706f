/* The public pz_svec type: a thin handle over the internal sparse vector. */
#include "engine.h"

#include <math.h>
#include <string.h>

struct pz_svec {
  pz__alloc alloc;
  pz__hashid hid;
  pz__sv v;
};




/* Values are floats: refuse what would leave their range. */
#define SVEC_VALUE_MAX 3.0e38

static double max_abs(const pz__sv *v) {
  double m = 0;
  for (uint32_t i = 0; i < v->n; i++)
    if (fabs(v->e[i].v) > m) m = fabs(v->e[i].v);
  return m;
}

static int too_large(void) {
  return pz__fail(PZ_ERANGE, "the result would exceed the float range");
}

PZ_API int pz_svec_new(pz_svec **out, const pz_engine *e) {
  if (!out) return pz__fail(PZ_EINVAL, "out is NULL");
  *out = NULL;
  pz__alloc a;
  pz__hashid h = {0, 20};
  if (e) PZ__ENGINE_CHECK(e);
  if (e) pz__engine_svec_params(e, &a, &h);
  else pz__alloc_default(&a);
  pz_svec *v = pz__calloc(&a, 1, sizeof *v);
  if (!v) return PZ_ENOMEM;
  v->alloc = a;
  v->hid = h;
  *out = v;
  return PZ_OK;
}

PZ_API void pz_svec_free(pz_svec *v) {
  if (!v) return;
  pz__alloc a = v->alloc;
  pz__sv_free(&a, &v->v, false);
  pz__free(&a, v, sizeof *v);
}

PZ_API int pz_svec_add_feature(pz_svec *v, const char *feature,
                               double weight) {
  if (!v) return pz__fail(PZ_EINVAL, "vector is NULL");
  size_t len;
  int rc = pz__check_str(feature, PZ_FEATURE_MAX, "feature", &len);
  if (rc) return rc;
  if ((rc = pz__check_finite(weight, "weight"))) return rc;
  pz__ent one;
  int sign;
  pz__feature_hash(&v->hid, feature, len, &one.i, &sign);
  int64_t at = pz__sv_find(v->v.e, v->v.n, one.i);
  if (fabs(weight) + (at >= 0 ? fabs(v->v.e[at].v) : 0) > SVEC_VALUE_MAX)
    return too_large();
  one.v = (float)(sign * weight);
  return pz__sv_axpy(&v->alloc, &v->v, &one, 1, 1.0, NULL);
}

static int same_identity(const pz_svec *a, const pz_svec *b) {
  if (a->hid.seed != b->hid.seed || a->hid.bits != b->hid.bits)
    return pz__fail(PZ_EINVAL, "vectors have different hash identities");
  return PZ_OK;
}

PZ_API int pz_svec_add(pz_svec *v, const pz_svec *other, double scale) {
  if (!v || !other) return pz__fail(PZ_EINVAL, "vector is NULL");
  int rc = same_identity(v, other);
  if (rc) return rc;
  if ((rc = pz__check_finite(scale, "scale"))) return rc;
  if (other->v.n == 0) return PZ_OK;
  if (max_abs(&v->v) + fabs(scale) * max_abs(&other->v) > SVEC_VALUE_MAX)
    return too_large();
  if (v == other) {
    pz__sv_scale(&v->v, 1.0 + scale);
    return PZ_OK;
  }
  return pz__sv_axpy(&v->alloc, &v->v, other->v.e, other->v.n, scale, NULL);
}

PZ_API int pz_svec_scale(pz_svec *v, double factor) {
  if (!v) return pz__fail(PZ_EINVAL, "vector is NULL");
  int rc = pz__check_finite(factor, "factor");
  if (rc) return rc;
  if (max_abs(&v->v) * fabs(factor) > SVEC_VALUE_MAX) return too_large();
  pz__sv_scale(&v->v, factor);
  return PZ_OK;
}

PZ_API int pz_svec_dot(double *out, const pz_svec *a, const pz_svec *b) {
  if (!out || !a || !b) return pz__fail(PZ_EINVAL, "NULL argument");
  int rc = same_identity(a, b);
  if (rc) return rc;
  *out = pz__sv_dot(a->v.e, a->v.n, b->v.e, b->v.n);
  return PZ_OK;
}

PZ_API int pz_svec_norm(double *out, const pz_svec *v) {
  if (!out || !v) return pz__fail(PZ_EINVAL, "NULL argument");
  *out = pz__sv_norm(v->v.e, v->v.n);
  return PZ_OK;
}

PZ_API int pz_svec_cosine(double *out, const pz_svec *a, const pz_svec *b) {
  if (!out || !a || !b) return pz__fail(PZ_EINVAL, "NULL argument");
  int rc = same_identity(a, b);
  if (rc) return rc;
  double na = pz__sv_norm(a->v.e, a->v.n), nb = pz__sv_norm(b->v.e, b->v.n);
  *out = (na > 0 && nb > 0)
             ? pz__sv_dot(a->v.e, a->v.n, b->v.e, b->v.n) / (na * nb)
             : 0.0;
  return PZ_OK;
}

PZ_API size_t pz_svec_nnz(const pz_svec *v) { return v ? v->v.n : 0; }

PZ_API int pz_svec_entry(uint32_t *index_out, double *value_out,
                         const pz_svec *v, size_t i) {
  if (!v || !index_out || !value_out)
    return pz__fail(PZ_EINVAL, "NULL argument");
  if (i >= v->v.n)
    return pz__fail(PZ_ERANGE, "entry %zu of a vector with %u entries", i,
                    v->v.n);
  *index_out = v->v.e[i].i;
  *value_out = v->v.e[i].v;
  return PZ_OK;
}

PZ_API int pz_svec_top(uint32_t *indices, double *values, size_t cap,
                       size_t *n_out, const pz_svec *v, size_t k) {
  if (!v || !n_out) return pz__fail(PZ_EINVAL, "NULL argument");
  if (k == 0) return pz__fail(PZ_EINVAL, "k is 0");
  size_t want = PZ__MIN(k, (size_t)v->v.n);
  *n_out = want;
  if (cap < want)
    return pz__fail(PZ_EBUFS, "room for %zu entries, %zu needed", cap, want);
  if (want && (!indices || !values))
    return pz__fail(PZ_EINVAL, "NULL output array");
  float *sc = pz__malloc(&v->alloc, want * sizeof *sc + 1);
  uint32_t *id = pz__malloc(&v->alloc, want * sizeof *id + 1);
  if (!sc || !id) {
    pz__free(&v->alloc, sc, want * sizeof *sc + 1);
    pz__free(&v->alloc, id, want * sizeof *id + 1);
    return PZ_ENOMEM;
  }
  pz__topk t;
  pz__topk_init(&t, sc, id, (uint32_t)want);
  /* heap ids are positions, which follow index order, so ties break by
   * the smaller index */
  for (uint32_t j = 0; j < v->v.n; j++) pz__topk_push(&t, v->v.e[j].v, j);
  pz__topk_sort(&t);
  for (uint32_t j = 0; j < t.n; j++) {
    indices[j] = v->v.e[t.id[j]].i;
    values[j] = v->v.e[t.id[j]].v;
  }
  pz__free(&v->alloc, sc, want * sizeof *sc + 1);
  pz__free(&v->alloc, id, want * sizeof *id + 1);
  return PZ_OK;
}
