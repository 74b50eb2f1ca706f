/*
 * segments - audiences with libpersonalize: rule segments, an A/B test,
 * discovered clusters and "popular in your segment".
 *
 *   segments
 *
 * 1. open an engine whose configuration defines business segments and an
 *    experiment, with a fixed clock so that every run prints the same;
 * 2. load a synthetic catalogue, users with attributes (age, budget,
 *    country, sign-up date) and 120 days of events;
 * 3. count each segment's members; show one user's segments and variant;
 * 4. discover clusters of similar tastes and print their personas;
 * 5. refresh "popular in your segment" and recommend to a newcomer who has
 *    told us only their age and budget.
 *
 * Segments are rules over a profile's current state, evaluated when asked:
 * nothing is stored per user, so a segment follows the latest event at
 * once. The rule language is described in personalize.yaml(5).
 */
#include <personalize.h>

#include "synth.h"

#include <stdio.h>
#include <string.h>

#define DAY_MS 86400000LL
#define NOW_MS 1767225600000LL /* 2026-01-01T00:00Z: the clock's "now" */
#define TOP_K 5

/* The purchase `value` is the amount paid (EUR) so that rules can sum it;
 * its weight of 0.02 makes a 250 EUR purchase count like 5 views in the
 * interest vector. The other types keep the default weights. */
static const char config[] =
    "events: {view: 1, click: 2, add_to_cart: 3, purchase: 0.02,\n"
    "         rating: 1, play: 1}\n"
    "segments:\n"
    "  - name: high_value_frequent\n"
    "    description: 3+ purchases worth over 500 EUR in 30 days\n"
    "    rule:\n"
    "      all:\n"
    "        - {count: purchase, within: 30d, gte: 3}\n"
    "        - {sum: purchase, within: 30d, gt: 500}\n"
    "  - name: lapsed\n"
    "    description: bought before, but not in the last 60 days\n"
    "    rule: {all: [{count: purchase, gte: 1}, {days_since: purchase, gt: 60}]}\n"
    "  - name: budget_young\n"
    "    rule: {all: [{attr: age, between: [18, 25]}, {attr: budget, eq: low}]}\n"
    "  - name: jazz_fans\n"
    "    description: jazz is one of their 3 strongest interests, and strong\n"
    "    rule:\n"
    "      all:\n"
    "        - {top_interests: 3, include: genre=jazz}\n"
    "        - {interest: genre=jazz, gte: 5}\n"
    "experiments:\n"
    "  - name: checkout\n"
    "    seed: 42\n"
    "    coverage: 0.5\n"
    "    variants: [{name: control}, {name: new, weight: 2}]\n";

static const char *const budgets[] = {"low", "mid", "high"};
static const char *const countries[] = {"DE", "FR", "ES", "IT",
                                        "NL", "PL", "SE", "GB"};
static const double price_eur[SYNTH_N_PRICES] = {20, 50, 100, 250, 600};

/* Print a failed call and its detail; returns 1 for main's exit status. */
static int report(const char *call, int rc) {
  fprintf(stderr, "segments: %s failed: %s: %s\n", call, pz_strerror(rc),
          pz_errmsg());
  return 1;
}

static int64_t fixed_clock(void *ud) { return *(const int64_t *)ud; }

/* A user's stated data, drawn from the user's own random stream. */
typedef struct person {
  int age;
  const char *budget, *country;
  int64_t signed_up_ms;
} person;

static void make_person(const synth *s, uint32_t u, person *p) {
  synth_rng r = synth_rng_for(s->p.seed, 50, u);
  p->age = 18 + (int)synth_below(&r, 52);
  p->budget = budgets[synth_below(&r, 3)];
  p->country = countries[synth_below(&r, 8)];
  p->signed_up_ms = NOW_MS - (int64_t)(120 + synth_below(&r, 600)) * DAY_MS;
}

static int set_attributes(pz_engine *e, const char *id, const person *p) {
  int rc = pz_profile_set_number(e, id, "age", p->age);
  if (!rc) rc = pz_profile_set_string(e, id, "budget", p->budget);
  if (!rc) rc = pz_profile_set_string(e, id, "country", p->country);
  if (!rc) rc = pz_profile_set_timestamp(e, id, "signed_up", p->signed_up_ms);
  return rc ? report("pz_profile_set_*", rc) : 0;
}

