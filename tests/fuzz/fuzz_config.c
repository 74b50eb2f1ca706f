/* libFuzzer target: any bytes as a configuration. An engine that opens
 * must work; one that does not must say why; nothing may crash or leak. */
#include <personalize.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pz_engine *e = NULL;
  int rc = pz_engine_open_string(&e, (const char *)data, size);
  if (rc != PZ_OK) {
    if (e != NULL || strcmp(pz_errmsg(), "no error") == 0) abort();
    return 0;
  }
  /* Calls below may be refused as their pages document for some
   * configurations (limits.items or feature_names: 1, max_choices: 2,
   * ranking.max_k: 1, catalog or overrides unknown_items: refuse, consent
   * defaults off): those codes pass, any other is a bug. */
  const char *f[] = {"genre=jazz", "decade=1960s"};
  rc = pz_item_put(e, "a", f, NULL, 2);
  if (rc != PZ_OK && rc != PZ_ELIMIT) abort();
  /* event types come from the config: try the first default name */
  rc = pz_track(e, "u", "a", "view", 1, 1000);
  if (rc != PZ_OK && rc != PZ_ENOTFOUND && rc != PZ_ECONSENT &&
      rc != PZ_ELIMIT)
    abort();
  pz_recs *r = NULL;
  rc = pz_recommend(&r, e, "u", 1, NULL);
  if (rc != PZ_OK) abort();
  pz_recs_free(r);
  /* the person's choices and the config's rules (0.4) */
  const char *g[] = {"genre=rock"};
  rc = pz_item_put(e, "b", g, NULL, 1);
  if (rc != PZ_OK && rc != PZ_ELIMIT) abort();
  rc = pz_override_pin(e, "u", "b", 0, 0);
  if (rc != PZ_OK && rc != PZ_ELIMIT && rc != PZ_ENOTFOUND) abort();
  rc = pz_override_more(e, "u", "decade=1960s", 0);
  if (rc != PZ_OK && rc != PZ_ELIMIT) abort();
  rc = pz_override_not_interested(e, "u", "a", 1000);
  if (rc != PZ_OK && rc != PZ_ECONSENT && rc != PZ_ELIMIT &&
      rc != PZ_ENOTFOUND)
    abort();
  pz_recommend_options o;
  pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION);
  o.diversity = 0.5;
  o.context = g;
  o.n_context = 1;
  rc = pz_recommend(&r, e, "u", 2, &o);
  if (rc == PZ_ERANGE) { /* k = 2 above ranking.max_k */
    pz_engine_free(e);
    return 0;
  }
  if (rc != PZ_OK) abort();
  for (size_t i = 0; i < pz_recs_count(r); i++)
    if (!pz_recs_item(r, i) || !pz_recs_reason(r, i)) abort();
  pz_recs_free(r);
  pz_engine_free(e);
  return 0;
}
