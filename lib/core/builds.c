/* The list of users erased while a derived model is being built. */
#include "core.h"

#include <string.h>

int pz__builds_init(pz__builds *b) {
  memset(b, 0, sizeof *b);
  if (pthread_mutex_init(&b->build_mu, NULL)) return pz__oom();
  if (pthread_mutex_init(&b->gone_mu, NULL)) {
    pthread_mutex_destroy(&b->build_mu);
    return pz__oom();
  }
  return PZ_OK;
}

void pz__builds_free(const pz__alloc *a, pz__builds *b) {
  pz__free_wipe(a, b->gone, b->gone_cap * sizeof *b->gone);
  pthread_mutex_destroy(&b->gone_mu);
  pthread_mutex_destroy(&b->build_mu);
}

void pz__builds_begin(pz__builds *b) {
  pthread_mutex_lock(&b->build_mu);
  pthread_mutex_lock(&b->gone_mu);
  b->building = true;
  b->lost = false;
  b->n_gone = 0;
  pthread_mutex_unlock(&b->gone_mu);
}

bool pz__builds_gone(pz__builds *b, const pz__gone **list, uint32_t *n) {
  pthread_mutex_lock(&b->gone_mu);
  *list = b->gone;
  *n = b->n_gone;
  bool ok = !b->lost;
  pthread_mutex_unlock(&b->gone_mu);
  return ok;
}

void pz__builds_end(pz__builds *b) {
  pthread_mutex_lock(&b->gone_mu);
  b->building = false;
  pz__wipe(b->gone, b->n_gone * sizeof *b->gone);
  b->n_gone = 0;
  pthread_mutex_unlock(&b->gone_mu);
  pthread_mutex_unlock(&b->build_mu);
}

void pz__builds_note(const pz__alloc *a, pz__builds *b, const char *id,
                     size_t len) {
  pthread_mutex_lock(&b->gone_mu);
  if (b->building) {
    if (pz__grow(a, (void **)&b->gone, &b->gone_cap, b->n_gone + 1,
                 sizeof *b->gone)) {
      b->lost = true;
    } else {
      pz__gone *g = &b->gone[b->n_gone++];
      g->len = (uint8_t)len;
      memcpy(g->id, id, len);
      g->id[len] = '\0';
    }
  }
  pthread_mutex_unlock(&b->gone_mu);
}
