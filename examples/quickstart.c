/*
 * quickstart - libpersonalize in one page.
 *
 *   quickstart [--users N] [--items N] [--events N] [--seed S]
 *
 * 1. open an engine with the default configuration;
 * 2. load a catalogue: items with features ("genre=jazz", "mood=calm", ...);
 * 3. feed it events (views, clicks, purchases, ratings, plays);
 * 4. ask for recommendations, with the reason for each;
 * 5. look at what the engine learned about one user;
 * 6. watch that user's ranking follow a change of taste.
 *
 * The data comes from the synthetic generator in synth.h, which gives each
 * user hidden tastes; the program prints those tastes so you can check the
 * engine found them. Only the public API is used: <personalize.h>.
 *
 * Error handling: every pz_* call that can fail returns PZ_OK (0) or a
 * negative status. pz_strerror() names the status and pz_errmsg() tells
 * what went wrong on this thread, e.g. "unknown event type \"vew\"".
 */
#include <personalize.h>

#include "synth.h"

#include <stdio.h>
#include <string.h>

#define TOP_K 5

/* Print a failed call and its detail; returns 1 for main's exit status. */
static int report(const char *call, int rc) {
  fprintf(stderr, "quickstart: %s failed: %s: %s\n", call, pz_strerror(rc),
          pz_errmsg());
  return 1;
}

/* Step 2: every item with its features. pz_item_put copies its inputs, so
 * the strings can live on the stack. weights NULL: every feature counts 1. */
static int load_items(pz_engine *e, const synth *s) {
  char id[SYNTH_ID_MAX];
  char text[SYNTH_MAX_FEATURES][SYNTH_FEATURE_MAX];
  const char *features[SYNTH_MAX_FEATURES];
  for (uint32_t i = 0; i < s->p.items; i++) {
    unsigned nf = s->p.features_per_item;
    for (unsigned j = 0; j < nf; j++) {
      synth_feature(&s->items[i], j, text[j], sizeof text[j]);
      features[j] = text[j];
    }
    synth_item_id(i, id, sizeof id);
    int rc = pz_item_put(e, id, features, NULL, nf);
    if (rc != PZ_OK) return report("pz_item_put", rc);
  }
  return 0;
}

/* Step 3: the event log. The event type names are those of the default
 * configuration; value is 1 for plain events, the stars of a rating or the
 * play count. Timestamps are milliseconds since the epoch. */
static int load_events(pz_engine *e, synth *s) {
  char user[SYNTH_ID_MAX], item[SYNTH_ID_MAX];
  synth_event ev;
  synth_rewind(s);
  while (synth_next_event(s, &ev) == 0) {
    synth_user_id(ev.user, user, sizeof user);
    synth_item_id(ev.item, item, sizeof item);
    int rc = pz_track(e, user, item, synth_type_names[ev.type], ev.value,
                      ev.ts_ms);
    if (rc != PZ_OK) return report("pz_track", rc);
  }
  return 0;
}

/* The genre of a generated item, to show next to its id. A real program
 * would look this up in its own catalogue. */
static const char *item_genre(const synth *s, const char *id) {
  unsigned long i = strtoul(id + 4, NULL, 10); /* "item123" */
  return i < s->p.items ? synth_genres[s->items[i].genre] : "?";
}

/* Step 4: the top k for a user, with score and reason. now_ms pins the
 * decay clock to the data's time window so the output is reproducible;
 * leave it 0 in a live system to use the engine's clock. */
static int print_recs(pz_engine *e, const synth *s, const char *user,
                      int64_t now_ms) {
  pz_recommend_options opts;
  int rc = pz_recommend_options_init(&opts, PZ_RECOMMEND_OPTIONS_VERSION);
  if (rc != PZ_OK) return report("pz_recommend_options_init", rc);
  opts.now_ms = now_ms;

  pz_recs *recs = NULL;
  rc = pz_recommend(&recs, e, user, TOP_K, &opts);
  if (rc != PZ_OK) return report("pz_recommend", rc);
  for (size_t i = 0; i < pz_recs_count(recs); i++) {
    const char *item = pz_recs_item(recs, i);
    printf("    %zu. %-10s %-11s score %.3f  (%s)\n", i + 1, item,
           item_genre(s, item), pz_recs_score(recs, i),
           pz_recs_reason(recs, i));
  }
  pz_recs_free(recs);
  return 0;
}

