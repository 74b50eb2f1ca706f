/* Bounded min-heap of the k best (score, id) pairs. "Worse" means a lower
 * score, or an equal score with a larger id, so results are reproducible. */
#include "svec.h"

static bool worse(float sa, uint32_t ia, float sb, uint32_t ib) {
  return sa < sb || (sa == sb && ia > ib);
}

void pz__topk_init(pz__topk *t, float *score, uint32_t *id, uint32_t k) {
  t->score = score;
  t->id = id;
  t->n = 0;
  t->k = k;
}

static void swap(pz__topk *t, uint32_t i, uint32_t j) {
  float s = t->score[i];
  t->score[i] = t->score[j];
  t->score[j] = s;
  uint32_t d = t->id[i];
  t->id[i] = t->id[j];
  t->id[j] = d;
}

static void sift_down(pz__topk *t, uint32_t i, uint32_t n) {
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && worse(t->score[l], t->id[l], t->score[m], t->id[m])) m = l;
    if (r < n && worse(t->score[r], t->id[r], t->score[m], t->id[m])) m = r;
    if (m == i) return;
    swap(t, i, m);
    i = m;
  }
}

void pz__topk_push(pz__topk *t, float score, uint32_t id) {
  if (t->k == 0) return;
  if (t->n < t->k) {
    uint32_t i = t->n++;
    t->score[i] = score;
    t->id[i] = id;
    while (i > 0) {
      uint32_t p = (i - 1) / 2;
      if (!worse(t->score[i], t->id[i], t->score[p], t->id[p])) break;
      swap(t, i, p);
      i = p;
    }
    return;
  }
  if (!worse(t->score[0], t->id[0], score, id)) return;
  t->score[0] = score;
  t->id[0] = id;
  sift_down(t, 0, t->n);
}

/* Heap-sort in place: repeatedly move the worst to the end. */
void pz__topk_sort(pz__topk *t) {
  for (uint32_t n = t->n; n > 1; n--) {
    swap(t, 0, n - 1);
    sift_down(t, 0, n - 1);
  }
}
