/* Host-chosen limits (config section limits): profiles, items, feature
 * names, document sizes and the configuration text. Each is refused with
 * PZ_ELIMIT before anything changes, what a journal or snapshot holds is
 * restored even above a limit lowered since, and bad values are config
 * errors. 1.0.0 grew without bound on every one of these. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static pz_engine *open_yaml(const char *y) {
  pz_engine *e = NULL;
  if (pz_engine_open_string(&e, y, strlen(y)))
    fail_msg("open: %s", pz_errmsg());
  return e;
}


static void test_limits_profiles(void **state) {
  (void)state;
  char dir[64], y[512];
  assert_int_equal(test_tmpdir_make(dir, "pz_limits"), 0);
  snprintf(y, sizeof y,
           "limits:\n  profiles: 3\nstore:\n  journal: %s/j\n  fsync: never\n",
           dir);
  pz_engine *e = open_yaml(y);
  const char *users[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++)
    assert_int_equal(pz_track(e, users[i], "i1", "view", 1, 0), PZ_OK);
  assert_int_equal(pz_track(e, "d", "i1", "view", 1, 0), PZ_ELIMIT);
  assert_non_null(strstr(pz_errmsg(), "limits.profiles"));
  assert_int_equal(pz_profile_set_number(e, "d", "age", 3), PZ_ELIMIT);
  assert_int_equal(pz_track(e, "a", "i1", "view", 1, 0), PZ_OK); /* known */
  size_t n;
  assert_int_equal(pz_profile_count(&n, e), PZ_OK);
  assert_int_equal(n, 3);
  /* a batch stops at the first new person past the limit */
  pz_event ev[3];
  for (int i = 0; i < 3; i++) {
    memset(&ev[i], 0, sizeof ev[i]);
    ev[i].version = PZ_EVENT_VERSION;
    ev[i].item = "i1";
    ev[i].event_type = "view";
    ev[i].value = 1;
  }
  ev[0].user = "b";
  ev[1].user = "e";
  ev[2].user = "c";
  size_t done = 99;
  assert_int_equal(pz_track_batch(e, ev, 3, &done), PZ_ELIMIT);
  assert_int_equal(done, 1);
  assert_int_equal(pz_profile_erase(e, "c"), PZ_OK);
  assert_int_equal(pz_track(e, "d", "i1", "view", 1, 0), PZ_OK);
  pz_engine_free(e);
  /* reopened under a lower limit: the journal's profiles all come back;
   * only new ones are refused */
  snprintf(y, sizeof y,
           "limits:\n  profiles: 1\nstore:\n  journal: %s/j\n  fsync: never\n",
           dir);
  e = open_yaml(y);
  assert_int_equal(pz_profile_count(&n, e), PZ_OK);
  assert_int_equal(n, 3);
  assert_int_equal(test_event_count(e, "a"), 2);
  assert_int_equal(test_event_count(e, "b"), 2);
  assert_int_equal(pz_track(e, "f", "i1", "view", 1, 0), PZ_ELIMIT);
  pz_engine_free(e);
  assert_int_equal(test_tmpdir_remove(dir), 0);
}

static void test_limits_items(void **state) {
  (void)state;
  pz_engine *e = open_yaml("limits:\n  items: 2\n");
  const char *f[] = {"genre=jazz"};
  assert_int_equal(pz_item_put(e, "a", f, NULL, 1), PZ_OK);
  assert_int_equal(pz_item_put(e, "b", f, NULL, 1), PZ_OK);
  assert_int_equal(pz_item_put(e, "c", f, NULL, 1), PZ_ELIMIT);
  assert_non_null(strstr(pz_errmsg(), "limits.items"));
  assert_int_equal(pz_item_put(e, "a", NULL, NULL, 0), PZ_OK); /* re-put */
  /* an unknown item in an event would be created: refused, and the event
   * changes nothing */
  assert_int_equal(pz_track(e, "ann", "z", "view", 1, 0), PZ_ELIMIT);
  assert_int_equal(test_event_count(e, "ann"), 0);
  size_t n;
  assert_int_equal(pz_item_count(&n, e), PZ_OK);
  assert_int_equal(n, 2);
  assert_int_equal(pz_item_remove(e, "b"), PZ_OK);
  assert_int_equal(pz_track(e, "ann", "z", "view", 1, 0), PZ_OK);
  pz_engine_free(e);
}

