#include <personalize.h>
#include <stdio.h>
int main(void) {
  pz_engine *e; pz_recs *r;
  if (pz_engine_open(&e, NULL) != PZ_OK) return 1;  /* NULL: every default */
  pz_item_put(e, "kind-of-blue", (const char *[]){"genre=jazz", "decade=1950s"}, NULL, 2);
  pz_item_put(e, "a-love-supreme", (const char *[]){"genre=jazz", "decade=1960s"}, NULL, 2);
  pz_track(e, "ada", "kind-of-blue", "purchase", 1, 0);  /* value 1, ts 0: now */
  if (pz_recommend(&r, e, "ada", 5, NULL) != PZ_OK) return 1;
  for (size_t i = 0; i < pz_recs_count(r); i++)
    printf("%s  %.3f  %s\n", pz_recs_item(r, i), pz_recs_score(r, i), pz_recs_reason(r, i));
  pz_recs_free(r);
  pz_engine_free(e);
}
