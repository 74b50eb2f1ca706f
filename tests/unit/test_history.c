/* profile history coding (lib/profile/history.c): every event reads back
 * exactly, the limit keeps the newest events and wipes the dropped ones,
 * capacity stays bounded, a failed allocation changes nothing, and common
 * event shapes take the few bytes the layout promises. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "profile/profile.h"

typedef struct ev {
  int64_t ts;
  uint32_t item, type;
  float value;
} ev;

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void) { /* xorshift64 */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Values of every coding class, and the edges between them. */
static const float values[] = {
    1.0f, 0.0f, -0.0f, 0.5f, 3.5f, 5.0f, 127.5f, 128.0f, 200.0f, 255.0f,
    256.0f, -1.0f, -3.0f, -0.5f, 0.1f, 1e9f, 16777216.0f, 16777218.0f,
    -16777216.0f, 1.5e-30f, 33554432.0f, 1e-45f};
#define N_VALUES (sizeof values / sizeof *values)

static ev random_event(int64_t prev) {
  ev e;
  switch (rnd() % 6) { /* time steps of every shape */
  case 0: e.ts = prev; break;
  case 1: e.ts = prev + (int64_t)(rnd() % 100000); break;
  case 2: e.ts = (prev / 1000) * 1000 + 1000 * (int64_t)(rnd() % 5000); break;
  case 3: e.ts = prev - (int64_t)(rnd() % 1000000); break; /* earlier */
  case 4: e.ts = (int64_t)(rnd() % ((uint64_t)1 << 61)); break; /* far */
  default: e.ts = rnd() % 2 ? 0 : (int64_t)1 << 61; break;
  }
  if (e.ts < 0) e.ts = 0;
  static const uint32_t items[] = {0, 1, 127, 128, 16383, 16384, 2097151,
                                   2097152, UINT32_MAX - 1, UINT32_MAX};
  e.item = rnd() % 2 ? (uint32_t)(rnd() % 20000)
                     : items[rnd() % (sizeof items / sizeof *items)];
  e.type = (uint32_t)(rnd() % PZ__MAX_EVENT_TYPES);
  e.value = values[rnd() % N_VALUES];
  return e;
}

static void expect_events(const pz__hist *h, const ev *want, uint32_t n) {
  assert_int_equal(h->n, n);
  pz__hist_it it = pz__hist_iter(h);
  pz__event got;
  uint8_t type;
  for (uint32_t i = 0; i < n; i++) {
    if (!pz__hist_next(&it, &got, &type)) fail_msg("ended at %u of %u", i, n);
    if (got.ts != want[i].ts || got.item != want[i].item ||
        type != want[i].type ||
        memcmp(&got.value, &want[i].value, sizeof got.value) != 0)
      fail_msg("event %u: got %lld/%u/%u/%a, want %lld/%u/%u/%a", i,
               (long long)got.ts, got.item, type, (double)got.value,
               (long long)want[i].ts, want[i].item, want[i].type,
               (double)want[i].value);
  }
  assert_false(pz__hist_next(&it, &got, &type));
}

static void test_history_every_event_reads_back(void **state) {
  (void)state;
  pz__alloc a;
  pz__alloc_default(&a);
  enum { N = 20000 };
  ev *want = malloc(N * sizeof *want);
  assert_non_null(want);
  pz__hist h = {0};
  int64_t prev = 1700000000000LL;
  for (uint32_t i = 0; i < N; i++) {
    want[i] = random_event(prev);
    prev = want[i].ts;
    assert_int_equal(pz__hist_add(&a, &h, want[i].ts, want[i].item,
                                  want[i].type, want[i].value, N),
                     PZ_OK);
  }
  expect_events(&h, want, N);
  assert_true(h.len <= h.cap && h.off == 0);
  pz__hist_free(&a, &h);
  assert_null(h.b);
  assert_int_equal(h.n, 0);
  free(want);
}

/* Every value class against every type near the escape (30, 31, 63). */
static void test_history_value_and_type_classes(void **state) {
  (void)state;
  pz__alloc a;
  pz__alloc_default(&a);
  static const uint32_t types[] = {0, 30, 31, 63};
  ev want[N_VALUES * 4];
  uint32_t n = 0;
  pz__hist h = {0};
  for (uint32_t t = 0; t < 4; t++)
    for (uint32_t v = 0; v < N_VALUES; v++, n++) {
      want[n] = (ev){(int64_t)n * 1500, n, types[t], values[v]};
      assert_int_equal(pz__hist_add(&a, &h, want[n].ts, want[n].item,
                                    want[n].type, want[n].value, 1000),
                       PZ_OK);
    }
  expect_events(&h, want, n);
  pz__hist_free(&a, &h);
}