static int load_items(pz_engine *e, const synth *s) {
  char id[SYNTH_ID_MAX];
  char text[SYNTH_MAX_FEATURES][SYNTH_FEATURE_MAX];
  const char *features[SYNTH_MAX_FEATURES];
  unsigned nf = s->p.features_per_item;
  for (uint32_t i = 0; i < s->p.items; i++) {
    for (unsigned j = 0; j < nf; j++) {
      synth_feature(&s->items[i], j, text[j], sizeof text[j]);
      features[j] = text[j];
    }
    synth_item_id(i, id, sizeof id);
    int rc = pz_item_put(e, id, features, NULL, nf);
    if (rc) return report("pz_item_put", rc);
  }
  return 0;
}

/* Attributes, then the event log. A quarter of the users stop coming
 * after their first 40 days, so that some customers lapse. */
static int load_users(pz_engine *e, synth *s) {
  char user[SYNTH_ID_MAX], item[SYNTH_ID_MAX];
  for (uint32_t u = 0; u < s->p.users; u++) {
    person p;
    make_person(s, u, &p);
    synth_user_id(u, user, sizeof user);
    if (set_attributes(e, user, &p)) return 1;
  }
  synth_event ev;
  synth_rewind(s);
  while (synth_next_event(s, &ev) == 0) {
    if (ev.user % 4 == 3 && ev.ts_ms > s->p.start_ms + 40 * DAY_MS) continue;
    double value = ev.type == SYNTH_PURCHASE
                       ? price_eur[s->items[ev.item].price]
                       : ev.value;
    synth_user_id(ev.user, user, sizeof user);
    synth_item_id(ev.item, item, sizeof item);
    int rc = pz_track(e, user, item, synth_type_names[ev.type], value,
                      ev.ts_ms);
    if (rc) return report("pz_track", rc);
  }
  return 0;
}

static int print_counts(pz_engine *e) {
  pz_list *l = NULL;
  int rc = pz_segment_counts(&l, e);
  if (rc) return report("pz_segment_counts", rc);
  printf("\nsegment sizes:\n");
  for (size_t i = 0; i < pz_list_count(l); i++)
    printf("  %-20s %5.0f\n", pz_list_text(l, i), pz_list_value(l, i));
  pz_list_free(l);
  return 0;
}

/* "a, b, c", or "(none)". */
static int print_segments_of(pz_engine *e, const char *user) {
  pz_list *l = NULL;
  int rc = pz_segment_of(&l, e, user);
  if (rc) return report("pz_segment_of", rc);
  printf("  segments:");
  for (size_t i = 0; i < pz_list_count(l); i++)
    printf("%s %s", i ? "," : "", pz_list_text(l, i));
  printf("%s\n", pz_list_count(l) ? "" : " (none)");
  pz_list_free(l);
  return 0;
}

/* One user: what they told us, their segments and their variant. */
static int show_user(pz_engine *e, const synth *s, uint32_t u) {
  char id[SYNTH_ID_MAX], variant[64];
  size_t len = 0, n_events = 0;
  person p;
  make_person(s, u, &p);
  synth_user_id(u, id, sizeof id);
  int rc = pz_profile_event_count(&n_events, e, id);
  if (rc) return report("pz_profile_event_count", rc);
  printf("\n%s: age %d, budget %s, country %s, signed up %lld days ago, "
         "%zu events\n",
         id, p.age, p.budget, p.country,
         (long long)((NOW_MS - p.signed_up_ms) / DAY_MS), n_events);
  if (print_segments_of(e, id)) return 1;
  /* An empty variant means "not in the experiment" (outside coverage). */
  rc = pz_experiment_assign(variant, sizeof variant, &len, e, "checkout", id);
  if (rc) return report("pz_experiment_assign", rc);
  printf("  experiment checkout: %s\n", len ? variant : "(not enrolled)");
  return 0;
}

/* Assignment is a hash of the id: no state, same answer on every call. */
static int experiment_split(pz_engine *e, const synth *s) {
  char id[SYNTH_ID_MAX], variant[64];
  unsigned control = 0, treated = 0, out = 0;
  for (uint32_t u = 0; u < s->p.users; u++) {
    size_t len = 0;
    synth_user_id(u, id, sizeof id);
    int rc = pz_experiment_assign(variant, sizeof variant, &len, e,
                                  "checkout", id);
    if (rc) return report("pz_experiment_assign", rc);
    if (!len) out++;
    else if (strcmp(variant, "control") == 0) control++;
    else treated++;
  }
  printf("  checkout over all %u users (coverage 0.5, weights 1:2): "
         "control %u, new %u, not enrolled %u\n",
         s->p.users, control, treated, out);
  return 0;
}

/* Spherical k-means over the users' interests; each cluster's persona is
 * the strongest features of its centroid. */
