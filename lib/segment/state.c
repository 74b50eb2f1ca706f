/* The engine's segment state: the swappable rules, cluster model and
 * segment popularity, and the bookkeeping that keeps an erasure out of a
 * model being built while it happens. */
#include "segment.h"

#include <string.h>

int pz__segstate_init(pz__segstate *s, const pz__alloc *a) {
  memset(s, 0, sizeof *s);
  s->a = a;
  pz__cluster_cfg_default(&s->ccfg);
  if (pz__rwlock_init(&s->lock)) return pz__oom();
  if (pz__builds_init(&s->builds)) {
    pthread_rwlock_destroy(&s->lock);
    return pz__oom();
  }
  return PZ_OK;
}

void pz__segstate_free(pz__segstate *s) {
  pz__rules_free(s->rules);
  pz__clusters_free(s->clusters);
  pz__segpop_free(s->segpop);
  pz__text_free(s->a, &s->src);
  pz__builds_free(s->a, &s->builds);
  pthread_rwlock_destroy(&s->lock);
}

void pz__segstate_rdlock(pz__segstate *s) { pthread_rwlock_rdlock(&s->lock); }
void pz__segstate_wrlock(pz__segstate *s) { pthread_rwlock_wrlock(&s->lock); }
void pz__segstate_unlock(pz__segstate *s) { pthread_rwlock_unlock(&s->lock); }

/* Insert h into a table's sorted list of counted users; on failure the
 * table is dropped (it can no longer answer for its users). */
static void count_also(const pz__alloc *a, pz__segpop_table *t, uint64_t h) {
  if (pz__segpop_counts(t, h)) return;
  uint64_t *w = pz__realloc(a, t->who, t->n_who * sizeof *w,
                            (t->n_who + 1u) * sizeof *w);
  if (!w) {
    pz__segpop_table_drop(a, t);
    return;
  }
  uint32_t at = t->n_who;
  while (at > 0 && w[at - 1] > h) {
    w[at] = w[at - 1];
    at--;
  }
  w[at] = h;
  t->who = w;
  t->n_who++;
}

void pz__segstate_forget(pz__segstate *s, const pz__uref *u,
                         const pz__uref *into) {
  if (s->clusters) pz__clusters_remove(s->clusters, u->id, u->len, u->hash);
  for (uint32_t i = 0; s->segpop && i < s->segpop->n; i++) {
    pz__segpop_table *t = &s->segpop->t[i];
    if (!t->name || !pz__segpop_counts(t, u->hash)) continue;
    if (into) count_also(s->a, t, into->hash);
    else pz__segpop_table_drop(s->a, t);
  }
  pz__builds_note(s->a, &s->builds, u->id, u->len);
}