static void test_history_limit_keeps_newest_and_wipes(void **state) {
  (void)state;
  pz__alloc a;
  pz__alloc_default(&a);
  enum { N = 5000, LIMIT = 37 };
  ev *all = malloc(N * sizeof *all);
  assert_non_null(all);
  pz__hist h = {0};
  int64_t prev = 0;
  uint32_t max_cap = 0;
  for (uint32_t i = 0; i < N; i++) {
    all[i] = random_event(prev);
    prev = all[i].ts;
    assert_int_equal(pz__hist_add(&a, &h, all[i].ts, all[i].item,
                                  all[i].type, all[i].value, LIMIT),
                     PZ_OK);
    if (h.cap > max_cap) max_cap = h.cap;
    /* what the limit dropped is wiped */
    for (uint32_t k = 0; k < h.off; k++)
      if (h.b[k]) fail_msg("byte %u of the dropped prefix is %u", k, h.b[k]);
    /* the decoder reads eight bytes at a time: a zero tail of them */
    assert_true(h.off + h.len + PZ__HIST_PAD <= h.cap);
    for (uint32_t k = h.off + h.len; k < h.cap; k++)
      if (h.b[k]) fail_msg("byte %u past the end is %u", k, h.b[k]);
    if (i + 1 >= LIMIT) expect_events(&h, &all[i + 1 - LIMIT], LIMIT);
  }
  /* bounded: never more than twice the largest possible window */
  assert_true(max_cap <= 2 * LIMIT * PZ__HIST_EV_MAX + 64 + PZ__HIST_PAD);
  pz__hist_free(&a, &h);
  free(all);
}

/* The limit lowered below what a history holds drops down to it at once
 * (a configuration read with a smaller history_limit). */
static void test_history_limit_of_one(void **state) {
  (void)state;
  pz__alloc a;
  pz__alloc_default(&a);
  pz__hist h = {0};
  for (int i = 0; i < 10; i++)
    assert_int_equal(pz__hist_add(&a, &h, 1000 * i, (uint32_t)i, 0, 1.0f, 100),
                     PZ_OK);
  ev last = {99000, 42, 7, 2.5f};
  assert_int_equal(pz__hist_add(&a, &h, last.ts, last.item, last.type,
                                last.value, 1),
                   PZ_OK);
  expect_events(&h, &last, 1);
  pz__hist_free(&a, &h);
}

static void test_history_failed_growth_changes_nothing(void **state) {
  (void)state;
  test_alloc ta;
  test_alloc_reset(&ta);
  pz__alloc a = {test_alloc_fn, &ta};
  pz__hist h = {0};
  ev want[200];
  uint32_t n = 0;
  for (; n < 200; n++) {
    want[n] = (ev){1000 * (int64_t)n, n, 1, 1.0f};
    uint8_t code[PZ__HIST_EV_MAX];
    uint32_t len = pz__hist_encode(&h, want[n].ts, want[n].item, want[n].type,
                                   want[n].value, code);
    if (h.off + h.len + len + PZ__HIST_PAD > h.cap) { /* must grow: fail it */
      ta.fail_at = ta.count + 1;
      pz__hist before = h;
      assert_int_equal(pz__hist_add(&a, &h, want[n].ts, want[n].item,
                                    want[n].type, want[n].value, 1000),
                       PZ_ENOMEM);
      assert_memory_equal(&before, &h, sizeof h);
      expect_events(&h, want, n);
      ta.fail_at = 0;
    }
    assert_int_equal(pz__hist_add(&a, &h, want[n].ts, want[n].item,
                                  want[n].type, want[n].value, 1000),
                     PZ_OK);
  }
  expect_events(&h, want, n);
  pz__hist_free(&a, &h);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_osize, 0);
}

/* What the layout promises for common shapes: a view a few seconds after
 * the last (tag, step, 2 bytes of an item below 16384), a rating in
 * halves (one more byte), a millisecond step under 8 s (2 bytes of
 * step). */
static void test_history_common_events_are_small(void **state) {
  (void)state;
  pz__alloc a;
  pz__alloc_default(&a);
  pz__hist h = {0};
  uint8_t code[PZ__HIST_EV_MAX];
  assert_int_equal(pz__hist_add(&a, &h, 1700000000000LL, 5, 0, 1.0f, 10),
                   PZ_OK);
  assert_int_equal(pz__hist_encode(&h, 1700000030000LL, 9000, 0, 1.0f, code),
                   4);
  assert_int_equal(pz__hist_encode(&h, 1700000030000LL, 9000, 2, 3.5f, code),
                   5);
  assert_int_equal(pz__hist_encode(&h, 1700000004321LL, 100, 1, 1.0f, code),
                   4);
  assert_int_equal(pz__hist_encode(&h, 1699999999000LL, 100, 1, -1.0f, code),
                   4); /* an earlier second, a whole negative value */
  assert_int_equal(pz__hist_encode(&h, 1700000000000LL, 100, 40, 0.1f, code),
                   8); /* escaped type, a float kept whole */
  pz__hist_free(&a, &h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_history_every_event_reads_back),
      cmocka_unit_test(test_history_value_and_type_classes),
      cmocka_unit_test(test_history_limit_keeps_newest_and_wipes),
      cmocka_unit_test(test_history_limit_of_one),
      cmocka_unit_test(test_history_failed_growth_changes_nothing),
      cmocka_unit_test(test_history_common_events_are_small),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