static int show_clusters(pz_engine *e, uint32_t k, const char *user) {
  pz_cluster_options o;
  int rc = pz_cluster_options_init(&o, PZ_CLUSTER_OPTIONS_VERSION);
  if (rc) return report("pz_cluster_options_init", rc);
  o.k = k;
  if ((rc = pz_cluster_train(e, &o))) return report("pz_cluster_train", rc);
  size_t n = 0;
  if ((rc = pz_cluster_count(&n, e))) return report("pz_cluster_count", rc);
  printf("\nclusters of taste (k = %zu):\n", n);
  for (int c = 0; c < (int)n; c++) {
    size_t size = 0;
    pz_list *persona = NULL;
    if ((rc = pz_cluster_size(&size, e, c)))
      return report("pz_cluster_size", rc);
    if ((rc = pz_cluster_describe(&persona, e, c, 3)))
      return report("pz_cluster_describe", rc);
    printf("  %d: %4zu users:", c, size);
    for (size_t i = 0; i < pz_list_count(persona); i++)
      printf("%s %s (%.2f)", i ? "," : "", pz_list_text(persona, i),
             pz_list_value(persona, i));
    printf("\n");
    pz_list_free(persona);
  }
  int mine = -1;
  if ((rc = pz_cluster_of(&mine, e, user))) return report("pz_cluster_of", rc);
  printf("  %s is in cluster %d\n", user, mine);
  return 0;
}

/* A visitor who signed up today and said how old they are and what they
 * spend, but has no events: no interests to match, yet their attributes
 * place them in a segment whose members' favourites they are shown. */
static int cold_start(pz_engine *e, const synth *s) {
  const char *id = "newcomer";
  person p = {22, "low", "FR", NOW_MS};
  if (set_attributes(e, id, &p)) return 1;
  printf("\n%s: age %d, budget %s, no events yet\n", id, p.age, p.budget);
  if (print_segments_of(e, id)) return 1;

  pz_recs *recs = NULL;
  int rc = pz_recommend(&recs, e, id, TOP_K, NULL);
  if (rc) return report("pz_recommend", rc);
  for (size_t i = 0; i < pz_recs_count(recs); i++) {
    const char *item = pz_recs_item(recs, i);
    unsigned long at = strtoul(item + 4, NULL, 10); /* "item123" */
    printf("  %zu. %-8s %-10s score %.3f  (%s)\n", i + 1, item,
           at < s->p.items ? synth_genres[s->items[at].genre] : "?",
           pz_recs_score(recs, i), pz_recs_reason(recs, i));
  }
  pz_recs_free(recs);
  return 0;
}

int main(void) {
  synth_params sp;
  synth_params_default(&sp);
  sp.users = 1000;
  sp.items = 500;
  sp.events = 60000;
  sp.span_ms = 120 * DAY_MS;
  sp.start_ms = NOW_MS - sp.span_ms;
  synth s;
  if (synth_init(&s, &sp) != 0) {
    fprintf(stderr, "segments: cannot generate data (out of memory)\n");
    return 1;
  }

  /* Step 1: the configuration as text, and a clock that always says
   * NOW_MS: "within: 30d" and "days_since" count back from it. */
  int64_t now = NOW_MS;
  pz_engine_options opts;
  pz_engine *e = NULL;
  int rc = pz_engine_options_init(&opts, PZ_ENGINE_OPTIONS_VERSION);
  if (rc) {
    synth_free(&s);
    return report("pz_engine_options_init", rc);
  }
  opts.config_text = config;
  opts.config_len = strlen(config);
  opts.clock = fixed_clock;
  opts.clock_ud = &now;
  if ((rc = pz_engine_open_with(&e, &opts))) {
    synth_free(&s);
    return report("pz_engine_open_with", rc);
  }
  printf("libpersonalize %s segments: %u users, %u items, %llu events over "
         "120 days\n",
         pz_version_string(), sp.users, sp.items,
         (unsigned long long)sp.events);

  /* Steps 2 to 5; each returns 0 or 1 (and has said what failed). */
  int st = load_items(e, &s);
  if (!st) st = load_users(e, &s);
  if (!st) st = print_counts(e);
  if (!st) st = show_user(e, &s, 0);
  if (!st) st = experiment_split(e, &s);
  if (!st) st = show_clusters(e, 5, "user0");
  /* Rebuild the per-segment popularity tables that ranking reads; a
   * segment with fewer than ranking.segment_min_members (20) members
   * with history gets none, so no small group's choices leak. */
  if (!st && (rc = pz_segment_refresh(e))) st = report("pz_segment_refresh", rc);
  if (!st) st = cold_start(e, &s);

  pz_engine_free(e);
  synth_free(&s);
  return st;
}