static void print_tastes(const synth *s, uint32_t u) {
  synth_user t;
  char f[SYNTH_FEATURE_MAX];
  synth_make_user(&s->p, u, &t);
  printf("  hidden tastes (known to the generator only):");
  for (unsigned ns = 0; ns < SYNTH_N_TASTES; ns++) {
    synth_taste_feature(ns, t.taste[ns], f, sizeof f);
    printf(" %s", f);
  }
  printf("\n");
}

/* A generated user: its tastes, event count and top k. */
static int show_user(pz_engine *e, const synth *s, uint32_t u,
                     int64_t now_ms) {
  char id[SYNTH_ID_MAX];
  size_t n_events = 0;
  synth_user_id(u, id, sizeof id);
  /* PZ_ENOTFOUND is an answer, not a failure: a user with no events yet
   * has no profile (pz_recommend still works for them). */
  int rc = pz_profile_event_count(&n_events, e, id);
  if (rc != PZ_OK && rc != PZ_ENOTFOUND)
    return report("pz_profile_event_count", rc);
  printf("\n%s (%zu events)\n", id, n_events);
  print_tastes(s, u);
  return print_recs(e, s, id, now_ms);
}

/* Step 5: the features the user's decayed interest vector weighs most. */
static int print_interests(pz_engine *e, const char *user, int64_t now_ms) {
  pz_interests *l = NULL;
  int rc = pz_profile_interests(&l, e, user, TOP_K, now_ms);
  if (rc == PZ_ENOTFOUND) {
    printf("  %s has no profile yet\n", user);
    return 0;
  }
  if (rc != PZ_OK) return report("pz_profile_interests", rc);
  printf("  top interests of %s:", user);
  for (size_t i = 0; i < pz_interests_count(l); i++)
    printf(" %s (%.2f)%s", pz_interests_feature(l, i),
           pz_interests_score(l, i), i + 1 < pz_interests_count(l) ? "," : "");
  printf("\n");
  pz_interests_free(l);
  return 0;
}

/* Step 6: the user suddenly plays and buys items of a genre outside their
 * tastes. Recent events weigh more (decay halves old interest every 30
 * days by default), so the ranking follows within a handful of events. */
static int taste_change(pz_engine *e, const synth *s, uint32_t u,
                        int64_t now_ms) {
  char id[SYNTH_ID_MAX], item[SYNTH_ID_MAX], f[SYNTH_FEATURE_MAX];
  synth_user t;
  synth_user_id(u, id, sizeof id);
  synth_make_user(&s->p, u, &t);
  uint32_t genre = (t.taste[SYNTH_GENRE] + SYNTH_N_GENRES / 2) % SYNTH_N_GENRES;
  synth_taste_feature(SYNTH_GENRE, genre, f, sizeof f);

  printf("\n%s before a change of taste:\n", id);
  int rc = print_recs(e, s, id, now_ms);
  if (rc) return rc;

  enum { BURST = 12 };
  printf("  ... %s now plays and buys %d items with %s over 12 hours ...\n",
         id, BURST, f);
  synth_rng r = synth_rng_for(s->p.seed, 99, u);
  int64_t ts = now_ms;
  for (int i = 0; i < BURST; i++) {
    uint32_t pick = synth_pick_with(s, &r, SYNTH_GENRE, genre);
    synth_item_id(pick, item, sizeof item);
    ts += 3600 * 1000; /* an event an hour */
    const char *type = i % 3 == 2 ? "purchase" : "play";
    rc = pz_track(e, id, item, type, i % 3 == 2 ? 1.0 : 3.0, ts);
    if (rc != PZ_OK) return report("pz_track", rc);
  }
  printf("%s after:\n", id);
  rc = print_recs(e, s, id, ts);
  if (!rc) rc = print_interests(e, id, ts);
  return rc;
}

