/* A parallel loop over independent tasks for training: up to `threads`
 * threads (the caller is one) take tasks from a shared counter. */
#include "cf.h"

#include <stdatomic.h>

typedef struct loop {
  pz__cf_task fn;
  void *ud;
  uint32_t n;
  _Atomic uint32_t next;
} loop;

typedef struct seat {
  loop *l;
  uint32_t worker;
} seat;

static void *worker(void *arg) {
  const seat *s = arg;
  for (;;) {
    uint32_t t = atomic_fetch_add(&s->l->next, 1);
    if (t >= s->l->n) return NULL;
    s->l->fn(s->l->ud, t, s->worker);
  }
}

void pz__cf_parallel(uint32_t threads, uint32_t n, pz__cf_task fn, void *ud) {
  loop l = {fn, ud, n, 0};
  pthread_t tid[PZ__CF_MAX_THREADS];
  seat seats[PZ__CF_MAX_THREADS];
  uint32_t started = 0;
  if (threads > PZ__CF_MAX_THREADS) threads = PZ__CF_MAX_THREADS;
  if (threads > n) threads = n;
  /* a thread that cannot start leaves its share to the others; worker 0
   * is the caller */
  while (started + 1 < threads) {
    seats[started + 1] = (seat){&l, started + 1};
    if (pthread_create(&tid[started], NULL, worker, &seats[started + 1]))
      break;
    started++;
  }
  seats[0] = (seat){&l, 0};
  worker(&seats[0]);
  for (uint32_t i = 0; i < started; i++) pthread_join(tid[i], NULL);
}