static void test_limits_feature_names(void **state) {
  (void)state;
  pz_engine *e = open_yaml("limits:\n  feature_names: 4\n");
  const char *three[] = {"genre=jazz", "mood=calm", "era=1950s"};
  const char *two_new[] = {"genre=jazz", "mood=dark", "era=1960s"};
  const char *one_new[] = {"genre=jazz", "mood=dark"};
  assert_int_equal(pz_item_put(e, "a", three, NULL, 3), PZ_OK);
  assert_int_equal(pz_item_put(e, "b", two_new, NULL, 3), PZ_ELIMIT);
  assert_non_null(strstr(pz_errmsg(), "limits.feature_names"));
  size_t n;
  assert_int_equal(pz_item_count(&n, e), PZ_OK);
  assert_int_equal(n, 1); /* b was not made */
  /* the refused put named nothing: one new name still fits */
  assert_int_equal(pz_item_put(e, "b", one_new, NULL, 2), PZ_OK);
  assert_int_equal(pz_item_put(e, "c", three, NULL, 3), PZ_OK); /* known */
  pz_engine_free(e);
}

static char *document(const char *head, size_t bytes) {
  char *d = malloc(bytes + 1);
  assert_non_null(d);
  size_t h = strlen(head);
  memcpy(d, head, h);
  for (size_t i = h; i < bytes; i++) d[i] = (i % 64 == 63) ? '\n' : ' ';
  d[bytes] = '\0';
  return d;
}

static void test_limits_documents(void **state) {
  (void)state;
  pz_engine *e = open_yaml("limits:\n  document_bytes: 1024\n");
  char *rules = document("rules: []\n", 2048);
  char *segs = document("segments: []\n", 2048);
  assert_int_equal(pz_override_rules_load(e, rules, strlen(rules)), PZ_ELIMIT);
  assert_non_null(strstr(pz_errmsg(), "limits.document_bytes"));
  assert_int_equal(pz_segment_load(e, segs, strlen(segs)), PZ_ELIMIT);
  assert_int_equal(pz_override_rules_load(e, rules, 1000), PZ_OK);
  assert_int_equal(pz_segment_load(e, segs, 1000), PZ_OK);
  free(rules);
  free(segs);
  pz_engine_free(e);
  /* the default is 16 MiB */
  e = open_yaml("");
  rules = document("rules: []\n", ((size_t)16 << 20) + 1);
  assert_int_equal(pz_override_rules_load(e, rules, strlen(rules)), PZ_ELIMIT);
  free(rules);
  pz_engine_free(e);
}

/* The configuration text has the cap of a configuration file. */
static void test_limits_config_text(void **state) {
  (void)state;
  size_t big = ((size_t)16 << 20) + 1;
  char *y = document("profile: {}\n", big);
  pz_engine *e = NULL;
  assert_int_equal(pz_engine_open_string(&e, y, big), PZ_ELIMIT);
  assert_null(e);
  free(y);
}

/* limits.choices counts the choices stored over all people: a new target
 * past it is refused, a replaced one is not; clearing, erasing and a merge
 * give room back; a restore and a journal replay are not limited. */