static void usage(FILE *f) {
  fprintf(f, "usage: quickstart [--users N] [--items N] [--events N] "
             "[--seed S]\n"
             "Defaults: --users 1000 --items 500 --events 20000 --seed 42\n");
}

/* Parse the options into p; returns -1 on success, else the exit status. */
static int parse_args(int argc, char **argv, synth_params *p) {
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
      usage(stdout);
      return 0;
    }
    uint64_t v = 0;
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t max = strcmp(opt, "--events") == 0 ? UINT64_MAX / 2
                   : strcmp(opt, "--seed") == 0 ? UINT64_MAX
                                                : UINT32_MAX - 1;
    uint64_t min = strcmp(opt, "--users") == 0 || strcmp(opt, "--items") == 0;
    if (strcmp(opt, "--users") && strcmp(opt, "--items") &&
        strcmp(opt, "--events") && strcmp(opt, "--seed")) {
      fprintf(stderr, "quickstart: unknown option %s\n", opt);
      usage(stderr);
      return 2;
    }
    if (!val || synth_parse_u64(val, min, max, &v) != 0) {
      fprintf(stderr, "quickstart: %s needs a whole number%s\n", opt,
              min ? " of at least 1" : "");
      return 2;
    }
    i++;
    if (strcmp(opt, "--users") == 0) p->users = (uint32_t)v;
    else if (strcmp(opt, "--items") == 0) p->items = (uint32_t)v;
    else if (strcmp(opt, "--events") == 0) p->events = v;
    else p->seed = v;
  }
  return -1;
}

int main(int argc, char **argv) {
  synth_params p;
  synth_params_default(&p);
  int st = parse_args(argc, argv, &p);
  if (st >= 0) return st;

  synth s;
  if (synth_init(&s, &p) != 0) {
    fprintf(stderr, "quickstart: cannot generate data (out of memory)\n");
    return 1;
  }

  /* Step 1: an engine with every setting at its default (no YAML file). */
  pz_engine *e = NULL;
  int rc = pz_engine_open(&e, NULL);
  if (rc != PZ_OK) {
    synth_free(&s);
    return report("pz_engine_open", rc);
  }

  printf("libpersonalize %s quickstart: %u users, %u items, %llu events "
         "(seed %llu)\n",
         pz_version_string(), p.users, p.items, (unsigned long long)p.events,
         (unsigned long long)p.seed);

  int64_t now = synth_end_ms(&s);
  size_t n_items = 0, n_users = 0;
  st = load_items(e, &s);
  if (!st) st = load_events(e, &s);
  if (!st && (rc = pz_item_count(&n_items, e)) != PZ_OK)
    st = report("pz_item_count", rc);
  if (!st && (rc = pz_profile_count(&n_users, e)) != PZ_OK)
    st = report("pz_profile_count", rc);
  if (!st)
    printf("loaded %zu items and the events of %zu users\n", n_items,
           n_users);

  /* The most active user, a typical one, and someone never seen before:
   * with no profile there is nothing to personalize, so they get what is
   * popular right now. */
  uint32_t typical = p.users > 42 ? 42 : p.users / 2;
  if (!st) st = show_user(e, &s, 0, now);
  if (!st && typical != 0) st = show_user(e, &s, typical, now);
  if (!st) {
    printf("\nnewcomer (no profile yet: popularity)\n");
    st = print_recs(e, &s, "newcomer", now);
  }
  if (!st) {
    char id[SYNTH_ID_MAX];
    synth_user_id(typical, id, sizeof id);
    printf("\nwhat the engine learned about %s:\n", id);
    st = print_interests(e, id, now);
  }
  if (!st) st = taste_change(e, &s, typical, now);

  pz_engine_free(e);
  synth_free(&s);
  return st;
}
