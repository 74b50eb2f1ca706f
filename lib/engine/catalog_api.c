/* Public catalogue functions. */
#include "engine.h"
#include "ops.h"

static int check_item(const pz_engine *e, const char *item, size_t *len) {
  PZ__ENGINE_CHECK(e);
  return pz__check_str(item, PZ_ID_MAX, "item id", len);
}

static int item_put_apply(pz_engine *e, const char *item,
                       const char *const *features, const double *weights,
                       size_t n_features) {
  size_t len;
  int rc = check_item(e, item, &len);
  if (rc) return rc;
  if (n_features && !features) return pz__fail(PZ_EINVAL, "features is NULL");
  return pz__catalog_put(&e->catalog, item, len, features, weights,
                         n_features);
}

static int item_remove_apply(pz_engine *e, const char *item) {
  size_t len;
  int rc = check_item(e, item, &len);
  if (rc) return rc;
  return pz__catalog_remove(&e->catalog, item, len);
}

PZ_API int pz_item_popularity(double *score_out, uint64_t *events_out,
                              pz_engine *e, const char *item, int64_t now_ms) {
  size_t len;
  int rc = check_item(e, item, &len);
  int64_t now;
  if (!rc) rc = pz__engine_time(e, now_ms, &now);
  if (rc) return rc;
  pz__catalog_rdlock(&e->catalog);
  uint32_t idx = pz__catalog_find(&e->catalog, item, len);
  if (idx == PZ__NO_ITEM) {
    rc = pz__fail(PZ_ENOTFOUND, "no item \"%s\"", item);
  } else {
    if (score_out) *score_out = pz__catalog_pop_at(&e->catalog, idx, now);
    if (events_out) *events_out = pz__catalog_pop_count(&e->catalog, idx);
  }
  pz__catalog_unlock(&e->catalog);
  return rc;
}

PZ_API int pz_item_count(size_t *n_out, pz_engine *e) {
  if (!n_out || !e) return pz__fail(PZ_EINVAL, "NULL argument");
  PZ__ENGINE_CHECK(e);
  pz__catalog_rdlock(&e->catalog);
  *n_out = e->catalog.live;
  pz__catalog_unlock(&e->catalog);
  return PZ_OK;
}

/* ---- entry points into the table of writes (ops.h) ---- */

int pz__ap_item_put(pz_engine *e, const pz__arg *a) {
  return item_put_apply(e, a[0].s, a[1].sv, a[1].fv, a[1].n);
}

PZ_API int pz_item_put(pz_engine *e, const char *item,
                       const char *const *features, const double *weights,
                       size_t n_features) {
  pz__arg a[] = {PZ__STR(item), PZ__FEATS(features, weights, n_features)};
  return pz__op_call(e, PZ__OP_ITEM_PUT, a);
}

int pz__ap_item_remove(pz_engine *e, const pz__arg *a) {
  return item_remove_apply(e, a[0].s);
}

PZ_API int pz_item_remove(pz_engine *e, const char *item) {
  pz__arg a[] = {PZ__STR(item)};
  return pz__op_call(e, PZ__OP_ITEM_REMOVE, a);
}