static void test_limits_choices(void **state) {
  (void)state;
  char dir[64], y[512];
  assert_int_equal(test_tmpdir_make(dir, "pz_limits"), 0);
  snprintf(y, sizeof y,
           "limits:\n  choices: 4\nstore:\n  journal: %s/j\n  fsync: never\n",
           dir);
  pz_engine *e = open_yaml(y);
  static const char *const feat[] = {"genre=x"};
  for (int i = 1; i <= 5; i++) {
    char id[8];
    snprintf(id, sizeof id, "i%d", i);
    assert_int_equal(pz_item_put(e, id, feat, NULL, 1), PZ_OK);
  }
  assert_int_equal(pz_override_block_item(e, "a", "i1", 0), PZ_OK);
  assert_int_equal(pz_override_block_feature(e, "a", "genre=x", 0), PZ_OK);
  assert_int_equal(pz_override_more(e, "b", "genre=y", 0), PZ_OK);
  assert_int_equal(pz_override_require(e, "b", "genre=z", 0), PZ_OK);
  assert_int_equal(pz_override_pin(e, "c", "i2", 0, 0), PZ_ELIMIT);
  assert_non_null(strstr(pz_errmsg(), "limits.choices"));
  pz_choices *ch = NULL; /* nothing half-made, not even the person */
  assert_int_equal(pz_override_list(&ch, e, "c", 0), PZ_ENOTFOUND);
  /* the same target again replaces, at the limit too */
  assert_int_equal(pz_override_less(e, "b", "genre=y", 0), PZ_OK);
  /* removing one, erasing a person give room */
  assert_int_equal(pz_override_clear(e, "a", PZ_CHOICE_BLOCK_ITEM, "i1"), PZ_OK);
  assert_int_equal(pz_override_pin(e, "c", "i2", 0, 0), PZ_OK);
  assert_int_equal(pz_override_pin(e, "d", "i2", 0, 0), PZ_ELIMIT);
  assert_int_equal(pz_profile_erase(e, "b"), PZ_OK);
  assert_int_equal(pz_override_pin(e, "d", "i2", 0, 0), PZ_OK);
  assert_int_equal(pz_override_pin(e, "d", "i3", 1, 0), PZ_OK);
  assert_int_equal(pz_override_pin(e, "d", "i4", 2, 0), PZ_ELIMIT);
  /* a merge: the same target on both sides counts once afterwards */
  assert_int_equal(pz_profile_merge(e, "c", "d"), PZ_OK);
  assert_int_equal(pz_override_pin(e, "d", "i4", 2, 0), PZ_OK);
  assert_int_equal(pz_override_pin(e, "d", "i5", 3, 0), PZ_ELIMIT);
  assert_int_equal(pz_override_clear_all(e, "d"), PZ_OK);
  assert_int_equal(pz_override_more(e, "e", "genre=q", 0), PZ_OK);
  assert_int_equal(pz_override_more(e, "e", "genre=r", 0), PZ_OK);
  assert_int_equal(pz_override_more(e, "e", "genre=s", 0), PZ_OK);
  pz_engine_free(e);
  /* reopened under a lower limit: the journal's choices all come back;
   * only new ones are refused, and room comes back as they go */
  snprintf(y, sizeof y,
           "limits:\n  choices: 3\nstore:\n  journal: %s/j\n  fsync: never\n",
           dir);
  e = open_yaml(y);
  assert_int_equal(pz_override_list(&ch, e, "e", 0), PZ_OK);
  assert_int_equal(pz_choices_count(ch), 3);
  pz_choices_free(ch);
  assert_int_equal(pz_override_more(e, "f", "genre=t", 0), PZ_ELIMIT);
  assert_int_equal(pz_override_clear_all(e, "e"), PZ_OK);
  assert_int_equal(pz_override_more(e, "f", "genre=t", 0), PZ_OK);
  char snap[96];
  snprintf(snap, sizeof snap, "%s/s", dir);
  assert_int_equal(pz_override_more(e, "f", "genre=u", 0), PZ_OK);
  assert_int_equal(pz_engine_save(e, snap), PZ_OK);
  pz_engine_free(e);
  /* a snapshot over the limit loads whole */
  snprintf(y, sizeof y, "limits:\n  choices: 1\n");
  pz_engine_options o;
  assert_int_equal(pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION), PZ_OK);
  o.config_text = y;
  o.config_len = strlen(y);
  e = NULL;
  assert_int_equal(pz_engine_load(&e, snap, &o), PZ_OK);
  assert_int_equal(pz_override_list(&ch, e, "f", 0), PZ_OK);
  assert_int_equal(pz_choices_count(ch), 2);
  pz_choices_free(ch);
  assert_int_equal(pz_override_more(e, "g", "genre=v", 0), PZ_ELIMIT);
  pz_engine_free(e);
  assert_int_equal(test_tmpdir_remove(dir), 0);
}

static void test_limits_bad_values(void **state) {
  (void)state;
  static const char *const bad[] = {
      "limits:\n  profiles: -1\n",
      "limits:\n  items: 4294967295\n",
      "limits:\n  feature_names: lots\n",
      "limits:\n  document_bytes: 10\n",
      "limits:\n  choices: 4294967296\n",
      "limits:\n  choices: -2\n",
      "limits:\n  document_bytes: 67108865\n",
      "limits:\n  profile: 3\n",
      "limits: 3\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    pz_engine *e = NULL;
    int rc = pz_engine_open_string(&e, bad[i], strlen(bad[i]));
    if (rc != PZ_ECONFIG) fail_msg("%s: %d %s", bad[i], rc, pz_errmsg());
    assert_null(e);
  }
  /* 0: no limit */
  pz_engine *e = open_yaml("limits:\n  profiles: 0\n  items: 0\n");
  for (int i = 0; i < 100; i++) {
    char u[16];
    snprintf(u, sizeof u, "u%d", i);
    assert_int_equal(pz_track(e, u, u, "view", 1, 0), PZ_OK);
  }
  pz_engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limits_profiles),
      cmocka_unit_test(test_limits_items),
      cmocka_unit_test(test_limits_feature_names),
      cmocka_unit_test(test_limits_documents),
      cmocka_unit_test(test_limits_choices),
      cmocka_unit_test(test_limits_config_text),
      cmocka_unit_test(test_limits_bad_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
